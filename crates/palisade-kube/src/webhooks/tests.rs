//! Tests of the webhook configuration content.

use super::*;

fn res(group: &str, version: &str, kind: &str, plural: &str, subs: &[&str]) -> ApiResourceInfo {
    ApiResourceInfo {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        subresources: subs.iter().map(|s| s.to_string()).collect(),
        preferred: true,
    }
}

fn index() -> ResourceIndex {
    let mut old = res("apps", "v1beta1", "Deployment", "deployments", &[]);
    old.preferred = false;
    ResourceIndex {
        resources: vec![
            res(
                "",
                "v1",
                "Pod",
                "pods",
                &["status", "ephemeralcontainers", "exec"],
            ),
            res("", "v1", "ConfigMap", "configmaps", &[]),
            res(
                "apps",
                "v1",
                "Deployment",
                "deployments",
                &["scale", "status"],
            ),
            old,
            res("batch", "v1", "CronJob", "cronjobs", &["status"]),
            res("", "v1", "Event", "events", &[]),
            res("events.k8s.io", "v1", "Event", "events", &[]),
        ],
    }
}

fn settings(client: ClientTarget) -> WebhookSettings {
    WebhookSettings {
        validating_name: VALIDATING_NAME.into(),
        mutating_name: MUTATING_NAME.into(),
        client,
        excluded_namespaces: vec!["kube-system".into(), "palisade".into()],
        excluded_object_label: None,
    }
}

fn hook(
    phase: Phase,
    failure: FailurePolicy,
    timeout: i32,
    kinds: &[&str],
    ops: &[Operation],
) -> HookRule {
    HookRule {
        phase,
        failure,
        timeout,
        kinds: kinds
            .iter()
            .filter_map(|k| KindSelector::parse(k))
            .collect(),
        resources: BTreeSet::new(),
        operations: ops.iter().copied().collect(),
    }
}

