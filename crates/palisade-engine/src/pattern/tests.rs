use serde_json::{Value, json};

use super::{Leaf, validate};

#[test]
fn leaf_table() {
    let cases: &[(Value, Value, bool)] = &[
        // wildcards and alternatives
        (json!("nginx:1.2"), json!("nginx:*"), true),
        (json!("nginx"), json!("?*"), true),
        (json!(""), json!("?*"), false),
        (json!("ab"), json!("?"), false),
        (json!("a"), json!("?"), true),
        (json!("Always"), json!("IfNotPresent | Always"), true),
        (json!("Never"), json!("IfNotPresent | Always"), false),
        (json!("x"), json!("!x"), false),
        (json!("y"), json!("!x"), true),
        (json!("y"), json!("!x & !z"), true),
        (json!("z"), json!("!x & !z"), false),
        // numbers against duration patterns: only 0 reads as a duration (no unit)
        (json!(0), json!("<1s"), true),
        (json!(0), json!(">=0"), true),
        (json!(10001), json!(">0"), true),
        (json!(-5), json!("<0"), true),
        (json!(0.0), json!("<1s"), false),
        (json!(5), json!("<1s"), false),
        (json!("500ms"), json!("<1s"), true),
        // numbers and strings
        (json!(3), json!(3), true),
        (json!("3"), json!(3), true),
        (json!(3.0), json!(3), true),
        (json!(3.5), json!(3), false),
        (json!(3), json!(">2"), true),
        (json!(3), json!("<2"), false),
        (json!(2), json!(">=2"), true),
        (json!("3"), json!(">2"), true),
        (json!(5), json!("1-10"), true),
        (json!(11), json!("1-10"), false),
        (json!(11), json!("1!-10"), true),
        (json!(5), json!("1!-10"), false),
        // quantities and durations
        (json!("2Gi"), json!(">1Gi"), true),
        (json!("512Mi"), json!("<=1Gi"), true),
        (json!("1024Mi"), json!("1Gi"), true),
        (json!("2h"), json!(">1h"), true),
        (json!("30m"), json!("<1h"), true),
        (json!(null), json!(">1"), false),
        (json!(null), json!("<1"), true),
        // null pattern
        (json!(null), json!(null), true),
        (json!(""), json!(null), true),
        (json!(0), json!(null), true),
        (json!(false), json!(null), true),
        (json!("a"), json!(null), false),
        (json!({}), json!(null), false),
        // booleans
        (json!(true), json!(true), true),
        (json!("true"), json!(true), false),
        (json!(true), json!("true"), true),
        // maps
        (json!({"a": 1}), json!({}), true),
        (json!("a"), json!({}), false),
        // strings are not compared with > or <
        (json!("abc"), json!(">a"), false),
        // ranges with spaces and units, alternatives of conjunctions
        (json!("30m"), json!(" 10m-1h "), true),
        (json!("2h"), json!("10m-1h | >=2h & <3h"), true),
        (json!(7), json!("1!-5 & !8"), true),
        (json!(8), json!("1!-5 & !8"), false),
        (json!(3), json!("1!-5 | 3"), true),
    ];
    for (value, pattern, want) in cases {
        assert_eq!(
            validate(value, pattern),
            *want,
            "value {value} pattern {pattern}"
        );
        // The same through a pattern prepared once.
        assert_eq!(
            Leaf::new(pattern).matches(value),
            *want,
            "prepared: value {value} pattern {pattern}"
        );
    }
}
