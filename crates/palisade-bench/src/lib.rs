//! Shared fixtures for Palisade's whole-system benchmarks: loading the bundled policy library
//! and generating typical Pods. The benchmarks live in `benches/`; `gen-pods` writes a
//! manifest stream for the CLI's throughput measurement (see `docs/performance.md`).

use std::path::{Path, PathBuf};

/// The benchmarks measure with the allocator the `palisade` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use palisade_api::load::{PolicyDocument, load_policy_documents};
use palisade_engine::{CompiledPolicy, compile};
use serde_json::{Value, json};

/// The repository root (benchmarks run from the crate directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Loads and compiles every policy under `dir` (recursively), skipping test files.
pub fn load_policies(dir: &Path) -> Result<Vec<CompiledPolicy>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{name}: {e}"))?;
        for doc in load_policy_documents(&name, &text).map_err(|e| e.to_string())? {
            if let PolicyDocument::Policy(p) = doc.value {
                out.push(compile(*p).map_err(|e| format!("{name}: {}: {}", e.path, e.message))?);
            }
        }
    }
    Ok(out)
}

/// A typical application Pod that satisfies the restricted profile: two containers with
/// resources, probes, environment and a volume.
pub fn typical_pod(i: usize) -> Value {
    let container = |name: &str, image: &str, port: u16| {
        json!({
            "name": name,
            "image": image,
            "ports": [{"containerPort": port, "protocol": "TCP"}],
            "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "REPLICA", "value": i.to_string()}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": port}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "runAsNonRoot": true,
                "runAsUser": 10001,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}
            }
        })
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("web-{i}"),
            "namespace": format!("tenant-{}", i % 20),
            "labels": {"app": "web", "tier": "frontend"}
        },
        "spec": {
            "serviceAccountName": "web",
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                container("app", "registry.example.com/team/web:1.4.2", 8080),
                container("sidecar", "registry.example.com/team/proxy:2.0.1", 9090)
            ],
            "volumes": [{"name": "data", "emptyDir": {}}]
        }
    })
}
