//! Runs the `pod_security` bench iteration N times (env `N`, default 1000) for instruction
//! counts: `N=200` and `N=100` under callgrind, the difference divided by 100 is one iteration
//! (setup cancels out). See docs/performance.md.
//!
//! Each iteration copies the Pod (the bench's stand-in for the object a webhook decodes) and
//! hands it to [`admit_prepared`] or [`admit_context`], which do what the bench times: prepare
//! the request, evaluate every policy, free everything. Under callgrind,
//! `--toggle-collect='pss_loop::admit_*'` counts those alone (the bench's `iter_batched`
//! measurement); without it, the copy is counted too (the harness before it). `PRINT=1`
//! prints the responses instead, to check that a change leaves them identical.
use palisade_engine::{CompiledPolicy, Engine, Inputs, NoContext, PreparedRequest, Request};
use serde_json::Value;

fn main() -> Result<(), String> {
    let dir = palisade_bench::repo_root().join("policies/pod-security");
    let policies = palisade_bench::load_policies(&dir)?;
    let engine = Engine::default();
    let pod = palisade_bench::typical_pod(1);
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    // `ONLY=i` evaluates policy i alone (in load order), `ONLY=none` none: the request and
    // context alone.
    let only = std::env::var("ONLY").ok();
    let policies: Vec<_> = policies
        .into_iter()
        .enumerate()
        .filter(|(i, _)| only.as_deref().is_none_or(|o| o == i.to_string()))
        .map(|(_, p)| p)
        .collect();
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // `API=context` measures `Request::context` with `Engine::validate` instead; `API=once`
    // the policies alone, on a request prepared once.
    // `PRINT=1` prints every policy's response for the Pod (all fields, `Debug`) and exits:
    // a change must leave this output byte for byte identical.
    if std::env::var("PRINT").is_ok_and(|v| v == "1") {
        let mut prepared = PreparedRequest::new(Request::create(pod.clone()));
        for r in engine.validate_set(&policies, &mut prepared, &inputs) {
            println!("{r:?}");
        }
        return Ok(());
    }
    let api = std::env::var("API").unwrap_or_default();
    let with_context = api == "context";
    let mut results = 0;
    if api == "once" {
        let mut prepared = PreparedRequest::new(Request::create(pod.clone()));
        for _ in 0..n {
            results += engine
                .validate_set(&policies, &mut prepared, &inputs)
                .iter()
                .map(|r| r.rules.len())
                .sum::<usize>();
            std::hint::black_box(&results);
        }
        println!("{results} rule results");
        return Ok(());
    }
    for _ in 0..n {
        let pod = pod.clone();
        results += if with_context {
            admit_context(pod, &engine, &policies, &inputs)
        } else {
            admit_prepared(pod, &engine, &policies, &inputs)
        };
        std::hint::black_box(&results);
    }
    println!("{results} rule results");
    Ok(())
}

/// One admission request on a decoded Pod: prepared, evaluated by every policy, freed.
#[inline(never)]
fn admit_prepared(
    pod: Value,
    engine: &Engine,
    policies: &[CompiledPolicy],
    inputs: &Inputs<'_>,
) -> usize {
    let mut prepared = PreparedRequest::new(Request::create(pod));
    engine
        .validate_set(policies, &mut prepared, inputs)
        .iter()
        .map(|r| r.rules.len())
        .sum()
}

/// [`admit_prepared`] through `Request::context` and `Engine::validate`.
#[inline(never)]
fn admit_context(
    pod: Value,
    engine: &Engine,
    policies: &[CompiledPolicy],
    inputs: &Inputs<'_>,
) -> usize {
    let request = Request::create(pod);
    let mut ctx = request.context();
    policies
        .iter()
        .map(|p| engine.validate(p, &request, &mut ctx, inputs).rules.len())
        .sum()
}
