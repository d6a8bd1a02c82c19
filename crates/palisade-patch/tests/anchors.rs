//! Kyverno anchor preprocessing, with a small matcher (equality plus `*`/`?` wildcards).

#![allow(clippy::unwrap_used)]

use palisade_patch::anchors::preprocess;
use palisade_patch::{ConditionMatcher, PatchError, Preprocessed, strategic_merge};
use serde_json::{Value, json};

/// Strings match with `*`/`?` wildcards; maps match when every pattern key matches (a `(key)`
/// anchor looks up `key`); lists
/// match when every pattern element matches some resource element; the rest by equality.
struct Simple;

fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.split_first(), text.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            wildcard(rest, text) || (!text.is_empty() && wildcard(pattern, &text[1..]))
        }
        (Some((b'?', rest)), Some((_, t))) => wildcard(rest, t),
        (Some((p, rest)), Some((c, t))) => p == c && wildcard(rest, t),
        _ => false,
    }
}

impl ConditionMatcher for Simple {
    fn matches(&self, resource: &Value, pattern: &Value) -> Result<bool, String> {
        Ok(match (resource, pattern) {
            (Value::String(r), Value::String(p)) => wildcard(p.as_bytes(), r.as_bytes()),
            (Value::Object(r), Value::Object(p)) => {
                // Nested conditional anchors `(key)` look up `key`, as Kyverno's matcher does.
                let bare = |k: &str| {
                    k.strip_prefix('(')
                        .and_then(|k| k.strip_suffix(')'))
                        .map(str::to_string)
                        .unwrap_or_else(|| k.to_string())
                };
                p.iter().all(|(k, pv)| {
                    r.get(&bare(k))
                        .is_some_and(|rv| self.matches(rv, pv).unwrap_or(false))
                })
            }
            (Value::Array(r), Value::Array(p)) => p
                .iter()
                .all(|pv| r.iter().any(|rv| self.matches(rv, pv).unwrap_or(false))),
            (r, p) => r == p,
        })
    }
}

fn run(resource: Value, patch: Value) -> Preprocessed {
    preprocess(&resource, &patch, &Simple).unwrap()
}

fn patch_of(p: Preprocessed) -> Value {
    match p {
        Preprocessed::Patch(v) => v,
        Preprocessed::Skip { reason } => panic!("unexpected skip: {reason}"),
    }
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {"present": "x"}}, "spec": spec})
}

#[test]
fn add_if_not_present_keys() {
    let patch = json!({"metadata": {"annotations": {"+(present)": "y", "+(absent)": "z"}}});
    let out = patch_of(run(pod(json!({})), patch));
    assert_eq!(out, json!({"metadata": {"annotations": {"absent": "z"}}}));
}

#[test]
fn add_if_not_present_all_present_leaves_an_empty_patch() {
    let patch = json!({"metadata": {"annotations": {"+(present)": "y"}}});
    assert_eq!(patch_of(run(pod(json!({})), patch)), json!({}));
}

#[test]
fn global_anchor_in_list_holds() {
    let resource = pod(
        json!({"volumes": [{"name": "c", "emptyDir": {}}, {"name": "s", "secret": {"secretName": "x"}}]}),
    );
    let patch = json!({"metadata": {"annotations": {"+(safe-to-evict)": "true"}}, "spec": {"volumes": [{"<(emptyDir)": {}}]}});
    assert_eq!(
        patch_of(run(resource, patch)),
        json!({"metadata": {"annotations": {"safe-to-evict": "true"}}})
    );
}

#[test]
fn global_anchor_failing_skips_the_rule() {
    let resource = pod(json!({"volumes": [{"name": "s", "secret": {"secretName": "x"}}]}));
    let patch = json!({"metadata": {"annotations": {"+(safe-to-evict)": "true"}}, "spec": {"volumes": [{"<(hostPath)": {"path": "*"}}]}});
    let Preprocessed::Skip { reason } = run(resource, patch) else {
        panic!("expected a skip")
    };
    assert!(
        reason.contains("global condition failed") && reason.contains("hostPath"),
        "{reason}"
    );
}

