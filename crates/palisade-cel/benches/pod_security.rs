//! Benchmark: the Pod Security "privileged" expression on a three-container pod.

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_cel::{Activation, Env, Type};
use serde_json::json;

const EXPR: &str = "object.spec.containers.all(c, !has(c.securityContext) || c.securityContext.?privileged.orValue(false) == false)";

fn bench(c: &mut Criterion) {
    let env = Env::kubernetes().variable("object", Type::Dyn).build();
    let prog = env.compile(EXPR).expect("expression compiles");
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [
            {"name": "a", "image": "nginx", "securityContext": {"privileged": false}},
            {"name": "b", "image": "busybox"},
            {"name": "c", "image": "redis", "securityContext": {"runAsNonRoot": true}}
        ]}
    });
    let mut act = Activation::new();
    act.bind_json("object", &pod);
    c.bench_function("pod_security_privileged_eval", |b| {
        b.iter(|| prog.eval(&act))
    });
    c.bench_function("pod_security_privileged_bind_and_eval", |b| {
        b.iter(|| {
            let mut act = Activation::new();
            act.bind_json("object", &pod);
            prog.eval(&act)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
