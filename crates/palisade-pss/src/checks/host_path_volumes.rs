//! HostPath Volumes (baseline): `hostPath` volumes are forbidden.

use super::helpers::{Violation, Violations, join_quote, pluralize};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `hostPathVolumes`.
pub(crate) struct HostPathVolumes;

static VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(0, v1_0)];

impl Check for HostPathVolumes {
    fn id(&self) -> &'static str {
        "hostPathVolumes"
    }
    fn control(&self) -> &'static str {
        "HostPath Volumes"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "HostPath volumes must be forbidden: spec.volumes[*].hostPath must be undefined."
    }
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    let mut bad = Violations::default();
    for (i, volume) in pod.spec.volumes.iter().enumerate() {
        if let Some(path) = volume.host_path {
            // Kyverno's fork reports the host path as the bad value.
            let field = format!("spec.volumes[{i}].hostPath");
            bad.add(
                volume.name,
                [FieldError::forbidden(field, BadValue::Str(path.into()))],
            );
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "hostPath volumes",
        detail: format!(
            "{} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad.data)
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
        let ok =
            json!({"volumes": [{"name": "a", "emptyDir": {}}, {"name": "b", "hostPath": null}]});
        assert!(run(v1_0, json!({}), ok).is_none());
        let spec = json!({"volumes": [
            {"name": "a", "emptyDir": {}},
            {"name": "root", "hostPath": {"path": "/"}},
            {"name": "empty", "hostPath": {}}
        ]});
        assert_eq!(
            render(&run(v1_0, json!({}), spec)),
            Some((
                "hostPath volumes".into(),
                r#"volumes "root", "empty""#.into(),
                vec![
                    "spec.volumes[1].hostPath is forbidden, forbidden values found: /".into(),
                    "spec.volumes[2].hostPath: Forbidden".into(),
                ]
            ))
        );
    }
}
