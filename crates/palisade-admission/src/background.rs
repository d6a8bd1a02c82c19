//! Work an admission request leaves for the background controller: the generate and
//! mutate-existing rules it triggers, as [`UpdateRequestSpec`]s (Kyverno's UpdateRequest).
//!
//! Generate rules run after the trigger is stored and may read admission-only data
//! (`request.userInfo`, roles), so the webhook records what it saw and the controller does the
//! work. As Kyverno's generation handler does, per policy:
//! - rules that pass (or fail to load data the controller can read) are recorded to generate;
//! - rules that fail because the trigger no longer matches, or because it is being deleted, are
//!   recorded to delete their downstream resources when they synchronize;
//! - mutate-existing rules whose match selects the trigger are recorded to mutate their
//!   targets.
//!
//! Dry runs leave no work. Nothing here does I/O: the webhook persists the specs.

use palisade_engine::{CompiledPolicy, Inputs, RuleStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::env::ReviewEnv;
use crate::failure::{FailurePolicy, failure_policy};
use crate::request::Shared;
use crate::set::PolicySet;
use crate::types::{AdmissionRequest, UserInfo};

/// What the controller does for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RequestType {
    /// Generate (or delete) downstream resources.
    #[default]
    Generate,
    /// Mutate existing targets.
    Mutate,
}

/// The triggering resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerRef {
    /// `group/version` or `version`.
    #[serde(default)]
    pub api_version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Namespace (`""` for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// UID (the generated resources carry it in `generate.kyverno.io/trigger-uid`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// The resourceVersion the request saw: for an UPDATE, the version being replaced (the
    /// controller waits until the stored object is newer).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
}

impl TriggerRef {
    /// The reference of an object.
    pub fn of(object: &Value) -> TriggerRef {
        let s = |ptr: &str| {
            object
                .pointer(ptr)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        TriggerRef {
            api_version: s("/apiVersion"),
            kind: s("/kind"),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name"),
            uid: s("/metadata/uid"),
            resource_version: s("/metadata/resourceVersion"),
        }
    }
}

/// One unit of background work, persisted by the webhook and done by the controller's leader.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRequestSpec {
    /// Generate or mutate.
    pub request_type: RequestType,
    /// The policy: `name` for a ClusterPolicy, `namespace/name` for a Policy.
    pub policy: String,
    /// The rules to process.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Delete the rules' downstream resources of this trigger instead of generating them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_downstream: bool,
    /// The trigger.
    pub trigger: TriggerRef,
    /// The admission operation (empty when the controller itself asked for the work).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operation: String,
    /// The requester.
    #[serde(default)]
    pub user_info: UserInfo,
    /// The requester's Roles (`namespace:name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The requester's ClusterRoles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_roles: Vec<String>,
}

/// True when some policy of the set has generate or mutate-existing rules: only then can a
/// request leave background work.
pub fn has_background_work(set: &PolicySet) -> bool {
    set.policies().iter().any(|p| has_work(p))
}

fn has_work(p: &CompiledPolicy) -> bool {
    p.policy.spec.admission != Some(false)
        && p.rules.iter().any(|r| {
            r.generate.is_some()
                || r.mutate
                    .as_ref()
                    .and_then(|m| m.targets.as_ref())
                    .is_some_and(|t| !t.is_empty())
        })
}

