//! Policies from the cluster: edits and deletions within 2 s, a broken
//! policy's status, namespaced Policies and PolicyExceptions.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::PRIVILEGED;
use crate::support::manifests::{self, configmap, hardened_pod, privileged_pod};
use crate::support::{self, TENANT_NS, Test, blocked};

#[test]
fn policy_edit_takes_effect_within_two_seconds() {
    let Some(mut t) = Test::begin("edit") else {
        return;
    };
    t.policy(&manifests::color_policy("color", "red", "Fail"));
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    t.dry_run_until(&tenant, &configmap("probe", TENANT_NS, "red"), blocked);
    let blue = configmap("probe", TENANT_NS, "blue");
    let out = tenant.dry_run_create(&blue);
    assert!(out.ok, "blue is refused before the edit: {out}");

    // Same kinds, so the webhook configuration stays as it is: what is
    // measured is Palisade noticing the edit and swapping its policies.
    t.policy(&manifests::color_policy("color", "blue", "Fail"));
    let elapsed = time_until(&t, &blue, blocked);
    eprintln!(
        "e2e: edit: the edited policy was in effect {elapsed:?} after `kubectl apply` returned"
    );
    assert!(
        elapsed <= Duration::from_secs(2),
        "the edit took {elapsed:?} to take effect"
    );
    let out = tenant.dry_run_create(&configmap("probe", TENANT_NS, "red"));
    assert!(out.ok, "the old rule still applies after the edit: {out}");

    t.c.admin.must(&["delete", "clusterpolicy", "color"]);
    let elapsed = time_until(&t, &blue, |o| o.ok);
    eprintln!(
        "e2e: edit: the deleted policy stopped applying {elapsed:?} after `kubectl delete` returned"
    );
    assert!(
        elapsed <= Duration::from_secs(2),
        "the deletion took {elapsed:?} to take effect"
    );
}

/// Time from now until a dry run of `manifest` as the tenant satisfies
/// `done`, requests every 100 ms, measured to the end of the first request
/// that does (an upper bound of when the change took effect); 30 s at most.
fn time_until(t: &Test, manifest: &str, done: impl Fn(&support::Out) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let out = t.c.tenant.dry_run_create(manifest);
        let now = start.elapsed();
        if done(&out) {
            return now;
        }
        assert!(
            now < Duration::from_secs(30),
            "the change never took effect: {out}\n{}",
            t.palisade_log()
        );
        sleep(Duration::from_millis(100));
    }
}

#[test]
fn broken_policy_is_reported_in_its_status_and_does_not_disturb_the_others() {
    let Some(mut t) = Test::begin("broken") else {
        return;
    };
    t.policy(&t.repo_file(PRIVILEGED));
    t.policy(&manifests::broken_policy("broken-operator"));
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    let out = t.dry_run_until(&tenant, &privileged_pod("probe", TENANT_NS), blocked);
    assert!(
        blocked(&out),
        "the good policy does not apply next to a broken one: {out}\n{}",
        t.palisade_log()
    );
    let out = tenant.create(&hardened_pod("fine", TENANT_NS));
    assert!(
        out.ok,
        "a compliant Pod was refused next to a broken policy: {out}"
    );

    let broken = support::wait_ready_condition(&t, "broken-operator", "False");
    let message = broken["message"].as_str().unwrap_or("");
    assert!(
        message.contains("conditions.any[0].operator"),
        "the status does not name the field: {broken}"
    );
    let good = support::wait_ready_condition(&t, "disallow-privileged-containers", "True");
    assert_eq!(good["status"], "True", "{good}");
}

#[test]
fn namespaced_policy_and_policy_exception_come_from_the_cluster() {
    let Some(mut t) = Test::begin("namespaced") else {
        return;
    };
    let red = manifests::color_policy("no-red", "red", "Fail");
    t.policy(&manifests::namespaced(&red, "no-red", TENANT_NS));
    t.policy(&t.repo_file(PRIVILEGED));
    let exception = manifests::exception(
        "debugger-may-be-privileged",
        TENANT_NS,
        "disallow-privileged-containers",
        "privileged-containers",
        "debugger",
    );
    t.policy(&exception);
    t.start_palisade();
    let tenant = t.c.tenant.clone();

    // The namespaced Policy applies in its namespace only.
    let out = t.dry_run_until(&tenant, &configmap("paint", TENANT_NS, "red"), blocked);
    assert!(
        blocked(&out),
        "the tenant-a Policy did not apply in tenant-a: {out}"
    );
    assert!(
        out.stderr.contains("no-red"),
        "the denial does not name the Policy: {out}"
    );
    let out = t.c.admin.create(&configmap("paint", "e2e", "red"));
    assert!(
        out.ok,
        "the tenant-a Policy applied in another namespace: {out}"
    );

    // The exception admits its Pod and no other.
    let out = tenant.create(&privileged_pod("debugger", TENANT_NS));
    assert!(
        out.ok,
        "the PolicyException did not admit its Pod: {out}\n{}",
        t.palisade_log()
    );
    let out = tenant.create(&privileged_pod("other", TENANT_NS));
    assert!(
        blocked(&out),
        "a Pod the exception does not name was admitted: {out}"
    );
}
