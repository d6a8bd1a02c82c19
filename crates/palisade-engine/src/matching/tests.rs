use std::collections::BTreeMap;

use palisade_api::matching::MatchResources;
use serde_json::{Value, json};

use super::*;

fn input_for<'a>(
    resource: &'a Value,
    gvk: &'a Gvk,
    request: &'a RequestInfo,
    ns: Option<&'a BTreeMap<String, String>>,
) -> MatchInput<'a> {
    MatchInput {
        resource,
        gvk,
        subresource: "",
        operation: "CREATE",
        namespace_labels: ns,
        request,
    }
}

fn matches(block: Value, exclude: Option<Value>, resource: &Value) -> bool {
    let m: MatchResources = serde_json::from_value(block).unwrap();
    let e: Option<MatchResources> = exclude.map(|e| serde_json::from_value(e).unwrap());
    let gvk = Gvk::of(resource);
    let request = RequestInfo::default();
    let mut labels = BTreeMap::new();
    labels.insert("env".to_string(), "prod".to_string());
    rule_matches(
        &m,
        e.as_ref(),
        None,
        &input_for(resource, &gvk, &request, Some(&labels)),
    )
    .is_ok()
}

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web-1", "namespace": "team-a", "labels": {"app": "web"}, "annotations": {"a/b": "c"}}})
}

#[test]
fn kinds() {
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
    for (kinds, resource, want) in [
        (json!(["Pod"]), pod(), true),
        (json!(["v1/Pod"]), pod(), true),
        (json!(["apps/v1/Deployment"]), deploy.clone(), true),
        (json!(["apps/*/Deployment"]), deploy.clone(), true),
        (json!(["v1/Deployment"]), deploy.clone(), true),
        (json!(["batch/v1/Deployment"]), deploy.clone(), false),
        (json!(["Pod", "Deployment"]), deploy.clone(), true),
        (json!(["P*"]), pod(), true),
        (json!(["*"]), deploy, true),
        (json!(["Pod/exec"]), pod(), false),
    ] {
        assert_eq!(
            matches(
                json!({"any": [{"resources": {"kinds": kinds}}]}),
                None,
                &resource
            ),
            want,
            "{kinds}"
        );
    }
}

