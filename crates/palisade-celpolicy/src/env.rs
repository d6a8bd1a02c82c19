//! The CEL environments policies compile in, built once per process.

use std::sync::LazyLock;

use palisade_api::load::LoadError;
use palisade_cel::Env;
use palisade_engine::validate::cel::admission::{ExprError, admission_env};

use crate::libs;

/// Kubernetes admission variables plus Kyverno's libraries and receivers, and the message
/// types `Object` (apply configurations) and `JSONPatch`.
pub static KYVERNO: LazyLock<Env> = LazyLock::new(|| {
    libs::register(admission_env())
        .message_type("Object")
        .message_type("JSONPatch")
        .build()
});

/// A policy that failed to load: which policy, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind} {name}: {source}")]
pub struct PolicyError {
    /// The policy kind.
    pub kind: String,
    /// The policy name.
    pub name: String,
    /// The failing expression.
    #[source]
    pub source: Box<ExprError>,
}

impl PolicyError {
    /// Wraps an expression error with the policy it belongs to.
    pub fn new(kind: &str, name: &str, source: ExprError) -> Self {
        PolicyError {
            kind: kind.to_string(),
            name: name.to_string(),
            source: Box::new(source),
        }
    }

    /// This error as the load error of a document that starts at `line` of `file` (0:
    /// unknown), naming the field.
    pub fn located(&self, file: &str, line: usize) -> LoadError {
        LoadError {
            file: file.to_string(),
            line: (line > 0).then_some(line),
            path: Some(self.source.path.clone()),
            message: self.to_string(),
        }
    }
}
