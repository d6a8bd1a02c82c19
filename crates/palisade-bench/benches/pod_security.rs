//! The bundled Pod Security Standards policies (baseline and restricted, one ClusterPolicy per
//! control) evaluated on one typical Pod: the target is a 20 µs median for the set.

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_engine::{Engine, Inputs, NoContext, Request};

fn bench(c: &mut Criterion) {
    let dir = palisade_bench::repo_root().join("policies/pod-security");
    let policies = match palisade_bench::load_policies(&dir) {
        Ok(p) => p,
        Err(e) => panic!("loading {}: {e}", dir.display()),
    };
    assert!(
        policies.len() >= 17,
        "expected the full PSS set, found {}",
        policies.len()
    );
    let engine = Engine::default();
    let pod = palisade_bench::typical_pod(1);
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    c.bench_function(&format!("pss_{}_policies_one_pod", policies.len()), |b| {
        b.iter(|| {
            let request = Request::create(pod.clone());
            let mut ctx = request.context();
            let mut results = 0;
            for p in &policies {
                results += engine.validate(p, &request, &mut ctx, &inputs).rules.len();
            }
            results
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
