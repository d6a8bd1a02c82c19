//! What a request gets: the attack denied naming each policy and rule, a
//! compliant Pod admitted, autogen for Deployments, Audit warnings, mutation
//! defaults on the stored object, and the same through file mode.

use crate::support::manifests::{
    self, attack_pod, hardened_pod, plain_pod, privileged_deployment, privileged_pod,
};
use crate::support::{self, TENANT_NS, Test, blocked};
use crate::{BASELINE, PRIVILEGED};

#[test]
fn tenant_attack_pod_is_denied_naming_each_policy_and_compliant_pod_is_admitted() {
    let Some(mut t) = Test::begin("attack") else {
        return;
    };
    let baseline = manifests::policy_dir(&t.c.repo, BASELINE);
    for policy in &baseline {
        assert!(
            policy.contains("failureAction: Enforce"),
            "a bundled baseline policy is not in Enforce:\n{policy}"
        );
    }
    for policy in &baseline {
        t.policy(policy);
    }
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    let attack = attack_pod("node-shell", TENANT_NS);
    t.dry_run_until(&tenant, &attack, blocked);

    let out = tenant.create(&attack);
    assert!(
        blocked(&out),
        "the attack Pod was not blocked: {out}\n{}",
        t.palisade_log()
    );
    for needle in [
        "Pod/tenant-a/node-shell",
        "disallow-host-namespaces",
        "host-namespaces",
        "disallow-host-path",
        "host-path",
        "disallow-privileged-containers",
        "privileged-containers",
    ] {
        assert!(
            out.stderr.contains(needle),
            "the denial does not name {needle}: {}",
            out.stderr
        );
    }
    let get =
        t.c.admin
            .run(&["-n", TENANT_NS, "get", "pod", "node-shell"]);
    assert!(
        !get.ok && get.stderr.contains("NotFound"),
        "the attack Pod was stored: {get}"
    );

    let out = tenant.create(&hardened_pod("web", TENANT_NS));
    assert!(
        out.ok,
        "the compliant Pod was not admitted: {out}\n{}",
        t.palisade_log()
    );
    t.c.admin.must(&["-n", TENANT_NS, "get", "pod", "web"]);
}

#[test]
fn deployment_with_privileged_template_is_denied_through_autogen() {
    let Some(mut t) = Test::begin("autogen") else {
        return;
    };
    t.policy(&t.repo_file(PRIVILEGED));
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    let deployment = privileged_deployment("privileged-app", TENANT_NS);
    t.dry_run_until(&tenant, &deployment, blocked);

    let out = tenant.create(&deployment);
    assert!(
        blocked(&out),
        "the Deployment was not blocked: {out}\n{}",
        t.palisade_log()
    );
    for needle in [
        "Deployment/tenant-a/privileged-app",
        "disallow-privileged-containers",
        "autogen-privileged-containers",
    ] {
        assert!(
            out.stderr.contains(needle),
            "the denial does not name {needle}: {}",
            out.stderr
        );
    }
}

#[test]
fn audit_policy_admits_and_kubectl_shows_the_warning() {
    let Some(mut t) = Test::begin("audit") else {
        return;
    };
    let audit = t
        .repo_file(PRIVILEGED)
        .replace("failureAction: Enforce", "failureAction: Audit");
    t.policy(&audit);
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    let pod = privileged_pod("audited", TENANT_NS);
    let warned = |o: &support::Out| o.ok && o.stderr.contains("disallow-privileged-containers");
    t.dry_run_until(&tenant, &pod, warned);

    let out = tenant.create(&pod);
    assert!(
        out.ok,
        "an Audit policy denied the Pod: {out}\n{}",
        t.palisade_log()
    );
    assert!(
        out.stderr.contains("Warning:"),
        "kubectl showed no warning: {out}"
    );
    assert!(
        out.stderr.contains("disallow-privileged-containers"),
        "the warning does not name the policy: {out}"
    );
    t.c.admin.must(&["-n", TENANT_NS, "get", "pod", "audited"]);
}

