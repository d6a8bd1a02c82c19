//! Policies that must not load: the error names the field path and says what is wrong.

use palisade_api::Policy;
use palisade_engine::compile;
use serde_json::{Value, json};

fn policy(rules: Value) -> Policy {
    serde_json::from_value(json!({
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "p"},
        "spec": {"rules": rules}
    }))
    .expect("the test policy deserialises")
}

fn pods() -> Value {
    json!({"any": [{"resources": {"kinds": ["Pod"]}}]})
}

fn cel_rule(expression: &str) -> Value {
    json!({
        "name": "cel",
        "match": pods(),
        "validate": {"cel": {"expressions": [{"expression": expression}]}}
    })
}

#[test]
fn load_errors_name_the_field_and_the_problem() {
    let cases: [(Value, &str, &str); 5] = [
        (
            json!([
                {"name": "a", "match": pods(), "validate": {"pattern": {"x": "y"}}},
                {"name": "a", "match": pods(), "validate": {"pattern": {"x": "y"}}}
            ]),
            "spec.rules[1].name",
            "duplicate rule name",
        ),
        (
            json!([cel_rule("object.spec.containers.all(c, ")]),
            "spec.rules[0].validate.cel.expressions[0].expression",
            "at 1:31",
        ),
        (
            json!([cel_rule(
                "object.metadata.name + 1 == 2 && undefined_function(object)"
            )]),
            "spec.rules[0].validate.cel.expressions[0].expression",
            "undefined_function",
        ),
        (
            json!([{
                "name": "who",
                "match": pods(),
                "validate": {"message": "{{request.userInfo.username}}", "deny": {}}
            }]),
            "spec.rules[0].validate.message",
            "only select variables are allowed in background mode",
        ),
        (
            json!([{
                "name": "op",
                "match": pods(),
                "validate": {"deny": {"conditions": {"any": [
                    {"key": "a", "operator": "Sometimes", "value": "b"}
                ]}}}
            }]),
            "spec.rules[0].validate.deny.conditions.any[0].operator",
            "Sometimes",
        ),
    ];
    for (rules, path, fragment) in cases {
        let e = compile(policy(rules.clone())).expect_err(&rules.to_string());
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains(fragment), "{path}: {}", e.message);
    }
}

#[test]
fn valid_cel_still_loads() {
    assert!(compile(policy(json!([cel_rule("object.metadata.name != ''")]))).is_ok());
}
