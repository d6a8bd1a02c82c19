//! Background scans: evaluating an existing resource as Kyverno's background controller does.
//!
//! There is no admission request, so the resource is evaluated as a `CREATE` of itself by
//! nobody: no user, roles or admission fields (policies that read them are refused at load
//! unless they set `background: false`, see `palisade_engine::background`). Only policies with
//! background processing enabled take part (`spec.background` for classic policies,
//! `spec.evaluation.background.enabled` for ValidatingPolicies), and only exceptions that do
//! not opt out with `spec.background: false` apply. Every validate rule is reported, whatever
//! its failure action: a scan never blocks anything.
//!
//! ValidatingAdmissionPolicies are scanned as Kyverno's reports controller scans them: only
//! through a binding (the API server applies no unbound policy), the first binding, in name
//! order, that matches the resource; its parameters come from the environment's `CelData`.
//! The result names the policy, no rule, and the binding in the `binding` property.

use std::sync::Arc;

use palisade_celpolicy::{CompiledException, CompiledValidatingPolicy, CompiledVap};
use palisade_engine::{CompiledPolicy, Exception, Inputs, PolicyResponse, Request};
use serde_json::{Map, Value};

use crate::env::ReviewEnv;
use crate::request::{Shared, cel_request};
use crate::set::PolicySet;
use crate::types::{AdmissionRequest, GroupVersionKind};

/// The policy a scanned response belongs to.
#[derive(Debug, Clone)]
pub enum ScannedPolicy {
    /// A ClusterPolicy or Policy.
    Classic(Arc<CompiledPolicy>),
    /// A ValidatingPolicy.
    Validating(Arc<CompiledValidatingPolicy>),
    /// A ValidatingAdmissionPolicy, through one of its bindings.
    AdmissionPolicy(Arc<CompiledVap>),
}

/// One policy's response on the scanned resource.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// The policy.
    pub policy: ScannedPolicy,
    /// Its rule responses (rules that did not match are absent).
    pub response: PolicyResponse,
}

/// A policy set prepared for scanning many resources.
pub struct Scanner<'a> {
    set: &'a PolicySet,
    exceptions: Vec<Exception>,
    cel_exceptions: Vec<&'a CompiledException>,
}

impl<'a> Scanner<'a> {
    /// Prepares `set`: the exceptions that apply in background scans are chosen once.
    pub fn new(set: &'a PolicySet) -> Scanner<'a> {
        Scanner {
            set,
            exceptions: set
                .exceptions()
                .iter()
                .filter(|e| e.exception.spec.background != Some(false))
                .cloned()
                .collect(),
            cel_exceptions: set.cel_exceptions().iter().map(AsRef::as_ref).collect(),
        }
    }

    /// True when no policy in the set runs in the background.
    pub fn is_empty(&self) -> bool {
        !self.set.policies().iter().any(|p| classic_scans(p))
            && !self
                .set
                .validating_policies()
                .iter()
                .any(|p| p.policy.spec.background())
            && !self
                .set
                .admission_policies()
                .iter()
                .any(|p| !p.bindings.is_empty())
    }

    /// Evaluates every background policy on `resource`. Policies none of whose rules match
    /// give no entry.
    pub fn scan(&self, resource: &Value, env: &ReviewEnv) -> Vec<Scanned> {
        let req = synthetic_request(resource);
        let shared = Shared::new(&req, env.cluster.as_ref());
        let mut out = Vec::new();
        self.classic(resource, &shared, env, &mut out);
        self.cel(&req, &shared, env, &mut out);
        self.admission_policies(&req, &shared, env, &mut out);
        out
    }

    fn classic(&self, resource: &Value, shared: &Shared, env: &ReviewEnv, out: &mut Vec<Scanned>) {
        let mut policies = self
            .set
            .policies()
            .iter()
            .filter(|p| classic_scans(p))
            .peekable();
        if policies.peek().is_none() {
            return;
        }
        let request = Request {
            operation: "CREATE".to_string(),
            object: resource.clone(),
            old_object: Value::Null,
            user: Default::default(),
            subresource: String::new(),
            kind: None,
            namespace_labels: shared.namespace_labels.clone(),
            admission: Map::new(),
        };
        let mut ctx = request.context();
        let inputs = Inputs {
            source: env.context.as_ref(),
            exceptions: &self.exceptions,
        };
        for policy in policies {
            let response = env.engine.validate(policy, &request, &mut ctx, &inputs);
            if !response.rules.is_empty() {
                out.push(Scanned {
                    policy: ScannedPolicy::Classic(Arc::clone(policy)),
                    response,
                });
            }
        }
    }

    fn cel(
        &self,
        req: &AdmissionRequest,
        shared: &Shared,
        env: &ReviewEnv,
        out: &mut Vec<Scanned>,
    ) {
        let mut policies = self
            .set
            .validating_policies()
            .iter()
            .filter(|p| p.policy.spec.background())
            .peekable();
        if policies.peek().is_none() {
            return;
        }
        let request = cel_request(req, shared, env.cluster.as_ref(), &env.cel_data);
        for policy in policies {
            let response = policy.validate(&request, &self.cel_exceptions);
            if !response.rules.is_empty() {
                out.push(Scanned {
                    policy: ScannedPolicy::Validating(Arc::clone(policy)),
                    response,
                });
            }
        }
    }
}

impl Scanner<'_> {
    fn admission_policies(
        &self,
        req: &AdmissionRequest,
        shared: &Shared,
        env: &ReviewEnv,
        out: &mut Vec<Scanned>,
    ) {
        let mut bound = self
            .set
            .admission_policies()
            .iter()
            .filter(|p| !p.bindings.is_empty())
            .peekable();
        if bound.peek().is_none() {
            return;
        }
        let request = cel_request(req, shared, env.cluster.as_ref(), &env.cel_data);
        for p in bound {
            let (mut response, binding) =
                p.policy
                    .validate_with(&p.bindings, &request, env.cel_data.as_ref());
            let Some(binding) = binding else { continue };
            for rule in &mut response.rules {
                // Kyverno's rows of admission policies name the policy and the binding only.
                rule.name = Arc::from("");
                rule.properties
                    .push(("binding".into(), binding.metadata.name.clone()));
            }
            if !response.rules.is_empty() {
                out.push(Scanned {
                    policy: ScannedPolicy::AdmissionPolicy(Arc::clone(&p.policy)),
                    response,
                });
            }
        }
    }
}

