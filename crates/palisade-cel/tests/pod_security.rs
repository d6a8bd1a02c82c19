//! A typical Pod Security expression evaluated on pods.

use palisade_cel::{Activation, Env, Type, Value};
use serde_json::{Value as Json, json};

const PRIVILEGED: &str = "object.spec.containers.all(c, !has(c.securityContext) || c.securityContext.?privileged.orValue(false) == false)";

fn pod(containers: Json) -> Json {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
}

fn eval(src: &str, object: &Json) -> Result<Value, String> {
    let env = Env::kubernetes().variable("object", Type::Dyn).build();
    let prog = env.compile(src).map_err(|e| e.to_string())?;
    let mut act = Activation::new();
    act.bind_json("object", object);
    prog.eval(&act).map_err(|e| e.to_string())
}

#[test]
fn privileged_containers() {
    let cases = [
        (
            pod(json!([{"name": "a", "securityContext": {"privileged": false}}, {"name": "b"}])),
            true,
        ),
        (
            pod(json!([{"name": "a", "securityContext": {"privileged": true}}])),
            false,
        ),
        (pod(json!([{"name": "a", "securityContext": {}}])), true),
        (
            pod(
                json!([{"name": "a", "securityContext": {"runAsNonRoot": true}}, {"name": "b", "securityContext": {"privileged": true}}]),
            ),
            false,
        ),
        (pod(json!([])), true),
    ];
    for (object, want) in cases {
        assert_eq!(eval(PRIVILEGED, &object), Ok(Value::Bool(want)), "{object}");
    }
}

#[test]
fn missing_containers_field_is_an_error() {
    let err = eval(PRIVILEGED, &json!({"spec": {}})).unwrap_err();
    assert!(err.contains("no such key: containers"), "{err}");
}

#[test]
fn baseline_checks_over_all_container_kinds() {
    let src = "
        [object.spec.containers, object.spec.?initContainers.orValue([]), object.spec.?ephemeralContainers.orValue([])]
          .flatten()
          .all(c, !has(c.securityContext) || (
              c.securityContext.?allowPrivilegeEscalation.orValue(true) == false &&
              c.securityContext.?capabilities.?add.orValue([]).all(cap, cap in ['NET_BIND_SERVICE'])))";
    let good = json!({"spec": {
        "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_BIND_SERVICE"]}}}],
        "initContainers": [{"name": "i"}]}});
    let bad = json!({"spec": {
        "containers": [{"name": "a"}],
        "initContainers": [{"name": "i", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"add": ["SYS_ADMIN"]}}}]}});
    assert_eq!(eval(src, &good), Ok(Value::Bool(true)));
    assert_eq!(eval(src, &bad), Ok(Value::Bool(false)));
}

#[test]
fn message_expression_returns_json() {
    let env = Env::kubernetes().variable("object", Type::Dyn).build();
    let prog = env
        .compile("'privileged containers: ' + object.spec.containers.filter(c, c.?securityContext.?privileged.orValue(false)).map(c, c.name).join(', ')")
        .unwrap();
    let mut act = Activation::new();
    act.bind_json(
        "object",
        &pod(json!([{"name": "a", "securityContext": {"privileged": true}}, {"name": "b"}])),
    );
    assert_eq!(
        prog.eval_json(&act).unwrap(),
        json!("privileged containers: a")
    );
}
