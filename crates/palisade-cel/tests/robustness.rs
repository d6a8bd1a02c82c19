//! Arbitrary input never panics: it compiles or fails with an error, and evaluation ends.

use palisade_cel::{Activation, Env, Type};
use proptest::prelude::*;
use serde_json::json;

const TOKENS: &[&str] = &[
    "x",
    "y",
    ".",
    ".?",
    "[",
    "]",
    "[?",
    "{",
    "}",
    "(",
    ")",
    ",",
    ":",
    "?",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    " in ",
    "1",
    "0",
    "-1",
    "2.5",
    "1u",
    "'a'",
    "\"\"",
    "b'x'",
    "null",
    "true",
    "false",
    "size",
    "has",
    "all",
    "exists",
    "map",
    "filter",
    "i",
    "v",
    "optional",
    "none",
    "of",
    "orValue",
    "value",
    "math",
    "greatest",
    "quantity",
    "'1Gi'",
    "ip",
    "'10.0.0.1'",
    "string",
    "int",
    "matches",
    "'^a'",
    "split",
    "join",
    "cel",
    "bind",
    "format",
    "timestamp",
    "duration",
    "'1s'",
    "lists",
    "range",
    "sort",
    "substring",
    "charAt",
    "9223372036854775807",
];

fn tokens() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn token_soup_never_panics(src in tokens()) {
        let env = Env::kubernetes().variable("x", Type::Dyn).variable("y", Type::Dyn).build();
        if let Ok(prog) = env.compile(&src) {
            let mut act = Activation::new();
            act.bind_json("x", &json!({"a": [1, 2, {"b": "c"}], "n": 3}));
            act.bind_json("y", &json!([1, "two", null, 4.5]));
            let (_result, cost) = prog.eval_with_cost(&act);
            prop_assert!(cost <= palisade_cel::PER_CALL_LIMIT + 1_000_000);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,60}") {
        let env = Env::kubernetes().variable("x", Type::Dyn).build();
        let _ = env.compile(&src);
    }
}
