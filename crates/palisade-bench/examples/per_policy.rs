//! Prints the evaluation time of each bundled Pod Security policy on a typical Pod (a quick
//! profile aid; the criterion bench is the measurement).
use palisade_engine::{Engine, Inputs, NoContext, Request};

fn main() -> Result<(), String> {
    let dir = palisade_bench::repo_root().join("policies/pod-security");
    let policies = palisade_bench::load_policies(&dir)?;
    let engine = Engine::default();
    let pod = palisade_bench::typical_pod(1);
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    let request = Request::create(pod.clone());
    let mut ctx = request.context();
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    for p in &policies {
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(engine.validate(p, &request, &mut ctx, &inputs));
        }
        let r = engine.validate(p, &request, &mut ctx, &inputs);
        let statuses: Vec<String> = r
            .rules
            .iter()
            .map(|x| format!("{}={}", x.name, x.status.as_str()))
            .collect();
        println!(
            "{:>8.2} us  {}  {}",
            t.elapsed().as_secs_f64() * 1e6 / f64::from(n),
            p.name(),
            statuses.join(" ")
        );
    }
    let t = std::time::Instant::now();
    for _ in 0..n {
        let request = Request::create(pod.clone());
        std::hint::black_box(request.context());
    }
    println!(
        "{:>8.2} us  request + context",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
    Ok(())
}
