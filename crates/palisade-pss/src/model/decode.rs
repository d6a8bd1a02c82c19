//! JSON → [`Pod`] with Go `encoding/json` semantics (see the parent module).

use serde_json::{Map, Value};

use super::{
    Capabilities, Container, Handler, Meta, Pod, PodSecurityContext, SeLinuxOptions,
    SecurityContext, Spec, VOLUME_SOURCES, Volume,
};
use crate::error::Error;

type Result<T> = std::result::Result<T, Error>;

/// Decodes a pod from its `metadata` and `spec` values; `prefix` names where the spec sits in
/// the resource (`spec`, `spec.template.spec`, ...) for error messages.
pub fn decode_pod<'a>(
    metadata: &'a Value,
    spec: &'a Value,
    meta_prefix: &str,
    spec_prefix: &str,
) -> Result<Pod<'a>> {
    let meta = decode_meta(metadata, &Path::root(meta_prefix))?;
    let spec = decode_spec(spec, &Path::root(spec_prefix))?;
    Ok(Pod { meta, spec })
}

/// A field path, rendered only when an error needs it.
struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    segment: Segment<'p>,
}

enum Segment<'p> {
    Root(&'p str),
    Key(&'p str),
    Index(usize),
}

impl<'p> Path<'p> {
    fn root(name: &'p str) -> Self {
        Path {
            parent: None,
            segment: Segment::Root(name),
        }
    }

    fn key(&'p self, key: &'p str) -> Path<'p> {
        Path {
            parent: Some(self),
            segment: Segment::Key(key),
        }
    }

    fn index(&'p self, index: usize) -> Path<'p> {
        Path {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }

    fn render(&self) -> String {
        let mut out = self.parent.map(Path::render).unwrap_or_default();
        match self.segment {
            Segment::Root(name) => out.push_str(name),
            Segment::Key(key) if out.is_empty() => out.push_str(key),
            Segment::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
        out
    }

    fn mismatch(&self, expected: &'static str, found: &Value) -> Error {
        Error::Decode {
            path: self.render(),
            expected,
            found: json_type(found),
        }
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The struct field a JSON key decodes into: an exact match, else a case-insensitive one.
fn field_name(key: &str, names: &[&'static str]) -> Option<&'static str> {
    names
        .iter()
        .find(|n| **n == key)
        .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(key)))
        .copied()
}

fn object<'a>(value: &'a Value, path: &Path) -> Result<Option<&'a Map<String, Value>>> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        other => Err(path.mismatch("object", other)),
    }
}

/// Calls `f` for every non-null key of `value` that names one of `names`.
fn each_field<'a>(
    value: &'a Value,
    path: &Path,
    names: &[&'static str],
    mut f: impl FnMut(&'static str, &'a Value, &Path) -> Result<()>,
) -> Result<()> {
    let Some(map) = object(value, path)? else {
        return Ok(());
    };
    for (key, field) in map {
        if field.is_null() {
            continue;
        }
        if let Some(name) = field_name(key, names) {
            f(name, field, &path.key(name))?;
        }
    }
    Ok(())
}

fn each_item<'a>(
    value: &'a Value,
    path: &Path,
    mut f: impl FnMut(&'a Value, &Path) -> Result<()>,
) -> Result<()> {
    match value {
        Value::Null => Ok(()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| f(item, &path.index(i))),
        other => Err(path.mismatch("array", other)),
    }
}

fn boolean(value: &Value, path: &Path) -> Result<bool> {
    value.as_bool().ok_or_else(|| path.mismatch("bool", value))
}

fn string<'a>(value: &'a Value, path: &Path) -> Result<&'a str> {
    match value {
        // A null string leaves Go's zero value.
        Value::Null => Ok(""),
        Value::String(s) => Ok(s),
        other => Err(path.mismatch("string", other)),
    }
}

fn int64(value: &Value, path: &Path) -> Result<i64> {
    value.as_i64().ok_or_else(|| path.mismatch("int64", value))
}

fn int32(value: &Value, path: &Path) -> Result<i32> {
    match value {
        // A null element leaves Go's zero value.
        Value::Null => Ok(0),
        _ => value
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| path.mismatch("int32", value)),
    }
}

fn strings<'a>(value: &'a Value, path: &Path) -> Result<Vec<&'a str>> {
    let mut out = Vec::new();
    each_item(value, path, |item, p| {
        out.push(string(item, p)?);
        Ok(())
    })?;
    Ok(out)
}

