//! The emitter's output reads back as the value it was written from.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use palisade_yaml::{Options, parse_documents, to_yaml_stream, to_yaml_string};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn reparse(text: &str) -> Vec<Value> {
    match parse_documents(text, &Options::default()) {
        Ok(docs) => docs.into_iter().map(|d| d.value).collect(),
        Err(e) => panic!("emitted YAML does not load: {e}\n{text}"),
    }
}

/// Strings that are easy to get wrong.
const TRICKY: &[&str] = &[
    "",
    " ",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "~",
    "null",
    "true",
    "1",
    "-1",
    "1.5",
    "1e3",
    ".5",
    "0x1F",
    "0755",
    "0o17",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "1e400",
    "12:30",
    "2001-12-14",
    "2001-12-14 21:59:43.10",
    "<<",
    "-",
    "- x",
    "--",
    "---",
    "...",
    "? x",
    "?",
    ":",
    "a: b",
    "a:",
    "a #b",
    "#c",
    "*a",
    "&a",
    "!t",
    "|",
    ">",
    "%",
    "@",
    "`",
    "'",
    "\"",
    "''",
    "[",
    "]",
    "{",
    "}",
    ",",
    "a,b",
    "a\nb",
    "a\n",
    "\n",
    "\n\n",
    " a\nb",
    "a \nb",
    "a\n ",
    "\ta",
    "a\tb",
    "\r",
    "\u{85}",
    "\u{2028}",
    "\u{feff}",
    "\u{a0}",
    "é",
    "\u{1F600}",
    "\0",
    "\\",
    "a\n\n\nb\n\n",
    "  lead",
    "trail  ",
    "k: v\n- x",
    "=(name)",
    "+(x)",
    "^(a)",
    "X(y)",
    "?*",
    "!*:latest",
];

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(TRICKY).prop_map(str::to_owned),
        3 => "[ a-z0-9:#'\"\\-\n\t.,|>?!&*%@{}\\[\\]]{0,10}",
        1 => any::<String>(),
        // Long enough to be folded past column 80.
        2 => r#"[a-z'*:]{1,9}( {1,3}[a-z'*#:"\\é-]{1,9}){8,30}"#,
    ]
}

/// A number as the loader produces it: integral floats become integers when they fit.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(normalized),
        (-1000i32..1000, 1u32..6)
            .prop_map(|(m, e)| json!(f64::from(m) / 10f64.powi(e as i32) + 0.5f64.powi(20))),
    ]
}

/// What the loader makes of a float: integers when integral and in range.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn normalized(f: f64) -> Value {
    if f.fract() != 0.0 {
        json!(f)
    } else if (-(2f64.powi(63))..2f64.powi(63)).contains(&f) {
        Value::from(f as i64)
    } else if (0.0..2f64.powi(64)).contains(&f) {
        Value::from(f as u64)
    } else {
        json!(f)
    }
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((string(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_emit_roundtrip(v in value()) {
        let text = to_yaml_string(&v);
        let back = reparse(&text);
        let want = if v.is_null() { vec![] } else { vec![v] };
        prop_assert_eq!(back, want, "emitted:\n{}", text);
    }

    #[test]
    fn stream_roundtrip(docs in prop::collection::vec(value().prop_filter("non-null", |v| !v.is_null()), 0..4)) {
        let text = to_yaml_stream(&docs);
        prop_assert_eq!(reparse(&text), docs, "emitted:\n{}", text);
    }

    #[test]
    fn fuzz_entry_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = palisade_yaml::parse_bytes(&bytes, &Options::with_positions());
        prop_assert!(palisade_yaml::fuzz_roundtrip(&bytes));
    }

    #[test]
    fn yamlish_text_never_panics(text in "[ a-z0-9:#'\"\\-\n\t.,|>?!&*%@{}\\[\\]<~]{0,40}") {
        prop_assert!(palisade_yaml::fuzz_roundtrip(text.as_bytes()));
    }
}

#[test]
fn every_tricky_string_roundtrips_as_key_value_and_item() {
    for s in TRICKY {
        let v = json!({ *s: s, "list": [s, {*s: [s]}], "nested": {"k": s} });
        let text = to_yaml_string(&v);
        assert_eq!(reparse(&text), vec![v], "{s:?} emitted as:\n{text}");
        let root = Value::String((*s).to_owned());
        let text = to_yaml_string(&root);
        assert_eq!(reparse(&text), vec![root], "{s:?} emitted as:\n{text}");
    }
}

#[test]
fn manifests_roundtrip_through_text() {
    let src = "\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-latest
  annotations:
    policies.kyverno.io/description: >-
      The ':latest' tag is mutable and can lead to unexpected errors if the
      image changes.
spec:
  validationFailureAction: Audit
  rules:
  - name: require-image-tag
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: \"An image tag is required.\"
      pattern:
        spec:
          containers:
          - image: \"*:*\"
  - name: validate-image-tag
    validate:
      pattern:
        spec:
          =(initContainers):
          - image: \"!*:latest\"
      deny:
        conditions:
          any:
          - key: \"{{ request.object.spec.replicas }}\"
            operator: GreaterThan
            value: 3
";
    let first = reparse(src);
    let text = to_yaml_stream(&first);
    assert_eq!(reparse(&text), first, "{text}");
    assert!(
        text.contains("    policies.kyverno.io/description: The ':latest' tag is mutable"),
        "{text}"
    );
    assert!(text.contains("  - image: '!*:latest'"), "{text}");
    assert!(
        text.contains("- key: '{{ request.object.spec.replicas }}'"),
        "{text}"
    );
}
