//! Volume Types (restricted): only a fixed set of inline volume sources may be used.

use super::helpers::{Violation, Violations, insert_sorted, join_quote, pluralize};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::{Pod, Volume};

/// Upstream `restrictedVolumes`.
pub(crate) struct RestrictedVolumes;

static VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(0, v1_0)];

/// Sources any volume may use.
const ALLOWED: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Restricted sources, in the order upstream tests them.
const RESTRICTED: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

impl Check for RestrictedVolumes {
    fn id(&self) -> &'static str {
        "restrictedVolumes"
    }
    fn control(&self) -> &'static str {
        "Volume Types"
    }
    fn level(&self) -> Level {
        Level::Restricted
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Pods may only use configMap, csi, downwardAPI, emptyDir, ephemeral, image, \
         persistentVolumeClaim, projected and secret volumes; every other \
         spec.volumes[*] source (hostPath, nfs, ...) is forbidden."
    }
}

/// The restricted source a volume uses, or `unknown` when it sets no known source.
fn restricted_source(volume: &Volume<'_>) -> Option<&'static str> {
    if ALLOWED.iter().any(|s| volume.has(s)) {
        return None;
    }
    Some(
        RESTRICTED
            .iter()
            .find(|s| volume.has(s))
            .copied()
            .unwrap_or("unknown"),
    )
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    let mut bad = Violations::default();
    let mut types = Vec::new();
    for (i, volume) in pod.spec.volumes.iter().enumerate() {
        if let Some(source) = restricted_source(volume) {
            insert_sorted(&mut types, source);
            let field = format!("spec.volumes[{i}].{source}");
            bad.add(
                volume.name,
                [FieldError::forbidden(field, BadValue::none())],
            );
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "restricted volume types",
        detail: format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad.data),
            pluralize("uses", "use", bad.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(&types)
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
    fn allowed_sources() {
        let volumes: Vec<_> = ALLOWED.iter().map(|s| json!({"name": s, *s: {}})).collect();
        assert!(run(v1_0, json!({}), json!({"volumes": volumes})).is_none());
        // An allowed source wins even next to a restricted one (upstream's switch order).
        let mixed = json!({"volumes": [{"name": "m", "secret": {}, "hostPath": {"path": "/"}}]});
        assert!(run(v1_0, json!({}), mixed).is_none());
    }

    #[test]
    fn restricted_sources() {
        for source in RESTRICTED {
            let spec = json!({"volumes": [{"name": "v", source: {}}]});
            let got = render(&run(v1_0, json!({}), spec)).unwrap();
            assert_eq!(
                got.1,
                format!(r#"volume "v" uses restricted volume type "{source}""#)
            );
            assert_eq!(got.2, [format!("spec.volumes[0].{source}: Forbidden")]);
        }
        let spec = json!({"volumes": [
            {"name": "a", "nfs": {}},
            {"name": "b"},
            {"name": "c", "emptyDir": {}},
            {"name": "d", "hostPath": {"path": "/"}}
        ]});
        assert_eq!(
            render(&run(v1_0, json!({}), spec)),
            Some((
                "restricted volume types".into(),
                r#"volumes "a", "b", "d" use restricted volume types "hostPath", "nfs", "unknown""#
                    .into(),
                vec![
                    "spec.volumes[0].nfs: Forbidden".into(),
                    "spec.volumes[1].unknown: Forbidden".into(),
                    "spec.volumes[3].hostPath: Forbidden".into(),
                ]
            ))
        );
    }
}
