//! The request under evaluation and the variable context built from it.

use std::collections::BTreeMap;

use palisade_primitives::image::{self, ImageConfig};
use serde_json::{Map, Value, json};

use crate::context::EvalContext;
use crate::matching::{Gvk, RequestInfo};

/// An admission request, or its offline equivalent (a resource from a file).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: String,
    /// The new object (null for DELETE).
    pub object: Value,
    /// The old object (null for CREATE).
    pub old_object: Value,
    /// The requester.
    pub user: RequestInfo,
    /// The subresource, or "".
    pub subresource: String,
    /// The kind matching selects on when it is not the resource's own: a subresource request
    /// names its parent (Kyverno takes the kind of the request's resource, `Pod` for
    /// `pods/exec`, whose object is a `PodExecOptions`). `None`: the resource's kind.
    pub kind: Option<Gvk>,
    /// Labels of the resource's namespace, when known.
    pub namespace_labels: Option<BTreeMap<String, String>>,
    /// Further `request.*` fields of an AdmissionRequest (uid, name, namespace, kind, dryRun, ...).
    pub admission: Map<String, Value>,
}

impl Request {
    /// An offline CREATE request for `object`.
    pub fn create(object: Value) -> Self {
        Request {
            operation: "CREATE".to_string(),
            object,
            ..Request::default()
        }
    }

    /// The resource rules look at: the new object, or the old one when there is none (DELETE).
    pub fn resource(&self) -> &Value {
        if self.object.is_null() || self.object.as_object().is_some_and(Map::is_empty) {
            &self.old_object
        } else {
            &self.object
        }
    }

    /// Group, version and kind matching selects on: [`Request::kind`], else the resource's.
    pub fn gvk(&self) -> Gvk {
        match &self.kind {
            Some(kind) => kind.clone(),
            None => Gvk::of(self.resource()),
        }
    }

    /// Builds Kyverno's JSON context for this request.
    pub fn context(&self) -> EvalContext {
        let namespace = crate::matching::namespace_of(self.resource()).to_string();
        let mut root = self.root(self.object.clone(), self.old_object.clone(), namespace);
        if let Some(images) = images_of(self.resource()) {
            root.insert("images".into(), images);
        }
        EvalContext::new(root)
    }

    /// The context document without `images`, holding the given objects. `namespace` is the
    /// resource's namespace, used when the admission fields have none.
    fn root(&self, object: Value, old_object: Value, namespace: String) -> Map<String, Value> {
        // Built from lists (a map collected from pairs is filled in one pass, where inserting
        // searches the map for every key); a later pair replaces an earlier one of the same
        // key, as inserting would.
        let mut request: Vec<(String, Value)> = Vec::with_capacity(self.admission.len() + 8);
        request.extend(self.admission.iter().map(|(k, v)| (k.clone(), v.clone())));
        // In key order: the sort before building the map then only checks it.
        request.push(("clusterRoles".into(), json!(self.user.cluster_roles)));
        // Kyverno always sets request.namespace, offline from the resource itself.
        if !self.admission.contains_key("namespace") {
            request.push(("namespace".into(), Value::String(namespace)));
        }
        request.push(("object".into(), object));
        request.push(("oldObject".into(), old_object));
        request.push(("operation".into(), Value::String(self.operation.clone())));
        request.push(("roles".into(), json!(self.user.roles)));
        request.push(("userInfo".into(), user_info_value(&self.user.user_info)));
        let (sa_namespace, sa_name) =
            service_account(&self.user.user_info.username).unwrap_or(("", ""));
        [
            (
                "request".into(),
                Value::Object(request.into_iter().collect()),
            ),
            (
                "serviceAccountName".into(),
                Value::String(sa_name.to_string()),
            ),
            (
                "serviceAccountNamespace".into(),
                Value::String(sa_namespace.to_string()),
            ),
        ]
        .into_iter()
        .collect()
    }
}

/// `request.userInfo`: what serializing `user` gives, without serde for the usual empty one.
fn user_info_value(user: &palisade_api::cli::UserInfo) -> Value {
    if user.username.is_empty()
        && user.uid.is_empty()
        && user.groups.is_empty()
        && user.extra.is_empty()
    {
        return Value::Object(Map::new());
    }
    serde_json::to_value(user).unwrap_or(Value::Null)
}

/// A request and its variable context in one value, for evaluating many policies on one
/// request with [`crate::Engine::validate_prepared`]. Unlike [`Request::context`], it moves the
/// objects into the context instead of copying them, and computes Kyverno's `images`
/// variable only if an expression reads it. Outcomes are the same.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// The request without its objects (they live in the context).
    pub(crate) head: Request,
    pub(crate) ctx: EvalContext,
    pub(crate) gvk: Gvk,
}

