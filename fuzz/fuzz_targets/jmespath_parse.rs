//! JMESPath: compile arbitrary text; search what compiles against a small document with a
//! fixed clock and a work budget.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_jmespath::{Context, Instant, compile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = compile(text) else {
        return;
    };
    let _ = expr.ast();
    let doc = serde_json::json!({
        "a": {"b": [1, 2.5, "x", null, true, {"c": [[1], [2, 3]]}]},
        "s": "Hello", "n": -3, "q": "1.5Gi", "d": "1h30m", "t": "2021-01-01T00:00:00Z",
        "labels": {"app": "web"}, "list": [{"k": 1}, {"k": 2}, {"j": 3}],
        "img": "ghcr.io/org/app:1.2@sha256:abc", "v": "1.2.3", "re": "^a+$", "b64": "aGVsbG8="
    });
    let ctx = Context::default()
        .with_fixed_time(Instant { unix_seconds: 1_600_000_000, nanos: 0, offset_seconds: 3600 })
        .with_budget(1_000_000);
    let _ = expr.search(&doc, &ctx);
    let _ = expr.search(&doc, &ctx.clone().spec_missing_keys());
});
