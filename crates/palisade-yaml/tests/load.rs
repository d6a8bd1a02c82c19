//! Loading behaviour: streams, comments, anchors, merge keys, keys, tags, errors.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use palisade_yaml::{Document, Error, ErrorKind, Options, parse_bytes, parse_documents};
use serde_json::{Value, json};

fn docs(src: &str) -> Vec<Value> {
    parse_documents(src, &Options::default())
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

fn one(src: &str) -> Value {
    let mut all = docs(src);
    assert_eq!(all.len(), 1, "{src:?}");
    all.remove(0)
}

fn err(src: &str) -> Error {
    parse_documents(src, &Options::default()).unwrap_err()
}

/// The expected JSON of plain scalars, as Kyverno (sigs.k8s.io/yaml over go-yaml v2) reads them.
#[test]
fn scalar_table_matches_go_yaml_v2() {
    let cases: &[(&str, Value)] = &[
        ("yes", json!(true)),
        ("Yes", json!(true)),
        ("YES", json!(true)),
        ("yEs", json!("yEs")),
        ("y", json!(true)),
        ("Y", json!(true)),
        ("n", json!(false)),
        ("NO", json!(false)),
        ("on", json!(true)),
        ("ON", json!(true)),
        ("oN", json!("oN")),
        ("off", json!(false)),
        ("True", json!(true)),
        ("FALSE", json!(false)),
        ("~", json!(null)),
        ("null", json!(null)),
        ("Null", json!(null)),
        ("", json!(null)),
        ("0755", json!(493)),
        ("0o755", json!(493)),
        ("0x1F", json!(31)),
        ("0b101", json!(5)),
        ("1_000", json!(1000)),
        ("+5", json!(5)),
        ("-5", json!(-5)),
        ("1e3", json!(1000)),
        ("2.0", json!(2)),
        ("1.5", json!(1.5)),
        (".5", json!(0.5)),
        ("-1.5e-3", json!(-0.0015)),
        ("9223372036854775808", json!(9_223_372_036_854_775_808u64)),
        ("1e20", json!(1e20)),
        ("99999999999999999999", json!(1e20)),
        ("1e400", json!("1e400")),
        ("12:30:00", json!("12:30:00")),
        ("2001-12-14", json!("2001-12-14")),
        ("0x", json!("0x")),
        ("'yes'", json!("yes")),
        ("\"0755\"", json!("0755")),
        ("\"\"", json!("")),
        ("!!str yes", json!("yes")),
        ("!!str 0755", json!("0755")),
        ("!!int \"42\"", json!(42)),
        ("!!float 1", json!(1)),
        ("!!float 1.5", json!(1.5)),
        ("!!bool 'on'", json!(true)),
        ("!!null ''", json!(null)),
        ("!!binary aGVsbG8=", json!("hello")),
        ("!custom yes", json!("yes")),
        ("! 12", json!("12")),
        ("!!map x", json!("x")),
    ];
    for (text, want) in cases {
        let got = one(&format!("v: {text}\n"));
        assert_eq!(got["v"], *want, "{text}");
    }
}

#[test]
fn block_scalars_are_strings() {
    assert_eq!(one("v: |\n  yes\n")["v"], json!("yes\n"));
    assert_eq!(one("v: >-\n  0755\n")["v"], json!("0755"));
    assert_eq!(one("v: |-\n  a\n  b\n")["v"], json!("a\nb"));
}

#[test]
fn non_finite_floats_are_errors() {
    for text in [".inf", "-.Inf", ".NaN", "!!float .nan"] {
        let e = err(&format!("a: 1\nv: {text}\n"));
        assert_eq!((e.line, e.column), (2, 4), "{text}");
        assert!(matches!(e.kind, ErrorKind::NonFinite(_)), "{text}: {e}");
        assert!(e.to_string().contains("JSON cannot represent"), "{e}");
    }
    // As keys they are fine: sigs.k8s.io/yaml prints them.
    assert_eq!(
        one(".inf: a\n-.INF: b\n.NaN: c\n"),
        json!({".inf": "a", "-.inf": "b", ".nan": "c"})
    );
}

#[test]
fn tag_mismatch_is_an_error() {
    let e = err("a:\n  b: !!int abc\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 6: cannot decode !!str `abc` as a !!int"
    );
    assert_eq!(err("a: !!binary '%%'\n").kind, ErrorKind::InvalidBinary);
}

#[test]
fn keys_become_strings() {
    let v = one("1: a\ntrue: b\n1.5: c\n0x10: d\nno: e\n1e3: f\n'q': g\n2001-01-01: h\n");
    assert_eq!(
        v,
        json!({"1": "a", "true": "b", "1.5": "c", "16": "d", "false": "e", "1000": "f", "q": "g", "2001-01-01": "h"})
    );
    // The YAML 1.1 classic: `y` and `n` are booleans, also as keys.
    assert_eq!(one("x: 1\ny: 2\n"), json!({"x": 1, "true": 2}));
}

#[test]
fn keys_that_collide_after_conversion_are_duplicates() {
    let e = err("true: a\nyes: b\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 1: duplicate key \"true\" (first defined on line 1)"
    );
}

#[test]
fn unsupported_keys() {
    for (src, line) in [
        ("a: 1\n~: x\n", 2),
        ("null: x\n", 1),
        ("? \n: x\n", 2),
        ("18446744073709551615: x\n", 1),
    ] {
        let e = err(src);
        assert!(
            matches!(e.kind, ErrorKind::UnsupportedKey(_)),
            "{src:?}: {e}"
        );
        assert_eq!(e.line, line, "{src:?}");
    }
    for src in [
        "? [a]\n: x\n",
        "{a: 1}: x\n",
        "? {a: 1}\n: x\n",
        "a: &m {b: 1}\n*m : x\n",
    ] {
        assert_eq!(err(src).kind, ErrorKind::ComplexKey, "{src:?}");
    }
}

#[test]
fn duplicate_keys() {
    let src = "metadata:\n  name: a\n  labels: {}\n  name: b\n";
    let e = err(src);
    assert_eq!((e.line, e.column), (4, 3));
    assert_eq!(
        e.kind,
        ErrorKind::DuplicateKey {
            key: "name".into(),
            first_line: 2
        }
    );
    let with_pos = parse_documents(src, &Options::with_positions()).unwrap_err();
    assert_eq!(with_pos, e);
    let lenient = Options {
        allow_duplicate_keys: true,
        ..Options::default()
    };
    let docs = parse_documents(src, &lenient).unwrap();
    assert_eq!(docs[0].value["metadata"]["name"], json!("b"));
    // Same key in different mappings is fine.
    assert_eq!(
        one("a: {x: 1}\nb: {x: 2}\n"),
        json!({"a": {"x": 1}, "b": {"x": 2}})
    );
}

#[test]
fn multi_document_streams() {
    let src = "# leading comment\na: 1\n---\n---\n# only a comment\n---\n~\n---\n- x\n...\n---\nb: 2 # trailing\n";
    let all = parse_documents(src, &Options::default()).unwrap();
    let summary: Vec<(usize, Value)> = all
        .into_iter()
        .map(|d: Document| (d.line, d.value))
        .collect();
    assert_eq!(
        summary,
        vec![
            (2, json!({"a": 1})),
            (9, json!(["x"])),
            (12, json!({"b": 2}))
        ]
    );
    assert!(docs("").is_empty());
    assert!(docs("# nothing\n").is_empty());
    assert!(docs("---\n").is_empty());
    assert_eq!(docs("--- a\n--- b\n"), vec![json!("a"), json!("b")]);
}

#[test]
fn comments_are_ignored() {
    let v = one(
        "a: 1 # one\n# between\nb: # empty\n  - x # item\n  # inside\n  - 'y # not a comment'\nc: d#e\n",
    );
    assert_eq!(
        v,
        json!({"a": 1, "b": ["x", "y # not a comment"], "c": "d#e"})
    );
}

#[test]
fn anchors_and_aliases() {
    let v =
        one("base: &b {x: 1, z: [1, 2]}\ncopy: *b\nlist: [&s str, *s]\nnum: &n 0755\nnums: [*n]\n");
    assert_eq!(
        v,
        json!({"base": {"x": 1, "z": [1, 2]}, "copy": {"x": 1, "z": [1, 2]}, "list": ["str", "str"], "num": 493, "nums": [493]})
    );
    // Redefining an anchor: later aliases see the new value.
    assert_eq!(
        one("a: &x 1\nb: *x\nc: &x 2\nd: *x\n"),
        json!({"a": 1, "b": 1, "c": 2, "d": 2})
    );
    // An alias to a scalar works as a key.
    assert_eq!(
        one("a: &k name\n*k : v\n"),
        json!({"a": "name", "name": "v"})
    );
    // Anchors do not cross documents.
    let e = err("a: &x 1\n---\nb: *x\n");
    assert_eq!(
        (e.line, e.column, e.kind),
        (3, 4, ErrorKind::UnknownAnchor("x".into()))
    );
}

#[test]
fn recursive_alias_is_an_error() {
    let e = err("a: &x [1, *x]\n");
    assert_eq!(e.kind, ErrorKind::RecursiveAlias("x".into()));
    assert_eq!((e.line, e.column), (1, 11));
    assert_eq!(
        err("&a {b: *a}\n").kind,
        ErrorKind::RecursiveAlias("a".into())
    );
}

#[test]
fn merge_keys() {
    let src = "\
base: &base {a: 1, b: 2}
other: &other {b: 3, c: 4}
single:
  <<: *base
  c: 5
list:
  <<: [*base, *other]
  d: 6
override_after:
  <<: *base
  a: 9
override_before:
  a: 9
  <<: *base
inline:
  <<: {x: 1}
";
    let v = one(src);
    assert_eq!(v["single"], json!({"a": 1, "b": 2, "c": 5}));
    // Earlier maps in a merge list win.
    assert_eq!(v["list"], json!({"a": 1, "b": 2, "c": 4, "d": 6}));
    assert_eq!(v["override_after"], json!({"a": 9, "b": 2}));
    // go-yaml v2 writes merged entries in place: they override keys written before.
    assert_eq!(v["override_before"], json!({"a": 1, "b": 2}));
    assert_eq!(v["inline"], json!({"x": 1}));
    // A quoted `<<` is an ordinary key.
    assert_eq!(one("'<<': {a: 1}\n"), json!({"<<": {"a": 1}}));
    assert_eq!(one("!!merge <<: {a: 1}\n"), json!({"a": 1}));
    assert_eq!(one("!!merge '<<': {a: 1}\n"), json!({"a": 1}));
    assert_eq!(one("!!str <<: {a: 1}\n"), json!({"<<": {"a": 1}}));
}

#[test]
fn bad_merges() {
    for src in [
        "<<: 1\n",
        "<<: [1]\n",
        "a: &l [{x: 1}]\nb:\n  <<: *l\n",
        "<<: ~\n",
        "<<: [{a: 1}, [b]]\n",
    ] {
        assert_eq!(err(src).kind, ErrorKind::BadMerge, "{src:?}");
    }
}

#[test]
fn json_input() {
    let v =
        one(r#"{"apiVersion": "v1", "kind":"Pod", "spec": {"n": [1, 2.5, true, null, "yes"]}}"#);
    assert_eq!(
        v,
        json!({"apiVersion": "v1", "kind": "Pod", "spec": {"n": [1, 2.5, true, null, "yes"]}})
    );
    let many = docs("{\"a\": 1}\n{\"b\": [2]}{\"c\": 3}\n[4]");
    assert_eq!(
        many,
        vec![
            json!({"a": 1}),
            json!({"b": [2]}),
            json!({"c": 3}),
            json!([4])
        ]
    );
    let with_lines =
        parse_documents("{\"a\": 1}\n\n  {\"b\": 2}\n", &Options::with_positions()).unwrap();
    assert_eq!(with_lines[1].line, 3);
    let at = with_lines[1]
        .positions
        .as_ref()
        .unwrap()
        .get(&["b".into()])
        .unwrap();
    assert_eq!((at.line, at.column), (3, 4));
    // Errors inside a concatenated document keep their place.
    let e = err("{\"a\": 1}\n{\"b\": !!int x}\n");
    assert_eq!(e.line, 2);
}

#[test]
fn bom_and_line_endings() {
    assert_eq!(
        one("\u{feff}a: 1\r\nb: yes\r\n"),
        json!({"a": 1, "b": true})
    );
    assert_eq!(
        parse_bytes(b"\xef\xbb\xbfa: 1\n", &Options::default()).unwrap()[0].value,
        json!({"a": 1})
    );
}

#[test]
fn invalid_utf8() {
    let e = parse_bytes(b"a: 1\nb: \xff\n", &Options::default()).unwrap_err();
    assert_eq!((e.line, e.column), (2, 4));
    assert_eq!(e.kind, ErrorKind::InvalidUtf8(8));
}

#[test]
fn syntax_errors_have_positions() {
    let e = err("a: 1\nb: c: d\n");
    assert_eq!(e.line, 2, "{e}");
    assert!(matches!(e.kind, ErrorKind::Syntax(_)));
    assert!(e.to_string().starts_with("line 2, column "), "{e}");
    let e = err("a:\n  - b\n c: d\n");
    assert_eq!(e.line, 3, "{e}");
    let e = err("a: [1, 2\n");
    assert!(e.line >= 1, "{e}");
    let e = err("a:\n\t- b\n");
    assert_eq!(e.line, 2, "{e}");
    let e = err("a: *nope\n");
    assert_eq!((e.line, e.column), (1, 4), "{e}");
}