#[test]
fn global_anchor_in_map_compares_values() {
    let resource = pod(
        json!({"volumes": [{"name": "c", "hostPath": {"path": "/data", "type": "Directory"}}]}),
    );
    let holds = json!({"metadata": {"labels": {"x": "y"}}, "spec": {"volumes": [{"hostPath": {"<(path)": "*data"}}]}});
    assert_eq!(
        patch_of(run(resource.clone(), holds)),
        json!({"metadata": {"labels": {"x": "y"}}})
    );
    let fails = json!({"metadata": {"labels": {"x": "y"}}, "spec": {"volumes": [{"hostPath": {"<(path)": "/etc*"}}]}});
    assert!(matches!(run(resource, fails), Preprocessed::Skip { .. }));
}

#[test]
fn conditional_anchor_in_list_applies_per_matching_element() {
    let resource = pod(json!({"containers": [
        {"name": "a", "image": "busybox:1"}, {"name": "b", "image": "nginx:1"}, {"name": "c", "image": "busybox:2"}
    ]}));
    let patch =
        json!({"spec": {"containers": [{"(image)": "busybox:*", "imagePullPolicy": "Always"}]}});
    let out = patch_of(run(resource.clone(), patch));
    assert_eq!(
        out,
        json!({"spec": {"containers": [{"name": "a", "imagePullPolicy": "Always"}, {"name": "c", "imagePullPolicy": "Always"}]}})
    );
    let merged = strategic_merge(&resource, &out, "v1", "Pod").unwrap();
    let policies: Vec<Option<&str>> = merged["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["imagePullPolicy"].as_str())
        .collect();
    assert_eq!(policies, vec![Some("Always"), Some("Always"), None]);
}

#[test]
fn conditional_anchor_matching_nothing_drops_only_that_part() {
    let resource = pod(json!({"containers": [{"name": "a", "image": "nginx"}]}));
    let patch = json!({"spec": {"containers": [{"(image)": "busybox*", "x": 1}], "imagePullSecrets": [{"name": "regcred"}]}});
    assert_eq!(
        patch_of(run(resource, patch)),
        json!({"spec": {"imagePullSecrets": [{"name": "regcred"}]}})
    );
}

#[test]
fn conditional_anchor_only_template_adds_nothing() {
    let resource = pod(json!({"containers": [{"name": "a", "image": "busybox:1"}]}));
    let patch = json!({"spec": {"containers": [{"(image)": "busybox:*"}], "imagePullSecrets": [{"name": "regcred"}]}});
    assert_eq!(
        patch_of(run(resource, patch)),
        json!({"spec": {"imagePullSecrets": [{"name": "regcred"}]}})
    );
}

#[test]
fn conditional_anchor_in_map_failing_skips() {
    let resource = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3}});
    let hold = json!({"spec": {"(replicas)": 3, "paused": true}});
    assert_eq!(
        patch_of(run(resource.clone(), hold)),
        json!({"spec": {"paused": true}})
    );
    let fail = json!({"spec": {"(replicas)": 5, "paused": true}});
    let Preprocessed::Skip { reason } = run(resource.clone(), fail) else {
        panic!("expected a skip")
    };
    assert!(reason.starts_with("condition failed"), "{reason}");
    let missing = json!({"spec": {"(strategy)": {"type": "Recreate"}, "paused": true}});
    let Preprocessed::Skip { reason } = run(resource, missing) else {
        panic!("expected a skip")
    };
    assert!(reason.contains("could not found \"strategy\""), "{reason}");
}

#[test]
fn scalars_reach_the_matcher_as_text() {
    struct Recorder(std::cell::RefCell<Vec<(Value, Value)>>);
    impl ConditionMatcher for Recorder {
        fn matches(&self, r: &Value, p: &Value) -> Result<bool, String> {
            self.0.borrow_mut().push((r.clone(), p.clone()));
            Ok(true)
        }
    }
    let rec = Recorder(Default::default());
    let out = preprocess(
        &json!({"spec": {"replicas": 3, "on": true}}),
        &json!({"spec": {"(replicas)": 3, "(on)": true, "x": 1}}),
        &rec,
    )
    .unwrap();
    assert_eq!(out, Preprocessed::Patch(json!({"spec": {"x": 1}})));
    let mut seen = rec.0.into_inner();
    seen.sort_by_key(|(r, _)| r.to_string());
    assert_eq!(
        seen,
        vec![(json!("3"), json!("3")), (json!("true"), json!("true"))]
    );
}

