//! What never reaches Palisade (kube-system, its own namespace), what
//! happens while it is down or starting (Fail closed, Ignore open), and
//! certificate renewal without failed requests.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::PRIVILEGED;
use crate::support::manifests::{self, configmap, hardened_pod, privileged_pod};
use crate::support::{self, TENANT_NS, Test, blocked};

#[test]
fn requests_in_kube_system_and_palisades_namespace_never_reach_palisade() {
    let Some(mut t) = Test::begin("kube-system") else {
        return;
    };
    t.policy(&t.repo_file(PRIVILEGED));
    t.start_palisade();
    let admin = t.c.admin.clone();
    // The webhook is in place: the same Pod elsewhere is blocked.
    t.dry_run_until(&admin, &privileged_pod("probe", "e2e"), blocked);

    let before = t.palisade().metrics();
    for ns in ["kube-system", support::setup::PALISADE_NS] {
        let out = admin.create(&privileged_pod("system-agent", ns));
        assert!(out.ok, "a Pod in {ns} was refused: {out}");
    }
    let after = t.palisade().metrics();
    assert_eq!(
        support::admission_requests(&before),
        support::admission_requests(&after),
        "Palisade received a request for a Pod in kube-system or its own namespace"
    );
    let log = std::fs::read_to_string(t.log_path()).unwrap();
    assert!(
        !log.contains("system-agent"),
        "Palisade's log mentions the kube-system Pod"
    );

    // The counter does move for a request Palisade does see.
    let out = admin.create(&privileged_pod("system-agent", "e2e"));
    assert!(
        blocked(&out),
        "the same Pod outside kube-system was not blocked: {out}"
    );
    let later = t.palisade().metrics();
    assert!(
        support::admission_requests(&later) > support::admission_requests(&after),
        "metrics did not count a request"
    );
    // Palisade logs each review with the object's name: only the e2e one.
    let log = std::fs::read_to_string(t.log_path()).unwrap();
    let seen: Vec<&str> = log.lines().filter(|l| l.contains("system-agent")).collect();
    assert!(
        !seen.is_empty(),
        "Palisade's log names no reviewed object:\n{log}"
    );
    assert!(
        seen.iter().all(|l| !l.contains("kube-system")),
        "Palisade's log shows a kube-system review: {seen:?}"
    );
}

#[test]
fn killed_palisade_fails_closed_for_fail_policies_and_open_for_ignore_policies() {
    let Some(mut t) = Test::begin("fail-closed") else {
        return;
    };
    t.policy(&t.repo_file(PRIVILEGED)); // failurePolicy defaults to Fail
    t.policy(&manifests::color_policy(
        "no-red-configmaps",
        "red",
        "Ignore",
    ));
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    t.dry_run_until(&tenant, &privileged_pod("probe", TENANT_NS), blocked);
    t.dry_run_until(&tenant, &configmap("probe", TENANT_NS, "red"), blocked);

    check_webhook_configuration(&t);

    t.palisade().kill();
    // Pods (Fail): nothing gets in, compliant or not, while Palisade is down.
    for (name, pod) in [
        ("down-compliant", hardened_pod("down-compliant", TENANT_NS)),
        (
            "down-privileged",
            privileged_pod("down-privileged", TENANT_NS),
        ),
    ] {
        let out = tenant.create(&pod);
        assert!(
            !out.ok,
            "{name} was admitted while Palisade was down: {out}"
        );
        assert!(
            out.stderr.contains("failed calling webhook"),
            "{name} was refused for another reason: {out}"
        );
    }
    // ConfigMaps (Ignore): admitted unchecked, as the policy asked.
    let out = tenant.create(&configmap("down-red", TENANT_NS, "red"));
    assert!(
        out.ok,
        "the Ignore policy did not let the ConfigMap through: {out}"
    );

    t.palisade().restart();
    // While it starts (policies not loaded yet), nothing gets in unchecked:
    // four clients keep sending privileged Pods until it reports ready.
    let palisade = t.palisade.as_ref().unwrap();
    let refused = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..4)
            .map(|client| {
                let tenant = &tenant;
                scope.spawn(move || {
                    let mut sent = 0;
                    while sent < 50 && !palisade.is_ready() {
                        sent += 1;
                        let name = format!("starting-{client}-{sent}");
                        let out = tenant.create(&privileged_pod(&name, TENANT_NS));
                        assert!(
                            !out.ok,
                            "{name} was admitted while Palisade was starting: {out}"
                        );
                    }
                    sent
                })
            })
            .collect();
        senders
            .into_iter()
            .map(|s| s.join().unwrap())
            .sum::<usize>()
    });
    eprintln!("e2e: fail-closed: {refused} Pods refused while Palisade was starting");
    t.palisade().wait_ready(Duration::from_secs(60)).unwrap();
    let out = t.dry_run_until(&tenant, &hardened_pod("after", TENANT_NS), |o| o.ok);
    assert!(
        out.ok,
        "service did not resume after the restart: {out}\n{}",
        t.palisade_log()
    );
    let out = tenant.create(&privileged_pod("after-privileged", TENANT_NS));
    assert!(
        blocked(&out),
        "after the restart a privileged Pod was not blocked: {out}"
    );
    let out = tenant.create(&configmap("after-red", TENANT_NS, "red"));
    assert!(
        blocked(&out),
        "after the restart the red ConfigMap was not blocked: {out}"
    );

    let out = tenant.create(&hardened_pod("after-compliant", TENANT_NS));
    assert!(
        out.ok,
        "after the restart a compliant Pod was refused: {out}"
    );

    // Only what Palisade checked is stored: nothing from the outage.
    let pods = t.c.admin.must(&[
        "-n", TENANT_NS, "get", "pods", "-l", "e2e=true", "-o", "name",
    ]);
    assert_eq!(
        pods.trim(),
        "pod/after-compliant",
        "Pods stored other than the one admitted after the restart"
    );
}

