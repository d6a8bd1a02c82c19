//! The embedding API: host functions and methods, opaque receivers, sharing across threads, JSON output.

use std::any::Any;
use std::sync::Arc;

use palisade_cel::{Activation, Env, Opaque, Overload, Program, Type, Value};
use serde_json::json;

#[derive(Debug)]
struct Client {
    prefix: String,
}

impl Opaque for Client {
    fn type_name(&self) -> &str {
        "test.Client"
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other
            .as_any()
            .downcast_ref::<Client>()
            .is_some_and(|o| o.prefix == self.prefix)
    }
    fn to_json(&self) -> serde_json::Value {
        json!(self.prefix)
    }
}

fn env() -> Env {
    Env::kubernetes()
        .variable("object", Type::Dyn)
        .variable("http", Type::Opaque("test.Client"))
        .function(
            "resource.Get",
            vec![Overload::new(vec![Type::String, Type::String], Type::Dyn)],
            |args| match args {
                [Value::String(kind), Value::String(name)] => Ok(Value::from_json(
                    &json!({"kind": kind.to_string(), "metadata": {"name": name.to_string()}}),
                )),
                _ => Err("resource.Get expects two strings".into()),
            },
        )
        .method(
            "Get",
            vec![Overload::new(
                vec![Type::Opaque("test.Client"), Type::String],
                Type::Dyn,
            )],
            |args| {
                let client = args
                    .first()
                    .and_then(Value::downcast::<Client>)
                    .ok_or("receiver must be a client")?;
                let url = args
                    .get(1)
                    .and_then(Value::as_str)
                    .ok_or("url must be a string")?;
                if url.is_empty() {
                    return Err("empty url".into());
                }
                Ok(Value::from(format!("{}{url}", client.prefix)))
            },
        )
        .build()
}

fn activation() -> Activation {
    let mut act = Activation::new();
    act.bind_json("object", &json!({"metadata": {"name": "web"}}))
        .bind(
            "http",
            Value::opaque(Client {
                prefix: "got:".into(),
            }),
        );
    act
}

#[test]
fn host_functions_and_methods() {
    let env = env();
    let cases = [
        (
            "resource.Get('ConfigMap', object.metadata.name).metadata.name",
            json!("web"),
        ),
        ("http.Get('/api')", json!("got:/api")),
        ("[http.Get('a'), http.Get('b')]", json!(["got:a", "got:b"])),
    ];
    let act = activation();
    for (src, want) in cases {
        assert_eq!(
            env.compile(src).unwrap().eval_json(&act).unwrap(),
            want,
            "{src}"
        );
    }
    let err = env.compile("http.Get('')").unwrap().eval(&act).unwrap_err();
    assert!(err.to_string().contains("empty url"), "{err}");
    let err = env.compile("http.Get(1)").unwrap_err();
    assert!(err.message.contains("no matching overload"), "{err}");
}

#[test]
fn programs_are_send_sync_and_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Program>();
    assert_send_sync::<Env>();
    assert_send_sync::<Activation>();
    let env = Env::kubernetes()
        .variable("object", Type::Dyn)
        .variable("n", Type::Int)
        .build();
    let prog = Arc::new(
        env.compile("object.metadata.name + '-' + string(n)")
            .unwrap(),
    );
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let prog = Arc::clone(&prog);
            std::thread::spawn(move || {
                let mut act = Activation::new();
                act.bind_json("object", &json!({"metadata": {"name": "w"}}))
                    .bind("n", Value::Int(n));
                prog.eval_json(&act).unwrap()
            })
        })
        .collect();
    let got: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        got,
        vec![json!("w-0"), json!("w-1"), json!("w-2"), json!("w-3")]
    );
}

#[test]
fn results_convert_to_json() {
    let env = Env::kubernetes().build();
    let act = Activation::new();
    let cases = [
        (
            "{'a': dyn([dyn(1), 2.5, 'x', null, true]), 'b': {'c': 3u}}",
            json!({"a": [1, 2.5, "x", null, true], "b": {"c": 3}}),
        ),
        (
            "timestamp('2024-01-02T03:04:05Z')",
            json!("2024-01-02T03:04:05Z"),
        ),
        ("duration('1m30s')", json!("90s")),
        ("b'hi'", json!("aGk=")),
        ("ip('10.0.0.1')", json!("10.0.0.1")),
        ("quantity('1Gi')", json!("1Gi")),
        ("optional.none()", json!(null)),
        ("4.0", json!(4)),
        ("{1: 'int key'}", json!({"1": "int key"})),
    ];
    for (src, want) in cases {
        assert_eq!(
            env.compile(src).unwrap().eval_json(&act).unwrap(),
            want,
            "{src}"
        );
    }
    assert!(env.compile("0.0 / 0.0").unwrap().eval_json(&act).is_err());
}

