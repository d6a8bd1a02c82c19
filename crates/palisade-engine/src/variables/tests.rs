use serde_json::{Map, Value, json};

use super::{Mode, Resolver, VarError, substitute_all};
use crate::context::{EvalContext, ExprCache};
use crate::jp::Clock;

fn ctx() -> EvalContext {
    let Value::Object(root) = json!({
        "request": {"operation": "CREATE", "object": {"metadata": {"name": "web", "labels": {"app": "x"}}, "spec": {"replicas": 3}}},
        "names": ["a", "b"],
        "which": "name",
    }) else {
        unreachable!()
    };
    EvalContext::new(root)
}

fn run(doc: Value, mode: Mode) -> Result<Value, VarError> {
    let ctx = ctx();
    let cache = ExprCache::default();
    let clock = Clock::default();
    substitute_all(
        &doc,
        &Resolver {
            ctx: &ctx,
            cache: &cache,
            clock: &clock,
            mode,
        },
    )
    .map(std::borrow::Cow::into_owned)
}

#[test]
fn whole_string_variable_keeps_its_type() {
    assert_eq!(
        run(json!("{{ request.object.spec.replicas }}"), Mode::Strict),
        Ok(json!(3))
    );
    assert_eq!(run(json!("{{names}}"), Mode::Strict), Ok(json!(["a", "b"])));
}

#[test]
fn embedded_variables_become_text() {
    assert_eq!(
        run(
            json!({"msg": "pod {{request.object.metadata.name}} has {{ request.object.spec.replicas }} replicas"}),
            Mode::Strict
        ),
        Ok(json!({"msg": "pod web has 3 replicas"}))
    );
    assert_eq!(
        run(json!("x-{{names}}"), Mode::Strict),
        Ok(json!("x-[\"a\",\"b\"]"))
    );
}

#[test]
fn nested_variables_resolve_innermost_first() {
    assert_eq!(
        run(
            json!("{{ request.object.metadata.{{ which }} }}"),
            Mode::Strict
        ),
        Ok(json!("web"))
    );
}

#[test]
fn escaped_variables_are_kept_literally() {
    assert_eq!(
        run(json!("\\{{ not.a.variable }}"), Mode::Strict),
        Ok(json!("{{ not.a.variable }}"))
    );
}

#[test]
fn keys_are_substituted_too() {
    assert_eq!(
        run(json!({"{{ which }}": 1}), Mode::Strict),
        Ok(json!({"name": 1}))
    );
}

#[test]
fn missing_variable_is_an_error_unless_lenient() {
    let strict = run(
        json!("{{ request.object.metadata.labels.missing }}"),
        Mode::Strict,
    );
    assert!(strict.is_err(), "{strict:?}");
    assert_eq!(
        run(
            json!("{{ request.object.metadata.labels.missing }}"),
            Mode::Lenient
        ),
        Ok(json!(""))
    );
}

#[test]
fn references_point_into_the_document() {
    let doc =
        json!({"requests": {"memory": "$(<=./../../limits/memory)"}, "limits": {"memory": "2Gi"}});
    assert_eq!(
        run(doc, Mode::Strict),
        Ok(json!({"requests": {"memory": "<=2Gi"}, "limits": {"memory": "2Gi"}}))
    );
}

#[test]
fn documents_without_variables_are_returned_unchanged() {
    let doc = json!({"a": [1, "b", {"c": null}]});
    assert_eq!(run(doc.clone(), Mode::Strict), Ok(doc));
    let _ = Map::<String, Value>::new();
}

/// Substitutes `doc` in a context whose resource labels hold the given values.
fn run_with_labels(labels: Value, doc: Value) -> Result<Value, VarError> {
    let Value::Object(root) = json!({"request": {"object": {"metadata": {"labels": labels}}}})
    else {
        unreachable!()
    };
    let ctx = EvalContext::new(root);
    let cache = ExprCache::default();
    let clock = Clock::default();
    let r = Resolver {
        ctx: &ctx,
        cache: &cache,
        clock: &clock,
        mode: Mode::Strict,
    };
    substitute_all(&doc, &r).map(std::borrow::Cow::into_owned)
}

#[test]
fn self_doubling_values_are_an_error_not_an_allocation_bomb() {
    // Found by the `substitute` fuzz target: each round doubles the string, 2^64 bytes by
    // round 64. A resource can carry such a label, so this must end in an error.
    let v = "{{request.object.metadata.labels.a}}";
    let err = run_with_labels(json!({"a": format!("{v}{v}")}), json!(format!("x{v}"))).unwrap_err();
    assert!(err.to_string().contains("expand to more than"), "{err}");
    // Ordinary nesting still converges.
    assert_eq!(
        run_with_labels(
            json!({"a": "{{request.object.metadata.labels.b}}", "b": "ok"}),
            json!(format!("x{v}"))
        ),
        Ok(json!("xok"))
    );
}

#[test]
fn many_variables_in_a_long_string_are_bounded() {
    // 50k variables in a 1.8 MB label: replacing them one by one rewrites the string each
    // time (quadratic); the work bound turns that into an error.
    let many = "{{request.object.metadata.labels.b}}".repeat(50_000);
    let err = run_with_labels(
        json!({"a": many, "b": ""}),
        json!("x{{request.object.metadata.labels.a}}"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("too much work"), "{err}");
}
