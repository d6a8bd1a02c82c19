//! The documents CEL expressions see besides the object: the admission `request` (as
//! Kubernetes' `CreateAdmissionRequest` builds it) and `namespaceObject`.

use serde_json::{Map, Value, json};

use super::gvr;

/// What the admission request says about the resource, independent of its source.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: String,
    /// The new object (null for DELETE).
    pub object: Value,
    /// The old object (null for CREATE).
    pub old_object: Value,
    /// The requester (`username`, `uid`, `groups`, `extra`), as JSON.
    pub user_info: Value,
    /// The subresource, or "".
    pub sub_resource: String,
    /// True for a dry run.
    pub dry_run: bool,
}

impl Attributes {
    /// The resource the request is about: the object, or the old object for DELETE.
    pub fn resource(&self) -> &Value {
        if self.object.is_null() || self.object.as_object().is_some_and(Map::is_empty) {
            &self.old_object
        } else {
            &self.object
        }
    }

    /// `(group, version, kind)` of the resource.
    pub fn gvk(&self) -> (String, String, String) {
        let r = self.resource();
        let api_version = r.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let (g, v) = gvr::split_api_version(api_version);
        let kind = r.get("kind").and_then(Value::as_str).unwrap_or("");
        (g.to_string(), v.to_string(), kind.to_string())
    }

    /// The resource's namespace ("" for cluster-scoped resources and Namespaces themselves).
    pub fn namespace(&self) -> String {
        self.resource()
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }

    /// The resource's name.
    pub fn name(&self) -> String {
        self.resource()
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }

    /// The `request` variable: an `AdmissionRequest` as JSON, empty fields omitted as Go does.
    pub fn request(&self) -> Value {
        let mut req = self.request_fields();
        if let Some(m) = req.as_object_mut() {
            if !self.object.is_null() {
                m.insert("object".into(), self.object.clone());
            }
            if !self.old_object.is_null() {
                m.insert("oldObject".into(), self.old_object.clone());
            }
        }
        req
    }

    /// [`Attributes::request`] without `object` and `oldObject`, for callers that add the
    /// objects in another form.
    pub fn request_fields(&self) -> Value {
        let (group, version, kind) = self.gvk();
        let resource = gvr::resource_for(&group, &kind);
        let gvk = json!({"group": group, "version": version, "kind": kind});
        let gvr = json!({"group": group, "version": version, "resource": resource});
        let mut req = Map::new();
        req.insert("uid".into(), json!(""));
        req.insert("kind".into(), gvk.clone());
        req.insert("resource".into(), gvr.clone());
        req.insert("requestKind".into(), gvk);
        req.insert("requestResource".into(), gvr);
        if !self.sub_resource.is_empty() {
            req.insert("subResource".into(), json!(self.sub_resource));
            req.insert("requestSubResource".into(), json!(self.sub_resource));
        }
        let name = self.name();
        if !name.is_empty() {
            req.insert("name".into(), json!(name));
        }
        let ns = self.namespace();
        if !ns.is_empty() {
            req.insert("namespace".into(), json!(ns));
        }
        req.insert("operation".into(), json!(self.operation));
        let user = match &self.user_info {
            Value::Object(_) => self.user_info.clone(),
            _ => json!({}),
        };
        req.insert("userInfo".into(), user);
        req.insert("dryRun".into(), json!(self.dry_run));
        Value::Object(req)
    }
}

/// The `namespaceObject` variable for a namespace with these labels: Kubernetes keeps only
/// metadata, spec and status of the Namespace.
pub fn namespace_object(name: &str, labels: Option<&Map<String, Value>>) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), json!(name));
    if let Some(l) = labels.filter(|l| !l.is_empty()) {
        meta.insert("labels".into(), Value::Object(l.clone()));
    }
    json!({"metadata": meta, "spec": {}, "status": {}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_carries_kind_resource_and_user() {
        let attrs = Attributes {
            operation: "CREATE".into(),
            object: json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "prod"}}),
            user_info: json!({"username": "alice"}),
            ..Attributes::default()
        };
        let r = attrs.request();
        assert_eq!(r["resource"]["resource"], "deployments");
        assert_eq!(r["kind"]["group"], "apps");
        assert_eq!(r["namespace"], "prod");
        assert_eq!(r["userInfo"]["username"], "alice");
        assert!(r.get("oldObject").is_none());
        assert!(r.get("subResource").is_none());
    }

    #[test]
    fn delete_requests_describe_the_old_object() {
        let attrs = Attributes {
            operation: "DELETE".into(),
            old_object: json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
            ..Attributes::default()
        };
        assert_eq!(attrs.request()["resource"]["resource"], "pods");
        assert_eq!(attrs.name(), "p");
        assert!(attrs.request().get("object").is_none());
    }

    #[test]
    fn namespace_object_keeps_labels() {
        let labels: Map<String, Value> = [("env".to_string(), json!("prod"))].into_iter().collect();
        let ns = namespace_object("prod", Some(&labels));
        assert_eq!(ns["metadata"]["labels"]["env"], "prod");
        assert!(
            namespace_object("x", None)["metadata"]
                .get("labels")
                .is_none()
        );
    }
}
