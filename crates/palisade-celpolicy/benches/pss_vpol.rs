//! Benchmark: the Pod Security Standards as ValidatingPolicies (`policies/pod-security-vpol`,
//! 19 policies) on a typical three-container Pod, request preparation included.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_celpolicy::api::{CelDocument, decode};
use palisade_celpolicy::{CelData, CelRequest, CompiledValidatingPolicy, NoData};
use palisade_engine::validate::cel::inputs::Attributes;
use serde_json::json;

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

fn policies() -> Vec<CompiledValidatingPolicy> {
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

fn bench(c: &mut Criterion) {
    let policies = policies();
    assert_eq!(policies.len(), 19, "every PSS control");
    let pod = json!({
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
    });
    let attrs = Attributes {
        operation: "CREATE".into(),
        object: pod,
        ..Attributes::default()
    };
    let data: Arc<dyn CelData> = Arc::new(NoData);
    let req = CelRequest::new(&attrs, None, None, &data);
    for p in &policies {
        let r = p.validate(&req, &[]);
        // The user-namespace /proc control checks only Pods with `hostUsers: false`.
        assert!(
            r.rules.iter().all(|r| matches!(
                r.status,
                palisade_engine::RuleStatus::Pass | palisade_engine::RuleStatus::Skip
            )),
            "{}: {:?}",
            r.policy,
            r.rules
        );
    }
    c.bench_function("pss_vpol_19_policies_typical_pod", |b| {
        b.iter(|| {
            let req = CelRequest::new(&attrs, None, None, &data);
            policies
                .iter()
                .map(|p| p.validate(&req, &[]).rules.len())
                .sum::<usize>()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
