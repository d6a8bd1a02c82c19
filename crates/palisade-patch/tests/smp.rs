//! Strategic merge patch behaviour, case by case (Kubernetes directives, kyaml list handling,
//! merge keys from the OpenAPI table, custom-resource fallback).

#![allow(clippy::unwrap_used)]

use palisade_patch::{PatchError, strategic_merge};
use serde_json::{Value, json};

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

fn merge_pod(spec: Value, patch_spec: Value) -> Value {
    strategic_merge(&pod(spec), &json!({"spec": patch_spec}), "v1", "Pod").unwrap()["spec"].clone()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn maps_merge_and_null_deletes() {
    let res = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}});
    let patch = json!({"metadata": {"labels": {"b": null, "c": "3"}}, "data": {"k2": "v2"}});
    let out = strategic_merge(&res, &patch, "v1", "ConfigMap").unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"a": "1", "c": "3"}));
    assert_eq!(out["data"], json!({"k": "v", "k2": "v2"}));
}

#[test]
fn containers_merge_by_name_patch_order_first() {
    let spec = json!({"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}, {"name": "c", "image": "c:1"}]});
    let out = merge_pod(spec, json!({"containers": [{"name": "b", "image": "b:2"}]}));
    // kyaml (and so Kyverno) puts patched elements first, then the untouched ones in order.
    assert_eq!(names(&out["containers"]), vec!["b", "a", "c"]);
    assert_eq!(out["containers"][0], json!({"name": "b", "image": "b:2"}));
    assert_eq!(out["containers"][2], json!({"name": "c", "image": "c:1"}));
}

#[test]
fn new_containers_are_prepended() {
    let spec = json!({"containers": [{"name": "app", "image": "app"}]});
    let out = merge_pod(
        spec,
        json!({"containers": [{"name": "sidecar", "image": "envoy"}]}),
    );
    assert_eq!(names(&out["containers"]), vec!["sidecar", "app"]);
}

#[test]
fn ports_match_on_container_port_and_protocol() {
    let spec = json!({"containers": [{"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}]}]});
    // No protocol in the patch: matched on containerPort alone.
    let out = merge_pod(
        spec.clone(),
        json!({"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "web"}]}]}),
    );
    assert_eq!(
        out["containers"][0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP", "name": "web"}])
    );
    // A different protocol is a different port (list-map keys containerPort+protocol).
    let out = merge_pod(
        spec,
        json!({"containers": [{"name": "a", "ports": [{"containerPort": 80, "protocol": "UDP"}]}]}),
    );
    assert_eq!(
        out["containers"][0]["ports"],
        json!([{"containerPort": 80, "protocol": "UDP"}, {"containerPort": 80, "protocol": "TCP", "name": "http"}])
    );
}

#[test]
fn ports_match_numbers_and_numeric_strings_alike() {
    let spec = json!({"containers": [{"name": "a", "ports": [{"containerPort": 8080}]}]});
    let out = merge_pod(
        spec,
        json!({"containers": [{"name": "a", "ports": [{"containerPort": "8080", "name": "x"}]}]}),
    );
    assert_eq!(out["containers"][0]["ports"].as_array().unwrap().len(), 1);
}

#[test]
fn volumes_and_volume_mounts() {
    let spec = json!({
        "containers": [{"name": "a", "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "data", "mountPath": "/cache"}]}],
        "volumes": [{"name": "data", "emptyDir": {}}]
    });
    let patch = json!({
        "containers": [{"name": "a", "volumeMounts": [{"name": "data", "mountPath": "/cache", "readOnly": true}, {"name": "tmp", "mountPath": "/tmp"}]}],
        "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory"}}]
    });
    let out = merge_pod(spec, patch);
    assert_eq!(
        out["containers"][0]["volumeMounts"],
        json!([{"name": "data", "mountPath": "/cache", "readOnly": true}, {"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/data"}])
    );
    assert_eq!(
        out["volumes"],
        json!([{"name": "tmp", "emptyDir": {"medium": "Memory"}}, {"name": "data", "emptyDir": {}}])
    );
}

#[test]
fn env_merges_by_name() {
    let spec = json!({"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]});
    let patch = json!({"containers": [{"name": "a", "env": [{"name": "Y", "value": "3"}, {"name": "Z", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]});
    let out = merge_pod(spec, patch);
    assert_eq!(
        out["containers"][0]["env"],
        json!([{"name": "Y", "value": "3"}, {"name": "Z", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, {"name": "X", "value": "1"}])
    );
}

#[test]
fn image_pull_secrets_union_by_name() {
    let out = merge_pod(
        json!({"imagePullSecrets": [{"name": "a"}]}),
        json!({"imagePullSecrets": [{"name": "b"}, {"name": "a"}]}),
    );
    assert_eq!(
        out["imagePullSecrets"],
        json!([{"name": "b"}, {"name": "a"}])
    );
}

#[test]
fn lists_without_strategy_are_replaced() {
    let spec = json!({"tolerations": [{"key": "a", "operator": "Exists"}], "containers": [{"name": "a", "args": ["x", "y"]}]});
    let patch = json!({"tolerations": [{"key": "b", "operator": "Exists"}], "containers": [{"name": "a", "args": ["z"]}]});
    let out = merge_pod(spec, patch);
    assert_eq!(
        out["tolerations"],
        json!([{"key": "b", "operator": "Exists"}])
    );
    assert_eq!(out["containers"][0]["args"], json!(["z"]));
}

#[test]
fn primitive_merge_lists_are_unioned() {
    let res = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["a", "b"]}});
    let out = strategic_merge(
        &res,
        &json!({"metadata": {"finalizers": ["c", "a"]}}),
        "v1",
        "ConfigMap",
    )
    .unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
}

#[test]
fn patch_delete_directive_on_list_element() {
    let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
    let out = merge_pod(
        spec.clone(),
        json!({"containers": [{"name": "b", "$patch": "delete"}]}),
    );
    assert_eq!(names(&out["containers"]), vec!["a"]);
    // Deleting an element that does not exist changes nothing.
    let out = merge_pod(
        spec,
        json!({"containers": [{"name": "zz", "$patch": "delete"}]}),
    );
    assert_eq!(names(&out["containers"]), vec!["a", "b"]);
}

#[test]
fn patch_replace_and_delete_directives_on_maps() {
    let spec = json!({"containers": [{"name": "a"}], "securityContext": {"runAsNonRoot": true, "fsGroup": 2}});
    let out = merge_pod(
        spec.clone(),
        json!({"securityContext": {"$patch": "replace", "runAsUser": 1}}),
    );
    assert_eq!(out["securityContext"], json!({"runAsUser": 1}));
    let out = merge_pod(
        spec.clone(),
        json!({"securityContext": {"$patch": "delete"}}),
    );
    assert!(out.get("securityContext").is_none());
    let out = merge_pod(
        spec,
        json!({"securityContext": {"$patch": "merge", "runAsUser": 1}}),
    );
    assert_eq!(
        out["securityContext"],
        json!({"runAsNonRoot": true, "fsGroup": 2, "runAsUser": 1})
    );
}

#[test]
fn list_level_directives() {
    let spec =
        json!({"containers": [{"name": "a"}, {"name": "b"}], "imagePullSecrets": [{"name": "s"}]});
    let out = merge_pod(
        spec.clone(),
        json!({"containers": [{"$patch": "replace"}, {"name": "x", "image": "y"}]}),
    );
    assert_eq!(out["containers"], json!([{"name": "x", "image": "y"}]));
    let out = merge_pod(spec, json!({"imagePullSecrets": [{"$patch": "delete"}]}));
    assert!(out.get("imagePullSecrets").is_none());
}

#[test]
fn retain_keys_drops_unlisted_fields() {
    let res = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let out = strategic_merge(&res, &patch, "apps/v1", "Deployment").unwrap();
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    let bad =
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}});
    let err = strategic_merge(&res, &bad, "apps/v1", "Deployment").unwrap_err();
    assert!(matches!(err, PatchError::InvalidDirective { .. }), "{err}");
    assert!(err.to_string().contains("rollingUpdate"), "{err}");
}

#[test]
fn delete_from_primitive_list() {
    let res = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}});
    let out = strategic_merge(&res, &patch, "v1", "Pod").unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "c"]));
    // On a missing list it adds nothing.
    let res = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
    let out = strategic_merge(&res, &patch, "v1", "Pod").unwrap();
    assert!(out["metadata"].get("finalizers").is_none());
}

#[test]
fn set_element_order() {
    let spec = json!({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]});
    let patch = json!({"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}], "containers": [{"name": "a", "image": "new"}]});
    let out = merge_pod(spec, patch);
    assert_eq!(names(&out["containers"]), vec!["c", "a", "b"]);
    assert_eq!(out["containers"][1]["image"], "new");
    assert!(out.get("$setElementOrder/containers").is_none());
}

#[test]
fn nested_merge_lists_inside_merged_elements() {
    let res = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]}}}});
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}}}});
    let out = strategic_merge(&res, &patch, "apps/v1", "Deployment").unwrap();
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "Y", "value": "2"}, {"name": "X", "value": "1"}])
    );
}

