//! The Validating/MutatingWebhookConfiguration content, computed without I/O from the rules'
//! needs ([`HookRule`]) and the cluster's API resources ([`ResourceIndex`]).
//!
//! One webhook per (phase, failure policy) that has rules, like Kyverno's `-fail`/`-ignore`
//! pair; its timeout is the largest any of its policies asks for. The server evaluates
//! behind each webhook only the policies of its failure policy, so a request that policies of
//! both kinds match goes to both webhooks, and each policy is evaluated once.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::kinds::KindSelector;
use crate::rules::{FailurePolicy, HookRule, Operation, Phase};

/// The label `--exclude-object-label` is usually given (`palisade.io/exclude=true`). Object
/// exclusion is off unless asked for: whoever may label an object could otherwise exempt it
/// from every policy (a tenant labelling their own privileged Pod).
pub const EXCLUDE_LABEL: &str = "palisade.io/exclude";

/// The label Palisade puts on the configurations it manages.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// One served API resource, as discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResourceInfo {
    /// API group (`""` for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Subresource names (`status`, `ephemeralcontainers`, ...).
    pub subresources: Vec<String>,
    /// True for the group's preferred version.
    pub preferred: bool,
}

/// The API resources the cluster serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceIndex {
    /// Every resource (not subresources) of every served version.
    pub resources: Vec<ApiResourceInfo>,
}

/// One resource a webhook rule names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    group: String,
    version: String,
    resource: String,
}

impl ResourceIndex {
    /// The resources a kind selector stands for; empty when the cluster does not serve it.
    fn resolve(&self, sel: &KindSelector) -> Vec<Target> {
        let suffix = |plural: &str| {
            if sel.subresource.is_empty() {
                plural.to_string()
            } else {
                format!("{plural}/{}", sel.subresource)
            }
        };
        if sel.is_any_kind() {
            return vec![Target {
                group: sel.group.clone(),
                version: sel.version.clone(),
                resource: suffix("*"),
            }];
        }
        self.resources
            .iter()
            .filter(|r| r.kind == sel.kind)
            .filter(|r| sel.group == "*" || sel.group == r.group)
            .filter(|r| {
                if sel.version == "*" {
                    r.preferred
                } else {
                    sel.version == r.version
                }
            })
            .filter(|r| {
                sel.subresource.is_empty()
                    || sel.subresource == "*"
                    || r.subresources.contains(&sel.subresource)
            })
            .map(|r| Target {
                group: r.group.clone(),
                version: r.version.clone(),
                resource: suffix(&r.plural),
            })
            .collect()
    }
}

/// Where the API server sends admission requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientTarget {
    /// A URL base such as `https://127.0.0.1:9443` (paths are appended).
    Url(String),
    /// A Service.
    Service {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Its port.
        port: i32,
    },
}

/// Everything about the configurations that does not come from policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Name of the ValidatingWebhookConfiguration.
    pub validating_name: String,
    /// Name of the MutatingWebhookConfiguration.
    pub mutating_name: String,
    /// Where requests go.
    pub client: ClientTarget,
    /// Namespaces never sent to the webhook (kube-system and Palisade's own at least).
    pub excluded_namespaces: Vec<String>,
    /// Objects with this label and value are never sent to the webhook (opt-in, see
    /// [`EXCLUDE_LABEL`]).
    pub excluded_object_label: Option<(String, String)>,
}

/// Default name of the ValidatingWebhookConfiguration.
pub const VALIDATING_NAME: &str = "palisade-validating-webhook-cfg";
/// Default name of the MutatingWebhookConfiguration.
pub const MUTATING_NAME: &str = "palisade-mutating-webhook-cfg";

/// The two configurations to apply, and the kinds no served resource matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// ValidatingWebhookConfiguration object.
    pub validating: Value,
    /// MutatingWebhookConfiguration object.
    pub mutating: Value,
    /// Kind selectors the cluster does not serve (`group/version/Kind[/sub]`).
    pub unresolved: Vec<String>,
}

#[derive(Default)]
struct Group {
    timeout: i32,
    /// Operations per resource.
    targets: BTreeMap<Target, BTreeSet<Operation>>,
}

