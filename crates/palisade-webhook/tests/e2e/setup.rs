//! Cluster preparation shared by the scenarios: the kyverno.io CRDs once,
//! a clean slate before each scenario, and Palisade's cluster-mode flags.

use std::ffi::OsString;
use std::sync::Once;

use super::Cluster;

/// Namespace Palisade runs in (its Secret lives there; its webhooks never
/// see requests in it).
pub const PALISADE_NS: &str = "palisade";

/// Applies the CRDs from deploy/crds/ and creates Palisade's namespace.
pub fn once(c: &Cluster) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let crds = c.repo.join("deploy/crds");
        let crds = crds.to_str().unwrap();
        c.admin.must(&["apply", "--server-side", "-f", crds]);
        c.admin.must(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "-f",
            crds,
        ]);
        let ns = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {PALISADE_NS}}}\n");
        let out = c.admin.apply(&ns);
        assert!(out.ok, "cannot create namespace {PALISADE_NS}: {out}");
    });
}

/// Deletes every webhook configuration (Palisade never deletes its own on
/// shutdown, and a Fail webhook left behind by a killed Palisade would block
/// the next scenario's requests).
pub fn remove_webhooks(c: &Cluster) {
    c.admin.run(&[
        "delete",
        "validatingwebhookconfigurations,mutatingwebhookconfigurations",
        "--all",
        "--wait=true",
    ]);
}

/// Back to an empty cluster: no webhooks, no policies, no tenant workloads.
pub fn reset(c: &Cluster) {
    remove_webhooks(c);
    for kind in [
        "clusterpolicies.kyverno.io",
        "policies.kyverno.io",
        "policyexceptions.kyverno.io",
        "validatingpolicies.policies.kyverno.io",
        "namespacedvalidatingpolicies.policies.kyverno.io",
        "mutatingpolicies.policies.kyverno.io",
        "namespacedmutatingpolicies.policies.kyverno.io",
    ] {
        c.admin
            .must(&["delete", kind, "--all", "--all-namespaces", "--wait=true"]);
    }
    for ns in [super::TENANT_NS, "kube-system", PALISADE_NS, "e2e"] {
        // Unscheduled Pods (no kubelet here) go at once.
        c.admin.run(&[
            "-n",
            ns,
            "delete",
            "pods,deployments,configmaps",
            "-l",
            "e2e=true",
            "--wait=true",
        ]);
    }
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: e2e}\n";
    let out = c.admin.apply(ns);
    assert!(out.ok, "cannot create namespace e2e: {out}");
}

/// `palisade-serve` flags for cluster mode: policies from the cluster,
/// webhook configurations pointing at `https://127.0.0.1:port`.
pub fn cluster_mode_args(c: &Cluster, port: u16) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |s: &str| args.push(s.into());
    push("--listen");
    push(&format!("127.0.0.1:{port}"));
    push("--kubeconfig");
    push(c.admin_kubeconfig.to_str().unwrap());
    push("--webhook-url");
    push(&format!("https://127.0.0.1:{port}"));
    push("--namespace");
    push(PALISADE_NS);
    args
}
