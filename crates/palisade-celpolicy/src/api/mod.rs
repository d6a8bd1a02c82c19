//! Strict serde types for the CEL policy kinds, and recognising them among loaded documents.

pub mod admission;
pub mod kyverno;

use palisade_api::load::{LoadError, decode_value};
use serde_json::Value;

pub use admission::{
    MatchResources, MutatingAdmissionPolicy, NamedRuleWithOperations, PolicyBinding,
    ValidatingAdmissionPolicy,
};
pub use kyverno::{MutatingPolicy, PolicyException, ValidatingPolicy};

/// A CEL policy document.
#[derive(Debug, Clone, PartialEq)]
pub enum CelDocument {
    /// A ValidatingPolicy or NamespacedValidatingPolicy.
    ValidatingPolicy(Box<ValidatingPolicy>),
    /// A MutatingPolicy or NamespacedMutatingPolicy.
    MutatingPolicy(Box<MutatingPolicy>),
    /// A CEL PolicyException.
    Exception(Box<PolicyException>),
    /// A ValidatingAdmissionPolicy.
    ValidatingAdmissionPolicy(Box<ValidatingAdmissionPolicy>),
    /// A ValidatingAdmissionPolicyBinding.
    ValidatingAdmissionPolicyBinding(Box<PolicyBinding>),
    /// A MutatingAdmissionPolicy.
    MutatingAdmissionPolicy(Box<MutatingAdmissionPolicy>),
    /// A MutatingAdmissionPolicyBinding.
    MutatingAdmissionPolicyBinding(Box<PolicyBinding>),
}

/// True for the API versions and kinds this crate evaluates.
pub fn is_cel_kind(api_version: &str, kind: &str) -> bool {
    let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
    match group {
        "policies.kyverno.io" => matches!(
            kind,
            "ValidatingPolicy"
                | "NamespacedValidatingPolicy"
                | "MutatingPolicy"
                | "NamespacedMutatingPolicy"
                | "PolicyException"
        ),
        "admissionregistration.k8s.io" => matches!(
            kind,
            "ValidatingAdmissionPolicy"
                | "ValidatingAdmissionPolicyBinding"
                | "MutatingAdmissionPolicy"
                | "MutatingAdmissionPolicyBinding"
        ),
        _ => false,
    }
}

/// [`decode`] for a document that starts at `line` of `file` (0: unknown): an error that has
/// no line of its own is placed there.
pub fn decode_at(
    file: &str,
    line: usize,
    api_version: &str,
    kind: &str,
    value: &Value,
) -> Option<Result<CelDocument, LoadError>> {
    Some(decode(file, api_version, kind, value)?.map_err(|mut e| {
        e.line = e.line.or((line > 0).then_some(line));
        e
    }))
}

/// Decodes a document of a kind [`is_cel_kind`] accepts; `None` for other kinds. Unknown
/// fields are errors naming their path.
pub fn decode(
    file: &str,
    api_version: &str,
    kind: &str,
    value: &Value,
) -> Option<Result<CelDocument, LoadError>> {
    if !is_cel_kind(api_version, kind) {
        return None;
    }
    let doc = match kind {
        "ValidatingPolicy" | "NamespacedValidatingPolicy" => {
            decode_value(file, value, None).map(|p| CelDocument::ValidatingPolicy(Box::new(p)))
        }
        "MutatingPolicy" | "NamespacedMutatingPolicy" => {
            decode_value(file, value, None).map(|p| CelDocument::MutatingPolicy(Box::new(p)))
        }
        "PolicyException" => {
            decode_value(file, value, None).map(|p| CelDocument::Exception(Box::new(p)))
        }
        "ValidatingAdmissionPolicy" => decode_value(file, value, None)
            .map(|p| CelDocument::ValidatingAdmissionPolicy(Box::new(p))),
        "ValidatingAdmissionPolicyBinding" => decode_value(file, value, None)
            .map(|p| CelDocument::ValidatingAdmissionPolicyBinding(Box::new(p))),
        "MutatingAdmissionPolicy" => decode_value(file, value, None)
            .map(|p| CelDocument::MutatingAdmissionPolicy(Box::new(p))),
        _ => decode_value(file, value, None)
            .map(|p| CelDocument::MutatingAdmissionPolicyBinding(Box::new(p))),
    };
    Some(doc)
}
