//! End-to-end evaluation: levels, versions, controllers and Kyverno's messages.

use palisade_pss::{Level, Version, evaluate, failure_message};
use serde_json::{Value, json};

fn ids(outcome: &palisade_pss::Outcome) -> Vec<&'static str> {
    outcome.checks.iter().map(|c| c.id).collect()
}

fn compliant_restricted_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "ok"},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{
                "name": "init", "image": "busybox",
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}
            }],
            "containers": [{
                "name": "app", "image": "nginx",
                "ports": [{"containerPort": 80}],
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "runAsUser": 1000,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
                }
            }],
            "volumes": [
                {"name": "c", "configMap": {"name": "x"}},
                {"name": "p", "persistentVolumeClaim": {"claimName": "x"}}
            ]
        }
    })
}

#[test]
fn privileged_host_pod_fails_baseline_with_expected_checks() {
    let pod = json!({
        "kind": "Pod",
        "metadata": {"name": "bad"},
        "spec": {
            "hostPID": true,
            "hostNetwork": true,
            "hostIPC": true,
            "containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": true}}],
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}]
        }
    });
    let outcome = evaluate(Level::Baseline, Version::Latest, &pod, &[]).unwrap();
    assert!(!outcome.allowed);
    assert_eq!(
        ids(&outcome),
        ["hostNamespaces", "hostPathVolumes", "privileged"]
    );
    let controls: Vec<_> = outcome.checks.iter().map(|c| c.control).collect();
    assert_eq!(
        controls,
        [
            "Host Namespaces",
            "HostPath Volumes",
            "Privileged Containers"
        ]
    );
    let details: Vec<_> = outcome
        .checks
        .iter()
        .map(|c| (c.forbidden_reason, c.forbidden_detail.as_str()))
        .collect();
    assert_eq!(
        details,
        [
            (
                "host namespaces",
                "hostNetwork=true, hostPID=true, hostIPC=true"
            ),
            ("hostPath volumes", r#"volume "root""#),
            (
                "privileged",
                r#"container "c" must not set securityContext.privileged=true"#
            ),
        ]
    );
    assert_eq!(
        failure_message("baseline", "baseline", "latest", &outcome.message),
        concat!(
            r#"Validation rule 'baseline' failed. It violates PodSecurity "baseline:latest": "#,
            "(Forbidden reason: host namespaces, field error list: [",
            "spec.hostNetwork is forbidden, forbidden values found: true, ",
            "spec.hostPID is forbidden, forbidden values found: true, ",
            "spec.hostIPC is forbidden, forbidden values found: true])",
            "(Forbidden reason: hostPath volumes, field error list: [",
            "spec.volumes[0].hostPath is forbidden, forbidden values found: /])",
            "(Forbidden reason: privileged, field error list: [",
            "spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true])"
        )
    );
    // Restricted adds its own checks on top, including Volume Types next to HostPath Volumes.
    let restricted = evaluate(Level::Restricted, Version::Latest, &pod, &[]).unwrap();
    assert_eq!(
        ids(&restricted),
        [
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "hostNamespaces",
            "hostPathVolumes",
            "privileged",
            "restrictedVolumes",
            "runAsNonRoot",
            "seccompProfile_restricted",
        ]
    );
}

#[test]
fn compliant_restricted_pod_passes_at_every_version() {
    let pod = compliant_restricted_pod();
    let mut versions = vec![Version::Latest];
    versions.extend((0..=40).map(Version::V1));
    for version in versions {
        for level in [Level::Baseline, Level::Restricted] {
            let outcome = evaluate(level, version, &pod, &[]).unwrap();
            assert!(outcome.allowed, "{level}:{version}: {}", outcome.message);
            assert!(outcome.checks.is_empty() && outcome.message.is_empty());
        }
    }
}

