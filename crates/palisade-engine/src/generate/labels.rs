//! The labels Kyverno puts on the resources it generates (`pkg/background/common/labels.go`)
//! and on clones (`pkg/background/generate/source.go`), which the background controller uses
//! to find a rule's downstream resources again.

use serde_json::{Map, Value};

use crate::matching::{Gvk, name_of, namespace_of};

/// `app.kubernetes.io/managed-by`.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The policy's name.
pub const POLICY_NAME: &str = "generate.kyverno.io/policy-name";
/// The policy's namespace (`""` for a ClusterPolicy).
pub const POLICY_NAMESPACE: &str = "generate.kyverno.io/policy-namespace";
/// The rule's name.
pub const RULE_NAME: &str = "generate.kyverno.io/rule-name";
/// The trigger's API version.
pub const TRIGGER_VERSION: &str = "generate.kyverno.io/trigger-version";
/// The trigger's API group.
pub const TRIGGER_GROUP: &str = "generate.kyverno.io/trigger-group";
/// The trigger's kind.
pub const TRIGGER_KIND: &str = "generate.kyverno.io/trigger-kind";
/// The trigger's namespace.
pub const TRIGGER_NAMESPACE: &str = "generate.kyverno.io/trigger-namespace";
/// The trigger's UID.
pub const TRIGGER_UID: &str = "generate.kyverno.io/trigger-uid";
/// Set (empty) on clone sources, and so on their clones.
pub const CLONE_SOURCE: &str = "generate.kyverno.io/clone-source";
/// The clone source's API group.
pub const SOURCE_GROUP: &str = "generate.kyverno.io/source-group";
/// The clone source's API version.
pub const SOURCE_VERSION: &str = "generate.kyverno.io/source-version";
/// The clone source's kind.
pub const SOURCE_KIND: &str = "generate.kyverno.io/source-kind";
/// The clone source's namespace.
pub const SOURCE_NAMESPACE: &str = "generate.kyverno.io/source-namespace";
/// The clone source's name.
pub const SOURCE_NAME: &str = "generate.kyverno.io/source-name";

/// Who generated a resource.
pub(crate) struct Owner<'a> {
    /// The policy's name (without namespace).
    pub policy: &'a str,
    /// The policy's namespace, `""` for a ClusterPolicy.
    pub policy_namespace: &'a str,
    /// The rule's name.
    pub rule: &'a str,
    /// The triggering resource.
    pub trigger: &'a Value,
}

fn labels_mut(resource: &mut Value) -> Option<&mut Map<String, Value>> {
    let meta = resource.as_object_mut()?.entry("metadata");
    let meta = meta.or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let labels = meta.as_object_mut()?.entry("labels");
    let labels = labels.or_insert_with(|| Value::Object(Map::new()));
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    labels.as_object_mut()
}

fn set(labels: &mut Map<String, Value>, key: &str, value: &str) {
    labels.insert(key.to_string(), Value::String(value.to_string()));
}

/// Labels a generated resource with its policy, rule and trigger (Kyverno's `ManageLabels`).
pub(crate) fn label_generated(resource: &mut Value, owner: &Owner<'_>) {
    let trigger = Gvk::of(owner.trigger);
    let uid = owner
        .trigger
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(labels) = labels_mut(resource) else {
        return;
    };
    set(labels, MANAGED_BY, "kyverno");
    set(labels, POLICY_NAME, owner.policy);
    set(labels, POLICY_NAMESPACE, owner.policy_namespace);
    set(labels, RULE_NAME, owner.rule);
    set(labels, TRIGGER_VERSION, &trigger.version);
    set(labels, TRIGGER_GROUP, &trigger.group);
    set(labels, TRIGGER_KIND, &trigger.kind);
    set(labels, TRIGGER_NAMESPACE, namespace_of(owner.trigger));
    set(labels, TRIGGER_UID, uid);
}

/// Labels a clone with its source, as Kyverno does before copying it.
pub(crate) fn label_clone(copy: &mut Value, source: &Value) {
    let gvk = Gvk::of(source);
    let namespace = namespace_of(source).to_string();
    let name = name_of(source).to_string();
    let Some(labels) = labels_mut(copy) else {
        return;
    };
    set(labels, CLONE_SOURCE, "");
    set(labels, SOURCE_GROUP, &gvk.group);
    set(labels, SOURCE_VERSION, &gvk.version);
    set(labels, SOURCE_KIND, &gvk.kind);
    set(labels, SOURCE_NAMESPACE, &namespace);
    set(labels, SOURCE_NAME, &name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_resources_carry_policy_rule_and_trigger() {
        let trigger = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u-1"}});
        let mut r = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"keep": "me"}}});
        label_generated(
            &mut r,
            &Owner {
                policy: "p",
                policy_namespace: "",
                rule: "r",
                trigger: &trigger,
            },
        );
        assert_eq!(
            r["metadata"]["labels"],
            json!({
                "keep": "me",
                "app.kubernetes.io/managed-by": "kyverno",
                "generate.kyverno.io/policy-name": "p",
                "generate.kyverno.io/policy-namespace": "",
                "generate.kyverno.io/rule-name": "r",
                "generate.kyverno.io/trigger-version": "v1",
                "generate.kyverno.io/trigger-group": "apps",
                "generate.kyverno.io/trigger-kind": "Deployment",
                "generate.kyverno.io/trigger-namespace": "shop",
                "generate.kyverno.io/trigger-uid": "u-1",
            })
        );
    }

    #[test]
    fn clones_carry_their_source() {
        let source = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "regcred", "namespace": "default"}});
        let mut copy = source.clone();
        label_clone(&mut copy, &source);
        assert_eq!(copy["metadata"]["labels"][SOURCE_NAME], "regcred");
        assert_eq!(copy["metadata"]["labels"][SOURCE_NAMESPACE], "default");
        assert_eq!(copy["metadata"]["labels"][CLONE_SOURCE], "");
    }
}
