//! Hostile input against the default limits: every case ends in a value or an `Err`, never a
//! stack overflow, an abort or an unbounded allocation. Sizes are chosen so that each test
//! stays well under a couple of seconds in a debug build.

#![allow(clippy::unwrap_used)]

use palisade_yaml::{ErrorKind, Limits, Options, parse_bytes, parse_documents};

fn load(src: &str) -> Result<Vec<serde_json::Value>, palisade_yaml::Error> {
    parse_documents(src, &Options::default()).map(|d| d.into_iter().map(|d| d.value).collect())
}

fn is_depth_error(kind: &ErrorKind) -> bool {
    match kind {
        ErrorKind::TooDeep { .. } => true,
        ErrorKind::Syntax(m) => m.contains("recursion limit"),
        _ => false,
    }
}

#[test]
fn json_nested_100k_levels_is_a_depth_error() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("[{\"a\":", "}]")] {
        let src = format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
        let e = load(&src).unwrap_err();
        assert!(is_depth_error(&e.kind), "{open}: {e}");
    }
}

#[test]
fn concatenated_json_with_deep_nesting_is_a_depth_error() {
    // Two JSON documents side by side take the concatenated-JSON path after YAML fails.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = load(&format!("{{\"a\": 1}}\n{deep}\n")).unwrap_err();
    assert!(is_depth_error(&e.kind), "{e}");
    let unbalanced = format!("{{\"a\": 1}}\n{}", "{\"b\":".repeat(100_000));
    assert!(load(&unbalanced).is_err());
}

#[test]
fn block_nesting_100k_levels_is_a_depth_error() {
    let n = 100_000;
    let cases = [
        "- ".repeat(n),
        format!("a:\n  - {}", "[".repeat(n)),
        format!("- {}", "{b: ".repeat(n)),
        format!("{}x", "[{a: ".repeat(n)),
    ];
    for src in cases {
        let e = load(&src).unwrap_err();
        assert!(is_depth_error(&e.kind), "{:?}: {e}", &src[..12]);
    }
}

#[test]
fn depth_just_under_the_limit_loads() {
    let src = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let docs = load(&src).unwrap();
    let mut v = &docs[0];
    let mut depth = 0;
    while let Some(inner) = v.get(0) {
        v = inner;
        depth += 1;
    }
    assert_eq!((depth, v), (200, &serde_json::json!(1)));
}

#[test]
fn billion_laughs_is_an_alias_expansion_error() {
    let mut src = String::from("lol: &l0 \"lol\"\n");
    for i in 1..=9 {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        src.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    let e = load(&src).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");
    assert!(e.to_string().contains("alias expansion"), "{e}");
}

#[test]
fn billion_laughs_in_flow_and_across_documents() {
    // The whole bomb on one line, and spread over documents (the budget is per stream).
    let mut flow = String::from("[&a [x, x, x, x, x, x, x, x]");
    for i in 1..12 {
        let prev = if i == 1 {
            "a".to_string()
        } else {
            format!("a{}", i - 1)
        };
        flow.push_str(&format!(
            ", &a{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]"
        ));
    }
    flow.push(']');
    let e = load(&flow).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");

    let base = "&b [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]";
    let doc = format!("a: {base}\nb: [{}]\n", vec!["*b"; 5_000].join(", "));
    let e = load(&format!("{doc}---\n{doc}---\n{doc}")).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");
}

#[test]
fn long_string_aliased_many_times_is_weighed_by_size() {
    // 1 MB string copied 5,000 times would be 5 GB.
    let src = format!(
        "s: &s \"{}\"\nc: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*s"; 5_000].join(", ")
    );
    let e = load(&src).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");
}

#[test]
fn merge_key_bomb_is_bounded() {
    let mut src = String::from("m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n");
    for i in 1..10 {
        let merges = vec![format!("*m{}", i - 1); 8].join(", ");
        src.push_str(&format!(
            "m{i}: &m{i} {{<<: [{merges}], k{i}: [{merges}]}}\n"
        ));
    }
    let e = load(&src).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");
}

#[test]
fn input_over_the_size_limit_is_rejected_before_parsing() {
    let limit = Limits::default().max_input_bytes;
    let huge = "a".repeat(limit + 1);
    let e = parse_documents(&huge, &Options::default()).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::InputTooLarge {
            size: limit + 1,
            limit
        }
    );
    let e = parse_bytes(huge.as_bytes(), &Options::default()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InputTooLarge { .. }), "{e}");
    assert!(e.to_string().contains("larger than the limit"), "{e}");
}

#[test]
fn configured_size_limit_applies() {
    let opts = Options {
        limits: Limits {
            max_input_bytes: 1 << 20,
            ..Limits::default()
        },
        ..Options::default()
    };
    let src = format!("a: \"{}\"\n", "x".repeat(2 << 20));
    let e = parse_documents(&src, &opts).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InputTooLarge { .. }), "{e}");
}

#[test]
fn million_element_list_against_a_size_limit() {
    // A million elements load in release builds; here the point is the limit, checked
    // before any parsing.
    let src = format!("[{}0]", "0,".repeat(999_999));
    let opts = Options {
        limits: Limits {
            max_input_bytes: 1 << 20,
            ..Limits::default()
        },
        ..Options::default()
    };
    let e = parse_documents(&src, &opts).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InputTooLarge { .. }), "{e}");
    let block = "- 0\n".repeat(50_000);
    let docs = load(&block).unwrap();
    assert_eq!(docs[0].as_array().map(Vec::len), Some(50_000));
}

#[test]
fn many_keys_in_one_mapping() {
    let mut src = String::new();
    for i in 0..5_000 {
        src.push_str(&format!("k{i}: {i}\n"));
    }
    let docs = load(&src).unwrap();
    assert_eq!(docs[0].as_object().map(|m| m.len()), Some(5_000));
    src.push_str("k5: again\n");
    let e = load(&src).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::DuplicateKey { .. }), "{e}");
}

#[test]
fn binary_garbage_and_control_characters_are_errors() {
    let e = parse_bytes(&[0xff, 0xfe, 0x00, 0x41], &Options::default()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidUtf8(_)), "{e}");
    for src in ["\u{0}\u{1}\u{2}", "a: \u{7}", "\t- x", "&a *a", "*unknown"] {
        let _ = load(src);
    }
    let e = load("a: *unknown").unwrap_err();
    assert!(e.to_string().contains("unknown anchor"), "{e}");
}