#[test]
fn mutation_defaults_appear_on_the_stored_pod() {
    let Some(mut t) = Test::begin("mutate") else {
        return;
    };
    t.policy(&t.repo_file(
        "policies/multi-tenancy/add-default-security-context/add-default-security-context.yaml",
    ));
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    let pod = plain_pod("defaulted", TENANT_NS);
    t.dry_run_until(&tenant, &pod, |o| {
        o.ok && o.stdout.contains("RuntimeDefault")
    });

    let out = tenant.create(&pod);
    assert!(
        out.ok,
        "the Pod was not admitted: {out}\n{}",
        t.palisade_log()
    );
    let stored = t.c.admin.get_json(&["-n", TENANT_NS, "pod", "defaulted"]);
    let spec = &stored["spec"];
    assert_eq!(
        spec["securityContext"]["runAsNonRoot"], true,
        "stored spec: {spec}"
    );
    assert_eq!(
        spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
        "stored spec: {spec}"
    );
    for container in spec["containers"].as_array().unwrap() {
        assert_eq!(
            container["securityContext"]["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{container}"
        );
    }
}

#[test]
fn file_mode_serves_policies_from_files_to_the_apiserver() {
    let Some(mut t) = Test::begin("file-mode") else {
        return;
    };
    // `palisade serve --policies DIR --tls-cert F --tls-key F`, no cluster
    // access: the webhook configuration is the user's (here the harness's).
    let port = support::cluster::free_port();
    let dir = t.c.dir.join("e2e-file-mode");
    let args = support::filemode::args(&dir, &[t.c.repo.join(BASELINE)], port);
    t.start_with(args, port);
    support::filemode::register(t.c, &dir, port);
    let tenant = t.c.tenant.clone();
    let attack = attack_pod("node-shell", TENANT_NS);
    t.dry_run_until(&tenant, &attack, blocked);

    let out = tenant.create(&attack);
    assert!(
        blocked(&out),
        "the attack Pod was not blocked: {out}\n{}",
        t.palisade_log()
    );
    assert!(
        out.stderr.contains("disallow-privileged-containers"),
        "{out}"
    );
    let out = tenant.create(&hardened_pod("web", TENANT_NS));
    assert!(
        out.ok,
        "the compliant Pod was not admitted: {out}\n{}",
        t.palisade_log()
    );
}

/// A `Pod/exec` ClusterPolicy, as Kyverno's sample policies write them.
const DENY_EXEC: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: deny-exec
spec:
  background: false
  rules:
    - name: no-exec
      match:
        any:
          - resources:
              kinds: ["Pod/exec"]
              operations: ["CONNECT"]
      validate:
        failureAction: Enforce
        message: "exec into {{ request.name }} is not allowed"
        deny:
          conditions:
            any:
              - key: "{{ request.operation }}"
                operator: Equals
                value: CONNECT
"#;

#[test]
fn kubectl_exec_is_denied_by_a_pod_exec_policy() {
    let Some(mut t) = Test::begin("exec") else {
        return;
    };
    t.policy(DENY_EXEC);
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    // Only the subresource is registered: Pods themselves are admitted.
    let out = tenant.create(&plain_pod("shell-target", TENANT_NS));
    assert!(out.ok, "the Pod was not admitted: {out}");
    // The API server admits a CONNECT before it reaches the kubelet, so the Pod need not
    // run (this cluster has no nodes); retried until the webhook configuration is picked up.
    let start = std::time::Instant::now();
    let out = loop {
        let out = tenant.run(&["-n", TENANT_NS, "exec", "shell-target", "--", "true"]);
        if blocked(&out) || start.elapsed() > std::time::Duration::from_secs(30) {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(
        blocked(&out) && out.stderr.contains("exec into shell-target is not allowed"),
        "kubectl exec was not denied: {out}\n{}",
        t.palisade_log()
    );
    let rules =
        t.c.admin
            .get_json(&["validatingwebhookconfigurations"])
            .to_string();
    assert!(
        rules.contains("pods/exec") && rules.contains("CONNECT"),
        "{rules}"
    );
}
