//! Kyverno's `podSecurity.exclude[]` (and PolicyException `podSecurity[]`) semantics
//! (`pkg/pss/evaluate.go`: `ApplyPodSecurityExclusion`, `exemptExclusions`).
//!
//! Each exclusion builds a probe pod and evaluates it at the rule's level and version:
//! - without `images`, the pod with its containers replaced by one empty container named
//!   `fake` (pod-level exclusion);
//! - with `images`, a pod holding only the containers whose image matches a pattern, and
//!   nothing else (container-level exclusion).
//!
//! Every field error the probe raises for a check of `controlName` that passes the
//! `restrictedField` and `values` filters then removes one matching error from the original
//! pod's results: same path once indices are replaced by `*`, and for container fields of a
//! container-level exclusion the same container name. A check whose errors are all removed
//! passes; the others keep failing with what is left.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Deserializer, Serialize};

use crate::evaluate::evaluate_pod;
use crate::level::{Level, Version};
use crate::model::{Container, Pod, Spec};
use crate::result::CheckResult;
use crate::wildcard;

/// One exclusion (Kyverno `PodSecurityStandard`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exclude {
    /// The control, as Kyverno names it (`Capabilities`, `Host Namespaces`, ...).
    pub control_name: String,
    /// Image patterns (`*`, `?`) selecting the containers the exclusion applies to; empty
    /// makes it a pod-level exclusion.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub images: Vec<String>,
    /// Restrict the exclusion to one field, written with `[*]` for indices, e.g.
    /// `spec.containers[*].securityContext.capabilities.add`. Empty means every field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted_field: Option<String>,
    /// Value patterns: an error is excluded only if each of its values matches one.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<String>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Kyverno's control names and the check IDs each covers.
const CONTROLS: [(&str, &[&str]); 16] = [
    (
        "Capabilities",
        &["capabilities_baseline", "capabilities_restricted"],
    ),
    (
        "Seccomp",
        &["seccompProfile_baseline", "seccompProfile_restricted"],
    ),
    ("Privileged Containers", &["privileged"]),
    ("Host Ports", &["hostPorts"]),
    ("/proc Mount Type", &["procMount", "procMount_restricted"]),
    (
        "Host Probes / Lifecycle Hooks",
        &["hostProbesAndHostLifecycle"],
    ),
    ("HostProcess", &["windowsHostProcess"]),
    ("SELinux", &["seLinuxOptions"]),
    ("Host Namespaces", &["hostNamespaces"]),
    ("HostPath Volumes", &["hostPathVolumes"]),
    ("Sysctls", &["sysctls"]),
    ("AppArmor", &["appArmorProfile"]),
    ("Privilege Escalation", &["allowPrivilegeEscalation"]),
    ("Running as Non-root", &["runAsNonRoot"]),
    ("Running as Non-root user", &["runAsUser"]),
    ("Volume Types", &["restrictedVolumes"]),
];

/// Controls that only exist on containers: Kyverno requires `images` for them.
const CONTAINER_LEVEL: [&str; 6] = [
    "Capabilities",
    "Privileged Containers",
    "Host Ports",
    "/proc Mount Type",
    "Privilege Escalation",
    "Host Probes / Lifecycle Hooks",
];

/// Controls that only exist on the pod: Kyverno forbids `images` for them.
const POD_LEVEL: [&str; 4] = [
    "Host Namespaces",
    "HostPath Volumes",
    "Sysctls",
    "Volume Types",
];

/// Every control name Kyverno accepts in `controlName`.
pub fn control_names() -> impl Iterator<Item = &'static str> {
    CONTROLS.iter().map(|(name, _)| *name)
}

/// The check IDs a control name covers (empty for an unknown name).
pub fn control_check_ids(control_name: &str) -> &'static [&'static str] {
    CONTROLS
        .iter()
        .find(|(name, _)| *name == control_name)
        .map_or(&[], |(_, ids)| ids)
}

impl Exclude {
    /// The problems Kyverno's policy validation reports for this exclusion
    /// (`PodSecurityStandard.Validate`), as its messages; empty when valid.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if control_check_ids(&self.control_name).is_empty() {
            problems.push(format!("unknown controlName {:?}", self.control_name));
        }
        if CONTAINER_LEVEL.contains(&self.control_name.as_str()) && self.images.is_empty() {
            problems
                .push("exclude.images must be specified for the container level control".into());
        } else if POD_LEVEL.contains(&self.control_name.as_str()) && !self.images.is_empty() {
            problems.push("exclude.images must not be specified for the pod level control".into());
        }
        let has_field = self.restricted_field().is_some();
        if has_field && self.values.is_empty() {
            problems.push("values is required".into());
        }
        if !has_field && !self.values.is_empty() {
            problems.push("restrictedField is required".into());
        }
        problems
    }

    fn restricted_field(&self) -> Option<&str> {
        self.restricted_field.as_deref().filter(|f| !f.is_empty())
    }

    /// Whether `error`'s values pass the `values` filter (all must match, Kyverno
    /// `extractBadValues` + `CheckPatterns`; an error without values always passes).
    fn values_match(&self, bad: &[String]) -> bool {
        self.values.is_empty() || bad.iter().all(|v| wildcard::any(&self.values, v))
    }
}

