//! Host Namespaces (baseline): `hostNetwork`, `hostPID` and `hostIPC` must not be `true`.

use super::helpers::{Violation, Violations};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `hostNamespaces`.
pub(crate) struct HostNamespaces;

static VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(0, v1_0)];

impl Check for HostNamespaces {
    fn id(&self) -> &'static str {
        "hostNamespaces"
    }
    fn control(&self) -> &'static str {
        "Host Namespaces"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Sharing the host namespaces must be disallowed: spec.hostNetwork, spec.hostPID and \
         spec.hostIPC must be false or undefined."
    }
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    let spec = &pod.spec;
    let mut bad = Violations::default();
    for (set, name) in [
        (spec.host_network, "hostNetwork"),
        (spec.host_pid, "hostPID"),
        (spec.host_ipc, "hostIPC"),
    ] {
        if set {
            let error = FieldError::forbidden(format!("spec.{name}"), BadValue::Bool(true));
            bad.add(format!("{name}=true"), [error]);
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "host namespaces",
        detail: bad.data.join(", "),
        errors: bad.errors,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn table() {
        for spec in [
            json!({}),
            json!({"hostNetwork": false, "hostPID": false, "hostIPC": false}),
        ] {
            assert!(run(v1_0, json!({}), spec).is_none());
        }
        let got = render(&run(v1_0, json!({}), json!({"hostIPC": true}))).unwrap();
        assert_eq!(got.1, "hostIPC=true");
        assert_eq!(
            render(&run(
                v1_0,
                json!({}),
                json!({"hostNetwork": true, "hostPID": true, "hostIPC": true})
            )),
            Some((
                "host namespaces".into(),
                "hostNetwork=true, hostPID=true, hostIPC=true".into(),
                vec![
                    "spec.hostNetwork is forbidden, forbidden values found: true".into(),
                    "spec.hostPID is forbidden, forbidden values found: true".into(),
                    "spec.hostIPC is forbidden, forbidden values found: true".into(),
                ]
            ))
        );
    }
}