/// Palisade's ValidatingWebhookConfiguration: a Fail webhook for Pods only
/// (the Enforce policy), an Ignore webhook for ConfigMaps only (the
/// `failurePolicy: Ignore` policy), no catch-all, kube-system and Palisade's
/// namespace excluded.
fn check_webhook_configuration(t: &Test) {
    let list = t.c.admin.get_json(&["validatingwebhookconfigurations"]);
    let hooks: Vec<&serde_json::Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|cfg| cfg["webhooks"].as_array().unwrap())
        .collect();
    let resources = |policy: &str| -> Vec<String> {
        let hook = hooks
            .iter()
            .find(|h| h["failurePolicy"] == policy)
            .unwrap_or_else(|| panic!("no {policy} webhook in {list}"));
        let excluded = hook["namespaceSelector"].to_string();
        assert!(
            excluded.contains("kube-system") && excluded.contains(support::setup::PALISADE_NS),
            "{hook}"
        );
        let rules = hook["rules"].as_array().unwrap();
        rules
            .iter()
            .flat_map(|r| r["resources"].as_array().unwrap())
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    let fail = resources("Fail");
    assert!(
        fail.contains(&"pods".to_string())
            && !fail.iter().any(|r| r == "configmaps" || r.contains('*')),
        "Fail webhook resources: {fail:?}"
    );
    let ignore = resources("Ignore");
    assert!(
        ignore.contains(&"configmaps".to_string())
            && !ignore.iter().any(|r| r == "pods" || r.contains('*')),
        "Ignore webhook resources: {ignore:?}"
    );
}

#[test]
fn serving_certificate_rotates_without_dropping_requests() {
    let Some(mut t) = Test::begin("rotation") else {
        return;
    };
    // Fresh CA and serving certificate, the latter valid for 30 s, so it is
    // renewed (at two thirds of its life) about 20 s after the start.
    let ns = support::setup::PALISADE_NS;
    t.c.admin.must(&["-n", ns, "delete", "secrets", "--all"]);
    t.policy(&t.repo_file(PRIVILEGED));
    let port = support::cluster::free_port();
    let mut args = support::setup::cluster_mode_args(t.c, port);
    args.extend(["--cert-validity".into(), "30s".into()]);
    t.start_with(args, port);
    let tenant = t.c.tenant.clone();
    let pod = privileged_pod("rotating", TENANT_NS);
    t.dry_run_until(&tenant, &pod, blocked);

    let first = support::http::peer_certificate(port).unwrap();
    let start = Instant::now();
    let (mut sent, mut after_rotation) = (0, 0);
    while after_rotation < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the serving certificate was not renewed within 60 s"
        );
        let out = tenant.dry_run_create(&pod);
        sent += 1;
        assert!(
            blocked(&out),
            "request {sent} during the rotation was not answered by Palisade: {out}\n{}",
            t.palisade_log()
        );
        if after_rotation > 0 || support::http::peer_certificate(port).unwrap() != first {
            after_rotation += 1;
        }
        sleep(Duration::from_millis(250));
    }
    eprintln!(
        "e2e: rotation: {sent} requests answered across the renewal ({:?})",
        start.elapsed()
    );
}
