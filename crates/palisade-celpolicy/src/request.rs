//! One request as CEL policies see it: the match attributes and the CEL values (`object`,
//! `oldObject`, `request`, `namespaceObject`), converted once and shared by every policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_cel::{Activation, Value as Cel};
use palisade_engine::validate::cel::admission::SharedVariables;
use palisade_engine::validate::cel::gvr;
use palisade_engine::validate::cel::inputs::{Attributes, namespace_object};
use serde_json::{Map, Value};

use crate::libs::{self, CelData};
use crate::matching::{MatchAttributes, labels_of};

/// A request prepared for CEL policy evaluation.
#[derive(Debug, Clone)]
pub struct CelRequest {
    /// What matching looks at.
    pub matching: MatchAttributes,
    /// `apiVersion` of the resource.
    pub api_version: String,
    /// Kind of the resource.
    pub kind: String,
    base: Arc<Activation>,
    shared: Arc<SharedVariables>,
    json: bool,
}

impl CelRequest {
    /// Prepares an admission request. `namespace_labels` are the labels of the resource's
    /// namespace when known (unknown namespaces carry only `kubernetes.io/metadata.name`);
    /// `namespace` is the Namespace object itself when known, which `namespaceObject` shows.
    pub fn new(
        attrs: &Attributes,
        namespace_labels: Option<&BTreeMap<String, String>>,
        namespace: Option<&Value>,
        data: &Arc<dyn CelData>,
    ) -> CelRequest {
        let (group, version, kind) = attrs.gvk();
        let resource_name = gvr::resource_for(&group, &kind);
        let ns_object = namespace;
        let namespace = attrs.namespace();
        let namespaced = !namespace.is_empty() || !gvr::is_cluster_scoped(&group, &kind);
        let mut ns_labels = namespace_labels.cloned().unwrap_or_default();
        if !namespace.is_empty() {
            ns_labels
                .entry("kubernetes.io/metadata.name".to_string())
                .or_insert_with(|| namespace.clone());
        }
        if kind == "Namespace" && group.is_empty() {
            ns_labels = labels_of(attrs.resource()).unwrap_or_default();
        }
        let matching = MatchAttributes {
            operation: attrs.operation.clone(),
            group: group.clone(),
            version: version.clone(),
            resource: resource_name,
            sub_resource: attrs.sub_resource.clone(),
            name: attrs.name(),
            namespace: namespace.clone(),
            namespaced,
            object_labels: labels_of(&attrs.object),
            old_object_labels: labels_of(&attrs.old_object),
            namespace_labels: ns_labels.clone(),
        };
        let object = Cel::from_json(&attrs.object);
        let old_object = Cel::from_json(&attrs.old_object);
        let mut base = Activation::new();
        base.bind(
            "request",
            request_value(attrs, &matching, &kind, &object, &old_object),
        )
        .bind("object", object)
        .bind("oldObject", old_object)
        .bind("params", Cel::Null)
        .bind("authorizer", Cel::Null);
        if namespace.is_empty() {
            base.bind("namespaceObject", Cel::Null);
        } else if let Some(ns) = ns_object {
            base.bind_json("namespaceObject", &namespace_view(ns, &ns_labels));
        } else {
            let labels: Map<String, Value> = ns_labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            base.bind_json(
                "namespaceObject",
                &namespace_object(&namespace, Some(&labels)),
            );
        }
        libs::bind(&mut base, data);
        let api_version = if group.is_empty() {
            version
        } else {
            format!("{group}/{version}")
        };
        CelRequest {
            matching,
            api_version,
            kind,
            base: Arc::new(base),
            shared: Arc::default(),
            json: false,
        }
    }

    /// Prepares a JSON payload for policies in JSON evaluation mode: only `object` is set.
    pub fn json(payload: &Value, data: &Arc<dyn CelData>) -> CelRequest {
        let mut base = Activation::new();
        base.bind_json("object", payload);
        for name in [
            "oldObject",
            "request",
            "params",
            "authorizer",
            "namespaceObject",
        ] {
            base.bind(name, Cel::Null);
        }
        libs::bind(&mut base, data);
        CelRequest {
            matching: MatchAttributes::default(),
            api_version: String::new(),
            kind: String::new(),
            base: Arc::new(base),
            shared: Arc::default(),
            json: true,
        }
    }

