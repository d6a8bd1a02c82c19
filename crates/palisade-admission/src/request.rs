//! Turning an AdmissionRequest into what the engines evaluate.

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_celpolicy::{CelData, CelRequest};
use palisade_engine::Request;
use palisade_engine::matching::{Gvk, RequestInfo};
use palisade_engine::validate::cel::inputs::Attributes;
use serde_json::{Map, Value, json};

use crate::env::{ClusterView, Roles};
use crate::types::{AdmissionRequest, UserInfo};

/// The parts of a request every phase shares, computed once.
pub(crate) struct Shared {
    /// The requester with roles.
    pub user: RequestInfo,
    /// Labels of the request's namespace.
    pub namespace_labels: Option<BTreeMap<String, String>>,
    /// `request.*` fields besides those the engine sets itself.
    pub admission: Map<String, Value>,
    /// The kind matching selects on, for a subresource request (see [`parent_kind`]).
    pub kind: Option<Gvk>,
}

impl Shared {
    pub fn new(req: &AdmissionRequest, cluster: &dyn ClusterView) -> Shared {
        Shared::asking_roles(req, cluster, true)
    }

    /// As [`Shared::new`]; roles are looked up only when `needs_roles` (computing them walks
    /// RBAC bindings, which Kyverno too does only for policies that use them).
    pub fn asking_roles(
        req: &AdmissionRequest,
        cluster: &dyn ClusterView,
        needs_roles: bool,
    ) -> Shared {
        let Roles {
            roles,
            cluster_roles,
        } = if needs_roles {
            cluster.roles(&req.user_info, &req.namespace)
        } else {
            Roles::default()
        };
        // Kyverno looks labels up for namespaced requests other than Namespaces themselves.
        let namespace_labels = if req.namespace.is_empty() || req.kind.kind == "Namespace" {
            None
        } else {
            cluster.namespace_labels(&req.namespace)
        };
        Shared {
            user: RequestInfo {
                user_info: user_info(&req.user_info),
                roles,
                cluster_roles,
            },
            namespace_labels,
            admission: admission_fields(req),
            kind: parent_kind(req),
        }
    }

    /// The engine's request for `object` (the patched object in the mutate phase).
    pub fn engine_request(&self, req: &AdmissionRequest, object: Value) -> Request {
        self.engine_request_with(req, object, req.old_object.clone())
    }

    /// As [`Shared::engine_request`], with the old object given too.
    pub fn engine_request_with(
        &self,
        req: &AdmissionRequest,
        object: Value,
        old_object: Value,
    ) -> Request {
        Request {
            operation: req.operation.clone(),
            object: with_request_namespace(req, object),
            old_object,
            user: self.user.clone(),
            subresource: req.sub_resource.clone(),
            kind: self.kind.clone(),
            namespace_labels: self.namespace_labels.clone(),
            admission: self.admission.clone(),
        }
    }
}

/// The kind a subresource request is matched as: Kyverno looks up the kind of the request's
/// resource (`pods` → `Pod`) and matches it with the subresource, so `Pod/exec` selects a
/// `pods/exec` CONNECT whose object is a `PodExecOptions`, and `Deployment/scale` a `Scale`.
/// Without discovery here, the built-in resources that have subresources are listed; for
/// others (a custom resource's `status`, whose object is the resource itself) the object's
/// own kind is used. `None` for requests without a subresource.
pub(crate) fn parent_kind(req: &AdmissionRequest) -> Option<Gvk> {
    if req.sub_resource.is_empty() {
        return None;
    }
    let r = &req.resource;
    let kind = match (r.group.as_str(), r.resource.as_str()) {
        ("", "pods") => "Pod",
        ("", "nodes") => "Node",
        ("", "services") => "Service",
        ("", "namespaces") => "Namespace",
        ("", "serviceaccounts") => "ServiceAccount",
        ("", "replicationcontrollers") => "ReplicationController",
        ("", "persistentvolumeclaims") => "PersistentVolumeClaim",
        ("", "persistentvolumes") => "PersistentVolume",
        ("", "resourcequotas") => "ResourceQuota",
        ("apps", "deployments") => "Deployment",
        ("apps", "replicasets") => "ReplicaSet",
        ("apps", "statefulsets") => "StatefulSet",
        ("apps", "daemonsets") => "DaemonSet",
        ("batch", "jobs") => "Job",
        ("batch", "cronjobs") => "CronJob",
        ("autoscaling", "horizontalpodautoscalers") => "HorizontalPodAutoscaler",
        ("certificates.k8s.io", "certificatesigningrequests") => "CertificateSigningRequest",
        _ => return None,
    };
    Some(Gvk {
        group: r.group.clone(),
        version: r.version.clone(),
        kind: kind.to_string(),
    })
}

/// A CONNECT request's object is an options object without metadata (`PodExecOptions`);
/// Kyverno gives the resource it matches the request's namespace, so `namespaces` filters
/// and namespaced Policies apply to `kubectl exec` too. Other objects are left as sent.
fn with_request_namespace(req: &AdmissionRequest, mut object: Value) -> Value {
    if req.operation != "CONNECT" || req.namespace.is_empty() {
        return object;
    }
    if let Some(map) = object.as_object_mut() {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut()
            && !meta.contains_key("namespace")
        {
            meta.insert("namespace".into(), Value::String(req.namespace.clone()));
        }
    }
    object
}

/// The CEL view of the request, for ValidatingPolicies.
pub(crate) fn cel_request(
    req: &AdmissionRequest,
    shared: &Shared,
    cluster: &dyn ClusterView,
    data: &Arc<dyn CelData>,
) -> CelRequest {
    cel_request_for(req, &req.object, shared, cluster, data)
}