#[test]
fn unbound_variable_is_a_runtime_error_with_position() {
    let env = env();
    let err = env
        .compile("1 + \n  object.x")
        .unwrap()
        .eval(&Activation::new())
        .unwrap_err();
    match err {
        palisade_cel::EvalError::Runtime { position, message } => {
            assert_eq!((position.line, position.column), (2, 3));
            assert!(message.contains("'object' is not bound"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn message_construction_builds_maps() {
    let env = Env::kubernetes()
        .variable("object", Type::Dyn)
        .message_type("Object")
        .message_type("JSONPatch")
        .build();
    let act = activation();
    let cases = [
        (
            "Object{metadata: Object.metadata{labels: {'team': object.metadata.name}}, ?spec: object.?spec}",
            json!({"metadata": {"labels": {"team": "web"}}}),
        ),
        (
            "[JSONPatch{op: 'add', path: '/metadata/labels/' + jsonpatch.escapeKey('a/b'), value: 'x'}]",
            json!([{"op": "add", "path": "/metadata/labels/a~1b", "value": "x"}]),
        ),
    ];
    for (src, want) in cases {
        assert_eq!(
            env.compile(src).unwrap().eval_json(&act).unwrap(),
            want,
            "{src}"
        );
    }
    let err = env.compile("Unknown{a: 1}").unwrap_err();
    assert!(
        err.message
            .contains("undeclared reference to message type 'Unknown'"),
        "{err}"
    );
    let err = env
        .compile("Object{a: 1, a: 2}")
        .unwrap()
        .eval(&act)
        .unwrap_err();
    assert!(err.to_string().contains("set twice"), "{err}");
}

/// Lazily computed, memoized variables, as ValidatingAdmissionPolicy evaluates `variables`.
#[derive(Debug)]
struct LazyVars {
    names: Vec<&'static str>,
    slots: Vec<std::sync::OnceLock<Result<Value, String>>>,
    calls: std::sync::atomic::AtomicUsize,
}

impl Opaque for LazyVars {
    fn type_name(&self) -> &str {
        "test.Variables"
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, _: &dyn Opaque) -> bool {
        false
    }
    fn to_json(&self) -> serde_json::Value {
        json!(null)
    }
    fn field(&self, name: &str) -> Option<Result<Value, String>> {
        let i = self.names.iter().position(|n| *n == name)?;
        let slot = self.slots.get(i)?;
        Some(
            slot.get_or_init(|| {
                self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                match name {
                    "fails" => Err("variable 'fails' failed: no such key: spec".to_string()),
                    _ => Ok(Value::Int(42)),
                }
            })
            .clone(),
        )
    }
}

#[test]
fn opaque_fields_support_lazy_memoized_variables() {
    let env = Env::kubernetes().variable("variables", Type::Dyn).build();
    let vars = Arc::new(LazyVars {
        names: vec!["answer", "fails"],
        slots: vec![std::sync::OnceLock::new(), std::sync::OnceLock::new()],
        calls: std::sync::atomic::AtomicUsize::new(0),
    });
    let mut act = Activation::new();
    act.bind("variables", Value::Opaque(vars.clone()));
    let eval = |src: &str| env.compile(src).unwrap().eval(&act);
    assert_eq!(
        eval("variables.answer + variables.answer").unwrap(),
        Value::Int(84)
    );
    assert_eq!(
        eval("has(variables.answer) && !has(variables.nope)").unwrap(),
        Value::Bool(true)
    );
    assert_eq!(eval("variables.?nope.orValue(1)").unwrap(), Value::Int(1));
    assert!(
        eval("variables.fails > 0")
            .unwrap_err()
            .to_string()
            .contains("variable 'fails' failed")
    );
    assert_eq!(
        eval("true || variables.fails > 0").unwrap(),
        Value::Bool(true)
    );
    assert_eq!(vars.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}