fn decode_meta<'a>(value: &'a Value, path: &Path) -> Result<Meta<'a>> {
    let mut meta = Meta::default();
    each_field(value, path, &["annotations"], |_, field, p| {
        let Some(map) = object(field, p)? else {
            return Ok(());
        };
        for (key, v) in map {
            meta.annotations
                .push((key.as_str(), string(v, &p.key(key))?));
        }
        Ok(())
    })?;
    Ok(meta)
}

const SPEC_FIELDS: &[&str] = &[
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostUsers",
    "os",
    "securityContext",
    "initContainers",
    "containers",
    "ephemeralContainers",
    "volumes",
];

fn decode_spec<'a>(value: &'a Value, path: &Path) -> Result<Spec<'a>> {
    let mut spec = Spec::default();
    each_field(value, path, SPEC_FIELDS, |name, field, p| {
        match name {
            "hostNetwork" => spec.host_network = boolean(field, p)?,
            "hostPID" => spec.host_pid = boolean(field, p)?,
            "hostIPC" => spec.host_ipc = boolean(field, p)?,
            "hostUsers" => spec.host_users = Some(boolean(field, p)?),
            "os" => spec.os_name = Some(decode_os(field, p)?),
            "securityContext" => {
                spec.security_context = Some(decode_pod_security_context(field, p)?)
            }
            "initContainers" => spec.init_containers = decode_containers(field, p)?,
            "containers" => spec.containers = decode_containers(field, p)?,
            "ephemeralContainers" => spec.ephemeral_containers = decode_containers(field, p)?,
            _ => spec.volumes = decode_volumes(field, p)?,
        }
        Ok(())
    })?;
    Ok(spec)
}

fn decode_os<'a>(value: &'a Value, path: &Path) -> Result<&'a str> {
    let mut name = "";
    each_field(value, path, &["name"], |_, field, p| {
        name = string(field, p)?;
        Ok(())
    })?;
    Ok(name)
}

/// Decodes `{type: ...}` (seccompProfile, appArmorProfile) to its type.
fn decode_profile_type<'a>(value: &'a Value, path: &Path) -> Result<&'a str> {
    let mut type_ = "";
    each_field(value, path, &["type"], |_, field, p| {
        type_ = string(field, p)?;
        Ok(())
    })?;
    Ok(type_)
}

fn decode_se_linux<'a>(value: &'a Value, path: &Path) -> Result<SeLinuxOptions<'a>> {
    let mut options = SeLinuxOptions::default();
    each_field(value, path, &["user", "role", "type"], |name, field, p| {
        let text = string(field, p)?;
        match name {
            "user" => options.user = text,
            "role" => options.role = text,
            _ => options.type_ = text,
        }
        Ok(())
    })?;
    Ok(options)
}

fn decode_host_process(value: &Value, path: &Path) -> Result<Option<bool>> {
    let mut host_process = None;
    each_field(value, path, &["hostProcess"], |_, field, p| {
        host_process = Some(boolean(field, p)?);
        Ok(())
    })?;
    Ok(host_process)
}

const POD_SECURITY_CONTEXT_FIELDS: &[&str] = &[
    "runAsUser",
    "runAsNonRoot",
    "seLinuxOptions",
    "seccompProfile",
    "appArmorProfile",
    "sysctls",
    "windowsOptions",
];

fn decode_pod_security_context<'a>(
    value: &'a Value,
    path: &Path,
) -> Result<PodSecurityContext<'a>> {
    let mut sc = PodSecurityContext::default();
    each_field(
        value,
        path,
        POD_SECURITY_CONTEXT_FIELDS,
        |name, field, p| {
            match name {
                "runAsUser" => sc.run_as_user = Some(int64(field, p)?),
                "runAsNonRoot" => sc.run_as_non_root = Some(boolean(field, p)?),
                "seLinuxOptions" => sc.se_linux = Some(decode_se_linux(field, p)?),
                "seccompProfile" => sc.seccomp_type = Some(decode_profile_type(field, p)?),
                "appArmorProfile" => sc.app_armor_type = Some(decode_profile_type(field, p)?),
                "sysctls" => sc.sysctls = decode_sysctls(field, p)?,
                _ => sc.host_process = decode_host_process(field, p)?,
            }
            Ok(())
        },
    )?;
    Ok(sc)
}

fn decode_sysctls<'a>(value: &'a Value, path: &Path) -> Result<Vec<&'a str>> {
    let mut names = Vec::new();
    each_item(value, path, |item, p| {
        let mut name = "";
        each_field(item, p, &["name"], |_, field, p| {
            name = string(field, p)?;
            Ok(())
        })?;
        names.push(name);
        Ok(())
    })?;
    Ok(names)
}