fn classic_scans(p: &CompiledPolicy) -> bool {
    p.background() && p.rules.iter().any(|r| r.validate.is_some())
}

/// The CREATE request a background scan evaluates CEL policies with: no user, no uid.
fn synthetic_request(resource: &Value) -> AdmissionRequest {
    let field = |ptr: &str| {
        resource
            .pointer(ptr)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let api_version = field("/apiVersion");
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version),
    };
    AdmissionRequest {
        operation: "CREATE".to_string(),
        kind: GroupVersionKind {
            group,
            version,
            kind: field("/kind"),
        },
        name: field("/metadata/name"),
        namespace: field("/metadata/namespace"),
        object: resource.clone(),
        ..AdmissionRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::compile_document;
    use palisade_engine::RuleStatus;
    use serde_json::json;

    fn policy(name: &str, background: Option<bool>, action: &str) -> Value {
        let mut p = json!({
            "apiVersion": "kyverno.io/v1",
            "kind": "ClusterPolicy",
            "metadata": {"name": name},
            "spec": {
                "validationFailureAction": action,
                "rules": [{
                    "name": "no-privileged",
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": {
                        "message": "privileged containers are not allowed",
                        "pattern": {"spec": {"containers": [{"=(securityContext)": {"=(privileged)": "false"}}]}}
                    }
                }]
            }
        });
        if let Some(b) = background {
            p["spec"]["background"] = json!(b);
        }
        p
    }

    fn set(docs: &[Value]) -> PolicySet {
        PolicySet::new(docs.iter().map(|d| compile_document("test", 1, d).unwrap()))
    }

    fn pod(privileged: bool) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "team", "uid": "u1"},
            "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": privileged}}]}
        })
    }

    fn statuses(found: &[Scanned]) -> Vec<(String, RuleStatus)> {
        found
            .iter()
            .flat_map(|s| {
                s.response
                    .rules
                    .iter()
                    .map(|r| (s.response.policy.to_string(), r.status))
            })
            .collect()
    }

    #[test]
    fn enforce_and_audit_policies_are_both_reported_and_background_false_is_left_out() {
        let set = set(&[
            policy("enforced", None, "Enforce"),
            policy("audited", Some(true), "Audit"),
            policy("admission-only", Some(false), "Enforce"),
        ]);
        let scanner = Scanner::new(&set);
        assert!(!scanner.is_empty());
        let found = scanner.scan(&pod(true), &ReviewEnv::offline());
        assert_eq!(
            statuses(&found),
            [
                ("enforced".to_string(), RuleStatus::Fail),
                ("audited".to_string(), RuleStatus::Fail)
            ]
        );
        let ok = scanner.scan(&pod(false), &ReviewEnv::offline());
        assert!(statuses(&ok).iter().all(|(_, s)| *s == RuleStatus::Pass));
    }

    #[test]
    fn exceptions_apply_unless_they_opt_out_of_background() {
        let exception = |background: bool| {
            json!({
                "apiVersion": "kyverno.io/v2",
                "kind": "PolicyException",
                "metadata": {"name": "allow", "namespace": "team"},
                "spec": {
                    "background": background,
                    "exceptions": [{"policyName": "enforced", "ruleNames": ["no-privileged"]}],
                    "match": {"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["team"]}}]}
                }
            })
        };
        for (background, want) in [(true, RuleStatus::Skip), (false, RuleStatus::Fail)] {
            let set = set(&[policy("enforced", None, "Enforce"), exception(background)]);
            let found = Scanner::new(&set).scan(&pod(true), &ReviewEnv::offline());
            assert_eq!(
                statuses(&found),
                [("enforced".to_string(), want)],
                "background {background}"
            );
        }
    }

    /// Parameter ConfigMaps for admission policies with a `paramRef`.
    #[derive(Debug)]
    struct Params(Vec<Value>);

    impl palisade_celpolicy::CelData for Params {
        fn list_resources(
            &self,
            api_version: &str,
            resource: &str,
            namespace: &str,
        ) -> Result<Value, String> {
            assert_eq!((api_version, resource), ("v1", "configmaps"));
            let items: Vec<Value> = self
                .0
                .iter()
                .filter(|c| c["metadata"]["namespace"] == namespace)
                .cloned()
                .collect();
            Ok(json!({"items": items}))
        }
    }

    fn vap(name: &str, params: bool) -> Value {
        let mut v = json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]},
                "validations": [{"expression": "!object.spec.containers.exists(c, c.securityContext.privileged)"}]
            }
        });
        if params {
            v["spec"]["paramKind"] = json!({"apiVersion": "v1", "kind": "ConfigMap"});
            v["spec"]["validations"] = json!([{
                "expression": "object.spec.containers.all(c, c.image != params.data.banned)",
                "messageExpression": "'image ' + params.data.banned + ' is banned'"
            }]);
        }
        v
    }

    fn binding(name: &str, policy: &str, spec: Value) -> Value {
        let mut b = json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": policy, "validationActions": ["Audit"]}
        });
        if let (Some(b), Some(extra)) = (b["spec"].as_object_mut(), spec.as_object()) {
            b.extend(extra.clone());
        }
        b
    }

    #[test]
    fn admission_policies_are_scanned_through_their_first_matching_binding_only() {
        let no_match = json!({"matchResources": {"objectSelector": {"matchLabels": {"x": "y"}}}});
        let set = set(&[
            vap("unbound", false),
            vap("bound", false),
            binding("b-2", "bound", json!({})),
            binding("b-1", "bound", no_match),
        ]);
        let scanner = Scanner::new(&set);
        assert!(!scanner.is_empty());
        let found = scanner.scan(&pod(true), &ReviewEnv::offline());
        assert_eq!(statuses(&found), [("bound".to_string(), RuleStatus::Fail)]);
        let rule = &found[0].response.rules[0];
        assert_eq!(&*rule.name, "");
        assert_eq!(
            rule.properties,
            [("binding".to_string(), "b-2".to_string())]
        );
        assert!(matches!(found[0].policy, ScannedPolicy::AdmissionPolicy(_)));
        let ok = scanner.scan(&pod(false), &ReviewEnv::offline());
        assert_eq!(statuses(&ok), [("bound".to_string(), RuleStatus::Pass)]);
        assert!(Scanner::new(&self::set(&[vap("unbound", false)])).is_empty());
    }

    #[test]
    fn admission_policy_params_are_selected_by_the_binding() {
        let selector = json!({"paramRef": {"selector": {"matchLabels": {"policy": "images"}},
            "parameterNotFoundAction": "Deny"}});
        let set = set(&[vap("images", true), binding("b", "images", selector)]);
        let cm = |name: &str, label: &str, banned: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "team", "labels": {"policy": label}},
                "data": {"banned": banned}})
        };
        let env = |params: Vec<Value>| ReviewEnv {
            cel_data: Arc::new(Params(params)),
            ..ReviewEnv::offline()
        };
        let scanner = Scanner::new(&set);
        let with = env(vec![
            cm("a", "images", "nginx"),
            cm("b", "other", "busybox"),
        ]);
        let found = scanner.scan(&pod(false), &with);
        assert_eq!(statuses(&found), [("images".to_string(), RuleStatus::Fail)]);
        assert_eq!(found[0].response.rules[0].message, "image nginx is banned");
        let other = env(vec![cm("b", "images", "busybox")]);
        let found = scanner.scan(&pod(false), &other);
        assert_eq!(statuses(&found), [("images".to_string(), RuleStatus::Pass)]);
        let found = scanner.scan(&pod(false), &env(Vec::new()));
        assert_eq!(
            statuses(&found),
            [("images".to_string(), RuleStatus::Error)]
        );
    }

    #[test]
    fn resources_no_policy_matches_give_nothing() {
        let set = set(&[policy("enforced", None, "Enforce")]);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team"}});
        assert!(
            Scanner::new(&set)
                .scan(&cm, &ReviewEnv::offline())
                .is_empty()
        );
        assert!(Scanner::new(&PolicySet::default()).is_empty());
    }
}
