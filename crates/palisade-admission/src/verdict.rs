//! The outcome of one review: the admission decision and every rule result behind it.

use std::sync::Arc;

use palisade_api::{FailureAction, RuleType};
use palisade_engine::RuleStatus;
use palisade_patch::json6902::Patch;
use serde_json::Value;

use crate::types::AdmissionResponse;

/// Which webhook is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The mutating webhook (`/mutate`): mutate rules and MutatingPolicies, answered with a
    /// patch.
    Mutate,
    /// The validating webhook (`/validate`): validate rules and ValidatingPolicies.
    Validate,
}

impl Phase {
    /// `mutate` or `validate` (metrics labels, logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Mutate => "mutate",
            Phase::Validate => "validate",
        }
    }
}

/// Where a result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// A `kyverno.io` ClusterPolicy.
    ClusterPolicy,
    /// A namespaced `kyverno.io` Policy.
    Policy,
    /// A `policies.kyverno.io` ValidatingPolicy (or its namespaced variant).
    ValidatingPolicy,
    /// A `policies.kyverno.io` MutatingPolicy (or its namespaced variant).
    MutatingPolicy,
}

impl PolicyKind {
    /// The kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::ClusterPolicy => "ClusterPolicy",
            PolicyKind::Policy => "Policy",
            PolicyKind::ValidatingPolicy => "ValidatingPolicy",
            PolicyKind::MutatingPolicy => "MutatingPolicy",
        }
    }
}

/// One rule's result on this request (for metrics and, later, PolicyReports).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleResult {
    /// The policy as reports name it (`namespace/name` for a namespaced Policy); shared with
    /// the engine's response.
    pub policy: Arc<str>,
    /// Its kind.
    pub policy_kind: PolicyKind,
    /// The rule (autogen rules carry their `autogen-` name; "" for a ValidatingPolicy).
    pub rule: Arc<str>,
    /// Validation or mutation.
    pub rule_type: RuleType,
    /// The outcome.
    pub status: RuleStatus,
    /// The engine's message.
    pub message: String,
    /// The failure action that applied (validate rules).
    pub failure_action: Option<FailureAction>,
    /// True when this result is why the request was denied.
    pub blocking: bool,
}

/// The decision on one request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Status code of a denial: 403 for policies, 400 for a request that cannot be evaluated.
    pub code: u16,
    /// Status reason of a denial (`Forbidden`, `BadRequest`).
    pub reason: String,
    /// The denial message (Kyverno's wording); empty when allowed.
    pub message: String,
    /// Admission warnings.
    pub warnings: Vec<String>,
    /// The RFC 6902 patch of the mutate phase, when it changed the object.
    pub patch: Option<Patch>,
    /// Every rule result, in evaluation order.
    pub results: Vec<RuleResult>,
    /// True when the request was a dry run (reports skip these).
    pub dry_run: bool,
}

impl Verdict {
    /// An admission without results.
    pub fn allow() -> Verdict {
        Verdict {
            allowed: true,
            code: 200,
            ..Verdict::default()
        }
    }

    /// A denial of a request that could not be evaluated.
    pub fn bad_request(message: impl Into<String>) -> Verdict {
        Verdict {
            allowed: false,
            code: 400,
            reason: "BadRequest".to_string(),
            message: message.into(),
            ..Verdict::default()
        }
    }

    /// The AdmissionResponse answering the request `uid`.
    pub fn response(&self, uid: &str) -> AdmissionResponse {
        let mut r = if self.allowed {
            AdmissionResponse::allow(uid)
        } else {
            AdmissionResponse::deny(uid, self.code, &self.reason, self.message.clone())
        };
        r.warnings = self.warnings.clone();
        if let Some(patch) = self.patch.as_ref().filter(|p| !p.is_empty()) {
            r = r.with_patch(&patch.to_json_bytes());
        }
        r
    }

    /// The patch as a JSON value (an empty array when none).
    pub fn patch_value(&self) -> Value {
        self.patch
            .as_ref()
            .map_or_else(|| Value::Array(Vec::new()), Patch::to_value)
    }
}
