//! One request as CEL policies see it: the match attributes and the CEL values (`object`,
//! `oldObject`, `request`, `namespaceObject`), converted once and shared by every policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_cel::{Activation, DocBuilder, DocNode, Value as Cel};
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
        let namespace = metadata_str(attrs.resource(), "namespace").to_string();
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
            name: metadata_str(attrs.resource(), "name").to_string(),
            namespace: namespace.clone(),
            namespaced,
            object_labels: labels_of(&attrs.object),
            old_object_labels: labels_of(&attrs.old_object),
            namespace_labels: ns_labels.clone(),
        };
        let mut base = Activation::new();
        let ns = NamespaceSource {
            object: ns_object,
            labels: &ns_labels,
        };
        match bind_documents(&mut base, attrs, &matching, &kind, ns) {
            Some(()) => {}
            None => bind_converted(&mut base, attrs, &matching, &kind, ns),
        }
        base.bind("params", Cel::Null).bind("authorizer", Cel::Null);
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

/// `metadata.<field>` of an object as a string ("" when absent), as [`Attributes::name`] and
/// [`Attributes::namespace`] read it, without parsing a JSON pointer.
fn metadata_str<'v>(object: &'v Value, field: &str) -> &'v str {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// What `namespaceObject` shows: the Namespace itself when known, else its name and labels.
#[derive(Clone, Copy)]
struct NamespaceSource<'a> {
    object: Option<&'a Value>,
    labels: &'a BTreeMap<String, String>,
}

/// Binds `object`, `oldObject`, `request` and `namespaceObject` as views into one document:
/// the request's JSON is laid out once and `request.object` shares `object`'s nodes. `None`
/// when the document is too large for that, and nothing is bound.
fn bind_documents(
    base: &mut Activation,
    attrs: &Attributes,
    m: &MatchAttributes,
    kind: &str,
    ns: NamespaceSource<'_>,
) -> Option<()> {
    let mut b = DocBuilder::new();
    let object = b.json(&attrs.object)?;
    let old_object = b.json(&attrs.old_object)?;
    let request = request_node(&mut b, attrs, m, kind, object, old_object)?;
    let namespace = if m.namespace.is_empty() {
        None
    } else if let Some(obj) = ns.object {
        Some(b.json(&namespace_view(obj, ns.labels))?)
    } else {
        Some(namespace_node(&mut b, &m.namespace, ns.labels)?)
    };
    let doc = b.finish();
    base.bind("request", doc.value(request))
        .bind("object", doc.value(object))
        .bind("oldObject", doc.value(old_object))
        .bind(
            "namespaceObject",
            namespace.map_or(Cel::Null, |n| doc.value(n)),
        );
    Some(())
}

/// The `request` map (an `AdmissionRequest`, as [`Attributes::request`] describes it) around
/// the already laid out objects.
fn request_node(
    b: &mut DocBuilder,
    attrs: &Attributes,
    m: &MatchAttributes,
    kind: &str,
    object: DocNode,
    old_object: DocNode,
) -> Option<DocNode> {
    let (group, version) = (b.string(&m.group)?, b.string(&m.version)?);
    let gvk = b.string(kind)?;
    // Entries in key order, which spares the builder a sort.
    let gvk = b.map(&mut [("group", group), ("kind", gvk), ("version", version)])?;
    let gvr = b.string(&m.resource)?;
    let gvr = b.map(&mut [("group", group), ("resource", gvr), ("version", version)])?;
    let user = match &attrs.user_info {
        Value::Object(_) => b.json(&attrs.user_info)?,
        _ => b.map(&mut [])?,
    };
    let sub = if m.sub_resource.is_empty() {
        None
    } else {
        Some(b.string(&m.sub_resource)?)
    };
    let mut fields = Vec::with_capacity(14);
    fields.push(("dryRun", b.bool(attrs.dry_run)?));
    fields.push(("kind", gvk));
    if !m.name.is_empty() {
        fields.push(("name", b.string(&m.name)?));
    }
    if !m.namespace.is_empty() {
        fields.push(("namespace", b.string(&m.namespace)?));
    }
    if !attrs.object.is_null() {
        fields.push(("object", object));
    }
    if !attrs.old_object.is_null() {
        fields.push(("oldObject", old_object));
    }
    fields.push(("operation", b.string(&attrs.operation)?));
    fields.push(("requestKind", gvk));
    fields.push(("requestResource", gvr));
    if let Some(sub) = sub {
        fields.push(("requestSubResource", sub));
    }
    fields.push(("resource", gvr));
    if let Some(sub) = sub {
        fields.push(("subResource", sub));
    }
    fields.push(("uid", b.string("")?));
    fields.push(("userInfo", user));
    b.map(&mut fields)
}

