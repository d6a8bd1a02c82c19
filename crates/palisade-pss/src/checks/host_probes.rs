//! Host Probes / Lifecycle Hooks (baseline, from v1.34): probes and lifecycle handlers must not
//! set a `host`.

use super::helpers::{Violation, insert_sorted, join_quote, pluralize, visit_containers};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::{Handler, Pod};

/// Upstream `hostProbesAndHostLifecycle`.
pub(crate) struct HostProbesAndHostLifecycle;

static VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(34, v1_34)];

impl Check for HostProbesAndHostLifecycle {
    fn id(&self) -> &'static str {
        "hostProbesAndHostLifecycle"
    }
    fn control(&self) -> &'static str {
        "Host Probes / Lifecycle Hooks"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "The host field of probes and lifecycle handlers is restricted: \
         {livenessProbe,readinessProbe,startupProbe,lifecycle.postStart,lifecycle.preStop}.\
         {httpGet,tcpSocket}.host must be empty or undefined in every container."
    }
}

const HANDLERS: [&str; 5] = [
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle.postStart",
    "lifecycle.preStop",
];

fn v1_34(pod: &Pod<'_>) -> Option<Violation> {
    // Upstream collects both into sets, so names and hosts come out sorted and unique.
    let mut containers = Vec::new();
    let mut hosts = Vec::new();
    let mut errors = Vec::new();
    visit_containers(&pod.spec, |c, path| {
        let handlers = c.probes.iter().chain(c.lifecycle.iter());
        let mut bad = false;
        for (name, handler) in HANDLERS.iter().zip(handlers) {
            for (action, host) in actions(handler.as_ref()) {
                if host.is_empty() {
                    continue;
                }
                bad = true;
                insert_sorted(&mut hosts, host);
                let field = path.field(&format!("{name}.{action}.host"));
                errors.push(FieldError::forbidden(field, BadValue::Str(host.into())));
            }
        }
        if bad {
            insert_sorted(&mut containers, c.name);
        }
    });
    if containers.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "probe or lifecycle host",
        detail: format!(
            "{} {} {} {} {}",
            pluralize("container", "containers", containers.len()),
            join_quote(&containers),
            pluralize("uses", "use", containers.len()),
            pluralize(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                hosts.len()
            ),
            join_quote(&hosts)
        ),
        errors,
    })
}

fn actions<'a>(handler: Option<&Handler<'a>>) -> [(&'static str, &'a str); 2] {
    let host = |h: Option<&'a str>| h.unwrap_or("");
    match handler {
        Some(h) => [
            ("httpGet", host(h.http_get_host)),
            ("tcpSocket", host(h.tcp_socket_host)),
        ],
        None => [("httpGet", ""), ("tcpSocket", "")],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn unset_hosts_are_allowed() {
        let spec = json!({"containers": [{
            "name": "a",
            "livenessProbe": {"httpGet": {"path": "/"}},
            "readinessProbe": {"tcpSocket": {"port": 80}},
            "lifecycle": {"postStart": {"httpGet": {"host": ""}}}
        }]});
        assert!(run(v1_34, json!({}), spec).is_none());
    }

    #[test]
    fn table() {
        let one = json!({"containers": [{
            "name": "a",
            "livenessProbe": {"httpGet": {"host": "127.0.0.1"}},
            "readinessProbe": {"tcpSocket": {"host": "::1"}},
            "startupProbe": {"httpGet": {"host": "localhost"}}
        }]});
        assert_eq!(
            render(&run(v1_34, json!({}), one)),
            Some((
                "probe or lifecycle host".into(),
                r#"container "a" uses probe or lifecycle hosts "127.0.0.1", "::1", "localhost""#.into(),
                vec![
                    "spec.containers[0].livenessProbe.httpGet.host is forbidden, forbidden values found: 127.0.0.1".into(),
                    "spec.containers[0].readinessProbe.tcpSocket.host is forbidden, forbidden values found: ::1".into(),
                    "spec.containers[0].startupProbe.httpGet.host is forbidden, forbidden values found: localhost".into(),
                ]
            ))
        );
        let many = json!({"containers": [
            {"name": "valid"},
            {"name": "invalid2", "lifecycle": {"preStop": {"tcpSocket": {"host": "b.com"}}},
             "startupProbe": {"httpGet": {"host": "a.com"}}},
            {"name": "invalid1", "livenessProbe": {"httpGet": {"host": "a.com"}}}
        ]});
        let got = render(&run(v1_34, json!({}), many)).unwrap();
        assert_eq!(
            got.1,
            r#"containers "invalid1", "invalid2" use probe or lifecycle hosts "a.com", "b.com""#
        );
        let init = json!({"initContainers": [{"name": "init", "lifecycle": {"postStart": {"httpGet": {"host": "x"}}}}]});
        assert_eq!(
            render(&run(v1_34, json!({}), init)).unwrap().2,
            [
                "spec.initContainers[0].lifecycle.postStart.httpGet.host is forbidden, forbidden values found: x"
            ]
        );
    }
}
