//! Compiling policy documents and grouping them into an immutable [`PolicySet`].

use std::sync::Arc;

use palisade_api::load::{LoadError, decode_value, type_meta};
use palisade_api::{Policy, PolicyException};
use palisade_celpolicy::api::{CelDocument, PolicyBinding, decode_at};
use palisade_celpolicy::{
    CompiledException, CompiledMutatingPolicy, CompiledValidatingPolicy, CompiledVap,
};
use palisade_engine::{CompiledPolicy, Exception, compile};
use serde_json::Value;

/// One loaded policy-like document.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A `kyverno.io` ClusterPolicy or Policy (with its autogen rules).
    Policy(Arc<CompiledPolicy>),
    /// A `kyverno.io` PolicyException.
    Exception(Arc<Exception>),
    /// A `policies.kyverno.io` CEL policy or exception.
    Cel(CelEntry),
    /// A document not evaluated here (a resource, a MutatingAdmissionPolicy, ...).
    Ignored {
        /// Its apiVersion.
        api_version: String,
        /// Its kind.
        kind: String,
    },
}

/// A compiled CEL policy type.
#[derive(Debug, Clone)]
pub enum CelEntry {
    /// A ValidatingPolicy or NamespacedValidatingPolicy.
    Validating(Arc<CompiledValidatingPolicy>),
    /// A MutatingPolicy or NamespacedMutatingPolicy (applied by the mutate phase).
    Mutating(Arc<CompiledMutatingPolicy>),
    /// A CEL PolicyException.
    Exception(Arc<CompiledException>),
    /// A ValidatingAdmissionPolicy, compiled without its bindings. The API server enforces
    /// it at admission; only background scans evaluate it.
    AdmissionPolicy(Arc<CompiledVap>),
    /// A ValidatingAdmissionPolicyBinding.
    AdmissionPolicyBinding(Arc<PolicyBinding>),
}

/// Compiles one document: a watched object or a document of a policy file. `source` names it
/// in errors (a file path, or `ClusterPolicy/name`); `line` is its first line (0 when unknown).
/// Errors carry the field path of the offending value.
pub fn compile_document(source: &str, line: usize, doc: &Value) -> Result<Entry, LoadError> {
    let located = |mut e: LoadError| {
        if e.line.is_none() && line > 0 {
            e.line = Some(line);
        }
        e
    };
    let (api_version, kind) = type_meta(doc);
    let group = api_version.split('/').next().unwrap_or_default();
    match (group, kind.as_str()) {
        ("kyverno.io", "ClusterPolicy" | "Policy") => {
            let policy: Policy = decode_value(source, doc, None).map_err(located)?;
            compile_policy(source, line, policy)
        }
        ("kyverno.io", "PolicyException") => {
            // A watched exception may carry a status the strict type does not know.
            let stripped;
            let doc = match doc.get("status") {
                Some(_) => {
                    let mut copy = doc.clone();
                    if let Some(m) = copy.as_object_mut() {
                        m.remove("status");
                    }
                    stripped = copy;
                    &stripped
                }
                None => doc,
            };
            let exception: PolicyException = decode_value(source, doc, None).map_err(located)?;
            Ok(Entry::Exception(Arc::new(Exception { exception })))
        }
        _ => compile_cel(source, line, &api_version, &kind, doc),
    }
}

/// Compiles a decoded classic policy.
pub(crate) fn compile_policy(
    source: &str,
    line: usize,
    policy: Policy,
) -> Result<Entry, LoadError> {
    Ok(Entry::Policy(Arc::new(compile_located(
        source, line, policy,
    )?)))
}

/// Compiles a classic policy that starts at `line` of `source` (0: unknown); an error names
/// the policy and the field it is about.
pub fn compile_located(
    source: &str,
    line: usize,
    policy: Policy,
) -> Result<CompiledPolicy, LoadError> {
    let name = policy.metadata.name.clone();
    compile(policy).map_err(|e| LoadError {
        file: source.to_string(),
        line: (line > 0).then_some(line),
        path: Some(e.path),
        message: format!("policy {name}: {}", e.message),
    })
}

