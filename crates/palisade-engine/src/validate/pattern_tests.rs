use serde_json::{Value, json};

use super::{Mismatch, match_pattern};

fn outcome(resource: Value, pattern: Value) -> Result<(), (Mismatch, String)> {
    match_pattern(&resource, &pattern).map_err(|e| (e.kind, e.path))
}

fn pod(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "x"}},
           "spec": {"containers": containers}})
}

#[test]
fn plain_values_and_paths() {
    let pattern = json!({"spec": {"containers": [{"image": "!*:latest"}]}});
    assert_eq!(
        outcome(
            pod(json!([{"name": "a", "image": "nginx:1.2"}])),
            pattern.clone()
        ),
        Ok(())
    );
    assert_eq!(
        outcome(
            pod(json!([{"name": "a", "image": "nginx:1.2"}, {"name": "b", "image": "x:latest"}])),
            pattern
        ),
        Err((Mismatch::Fail, "/spec/containers/1/image/".to_string()))
    );
}

#[test]
fn negation_anchor_fails_when_key_present() {
    let pattern = json!({"spec": {"=(volumes)": [{"X(hostPath)": "null"}]}});
    let mut ok = pod(json!([{"name": "a"}]));
    ok["spec"]["volumes"] = json!([{"name": "v", "emptyDir": {}}]);
    assert_eq!(outcome(ok, pattern.clone()), Ok(()));
    let mut bad = pod(json!([{"name": "a"}]));
    bad["spec"]["volumes"] = json!([{"name": "v", "hostPath": {"path": "/"}}]);
    assert_eq!(
        outcome(bad, pattern),
        Err((Mismatch::Fail, "/spec/volumes/0/hostPath/".to_string()))
    );
}

#[test]
fn conditional_anchor_skips_or_checks_siblings() {
    let pattern =
        json!({"spec": {"containers": [{"(image)": "*:latest", "imagePullPolicy": "Always"}]}});
    let skipped = pod(json!([{"name": "a", "image": "nginx:1.2"}]));
    assert_eq!(
        outcome(skipped, pattern.clone()).map_err(|e| e.0),
        Err(Mismatch::Skip)
    );
    let passes = pod(json!([{"name": "a", "image": "nginx:latest", "imagePullPolicy": "Always"}]));
    assert_eq!(outcome(passes, pattern.clone()), Ok(()));
    let fails = pod(json!([{"name": "a", "image": "nginx:latest", "imagePullPolicy": "Never"}]));
    assert_eq!(
        outcome(fails, pattern.clone()).map_err(|e| e.0),
        Err(Mismatch::Fail)
    );
    // One element applies, another is skipped: the rule applies and passes.
    let mixed = pod(json!([
        {"name": "a", "image": "nginx:1.2"},
        {"name": "b", "image": "nginx:latest", "imagePullPolicy": "Always"}
    ]));
    assert_eq!(outcome(mixed, pattern), Ok(()));
}

#[test]
fn equality_anchor_only_checks_present_keys() {
    let pattern =
        json!({"spec": {"containers": [{"=(securityContext)": {"=(privileged)": "false"}}]}});
    assert_eq!(
        outcome(pod(json!([{"name": "a"}])), pattern.clone()),
        Ok(())
    );
    let bad = pod(json!([{"name": "a", "securityContext": {"privileged": true}}]));
    assert_eq!(
        outcome(bad, pattern),
        Err((
            Mismatch::Fail,
            "/spec/containers/0/securityContext/privileged/".to_string()
        ))
    );
}

#[test]
fn existence_anchor_needs_one_match() {
    let pattern = json!({"spec": {"^(containers)": [{"image": "nginx*"}]}});
    assert_eq!(
        outcome(
            pod(json!([{"image": "busybox"}, {"image": "nginx:1"}])),
            pattern.clone()
        ),
        Ok(())
    );
    assert_eq!(
        outcome(pod(json!([{"image": "busybox"}])), pattern).map_err(|e| e.0),
        Err(Mismatch::Fail)
    );
}

