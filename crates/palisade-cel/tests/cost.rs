//! Runtime cost budget and nesting limits: hostile expressions stop with an error.

mod common;

use palisade_cel::{Activation, Env, EvalError, PER_CALL_LIMIT, Type};
use serde_json::json;

fn eval_cost(
    env: &Env,
    src: &str,
    x: serde_json::Value,
) -> (Result<palisade_cel::Value, EvalError>, u64) {
    let prog = env.compile(src).expect("test expression compiles");
    let mut act = Activation::new();
    act.bind_json("x", &x);
    prog.eval_with_cost(&act)
}

fn env() -> Env {
    Env::kubernetes().variable("x", Type::Dyn).build()
}

#[test]
fn hostile_expressions_hit_the_budget() {
    let big: Vec<i64> = (0..1000).collect();
    let cases = [
        "lists.range(1000).map(i, lists.range(1000).map(j, i * j)).size()",
        "x.map(a, x.map(b, x.map(c, a + b + c))).size()",
        "x.all(a, x.all(b, x.exists(c, a + b + c < 0)) || true)",
        "x.exists(a, x.exists(b, a + b < 0)) || true",
        "cel.bind(s, lists.range(1000).map(i, 'a').join(''), s.replace('a', s).replace('a', s)).size()",
        "cel.bind(s, lists.range(1000).map(i, 'abcdefghij').join(''), x.map(i, s + s).size())",
        "x.map(i, x).flatten().sort().size()",
        "x.all(a, x.all(b, x.all(c, true)))",
    ];
    let env = env();
    for src in cases {
        let (r, cost) = eval_cost(&env, src, json!(big));
        assert_eq!(
            r,
            Err(EvalError::CostLimitExceeded {
                limit: PER_CALL_LIMIT
            }),
            "{src}"
        );
        assert!(cost > PER_CALL_LIMIT, "{src}: cost {cost}");
    }
}

#[test]
fn custom_limit_applies_and_ordinary_expressions_are_cheap() {
    let small = Env::kubernetes()
        .variable("x", Type::Dyn)
        .cost_limit(50)
        .build();
    let (r, _) = eval_cost(
        &small,
        "x.all(i, i >= 0)",
        json!((0..100).collect::<Vec<_>>()),
    );
    assert_eq!(r, Err(EvalError::CostLimitExceeded { limit: 50 }));
    let (r, cost) = eval_cost(&env(), "x.all(i, i >= 0)", json!([1, 2, 3]));
    assert_eq!(r.unwrap(), palisade_cel::Value::Bool(true));
    assert!(cost < 30, "cost {cost}");
}

#[test]
fn budget_errors_are_not_absorbed_by_logical_operators() {
    let small = Env::kubernetes()
        .variable("x", Type::Dyn)
        .cost_limit(200)
        .build();
    let list = json!((0..500).collect::<Vec<_>>());
    for src in [
        "x.exists(i, i < 0) || true",
        "true && x.all(i, i >= 0)",
        "x.all(i, i >= 0) || true",
    ] {
        let (r, _) = eval_cost(&small, src, list.clone());
        assert_eq!(r, Err(EvalError::CostLimitExceeded { limit: 200 }), "{src}");
    }
}

#[test]
fn deep_nesting_is_rejected_at_compile_time() {
    let env = env();
    let cases = [
        format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!("{}true", "!".repeat(10_000)),
        format!("{}1", "-".repeat(10_000)),
        format!("x{}", ".a".repeat(10_000)),
        format!("x{}", "[0]".repeat(10_000)),
        vec!["1"; 10_000].join(" + "),
        format!("{}x{}", "f(".repeat(5_000), ")".repeat(5_000)),
        format!("{}1{}", "{'a': ".repeat(5_000), "}".repeat(5_000)),
        format!("{}1", "false ? 1 : ".repeat(5_000)),
    ];
    for src in cases {
        let e = env.compile(&src).unwrap_err();
        assert!(
            e.message.contains("nesting exceeds"),
            "{}: {}",
            &src[..20],
            e.message
        );
    }
    let e = env.compile(&"a".repeat(100_001)).unwrap_err();
    assert!(e.message.contains("code points"), "{}", e.message);
}

#[test]
fn expressions_at_the_depth_limit_evaluate_on_a_small_stack() {
    // Runs on a 1 MiB thread: the deepest accepted expression must not overflow it.
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let env = env();
            let mut results = Vec::new();
            for n in [45usize, 95] {
                let parens = format!("{}1{}", "(".repeat(n), ")".repeat(n));
                let lists = format!("{}1{}", "[".repeat(n), "]".repeat(n));
                let sums = vec!["1"; n].join(" + ");
                let nots = format!("{}true", "!".repeat(n));
                let maps = format!("{}1{}", "{'a': ".repeat(n), "}".repeat(n));
                let comps = format!("{}x{}", "[1].map(v, ".repeat(n / 2), ")".repeat(n / 2));
                for src in [parens, lists, sums, nots, maps, comps] {
                    if let Ok(p) = env.compile(&src) {
                        let mut act = Activation::new();
                        act.bind_json("x", &json!(1));
                        results.push(p.eval(&act).is_ok());
                    }
                }
            }
            results
        })
        .unwrap();
    let results = handle.join().unwrap();
    assert!(
        results.len() >= 6 && results.iter().all(|ok| *ok),
        "{results:?}"
    );
}

#[test]
fn comparisons_of_large_values_are_charged() {
    let big: Vec<i64> = (0..2000).collect();
    let env = env();
    for src in [
        "x.all(a, x == x)",
        "x.exists(a, x != x)",
        "x.all(a, a in x)",
        "x.map(a, [x] == [x]).size() > 0",
    ] {
        let (r, _) = eval_cost(&env, src, json!(big));
        assert_eq!(
            r,
            Err(EvalError::CostLimitExceeded {
                limit: PER_CALL_LIMIT
            }),
            "{src}"
        );
    }
    let (r, cost) = eval_cost(&env, "x == x", json!(big));
    assert_eq!(r.unwrap(), palisade_cel::Value::Bool(true));
    assert!(cost > 2000, "cost {cost}");
}