/// Compiles a document of a CEL policy kind; other documents are [`Entry::Ignored`].
pub(crate) fn compile_cel(
    source: &str,
    line: usize,
    api_version: &str,
    kind: &str,
    doc: &Value,
) -> Result<Entry, LoadError> {
    let ignored = || Entry::Ignored {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
    };
    let Some(decoded) = decode_at(source, line, api_version, kind, doc) else {
        return Ok(ignored());
    };
    let decoded = decoded?;
    let located = |e: palisade_celpolicy::PolicyError| e.located(source, line);
    let entry = match decoded {
        CelDocument::ValidatingPolicy(p) => CelEntry::Validating(Arc::new(
            CompiledValidatingPolicy::compile(*p).map_err(located)?,
        )),
        CelDocument::MutatingPolicy(p) => CelEntry::Mutating(Arc::new(
            CompiledMutatingPolicy::compile(*p).map_err(located)?,
        )),
        CelDocument::Exception(e) => {
            CelEntry::Exception(Arc::new(CompiledException::compile(*e).map_err(located)?))
        }
        // Bindings are joined to their policy in the set, so a binding change recompiles
        // nothing.
        CelDocument::ValidatingAdmissionPolicy(p) => {
            CelEntry::AdmissionPolicy(Arc::new(CompiledVap::compile(*p, &[]).map_err(located)?))
        }
        CelDocument::ValidatingAdmissionPolicyBinding(b) => {
            CelEntry::AdmissionPolicyBinding(Arc::from(b))
        }
        // The API server applies mutating admission policies; background scans do not report
        // them (Kyverno's MutatingAdmissionPolicy reports are off by default).
        CelDocument::MutatingAdmissionPolicy(_)
        | CelDocument::MutatingAdmissionPolicyBinding(_) => return Ok(ignored()),
    };
    Ok(Entry::Cel(entry))
}

/// A ValidatingAdmissionPolicy with the bindings that name it, in name order.
#[derive(Debug, Clone)]
pub struct BoundAdmissionPolicy {
    /// The compiled policy.
    pub policy: Arc<CompiledVap>,
    /// Its bindings (the API server applies none of the policy without one).
    pub bindings: Vec<PolicyBinding>,
}

/// An immutable set of compiled policies and exceptions; cheap to share as `Arc`.
#[derive(Debug, Default)]
pub struct PolicySet {
    policies: Vec<Arc<CompiledPolicy>>,
    exceptions: Vec<Exception>,
    validating: Vec<Arc<CompiledValidatingPolicy>>,
    mutating: Vec<Arc<CompiledMutatingPolicy>>,
    cel_exceptions: Vec<Arc<CompiledException>>,
    admission_policies: Vec<BoundAdmissionPolicy>,
    ignored: Vec<(String, String)>,
    needs_roles: bool,
}

impl PolicySet {
    /// Builds a set; classic policies keep the order given, which is the order the mutate
    /// phase applies them in.
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> PolicySet {
        let mut set = PolicySet::default();
        let mut bindings: Vec<Arc<PolicyBinding>> = Vec::new();
        for entry in entries {
            match entry {
                Entry::Policy(p) => {
                    set.needs_roles |= uses_roles(&p);
                    set.policies.push(p);
                }
                Entry::Exception(e) => set.exceptions.push(Exception::clone(&e)),
                Entry::Cel(CelEntry::Validating(p)) => set.validating.push(p),
                Entry::Cel(CelEntry::Mutating(p)) => set.mutating.push(p),
                Entry::Cel(CelEntry::Exception(e)) => set.cel_exceptions.push(e),
                Entry::Cel(CelEntry::AdmissionPolicy(p)) => {
                    set.admission_policies.push(BoundAdmissionPolicy {
                        policy: p,
                        bindings: Vec::new(),
                    });
                }
                Entry::Cel(CelEntry::AdmissionPolicyBinding(b)) => bindings.push(b),
                Entry::Ignored { api_version, kind } => set.ignored.push((api_version, kind)),
            }
        }
        bindings.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for bound in &mut set.admission_policies {
            let name = &bound.policy.policy.metadata.name;
            bound.bindings = bindings
                .iter()
                .filter(|b| &b.spec.policy_name == name)
                .map(|b| PolicyBinding::clone(b))
                .collect();
        }
        set
    }

    /// Classic ClusterPolicies and Policies (with autogen rules), in load order.
    pub fn policies(&self) -> &[Arc<CompiledPolicy>] {
        &self.policies
    }

    /// Classic PolicyExceptions.
    pub fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// ValidatingPolicies and NamespacedValidatingPolicies.
    pub fn validating_policies(&self) -> &[Arc<CompiledValidatingPolicy>] {
        &self.validating
    }

