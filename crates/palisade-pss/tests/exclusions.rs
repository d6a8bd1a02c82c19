//! Kyverno's `podSecurity.exclude` semantics, end to end.

use palisade_pss::{Exclude, Level, Outcome, Version, apply_exclusions, evaluate};
use serde_json::{Value, json};

fn exclude(control: &str, images: &[&str]) -> Exclude {
    Exclude {
        control_name: control.into(),
        images: images.iter().map(|s| s.to_string()).collect(),
        ..Exclude::default()
    }
}

fn exclude_field(control: &str, images: &[&str], field: &str, values: &[&str]) -> Exclude {
    Exclude {
        restricted_field: Some(field.into()),
        values: values.iter().map(|s| s.to_string()).collect(),
        ..exclude(control, images)
    }
}

fn run(level: Level, resource: &Value, excludes: &[Exclude]) -> Outcome {
    evaluate(level, Version::Latest, resource, excludes).expect("the resource evaluates")
}

fn ids(outcome: &Outcome) -> Vec<&'static str> {
    outcome.checks.iter().map(|c| c.id).collect()
}

fn fields(outcome: &Outcome, id: &str) -> Vec<String> {
    outcome
        .checks
        .iter()
        .filter(|c| c.id == id)
        .flat_map(|c| c.errors.iter().map(|e| e.field.clone()))
        .collect()
}

fn pod(spec: Value) -> Value {
    json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

#[test]
fn container_level_exclusion_by_image() {
    let resource = pod(json!({"containers": [
        {"name": "nginx", "image": "nginx:1.25", "securityContext": {"privileged": true}},
        {"name": "other", "image": "busybox", "securityContext": {"privileged": true}}
    ]}));
    let table: [(&[&str], bool); 6] = [
        (&["nginx:1.25"], false),
        (&["nginx*"], false),
        (&["ngin?:1.25"], false),
        (&["nginx"], true),
        (&["nginx*", "busy*"], false),
        (&["*"], false),
    ];
    for (images, other_still_fails) in table {
        let outcome = run(
            Level::Baseline,
            &resource,
            &[exclude("Privileged Containers", images)],
        );
        let expect_nginx_left = images == ["nginx"];
        let left = fields(&outcome, "privileged");
        assert_eq!(
            left.contains(&"spec.containers[0].securityContext.privileged".to_string()),
            expect_nginx_left,
            "{images:?}"
        );
        let other_left =
            left.contains(&"spec.containers[1].securityContext.privileged".to_string());
        let other_matched = images.iter().any(|i| *i == "*" || i.starts_with("busy"));
        assert_eq!(other_left, !other_matched, "{images:?}");
        assert_eq!(
            outcome.allowed,
            !expect_nginx_left && other_matched,
            "{images:?} {other_still_fails}"
        );
    }
}

#[test]
fn exclusion_matches_containers_by_name_across_indices() {
    // The excluded container sits at a different index in the probe than in the pod.
    let resource = pod(json!({
        "initContainers": [{"name": "init", "image": "tools", "securityContext": {"privileged": true}}],
        "containers": [
            {"name": "a", "image": "busybox", "securityContext": {"privileged": true}},
            {"name": "b", "image": "tools", "securityContext": {"privileged": true}}
        ]
    }));
    let outcome = run(
        Level::Baseline,
        &resource,
        &[exclude("Privileged Containers", &["tools"])],
    );
    assert_eq!(
        fields(&outcome, "privileged"),
        ["spec.containers[0].securityContext.privileged"]
    );
    assert_eq!(
        outcome.message,
        "(Forbidden reason: privileged, field error list: [spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true])"
    );
}

#[test]
fn restricted_field_and_values_select_what_is_exempted() {
    let resource = pod(json!({"containers": [
        {"name": "a", "image": "nginx", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}},
        {"name": "b", "image": "nginx", "securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}}}
    ]}));
    let field = "spec.containers[*].securityContext.capabilities.add";
    let table: [(Exclude, Vec<&str>); 5] = [
        // Every value of a's error matches; b's holds SYS_TIME too, so it stays.
        (
            exclude_field("Capabilities", &["nginx"], field, &["NET_ADMIN"]),
            vec!["spec.containers[1].securityContext.capabilities.add"],
        ),
        (
            exclude_field("Capabilities", &["nginx"], field, &["NET_ADMIN", "SYS_*"]),
            vec![],
        ),
        (
            exclude_field("Capabilities", &["nginx"], field, &["*"]),
            vec![],
        ),
        // Another field of the control excludes nothing here.
        (
            exclude_field(
                "Capabilities",
                &["nginx"],
                "spec.containers[*].securityContext.capabilities.drop",
                &["*"],
            ),
            vec![
                "spec.containers[0].securityContext.capabilities.add",
                "spec.containers[1].securityContext.capabilities.add",
            ],
        ),
        // Without restrictedField every field of the control is excluded.
        (exclude("Capabilities", &["nginx"]), vec![]),
    ];
    for (ex, left) in table {
        let outcome = run(Level::Baseline, &resource, std::slice::from_ref(&ex));
        assert_eq!(fields(&outcome, "capabilities_baseline"), left, "{ex:?}");
        assert_eq!(outcome.allowed, left.is_empty());
    }
}

#[test]
fn restricted_level_capabilities_need_both_checks_excluded() {
    let resource = pod(json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "a", "image": "nginx", "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}
        }}]
    }));
    let before = run(Level::Restricted, &resource, &[]);
    assert_eq!(
        ids(&before),
        ["capabilities_baseline", "capabilities_restricted"]
    );
    let field = "spec.containers[*].securityContext.capabilities.add";
    let outcome = run(
        Level::Restricted,
        &resource,
        &[exclude_field(
            "Capabilities",
            &["nginx"],
            field,
            &["NET_ADMIN"],
        )],
    );
    assert!(outcome.allowed, "{}", outcome.message);
}

