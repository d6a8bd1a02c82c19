//! Spec-conformance tables per grammar feature, plus Kyverno's dialect.

use serde_json::{Value, json};

use crate::{Context, ErrorKind, compile};

fn data() -> Value {
    json!({
        "a": {"b": {"c": 1}, "list": [0, 1, 2, 3, 4, 5], "nested": [[1, 2], [3], 4]},
        "people": [{"name": "a", "age": 30}, {"name": "b", "age": 20}, {"name": "c"}],
        "obj": {"x": {"v": 1}, "y": {"v": 2}, "z": {}},
        "quoted key": 7, "n": null, "t": true, "s": "str"
    })
}

fn run(expr: &str, ctx: &Context) -> Result<Value, crate::Error> {
    compile(expr).unwrap().search(&data(), ctx)
}

fn table(cases: &[(&str, Value)]) {
    let ctx = Context::default().spec_missing_keys();
    for (expr, want) in cases {
        assert_eq!(
            &run(expr, &ctx).unwrap_or_else(|e| panic!("{expr}: {e}")),
            want,
            "{expr}"
        );
    }
}

#[test]
fn identifiers_and_subexpressions() {
    table(&[
        ("a.b.c", json!(1)),
        ("\"quoted key\"", json!(7)),
        ("a.missing", json!(null)),
        ("s.x", json!(null)),
        ("@.s", json!("str")),
    ]);
}

#[test]
fn index_and_slices() {
    table(&[
        ("a.list[0]", json!(0)),
        ("a.list[-1]", json!(5)),
        ("a.list[10]", json!(null)),
        ("a.list[1:3]", json!([1, 2])),
        ("a.list[::2]", json!([0, 2, 4])),
        ("a.list[::-1]", json!([5, 4, 3, 2, 1, 0])),
        ("a.list[-2:]", json!([4, 5])),
        ("a.list[:-4:-1]", json!([5, 4, 3])),
        ("s[0]", json!(null)),
    ]);
    assert!(run("a.list[::0]", &Context::default()).is_err());
}

#[test]
fn projections() {
    table(&[
        ("people[*].name", json!(["a", "b", "c"])),
        ("people[].age", json!([30, 20])),
        ("people[?age > `25`].name", json!(["a"])),
        ("people[?!age].name", json!(["c"])),
        ("obj.*.v", json!([1, 2])),
        ("a.nested[]", json!([1, 2, 3, 4])),
        ("a.nested[][0]", json!([])),
        ("a.nested[*][0]", json!([1, 3])),
        ("a.list[1:3].x", json!([])),
        ("people[*].name | [0]", json!("a")),
        ("s[*]", json!(null)),
    ]);
}

#[test]
fn multiselect_and_operators() {
    table(&[
        ("[a.b.c, s]", json!([1, "str"])),
        ("{x: a.b.c, y: s}", json!({"x": 1, "y": "str"})),
        ("n.[a]", json!(null)),
        ("n || s", json!("str")),
        ("t && s", json!("str")),
        ("!t", json!(false)),
        ("a.b.c == `1.0`", json!(true)),
        ("a.b.c < `2`", json!(true)),
        ("s < `2`", json!(null)),
        ("`[1, 2]` == `[1, 2]`", json!(true)),
        ("'a' != 'b'", json!(true)),
        ("length(people) | to_string(@)", json!("3")),
        ("sort_by(people[?age], &age)[0].name", json!("b")),
        ("&a", json!(null)),
    ]);
}

#[test]
fn kyverno_missing_keys() {
    let ctx = Context::default();
    let err = run("a.missing", &ctx).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnknownKey);
    assert_eq!(err.message, "Unknown key \"missing\" in path");
    assert_eq!(err.unknown_key_name(), Some("missing"));
    assert_eq!(
        run("a.missing.deeper", &ctx).unwrap_err().kind,
        ErrorKind::UnknownKey
    );
    assert_eq!(
        run("a.missing | length(@)", &ctx).unwrap_err().kind,
        ErrorKind::UnknownKey
    );
    assert_eq!(run("n.x", &ctx).unwrap(), json!(null));
    assert_eq!(
        run("a.missing || 'default'", &ctx).unwrap(),
        json!("default")
    );
    // Both operands of `||` read missing keys as null (Kyverno's karpenter test expects
    // `limits.x || requests.x` on `resources: {}` to substitute, not to fail).
    assert_eq!(
        run("a.missing || a.other.deeper", &ctx).unwrap(),
        json!(null)
    );
    assert_eq!(run("a.missing == null", &ctx).unwrap(), json!(true));
    assert_eq!(run("not_null(a.missing, 'x')", &ctx).unwrap(), json!("x"));
    assert_eq!(run("people[].age", &ctx).unwrap(), json!([30, 20]));
    assert_eq!(run("people[?age > `25`].name", &ctx).unwrap(), json!(["a"]));
    assert_eq!(run("[a.missing, s]", &ctx).unwrap(), json!([null, "str"]));
    assert_eq!(run("!(a.missing)", &ctx).unwrap(), json!(true));
    // go-jmespath swallows errors left of a filter, a flatten and a value projection.
    assert_eq!(run("a.missing[?x]", &ctx).unwrap(), json!(null));
    assert_eq!(run("a.missing[]", &ctx).unwrap(), json!(null));
    assert_eq!(run("a.missing.*", &ctx).unwrap(), json!(null));
    assert_eq!(
        run("a.missing[?x].y | length(@)", &ctx).unwrap_err().kind,
        ErrorKind::InvalidType
    );
}

