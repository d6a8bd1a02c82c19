//! Finding the pod in a resource: a Pod itself or the template of a Pod controller, exactly
//! where Kyverno's `getSpec` (validate_pss.go) looks.

use serde_json::Value;

use crate::error::Error;
use crate::model::{Pod, decode_pod};

static NULL: Value = Value::Null;

/// How a kind wraps its pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrapper {
    /// `metadata` and `spec` of the resource itself.
    Pod,
    /// `spec.template.{metadata,spec}`.
    Template,
    /// CronJob: `spec.jobTemplate.metadata` (Kyverno reads the job template's metadata, not
    /// the pod template's) and `spec.jobTemplate.spec.template.spec`.
    CronJob,
}

fn wrapper(kind: &str) -> Option<Wrapper> {
    match kind {
        "Pod" => Some(Wrapper::Pod),
        "DaemonSet"
        | "Deployment"
        | "Job"
        | "StatefulSet"
        | "ReplicaSet"
        | "ReplicationController" => Some(Wrapper::Template),
        "CronJob" => Some(Wrapper::CronJob),
        _ => None,
    }
}

/// The resource's `kind`, or `""` when it is not a string (unstructured `GetKind`).
pub(crate) fn kind(resource: &Value) -> &str {
    resource.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// Where the metadata and spec sit, as dotted paths and key sequences.
fn locations(
    w: Wrapper,
) -> (
    [&'static str; 3],
    [&'static str; 5],
    &'static str,
    &'static str,
) {
    match w {
        Wrapper::Pod => (
            ["metadata", "", ""],
            ["spec", "", "", "", ""],
            "metadata",
            "spec",
        ),
        Wrapper::Template => (
            ["spec", "template", "metadata"],
            ["spec", "template", "spec", "", ""],
            "spec.template.metadata",
            "spec.template.spec",
        ),
        Wrapper::CronJob => (
            ["spec", "jobTemplate", "metadata"],
            ["spec", "jobTemplate", "spec", "template", "spec"],
            "spec.jobTemplate.metadata",
            "spec.jobTemplate.spec.template.spec",
        ),
    }
}

/// Follows `keys` (ignoring empty ones); an absent or null step yields null, a non-object
/// step is a decode error (Go's decoder rejects it).
fn walk<'a>(resource: &'a Value, keys: &[&'static str]) -> Result<&'a Value, Error> {
    let mut at = resource;
    let mut path = String::new();
    for key in keys.iter().filter(|k| !k.is_empty()) {
        let next = match at {
            Value::Null => return Ok(&NULL),
            Value::Object(map) => map.get(*key).unwrap_or(&NULL),
            other => {
                return Err(Error::Decode {
                    path: if path.is_empty() {
                        "<resource>".into()
                    } else {
                        path
                    },
                    expected: "object",
                    found: json_kind(other),
                });
            }
        };
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        at = next;
    }
    Ok(at)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The pod's `metadata` and `spec` inside `resource`, or `None` when the kind is not a Pod or
/// a Pod controller, or a wrapping field is not an object. Absent parts are `null`.
pub fn extract_pod_spec(resource: &Value) -> Option<(&Value, &Value)> {
    let (meta_keys, spec_keys, _, _) = locations(wrapper(kind(resource))?);
    Some((
        walk(resource, &meta_keys).ok()?,
        walk(resource, &spec_keys).ok()?,
    ))
}

/// Decodes the pod of `resource` (see [`extract_pod_spec`]).
pub(crate) fn decode_resource(resource: &Value) -> Result<Pod<'_>, Error> {
    let kind = kind(resource);
    let w = wrapper(kind).ok_or_else(|| Error::UnsupportedKind(kind.to_string()))?;
    let (meta_keys, spec_keys, meta_path, spec_path) = locations(w);
    let meta = walk(resource, &meta_keys)?;
    let spec = walk(resource, &spec_keys)?;
    decode_pod(meta, spec, meta_path, spec_path)
}

/// A pod-relative field path as Kyverno reports it for a resource of `kind` (its
/// `convertChecks`): controllers replace every `spec` with `spec.template.spec` (CronJob:
/// `spec.jobTemplate.spec.template.spec`), then every kind replaces `metadata` with
/// `spec.template.metadata`, Pods included.
pub fn report_field(kind: &str, field: &str) -> String {
    let field = match wrapper(kind) {
        Some(Wrapper::Template) => field.replace("spec", "spec.template.spec"),
        Some(Wrapper::CronJob) => field.replace("spec", "spec.jobTemplate.spec.template.spec"),
        _ => field.to_string(),
    };
    field.replace("metadata", "spec.template.metadata")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn extracts_each_kind() {
        let template = json!({"metadata": {"name": "t"}, "spec": {"hostPID": true}});
        for kind in [
            "Deployment",
            "DaemonSet",
            "StatefulSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
        ] {
            let r = json!({"kind": kind, "metadata": {"name": "outer"}, "spec": {"template": template}});
            let (meta, spec) = extract_pod_spec(&r).unwrap();
            assert_eq!(meta, &json!({"name": "t"}), "{kind}");
            assert_eq!(spec, &json!({"hostPID": true}), "{kind}");
        }
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {
            "metadata": {"name": "job"},
            "spec": {"template": template}
        }}});
        let (meta, spec) = extract_pod_spec(&cron).unwrap();
        assert_eq!(meta, &json!({"name": "job"}));
        assert_eq!(spec, &json!({"hostPID": true}));
        let pod = json!({"kind": "Pod", "spec": {"hostIPC": true}});
        let (meta, spec) = extract_pod_spec(&pod).unwrap();
        assert!(meta.is_null());
        assert_eq!(spec, &json!({"hostIPC": true}));
    }

    #[test]
    fn unsupported_and_malformed() {
        assert!(extract_pod_spec(&json!({"kind": "Service"})).is_none());
        assert!(extract_pod_spec(&json!({"kind": "pod"})).is_none());
        assert!(extract_pod_spec(&json!({"kind": 1})).is_none());
        assert!(extract_pod_spec(&json!({"kind": "Deployment", "spec": []})).is_none());
        let missing = json!({"kind": "Deployment"});
        let (meta, spec) = extract_pod_spec(&missing).unwrap();
        assert!(meta.is_null() && spec.is_null());
        assert_eq!(
            decode_resource(&json!({"kind": "Service"})).unwrap_err(),
            Error::UnsupportedKind("Service".into())
        );
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": "x"}});
        let err = decode_resource(&cron).unwrap_err();
        assert!(
            matches!(err, Error::Decode { ref path, .. } if path == "spec.jobTemplate"),
            "{err:?}"
        );
        let job = json!({"kind": "Job", "spec": {"template": {"spec": {"hostPID": 1}}}});
        let err = decode_resource(&job).unwrap_err();
        assert!(
            matches!(err, Error::Decode { ref path, .. } if path == "spec.template.spec.hostPID"),
            "{err:?}"
        );
    }

    #[test]
    fn report_fields_follow_convert_checks() {
        let table = [
            (
                "Pod",
                "spec.containers[0].securityContext.privileged",
                "spec.containers[0].securityContext.privileged",
            ),
            (
                "Deployment",
                "spec.hostNetwork",
                "spec.template.spec.hostNetwork",
            ),
            (
                "CronJob",
                "spec.volumes[0].hostPath",
                "spec.jobTemplate.spec.template.spec.volumes[0].hostPath",
            ),
            (
                "Pod",
                "metadata.annotations[container.apparmor.security.beta.kubernetes.io/a]",
                "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/a]",
            ),
            (
                "Job",
                "metadata.annotations[container.apparmor.security.beta.kubernetes.io/inspector]",
                "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/inspec.template.spector]",
            ),
        ];
        for (kind, field, want) in table {
            assert_eq!(report_field(kind, field), want, "{kind} {field}");
        }
    }
}