#[test]
fn pod_level_exclusions() {
    let resource = pod(json!({
        "hostNetwork": true, "hostPID": true,
        "securityContext": {"sysctls": [{"name": "kernel.msgmax"}, {"name": "net.core.somaxconn"}]},
        "containers": [{"name": "a", "image": "nginx"}],
        "volumes": [{"name": "h", "hostPath": {"path": "/var/log"}}]
    }));
    let before = run(Level::Baseline, &resource, &[]);
    assert_eq!(
        ids(&before),
        ["hostNamespaces", "hostPathVolumes", "sysctls"]
    );
    let outcome = run(
        Level::Baseline,
        &resource,
        &[
            exclude("Host Namespaces", &[]),
            exclude("HostPath Volumes", &[]),
        ],
    );
    assert_eq!(ids(&outcome), ["sysctls"]);
    // One sysctl exempted by value, the other still fails.
    let field = "spec.securityContext.sysctls[*].name";
    let outcome = run(
        Level::Baseline,
        &resource,
        &[exclude_field("Sysctls", &[], field, &["kernel.*"])],
    );
    assert_eq!(
        fields(&outcome, "sysctls"),
        ["spec.securityContext.sysctls[1].name"]
    );
    assert!(outcome.message.contains(
        "(Forbidden reason: forbidden sysctls, field error list: [spec.securityContext.sysctls[1].name is forbidden, forbidden values found: net.core.somaxconn])"
    ));
    // A restrictedField of another control's field removes nothing.
    let outcome = run(
        Level::Baseline,
        &resource,
        &[exclude_field(
            "Host Namespaces",
            &[],
            "spec.hostPID",
            &["true"],
        )],
    );
    assert_eq!(fields(&outcome, "hostNamespaces"), ["spec.hostNetwork"]);
}

#[test]
fn pod_level_exclusion_of_a_container_control_removes_one_error() {
    // Kyverno evaluates a pod with one "fake" container: it raises one error per field, and
    // each raised error removes one matching error, so with two containers one is left.
    let resource = pod(json!({
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {"name": "a", "image": "x", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}},
            {"name": "b", "image": "y", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}
        ]
    }));
    let before = run(Level::Restricted, &resource, &[]);
    assert_eq!(ids(&before), ["runAsNonRoot"]);
    let outcome = run(
        Level::Restricted,
        &resource,
        &[exclude("Running as Non-root", &[])],
    );
    assert_eq!(ids(&outcome), ["runAsNonRoot"]);
    // Removal swaps the last error into the hole, as Kyverno's `remove` does.
    assert_eq!(
        fields(&outcome, "runAsNonRoot"),
        ["spec.containers[1].securityContext.runAsNonRoot"]
    );
    // Excluding it by images instead covers every matching container.
    let outcome = run(
        Level::Restricted,
        &resource,
        &[exclude("Running as Non-root", &["*"])],
    );
    assert!(outcome.allowed);
    // A privileged container is not exempted by a pod-level exclusion at all: the fake
    // container is not privileged.
    let privileged = pod(
        json!({"containers": [{"name": "a", "image": "x", "securityContext": {"privileged": true}}]}),
    );
    let outcome = run(
        Level::Baseline,
        &privileged,
        &[exclude("Privileged Containers", &[])],
    );
    assert_eq!(ids(&outcome), ["privileged"]);
}

