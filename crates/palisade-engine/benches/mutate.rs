//! A strategic merge mutation through the engine: default securityContext and labels on a
//! Deployment with three containers, as a mutating webhook evaluates it (match, anchors,
//! merge, and the RFC 6902 patch back); building the request context is measured apart.

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_engine::{CompiledPolicy, Engine, Inputs, NoContext, Request, compile};
use serde_json::{Value, json};
use std::hint::black_box;

/// The allocator the palisade binaries use (docs/performance.md): the mutation allocates the
/// patched resource and its patch, so the allocator is part of what a webhook pays.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn container(name: &str) -> Value {
    json!({
        "name": name,
        "image": format!("registry.example.com/{name}:1.2.3"),
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
        "env": [{"name": "MODE", "value": "prod"}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "volumeMounts": [{"name": "data", "mountPath": "/data"}]
    })
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [container("web"), container("sidecar"), container("metrics")],
                    "volumes": [{"name": "data", "emptyDir": {}}]
                }
            }
        }
    })
}

fn policy() -> CompiledPolicy {
    let policy = json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "workload-defaults"},
        "spec": {"rules": [{
            "name": "defaults",
            "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
            "mutate": {"patchStrategicMerge": {
                "metadata": {"labels": {"+(team)": "platform"}},
                "spec": {"template": {
                    "metadata": {"labels": {"+(team)": "platform"}},
                    "spec": {
                        "securityContext": {
                            "+(runAsNonRoot)": true,
                            "+(seccompProfile)": {"type": "RuntimeDefault"}
                        },
                        "containers": [{
                            "(name)": "*",
                            "securityContext": {
                                "+(allowPrivilegeEscalation)": false,
                                "+(capabilities)": {"drop": ["ALL"]}
                            }
                        }]
                    }
                }}
            }}
        }]}
    });
    compile(serde_json::from_value(policy).expect("a policy")).expect("compiles")
}

fn bench(c: &mut Criterion) {
    let engine = Engine::default();
    let policy = policy();
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    // The request and its context are built once per admission request and serve every
    // policy: the engine returns the context unchanged.
    let request = Request::create(deployment());
    let mut ctx = request.context();
    c.bench_function("engine_mutate_smp_deployment_3_containers", |b| {
        b.iter(|| {
            let out = engine.mutate(black_box(&policy), &request, &mut ctx, &inputs);
            black_box(out.patch.operations().len())
        })
    });
    c.bench_function("request_context_deployment_3_containers", |b| {
        b.iter(|| {
            let request = Request::create(black_box(deployment()));
            black_box(request.context())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