#[test]
fn matcher_errors_count_as_failed_conditions() {
    struct Broken;
    impl ConditionMatcher for Broken {
        fn matches(&self, _: &Value, _: &Value) -> Result<bool, String> {
            Err("bad operator".into())
        }
    }
    let out = preprocess(&json!({"a": "x"}), &json!({"(a)": ">>1", "b": 1}), &Broken).unwrap();
    let Preprocessed::Skip { reason } = out else {
        panic!("expected a skip")
    };
    assert!(reason.contains("bad operator"), "{reason}");
}

#[test]
fn wildcard_name_with_add_if_not_present() {
    let patch =
        json!({"spec": {"containers": [{"(name)": "*", "+(imagePullPolicy)": "IfNotPresent"}]}});
    let without = pod(json!({"containers": [{"name": "a", "image": "x"}]}));
    assert_eq!(
        patch_of(run(without, patch.clone())),
        json!({"spec": {"containers": [{"name": "a", "imagePullPolicy": "IfNotPresent"}]}})
    );
    let with =
        pod(json!({"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}]}));
    assert_eq!(patch_of(run(with, patch)), json!({}));
}

#[test]
fn add_anchor_template_is_shared_across_elements_as_in_kyverno() {
    // Kyverno issues #6686/#6750: the first element decides for all of them.
    let patch =
        json!({"spec": {"containers": [{"(name)": "*", "+(imagePullPolicy)": "IfNotPresent"}]}});
    let first_has =
        pod(json!({"containers": [{"name": "a", "imagePullPolicy": "Always"}, {"name": "b"}]}));
    assert_eq!(patch_of(run(first_has, patch.clone())), json!({}));
    let first_lacks =
        pod(json!({"containers": [{"name": "a"}, {"name": "b", "imagePullPolicy": "Always"}]}));
    assert_eq!(
        patch_of(run(first_lacks, patch)),
        json!({"spec": {"containers": [{"name": "a", "imagePullPolicy": "IfNotPresent"}, {"name": "b", "imagePullPolicy": "IfNotPresent"}]}})
    );
}

#[test]
fn nested_add_anchors_inside_a_template() {
    let resource = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "resources": {"limits": {"cpu": "50m"}}}
    ]}}}});
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"(name)": "*", "resources": {"limits": {"+(memory)": "300Mi", "+(cpu)": "100"}}}
    ]}}}});
    assert_eq!(
        patch_of(run(resource, patch)),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "resources": {"limits": {"memory": "300Mi"}}}]}}}})
    );
}

#[test]
fn conditional_anchor_on_a_list_field() {
    let resource = pod(json!({
        "containers": [{"name": "nginx", "image": "nginx:latest", "command": ["ll"]}, {"name": "busybox", "image": "busybox:latest"}],
        "volumes": [{"name": "v", "hostPath": {"path": "/var/run/docker.sock"}}]
    }));
    let patch = json!({"spec": {
        "(volumes)": [{"(hostPath)": {"path": "/var/run/docker.sock"}}],
        "containers": [{"(image)": "*:latest", "command": ["ls"]}]
    }});
    assert_eq!(
        patch_of(run(resource, patch)),
        json!({"spec": {"containers": [{"name": "nginx", "command": ["ls"]}, {"name": "busybox", "command": ["ls"]}]}})
    );
}

#[test]
fn null_values_and_plain_patches_pass_through() {
    let resource = pod(json!({}));
    let patch = json!({"metadata": {"annotations": {"present": null}}, "spec": {"containers": [{"name": "a", "image": "x"}]}});
    assert_eq!(patch_of(run(resource.clone(), patch.clone())), patch);
    assert_eq!(
        patch_of(run(resource, json!({"metadata": null}))),
        json!({"metadata": null})
    );
}