#[test]
fn fail_and_ignore_webhooks_with_max_timeout() {
    let hooks = [
        hook(
            Phase::Validate,
            FailurePolicy::Fail,
            10,
            &["Pod", "apps/v1/Deployment"],
            &Operation::ALL,
        ),
        hook(
            Phase::Validate,
            FailurePolicy::Fail,
            15,
            &["CronJob"],
            &[Operation::Create],
        ),
        hook(
            Phase::Validate,
            FailurePolicy::Ignore,
            5,
            &["ConfigMap"],
            &[Operation::Create, Operation::Update],
        ),
    ];
    let d = desired(
        &hooks,
        &index(),
        &settings(ClientTarget::Url("https://127.0.0.1:9443/".into())),
        "CA",
    );
    let webhooks = d.validating["webhooks"].as_array().unwrap();
    assert_eq!(webhooks.len(), 2);
    let fail = &webhooks[0];
    assert_eq!(fail["name"], "validate-fail.palisade.io");
    assert_eq!(fail["failurePolicy"], "Fail");
    assert_eq!(fail["timeoutSeconds"], 15);
    assert_eq!(
        fail["clientConfig"]["url"],
        "https://127.0.0.1:9443/validate/fail"
    );
    assert_eq!(fail["clientConfig"]["caBundle"], "Q0E=");
    assert_eq!(fail["sideEffects"], "None");
    assert_eq!(fail["matchPolicy"], "Equivalent");
    assert_eq!(fail["admissionReviewVersions"], json!(["v1"]));
    assert_eq!(
        fail["namespaceSelector"]["matchExpressions"][0]["values"],
        json!(["kube-system", "palisade"])
    );
    // No object exclusion unless asked for: a tenant could label their own Pod.
    assert!(fail.get("objectSelector").is_none());
    assert_eq!(
        fail["rules"],
        json!([
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE", "DELETE", "CONNECT"], "resources": ["pods"], "scope": "*"},
            {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE", "DELETE", "CONNECT"], "resources": ["deployments"], "scope": "*"},
            {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["cronjobs"], "scope": "*"},
        ])
    );
    let ignore = &webhooks[1];
    assert_eq!(ignore["name"], "validate-ignore.palisade.io");
    assert_eq!(ignore["timeoutSeconds"], 5);
    assert_eq!(
        ignore["clientConfig"]["url"],
        "https://127.0.0.1:9443/validate/ignore"
    );
    assert_eq!(ignore["rules"][0]["resources"], json!(["configmaps"]));
    assert_eq!(d.mutating["webhooks"], json!([]));
    assert!(d.unresolved.is_empty());
}

#[test]
fn same_operations_share_a_rule_and_subresources_resolve() {
    let hooks = [hook(
        Phase::Mutate,
        FailurePolicy::Fail,
        10,
        &[
            "Pod",
            "ConfigMap",
            "Pod/ephemeralcontainers",
            "Deployment/scale",
            "Pod/nothing",
            "Widget",
        ],
        &[Operation::Create, Operation::Update],
    )];
    let svc = ClientTarget::Service {
        namespace: "palisade".into(),
        name: "palisade".into(),
        port: 443,
    };
    let d = desired(&hooks, &index(), &settings(svc), "CA");
    let hooks = d.mutating["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["reinvocationPolicy"], "IfNeeded");
    assert_eq!(hooks[0]["clientConfig"]["service"]["path"], "/mutate/fail");
    assert_eq!(hooks[0]["clientConfig"]["service"]["port"], 443);
    assert_eq!(
        hooks[0]["rules"][0]["resources"],
        json!(["configmaps", "pods", "pods/ephemeralcontainers"])
    );
    assert_eq!(
        hooks[0]["rules"][1]["resources"],
        json!(["deployments/scale"])
    );
    assert_eq!(
        d.unresolved,
        vec!["*/*/Pod/nothing".to_string(), "*/*/Widget".to_string()]
    );
    assert_eq!(d.validating["webhooks"], json!([]));
    assert_eq!(d.mutating["metadata"]["name"], MUTATING_NAME);
}

#[test]
fn kinds_resolve_by_group_version_and_wildcard() {
    let idx = index();
    let names = |k: &str| -> Vec<String> {
        idx.resolve(&KindSelector::parse(k).unwrap())
            .into_iter()
            .map(|t| format!("{}/{}/{}", t.group, t.version, t.resource))
            .collect()
    };
    assert_eq!(
        names("Event"),
        vec!["/v1/events", "events.k8s.io/v1/events"]
    );
    assert_eq!(
        names("apps/v1beta1/Deployment"),
        vec!["apps/v1beta1/deployments"]
    );
    assert_eq!(names("Deployment"), vec!["apps/v1/deployments"]);
    assert_eq!(names("*"), vec!["*/*/*"]);
    assert_eq!(names("Pod/*"), vec!["/v1/pods/*"]);
    assert!(names("extensions/v1/Deployment").is_empty());
}

#[test]
fn each_webhook_receives_what_its_own_policies_match() {
    // A Pod request matched by Fail and Ignore policies goes to both webhooks: each evaluates
    // only its own policies, so neither may drop what the other also receives.
    let hooks = [
        hook(
            Phase::Validate,
            FailurePolicy::Fail,
            10,
            &["Pod"],
            &[Operation::Create, Operation::Update],
        ),
        hook(
            Phase::Validate,
            FailurePolicy::Ignore,
            20,
            &["Pod", "ConfigMap"],
            &Operation::ALL,
        ),
    ];
    let d = desired(
        &hooks,
        &index(),
        &settings(ClientTarget::Url("https://x".into())),
        "CA",
    );
    let v = d.validating["webhooks"].as_array().unwrap();
    assert_eq!(v[0]["name"], "validate-fail.palisade.io");
    assert_eq!(v[0]["timeoutSeconds"], 10);
    assert_eq!(
        v[0]["rules"],
        json!([
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"], "scope": "*"},
        ])
    );
    assert_eq!(v[1]["timeoutSeconds"], 20);
    assert_eq!(
        v[1]["rules"],
        json!([
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE", "DELETE", "CONNECT"], "resources": ["configmaps", "pods"], "scope": "*"},
        ])
    );
}

#[test]
fn a_pod_exec_policy_registers_the_subresource_for_connect() {
    let hooks = [hook(
        Phase::Validate,
        FailurePolicy::Fail,
        10,
        &["Pod/exec"],
        &[Operation::Connect],
    )];
    let d = desired(
        &hooks,
        &index(),
        &settings(ClientTarget::Url("https://x".into())),
        "CA",
    );
    assert_eq!(
        d.validating["webhooks"][0]["rules"],
        json!([
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CONNECT"], "resources": ["pods/exec"], "scope": "*"},
        ])
    );
    assert!(d.unresolved.is_empty());
}

#[test]
fn no_hooks_means_no_webhooks() {
    let d = desired(
        &[],
        &index(),
        &settings(ClientTarget::Url("https://x".into())),
        "CA",
    );
    assert_eq!(d.validating["webhooks"], json!([]));
    assert_eq!(d.mutating["webhooks"], json!([]));
    assert_eq!(d.validating["kind"], "ValidatingWebhookConfiguration");
}

#[test]
fn object_label_exclusion_is_opt_in() {
    let hooks = [hook(
        Phase::Validate,
        FailurePolicy::Fail,
        10,
        &["Pod"],
        &Operation::ALL,
    )];
    let url = || ClientTarget::Url("https://127.0.0.1:9443".into());
    let off = desired(&hooks, &index(), &settings(url()), "Q0E=");
    assert!(
        off.validating["webhooks"][0]
            .get("objectSelector")
            .is_none()
    );
    let mut on = settings(url());
    on.excluded_object_label = Some((EXCLUDE_LABEL.into(), "true".into()));
    let with = desired(&hooks, &index(), &on, "Q0E=");
    assert_eq!(
        with.validating["webhooks"][0]["objectSelector"],
        json!({"matchExpressions": [{"key": "palisade.io/exclude", "operator": "NotIn", "values": ["true"]}]})
    );
}
