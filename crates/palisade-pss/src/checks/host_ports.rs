//! Host Ports (baseline): containers must not use host ports.

use super::helpers::{
    Violation, Violations, containers_phrase, insert_sorted, pluralize, visit_containers,
};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `hostPorts`.
pub(crate) struct HostPorts;

static VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(0, v1_0)];

impl Check for HostPorts {
    fn id(&self) -> &'static str {
        "hostPorts"
    }
    fn control(&self) -> &'static str {
        "Host Ports"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "HostPorts should be disallowed entirely: \
         spec.{initContainers,containers,ephemeralContainers}[*].ports[*].hostPort must be \
         undefined or 0."
    }
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    let mut bad = Violations::default();
    let mut ports = Vec::new();
    visit_containers(&pod.spec, |c, path| {
        let errors: Vec<FieldError> = c
            .host_ports
            .iter()
            .enumerate()
            .filter(|(_, port)| **port != 0)
            .map(|(i, port)| {
                insert_sorted(&mut ports, &port.to_string());
                let field = path.field(&format!("ports[{i}].hostPort"));
                FieldError::forbidden(field, BadValue::Int(i64::from(*port)))
            })
            .collect();
        if !errors.is_empty() {
            bad.add(c.name, errors);
        }
    });
    if bad.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "hostPort",
        detail: format!(
            "{} {} {} {}",
            containers_phrase(&bad.data),
            pluralize("uses", "use", bad.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            // Upstream sorts the ports as strings.
            ports.join(", ")
        ),
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
        let ok = json!({"containers": [{"name": "a", "ports": [{"containerPort": 80}, {"hostPort": 0}]}]});
        assert!(run(v1_0, json!({}), ok).is_none());
        let spec = json!({
            "containers": [{"name": "a", "ports": [{"hostPort": 8080}, {"hostPort": 0}, {"hostPort": 10000}]}],
            "initContainers": [{"name": "i", "ports": [{"hostPort": 8080}]}]
        });
        assert_eq!(
            render(&run(v1_0, json!({}), spec)),
            Some((
                "hostPort".into(),
                r#"containers "i", "a" use hostPorts 10000, 8080"#.into(),
                vec![
                    "spec.initContainers[0].ports[0].hostPort is forbidden, forbidden values found: 8080".into(),
                    "spec.containers[0].ports[0].hostPort is forbidden, forbidden values found: 8080".into(),
                    "spec.containers[0].ports[2].hostPort is forbidden, forbidden values found: 10000".into(),
                ]
            ))
        );
        let one = json!({"containers": [{"name": "a", "ports": [{"hostPort": 53}]}]});
        assert_eq!(
            render(&run(v1_0, json!({}), one)).unwrap().1,
            r#"container "a" uses hostPort 53"#
        );
    }
}
