//! Limits and hostile input: each is an error with a line, never a hang, a stack overflow
//! or an out-of-memory abort.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use palisade_yaml::{ErrorKind, Limits, Options, parse_bytes, parse_documents};
use serde_json::json;

fn opts(limits: Limits) -> Options {
    Options {
        limits,
        ..Options::default()
    }
}

#[test]
fn default_limits_are_documented_values() {
    let l = Limits::default();
    assert_eq!(
        (l.max_input_bytes, l.max_depth, l.alias_ratio, l.alias_floor),
        (64 << 20, 256, 10, 100_000)
    );
}

#[test]
fn input_size_limit() {
    let small = opts(Limits {
        max_input_bytes: 10,
        ..Limits::default()
    });
    let e = parse_documents("a: 123456789\n", &small).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::InputTooLarge {
            size: 13,
            limit: 10
        }
    );
    assert_eq!((e.line, e.column), (1, 1));
    assert!(parse_bytes(b"a: 123456789\n", &small).is_err());
    assert!(parse_documents("a: 1\n", &small).is_ok());
}

#[test]
fn depth_limit_block_and_flow() {
    let three = opts(Limits {
        max_depth: 3,
        ..Limits::default()
    });
    assert!(parse_documents("a:\n  b:\n    c: 1\n", &three).is_ok());
    let e = parse_documents("a:\n  b:\n    c:\n      d: 1\n", &three).unwrap_err();
    assert_eq!(
        (e.line, e.column, e.kind),
        (4, 7, ErrorKind::TooDeep { limit: 3 })
    );
    let e = parse_documents("[[[[1]]]]", &three).unwrap_err();
    assert_eq!((e.line, e.column), (1, 4));
}

#[test]
fn depth_limit_counts_aliased_collections() {
    let three = opts(Limits {
        max_depth: 3,
        ..Limits::default()
    });
    let src = "a: &x [[1]]\nb: [*x]\n";
    let e = parse_documents(src, &three).unwrap_err();
    assert_eq!((e.line, e.kind), (2, ErrorKind::TooDeep { limit: 3 }));
    assert!(parse_documents("a: &x [[1]]\nb: *x\n", &three).is_ok());
}

#[test]
fn hostile_deep_nesting_does_not_overflow() {
    for open in ["[", "{a: ", "- "] {
        let src = open.repeat(100_000);
        let e = parse_documents(&src, &Options::default()).unwrap_err();
        assert!(
            matches!(
                e.kind,
                ErrorKind::TooDeep { limit: 256 } | ErrorKind::Syntax(_)
            ),
            "{open}: {e}"
        );
    }
    let src = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = parse_documents(&src, &Options::default()).unwrap_err();
    // saphyr-parser itself stops flow nesting at 255 levels.
    assert_eq!((e.line, e.column), (1, 256));
    assert_eq!(e.kind, ErrorKind::Syntax("recursion limit exceeded".into()));
    let mut block = String::new();
    for i in 0..300 {
        block.push_str(&" ".repeat(i));
        block.push_str("k:\n");
    }
    let e = parse_documents(&block, &Options::default()).unwrap_err();
    assert_eq!((e.line, e.kind), (257, ErrorKind::TooDeep { limit: 256 }));
}

