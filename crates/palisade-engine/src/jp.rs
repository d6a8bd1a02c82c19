//! The engine's single point of contact with `palisade-jmespath`.

use palisade_jmespath as jmespath;
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
    expr.search(data, clock).map_err(|e| {
        if e.kind == jmespath::ErrorKind::UnknownKey {
            SearchError::NotFound(e.to_string())
        } else {
            SearchError::Other(e.to_string())
        }
    })
}