#[test]
fn service_ports_match_on_port() {
    let res = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}});
    let out = strategic_merge(
        &res,
        &json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
        "v1",
        "Service",
    )
    .unwrap();
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 80, "protocol": "TCP", "targetPort": 9090}])
    );
}

#[test]
fn errors_are_reported_with_paths() {
    let spec = json!({"containers": [{"name": "a"}]});
    let cases = [
        (
            json!({"spec": {"containers": {"name": "a"}}}),
            "spec.containers",
        ),
        (
            json!({"spec": {"securityContext": {"$patch": "frob"}}}),
            "unknown patch strategy \"frob\"",
        ),
        (
            json!({"spec": {"containers": [{"image": "x"}]}}),
            "spec.containers[0] has none of the merge keys name",
        ),
        (
            json!({"spec": {"containers": [{"$patch": "explode"}]}}),
            "unknown patch strategy",
        ),
        (
            json!({"metadata": {"$setElementOrder/finalizers": "x"}}),
            "must be a list",
        ),
    ];
    for (patch, want) in cases {
        let err = strategic_merge(&pod(spec.clone()), &patch, "v1", "Pod")
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{patch}: {err}");
    }
    assert!(strategic_merge(&json!([]), &json!({}), "v1", "Pod").is_err());
    assert!(strategic_merge(&pod(spec), &json!([]), "v1", "Pod").is_err());
}

