//! Which API resources the background policies need watched.
//!
//! Only what the set's background policies match is watched, so the controller's memory grows
//! with the matched resources, not with the cluster. Classic policies name kinds
//! (`Pod`, `apps/v1/Deployment`, autogen's controllers); ValidatingPolicies and bound
//! ValidatingAdmissionPolicies name resources (`"" v1 pods`). Both are resolved against API discovery to one served version each.

use std::collections::BTreeSet;

use kube::api::ApiResource;
use palisade_admission::PolicySet;
use palisade_api::matching::MatchResources;
use palisade_celpolicy::CompiledValidatingPolicy;
use palisade_celpolicy::autogen;
use palisade_kube::kinds::KindSelector;
use palisade_kube::params::ParamKind;
use palisade_kube::webhooks::{ApiResourceInfo, ResourceIndex};

/// One API resource (a served group/version/kind) the controller watches and scans.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatchKind {
    /// API group (`""` for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
}

impl WatchKind {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The kube-rs description of the resource.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }

    pub(crate) fn of(info: &ApiResourceInfo) -> WatchKind {
        WatchKind {
            group: info.group.clone(),
            version: info.version.clone(),
            kind: info.kind.clone(),
            plural: info.plural.clone(),
        }
    }
}

impl std::fmt::Display for WatchKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.api_version(), self.kind)
    }
}

/// What the background policies of a set match, before it is resolved against the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Kind selectors of the validate rules of classic background policies (autogen included).
    pub kinds: BTreeSet<KindSelector>,
    /// `(group, version, resource)` of background ValidatingPolicies (autogen included) and
    /// of bound ValidatingAdmissionPolicies.
    pub resources: BTreeSet<(String, String, String)>,
}

/// The kinds and resources the set's background policies match.
pub fn wanted(set: &PolicySet) -> Wanted {
    let mut out = Wanted::default();
    for policy in set.policies().iter().filter(|p| p.background()) {
        for rule in policy.rules.iter().filter(|r| r.validate.is_some()) {
            out.kinds.extend(selectors(&rule.match_));
        }
    }
    for policy in set
        .validating_policies()
        .iter()
        .filter(|p| p.policy.spec.background())
    {
        out.resources.extend(cel_resources(policy));
    }
    // Admission policies count only through a binding, as the scanner evaluates them.
    for bound in set
        .admission_policies()
        .iter()
        .filter(|p| !p.bindings.is_empty())
    {
        let rules = bound
            .policy
            .policy
            .spec
            .match_constraints
            .iter()
            .flat_map(|m| &m.resource_rules);
        for rule in rules {
            for g in &rule.api_groups {
                for v in &rule.api_versions {
                    for r in &rule.resources {
                        out.resources.insert((g.clone(), v.clone(), r.clone()));
                    }
                }
            }
        }
    }
    out
}

/// `(group, version, resource)` rules of the bound admission policies whose `paramKind` is
/// one of `params` and that some binding gives a `paramRef` (what a parameter change may
/// decide differently).
pub fn param_bound_resources(
    set: &PolicySet,
    params: &BTreeSet<ParamKind>,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for bound in set.admission_policies() {
        let spec = &bound.policy.policy.spec;
        let uses = spec
            .param_kind
            .as_ref()
            .is_some_and(|k| params.iter().any(|p| p.is(&k.api_version, &k.kind)));
        if !uses || !bound.bindings.iter().any(|b| b.spec.param_ref.is_some()) {
            continue;
        }
        for rule in spec
            .match_constraints
            .iter()
            .flat_map(|m| &m.resource_rules)
        {
            for g in &rule.api_groups {
                for v in &rule.api_versions {
                    for r in &rule.resources {
                        out.push((g.clone(), v.clone(), r.clone()));
                    }
                }
            }
        }
    }
    out
}

/// True when a `(group, version, resource)` rule (with `*` wildcards) names `kind`.
pub fn resource_matches(rule: &(String, String, String), kind: &WatchKind) -> bool {
    let (g, v, r) = rule;
    (g == "*" || *g == kind.group)
        && (v == "*" || *v == kind.version)
        && (r == "*" || *r == kind.plural)
}

pub(crate) fn selectors(m: &MatchResources) -> impl Iterator<Item = KindSelector> + '_ {
    let filters = [&m.any, &m.all]
        .into_iter()
        .flatten()
        .flat_map(|list| list.iter().map(|f| &f.resources));
    filters
        .chain(m.resources.as_ref())
        .flat_map(|d| d.kinds.iter().flatten())
        .filter_map(|k| KindSelector::parse(k))
}

