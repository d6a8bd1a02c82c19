//! Typical Kyverno expressions evaluated on a Pod admission request.

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_jmespath::{Context, compile};
use serde_json::json;

fn pod() -> serde_json::Value {
    json!({"request": {"operation": "CREATE", "object": {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [
            {"name": "a", "image": "nginx:1.25", "securityContext": {"privileged": false}},
            {"name": "b", "image": "ghcr.io/org/side:2"}
        ]}
    }}})
}

fn bench(c: &mut Criterion) {
    let data = pod();
    let ctx = Context::default();
    for expr in [
        "request.object.spec.containers[].image",
        "request.object.spec.containers[?securityContext.privileged == `true`].name | length(@)",
        "request.object.metadata.labels.app || ''",
    ] {
        let compiled = compile(expr).expect("valid expression");
        c.bench_function(expr, |b| {
            b.iter(|| compiled.search_cow(&data, &ctx).map(|v| v.is_null()))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
