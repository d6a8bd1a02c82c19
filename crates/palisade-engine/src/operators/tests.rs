use serde_json::{Value, json};

use super::Operator;

#[test]
fn names_are_case_insensitive() {
    assert_eq!(Operator::parse("equals"), Some(Operator::Equals));
    assert_eq!(Operator::parse("ANYIN"), Some(Operator::AnyIn));
    assert_eq!(Operator::parse("Equal"), Some(Operator::Equals));
    assert_eq!(Operator::parse("Bogus"), None);
}

#[test]
fn operator_table() {
    let cases: &[(&str, Value, Value, bool)] = &[
        ("Equals", json!("string"), json!("string"), true),
        ("Equals", json!(1), json!(1), true),
        ("Equals", json!(1), json!(1.0), true),
        ("Equals", json!("1024"), json!("1Ki"), true),
        ("Equals", json!("1Gi"), json!("1024Mi"), true),
        ("Equals", json!("1h"), json!("60m"), true),
        ("Equals", json!("nginx:latest"), json!("*:latest"), true),
        ("Equals", json!(true), json!("true"), false),
        ("Equals", json!({"a": 1}), json!({"a": 1}), true),
        ("Equals", json!(["a"]), json!(["a"]), true),
        ("Equals", json!(null), json!(null), false),
        ("NotEquals", json!("a"), json!("b"), true),
        ("NotEquals", json!("a"), json!("a"), false),
        ("NotEquals", json!(true), json!("x"), false),
        ("NotEquals", json!({"a": 1}), json!(""), true),
        ("NotEquals", json!([1]), json!("x"), true),
        ("AnyIn", json!("a"), json!(["a", "b"]), true),
        ("AnyIn", json!(["x", "b"]), json!(["a", "b"]), true),
        ("AnyIn", json!(["x", "y"]), json!(["a", "b"]), false),
        ("AnyIn", json!("nginx"), json!(["ng*"]), true),
        ("AnyIn", json!(5), json!("1-10"), true),
        ("AnyIn", json!([11, 12]), json!("1-10"), false),
        ("AnyIn", json!("a"), json!("[\"a\",\"b\"]"), true),
        ("AllIn", json!(["a", "b"]), json!(["a", "b", "c"]), true),
        ("AllIn", json!(["a", "x"]), json!(["a", "b", "c"]), false),
        ("AnyNotIn", json!(["a", "x"]), json!(["a", "b"]), true),
        ("AnyNotIn", json!(["a", "b"]), json!(["a", "b"]), false),
        ("AllNotIn", json!(["x", "y"]), json!(["a", "b"]), true),
        ("AllNotIn", json!(["a", "y"]), json!(["a", "b"]), false),
        ("AllNotIn", json!("z"), json!(["a", "b"]), true),
        ("In", json!("a"), json!(["a", "b"]), true),
        ("NotIn", json!("c"), json!(["a", "b"]), true),
        ("GreaterThan", json!(3), json!(2), true),
        ("GreaterThan", json!("3"), json!(2), true),
        ("GreaterThan", json!("2Gi"), json!("1Gi"), true),
        ("GreaterThan", json!("2h"), json!("90m"), true),
        ("GreaterThan", json!("1.10.0"), json!("1.9.0"), true),
        ("LessThanOrEquals", json!(2), json!(2), true),
        ("LessThan", json!("abc"), json!(2), false),
        ("DurationGreaterThan", json!("2h"), json!("1h"), true),
        ("DurationLessThan", json!(30), json!("1m"), true),
        (
            "DurationGreaterThanOrEquals",
            json!("1h"),
            json!(3600),
            true,
        ),
    ];
    for (op, key, value, want) in cases {
        let operator = Operator::parse(op).unwrap();
        assert_eq!(operator.evaluate(key, value), *want, "{key} {op} {value}");
    }
}

#[test]
fn huge_numbers_as_durations_do_not_overflow() {
    // Found by the `pattern` fuzz target: 1e300 seconds overflowed the nanosecond product.
    let huge = json!(1e300);
    assert!(Operator::DurationGreaterThan.evaluate(&huge, &json!("1h")));
    assert!(!Operator::DurationLessThan.evaluate(&huge, &json!("1h")));
    assert!(Operator::DurationLessThan.evaluate(&json!(-1e300), &json!("1h")));
}
