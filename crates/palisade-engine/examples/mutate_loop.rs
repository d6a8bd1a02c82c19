//! Runs the `engine_mutate_smp_deployment_3_containers` bench iteration N times (env `N`,
//! default 1000) for instruction counts: run `N=200` and `N=100` under callgrind; the
//! difference divided by 100 is one iteration (setup cancels out). `PRINT=1` prints the
//! patched resource and the RFC 6902 patch instead, to check that a change keeps them
//! identical. See docs/performance.md (Mutation).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/fixtures/mutate_workload.rs"]
mod workload;

use palisade_engine::{Engine, Inputs, NoContext, Request};
use workload::{deployment, policy};

/// Measured with the allocator the palisade binaries use, as the criterion bench is.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let engine = Engine::default();
    let policy = policy();
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    let request = Request::create(deployment());
    let mut ctx = request.context();
    if std::env::var_os("PRINT").is_some() {
        let out = engine.mutate(&policy, &request, &mut ctx, &inputs);
        println!("{}", serde_json::to_string_pretty(&out.patched).unwrap());
        println!(
            "{}",
            serde_json::to_string_pretty(&out.patch.to_value()).unwrap()
        );
        println!("{:?}", out.response);
        return;
    }
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut ops = 0;
    for _ in 0..n {
        let out = engine.mutate(std::hint::black_box(&policy), &request, &mut ctx, &inputs);
        ops += std::hint::black_box(out.patch.operations().len());
    }
    println!("{ops} patch operations");
}