#[test]
fn global_anchor_skips_the_rule() {
    let pattern = json!({"spec": {"containers": [{"<(image)": "*corp.com*"}], "imagePullSecrets": [{"name": "regcred"}]}});
    let other = pod(json!([{"image": "nginx"}]));
    assert_eq!(
        outcome(other, pattern.clone()).map_err(|e| e.0),
        Err(Mismatch::Skip)
    );
    let mut corp = pod(json!([{"image": "corp.com/app"}]));
    assert_eq!(
        outcome(corp.clone(), pattern.clone()).map_err(|e| e.0),
        Err(Mismatch::Fail)
    );
    corp["spec"]["imagePullSecrets"] = json!([{"name": "regcred"}]);
    assert_eq!(outcome(corp, pattern), Ok(()));
}

#[test]
fn star_requires_presence() {
    let pattern = json!({"metadata": {"labels": {"app": "*"}}});
    assert_eq!(outcome(pod(json!([])), pattern), Ok(()));
    let pattern = json!({"metadata": {"labels": {"team": "*"}}});
    assert_eq!(
        outcome(pod(json!([])), pattern).map_err(|e| e.0),
        Err(Mismatch::Fail)
    );
}

#[test]
fn metadata_wildcard_keys_expand() {
    let pattern = json!({"metadata": {"labels": {"app*": "?*"}}});
    assert_eq!(outcome(pod(json!([])), pattern), Ok(()));
    let pattern = json!({"metadata": {"labels": {"team*": "?*"}}});
    assert_eq!(
        outcome(pod(json!([])), pattern).map_err(|e| e.0),
        Err(Mismatch::Fail)
    );
}

#[test]
fn missing_anchor_key_turns_failure_into_error() {
    // The negation key never appears in the resource and a sibling fails: Kyverno reports error.
    let pattern = json!({"spec": {"X(hostIPC)": "null", "containers": [{"name": "x*"}]}});
    assert_eq!(
        outcome(pod(json!([{"name": "a"}])), pattern).map_err(|e| e.0),
        Err(Mismatch::Error)
    );
}

#[test]
fn structure_mismatch_fails() {
    let pattern = json!({"spec": {"securityContext": {"runAsNonRoot": true}}});
    assert_eq!(
        outcome(pod(json!([])), pattern),
        Err((Mismatch::Fail, "/spec/securityContext/".to_string()))
    );
}

#[test]
fn decimal_indexes() {
    for n in [0usize, 7, 10, 42, 1234, usize::MAX] {
        let mut s = String::from("/a/");
        super::push_decimal(&mut s, n);
        assert_eq!(s, format!("/a/{n}"));
    }
}

#[test]
fn merged_key_lookups_agree_with_the_full_walk() {
    use super::{Quick, quick};
    use crate::validate::pattern_tree::Node;
    // Maps of several keys are read in one sorted pass: keys absent, before, between and
    // after the resource's, repeated (`=(x)` beside `x`), and empty.
    let patterns = [
        json!({"=(b)": 1, "d": 2, "=(zz)": 3}),
        json!({"=(a)": 1, "a": 1}),
        json!({"=(a)": 2, "a": 1}),
        json!({"": 5, "b": 1}),
        json!({"X(c)": "null", "b": 1, "(d)": 2}),
        json!({"(d)": 3, "e": "?*"}),
        json!({"^(k)": [{"v": 1}], "b": 1}),
        json!({"b": 1, "d": 2, "f": "*", "g": "*"}),
    ];
    let resources = [
        json!({"a": 1, "b": 1, "d": 2, "e": "x", "f": "y"}),
        json!({"": 5, "b": 1, "c": null}),
        json!({"b": 1, "d": 3, "e": "", "k": [{"v": 1}]}),
        json!({"zz": 3, "d": 2, "b": 1}),
        json!({}),
    ];
    for p in &patterns {
        for r in &resources {
            let full = match_pattern(r, p).map_err(|e| e.kind);
            match quick(r, &Node::new(p)) {
                Some(Quick::Pass) => assert_eq!(full, Ok(()), "{p} on {r}"),
                Some(Quick::Skip) => assert_eq!(full, Err(Mismatch::Skip), "{p} on {r}"),
                Some(Quick::Fail) => assert!(
                    matches!(full, Err(Mismatch::Fail | Mismatch::Error)),
                    "{p} on {r}: {full:?}"
                ),
                None => {}
            }
        }
    }
}