/// The background work `req` triggers (see the module documentation).
pub fn update_requests(
    set: &PolicySet,
    req: &AdmissionRequest,
    only: Option<FailurePolicy>,
    env: &ReviewEnv,
) -> Vec<UpdateRequestSpec> {
    if req.is_dry_run() || !has_background_work(set) {
        return Vec::new();
    }
    let shared = Shared::asking_roles(req, env.cluster.as_ref(), set.needs_roles());
    let object = if req.operation == "DELETE" {
        Value::Null
    } else {
        req.object.clone()
    };
    let request = shared.engine_request(req, object);
    let trigger = TriggerRef::of(request.resource());
    let template = UpdateRequestSpec {
        trigger,
        operation: req.operation.clone(),
        user_info: req.user_info.clone(),
        roles: request.user.roles.clone(),
        cluster_roles: request.user.cluster_roles.clone(),
        ..UpdateRequestSpec::default()
    };
    let exceptions = set.exceptions();
    let inputs = Inputs {
        source: env.context.as_ref(),
        exceptions,
    };
    let mut ctx = request.context();
    let mut out = Vec::new();
    let served = |p: &CompiledPolicy| only.is_none_or(|f| failure_policy(&p.policy) == f);
    for policy in set.policies().iter().filter(|p| has_work(p) && served(p)) {
        let key = policy.name();
        let spec = |request_type, rules: Vec<String>, delete_downstream| UpdateRequestSpec {
            request_type,
            policy: key.clone(),
            rules,
            delete_downstream,
            ..template.clone()
        };
        if policy.rules.iter().any(|r| r.generate.is_some()) {
            let response = env.engine.generate(policy, &request, &mut ctx, &inputs);
            let mut generate = Vec::new();
            let mut delete = Vec::new();
            for r in &response.response.rules {
                match r.status {
                    // An error here is most often data the webhook cannot read (a clone source,
                    // an API call); the controller reads the cluster and decides.
                    RuleStatus::Pass | RuleStatus::Error => generate.push(r.name.to_string()),
                    RuleStatus::Fail if synchronizes(policy, &r.name) => {
                        delete.push(r.name.to_string());
                    }
                    _ => {}
                }
            }
            if req.operation == "DELETE" {
                // The trigger is going (Kyverno fails such rules): its downstream goes with it
                // where the rule synchronizes.
                delete.extend(generate.drain(..).filter(|r| synchronizes(policy, r)));
            }
            if !generate.is_empty() {
                out.push(spec(RequestType::Generate, generate, false));
            }
            if !delete.is_empty() {
                out.push(spec(RequestType::Generate, delete, true));
            }
        }
        let mutate = env
            .engine
            .mutate_existing_rules(policy, &request, &mut ctx, &inputs);
        if !mutate.is_empty() {
            out.push(spec(RequestType::Mutate, mutate, false));
        }
    }
    out
}