const CONTAINER_FIELDS: &[&str] = &[
    "name",
    "image",
    "ports",
    "securityContext",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
];

fn decode_containers<'a>(value: &'a Value, path: &Path) -> Result<Vec<Container<'a>>> {
    let mut containers = Vec::new();
    each_item(value, path, |item, p| {
        containers.push(decode_container(item, p)?);
        Ok(())
    })?;
    Ok(containers)
}

fn decode_container<'a>(value: &'a Value, path: &Path) -> Result<Container<'a>> {
    let mut c = Container::default();
    each_field(value, path, CONTAINER_FIELDS, |name, field, p| {
        match name {
            "name" => c.name = string(field, p)?,
            "image" => c.image = string(field, p)?,
            "ports" => c.host_ports = decode_host_ports(field, p)?,
            "securityContext" => c.security_context = Some(decode_security_context(field, p)?),
            "livenessProbe" => c.probes[0] = Some(decode_handler(field, p)?),
            "readinessProbe" => c.probes[1] = Some(decode_handler(field, p)?),
            "startupProbe" => c.probes[2] = Some(decode_handler(field, p)?),
            _ => c.lifecycle = decode_lifecycle(field, p)?,
        }
        Ok(())
    })?;
    Ok(c)
}

fn decode_host_ports(value: &Value, path: &Path) -> Result<Vec<i32>> {
    let mut ports = Vec::new();
    each_item(value, path, |item, p| {
        let mut host_port = 0;
        each_field(item, p, &["hostPort"], |_, field, p| {
            host_port = int32(field, p)?;
            Ok(())
        })?;
        ports.push(host_port);
        Ok(())
    })?;
    Ok(ports)
}

const SECURITY_CONTEXT_FIELDS: &[&str] = &[
    "privileged",
    "allowPrivilegeEscalation",
    "capabilities",
    "runAsUser",
    "runAsNonRoot",
    "seLinuxOptions",
    "seccompProfile",
    "appArmorProfile",
    "procMount",
    "windowsOptions",
];

fn decode_security_context<'a>(value: &'a Value, path: &Path) -> Result<SecurityContext<'a>> {
    let mut sc = SecurityContext::default();
    each_field(value, path, SECURITY_CONTEXT_FIELDS, |name, field, p| {
        match name {
            "privileged" => sc.privileged = Some(boolean(field, p)?),
            "allowPrivilegeEscalation" => sc.allow_privilege_escalation = Some(boolean(field, p)?),
            "capabilities" => sc.capabilities = Some(decode_capabilities(field, p)?),
            "runAsUser" => sc.run_as_user = Some(int64(field, p)?),
            "runAsNonRoot" => sc.run_as_non_root = Some(boolean(field, p)?),
            "seLinuxOptions" => sc.se_linux = Some(decode_se_linux(field, p)?),
            "seccompProfile" => sc.seccomp_type = Some(decode_profile_type(field, p)?),
            "appArmorProfile" => sc.app_armor_type = Some(decode_profile_type(field, p)?),
            "procMount" => sc.proc_mount = Some(string(field, p)?),
            _ => sc.host_process = decode_host_process(field, p)?,
        }
        Ok(())
    })?;
    Ok(sc)
}

fn decode_capabilities<'a>(value: &'a Value, path: &Path) -> Result<Capabilities<'a>> {
    let mut caps = Capabilities::default();
    each_field(value, path, &["add", "drop"], |name, field, p| {
        let list = strings(field, p)?;
        if name == "add" {
            caps.add = list;
        } else {
            caps.drop = list;
        }
        Ok(())
    })?;
    Ok(caps)
}

fn decode_lifecycle<'a>(value: &'a Value, path: &Path) -> Result<[Option<Handler<'a>>; 2]> {
    let mut hooks = [None, None];
    each_field(value, path, &["postStart", "preStop"], |name, field, p| {
        let slot = usize::from(name == "preStop");
        if let Some(hook) = hooks.get_mut(slot) {
            *hook = Some(decode_handler(field, p)?);
        }
        Ok(())
    })?;
    Ok(hooks)
}

fn decode_handler<'a>(value: &'a Value, path: &Path) -> Result<Handler<'a>> {
    let mut handler = Handler::default();
    each_field(value, path, &["httpGet", "tcpSocket"], |name, field, p| {
        let mut host = "";
        each_field(field, p, &["host"], |_, h, p| {
            host = string(h, p)?;
            Ok(())
        })?;
        if name == "httpGet" {
            handler.http_get_host = Some(host);
        } else {
            handler.tcp_socket_host = Some(host);
        }
        Ok(())
    })?;
    Ok(handler)
}

