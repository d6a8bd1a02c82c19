//! Table tests of the CEL language: operators, macros, equality and error rules.

mod common;

use common::run;
use serde_json::{Value as Json, json};

fn doc() -> Json {
    json!({
        "n": 3, "f": 1.5, "s": "héllo", "t": true, "nil": null,
        "list": [1, 2, 3], "strs": ["a", "b"], "m": {"a": 1, "b": 2},
        "nested": {"inner": {"v": "deep"}}
    })
}

#[test]
fn evaluates_expressions() {
    let cases: Vec<(&str, Json)> = vec![
        ("1 + 2 * 3", json!(7)),
        ("(1 + 2) * 3", json!(9)),
        ("7 / 2", json!(3)),
        ("-7 / 2", json!(-3)),
        ("7 % 3", json!(1)),
        ("-7 % 3", json!(-1)),
        ("7.0 / 2.0", json!(3.5)),
        ("3u + 4u", json!(7)),
        ("'ab' + 'cd'", json!("abcd")),
        ("[1] + [2, 3]", json!([1, 2, 3])),
        ("b'ab' + b'c' == b'abc'", json!(true)),
        ("2 in [1, 2]", json!(true)),
        ("'a' in {'a': 1}", json!(true)),
        ("'z' in x.m", json!(false)),
        ("x.n > 2 ? 'big' : 'small'", json!("big")),
        ("!true", json!(false)),
        ("-x.n", json!(-3)),
        ("x.s.size()", json!(5)),
        ("size(x.list)", json!(3)),
        ("x.list[1]", json!(2)),
        ("x.m['b']", json!(2)),
        ("x.m.a", json!(1)),
        ("x.nested.inner.v", json!("deep")),
        ("has(x.nested.inner)", json!(true)),
        ("has(x.nested.nothing)", json!(false)),
        ("has(x.nil)", json!(true)),
        ("x.nil == null", json!(true)),
        ("has(x.nil.field)", json!(false)),
        ("x.nil.?field.orValue('none')", json!("none")),
        ("x.list.all(i, i > 0)", json!(true)),
        ("x.list.exists(i, i == 2)", json!(true)),
        ("x.list.exists_one(i, i > 1)", json!(false)),
        ("x.list.existsOne(i, i > 2)", json!(true)),
        ("x.list.map(i, i * 10)", json!([10, 20, 30])),
        ("x.list.map(i, i > 1, i * 10)", json!([20, 30])),
        ("x.list.filter(i, i % 2 == 1)", json!([1, 3])),
        ("x.m.all(k, k.size() == 1)", json!(true)),
        ("x.m.map(k, k)", json!(["a", "b"])),
        ("x.m.filter(k, x.m[k] > 1)", json!(["b"])),
        ("x.list.all(i, v, v > i)", json!(true)),
        ("x.m.exists(k, v, k == 'b' && v == 2)", json!(true)),
        ("x.list.transformList(i, v, i * v)", json!([0, 2, 6])),
        ("x.list.transformList(i, v, v > 1, v)", json!([2, 3])),
        (
            "x.m.transformMap(k, v, v * 100)",
            json!({"a": 100, "b": 200}),
        ),
        (
            "x.strs.transformMapEntry(i, v, {v: i})",
            json!({"a": 0, "b": 1}),
        ),
        (
            "[[1, 2], [3]].map(l, l.map(i, i + 1))",
            json!([[2, 3], [4]]),
        ),
        ("cel.bind(y, x.n * 2, y + y)", json!(12)),
        ("{'k': [1, 2]}.k[0]", json!(1)),
        ("[1, 2, 3][x.n - 1]", json!(3)),
        ("'\\u00e9' == 'é'", json!(true)),
        ("r'\\d' == '\\\\d'", json!(true)),
        ("'''multi\nline'''.size()", json!(10)),
        ("\"double\" + 'single'", json!("doublesingle")),
        ("0x10 + 010", json!(26)),
        ("1e3", json!(1000)),
        ("-9223372036854775808", json!(i64::MIN)),
        ("18446744073709551615u", json!(u64::MAX)),
        ("type(x.f) == double", json!(true)),
        ("type(x.list) == list && type(x.m) == map", json!(true)),
        ("type(type(1)) == type", json!(true)),
        ("dyn(1) == 1.0", json!(true)),
        ("x.n == 3.0 && x.n == 3u", json!(true)),
        ("dyn(1) == 'a'", json!(false)),
        ("[1, 2] == [1, 3]", json!(false)),
        ("dyn([1, 2]) == [1.0, 2.0]", json!(true)),
        ("{1: 'a'}[1u]", json!("a")),
        ("{1: 'a'}[1.0]", json!("a")),
        ("x.list == [1, 2, 3]", json!(true)),
        ("x.m == {'b': 2, 'a': 1}", json!(true)),
        ("x.n < 3.5 && 2u < 3 && 3.0 >= 3", json!(true)),
        ("'abc' < 'abd' && b'a' < b'b' && false < true", json!(true)),
        ("0.0 / 0.0 == 0.0 / 0.0", json!(false)),
        ("x.s.startsWith('h') && x.s.matches('^h.llo$')", json!(true)),
        ("string(x.n) + '!'", json!("3!")),
        ("x.list.map(i, string(i)).join(',')", json!("1,2,3")),
        (
            "x.strs.exists(s, s == 'b') ? 'found' : 'missing'",
            json!("found"),
        ),
        ("// a comment\n1 + // another\n 1", json!(2)),
    ];
    let d = doc();
    for (src, want) in cases {
        assert_eq!(run(src, &d), Ok(want), "{src}");
    }
}

