//! Shared fixtures for Palisade's whole-system benchmarks: loading the bundled policy library
//! and generating typical Pods. The benchmarks live in `benches/`; `gen-pods` writes a
//! manifest stream for the CLI's throughput measurement (see `docs/performance.md`).

use std::path::{Path, PathBuf};

/// The benchmarks measure with the allocator the `palisade` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use palisade_api::load::{Disk, LoadError, PolicyDocument, for_each_policy_document};
use palisade_engine::{CompiledPolicy, compile};
use serde_json::{Value, json};

/// The repository root (benchmarks run from the crate directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Loads and compiles every classic policy under `dir` (as the CLI walks it: recursively,
/// hidden entries such as `.kyverno-test/` skipped).
pub fn load_policies(dir: &Path) -> Result<Vec<CompiledPolicy>, String> {
    let mut out = Vec::new();
    for_each_policy_document(&[dir.to_path_buf()], &Disk, |doc| {
        if let PolicyDocument::Policy(p) = doc.value {
            let compiled = compile(*p)
                .map_err(|e| LoadError::file(&doc.file, format!("{}: {}", e.path, e.message)))?;
            out.push(compiled);
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
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