fn decode_volumes<'a>(value: &'a Value, path: &Path) -> Result<Vec<Volume<'a>>> {
    let mut volumes = Vec::new();
    each_item(value, path, |item, p| {
        volumes.push(decode_volume(item, p)?);
        Ok(())
    })?;
    Ok(volumes)
}

/// `name` followed by every volume source.
const VOLUME_FIELDS: [&str; 31] = {
    let mut fields = [""; 31];
    fields[0] = "name";
    let mut i = 0;
    while i < VOLUME_SOURCES.len() {
        fields[i + 1] = VOLUME_SOURCES[i];
        i += 1;
    }
    fields
};

fn decode_volume<'a>(value: &'a Value, path: &Path) -> Result<Volume<'a>> {
    let mut volume = Volume::default();
    each_field(value, path, &VOLUME_FIELDS, |name, field, p| {
        if name == "name" {
            volume.name = string(field, p)?;
            return Ok(());
        }
        // Every source is a pointer to a struct: it must be an object.
        object(field, p)?;
        if let Some(bit) = VOLUME_SOURCES.iter().position(|s| *s == name) {
            volume.sources |= 1 << bit;
        }
        if name == "hostPath" {
            let mut host_path = "";
            each_field(field, p, &["path"], |_, f, p| {
                host_path = string(f, p)?;
                Ok(())
            })?;
            volume.host_path = Some(host_path);
        }
        Ok(())
    })?;
    Ok(volume)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(spec: Value) -> Result<Pod<'static>> {
        let spec: &'static Value = Box::leak(Box::new(spec));
        decode_pod(&Value::Null, spec, "metadata", "spec")
    }

    #[test]
    fn absent_and_null_fields_are_zero_values() {
        let p = pod(json!({"hostPID": null, "containers": [null, {"name": "a"}]})).unwrap();
        assert!(!p.spec.host_pid);
        assert_eq!(p.spec.containers.len(), 2);
        assert_eq!(p.spec.containers.first().unwrap().name, "");
        assert_eq!(pod(json!(null)).unwrap(), Pod::default());
    }

    #[test]
    fn keys_match_case_insensitively_like_encoding_json() {
        let p = pod(json!({"HOSTPID": true, "Containers": [{"NAME": "x"}]})).unwrap();
        assert!(p.spec.host_pid);
        assert_eq!(p.spec.containers.first().unwrap().name, "x");
    }

    #[test]
    fn wrong_types_are_errors_with_paths() {
        let table = [
            (json!({"hostPID": "true"}), "spec.hostPID", "bool"),
            (json!({"containers": {}}), "spec.containers", "array"),
            (
                json!({"containers": [{"ports": [{"hostPort": 1.5}]}]}),
                "spec.containers[0].ports[0].hostPort",
                "int32",
            ),
            (
                json!({"containers": [{"ports": [{"hostPort": 4294967296u64}]}]}),
                "spec.containers[0].ports[0].hostPort",
                "int32",
            ),
            (
                json!({"securityContext": {"runAsUser": "0"}}),
                "spec.securityContext.runAsUser",
                "int64",
            ),
            (
                json!({"volumes": [{"hostPath": "/"}]}),
                "spec.volumes[0].hostPath",
                "object",
            ),
            (json!([]), "spec", "object"),
        ];
        for (spec, path, expected) in table {
            match pod(spec) {
                Err(Error::Decode {
                    path: p,
                    expected: e,
                    ..
                }) => {
                    assert_eq!((p.as_str(), e), (path, expected));
                }
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn volumes_record_their_sources() {
        let p = pod(json!({"volumes": [
            {"name": "h", "hostPath": {"path": "/"}, "emptyDir": {}},
            {"name": "n", "nfs": null, "unknownSource": {}}
        ]}))
        .unwrap();
        let h = p.spec.volumes.first().unwrap();
        assert!(h.has("hostPath") && h.has("emptyDir") && !h.has("nfs"));
        assert_eq!(h.host_path, Some("/"));
        assert_eq!(p.spec.volumes.get(1).unwrap().sources, 0);
    }

    #[test]
    fn annotations_must_be_strings() {
        let meta = json!({"annotations": {"a": 1}});
        let err = decode_pod(&meta, &Value::Null, "metadata", "spec").unwrap_err();
        assert!(err.to_string().contains("metadata.annotations.a"), "{err}");
    }
}