/// Applies `excludes` in order to `checks`, the failing checks of `pod`.
pub(crate) fn apply(
    level: Level,
    version: Version,
    excludes: &[Exclude],
    pod: &Pod<'_>,
    checks: &mut Vec<CheckResult>,
) {
    for exclude in excludes {
        let ids = control_check_ids(&exclude.control_name);
        // Nothing of this control fails: the exclusion cannot change anything.
        if !checks.iter().any(|c| ids.contains(&c.id)) {
            continue;
        }
        if exclude.images.is_empty() {
            let probe = pod_level_probe(pod);
            let results = evaluate_pod(level, version, &probe);
            exempt(checks, &results, exclude, ids, pod, None);
        } else {
            let probe = matching_probe(pod, &exclude.images);
            let results = evaluate_pod(level, version, &probe);
            exempt(checks, &results, exclude, ids, pod, Some(&probe));
        }
    }
}

/// The pod with its containers replaced by one empty container named `fake`.
fn pod_level_probe<'a>(pod: &Pod<'a>) -> Pod<'a> {
    let mut probe = pod.clone();
    probe.spec.containers = vec![Container::named("fake")];
    probe.spec.init_containers.clear();
    probe.spec.ephemeral_containers.clear();
    probe
}

/// A pod with only the containers whose image matches one of `images`.
fn matching_probe<'a>(pod: &Pod<'a>, images: &[String]) -> Pod<'a> {
    let keep = |list: &[Container<'a>]| -> Vec<Container<'a>> {
        list.iter()
            .filter(|c| wildcard::any(images, c.image))
            .cloned()
            .collect()
    };
    Pod {
        meta: Default::default(),
        spec: Spec {
            init_containers: keep(&pod.spec.init_containers),
            containers: keep(&pod.spec.containers),
            ephemeral_containers: keep(&pod.spec.ephemeral_containers),
            ..Spec::default()
        },
    }
}

/// A field path with every digit run replaced by `*`, and (for container-level exclusions)
/// the container it points into.
struct Location<'f> {
    wildcarded: String,
    container: Option<(&'f str, usize)>,
}

/// Kyverno `parseField` (container-level) or the plain digit replacement (pod-level).
fn locate(field: &str, container_level: bool) -> Location<'_> {
    let mut wildcarded = String::with_capacity(field.len());
    let mut in_digits = false;
    for c in field.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                wildcarded.push('*');
            }
            in_digits = true;
        } else {
            wildcarded.push(c);
            in_digits = false;
        }
    }
    let container = if container_level {
        container_of(field)
    } else {
        None
    };
    Location {
        wildcarded,
        container,
    }
}

/// The container list (second alphabetic word) and first index of a field, when the list is
/// a container list.
fn container_of(field: &str) -> Option<(&str, usize)> {
    let list = field
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .nth(1)?;
    if !matches!(
        list,
        "containers" | "initContainers" | "ephemeralContainers"
    ) {
        return None;
    }
    let digits: String = field
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    // Go ignores the Atoi error and uses 0.
    Some((list, digits.parse().unwrap_or(0)))
}

fn container_name<'a>(pod: &Pod<'a>, list: &str, index: usize) -> &'a str {
    let containers = match list {
        "containers" => &pod.spec.containers,
        "initContainers" => &pod.spec.init_containers,
        _ => &pod.spec.ephemeral_containers,
    };
    containers.get(index).map_or("", |c| c.name)
}

/// Kyverno `exemptExclusions` for one exclusion.
fn exempt(
    checks: &mut Vec<CheckResult>,
    results: &[CheckResult],
    exclude: &Exclude,
    ids: &[&str],
    pod: &Pod<'_>,
    matching: Option<&Pod<'_>>,
) {
    let container_level = matching.is_some();
    let mut indexes: HashMap<&'static str, ErrorIndex> = HashMap::new();
    for result in results.iter().filter(|r| ids.contains(&r.id)) {
        for error in &result.errors {
            let excluded = locate(&error.field, container_level);
            if exclude
                .restricted_field()
                .is_some_and(|f| f != excluded.wildcarded)
            {
                continue;
            }
            if !exclude.values_match(&error.bad_value.matchable()) {
                continue;
            }
            // Kyverno compares container names only when the error is a container field.
            let name = match (excluded.container, matching) {
                (Some((list, i)), Some(m)) => Some(container_name(m, list, i).to_string()),
                _ => None,
            };
            let Some(pos) = checks.iter().position(|c| c.id == result.id) else {
                continue;
            };
            let Some(check) = checks.get_mut(pos) else {
                continue;
            };
            let index = indexes
                .entry(result.id)
                .or_insert_with(|| ErrorIndex::new(check, pod, container_level));
            index.remove_first(check, &(excluded.wildcarded, name));
            if check.errors.is_empty() {
                checks.remove(pos);
            }
        }
    }
}