impl PreparedRequest {
    /// Prepares `request` for evaluation.
    pub fn new(mut request: Request) -> Self {
        let gvk = request.gvk();
        let namespace = crate::matching::namespace_of(request.resource()).to_string();
        let object = std::mem::take(&mut request.object);
        let old_object = std::mem::take(&mut request.old_object);
        let deleting = request.operation == "DELETE";
        let ctx =
            EvalContext::with_operation(request.root(object, old_object, namespace), deleting)
                .with_lazy_images();
        PreparedRequest {
            head: request,
            ctx,
            gvk,
        }
    }

    /// The resource under evaluation: the new object, or the old one when there is none.
    pub fn resource(&self) -> &Value {
        self.ctx.resource()
    }

    /// The request fields besides the objects (`object` and `oldObject` are null here; read
    /// them with [`PreparedRequest::resource`]).
    pub fn request(&self) -> &Request {
        &self.head
    }

    /// `request.oldObject` (null when the request has none).
    pub fn old_object(&self) -> &Value {
        self.ctx.root()["request"]
            .get("oldObject")
            .unwrap_or(&Value::Null)
    }

    /// Ends the evaluation and gives back the objects the request was prepared with
    /// (`object`, `oldObject`), for a caller that lent them and still needs them.
    pub fn into_objects(self) -> (Value, Value) {
        let mut root = self.ctx.into_root();
        match root.get_mut("request").and_then(Value::as_object_mut) {
            Some(request) => (
                request.remove("object").unwrap_or_default(),
                request.remove("oldObject").unwrap_or_default(),
            ),
            None => (Value::Null, Value::Null),
        }
    }

    /// Sets a variable for every policy evaluated on this request (values a caller supplies,
    /// such as the CLI's values file), as [`EvalContext::set`] does.
    pub fn set(&mut self, name: &str, value: Value) {
        self.ctx.set(name, value);
    }
}

fn service_account(username: &str) -> Option<(&str, &str)> {
    username
        .strip_prefix("system:serviceaccount:")?
        .split_once(':')
}

/// Where the containers of each Pod-bearing kind live.
pub fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        "Deployment"
        | "DaemonSet"
        | "StatefulSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => Some("/spec/template/spec"),
        _ => None,
    }
}

/// Kyverno's `images` variable: image details per container kind and container name.
pub fn images_of(resource: &Value) -> Option<Value> {
    let kind = resource.get("kind")?.as_str()?;
    let base = pod_spec_pointer(kind)?;
    let spec = resource.pointer(base)?;
    let cfg = ImageConfig::default();
    let mut out = Map::new();
    for field in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(list) = spec.get(field).and_then(Value::as_array) else {
            continue;
        };
        let mut by_name = Map::new();
        for (i, c) in list.iter().enumerate() {
            let (Some(name), Some(img)) = (
                c.get("name").and_then(Value::as_str),
                c.get("image").and_then(Value::as_str),
            ) else {
                continue;
            };
            let Ok(info) = image::parse(img, &cfg) else {
                continue;
            };
            let mut entry = Map::new();
            entry.insert("registry".into(), Value::String(info.registry));
            entry.insert("name".into(), Value::String(info.name));
            entry.insert("path".into(), Value::String(info.path));
            entry.insert("tag".into(), Value::String(info.tag));
            if !info.digest.is_empty() {
                entry.insert("digest".into(), Value::String(info.digest));
            }
            entry.insert("reference".into(), Value::String(info.reference));
            entry.insert(
                "referenceWithTag".into(),
                Value::String(info.reference_with_tag),
            );
            entry.insert(
                "jsonPointer".into(),
                Value::String(format!("{base}/{field}/{i}/image")),
            );
            by_name.insert(name.to_string(), Value::Object(entry));
        }
        if !by_name.is_empty() {
            out.insert(field.to_string(), Value::Object(by_name));
        }
    }
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_as_serde_gives_it() {
        let mut user = palisade_api::cli::UserInfo::default();
        assert_eq!(user_info_value(&user), serde_json::to_value(&user).unwrap());
        user.username = "system:serviceaccount:ns:sa".into();
        user.groups = vec!["g".into()];
        assert_eq!(user_info_value(&user), serde_json::to_value(&user).unwrap());
    }

    #[test]
    fn admission_fields_are_kept_and_overridden_as_before() {
        let mut request = Request::create(json!({"kind": "Pod", "metadata": {"namespace": "a"}}));
        request.admission.insert("uid".into(), json!("1"));
        request
            .admission
            .insert("operation".into(), json!("UPDATE"));
        let ctx = PreparedRequest::new(request.clone()).ctx;
        let r = &ctx.root()["request"];
        assert_eq!(
            (&r["uid"], &r["operation"], &r["namespace"]),
            (&json!("1"), &json!("CREATE"), &json!("a"))
        );
        request.admission.insert("namespace".into(), json!("b"));
        let ctx = PreparedRequest::new(request).ctx;
        assert_eq!(ctx.root()["request"]["namespace"], json!("b"));
    }
}