#[test]
fn logical_operators_absorb_errors_like_cel() {
    let d = doc();
    let cases: Vec<(&str, Result<bool, &str>)> = vec![
        ("false && 1 / 0 > 0", Ok(false)),
        ("1 / 0 > 0 && false", Ok(false)),
        ("true || 1 / 0 > 0", Ok(true)),
        ("1 / 0 > 0 || true", Ok(true)),
        ("x.missing == 1 || true", Ok(true)),
        ("true && 1 / 0 > 0", Err("division by zero")),
        ("1 / 0 > 0 || false", Err("division by zero")),
        ("[1, 0].all(i, 10 / i > 0)", Err("division by zero")),
        ("[1, 0, -1].all(i, 10 / i > 0)", Ok(false)),
        ("[0, 1].exists(i, 10 / i == 10)", Ok(true)),
        ("[0].exists_one(i, 10 / i == 10)", Err("division by zero")),
    ];
    for (src, want) in cases {
        let got = run(src, &d);
        match want {
            Ok(b) => assert_eq!(got, Ok(json!(b)), "{src}"),
            Err(msg) => assert!(
                got.as_ref().is_err_and(|e| e.contains(msg)),
                "{src}: {got:?}"
            ),
        }
    }
}

#[test]
fn runtime_errors() {
    let d = doc();
    let cases = [
        ("9223372036854775807 + 1", "integer overflow"),
        ("-9223372036854775808 - 1", "integer overflow"),
        ("9223372036854775807 * 2", "integer overflow"),
        ("-(-9223372036854775808)", "integer overflow"),
        ("0u - 1u", "unsigned integer overflow"),
        ("1 / 0", "division by zero"),
        ("1 % 0", "modulus by zero"),
        ("x.list[5]", "index out of bounds: 5"),
        ("x.list[-1]", "index out of bounds: -1"),
        ("x.m.zz", "no such key: zz"),
        ("x.m['zz']", "no such key: zz"),
        ("x.nested.inner.v.w", "no such key: w"),
        ("x.list.w", "does not support field selection"),
        ("has(x.list.field)", "invalid type"),
        ("x.n + 'a'", "no such overload"),
        ("dyn(1) + 1u", "no such overload"),
        ("{'a': 1, 'a': 2}", "repeated key"),
        ("x.s.all(c, true)", "cannot be the range"),
        ("dyn('a') < 1", "no such overload"),
        ("x.t ? 1 : x.nope", ""),
    ];
    for (src, msg) in cases {
        let got = run(src, &d);
        if msg.is_empty() {
            assert_eq!(got, Ok(json!(1)), "{src}");
            continue;
        }
        assert!(
            got.as_ref().is_err_and(|e| e.contains(msg)),
            "{src}: {got:?}"
        );
    }
}

#[test]
fn runtime_errors_carry_positions() {
    use palisade_cel::{Activation, Env, EvalError, Type};
    let env = Env::kubernetes().variable("x", Type::Dyn).build();
    let mut act = Activation::new();
    act.bind_json("x", &doc());
    let cases = [
        ("x.missing", 1, 2),
        ("x.list.map(i, 10 / (i - 2))", 1, 18),
        ("x.n +\n  x.m.zz", 2, 6),
        ("x.list[7]", 1, 7),
        ("[1, 2].all(i, i > 0) && x.s.charAt(99) == ''", 1, 28),
        ("optional.none().value()", 1, 16),
    ];
    for (src, line, col) in cases {
        let err = env.compile(src).unwrap().eval(&act).unwrap_err();
        let EvalError::Runtime { position, .. } = &err else {
            panic!("{src}: {err:?}")
        };
        assert_eq!(
            (position.line, position.column),
            (line, col),
            "{src}: {err}"
        );
    }
}