fn cel_resources(policy: &CompiledValidatingPolicy) -> Vec<(String, String, String)> {
    let spec = &policy.policy.spec;
    let variants = autogen::variants(
        spec.match_constraints.as_ref(),
        &spec.match_conditions,
        spec.autogen.as_ref(),
    );
    let constraints = spec
        .match_constraints
        .iter()
        .chain(variants.iter().map(|v| &v.match_constraints));
    let mut out = Vec::new();
    for rule in constraints.flat_map(|m| &m.resource_rules) {
        for g in &rule.api_groups {
            for v in &rule.api_versions {
                for r in &rule.resources {
                    out.push((g.clone(), v.clone(), r.clone()));
                }
            }
        }
    }
    out
}

/// Groups never scanned: review APIs cannot be listed, and reports must not report on
/// reports (every write would trigger another scan).
const NEVER: [&str; 4] = [
    "authentication.k8s.io",
    "authorization.k8s.io",
    "wgpolicyk8s.io",
    "reports.kyverno.io",
];

/// The resolution of [`Wanted`] against the served resources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// The resources to watch.
    pub kinds: BTreeSet<WatchKind>,
    /// Selectors that are not watched, with the reason (logged as warnings).
    pub skipped: Vec<String>,
    /// How many of them name kinds the cluster does not serve (yet: a CRD may come).
    pub unserved: usize,
}

/// Resolves what the policies want to served resources: a selector without a version takes
/// the group's preferred version; a selector without a group takes the core group when it
/// serves the kind (`Event` is served by two groups as the same objects), else every group
/// that does. Wildcard kinds and subresources are not scanned in the background.
pub fn resolve(wanted: &Wanted, index: &ResourceIndex) -> Resolved {
    let mut out = Resolved::default();
    let served = || {
        index
            .resources
            .iter()
            .filter(|r| !NEVER.contains(&r.group.as_str()))
    };
    for sel in &wanted.kinds {
        if sel.is_any_kind() || !sel.subresource.is_empty() {
            out.skipped.push(format!(
                "{}: wildcard kinds and subresources are not scanned in the background",
                describe(sel)
            ));
            continue;
        }
        let found: Vec<&ApiResourceInfo> = served()
            .filter(|r| r.kind == sel.kind)
            .filter(|r| sel.group == "*" || sel.group == r.group)
            .filter(|r| match sel.version.as_str() {
                "*" => r.preferred,
                v => r.version == v,
            })
            .collect();
        let core: Vec<&ApiResourceInfo> = found
            .iter()
            .copied()
            .filter(|r| r.group.is_empty())
            .collect();
        let chosen = if sel.group == "*" && !core.is_empty() {
            core
        } else {
            found
        };
        if chosen.is_empty() {
            out.unserved += 1;
            out.skipped
                .push(format!("{}: not served by the cluster", describe(sel)));
        }
        out.kinds.extend(chosen.into_iter().map(WatchKind::of));
    }
    for (group, version, resource) in &wanted.resources {
        if resource == "*" || resource.contains('/') || group == "*" {
            out.skipped.push(format!(
                "{group}/{version}/{resource}: wildcards and subresources are not scanned in the background"
            ));
            continue;
        }
        let found: Vec<WatchKind> = served()
            .filter(|r| &r.group == group && &r.plural == resource)
            .filter(|r| match version.as_str() {
                "*" => r.preferred,
                v => r.version == v,
            })
            .map(WatchKind::of)
            .collect();
        if found.is_empty() {
            out.unserved += 1;
            out.skipped.push(format!(
                "{group}/{version}/{resource}: not served by the cluster"
            ));
        }
        out.kinds.extend(found);
    }
    out
}

