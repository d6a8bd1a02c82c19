//! Shared helpers for the integration tests.

#![allow(dead_code)]

use palisade_cel::{Activation, Env, Type};
use serde_json::Value as Json;

/// Compiles and evaluates `src` with `x` bound (as dyn) and returns the JSON result or an error text.
pub fn run(src: &str, x: &Json) -> Result<Json, String> {
    let env = Env::kubernetes().variable("x", Type::Dyn).build();
    let prog = env
        .compile(src)
        .map_err(|e| format!("compile error: {e}"))?;
    let mut act = Activation::new();
    act.bind_json("x", x);
    prog.eval_json(&act).map_err(|e| format!("eval error: {e}"))
}
