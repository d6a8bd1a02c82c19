//! `{{ }}` variable substitution (nesting, escapes, `$( )` references) over generated
//! documents, against a fixed admission context.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use palisade_engine::context::{EvalContext, ExprCache};
use palisade_engine::jp::Clock;
use palisade_engine::variables::{Mode, Resolver, substitute_all, substitute_string};
use palisade_fuzz::{Text, fixed_context, json};
use palisade_jmespath::Instant;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let strict = bool::arbitrary(&mut u).unwrap_or(false);
    let delete = bool::arbitrary(&mut u).unwrap_or(false);
    let text = Text::arbitrary(&mut u).map(|t| t.render()).unwrap_or_default();
    let document = json(&mut u);

    let serde_json::Value::Object(mut root) = fixed_context() else {
        return;
    };
    if delete && let Some(serde_json::Value::Object(req)) = root.get_mut("request") {
        req.insert("operation".into(), "DELETE".into());
        let object = req.remove("object").unwrap_or_default();
        req.insert("oldObject".into(), object);
    }
    let ctx = EvalContext::new(root);
    let cache = ExprCache::default();
    let clock = Clock::default()
        .with_fixed_time(Instant { unix_seconds: 0, nanos: 0, offset_seconds: 0 })
        .with_budget(1_000_000);
    let r = Resolver {
        ctx: &ctx,
        cache: &cache,
        clock: &clock,
        mode: if strict { Mode::Strict } else { Mode::Lenient },
    };
    let _ = substitute_string(&text, &r, "/text");
    let _ = substitute_all(&document, &r);
});
