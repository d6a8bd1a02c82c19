//! A strategic merge mutation through the engine: default securityContext and labels on a
//! Deployment with three containers, as a mutating webhook evaluates it (match, anchors,
//! merge, and the RFC 6902 patch back); building the request context is measured apart.

use criterion::{Criterion, criterion_group, criterion_main};
#[path = "fixtures/mutate_workload.rs"]
mod workload;

use palisade_engine::{Engine, Inputs, NoContext, Request};
use std::hint::black_box;
use workload::{deployment, policy};

/// The allocator the palisade binaries use (docs/performance.md): the mutation allocates the
/// patched resource and its patch, so the allocator is part of what a webhook pays.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
