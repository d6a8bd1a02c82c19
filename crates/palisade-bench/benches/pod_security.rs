//! The bundled Pod Security Standards policies (baseline and restricted, one ClusterPolicy per
//! control) evaluated on one typical Pod: the target is a 20 µs median for the set.
//! One iteration is what an admission request costs: the Pod is copied (as a webhook decodes
//! a fresh object), the request is prepared and every policy is evaluated.

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_engine::{Engine, Inputs, NoContext, PreparedRequest, Request};

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
            let mut prepared = PreparedRequest::new(Request::create(pod.clone()));
            let mut results = 0;
            for p in &policies {
                results += engine
                    .validate_prepared(p, &mut prepared, &inputs)
                    .rules
                    .len();
            }
            results
        })
    });
    // The policies alone: the request is prepared once (a prepared request is returned
    // unchanged by each evaluation), so no Pod is copied, prepared or freed per iteration.
    let mut prepared = PreparedRequest::new(Request::create(pod.clone()));
    c.bench_function(
        &format!("pss_{}_policies_one_pod_evaluation_only", policies.len()),
        |b| {
            b.iter(|| {
                let mut results = 0;
                for p in &policies {
                    results += engine
                        .validate_prepared(p, &mut prepared, &inputs)
                        .rules
                        .len();
                }
                results
            })
        },
    );
    // The same with `Request::context`, which copies the Pod into the context.
    c.bench_function(
        &format!("pss_{}_policies_one_pod_request_context", policies.len()),
        |b| {
            b.iter(|| {
                let request = Request::create(pod.clone());
                let mut ctx = request.context();
                let mut results = 0;
                for p in &policies {
                    results += engine.validate(p, &request, &mut ctx, &inputs).rules.len();
                }
                results
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
