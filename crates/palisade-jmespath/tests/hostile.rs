//! Hostile expressions: deep nesting, and functions that could allocate without bound when
//! chained. Each ends in a value or an error (usually the work budget), never a stack
//! overflow or an out-of-memory abort. Sizes keep each test fast in a debug build.

#![allow(clippy::unwrap_used)]

use palisade_jmespath::{Context, ErrorKind, Instant, compile};
use serde_json::{Value, json};

fn ctx() -> Context {
    Context::default().with_fixed_time(Instant {
        unix_seconds: 1_600_000_000,
        nanos: 0,
        offset_seconds: 0,
    })
}

fn eval(expr: &str, data: &Value) -> Result<Value, palisade_jmespath::Error> {
    compile(expr).unwrap().search(data, &ctx())
}

/// `stage` applied `times` times in a pipe: `s | stage | stage | ...`.
fn chain(start: &str, stage: &str, times: usize) -> String {
    let mut out = start.to_string();
    for _ in 0..times {
        out.push_str(" | ");
        out.push_str(stage);
    }
    out
}

/// Asserts `expr` fails with the work-budget error (or another error), never a value.
/// Uses a budget of 1M (as the fuzz target does): the default (20M) bounds the same way but
/// lets a debug build spend seconds building a few hundred megabytes first.
fn assert_bounded_error(expr: &str, data: &Value) {
    let budget = ctx().with_budget(1_000_000);
    match compile(expr).unwrap().search(data, &budget) {
        Ok(v) => panic!(
            "{}: expected an error, got a value of {} bytes",
            &expr[..expr.len().min(80)],
            v.to_string().len()
        ),
        Err(e) => assert!(
            e.kind == ErrorKind::Limit || e.kind == ErrorKind::Function,
            "{}: {e}",
            &expr[..expr.len().min(80)]
        ),
    }
}

#[test]
fn deeply_nested_expressions_are_parse_errors() {
    let n = 100_000;
    let cases = [
        format!("{}a{}", "(".repeat(n), ")".repeat(n)),
        format!("{}a{}", "[".repeat(n), "]".repeat(n)),
        format!("{}{}", "{a: ".repeat(n), "}".repeat(n)),
        format!("{}a{}", "length(".repeat(n), ")".repeat(n)),
        format!("{}a", "!".repeat(n)),
        format!("a{}", ".b".repeat(n)),
        format!("a{}", " || b".repeat(n)),
        format!("a{}", "[0]".repeat(n)),
        format!("a{}", "[*]".repeat(n)),
        format!("a{}", " | b".repeat(n)),
        format!("{}a", "&".repeat(n)),
    ];
    for src in cases {
        let head = &src[..12];
        match compile(&src) {
            Err(e) => assert!(e.to_string().contains("SyntaxError"), "{head}: {e}"),
            // Flat chains may parse; evaluating them must then stay bounded.
            Ok(expr) => {
                let _ = expr.search(&json!({"a": {"b": 1}}), &ctx());
            }
        }
    }
}

#[test]
fn expressions_over_the_length_limit_are_rejected() {
    let src = "a".repeat((1 << 20) + 1);
    let e = compile(&src).unwrap_err();
    assert!(e.message.contains("long"), "{e}");
}

#[test]
fn repeated_doubling_with_join_is_bounded() {
    let expr = chain("s", "join('', [@, @])", 64);
    assert_bounded_error(&expr, &json!({"s": "abcdefgh"}));
}

#[test]
fn repeated_replace_all_with_empty_pattern_is_bounded() {
    // Each stage squares the length.
    let expr = chain("s", "replace_all(@, '', @)", 8);
    assert_bounded_error(&expr, &json!({"s": "abcdefgh"}));
    let expr = chain("s", "replace(@, '', @, `-1`)", 8);
    assert_bounded_error(&expr, &json!({"s": "abcdefgh"}));
}

#[test]
fn regex_replace_with_empty_match_is_bounded() {
    let expr = chain("s", "regex_replace_all('', @, @)", 8);
    assert_bounded_error(&expr, &json!({"s": "abcdefgh"}));
    let expr = chain("s", "regex_replace_all_literal('x*', @, @)", 8);
    assert_bounded_error(&expr, &json!({"s": "abcdefgh"}));
}

#[test]
fn repeated_base64_encoding_is_bounded() {
    let expr = chain("s", "base64_encode(@)", 200);
    assert_bounded_error(&expr, &json!({"s": "abcdefgh"}));
}