/// Computes both configurations. `ca_bundle_pem` goes, base64-encoded, into every webhook.
pub fn desired(
    hooks: &[HookRule],
    index: &ResourceIndex,
    settings: &WebhookSettings,
    ca_bundle_pem: &str,
) -> Desired {
    let mut groups: BTreeMap<(Phase, FailurePolicy), Group> = BTreeMap::new();
    let mut unresolved = BTreeSet::new();
    for hook in hooks {
        let group = groups.entry((hook.phase, hook.failure)).or_default();
        group.timeout = group.timeout.max(hook.timeout);
        for (g, v, r) in &hook.resources {
            let target = Target {
                group: g.clone(),
                version: v.clone(),
                resource: r.clone(),
            };
            group
                .targets
                .entry(target)
                .or_default()
                .extend(hook.operations.iter().copied());
        }
        for sel in &hook.kinds {
            let targets = index.resolve(sel);
            if targets.is_empty() {
                unresolved.insert(describe(sel));
            }
            for t in targets {
                group
                    .targets
                    .entry(t)
                    .or_default()
                    .extend(hook.operations.iter().copied());
            }
        }
    }
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_bundle_pem);
    let mut webhooks = BTreeMap::<Phase, Vec<Value>>::new();
    for ((phase, failure), group) in &groups {
        if group.targets.is_empty() {
            continue;
        }
        webhooks
            .entry(*phase)
            .or_default()
            .push(webhook(*phase, *failure, group, settings, &ca));
    }
    let list = |p: Phase| Value::Array(webhooks.get(&p).cloned().unwrap_or_default());
    Desired {
        validating: configuration(
            "ValidatingWebhookConfiguration",
            &settings.validating_name,
            list(Phase::Validate),
        ),
        mutating: configuration(
            "MutatingWebhookConfiguration",
            &settings.mutating_name,
            list(Phase::Mutate),
        ),
        unresolved: unresolved.into_iter().collect(),
    }
}

fn describe(sel: &KindSelector) -> String {
    let mut s = format!("{}/{}/{}", sel.group, sel.version, sel.kind);
    if !sel.subresource.is_empty() {
        s.push('/');
        s.push_str(&sel.subresource);
    }
    s
}

fn configuration(kind: &str, name: &str, webhooks: Value) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": {MANAGED_BY_LABEL: "palisade"}},
        "webhooks": webhooks,
    })
}

/// The path the server answers a webhook on: `/validate/fail`, `/mutate/ignore`, ... (the
/// server answers a deadline overrun as the failure policy would: deny or admit).
pub fn path(phase: Phase, failure: FailurePolicy) -> &'static str {
    match (phase, failure) {
        (Phase::Validate, FailurePolicy::Fail) => "/validate/fail",
        (Phase::Validate, FailurePolicy::Ignore) => "/validate/ignore",
        (Phase::Mutate, FailurePolicy::Fail) => "/mutate/fail",
        (Phase::Mutate, FailurePolicy::Ignore) => "/mutate/ignore",
    }
}

fn webhook(
    phase: Phase,
    failure: FailurePolicy,
    group: &Group,
    settings: &WebhookSettings,
    ca: &str,
) -> Value {
    let prefix = match phase {
        Phase::Validate => "validate",
        Phase::Mutate => "mutate",
    };
    let path = path(phase, failure);
    let suffix = match failure {
        FailurePolicy::Fail => "fail",
        FailurePolicy::Ignore => "ignore",
    };
    let client = match &settings.client {
        ClientTarget::Url(base) => json!({
            "url": format!("{}{path}", base.trim_end_matches('/')),
            "caBundle": ca,
        }),
        ClientTarget::Service {
            namespace,
            name,
            port,
        } => json!({
            "service": {"namespace": namespace, "name": name, "port": port, "path": path},
            "caBundle": ca,
        }),
    };
    let mut hook = json!({
        "name": format!("{prefix}-{suffix}.palisade.io"),
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": failure.as_str(),
        "matchPolicy": "Equivalent",
        "timeoutSeconds": group.timeout,
        "clientConfig": client,
        "namespaceSelector": {"matchExpressions": [{
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": settings.excluded_namespaces,
        }]},
        "rules": rules(&group.targets),
    });
    if let Some((key, value)) = &settings.excluded_object_label
        && let Some(obj) = hook.as_object_mut()
    {
        obj.insert(
            "objectSelector".into(),
            json!({"matchExpressions": [{"key": key, "operator": "NotIn", "values": [value]}]}),
        );
    }
    if phase == Phase::Mutate
        && let Some(obj) = hook.as_object_mut()
    {
        obj.insert("reinvocationPolicy".into(), json!("IfNeeded"));
    }
    hook
}

/// Webhook rules: resources with the same group, version and operations share one rule.
fn rules(targets: &BTreeMap<Target, BTreeSet<Operation>>) -> Value {
    let mut merged: BTreeMap<(&str, &str, &BTreeSet<Operation>), Vec<&str>> = BTreeMap::new();
    for (t, ops) in targets {
        merged
            .entry((&t.group, &t.version, ops))
            .or_default()
            .push(&t.resource);
    }
    let rules: Vec<Value> = merged
        .into_iter()
        .map(|((group, version, ops), resources)| {
            let ops: Vec<&str> = ops.iter().map(|o| o.as_str()).collect();
            json!({
                "apiGroups": [group],
                "apiVersions": [version],
                "operations": ops,
                "resources": resources,
                "scope": "*",
            })
        })
        .collect();
    Value::Array(rules)
}

#[cfg(test)]
mod tests;