/// `namespaceObject` for a namespace known only by name and labels, as
/// [`namespace_object`] builds it.
fn namespace_node(
    b: &mut DocBuilder,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Option<DocNode> {
    let mut meta = Vec::with_capacity(2);
    if !labels.is_empty() {
        let mut entries = Vec::with_capacity(labels.len());
        for (k, v) in labels {
            entries.push((k.as_str(), b.string(v)?));
        }
        meta.push(("labels", b.map(&mut entries)?));
    }
    meta.push(("name", b.string(name)?));
    let meta = b.map(&mut meta)?;
    let (spec, status) = (b.map(&mut [])?, b.map(&mut [])?);
    b.map(&mut [("metadata", meta), ("spec", spec), ("status", status)])
}

/// The same bindings converted value by value (as before documents were laid out flat), for
/// a request too large for one document.
fn bind_converted(
    base: &mut Activation,
    attrs: &Attributes,
    m: &MatchAttributes,
    kind: &str,
    ns: NamespaceSource<'_>,
) {
    let object = Cel::from_json(&attrs.object);
    let old_object = Cel::from_json(&attrs.old_object);
    base.bind(
        "request",
        request_value(attrs, m, kind, &object, &old_object),
    )
    .bind("object", object)
    .bind("oldObject", old_object);
    let namespace = if m.namespace.is_empty() {
        Cel::Null
    } else if let Some(obj) = ns.object {
        Cel::from_json(&namespace_view(obj, ns.labels))
    } else {
        let labels: Map<String, Value> = ns
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Cel::from_json(&namespace_object(&m.namespace, Some(&labels)))
    };
    base.bind("namespaceObject", namespace);
}

/// The `request` value built directly as CEL values around the already converted objects
/// (the fallback's form of [`request_node`]).
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

    /// The flat document and the value-by-value fallback bind the same JSON.
    #[test]
    fn documents_match_the_converted_bindings() {
        let attrs = Attributes {
            operation: "UPDATE".into(),
            sub_resource: "status".into(),
            dry_run: true,
            object: json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web", "namespace": "prod", "labels": {"b": "2", "a": "1"}},
                "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}}),
            old_object: json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web", "namespace": "prod"}, "x": [1.5, null, true]}),
            user_info: json!({"username": "alice", "groups": ["dev", "ops"]}),
        };
        let labels: BTreeMap<String, String> = [
            ("env".to_string(), "prod".to_string()),
            ("a".to_string(), "b".to_string()),
        ]
        .into();
        let known = json!({"metadata": {"name": "prod"}, "spec": {"finalizers": ["kubernetes"]}});
        for ns_object in [None, Some(&known)] {
            let data: Arc<dyn CelData> = Arc::new(NoData);
            let req = CelRequest::new(&attrs, Some(&labels), ns_object, &data);
            let (_, _, kind) = attrs.gvk();
            let mut plain = Activation::new();
            let ns = NamespaceSource {
                object: ns_object,
                labels: &req.matching.namespace_labels,
            };
            bind_converted(&mut plain, &attrs, &req.matching, &kind, ns);
            for name in ["request", "object", "oldObject", "namespaceObject"] {
                let got = req.activation().get(name).unwrap().to_json().unwrap();
                let want = plain.get(name).unwrap().to_json().unwrap();
                assert_eq!(got, want, "{name}");
            }
        }
    }

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
