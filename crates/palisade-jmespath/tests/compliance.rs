//! Runs the official JMESPath compliance suite bundled with the `jmespath` crate's source
//! (a dev-dependency only so that cargo downloads it) against this implementation.
//!
//! Cases run with standard missing-key semantics (`Context::spec_missing_keys`); a second
//! pass in Kyverno mode counts how many cases Kyverno's missing-key error changes, which is
//! the dialect's one deliberate divergence and is reported, not failed.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use palisade_jmespath::{Context, compile, value::equal};
use serde_json::Value;

/// Cases we deliberately answer differently, with the reason.
const DIVERGENCES: &[(&str, &str)] = &[(
    "sum(`[]`)",
    "Kyverno replaces `sum`; its version rejects an empty array (\"at least one element in the array is required\")",
)];

fn suite_dir() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let src = home.join("registry").join("src");
    for index in std::fs::read_dir(src).ok()?.flatten() {
        for krate in std::fs::read_dir(index.path()).ok()?.flatten() {
            let name = krate.file_name().to_string_lossy().to_string();
            let dir = krate.path().join("tests").join("compliance");
            if name.starts_with("jmespath-0.5.") && dir.is_dir() {
                return Some(dir);
            }
        }
    }
    None
}

enum Outcome {
    Pass,
    Fail(String),
}

fn run_case(given: &Value, case: &Value, ctx: &Context) -> Option<Outcome> {
    let expr = case.get("expression")?.as_str()?;
    if case.get("bench").is_some() && case.get("result").is_none() && case.get("error").is_none() {
        // Benchmark-only cases: they must at least compile and run without panicking.
        let _ = compile(expr).map(|e| e.search(given, ctx));
        return Some(Outcome::Pass);
    }
    let got = compile(expr)
        .map_err(|e| e.to_string())
        .and_then(|e| e.search(given, ctx).map_err(|e| e.to_string()));
    Some(match (case.get("error"), case.get("result"), got) {
        (Some(_), _, Err(_)) => Outcome::Pass,
        (Some(kind), _, Ok(v)) => Outcome::Fail(format!("{expr}: expected error {kind}, got {v}")),
        (None, Some(want), Ok(v)) if equal(want, &v) => Outcome::Pass,
        (None, Some(want), Ok(v)) => Outcome::Fail(format!("{expr}: expected {want}, got {v}")),
        (None, None, Ok(_)) => Outcome::Pass,
        (None, want, Err(e)) => Outcome::Fail(format!("{expr}: expected {want:?}, got error {e}")),
    })
}

#[test]
fn official_compliance_suite() {
    let Some(dir) = suite_dir() else {
        println!("SKIP: jmespath-0.5 compliance files not found under $CARGO_HOME/registry/src");
        return;
    };
    let spec = Context::default().spec_missing_keys();
    let kyverno = Context::default();
    let (mut total, mut kyverno_diff) = (0, 0);
    let mut failures = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let groups: Vec<Value> = serde_json::from_str(&text).unwrap();
        for group in &groups {
            let given = &group["given"];
            for case in group["cases"].as_array().into_iter().flatten() {
                let expr = case["expression"].as_str().unwrap_or_default();
                let Some(outcome) = run_case(given, case, &spec) else {
                    continue;
                };
                total += 1;
                if let Outcome::Fail(msg) = outcome
                    && !DIVERGENCES.iter().any(|(e, _)| *e == expr)
                {
                    failures.push(format!(
                        "{}: {msg}",
                        file.file_name().unwrap().to_string_lossy()
                    ));
                }
                if let Some(Outcome::Fail(_)) = run_case(given, case, &kyverno) {
                    kyverno_diff += 1;
                }
            }
        }
    }
    println!(
        "compliance: {total} cases, {} failures; Kyverno missing-key mode changes {kyverno_diff}",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total > 800, "only {total} cases found");
}