#[test]
fn controllers_are_unwrapped_and_paths_reported_from_the_resource() {
    let template = json!({"spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]}});
    for kind in [
        "Deployment",
        "DaemonSet",
        "StatefulSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
    ] {
        let resource = json!({"kind": kind, "spec": {"template": template}});
        let outcome = evaluate(Level::Baseline, Version::Latest, &resource, &[]).unwrap();
        assert_eq!(ids(&outcome), ["privileged"], "{kind}");
        // Checks keep pod-relative paths; the message is resource-relative.
        let error = &outcome
            .checks
            .first()
            .unwrap()
            .errors
            .first()
            .unwrap()
            .field;
        assert_eq!(error, "spec.containers[0].securityContext.privileged");
        assert_eq!(
            outcome.message,
            "(Forbidden reason: privileged, field error list: [spec.template.spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true])"
        );
    }
    let cron =
        json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": template}}}});
    let outcome = evaluate(Level::Baseline, Version::Latest, &cron, &[]).unwrap();
    assert!(outcome.message.contains(
        "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged is forbidden"
    ));
}

#[test]
fn cronjob_reads_the_job_template_metadata() {
    let annotations = json!({"container.apparmor.security.beta.kubernetes.io/c": "unconfined"});
    let spec = json!({"containers": [{"name": "c", "image": "x"}]});
    // Annotations on the pod template are not looked at for a CronJob (Kyverno quirk).
    let on_pod_template = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {
        "metadata": {"annotations": annotations}, "spec": spec
    }}}}});
    assert!(
        evaluate(Level::Baseline, Version::Latest, &on_pod_template, &[])
            .unwrap()
            .allowed
    );
    let on_job_template = json!({"kind": "CronJob", "spec": {"jobTemplate": {
        "metadata": {"annotations": annotations},
        "spec": {"template": {"spec": spec}}
    }}});
    let outcome = evaluate(Level::Baseline, Version::Latest, &on_job_template, &[]).unwrap();
    assert_eq!(ids(&outcome), ["appArmorProfile"]);
    assert_eq!(
        outcome.message,
        "(Forbidden reason: forbidden AppArmor profile, field error list: [spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/c] is forbidden, forbidden values found: unconfined])"
    );
}

#[test]
fn windows_pods_are_exempt_from_linux_only_checks_from_1_25() {
    let pod = json!({"kind": "Pod", "spec": {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "c", "image": "x"}]
    }});
    let latest = evaluate(Level::Restricted, Version::Latest, &pod, &[]).unwrap();
    assert!(latest.allowed, "{}", latest.message);
    let v1_25 = evaluate(Level::Restricted, Version::V1(25), &pod, &[]).unwrap();
    assert!(v1_25.allowed);
    let v1_24 = evaluate(Level::Restricted, Version::V1(24), &pod, &[]).unwrap();
    assert_eq!(
        ids(&v1_24),
        [
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "seccompProfile_restricted"
        ]
    );
}