    /// MutatingPolicies, in load order (the order the mutate phase applies them in).
    pub fn mutating_policies(&self) -> &[Arc<CompiledMutatingPolicy>] {
        &self.mutating
    }

    /// CEL PolicyExceptions.
    pub fn cel_exceptions(&self) -> &[Arc<CompiledException>] {
        &self.cel_exceptions
    }

    /// ValidatingAdmissionPolicies with their bindings (evaluated by background scans only).
    pub fn admission_policies(&self) -> &[BoundAdmissionPolicy] {
        &self.admission_policies
    }

    /// `(apiVersion, kind)` of the documents that were loaded but are not evaluated here.
    pub fn ignored(&self) -> &[(String, String)] {
        &self.ignored
    }

    /// True when some classic policy reads the requester's roles (`roles`/`clusterRoles` in
    /// match or exclude, or `request.roles`/`request.clusterRoles` in an expression).
    pub fn needs_roles(&self) -> bool {
        self.needs_roles
    }

    /// Number of policies the webhook evaluates (classic and Kyverno's CEL kinds; exceptions,
    /// admission policies and ignored documents not counted).
    pub fn len(&self) -> usize {
        self.policies.len() + self.validating.len() + self.mutating.len()
    }

    /// True when the set holds no policy.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a policy reads roles; a textual check of its rules, done once per load.
fn uses_roles(policy: &CompiledPolicy) -> bool {
    let Ok(text) = serde_json::to_string(&policy.rules) else {
        return true;
    };
    [
        "\"roles\"",
        "\"clusterRoles\"",
        "request.roles",
        "request.clusterRoles",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(name: &str) -> Value {
        json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": name},
            "spec": {"rules": [{"name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {"message": "m", "pattern": {"metadata": {"name": "?*"}}}}]}})
    }

    #[test]
    fn documents_compile_to_their_entry() {
        let cases: Vec<(Value, &str)> = vec![
            (policy("p"), "policy"),
            (
                json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
                    "metadata": {"name": "e", "namespace": "n"}, "status": {},
                    "spec": {"exceptions": [{"policyName": "p", "ruleNames": ["r"]}],
                        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}}}),
                "exception",
            ),
            (
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
                "ignored",
            ),
            (
                json!({"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
                    "metadata": {"name": "v"}, "spec": {"validations": [{"expression": "true"}]}}),
                "cel",
            ),
        ];
        for (doc, want) in cases {
            let got = match compile_document("test", 1, &doc).unwrap() {
                Entry::Policy(_) => "policy",
                Entry::Exception(_) => "exception",
                Entry::Cel(_) => "cel",
                Entry::Ignored { .. } => "ignored",
            };
            assert_eq!(got, want, "{doc}");
        }
    }

    #[test]
    fn errors_name_the_source_and_field() {
        let mut bad = policy("p");
        bad["spec"]["rules"][0]["validate"]["nonsense"] = json!(1);
        let err = compile_document("ClusterPolicy/p", 0, &bad).unwrap_err();
        assert_eq!(err.file, "ClusterPolicy/p");
        assert!(
            err.path.as_deref().unwrap_or("").contains("validate"),
            "{err}"
        );
    }

    #[test]
    fn roles_are_needed_only_by_policies_that_read_them() {
        let plain = compile_document("a", 0, &policy("a")).unwrap();
        assert!(!PolicySet::new([plain.clone()]).needs_roles());
        let mut by_role = policy("b");
        by_role["spec"]["background"] = json!(false);
        by_role["spec"]["rules"][0]["exclude"] =
            json!({"any": [{"clusterRoles": ["cluster-admin"]}]});
        let by_role = compile_document("b", 0, &by_role).unwrap();
        assert!(PolicySet::new([plain, by_role]).needs_roles());
    }

    #[test]
    fn a_set_counts_policies_only() {
        let set = PolicySet::new([
            compile_document("a", 0, &policy("a")).unwrap(),
            compile_document("b", 0, &policy("b")).unwrap(),
            Entry::Ignored {
                api_version: "v1".into(),
                kind: "Pod".into(),
            },
        ]);
        assert_eq!(set.len(), 2);
        assert_eq!(set.policies()[1].name(), "b");
        assert_eq!(set.ignored().len(), 1);
    }
}
