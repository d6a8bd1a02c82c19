//! Loading throughput: a stream of 10,000 Pod manifests, with and without positions, and
//! emitting it back.

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_yaml::{Options, parse_documents, to_yaml_stream};

/// A stream of `n` distinct Pod manifests (about 250 bytes each).
fn pods(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web-{i}\n  namespace: default\n  labels:\n    app: web\n    tier: \"frontend\"\nspec:\n  containers:\n  - name: nginx\n    image: nginx:1.{i}\n    ports:\n    - containerPort: 80\n    securityContext:\n      privileged: false\n      runAsNonRoot: yes\n    resources:\n      limits: {{cpu: 500m, memory: 128Mi}}\n"
        ));
    }
    out
}

fn bench(c: &mut Criterion) {
    let src = pods(10_000);
    let mut group = c.benchmark_group("10k pods");
    group.sample_size(10);
    group.bench_function("parse", |b| {
        b.iter(|| parse_documents(&src, &Options::default()))
    });
    group.bench_function("parse with positions", |b| {
        b.iter(|| parse_documents(&src, &Options::with_positions()))
    });
    let values: Vec<_> = parse_documents(&src, &Options::default())
        .map(|docs| docs.into_iter().map(|d| d.value).collect())
        .unwrap_or_default();
    group.bench_function("emit", |b| b.iter(|| to_yaml_stream(&values)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
