//! Foreach `list` expressions of three common shapes, read straight from the document instead
//! of through the JMESPath interpreter: a field chain (`request.object.spec.containers`), a
//! flattened one (`...containers[]`) and a flattened list of fields
//! (`request.object.spec.[ephemeralContainers, initContainers, containers][]`). The static
//! foreach path (see `static_elements`) runs for every request a Pod policy sees, and the
//! interpreter builds a value per step, a list per projection and a `Found` for a list whose
//! null items are skipped anyway.
//!
//! A plan yields the non-null elements the interpreter's result would hold, in order (null
//! items are what `static_elements` skips). Where the interpreter would fail (a missing key
//! outside a flatten is Kyverno's `Unknown key`) the plan declines and the interpreter runs.

use palisade_jmespath::ast::Node;
use palisade_jmespath::value::get;
use serde_json::Value;

use crate::jp::Expression;

/// A list expression the plan covers.
#[derive(Debug, Clone)]
pub(crate) struct ListPlan {
    /// The field chain read from the document.
    path: Box<[Box<str>]>,
    tail: Tail,
}

#[derive(Debug, Clone)]
enum Tail {
    /// `path`: an array's items, or the value as one element.
    Value,
    /// `path[]`: the array's items, arrays among them spliced in.
    Flatten,
    /// `path.[a, b, ...][]`: the fields of the value, arrays among them spliced in.
    Fields(Box<[Box<str>]>),
}

/// More elements than this are left to the interpreter, whose work budget could stop it.
const MAX_ELEMENTS: usize = 100_000;

impl ListPlan {
    /// The plan for `expr`, when it has one of the covered shapes.
    pub(crate) fn new(expr: &Expression) -> Option<ListPlan> {
        match expr.node() {
            Node::Projection(left, right) if matches!(**right, Node::Identity) => {
                let Node::Flatten(inner) = &**left else {
                    return None;
                };
                let mut steps = Vec::new();
                chain(inner, &mut steps)?;
                let (path, tail) = match steps.pop()? {
                    Step::Field(last) => {
                        steps.push(Step::Field(last));
                        (fields(steps)?, Tail::Flatten)
                    }
                    Step::Fields(list) => (fields(steps)?, Tail::Fields(list)),
                };
                plan(path, tail)
            }
            node => {
                let mut steps = Vec::new();
                chain(node, &mut steps)?;
                plan(fields(steps)?, Tail::Value)
            }
        }
    }

    /// Appends the non-null elements of the list to `out`; false when the interpreter must
    /// decide (it would fail, or the list is very long).
    pub(crate) fn elements<'a>(&self, root: &'a Value, out: &mut Vec<&'a Value>) -> bool {
        // Inside a flatten a missing key is `null`; outside, an error.
        let quiet = !matches!(self.tail, Tail::Value);
        let mut v = root;
        for key in &self.path {
            v = match v {
                Value::Object(m) => match get(m, key) {
                    Some(x) => x,
                    None if quiet => return true,
                    None => return false,
                },
                // A field of anything else is null, and so is every field after it.
                _ => return true,
            };
        }
        match &self.tail {
            Tail::Value => match v {
                Value::Array(items) => push_items(items, out),
                Value::Null => true,
                other => {
                    out.push(other);
                    true
                }
            },
            Tail::Flatten => match v {
                Value::Array(items) if items.len() <= MAX_ELEMENTS => {
                    items.iter().all(|item| splice(item, out))
                }
                Value::Array(_) => false,
                _ => true,
            },
            Tail::Fields(keys) => match v {
                Value::Object(m) => keys
                    .iter()
                    .all(|key| get(m, key).is_none_or(|x| splice(x, out))),
                // The fields of a scalar or an array are all null; of null, the list is null.
                _ => true,
            },
        }
    }
}

/// One flattened item: an array's items, or the item itself.
fn splice<'a>(item: &'a Value, out: &mut Vec<&'a Value>) -> bool {
    match item {
        Value::Array(items) => push_items(items, out),
        Value::Null => true,
        other => {
            out.push(other);
            true
        }
    }
}

fn push_items<'a>(items: &'a [Value], out: &mut Vec<&'a Value>) -> bool {
    if out.len() + items.len() > MAX_ELEMENTS {
        return false;
    }
    out.extend(items.iter().filter(|i| !i.is_null()));
    true
}

enum Step {
    Field(Box<str>),
    Fields(Box<[Box<str>]>),
}