/// As [`cel_request`] with `object` as the request's object (the mutate phase's current one).
pub(crate) fn cel_request_for(
    req: &AdmissionRequest,
    object: &Value,
    shared: &Shared,
    cluster: &dyn ClusterView,
    data: &Arc<dyn CelData>,
) -> CelRequest {
    let attrs = Attributes {
        operation: req.operation.clone(),
        object: object.clone(),
        old_object: req.old_object.clone(),
        user_info: serde_json::to_value(&req.user_info).unwrap_or(Value::Null),
        sub_resource: req.sub_resource.clone(),
        dry_run: req.is_dry_run(),
    };
    let namespace = if req.namespace.is_empty() {
        None
    } else {
        cluster.namespace(&req.namespace)
    };
    CelRequest::new(
        &attrs,
        shared.namespace_labels.as_ref(),
        namespace.as_ref(),
        data,
    )
}

fn user_info(u: &UserInfo) -> palisade_api::cli::UserInfo {
    palisade_api::cli::UserInfo {
        username: u.username.clone(),
        uid: u.uid.clone(),
        groups: u.groups.clone(),
        extra: u.extra.clone(),
    }
}

/// The AdmissionRequest fields policies read as `request.*`, except those the engine's
/// context sets from the [`Request`] (operation, object, oldObject, userInfo, roles).
fn admission_fields(req: &AdmissionRequest) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("uid".into(), Value::String(req.uid.clone()));
    m.insert("kind".into(), json!(req.kind));
    m.insert("resource".into(), json!(req.resource));
    if !req.sub_resource.is_empty() {
        m.insert(
            "subResource".into(),
            Value::String(req.sub_resource.clone()),
        );
    }
    if let Some(k) = &req.request_kind {
        m.insert("requestKind".into(), json!(k));
    }
    if let Some(r) = &req.request_resource {
        m.insert("requestResource".into(), json!(r));
    }
    if let Some(s) = &req.request_sub_resource {
        m.insert("requestSubResource".into(), Value::String(s.clone()));
    }
    m.insert("name".into(), Value::String(req.name.clone()));
    m.insert("namespace".into(), Value::String(req.namespace.clone()));
    m.insert("dryRun".into(), Value::Bool(req.is_dry_run()));
    if !req.options.is_null() {
        m.insert("options".into(), req.options.clone());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::NoCluster;

    struct Labelled;
    impl ClusterView for Labelled {
        fn namespace_labels(&self, ns: &str) -> Option<BTreeMap<String, String>> {
            Some(BTreeMap::from([("name".to_string(), ns.to_string())]))
        }
        fn roles(&self, _: &UserInfo, _: &str) -> Roles {
            Roles {
                roles: vec!["ns:r".into()],
                cluster_roles: vec!["admin".into()],
            }
        }
    }

    fn req(kind: &str, ns: &str) -> AdmissionRequest {
        AdmissionRequest {
            uid: "u".into(),
            operation: "CREATE".into(),
            namespace: ns.into(),
            kind: crate::types::GroupVersionKind {
                group: String::new(),
                version: "v1".into(),
                kind: kind.into(),
            },
            object: json!({"kind": kind}),
            ..AdmissionRequest::default()
        }
    }

    #[test]
    fn namespace_labels_only_for_namespaced_non_namespace_kinds() {
        let cases = [
            ("Pod", "a", true),
            ("Pod", "", false),
            ("Namespace", "a", false),
        ];
        for (kind, ns, want) in cases {
            let s = Shared::new(&req(kind, ns), &Labelled);
            assert_eq!(s.namespace_labels.is_some(), want, "{kind} {ns}");
        }
    }

    #[test]
    fn roles_and_request_fields_reach_the_context() {
        let s = Shared::new(&req("Pod", "a"), &Labelled);
        let r = s.engine_request(&req("Pod", "a"), json!({"kind": "Pod"}));
        let ctx = r.context();
        let root = ctx.root();
        assert_eq!(root["request"]["clusterRoles"], json!(["admin"]));
        assert_eq!(root["request"]["uid"], "u");
        assert_eq!(root["request"]["kind"]["kind"], "Pod");
        let s = Shared::new(&req("Pod", "a"), &NoCluster);
        assert!(s.user.roles.is_empty());
    }

    #[test]
    fn subresource_requests_match_as_their_parent_kind() {
        let mut exec = req("PodExecOptions", "a");
        exec.operation = "CONNECT".into();
        exec.resource = crate::types::GroupVersionResource {
            group: String::new(),
            version: "v1".into(),
            resource: "pods".into(),
        };
        exec.sub_resource = "exec".into();
        let s = Shared::new(&exec, &NoCluster);
        let r = s.engine_request(&exec, exec.object.clone());
        assert_eq!(r.gvk().kind, "Pod");
        assert_eq!(r.object["kind"], "PodExecOptions");
        assert_eq!(r.object["metadata"]["namespace"], "a");
        let mut scale = exec.clone();
        scale.operation = "UPDATE".into();
        scale.resource.group = "apps".into();
        scale.resource.resource = "deployments".into();
        scale.sub_resource = "scale".into();
        scale.object = json!({"kind": "Scale"});
        let s = Shared::new(&scale, &NoCluster);
        let r = s.engine_request(&scale, scale.object.clone());
        assert_eq!(r.gvk().kind, "Deployment");
        // Only CONNECT options objects get the request's namespace.
        assert!(r.object.get("metadata").is_none());
        let custom = AdmissionRequest {
            resource: crate::types::GroupVersionResource {
                group: "example.com".into(),
                version: "v1".into(),
                resource: "widgets".into(),
            },
            sub_resource: "status".into(),
            ..req("Widget", "a")
        };
        assert_eq!(parent_kind(&custom), None);
        assert_eq!(parent_kind(&req("Pod", "a")), None);
    }
}