#[test]
fn custom_resources_merge_maps_and_replace_lists() {
    let res = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {"a": "1"}},
        "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b"}], "size": 1, "gone": true}});
    let patch = json!({"metadata": {"labels": {"b": "2"}}, "spec": {"containers": [{"name": "a", "image": "y"}], "gone": null}});
    let out = strategic_merge(&res, &patch, "example.com/v1", "Widget").unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"a": "1", "b": "2"}));
    assert_eq!(
        out["spec"],
        json!({"containers": [{"name": "a", "image": "y"}], "size": 1})
    );
    assert!(!palisade_patch::is_known_kind("example.com/v1", "Widget"));
    assert!(palisade_patch::is_known_kind("apps/v1", "Deployment"));
}

#[test]
fn unknown_fields_of_known_kinds_replace_lists() {
    let out = merge_pod(
        json!({"extra": [{"name": "a", "v": 1}]}),
        json!({"extra": [{"name": "a", "w": 2}]}),
    );
    assert_eq!(out["extra"], json!([{"name": "a", "w": 2}]));
}

#[test]
fn resource_nulls_are_dropped_and_patch_nulls_never_added() {
    let res = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "creationTimestamp": null},
        "spec": {"template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": [{"name": "a", "resources": {}}]}}}});
    let patch = json!({"spec": {"template": {"metadata": {"labels": {"x": "y", "gone": null}}, "spec": {"dnsConfig": {"nameservers": ["1.1.1.1"], "searches": null}}}}});
    let out = strategic_merge(&res, &patch, "apps/v1", "Deployment").unwrap();
    assert_eq!(out["metadata"], json!({"name": "d"}));
    assert_eq!(
        out["spec"]["template"]["metadata"],
        json!({"labels": {"x": "y"}})
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["dnsConfig"],
        json!({"nameservers": ["1.1.1.1"]})
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["resources"],
        json!({})
    );
}

#[test]
fn new_subtrees_have_their_directives_resolved() {
    let out = merge_pod(
        json!({"containers": [{"name": "a"}]}),
        json!({"securityContext": {"$patch": "replace", "runAsUser": 1}, "imagePullSecrets": [{"$patch": "replace"}, {"name": "s"}]}),
    );
    assert_eq!(out["securityContext"], json!({"runAsUser": 1}));
    assert_eq!(out["imagePullSecrets"], json!([{"name": "s"}]));
    let out = merge_pod(
        json!({"containers": [{"name": "a"}]}),
        json!({"securityContext": {"$patch": "delete"}}),
    );
    assert!(out.get("securityContext").is_none());
}

#[test]
fn scalars_replace_and_type_changes_error() {
    let out = merge_pod(
        json!({"hostNetwork": false, "priority": 1}),
        json!({"hostNetwork": true, "priority": null}),
    );
    assert_eq!(out, json!({"hostNetwork": true}));
    let err = strategic_merge(
        &pod(json!({"hostNetwork": false})),
        &json!({"spec": {"hostNetwork": {"a": 1}}}),
        "v1",
        "Pod",
    )
    .unwrap_err();
    assert!(matches!(err, PatchError::KindMismatch { .. }), "{err}");
}

#[test]
fn deeply_nested_input_is_rejected_not_overflowed() {
    let mut patch = json!(1);
    for _ in 0..400 {
        patch = json!({ "a": patch });
    }
    let res = json!({"apiVersion": "example.com/v1", "kind": "W"});
    let err = strategic_merge(&res, &patch, "example.com/v1", "W").unwrap_err();
    assert!(matches!(err, PatchError::TooDeep { .. }), "{err}");
}