/// A check's errors keyed by wildcarded path (and container name for container fields), so
/// each removal is logarithmic: hostile pods with thousands of containers stay cheap.
struct ErrorIndex {
    keys: Vec<Key>,
    positions: HashMap<Key, BTreeSet<usize>>,
}

type Key = (String, Option<String>);

impl ErrorIndex {
    fn new(check: &CheckResult, pod: &Pod<'_>, container_level: bool) -> Self {
        let keys: Vec<Key> = check
            .errors
            .iter()
            .map(|e| {
                let at = locate(&e.field, container_level);
                let name = at
                    .container
                    .map(|(list, i)| container_name(pod, list, i).to_string());
                (at.wildcarded, name)
            })
            .collect();
        let mut positions: HashMap<Key, BTreeSet<usize>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            positions.entry(key.clone()).or_default().insert(i);
        }
        ErrorIndex { keys, positions }
    }

    /// Removes the first error under `key`, swapping the last error into its place as
    /// Kyverno's `remove` does.
    fn remove_first(&mut self, check: &mut CheckResult, key: &Key) {
        let Some(hit) = self.positions.get(key).and_then(|set| set.first().copied()) else {
            return;
        };
        let last = self.keys.len().saturating_sub(1);
        if let Some(set) = self.positions.get_mut(key) {
            set.remove(&hit);
        }
        if hit != last
            && let Some(set) = self.keys.get(last).and_then(|k| self.positions.get_mut(k))
        {
            set.remove(&last);
            set.insert(hit);
        }
        self.keys.swap_remove(hit);
        check.errors.swap_remove(hit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserializes_kyverno_field_names() {
        let e: Exclude = serde_json::from_str(
            r#"{"controlName":"Capabilities","images":["nginx*"],
                "restrictedField":"spec.containers[*].securityContext.capabilities.add",
                "values":["NET_ADMIN"]}"#,
        )
        .unwrap();
        assert_eq!(e.control_name, "Capabilities");
        assert_eq!(e.images, ["nginx*"]);
        assert_eq!(e.values, ["NET_ADMIN"]);
        let e: Exclude =
            serde_json::from_str(r#"{"controlName":"Sysctls","images":null}"#).unwrap();
        assert!(e.images.is_empty() && e.restricted_field.is_none());
        assert!(serde_json::from_str::<Exclude>(r#"{"images":[]}"#).is_err());
    }

    #[test]
    fn validation_matches_kyverno() {
        let ex = |control: &str, images: &[&str], field: Option<&str>, values: &[&str]| Exclude {
            control_name: control.into(),
            images: images.iter().map(|s| s.to_string()).collect(),
            restricted_field: field.map(Into::into),
            values: values.iter().map(|s| s.to_string()).collect(),
        };
        assert!(
            ex("Capabilities", &["nginx"], None, &[])
                .validate()
                .is_empty()
        );
        assert_eq!(
            ex("Capabilities", &[], None, &[]).validate(),
            ["exclude.images must be specified for the container level control"]
        );
        assert_eq!(
            ex("Sysctls", &["x"], None, &[]).validate(),
            ["exclude.images must not be specified for the pod level control"]
        );
        assert!(ex("Seccomp", &[], None, &[]).validate().is_empty());
        assert!(ex("Seccomp", &["x"], None, &[]).validate().is_empty());
        assert_eq!(
            ex("Seccomp", &[], Some("f"), &[]).validate(),
            ["values is required"]
        );
        assert_eq!(
            ex("Seccomp", &[], None, &["v"]).validate(),
            ["restrictedField is required"]
        );
        assert_eq!(ex("Nope", &[], None, &[]).validate().len(), 1);
        assert_eq!(control_names().count(), 16);
        assert_eq!(
            control_check_ids("/proc Mount Type"),
            ["procMount", "procMount_restricted"]
        );
    }

    #[test]
    fn locate_follows_parse_field() {
        let at = locate("spec.initContainers[12].ports[3].hostPort", true);
        assert_eq!(at.wildcarded, "spec.initContainers[*].ports[*].hostPort");
        assert_eq!(at.container, Some(("initContainers", 12)));
        let at = locate("spec.securityContext.sysctls[0].name", true);
        assert_eq!(at.wildcarded, "spec.securityContext.sysctls[*].name");
        assert!(at.container.is_none());
        assert!(locate("spec.containers[0].x", false).container.is_none());
        // Digits anywhere are replaced, annotation keys included.
        assert_eq!(
            locate("metadata.annotations[a/b2c]", false).wildcarded,
            "metadata.annotations[a/b*c]"
        );
    }
}
