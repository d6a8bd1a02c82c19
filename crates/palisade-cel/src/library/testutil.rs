//! Helpers for the table tests of the libraries.

use crate::{Activation, Env, EvalError, Type, Value};

/// Compiles and evaluates `src` with a `dyn` variable `x` bound to `x`.
pub(crate) fn eval_with(src: &str, x: serde_json::Value) -> Result<Value, String> {
    let env = Env::kubernetes().variable("x", Type::Dyn).build();
    let prog = env.compile(src).map_err(|e| format!("compile: {e}"))?;
    let mut act = Activation::new();
    act.bind_json("x", &x);
    prog.eval(&act).map_err(|e: EvalError| format!("eval: {e}"))
}

/// Evaluates `src` with no input.
pub(crate) fn eval(src: &str) -> Result<Value, String> {
    eval_with(src, serde_json::Value::Null)
}

/// Asserts that each expression evaluates to `true`.
pub(crate) fn assert_true(cases: &[&str]) {
    for src in cases {
        match eval(src) {
            Ok(Value::Bool(true)) => {}
            other => panic!("{src}: expected true, got {other:?}"),
        }
    }
}

/// Asserts that each expression fails (at compile or run time) with a message containing the text.
pub(crate) fn assert_err(cases: &[(&str, &str)]) {
    for (src, want) in cases {
        match eval(src) {
            Err(e) => assert!(
                e.contains(want),
                "{src}: error {e:?} does not contain {want:?}"
            ),
            Ok(v) => panic!("{src}: expected an error containing {want:?}, got {v:?}"),
        }
    }
}