#[test]
fn pinned_versions_follow_kyverno() {
    let sysctl = |name: &str| json!({"kind": "Pod", "spec": {"securityContext": {"sysctls": [{"name": name, "value": "1"}]}}});
    let table = [
        ("net.ipv4.ip_local_reserved_ports", Version::V1(26), false),
        ("net.ipv4.ip_local_reserved_ports", Version::V1(27), true),
        ("net.ipv4.tcp_keepalive_probes", Version::V1(28), false),
        ("net.ipv4.tcp_keepalive_probes", Version::V1(29), true),
        ("net.ipv4.tcp_rmem", Version::V1(31), false),
        ("net.ipv4.tcp_rmem", Version::V1(32), true),
        ("net.ipv4.tcp_rmem", Version::Latest, true),
        ("kernel.msgmax", Version::Latest, false),
    ];
    for (name, version, allowed) in table {
        let outcome = evaluate(Level::Baseline, version, &sysctl(name), &[]).unwrap();
        assert_eq!(outcome.allowed, allowed, "{name} at {version}");
    }
    // SELinux container_engine_t is allowed from 1.31.
    let engine = json!({"kind": "Pod", "spec": {"securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}});
    assert!(
        !evaluate(Level::Baseline, Version::V1(30), &engine, &[])
            .unwrap()
            .allowed
    );
    assert!(
        evaluate(Level::Baseline, Version::V1(31), &engine, &[])
            .unwrap()
            .allowed
    );
    // Seccomp annotations count before 1.19 only.
    let annotated = json!({"kind": "Pod", "metadata": {"annotations": {
        "seccomp.security.alpha.kubernetes.io/pod": "unconfined"
    }}});
    assert!(
        !evaluate(Level::Baseline, Version::V1(18), &annotated, &[])
            .unwrap()
            .allowed
    );
    assert!(
        evaluate(Level::Baseline, Version::V1(19), &annotated, &[])
            .unwrap()
            .allowed
    );
    // Host probes were added in 1.34, yet Kyverno enforces them at older pinned versions too.
    let probe = json!({"kind": "Pod", "spec": {"containers": [{"name": "c", "readinessProbe": {"tcpSocket": {"host": "10.0.0.1"}}}]}});
    for version in [Version::V1(29), Version::V1(34), Version::Latest] {
        let outcome = evaluate(Level::Baseline, version, &probe, &[]).unwrap();
        assert_eq!(ids(&outcome), ["hostProbesAndHostLifecycle"], "{version}");
    }
}

#[test]
fn user_namespaces_follow_kyverno() {
    let pod = |host_users: Value, sc: Value| {
        json!({"kind": "Pod", "spec": {
            "hostUsers": host_users,
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "nginx", "image": "nginx", "securityContext": sc}]
        }})
    };
    let restricted_sc = |extra: Value| {
        let mut sc = json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}});
        if let (Some(sc), Some(extra)) = (sc.as_object_mut(), extra.as_object()) {
            sc.extend(extra.clone());
        }
        sc
    };
    let unmasked = restricted_sc(json!({"procMount": "Unmasked"}));
    let root = restricted_sc(json!({"runAsNonRoot": null, "runAsUser": 0}));
    let non_root_false = restricted_sc(json!({"runAsNonRoot": false}));
    let privileged = restricted_sc(json!({"privileged": true}));
    let table: [(Level, Version, Value, &[&str]); 15] = [
        (
            Level::Baseline,
            Version::Latest,
            pod(json!(false), unmasked.clone()),
            &[],
        ),
        (
            Level::Baseline,
            Version::Latest,
            pod(json!(true), unmasked.clone()),
            &["procMount"],
        ),
        (
            Level::Baseline,
            Version::Latest,
            pod(json!(null), unmasked.clone()),
            &["procMount"],
        ),
        (
            Level::Baseline,
            Version::V1(32),
            pod(json!(false), unmasked.clone()),
            &["procMount"],
        ),
        (
            Level::Restricted,
            Version::Latest,
            pod(json!(false), unmasked.clone()),
            &["procMount_restricted"],
        ),
        (
            Level::Restricted,
            Version::Latest,
            pod(json!(true), unmasked.clone()),
            &["procMount", "procMount_restricted"],
        ),
        (
            Level::Restricted,
            Version::V1(32),
            pod(json!(false), unmasked.clone()),
            &["procMount", "procMount_restricted"],
        ),
        (
            Level::Restricted,
            Version::Latest,
            pod(json!(false), root.clone()),
            &[],
        ),
        (
            Level::Restricted,
            Version::Latest,
            pod(json!(true), root.clone()),
            &["runAsNonRoot", "runAsUser"],
        ),
        (
            Level::Restricted,
            Version::Latest,
            pod(json!(null), root.clone()),
            &["runAsNonRoot", "runAsUser"],
        ),
        (
            Level::Restricted,
            Version::V1(32),
            pod(json!(false), root.clone()),
            &["runAsNonRoot", "runAsUser"],
        ),
        (
            Level::Restricted,
            Version::Latest,
            pod(json!(false), non_root_false.clone()),
            &[],
        ),
        (
            Level::Restricted,
            Version::V1(32),
            pod(json!(false), non_root_false),
            &["runAsNonRoot"],
        ),
        (
            Level::Restricted,
            Version::Latest,
            pod(json!(false), privileged),
            &["privileged"],
        ),
        (
            Level::Restricted,
            Version::V1(35),
            pod(json!(false), root),
            &[],
        ),
    ];
    for (level, version, resource, want) in table {
        let outcome = evaluate(level, version, &resource, &[]).unwrap();
        let mut got = ids(&outcome);
        got.sort_unstable();
        assert_eq!(got, want, "{level}:{version} {resource}");
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let table = [
        json!({"kind": "Service"}),
        json!({"kind": "Pod", "spec": {"containers": "nope"}}),
        json!({"kind": "Pod", "spec": {"containers": [{"securityContext": {"privileged": "true"}}]}}),
        json!({"kind": "Pod", "metadata": {"annotations": []}}),
        json!({"kind": "Deployment", "spec": {"template": 7}}),
        json!("not an object"),
        json!(null),
    ];
    for resource in table {
        assert!(
            evaluate(Level::Restricted, Version::Latest, &resource, &[]).is_err(),
            "{resource}"
        );
    }
    // Missing parts are defaults: an empty pod passes restricted.
    let empty = json!({"kind": "Pod"});
    assert!(
        evaluate(Level::Restricted, Version::Latest, &empty, &[])
            .unwrap()
            .allowed
    );
}
