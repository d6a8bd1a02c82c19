//! The engine's single point of contact with `palisade-jmespath`.

use palisade_jmespath as jmespath;
use palisade_jmespath::ast::Node;
use serde_json::Value;

/// A compiled JMESPath expression.
pub type Expression = jmespath::Expression;

/// Where `time_now` and friends read the time from.
pub type Clock = jmespath::Context;

/// A failed search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchError {
    /// A field on the path does not exist (Kyverno's `Unknown key`).
    NotFound(String),
    /// Any other evaluation error.
    Other(String),
}

/// Compiles an expression; the error text names the position.
pub fn compile(expr: &str) -> Result<Expression, String> {
    jmespath::compile(expr).map_err(|e| e.to_string())
}

/// Evaluates a compiled expression.
pub fn search(expr: &Expression, data: &Value, clock: &Clock) -> Result<Value, SearchError> {
    expr.search(data, clock).map_err(search_error)
}

/// A search result with a list's items kept apart, borrowed where they are parts of the data.
pub type Found<'a> = jmespath::Found<'a>;

/// Evaluates a compiled expression, keeping a list result's items apart (see [`Found`]).
pub fn search_items<'a>(
    expr: &'a Expression,
    data: &'a Value,
    clock: &Clock,
) -> Result<Found<'a>, SearchError> {
    expr.search_items(data, clock).map_err(search_error)
}

fn search_error(e: jmespath::Error) -> SearchError {
    if e.kind == jmespath::ErrorKind::UnknownKey {
        SearchError::NotFound(e.to_string())
    } else {
        SearchError::Other(e.to_string())
    }
}

/// True when `expr`, evaluated against a document, may read the document's `field` or the
/// document as a whole (`@`, which `keys`, `values`, `*` and the like expose). Parts that are
/// evaluated against a selected value (right of `.`, `|` and projections) cannot. Decided
/// when the expression was compiled (this is asked on every query).
pub fn may_read_root_field(expr: &Expression, field: &str) -> bool {
    expr.may_read_root_field(field)
}

/// True when `expr` reads nothing of the document but its `request` field and calls no
/// function: its value is decided by `request` alone (not by other variables or the clock),
/// so one request's policies can share it (see [`crate::EvalContext::query_shared`]).
pub fn reads_only_request(expr: &Expression) -> bool {
    expr.reads_only_root_field("request") && !calls_functions(expr.node())
}

fn calls_functions(node: &Node) -> bool {
    match node {
        Node::Function(..) => true,
        Node::Identity | Node::Field(_) | Node::Index(_) | Node::Slice(..) | Node::Literal(_) => {
            false
        }
        Node::Flatten(a) | Node::Not(a) | Node::ExpRef(a) => calls_functions(a),
        Node::Subexpr(a, b)
        | Node::IndexExpr(a, b)
        | Node::Pipe(a, b)
        | Node::Projection(a, b)
        | Node::ValueProjection(a, b)
        | Node::Or(a, b)
        | Node::And(a, b)
        | Node::Compare(_, a, b) => calls_functions(a) || calls_functions(b),
        Node::FilterProjection(a, b, c) => {
            calls_functions(a) || calls_functions(b) || calls_functions(c)
        }
        Node::MultiList(items) => items.iter().any(calls_functions),
        Node::MultiHash(pairs) => pairs.iter().any(|(_, n)| calls_functions(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_field_reads() {
        let cases = [
            ("images.containers.app.tag", true),
            ("request.object.spec.containers[].image", false),
            ("keys(@)", true),
            ("*.containers", true),
            ("length(images)", true),
            ("request.object | keys(@)", false),
            ("x | join(', ', @)", false),
            (
                "request.object.spec.containers[?name == 'images'].image",
                false,
            ),
            ("[?@ == `1`]", true),
            ("a || images", true),
            ("{a: request, b: images}", true),
            ("\"images\".x", true),
            ("request.images", false),
            ("`{\"images\": 1}`.images", false),
        ];
        for (text, want) in cases {
            let expr = compile(text).unwrap();
            assert_eq!(may_read_root_field(&expr, "images"), want, "{text}");
        }
    }

    #[test]
    fn request_only_expressions() {
        let cases = [
            ("request.object.spec.hostUsers == `false`", true),
            ("request.object.spec.[a, b][].c", true),
            ("request.object.metadata.labels.app || 'x'", true),
            ("request.object.spec.containers[?name == 'a'].image", true),
            ("request.object.spec.containers | [0]", true),
            ("element.name", false),
            ("request.object.x == element.x", false),
            ("@", false),
            ("length(request.object.spec.containers)", false),
            ("time_now()", false),
            (
                "request.object.spec.containers[?starts_with(name, 'a')]",
                false,
            ),
            ("{a: request.object}", true),
            ("{a: images}", false),
        ];
        for (text, want) in cases {
            let expr = compile(text).unwrap();
            assert_eq!(reads_only_request(&expr), want, "{text}");
        }
    }
}