fn describe(sel: &KindSelector) -> String {
    let mut s = format!("{}/{}/{}", sel.group, sel.version, sel.kind);
    if !sel.subresource.is_empty() {
        s.push('/');
        s.push_str(&sel.subresource);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_admission::compile_document;
    use serde_json::{Value, json};

    fn info(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        preferred: bool,
    ) -> ApiResourceInfo {
        ApiResourceInfo {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            subresources: Vec::new(),
            preferred,
        }
    }

    fn index() -> ResourceIndex {
        ResourceIndex {
            resources: vec![
                info("", "v1", "Pod", "pods", true),
                info("", "v1", "Namespace", "namespaces", true),
                info("", "v1", "Event", "events", true),
                info("events.k8s.io", "v1", "Event", "events", true),
                info("apps", "v1", "Deployment", "deployments", true),
                info("batch", "v1", "CronJob", "cronjobs", true),
                info("batch", "v1", "Job", "jobs", true),
                info("example.io", "v1", "Widget", "widgets", true),
                info("example.io", "v1beta1", "Widget", "widgets", false),
                info(
                    "wgpolicyk8s.io",
                    "v1alpha2",
                    "PolicyReport",
                    "policyreports",
                    true,
                ),
            ],
        }
    }

    fn policy(background: Option<bool>, kinds: &[&str], validate: bool) -> Value {
        let mut rule = json!({"name": "r", "match": {"any": [{"resources": {"kinds": kinds}}]}});
        if validate {
            rule["validate"] = json!({"message": "m", "pattern": {"metadata": {"name": "?*"}}});
        } else {
            rule["mutate"] = json!({"patchStrategicMerge": {"metadata": {"labels": {"a": "b"}}}});
        }
        let mut p = json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": format!("p-{}", kinds.join("-").replace('/', "."))},
            "spec": {"rules": [rule]}
        });
        if let Some(b) = background {
            p["spec"]["background"] = json!(b);
        }
        p
    }

    fn set(docs: &[Value]) -> PolicySet {
        PolicySet::new(docs.iter().map(|d| compile_document("t", 1, d).unwrap()))
    }

    fn names(r: &Resolved) -> Vec<String> {
        r.kinds.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn classic_background_validate_rules_choose_the_kinds() {
        let table: [(&[Value], &[&str]); 6] = [
            // Pod policies get autogen's controllers; only the served ones are watched.
            (
                &[policy(None, &["Pod"], true)],
                &[
                    "v1/Pod",
                    "apps/v1/Deployment",
                    "batch/v1/CronJob",
                    "batch/v1/Job",
                ],
            ),
            (&[policy(Some(false), &["Pod"], true)], &[]),
            (&[policy(None, &["Namespace"], false)], &[]),
            (
                &[policy(None, &["example.io/v1beta1/Widget"], true)],
                &["example.io/v1beta1/Widget"],
            ),
            (
                &[policy(None, &["Widget"], true)],
                &["example.io/v1/Widget"],
            ),
            (
                &[policy(None, &["Event", "PolicyReport"], true)],
                &["v1/Event"],
            ),
        ];
        for (docs, want) in table {
            let got = resolve(&wanted(&set(docs)), &index());
            assert_eq!(names(&got), want, "{docs:?}");
        }
    }

    #[test]
    fn wildcards_subresources_and_unknown_kinds_are_skipped_with_a_reason() {
        let got = resolve(
            &wanted(&set(&[
                policy(None, &["*"], true),
                policy(None, &["Pod/ephemeralcontainers"], true),
                policy(None, &["Gadget"], true),
            ])),
            &index(),
        );
        assert!(got.kinds.is_empty(), "{got:?}");
        assert_eq!(got.skipped.len(), 3, "{:?}", got.skipped);
        assert_eq!(got.unserved, 1, "{:?}", got.skipped);
        assert!(got.skipped.iter().any(|s| s.contains("not served")));
    }

    #[test]
    fn validating_policies_name_resources() {
        let doc = json!({
            "apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
            "metadata": {"name": "v"},
            "spec": {
                "matchConstraints": {"resourceRules": [{
                    "apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["pods", "pods/status"]
                }]},
                "validations": [{"expression": "true"}]
            }
        });
        let w = wanted(&set(&[doc]));
        assert!(
            w.resources
                .contains(&("".into(), "v1".into(), "pods".into()))
        );
        let got = resolve(&w, &index());
        assert!(got.kinds.iter().any(|k| k.kind == "Pod"), "{got:?}");
        assert!(got.skipped.iter().any(|s| s.contains("pods/status")));
    }

    #[test]
    fn api_resource_of_a_core_kind() {
        let k = WatchKind {
            group: String::new(),
            version: "v1".into(),
            kind: "Pod".into(),
            plural: "pods".into(),
        };
        let ar = k.api_resource();
        assert_eq!(
            (ar.api_version.as_str(), ar.plural.as_str()),
            ("v1", "pods")
        );
    }
}
