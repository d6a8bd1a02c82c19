//! Hostile files through the `palisade` binary: each ends with a clear message and exit code
//! 2 (bad input) or an ordinary result, never a panic, an abort or a runaway allocation.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: default\nspec:\n  containers:\n  - name: c\n    image: nginx:1.25\n";

const POLICY_HEAD: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: hostile\nspec:\n  rules:\n  - name: r\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n";

fn palisade(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Asserts a clean exit with `code` and no sign of a panic; returns stderr.
fn assert_exit(o: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("memory allocation"), "{err}");
    err
}

/// `palisade apply <policy> -r <resource>` on the given texts.
fn apply(policy: &str, resource: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policy.yaml", policy);
    write(dir.path(), "resource.yaml", resource);
    palisade(dir.path(), &["apply", "policy.yaml", "-r", "resource.yaml"])
}

fn billion_laughs() -> String {
    let mut src = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        src.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    src
}

#[test]
fn billion_laughs_policy_exits_2() {
    let o = apply(&billion_laughs(), POD);
    let err = assert_exit(&o, 2);
    assert!(err.contains("policy.yaml"), "{err}");
    assert!(err.contains("alias"), "{err}");
}

#[test]
fn billion_laughs_resource_exits_2() {
    let policy = format!("{POLICY_HEAD}    validate:\n      pattern:\n        kind: Pod\n");
    let o = apply(&policy, &billion_laughs());
    let err = assert_exit(&o, 2);
    assert!(err.contains("resource.yaml"), "{err}");
    assert!(err.contains("alias"), "{err}");
}

#[test]
fn deeply_nested_files_exit_2() {
    let n = 100_000;
    let flow = format!("{}1{}", "[".repeat(n), "]".repeat(n));
    let json = format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
    let block = "- ".repeat(n);
    for deep in [flow, json, block] {
        let o = apply(&deep, POD);
        let err = assert_exit(&o, 2);
        assert!(err.contains("policy.yaml"), "{err}");
        assert!(
            err.contains("nesting") || err.contains("recursion limit"),
            "{err}"
        );
        let policy = format!("{POLICY_HEAD}    validate:\n      pattern:\n        kind: Pod\n");
        let o = apply(&policy, &deep);
        assert_exit(&o, 2);
    }
}

#[test]
fn file_over_the_size_limit_exits_2() {
    let huge = format!("a: \"{}\"\n", "x".repeat(65 << 20));
    let o = apply(&huge, POD);
    let err = assert_exit(&o, 2);
    assert!(err.contains("larger than the limit"), "{err}");
}

#[test]
fn binary_garbage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), [0xff, 0xfe, 0, 1, 2, 0x80]).unwrap();
    write(dir.path(), "resource.yaml", POD);
    let o = palisade(dir.path(), &["apply", "policy.yaml", "-r", "resource.yaml"]);
    let err = assert_exit(&o, 2);
    assert!(err.contains("policy.yaml"), "{err}");
}

#[test]
fn pathological_regex_in_a_policy_finishes() {
    // `^(a+)+$` is exponential for backtracking engines; the regex crate is linear.
    let policy = format!(
        "{POLICY_HEAD}    validate:\n      message: evil\n      deny:\n        conditions:\n          any:\n          - key: \"{{{{ regex_match('^(a+)+$', request.object.metadata.annotations.x) }}}}\"\n            operator: Equals\n            value: true\n"
    );
    let resource = format!(
        "{}  annotations:\n    x: \"{}!\"\n",
        POD.replace("spec:\n", "")
            .replace("  containers:\n  - name: c\n    image: nginx:1.25\n", ""),
        "a".repeat(50_000)
    );
    let o = apply(
        &policy,
        &format!("{resource}spec:\n  containers:\n  - name: c\n    image: nginx\n"),
    );
    // The regex does not match: the deny condition is false and the rule passes.
    assert_exit(&o, 0);
}

#[test]
fn self_expanding_variables_in_a_resource_do_not_blow_up() {
    // A label that holds two copies of its own variable doubles on every substitution round.
    let var = "{{request.object.metadata.labels.a}}";
    let policy = format!(
        "{POLICY_HEAD}    validate:\n      message: \"x{var}\"\n      pattern:\n        metadata:\n          name: nothing-matches\n"
    );
    let resource = POD.replace(
        "  namespace: default\n",
        &format!("  namespace: default\n  labels:\n    a: \"{var}{var}\"\n"),
    );
    let o = apply(&policy, &resource);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(matches!(o.status.code(), Some(0..=2)), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn jp_query_hostile_expressions_end_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!("{{\"s\": \"{}\"}}", "x".repeat(20_000));
    write(dir.path(), "input.json", &input);
    let o = palisade(
        dir.path(),
        &["jp", "query", "-i", "input.json", "replace_all(s, '', s)"],
    );
    let err = assert_exit(&o, 1);
    assert!(err.contains("budget"), "{err}");
    let o = palisade(
        dir.path(),
        &[
            "jp",
            "query",
            "-i",
            "input.json",
            "random('((a{1000}){1000}){1000}')",
        ],
    );
    let err = assert_exit(&o, 1);
    assert!(err.contains("can generate more than"), "{err}");
    // One argument is at most 128 KiB on Linux: 30,000 levels fit.
    let deep = format!("{}s{}", "(".repeat(30_000), ")".repeat(30_000));
    let o = palisade(dir.path(), &["jp", "query", "-i", "input.json", &deep]);
    let err = assert_exit(&o, 2);
    assert!(err.contains("SyntaxError"), "{err}");
}