#[test]
fn escaping_growth_through_to_string_is_bounded() {
    // Each stage doubles the backslashes of the previous one.
    let expr = chain("s", "to_string([@])", 64);
    assert_bounded_error(&expr, &json!({"s": "\"\\"}));
}

#[test]
fn list_and_object_doubling_is_bounded() {
    // Copies are charged node by node: the default budget (20M) allows a few hundred MB of
    // nodes, so a smaller one keeps this test quick; the bound is the same mechanism.
    let small = ctx().with_budget(50_000);
    for expr in [
        chain("a", "[@, @]", 64),
        chain("a", "{x: @, y: @}", 64),
        chain("a", "merge({x: @}, {y: @})", 64),
        chain("a", "items({x: @, y: @}, 'k', 'v')", 64),
        chain("a", "values({x: @, y: @})", 64),
        chain("a", "to_array(@) | [@, @][]", 64),
    ] {
        let e = compile(&expr)
            .unwrap()
            .search(&json!({"a": [1]}), &small)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Limit, "{expr}: {e}");
    }
}

#[test]
fn wide_strings_copied_into_lists_are_bounded() {
    // A 1 MB string copied into ever larger lists costs its size each time.
    let data = json!({"s": "x".repeat(1 << 20)});
    let expr = chain("[s]", "[@, @] | [] ", 30);
    assert_bounded_error(&expr, &data);
}

#[test]
fn random_with_huge_explicit_repeats_is_an_error() {
    for pattern in [
        "((a{1000}){1000}){1000}",
        "(((a{100}){100}){100}){100}",
        "[a-z]{999999999}",
        "(x{65535}){65535}",
        // Would overflow rand_regex's size arithmetic (a panic in debug builds).
        "((((((a{1000}){1000}){1000}){1000}){1000}){1000}){1000}",
    ] {
        let e = eval(&format!("random('{pattern}')"), &Value::Null).unwrap_err();
        assert!(
            e.message.contains("can generate more than"),
            "{pattern}: {e}"
        );
    }
    let small = eval("random('[a-c]{3}')", &Value::Null).unwrap();
    assert_eq!(small.as_str().map(str::len), Some(3));
}

#[test]
fn parse_yaml_and_parse_json_of_hostile_text_are_errors() {
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(eval("parse_json(@)", &json!(deep_json)).is_err());
    assert!(eval("parse_yaml(@)", &json!(deep_json)).is_err());
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let e = eval("parse_yaml(@)", &json!(laughs)).unwrap_err();
    assert!(e.message.contains("alias"), "{e}");
}

#[test]
fn pathological_regexes_are_linear_or_rejected() {
    // The regex crate has no backtracking: these classic exponential cases stay linear.
    let evil = format!("{}!", "a".repeat(5_000));
    for re in ["^(a+)+$", "^(a|aa)+$", "^(a|a?)+$", "^(.*a){20}$"] {
        let got = eval(&format!("regex_match('{re}', @)"), &json!(evil));
        assert!(
            matches!(got, Ok(Value::Bool(false)) | Err(_)),
            "{re}: {got:?}"
        );
    }
    // A regex that compiles to a huge automaton is an error, not an allocation.
    let got = eval(
        "regex_match('(((a{100}){100}){100}){100}', 'a')",
        &Value::Null,
    );
    assert!(got.is_err(), "{got:?}");
}

#[test]
fn wildcard_matching_is_not_exponential() {
    let pattern = "*a".repeat(30) + "b";
    let text = "a".repeat(5_000);
    let got = eval(&format!("pattern_match('{pattern}', @)"), &json!(text));
    assert_eq!(got.unwrap(), json!(false));
}

#[test]
fn sorting_and_comparing_large_lists_is_bounded() {
    let big: Vec<Value> = (0..20_000).rev().map(Value::from).collect();
    let data = json!({"a": big});
    assert_eq!(eval("sort(a)[0]", &data).unwrap(), json!(0));
    let e = compile(&chain("a", "[@, @, @, @]", 16))
        .unwrap()
        .search(&data, &ctx().with_budget(1_000_000))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
}

#[test]
fn a_small_budget_stops_a_projection_over_a_big_list() {
    let data = json!({"a": (0..100_000).collect::<Vec<_>>()});
    let e = compile("a[*].to_string(@)")
        .unwrap()
        .search(&data, &ctx().with_budget(10_000))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(e.message.contains("budget"), "{e}");
}
