//! Strategic merge on a three-container Deployment: add a default securityContext and labels.

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_patch::{diff, strategic_merge};
use serde_json::{Value, json};
use std::hint::black_box;

fn container(name: &str) -> Value {
    json!({
        "name": name,
        "image": format!("registry.example.com/{name}:1.2.3"),
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
        "env": [{"name": "MODE", "value": "prod"}, {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        "terminationMessagePath": "/dev/termination-log"
    })
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "annotations": {"deployment.kubernetes.io/revision": "3"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
                "spec": {
                    "containers": [container("web"), container("sidecar"), container("metrics")],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "restartPolicy": "Always",
                    "dnsPolicy": "ClusterFirst"
                }
            }
        }
    })
}

fn patch() -> Value {
    let ctx = json!({"runAsNonRoot": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    json!({
        "metadata": {"labels": {"team": "platform", "managed-by": "palisade"}},
        "spec": {"template": {
            "metadata": {"labels": {"team": "platform"}},
            "spec": {
                "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [
                    {"name": "web", "securityContext": ctx},
                    {"name": "sidecar", "securityContext": ctx},
                    {"name": "metrics", "securityContext": ctx}
                ]
            }
        }}
    })
}

fn bench(c: &mut Criterion) {
    let resource = deployment();
    let patch = patch();
    // Parse the embedded table outside the measurement.
    let merged = strategic_merge(&resource, &patch, "apps/v1", "Deployment").unwrap_or_default();
    c.bench_function("smp_deployment_3_containers", |b| {
        b.iter(|| {
            strategic_merge(
                black_box(&resource),
                black_box(&patch),
                "apps/v1",
                "Deployment",
            )
        })
    });
    c.bench_function("diff_deployment_3_containers", |b| {
        b.iter(|| diff(black_box(&resource), black_box(&merged)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