#[test]
fn partial_exclusion_leaves_other_violations_failing() {
    let resource = pod(json!({
        "hostIPC": true,
        "containers": [
            {"name": "a", "image": "nginx", "ports": [{"hostPort": 80}], "securityContext": {"privileged": true}},
            {"name": "b", "image": "redis", "ports": [{"hostPort": 6379}]}
        ]
    }));
    let outcome = run(
        Level::Baseline,
        &resource,
        &[
            exclude("Host Ports", &["nginx"]),
            exclude("Privileged Containers", &["nginx"]),
        ],
    );
    assert_eq!(ids(&outcome), ["hostNamespaces", "hostPorts"]);
    assert_eq!(
        fields(&outcome, "hostPorts"),
        ["spec.containers[1].ports[0].hostPort"]
    );
    // The detail is upstream's, computed before exclusions.
    let ports = outcome.checks.iter().find(|c| c.id == "hostPorts").unwrap();
    assert_eq!(
        ports.forbidden_detail,
        r#"containers "a", "b" use hostPorts 6379, 80"#
    );
    assert_eq!(
        outcome.message,
        concat!(
            "(Forbidden reason: host namespaces, field error list: [spec.hostIPC is forbidden, forbidden values found: true])",
            "(Forbidden reason: hostPort, field error list: [spec.containers[1].ports[0].hostPort is forbidden, forbidden values found: 6379])"
        )
    );
}

#[test]
fn unknown_or_irrelevant_exclusions_change_nothing() {
    let resource = pod(
        json!({"hostPID": true, "containers": [{"name": "a", "image": "nginx", "securityContext": {"privileged": true}}]}),
    );
    let before = run(Level::Baseline, &resource, &[]);
    for ex in [
        exclude("Nope", &[]),
        exclude("Sysctls", &[]),
        exclude("Privileged Containers", &["redis"]),
        exclude_field("Host Namespaces", &[], "spec.hostNetwork", &["true"]),
        exclude_field("Host Namespaces", &[], "spec.hostPID", &["false"]),
    ] {
        assert_eq!(
            run(Level::Baseline, &resource, std::slice::from_ref(&ex)),
            before,
            "{ex:?}"
        );
    }
}

#[test]
fn proc_mount_exclusions_cover_both_checks() {
    let resource = pod(json!({
        "hostUsers": false,
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "nginx", "image": "nginx", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "procMount": "Unmasked"
        }}]
    }));
    assert_eq!(
        ids(&run(Level::Restricted, &resource, &[])),
        ["procMount_restricted"]
    );
    for ex in [
        exclude("/proc Mount Type", &["nginx"]),
        exclude_field(
            "/proc Mount Type",
            &["nginx"],
            "spec.containers[*].securityContext.procMount",
            &["Unmasked"],
        ),
    ] {
        assert!(run(Level::Restricted, &resource, &[ex]).allowed);
    }
    let v32 = evaluate(
        Level::Restricted,
        Version::V1(32),
        &resource,
        &[exclude("/proc Mount Type", &["nginx"])],
    )
    .unwrap();
    assert!(v32.allowed);
}

#[test]
fn policy_exception_entries_are_applied_afterwards() {
    let resource = json!({"kind": "Deployment", "spec": {"template": {"spec": {
        "hostNetwork": true,
        "containers": [{"name": "a", "image": "nginx", "securityContext": {"privileged": true}}]
    }}}});
    let rule = evaluate(
        Level::Baseline,
        Version::Latest,
        &resource,
        &[exclude("Host Namespaces", &[])],
    )
    .unwrap();
    assert_eq!(ids(&rule), ["privileged"]);
    let exception = [exclude("Privileged Containers", &["nginx"])];
    let after = apply_exclusions(
        Level::Baseline,
        Version::Latest,
        &resource,
        rule.checks.clone(),
        &exception,
    )
    .unwrap();
    assert!(after.allowed && after.message.is_empty());
    let unrelated = [exclude("Sysctls", &[])];
    let after = apply_exclusions(
        Level::Baseline,
        Version::Latest,
        &resource,
        rule.checks.clone(),
        &unrelated,
    )
    .unwrap();
    assert_eq!(after, rule);
    // Rule excludes then exception excludes equal one evaluation with both, in order.
    let both = evaluate(
        Level::Baseline,
        Version::Latest,
        &resource,
        &[
            exclude("Host Namespaces", &[]),
            exclude("Privileged Containers", &["nginx"]),
        ],
    )
    .unwrap();
    assert!(both.allowed);
}

#[test]
fn excludes_deserialize_from_policy_yaml_shapes() {
    let excludes: Vec<Exclude> = serde_json::from_value(json!([
        {"controlName": "Capabilities", "images": ["nginx*"],
         "restrictedField": "spec.containers[*].securityContext.capabilities.add", "values": ["NET_ADMIN"]},
        {"controlName": "Host Namespaces"}
    ]))
    .unwrap();
    let resource = pod(json!({
        "hostNetwork": true,
        "containers": [{"name": "a", "image": "nginx:1", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]
    }));
    assert!(run(Level::Baseline, &resource, &excludes).allowed);
    assert!(excludes.iter().all(|e| e.validate().is_empty()));
}