/// The steps of a `.` chain of fields, ending in a field or a list of fields.
fn chain(node: &Node, out: &mut Vec<Step>) -> Option<()> {
    match node {
        Node::Field(name) => out.push(Step::Field(name.as_str().into())),
        Node::Subexpr(a, b) => {
            chain(a, out)?;
            // A list of fields only ends the chain.
            if matches!(out.last(), Some(Step::Fields(_))) {
                return None;
            }
            chain(b, out)?;
        }
        Node::MultiList(items) if !out.is_empty() => {
            let names = items
                .iter()
                .map(|i| match i {
                    Node::Field(name) => Some(name.as_str().into()),
                    _ => None,
                })
                .collect::<Option<Vec<Box<str>>>>()?;
            out.push(Step::Fields(names.into_boxed_slice()));
        }
        _ => return None,
    }
    Some(())
}

fn fields(steps: Vec<Step>) -> Option<Box<[Box<str>]>> {
    steps
        .into_iter()
        .map(|s| match s {
            Step::Field(f) => Some(f),
            Step::Fields(_) => None,
        })
        .collect()
}

/// `images` is added to the document only when an expression reads it: not covered.
fn plan(path: Box<[Box<str>]>, tail: Tail) -> Option<ListPlan> {
    match path.first() {
        Some(first) if &**first != "images" => Some(ListPlan { path, tail }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jp;
    use serde_json::json;

    /// The non-null elements of the interpreter's result, as `static_elements` visits them.
    fn interpreted<'a>(expr: &'a Expression, doc: &'a Value) -> Option<Vec<Value>> {
        let found = jp::search_items(expr, doc, &jp::Clock::default()).ok()?;
        let items: Vec<Value> = match found {
            jp::Found::One(v) => vec![v.into_owned()],
            jp::Found::List(items) => items.into_iter().map(|i| i.into_owned()).collect(),
        };
        Some(items.into_iter().filter(|v| !v.is_null()).collect())
    }

    #[test]
    fn plans_list_what_the_interpreter_finds() {
        let exprs = [
            "request.object.spec.[ephemeralContainers, initContainers, containers][]",
            "request.object.spec.containers[]",
            "request.object.spec.containers",
            "request.object.spec.[containers][]",
            "element.ports",
            "element.ports[]",
        ];
        let docs = [
            json!({"request": {"object": {"spec": {"containers": [{"name": "a"}, null, {"name": "b"}],
                                                   "initContainers": [{"name": "i"}]}}}}),
            json!({"request": {"object": {"spec": {"containers": [[1, null], 2, "x"],
                                                   "ephemeralContainers": {"name": "e"}}}}}),
            json!({"request": {"object": {"spec": {"containers": {"name": "one"}}}}}),
            json!({"request": {"object": {"spec": {"containers": "text", "initContainers": null}}}}),
            json!({"request": {"object": {"spec": "scalar"}}}),
            json!({"request": {"object": {"spec": [1, 2]}}}),
            json!({"request": {"object": {"spec": null}}}),
            json!({"request": {"object": {"spec": {}}}}),
            json!({"request": {"object": {}}}),
            json!({"request": {"object": null}}),
            json!({"request": {}}),
            json!({}),
            json!({"element": {"ports": [{"containerPort": 80}, [{"hostPort": 1}]]}}),
            json!({"element": {"ports": 80}}),
            json!({"element": []}),
        ];
        for text in exprs {
            let expr = jp::compile(text).unwrap();
            let plan = ListPlan::new(&expr).unwrap_or_else(|| panic!("no plan for {text}"));
            for doc in &docs {
                let mut out = Vec::new();
                let covered = plan.elements(doc, &mut out);
                let expected = interpreted(&expr, doc);
                if covered {
                    let got: Vec<Value> = out.into_iter().cloned().collect();
                    assert_eq!(Some(got), expected, "{text} on {doc}");
                } else {
                    // Declined only where the interpreter fails.
                    assert_eq!(expected, None, "{text} on {doc}");
                }
            }
        }
    }

    #[test]
    fn other_shapes_have_no_plan() {
        for text in [
            "images.containers",
            "request.object.spec.containers[?name == 'a']",
            "request.object.spec.containers[].ports[]",
            "request.object.spec.[containers, initContainers]",
            "[request.object]",
            "request.object.spec.containers[0]",
            "length(request.object.spec.containers)",
        ] {
            let expr = jp::compile(text).unwrap();
            assert!(ListPlan::new(&expr).is_none(), "{text}");
        }
    }
}