#[test]
fn names_namespaces_selectors() {
    let cases = [
        (json!({"kinds": ["Pod"], "names": ["web-?"]}), true),
        (json!({"kinds": ["Pod"], "names": ["web-??"]}), false),
        (json!({"kinds": ["Pod"], "name": "web*"}), true),
        (json!({"kinds": ["Pod"], "namespaces": ["team-*"]}), true),
        (
            json!({"kinds": ["Pod"], "namespaces": ["kube-system"]}),
            false,
        ),
        (
            json!({"kinds": ["Pod"], "selector": {"matchLabels": {"app": "web"}}}),
            true,
        ),
        (
            json!({"kinds": ["Pod"], "selector": {"matchLabels": {"app": "w*"}}}),
            true,
        ),
        (
            json!({"kinds": ["Pod"], "selector": {"matchLabels": {"*": "*"}}}),
            true,
        ),
        (
            json!({"kinds": ["Pod"], "selector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}}),
            false,
        ),
        (
            json!({"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "prod"}}}),
            true,
        ),
        (
            json!({"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "dev"}}}),
            false,
        ),
        (json!({"kinds": ["Pod"], "annotations": {"a/*": "c"}}), true),
        (json!({"kinds": ["Pod"], "operations": ["UPDATE"]}), false),
    ];
    for (resources, want) in cases {
        assert_eq!(
            matches(json!({"any": [{"resources": resources}]}), None, &pod()),
            want,
            "{resources}"
        );
    }
}

#[test]
fn any_all_and_exclude() {
    let any =
        json!({"any": [{"resources": {"kinds": ["Service"]}}, {"resources": {"kinds": ["Pod"]}}]});
    assert!(matches(any.clone(), None, &pod()));
    let all =
        json!({"all": [{"resources": {"kinds": ["Service"]}}, {"resources": {"kinds": ["Pod"]}}]});
    assert!(!matches(all, None, &pod()));
    let exclude_any = json!({"any": [{"resources": {"namespaces": ["team-a"]}}]});
    assert!(!matches(any.clone(), Some(exclude_any), &pod()));
    let exclude_all = json!({"all": [{"resources": {"namespaces": ["team-a"]}}, {"resources": {"names": ["other"]}}]});
    assert!(matches(any, Some(exclude_all), &pod()));
    let legacy = json!({"resources": {"kinds": ["Pod"]}});
    assert!(matches(legacy, None, &pod()));
    assert!(!matches(json!({}), None, &pod()));
}

#[test]
fn subjects_and_roles() {
    let m: MatchResources =
        serde_json::from_value(json!({"any": [{"resources": {"kinds": ["Pod"]},
        "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}]}]}))
        .unwrap();
    let resource = pod();
    let gvk = Gvk::of(&resource);
    let mut request = RequestInfo::default();
    request.user_info.username = "system:serviceaccount:ci:builder".into();
    assert!(rule_matches(&m, None, None, &input_for(&resource, &gvk, &request, None)).is_ok());
    request.user_info.username = "alice".into();
    assert!(rule_matches(&m, None, None, &input_for(&resource, &gvk, &request, None)).is_err());
    let roles: MatchResources = serde_json::from_value(
        json!({"any": [{"resources": {"kinds": ["Pod"]}, "clusterRoles": ["cluster-admin"]}]}),
    )
    .unwrap();
    request.cluster_roles = vec!["cluster-admin".into()];
    assert!(
        rule_matches(
            &roles,
            None,
            None,
            &input_for(&resource, &gvk, &request, None)
        )
        .is_ok()
    );
}

#[test]
fn namespaced_policy_only_matches_its_namespace() {
    let m: MatchResources =
        serde_json::from_value(json!({"any": [{"resources": {"kinds": ["Pod"]}}]})).unwrap();
    let resource = pod();
    let gvk = Gvk::of(&resource);
    let request = RequestInfo::default();
    assert!(
        rule_matches(
            &m,
            None,
            Some("team-a"),
            &input_for(&resource, &gvk, &request, None)
        )
        .is_ok()
    );
    assert!(
        rule_matches(
            &m,
            None,
            Some("team-b"),
            &input_for(&resource, &gvk, &request, None)
        )
        .is_err()
    );
}

#[test]
fn required_kinds_only_when_every_way_to_match_names_plain_kinds() {
    let cases = [
        (
            json!({"any": [{"resources": {"kinds": ["Pod"]}}]}),
            Some(vec!["Pod"]),
        ),
        (
            json!({"any": [{"resources": {"kinds": ["Deployment", "Job"]}},
                           {"resources": {"kinds": ["CronJob"]}}]}),
            Some(vec!["Deployment", "Job", "CronJob"]),
        ),
        // A filter without kinds may match any kind.
        (
            json!({"any": [{"resources": {"kinds": ["Pod"]}},
                        {"resources": {"names": ["x"]}}]}),
            None,
        ),
        (
            json!({"any": [{"resources": {"kinds": ["apps/v1/Deployment"]}}]}),
            None,
        ),
        (
            json!({"any": [{"resources": {"kinds": ["Pod/exec"]}}]}),
            None,
        ),
        (json!({"any": [{"resources": {"kinds": ["*"]}}]}), None),
        (
            json!({"all": [{"resources": {"names": ["x"]}},
                        {"resources": {"kinds": ["Pod"]}}]}),
            Some(vec!["Pod"]),
        ),
        (
            json!({"resources": {"kinds": ["Service"]}}),
            Some(vec!["Service"]),
        ),
        (json!({"subjects": [{"kind": "User", "name": "u"}]}), None),
        (
            json!({"any": [], "resources": {"kinds": ["Pod"]}}),
            Some(vec!["Pod"]),
        ),
    ];
    for (m, want) in cases {
        let parsed: MatchResources = serde_json::from_value(m.clone()).unwrap();
        let want = want.map(|k| k.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(super::required_kinds(&parsed), want, "{m}");
    }
}

#[test]
fn kinds_alone_decide_only_plain_kind_filters() {
    let m = |v: Value| -> MatchResources { serde_json::from_value(v).unwrap() };
    let alone = |v: Value| selects_by_kinds_alone(&m(v));
    assert!(alone(json!({"any": [{"resources": {"kinds": ["Pod"]}}]})));
    assert!(alone(json!({"any": [{"resources": {"kinds": ["Pod"]}},
                                 {"resources": {"kinds": ["Deployment", "Job"]}}]})));
    assert!(!alone(
        json!({"any": [{"resources": {"kinds": ["apps/v1/Deployment"]}}]})
    ));
    assert!(!alone(
        json!({"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["a"]}}]})
    ));
    assert!(!alone(
        json!({"any": [{"resources": {"kinds": ["Pod"]}, "roles": ["r"]}]})
    ));
    assert!(!alone(
        json!({"any": [{"resources": {"kinds": ["Pod"]}}, {"resources": {}}]})
    ));
    assert!(!alone(json!({"all": [{"resources": {"kinds": ["Pod"]}}]})));
    assert!(!alone(json!({"resources": {"kinds": ["Pod"]}})));
    // What rule_matches decides for such a rule on a resource of a named kind.
    let gvk = Gvk {
        group: String::new(),
        version: "v1".into(),
        kind: "Pod".into(),
    };
    let rule = m(json!({"any": [{"resources": {"kinds": ["Pod"]}}]}));
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
    let request = RequestInfo::default();
    for sub in ["", "ephemeralcontainers", "exec", "status"] {
        let mut input = input_for(&pod, &gvk, &request, None);
        input.subresource = sub;
        assert_eq!(
            rule_matches(&rule, None, None, &input).is_ok(),
            kinds_alone_match(&gvk, sub),
            "{sub}"
        );
    }
}
