//! Evaluating a typical Pod at restricted/latest, and a failing Deployment with exclusions.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_pss::{Exclude, Level, Version, evaluate};
use serde_json::{Value, json};

fn typical_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": 1000,
                "seccompProfile": {"type": "RuntimeDefault"}
            },
            "initContainers": [{
                "name": "init",
                "image": "busybox:1.36",
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]}
                }
            }],
            "containers": [
                {
                    "name": "app",
                    "image": "ghcr.io/example/app:1.2.3",
                    "ports": [{"containerPort": 8080}],
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
                    }
                },
                {
                    "name": "sidecar",
                    "image": "envoyproxy/envoy:v1.30",
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "capabilities": {"drop": ["ALL"]}
                    }
                }
            ],
            "volumes": [
                {"name": "config", "configMap": {"name": "web"}},
                {"name": "tmp", "emptyDir": {}}
            ]
        }
    })
}

fn failing_deployment() -> Value {
    json!({
        "kind": "Deployment",
        "spec": {"template": {"spec": {
            "hostNetwork": true,
            "containers": [
                {"name": "a", "image": "nginx:1.25", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}},
                {"name": "b", "image": "busybox"}
            ],
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}]
        }}}
    })
}

fn bench(c: &mut Criterion) {
    let pod = typical_pod();
    c.bench_function("restricted_latest_typical_pod", |b| {
        b.iter(|| evaluate(Level::Restricted, Version::Latest, black_box(&pod), &[]))
    });
    let deployment = failing_deployment();
    let excludes = vec![Exclude {
        control_name: "Capabilities".into(),
        images: vec!["nginx*".into()],
        ..Exclude::default()
    }];
    c.bench_function("restricted_latest_failing_deployment_with_exclude", |b| {
        b.iter(|| {
            evaluate(
                Level::Restricted,
                Version::Latest,
                black_box(&deployment),
                &excludes,
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