    /// True for a JSON payload.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// The bindings every expression starts from (without `variables`), shared.
    pub fn activation(&self) -> &Arc<Activation> {
        &self.base
    }

    /// Variable results shared by the policies evaluated on this request.
    pub fn shared_variables(&self) -> &Arc<SharedVariables> {
        &self.shared
    }

    /// The namespace of the request.
    pub fn namespace(&self) -> &str {
        &self.matching.namespace
    }
}

/// A Namespace as `namespaceObject` shows it: metadata, spec and status only, with the labels
/// matching used.
fn namespace_view(ns: &Value, labels: &BTreeMap<String, String>) -> Value {
    let mut meta = ns
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    if let Some(m) = meta.as_object_mut()
        && !labels.is_empty()
    {
        let l: Map<String, Value> = labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        m.insert("labels".into(), Value::Object(l));
    }
    let part = |k: &str| {
        ns.get(k)
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()))
    };
    serde_json::json!({"metadata": meta, "spec": part("spec"), "status": part("status")})
}

/// The `request` value (an `AdmissionRequest`, as [`Attributes::request`] describes it), built
/// directly as CEL values around the already converted objects.
fn request_value(
    attrs: &Attributes,
    m: &MatchAttributes,
    kind: &str,
    object: &Cel,
    old_object: &Cel,
) -> Cel {
    let key = |k: &str| palisade_cel::Key::String(k.into());
    let s = |v: &str| Cel::from(v);
    let triple = |last: &str, value: &str| {
        let mut t = palisade_cel::MapValue::new();
        t.insert(key("group"), s(&m.group));
        t.insert(key("version"), s(&m.version));
        t.insert(key(last), s(value));
        Cel::map(t)
    };
    let gvk = triple("kind", kind);
    let gvr = triple("resource", &m.resource);
    let mut r = palisade_cel::MapValue::new();
    r.insert(key("uid"), s(""));
    r.insert(key("kind"), gvk.clone());
    r.insert(key("requestKind"), gvk);
    r.insert(key("resource"), gvr.clone());
    r.insert(key("requestResource"), gvr);
    if !m.sub_resource.is_empty() {
        r.insert(key("subResource"), s(&m.sub_resource));
        r.insert(key("requestSubResource"), s(&m.sub_resource));
    }
    if !m.name.is_empty() {
        r.insert(key("name"), s(&m.name));
    }
    if !m.namespace.is_empty() {
        r.insert(key("namespace"), s(&m.namespace));
    }
    r.insert(key("operation"), s(&attrs.operation));
    let user = match &attrs.user_info {
        Value::Object(_) => Cel::from_json(&attrs.user_info),
        _ => Cel::map(palisade_cel::MapValue::new()),
    };
    r.insert(key("userInfo"), user);
    r.insert(key("dryRun"), Cel::Bool(attrs.dry_run));
    for (k, v) in [("object", object), ("oldObject", old_object)] {
        if !matches!(v, Cel::Null) {
            r.insert(key(k), v.clone());
        }
    }
    Cel::map(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libs::NoData;
    use serde_json::json;

    #[test]
    fn request_value_matches_the_admission_request() {
        let attrs = Attributes {
            operation: "UPDATE".into(),
            object: json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "prod", "labels": {"a": "b"}}}),
            old_object: json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "prod"}}),
            user_info: json!({"username": "alice", "groups": ["dev"]}),
            ..Attributes::default()
        };
        let data: Arc<dyn CelData> = Arc::new(NoData);
        let req = CelRequest::new(&attrs, None, None, &data);
        let got = req.activation().get("request").unwrap().to_json().unwrap();
        assert_eq!(got, attrs.request());
        assert_eq!(req.matching.resource, "deployments");
        let ns = req
            .activation()
            .get("namespaceObject")
            .unwrap()
            .to_json()
            .unwrap();
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "prod"
        );
    }
}
