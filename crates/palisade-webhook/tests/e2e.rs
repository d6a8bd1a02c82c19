//! End-to-end tests: a real kube-apiserver and etcd (scripts/cluster.sh),
//! Palisade (`palisade-serve`) in cluster mode as a child process with real
//! TLS, policies applied as kyverno.io objects, requests made with kubectl
//! as the admin or as the tenant user. See docs/testing-e2e.md.
//!
//! Without Go (so no control plane) these tests print why and pass, unless
//! CI or PALISADE_E2E=1 is set, where that is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "e2e/mod.rs"]
mod support;

#[path = "e2e/scenarios/admission.rs"]
mod admission;
#[path = "e2e/scenarios/availability.rs"]
mod availability;
#[path = "e2e/scenarios/cel.rs"]
mod cel;
#[path = "e2e/scenarios/policies.rs"]
mod policies;

use support::manifests::plain_pod;
use support::{TENANT_NS, Test};

const BASELINE: &str = "policies/pod-security/baseline";
const PRIVILEGED: &str = "policies/pod-security/baseline/disallow-privileged-containers/disallow-privileged-containers.yaml";

#[test]
fn harness_cluster_has_the_crds_and_a_tenant_confined_to_its_namespace() {
    let Some(t) = Test::begin("harness") else {
        return;
    };
    let crds = t.c.admin.must(&["get", "crd", "-o", "name"]);
    for crd in [
        "clusterpolicies.kyverno.io",
        "policies.kyverno.io",
        "policyexceptions.kyverno.io",
    ] {
        assert!(crds.contains(crd), "CRD {crd} missing: {crds}");
    }
    let out = t.c.tenant.create(&plain_pod("elsewhere", "e2e"));
    assert!(
        !out.ok && out.stderr.contains("forbidden"),
        "the tenant created a Pod outside tenant-a: {out}"
    );
    let out = t.c.tenant.create(&plain_pod("at-home", TENANT_NS));
    assert!(out.ok, "the tenant cannot create a Pod in tenant-a: {out}");
}