#[test]
fn retain_keys_inside_list_elements_switches_volume_source() {
    // What `kubectl apply` sends when a volume changes from emptyDir to a secret.
    let spec = json!({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]});
    let patch = json!({"volumes": [{"name": "v", "$retainKeys": ["name", "secret"], "secret": {"secretName": "s"}}]});
    let out = merge_pod(spec, patch);
    assert_eq!(
        out["volumes"],
        json!([{"name": "v", "secret": {"secretName": "s"}}, {"name": "w", "emptyDir": {}}])
    );
}

#[test]
fn delete_from_primitive_list_works_on_lists_without_strategy() {
    // apimachinery: "$deleteFromPrimitiveList should delete item from a list without merge
    // patch strategy", and it removes every duplicate.
    let spec = json!({"containers": [{"name": "a", "args": ["x", "y", "x", "z"]}]});
    let patch = json!({"containers": [{"name": "a", "$deleteFromPrimitiveList/args": ["x"]}]});
    let out = merge_pod(spec, patch);
    assert_eq!(out["containers"][0]["args"], json!(["y", "z"]));
}

#[test]
fn set_element_order_with_a_new_item() {
    // apimachinery: "add an item in a list and preserve order".
    let spec =
        json!({"containers": [{"name": "1", "x": "a"}, {"name": "2", "value": "2", "x": "b"}]});
    let patch = json!({
        "$setElementOrder/containers": [{"name": "3"}, {"name": "1"}, {"name": "2"}],
        "containers": [{"name": "3", "value": "3"}]
    });
    let out = merge_pod(spec, patch);
    assert_eq!(
        out["containers"],
        json!([{"name": "3", "value": "3"}, {"name": "1", "x": "a"}, {"name": "2", "value": "2", "x": "b"}])
    );
}

#[test]
fn set_element_order_on_primitive_lists() {
    let res = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"$setElementOrder/finalizers": ["c", "b", "a"]}});
    let out = strategic_merge(&res, &patch, "v1", "Pod").unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "b", "a"]));
}

#[test]
fn directives_work_for_custom_resources_too() {
    let res = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"a": {"x": 1}, "b": {"y": 2}}});
    let patch = json!({"spec": {"a": {"$patch": "delete"}, "b": {"$patch": "replace", "z": 3}}});
    let out = strategic_merge(&res, &patch, "example.com/v1", "Widget").unwrap();
    assert_eq!(out["spec"], json!({"b": {"z": 3}}));
}

#[test]
fn root_level_replace_and_delete() {
    let res = pod(json!({"containers": [{"name": "a"}]}));
    let out = strategic_merge(
        &res,
        &json!({"$patch": "replace", "kind": "Pod"}),
        "v1",
        "Pod",
    )
    .unwrap();
    assert_eq!(out, json!({"kind": "Pod"}));
    let out = strategic_merge(&res, &json!({"$patch": "delete"}), "v1", "Pod").unwrap();
    assert_eq!(out, json!({}));
}

#[test]
fn owned_patch_merges_like_a_borrowed_one() {
    use palisade_patch::strategic_merge_owned;
    let res = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "1", "b": null}},
        "spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "x", "ports": [{"containerPort": 80}, {}], "env": [{"name": "A", "value": "1"}]},
            {"name": "d", "image": "y", "args": ["1", "1"]}
        ], "volumes": [{"name": "v", "emptyDir": {}}]}}}});
    let patches = [
        json!({"metadata": {"labels": {"a": null, "c": "3"}, "annotations": {"x": "y", "e": {}}}}),
        json!({"spec": {"template": {"spec": {
            "containers": [
                {"name": "c", "env": [{"name": "B", "value": "2"}, {"name": "B", "value": "3"}]},
                {"name": "e", "image": "z", "ports": [{"containerPort": 1}, {"containerPort": 1}]}
            ],
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{"name": "i", "image": "busybox", "env": null}]
        }}}}),
        json!({"spec": {"template": {"spec": {
            "$retainKeys": ["containers"],
            "containers": [{"$patch": "replace"}, {"name": "only", "image": "q"}],
            "$setElementOrder/containers": [{"name": "only"}]
        }}}}),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "d", "$patch": "delete"}],
            "volumes": [{"name": "w", "configMap": {"name": "cm", "items": null}}]}}}}),
        json!({"spec": {"template": {"spec": {"containers": [{"image": "no-key"}]}}}}),
        json!({"spec": {"replicas": [1]}}),
    ];
    for patch in patches {
        let borrowed = strategic_merge(&res, &patch, "apps/v1", "Deployment");
        let owned = strategic_merge_owned(res.clone(), patch.clone(), "apps/v1", "Deployment");
        assert_eq!(format!("{owned:?}"), format!("{borrowed:?}"), "{patch}");
    }
}
