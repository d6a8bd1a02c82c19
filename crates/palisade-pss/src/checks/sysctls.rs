//! Sysctls (baseline): only the safe sysctls may be set; the safe list grows by version.

use super::helpers::{Violation, Violations};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `sysctls`.
pub(crate) struct Sysctls;

static VERSIONS: [VersionedCheck; 4] = [
    VersionedCheck::new(0, v1_0),
    VersionedCheck::new(27, v1_27),
    VersionedCheck::new(29, v1_29),
    VersionedCheck::new(32, v1_32),
];

/// The safe sysctls, each with the version that allowed it.
const SAFE: [(&str, u32); 12] = [
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
];

impl Check for Sysctls {
    fn id(&self) -> &'static str {
        "sysctls"
    }
    fn control(&self) -> &'static str {
        "Sysctls"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Only safe sysctls may be set in spec.securityContext.sysctls[*].name: \
         kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, \
         net.ipv4.ping_group_range, net.ipv4.ip_unprivileged_port_start; from v1.27 \
         net.ipv4.ip_local_reserved_ports; from v1.29 net.ipv4.tcp_keepalive_time, \
         net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes; \
         from v1.32 net.ipv4.tcp_rmem and net.ipv4.tcp_wmem."
    }
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    check(pod, 0)
}

fn v1_27(pod: &Pod<'_>) -> Option<Violation> {
    check(pod, 27)
}

fn v1_29(pod: &Pod<'_>) -> Option<Violation> {
    check(pod, 29)
}

fn v1_32(pod: &Pod<'_>) -> Option<Violation> {
    check(pod, 32)
}

fn safe(name: &str, minor: u32) -> bool {
    SAFE.iter().any(|(s, since)| *s == name && *since <= minor)
}

fn check(pod: &Pod<'_>, minor: u32) -> Option<Violation> {
    let sysctls = pod
        .spec
        .security_context
        .as_ref()
        .map(|sc| sc.sysctls.as_slice())?;
    let mut bad = Violations::default();
    for (i, name) in sysctls.iter().enumerate() {
        if !safe(name, minor) {
            let field = format!("spec.securityContext.sysctls[{i}].name");
            bad.add(
                *name,
                [FieldError::forbidden(field, BadValue::Str((*name).into()))],
            );
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "forbidden sysctls",
        detail: bad.data.join(", "),
        errors: bad.errors,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    fn with(names: &[&str]) -> serde_json::Value {
        let sysctls: Vec<_> = names
            .iter()
            .map(|n| json!({"name": n, "value": "1"}))
            .collect();
        json!({"securityContext": {"sysctls": sysctls}})
    }

    #[test]
    fn allow_list_grows_by_version() {
        let table: [(&str, [bool; 4]); 4] = [
            ("kernel.shm_rmid_forced", [true, true, true, true]),
            (
                "net.ipv4.ip_local_reserved_ports",
                [false, true, true, true],
            ),
            ("net.ipv4.tcp_keepalive_time", [false, false, true, true]),
            ("net.ipv4.tcp_wmem", [false, false, false, true]),
        ];
        let fns = [v1_0, v1_27, v1_29, v1_32];
        for (name, allowed) in table {
            for (f, ok) in fns.iter().zip(allowed) {
                assert_eq!(run(*f, json!({}), with(&[name])).is_none(), ok, "{name}");
            }
        }
    }

    #[test]
    fn forbidden() {
        assert_eq!(
            render(&run(
                v1_32,
                json!({}),
                with(&["a", "kernel.shm_rmid_forced", "b"])
            )),
            Some((
                "forbidden sysctls".into(),
                "a, b".into(),
                vec![
                    "spec.securityContext.sysctls[0].name is forbidden, forbidden values found: a"
                        .into(),
                    "spec.securityContext.sysctls[2].name is forbidden, forbidden values found: b"
                        .into(),
                ]
            ))
        );
    }
}