fn synchronizes(policy: &CompiledPolicy, rule: &str) -> bool {
    policy
        .rules
        .iter()
        .find(|r| r.name == rule)
        .and_then(|r| r.generate.as_ref())
        .and_then(|g| g.synchronize)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::compile_document;
    use crate::types::GroupVersionKind;
    use serde_json::json;

    fn set(docs: &[Value]) -> PolicySet {
        PolicySet::new(docs.iter().map(|d| compile_document("test", 1, d).unwrap()))
    }

    fn namespace_defaults() -> PolicySet {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../policies/multi-tenancy/namespace-defaults");
        crate::load::load_dir(&[dir]).unwrap()
    }

    fn mutate_existing() -> Value {
        json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "stamp"},
            "spec": {"rules": [{
                "name": "stamp-configmaps",
                "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
                "mutate": {
                    "targets": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "{{ request.object.metadata.namespace }}"}],
                    "patchStrategicMerge": {"metadata": {"labels": {"stamped": "yes"}}}
                }
            }]}
        })
    }

    fn request(operation: &str, kind: &str, object: Value, user: &str) -> AdmissionRequest {
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        AdmissionRequest {
            uid: "req".into(),
            operation: operation.into(),
            kind: GroupVersionKind {
                group: String::new(),
                version: "v1".into(),
                kind: kind.into(),
            },
            namespace,
            user_info: UserInfo {
                username: user.into(),
                ..UserInfo::default()
            },
            object,
            ..AdmissionRequest::default()
        }
    }

    fn ns(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": "ns-uid"}})
    }

    #[test]
    fn namespace_creation_records_both_rules_with_the_creator() {
        let set = namespace_defaults();
        let req = request("CREATE", "Namespace", ns("team-a"), "alice");
        let got = update_requests(&set, &req, None, &ReviewEnv::offline());
        assert_eq!(got.len(), 1, "{got:?}");
        let ur = &got[0];
        assert_eq!(ur.request_type, RequestType::Generate);
        assert_eq!(ur.policy, "namespace-defaults");
        assert_eq!(
            ur.rules,
            ["default-deny-network-policy", "creator-edit-role-binding"]
        );
        assert!(!ur.delete_downstream);
        assert_eq!(ur.user_info.username, "alice");
        assert_eq!(ur.trigger.uid, "ns-uid");
        assert_eq!(ur.trigger.name, "team-a");
        assert_eq!(ur.operation, "CREATE");
    }

    #[test]
    fn excluded_triggers_dry_runs_and_unmatched_operations_leave_nothing() {
        let set = namespace_defaults();
        let env = ReviewEnv::offline();
        let system = request("CREATE", "Namespace", ns("kube-public"), "alice");
        assert!(update_requests(&set, &system, None, &env).is_empty());
        let mut dry = request("CREATE", "Namespace", ns("team-a"), "alice");
        dry.dry_run = Some(true);
        assert!(update_requests(&set, &dry, None, &env).is_empty());
        // The rules match CREATE only: an update of the Namespace is not a trigger.
        let mut update = request("UPDATE", "Namespace", ns("team-a"), "alice");
        update.old_object = ns("team-a");
        assert!(update_requests(&set, &update, None, &env).is_empty());
    }

    #[test]
    fn deleting_a_trigger_of_a_synchronized_rule_deletes_its_downstream() {
        let policy = json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "cm"},
            "spec": {"rules": [{
                "name": "copy",
                "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
                "generate": {"apiVersion": "v1", "kind": "ConfigMap", "name": "c",
                    "namespace": "{{ request.object.metadata.namespace }}", "synchronize": true,
                    "data": {"data": {"a": "b"}}}
            }]}
        });
        let set = set(&[policy]);
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "team", "uid": "s-uid"}});
        let mut del = request("DELETE", "Secret", Value::Null, "bob");
        del.old_object = secret.clone();
        del.namespace = "team".into();
        let got = update_requests(&set, &del, None, &ReviewEnv::offline());
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].delete_downstream);
        assert_eq!(got[0].trigger.uid, "s-uid");
        let create = request("CREATE", "Secret", secret, "bob");
        let got = update_requests(&set, &create, None, &ReviewEnv::offline());
        assert!(!got[0].delete_downstream);
    }

    #[test]
    fn mutate_existing_rules_are_recorded_for_their_triggers() {
        let set = set(&[mutate_existing()]);
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "team", "uid": "s-uid"}});
        let got = update_requests(
            &set,
            &request("CREATE", "Secret", secret, "bob"),
            None,
            &ReviewEnv::offline(),
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].request_type, RequestType::Mutate);
        assert_eq!(got[0].rules, ["stamp-configmaps"]);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "team"}});
        assert!(
            update_requests(
                &set,
                &request("CREATE", "ConfigMap", cm, "bob"),
                None,
                &ReviewEnv::offline()
            )
            .is_empty()
        );
    }

    #[test]
    fn specs_round_trip_through_json() {
        let spec = UpdateRequestSpec {
            request_type: RequestType::Mutate,
            policy: "team/p".into(),
            rules: vec!["r".into()],
            trigger: TriggerRef {
                api_version: "v1".into(),
                kind: "Secret".into(),
                namespace: "team".into(),
                name: "s".into(),
                uid: "u".into(),
                resource_version: "7".into(),
            },
            ..UpdateRequestSpec::default()
        };
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(v["requestType"], "mutate");
        assert!(v.get("deleteDownstream").is_none());
        let back: UpdateRequestSpec = serde_json::from_value(v).unwrap();
        assert_eq!(back, spec);
    }
}
