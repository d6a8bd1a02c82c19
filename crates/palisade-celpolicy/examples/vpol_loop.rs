//! Runs the `pss_vpol` bench iteration N times (env `N`, default 1000) for instruction counts:
//! `N=200` and `N=100` under callgrind with `--toggle-collect='vpol_loop::admit'`; the
//! difference divided by 100 is one iteration (setup cancels out). See docs/performance.md.
//! `PRINT=1` prints every policy's response (all fields, `Debug`) for the bench's Pod and for
//! a few Pods and a Deployment that violate or break the policies, then exits: compare it
//! before and after a change.

#[path = "../benches/support/mod.rs"]
mod support;

use std::sync::Arc;

use palisade_celpolicy::{CelData, CelRequest, CompiledValidatingPolicy, NoData};
use palisade_engine::validate::cel::inputs::Attributes;

fn main() {
    let policies = support::policies();
    let attrs = Attributes {
        operation: "CREATE".into(),
        object: support::pod(),
        ..Attributes::default()
    };
    let data: Arc<dyn CelData> = Arc::new(NoData);
    if std::env::var("PRINT").is_ok_and(|v| v == "1") {
        print_responses(&attrs, &data, &policies);
        return;
    }
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut results = 0;
    for _ in 0..n {
        results += admit(&attrs, &data, &policies);
    }
    println!("{results} rule results");
}

/// One bench iteration: the request converted once, every policy matched and evaluated.
#[inline(never)]
fn admit(
    attrs: &Attributes,
    data: &Arc<dyn CelData>,
    policies: &[CompiledValidatingPolicy],
) -> usize {
    let req = CelRequest::new(attrs, None, None, data);
    policies
        .iter()
        .map(|p| p.validate(&req, &[]).rules.len())
        .sum()
}

/// The responses for the bench's Pod and for variants of it that exercise failures, errors,
/// missing fields and the autogen variants.
fn print_responses(
    attrs: &Attributes,
    data: &Arc<dyn CelData>,
    policies: &[CompiledValidatingPolicy],
) {
    let pod = support::pod();
    let mut objects = vec![("typical", pod.clone())];
    let mut with = |name: &'static str, pointer: &str, value: serde_json::Value| {
        let mut p = pod.clone();
        if let Some(slot) = p.pointer_mut(pointer) {
            *slot = value;
        }
        objects.push((name, p));
    };
    with(
        "privileged",
        "/spec/containers/1/securityContext",
        serde_json::json!({"privileged": true, "capabilities": {"add": ["SYS_ADMIN"]},
            "seccompProfile": {"type": "Unconfined"}, "runAsUser": 0,
            "seLinuxOptions": {"type": "spc_t", "user": "x"}, "procMount": "Unmasked",
            "windowsOptions": {"hostProcess": true}, "allowPrivilegeEscalation": true}),
    );
    with(
        "host",
        "/spec/securityContext",
        serde_json::json!({"sysctls": [{"name": "kernel.msgmax", "value": "1"}],
            "appArmorProfile": {"type": "Unconfined"}, "runAsNonRoot": false}),
    );
    with(
        "ports",
        "/spec/containers/0/ports",
        serde_json::json!([{"containerPort": 80, "hostPort": 80}]),
    );
    with(
        "probe",
        "/spec/containers/0/readinessProbe",
        serde_json::json!({"httpGet": {"host": "evil", "port": 1}}),
    );
    with(
        "volumes",
        "/spec/volumes",
        serde_json::json!([{"name": "h", "hostPath": {"path": "/"}}]),
    );
    with("no-containers", "/spec/containers", serde_json::json!(null));
    with("no-spec", "/spec", serde_json::json!("x"));
    with(
        "strings",
        "/spec/containers/0/securityContext",
        serde_json::json!({"capabilities": "ALL", "privileged": "yes", "seccompProfile": 3}),
    );
    let deployment = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"template": {"metadata": {"annotations":
            {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}},
            "spec": pod.get("spec").cloned().unwrap_or_default()}}
    });
    objects.push(("deployment", deployment));
    for (name, object) in objects {
        let a = Attributes {
            object,
            ..attrs.clone()
        };
        let req = CelRequest::new(&a, None, None, data);
        for p in policies {
            println!("{name}: {:?}", p.validate(&req, &[]));
        }
    }
}