#[test]
fn billion_laughs_is_bounded() {
    let mut src = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let items = [prev.as_str(); 10].join(", ");
        src.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    let e = parse_documents(&src, &Options::default()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");
    assert!(e.line >= 4 && e.line <= 6, "{e}");
    assert!(e.to_string().contains("alias"), "{e}");
}

#[test]
fn alias_budget_scales_with_document_size() {
    // 2,000 aliases of a 100-node list: 200,000 nodes, fine for the 10x ratio only if the
    // document itself is large enough.
    let item = (0..99)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut src = format!("base: &b [{item}]\nuses:\n");
    for _ in 0..2_000 {
        src.push_str("- *b\n");
    }
    let e = parse_documents(&src, &Options::default()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");
    let generous = opts(Limits {
        alias_floor: 1_000_000,
        ..Limits::default()
    });
    let docs = parse_documents(&src, &generous).unwrap();
    assert_eq!(docs[0].value["uses"].as_array().unwrap().len(), 2_000);
    // Budget is per stream: the same document twice exhausts it sooner.
    let small_floor = opts(Limits {
        alias_floor: 150_000,
        ..Limits::default()
    });
    let half = format!("base: &b [{item}]\nuses:\n{}", "- *b\n".repeat(1_000));
    assert!(parse_documents(&half, &small_floor).is_ok());
    assert!(parse_documents(&format!("{half}---\n{half}"), &small_floor).is_err());
}

#[test]
fn merge_bombs_are_bounded() {
    let mut src =
        String::from("m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n");
    for i in 1..12 {
        let list = (0..10)
            .map(|_| format!("*m{}", i - 1))
            .collect::<Vec<_>>()
            .join(", ");
        src.push_str(&format!("m{i}: &m{i} {{<<: [{list}], x{i}: [{list}]}}\n"));
    }
    let e = parse_documents(&src, &Options::default()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");
}

#[test]
fn ten_megabyte_single_line() {
    let long = "x".repeat(10 << 20);
    let docs = parse_documents(&format!("a: {long}\n"), &Options::default()).unwrap();
    assert_eq!(docs[0].value["a"].as_str().map(str::len), Some(10 << 20));
    let quoted = parse_documents(&format!("a: \"{long}\"\n"), &Options::default()).unwrap();
    assert_eq!(quoted[0].value["a"].as_str().map(str::len), Some(10 << 20));
    let flow = format!("[{}1]", "1,".repeat(1 << 17));
    let docs = parse_documents(&flow, &Options::default()).unwrap();
    assert_eq!(docs[0].value.as_array().map(Vec::len), Some((1 << 17) + 1));
    let e = parse_documents(&format!("{long}: : x\n"), &Options::default()).unwrap_err();
    assert_eq!(e.line, 1);
}

#[test]
fn many_documents() {
    let src = "---\na: 1\n".repeat(20_000);
    let docs = parse_documents(&src, &Options::default()).unwrap();
    assert_eq!(docs.len(), 20_000);
    assert_eq!(docs[19_999].value, json!({"a": 1}));
    assert_eq!(docs[19_999].line, 40_000);
}

#[test]
fn garbage_does_not_panic() {
    let inputs: &[&[u8]] = &[
        b"\x00\x01\x02",
        b"[",
        b"{",
        b"]",
        b"&a",
        b"*",
        b"!<",
        b"%YAML 1.1\n%YAML 1.1\n---\n",
        b"%TAG ! !\n--- !x\n",
        b"? ? ? ?",
        b"- - - - -\n  - -\n - -",
        b"'unterminated",
        b"\"\\u12",
        b"|\n  \t\n",
        b">-9\n",
        b"a: |0\n  x",
        b"\xef\xbb\xbf\xef\xbb\xbf",
        b"--- |\n...\n--- >\n",
        b"{a: [}, b: ]}",
        b"a: !!binary |\n  ====\n",
        b"<<: *",
        b"? - a\n  - b\n: c",
    ];
    for input in inputs {
        let _ = parse_bytes(input, &Options::with_positions());
        assert!(
            palisade_yaml::fuzz_roundtrip(input),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn aliases_of_long_strings_are_weighed_by_size() {
    // 1,000 copies of a 1 MiB string would need 1 GiB.
    let src = format!(
        "a: &a \"{}\"\nb: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*a"; 1_000].join(", ")
    );
    let e = parse_documents(&src, &Options::default()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");
    assert_eq!(e.line, 2);
    // A few copies are fine.
    let few = format!("a: &a \"{}\"\nb: [*a, *a, *a]\n", "x".repeat(1 << 20));
    assert!(parse_documents(&few, &Options::default()).is_ok());
}

#[test]
fn nested_anchors_are_bounded() {
    // Every anchor keeps a copy of its content: 200 nested anchors around 50,000 items
    // would copy ten million nodes.
    let levels = 200;
    let mut src = String::new();
    for i in 0..levels {
        src.push_str(&format!("&a{i} ["));
    }
    src.push_str(&vec!["1"; 50_000].join(","));
    src.push_str(&"]".repeat(levels));
    let e = parse_documents(&src, &Options::default()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::AliasExpansion { .. }), "{e}");
}

#[test]
fn many_concatenated_json_documents_load_in_linear_time() {
    let one_line = "{\"a\":1}".repeat(100_000);
    let docs = parse_documents(&one_line, &Options::with_positions()).unwrap();
    assert_eq!(docs.len(), 100_000);
    let last = docs[99_999]
        .positions
        .as_ref()
        .unwrap()
        .get(&["a".into()])
        .unwrap();
    assert_eq!((last.line, last.column), (1, 699_995));
    let lines = "[1]\n".repeat(100_000);
    let docs = parse_documents(&lines, &Options::default()).unwrap();
    assert_eq!(docs[99_999].line, 100_000);
}