#[test]
fn whole_numbers_are_integers() {
    let ctx = Context::default();
    assert_eq!(run("length(a.list)", &ctx).unwrap().to_string(), "6");
    assert_eq!(run("abs(`-2.0`)", &ctx).unwrap().to_string(), "2");
}

#[test]
fn hostile_inputs_are_bounded() {
    let ctx = Context::default().with_budget(100_000);
    let e = "[@, @][]".repeat(40);
    let r = compile(&e).unwrap().search(&data(), &ctx);
    assert_eq!(r.unwrap_err().kind, ErrorKind::Limit);
    assert!(compile(&"(".repeat(100_000)).is_err());
    assert!(compile(&format!("`{}1{}`", "[".repeat(10_000), "]".repeat(10_000))).is_err());
    for text in [
        "",
        "a..b",
        "[?",
        "`",
        "f(",
        "a[1:2:0]",
        "{a: b",
        "'\\",
        "\"\\u12\"",
    ] {
        let _ = crate::fuzz_eval(text);
    }
}

#[test]
fn expressions_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<crate::Expression>();
    assert_send_sync::<Context>();
}

#[test]
fn function_results_and_string_copies_are_charged_by_size() {
    let data = serde_json::json!({"s": "x".repeat(100_000)});
    let small = Context::default().with_budget(1_000);
    for expr in ["to_string(s)", "[s]", "base64_encode(s)"] {
        let e = crate::compile(expr)
            .unwrap()
            .search(&data, &small)
            .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Limit, "{expr}");
    }
    let e = crate::compile("s").unwrap().search(&data, &small).unwrap();
    assert_eq!(e.as_str().map(str::len), Some(100_000));
}

#[test]
fn search_items_keeps_list_items_apart_and_borrowed() {
    use crate::Found;
    use std::borrow::Cow;
    let data = data();
    let ctx = Context::default();
    for expr in [
        "people",
        "people[?age > `25`]",
        "[a.b, obj.x][]",
        "obj.*",
        "a.list[1:3]",
        "people[].name",
        "length(people)",
        "a.b",
        "`[1, 2]`",
    ] {
        let compiled = compile(expr).unwrap();
        let whole = compiled.search(&data, &ctx).unwrap();
        let found = compiled.search_items(&data, &ctx).unwrap();
        let rebuilt = match &found {
            Found::One(v) => v.clone().into_owned(),
            Found::List(items) => {
                Value::Array(items.iter().map(|i| i.clone().into_owned()).collect())
            }
        };
        assert_eq!(rebuilt, whole, "{expr}");
        assert_eq!(matches!(found, Found::List(_)), whole.is_array(), "{expr}");
    }
    // Selected objects are borrowed, not copied.
    let compiled = compile("[a.b, obj.x][]").unwrap();
    let Found::List(items) = compiled.search_items(&data, &ctx).unwrap() else {
        panic!("a list");
    };
    assert!(items.iter().all(|i| matches!(i, Cow::Borrowed(_))));
    assert!(
        compile("missing")
            .unwrap()
            .search_items(&data, &ctx)
            .is_err()
    );
}

#[test]
fn missing_keys_inside_operands_are_null_and_outside_keep_their_message() {
    let ctx = Context::default();
    let data = data();
    let ok = |expr: &str| compile(expr).unwrap().search(&data, &ctx).unwrap();
    assert_eq!(ok("a.missing || 'x'"), json!("x"));
    assert_eq!(ok("people[?missing == null].name"), json!(["a", "b", "c"]));
    assert_eq!(ok("length([a.missing.deeper, s])"), json!(2));
    assert_eq!(ok("!(a.missing)"), json!(true));
    for (expr, key) in [("a.missing", "missing"), ("missing | length(@)", "missing")] {
        let err = compile(expr).unwrap().search(&data, &ctx).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnknownKey, "{expr}");
        assert_eq!(
            err.message,
            format!("Unknown key {key:?} in path"),
            "{expr}"
        );
    }
}
