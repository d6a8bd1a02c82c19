//! What the `pss_vpol` bench and the `vpol_loop` example share: the 19 Pod Security
//! ValidatingPolicies and the typical Pod.

use std::path::{Path, PathBuf};

use palisade_celpolicy::CompiledValidatingPolicy;
use palisade_celpolicy::api::{CelDocument, decode};
use serde_json::{Value, json};

/// The allocator the palisade binaries use (docs/performance.md): converting the request and
/// evaluating allocate, so the allocator is part of what a webhook pays.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn policy_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if p.is_dir() && !hidden {
            policy_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml") && !hidden {
            out.push(p);
        }
    }
}

pub fn policies() -> Vec<CompiledValidatingPolicy> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/pod-security-vpol");
    let mut files = Vec::new();
    policy_files(&root, &mut files);
    let mut out = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(&f).expect("read policy");
        for doc in palisade_api::load::parse_values(&name, &text).expect("yaml") {
            let (api, kind) = palisade_api::load::type_meta(&doc.value);
            if let Some(Ok(CelDocument::ValidatingPolicy(p))) =
                decode(&name, &api, &kind, &doc.value)
            {
                out.push(CompiledValidatingPolicy::compile(*p).expect("compiles"));
            }
        }
    }
    out
}

/// A typical Pod: an initContainer and two containers with security contexts, a probe, ports
/// and two volumes.
pub fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{"name": "init", "image": "busybox:1.36",
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
            "containers": [
                {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 8080}],
                 "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                 "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                 "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]},
                {"name": "sidecar", "image": "envoy:1.30",
                 "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}
            ],
            "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "config", "configMap": {"name": "web"}}]
        }
    })
}