#[test]
fn several_templates_in_one_list_are_all_resolved() {
    let resource =
        pod(json!({"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}));
    let patch = json!({"spec": {"containers": [{"(name)": "a", "x": 1}, {"(name)": "b", "y": 2}]}});
    assert_eq!(
        patch_of(run(resource, patch)),
        json!({"spec": {"containers": [{"name": "a", "x": 1}, {"name": "b", "y": 2}]}})
    );
}

#[test]
fn elements_without_name_get_no_copy() {
    let resource = json!({"spec": {"rules": [{"host": "a"}]}});
    let patch = json!({"spec": {"rules": [{"(host)": "*", "x": 1}]}});
    assert_eq!(patch_of(run(resource, patch)), json!({}));
}

#[test]
fn malformed_inputs_are_errors() {
    let err = preprocess(
        &pod(json!({"containers": {"a": 1}})),
        &json!({"spec": {"containers": [{"(name)": "*", "x": 1}]}}),
        &Simple,
    )
    .unwrap_err();
    assert!(matches!(err, PatchError::Anchor { .. }), "{err}");
    assert!(err.to_string().contains("spec.containers"), "{err}");
    let err = preprocess(&pod(json!({})), &json!(["x"]), &Simple).unwrap_err();
    assert!(matches!(err, PatchError::NotAnObject { .. }), "{err}");
}

#[test]
fn preprocess_then_merge_end_to_end() {
    let resource = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "app"}, {"name": "side", "image": "side", "imagePullPolicy": "Never"}]
    }}}});
    let patch = json!({"metadata": {"labels": {"+(team)": "core"}}, "spec": {"template": {"spec": {"containers": [
        {"(image)": "app", "securityContext": {"runAsNonRoot": true}}
    ]}}}});
    let Preprocessed::Patch(p) = preprocess(&resource, &patch, &Simple).unwrap() else {
        panic!("skip")
    };
    let out = strategic_merge(&resource, &p, "apps/v1", "Deployment").unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"team": "core"}));
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "app", "image": "app", "securityContext": {"runAsNonRoot": true}}, {"name": "side", "image": "side", "imagePullPolicy": "Never"}])
    );
}

#[test]
fn template_copies_follow_the_shared_copy_as_it_changes() {
    // The second element's copy is the first one's renamed only while the template's copy is
    // unchanged: here the nested template binds into the shared copy for every element, so
    // the second copy also carries the first element's binding (the Kyverno quirk above).
    let resource = pod(json!({"containers": [
        {"name": "a", "env": [{"name": "e1"}]},
        {"image": "no-name"},
        {"name": "b", "env": [{"name": "e2"}]},
        {"name": "c", "env": [{"name": "e2"}]}
    ]}));
    let patch = json!({"spec": {"containers": [
        {"(name)": "*", "env": [{"(name)": "e*", "value": "v"}]}
    ]}});
    assert_eq!(
        patch_of(run(resource, patch)),
        json!({"spec": {"containers": [
            {"name": "a", "env": [{"name": "e1", "value": "v"}]},
            {"name": "b", "env": [{"name": "e1", "value": "v"}, {"name": "e2", "value": "v"}]},
            {"name": "c", "env": [
                {"name": "e1", "value": "v"}, {"name": "e2", "value": "v"}, {"name": "e2", "value": "v"}
            ]}
        ]}})
    );
}

#[test]
fn unchanged_template_copy_is_bound_to_each_named_element() {
    let resource = pod(json!({"containers": [{"name": "a"}, {"image": "x"}, {"name": "c"}]}));
    let patch = json!({"spec": {"containers": [
        {"(name)": "*", "securityContext": {"+(runAsNonRoot)": true}}
    ]}});
    assert_eq!(
        patch_of(run(resource, patch)),
        json!({"spec": {"containers": [
            {"name": "a", "securityContext": {"runAsNonRoot": true}},
            {"name": "c", "securityContext": {"runAsNonRoot": true}}
        ]}})
    );
}

#[test]
fn template_without_conditions_is_dropped_once_resolved() {
    // The template's own `+()` anchors are resolved in its copy; the template still goes.
    let patch = json!({"spec": {"containers": [{"+(imagePullPolicy)": "Always"}]}});
    let two = pod(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
    assert_eq!(
        patch_of(run(two, patch.clone())),
        json!({"spec": {"containers": [
            {"name": "a", "imagePullPolicy": "Always"},
            {"name": "b", "imagePullPolicy": "Always"}
        ]}})
    );
    // No list in the resource: nothing is bound and the emptied list goes with its parents.
    assert_eq!(patch_of(run(pod(json!({})), patch)), json!({}));
}
