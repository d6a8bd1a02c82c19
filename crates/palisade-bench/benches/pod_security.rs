//! The bundled Pod Security Standards policies (baseline and restricted, one ClusterPolicy per
//! control) evaluated on one typical Pod: the target is a 20 µs median for the set.
//! One iteration is what an admission request costs once the webhook has decoded the Pod: the
//! request is prepared, every policy is evaluated, and everything is freed. The decoded Pod
//! is a copy made by `iter_batched`'s setup, outside the timing (until 2026-11 the copy was
//! timed too: see docs/performance.md).
//!
//! The copy is made right before each timed iteration (`BatchSize::PerIteration`), as a webhook
//! decodes the Pod right before evaluating it. With `SmallInput`, criterion makes a tenth of
//! a sample's copies at once (hundreds of Pods), so each iteration read a Pod that had left
//! the core's caches: medians of the same build moved between 17 and 29 µs from run to run.
//! Timing each iteration alone adds the clock reads (tens of ns) to the figure, not less.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
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
        b.iter_batched(
            || pod.clone(),
            |pod| {
                let mut prepared = PreparedRequest::new(Request::create(pod));
                // The webhook's path: the policies evaluated as a set on one request.
                let results: usize = engine
                    .validate_set(&policies, &mut prepared, &inputs)
                    .iter()
                    .map(|r| r.rules.len())
                    .sum();
                // The prepared request and the responses are freed here, inside the timing.
                drop(prepared);
                results
            },
            BatchSize::PerIteration,
        )
    });
    // The policies alone: the request is prepared once (a prepared request is returned
    // unchanged by each evaluation), so no Pod is copied, prepared or freed per iteration.
    let mut prepared = PreparedRequest::new(Request::create(pod.clone()));
    c.bench_function(
        &format!("pss_{}_policies_one_pod_evaluation_only", policies.len()),
        |b| {
            b.iter(|| {
                engine
                    .validate_set(&policies, &mut prepared, &inputs)
                    .iter()
                    .map(|r| r.rules.len())
                    .sum::<usize>()
            })
        },
    );
    // The same with `Request::context`, which copies the Pod into the context.
    c.bench_function(
        &format!("pss_{}_policies_one_pod_request_context", policies.len()),
        |b| {
            b.iter_batched(
                || pod.clone(),
                |pod| {
                    let request = Request::create(pod);
                    let mut ctx = request.context();
                    let mut results = 0;
                    for p in &policies {
                        results += engine.validate(p, &request, &mut ctx, &inputs).rules.len();
                    }
                    drop((ctx, request));
                    results
                },
                BatchSize::PerIteration,
            )
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
