//! `palisade test`: runs `kyverno-test.yaml` suites and checks each expected result the way
//! Kyverno's CLI does (results match resources by name; rule `x` also matches `autogen-x`;
//! a policy that yields no response for a resource counts as met).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use palisade_api::cli::{
    RESULT_FIELDS, TEST_FIELDS, Test, UserInfoFile, ValuesSpec, canonicalize_keys,
};
use palisade_api::load::decode_value;
use palisade_engine::{Engine, RuleStatus};
use serde::Serialize;
use serde_json::Value;

use crate::compare::Verdict;
use crate::files;
use crate::run::{Outcome, Run};
use crate::selector::Selector;
use crate::source::{OfflineData, default_namespace};

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The test file.
    pub test: String,
    /// Policy name.
    pub policy: String,
    /// Rule name.
    pub rule: String,
    /// `namespace/name` or `name`.
    pub resource: String,
    /// Resource kind.
    pub kind: String,
    /// Expected result.
    pub expected: String,
    /// What the engine produced, or `none`.
    pub actual: String,
    /// Whether the expectation is met (as Kyverno's CLI judges it).
    pub met: bool,
    /// The engine's message.
    pub message: String,
}

/// Finds every test file named `file_name` under `paths`.
pub fn discover(paths: &[PathBuf], file_name: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() {
            out.push(p.clone());
            continue;
        }
        let mut stack = vec![p.clone()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir)
                .with_context(|| format!("{}: cannot list", dir.display()))?;
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.file_name().and_then(|n| n.to_str()) == Some(file_name) {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Runs one test file; every document in it is a test. Only the expectations `selector` picks
/// are checked; a test left with none is not evaluated.
pub fn run_file(path: &Path, selector: &Selector) -> Result<Vec<Row>> {
    let name = path.display().to_string();
    let text = files::read(path)?;
    let docs = palisade_api::load::parse_values(&name, &text).map_err(anyhow::Error::msg)?;
    let mut rows = Vec::new();
    for doc in docs {
        let mut value = doc.value;
        canonicalize_keys(&mut value, TEST_FIELDS);
        if let Some(Value::Array(results)) = value.get_mut("results") {
            for r in results {
                canonicalize_keys(r, RESULT_FIELDS);
            }
        }
        let mut test: Test = decode_value(&name, &value, None).map_err(anyhow::Error::msg)?;
        test.results = std::mem::take(&mut test.results)
            .into_iter()
            .filter_map(|r| selector.select(r))
            .collect();
        if test.results.is_empty() {
            continue;
        }
        rows.extend(run_test(path, &test)?);
    }
    Ok(rows)
}

fn rel(dir: &Path, p: &str) -> PathBuf {
    dir.join(p)
}

fn run_test(path: &Path, test: &Test) -> Result<Vec<Row>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let policy_paths: Vec<PathBuf> = test.policies.iter().map(|p| rel(dir, p)).collect();
    let loaded = files::load_policies(&policy_paths).map_err(anyhow::Error::msg)?;
    let mut exceptions = loaded.exceptions;
    if !test.exceptions.is_empty() {
        let paths: Vec<PathBuf> = test.exceptions.iter().map(|p| rel(dir, p)).collect();
        exceptions.extend(files::load_exceptions(&paths).map_err(anyhow::Error::msg)?);
    }
    let resource_paths: Vec<PathBuf> = test.resources.iter().map(|p| rel(dir, p)).collect();
    let mut resources = files::load_resources(&resource_paths)?;
    let cluster_paths: Vec<PathBuf> = test.cluster_resources.iter().map(|p| rel(dir, p)).collect();
    let mut cluster = files::load_cluster_resources(&cluster_paths, dir)?;
    let crd_cluster_kinds: Vec<String> = cluster
        .iter()
        .filter(|r| r.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"))
        .filter(|r| r.pointer("/spec/scope").and_then(Value::as_str) == Some("Cluster"))
        .filter_map(|r| {
            r.pointer("/spec/names/kind")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    for r in resources.iter_mut().chain(cluster.iter_mut()) {
        default_namespace(r, &crd_cluster_kinds);
    }
    let mut values = test.values.clone().unwrap_or_default();
    if let Some(v) = &test.variables {
        let raw = files::read_one(&rel(dir, v))?;
        let file_values: ValuesSpec = decode_value(v, &raw, None).map_err(anyhow::Error::msg)?;
        values = file_values;
    }
    let user = match &test.userinfo {
        Some(u) => {
            let raw = files::read_one(&rel(dir, u))?;
            Some(decode_value::<UserInfoFile>(u, &raw, None).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let (targets, clone_sources) = crate::artifacts::test_objects(dir, test, &crd_cluster_kinds)?;
    let data = OfflineData {
        values,
        cluster,
        responses: test.api_call_responses.clone(),
        targets,
        clone_sources,
    };
    let cel = crate::celpolicies::CelInputs::for_test(dir, test, &data, &resources)?;
    let engine = Engine::default();
    let mut run = Run {
        data: &data,
        exceptions: &exceptions,
        user: Run::user_from(user),
        operation: "CREATE".into(),
    };
    // One evaluation per operation the expectations name (CREATE unless stated).
    let mut by_operation: BTreeMap<String, Vec<Outcome>> = BTreeMap::new();
    let mut rows = Vec::new();
    for expected in &test.results {
        let op = expected
            .operation
            .clone()
            .unwrap_or_else(|| "CREATE".to_string());
        let outcomes = by_operation.entry(op.clone()).or_insert_with(|| {
            run.operation = op;
            let mut outcomes = run.evaluate(&engine, &loaded.policies, &resources);
            outcomes.extend(cel.evaluate(&loaded.cel, &run, &resources));
            crate::compare::with_targets(outcomes)
        });
        rows.extend(check(path, expected, outcomes));
    }
    Ok(rows)
}

fn resource_key(r: &Value) -> (String, String) {
    let ns = r
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = r
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    (ns, name)
}

fn check(path: &Path, expected: &palisade_api::cli::TestResult, outcomes: &[Outcome]) -> Vec<Row> {
    let policy = expected
        .policy
        .rsplit('/')
        .next()
        .unwrap_or(&expected.policy)
        .to_string();
    let want = if expected.result.is_empty() {
        expected.status.clone().unwrap_or_default()
    } else {
        expected.result.clone()
    };
    let mut names = expected.resources.clone();
    if let Some(r) = &expected.resource {
        names.push(r.clone());
    }
    // Kyverno checks every resource when the expectation names none.
    if names.is_empty() {
        names = crate::compare::all_resources(outcomes);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut rows = Vec::new();
    for wanted in names {
        let (want_ns, want_name) = match wanted.split_once('/') {
            Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
            None => (expected.namespace.clone(), wanted.clone()),
        };
        let matching: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.policy.rsplit('/').next().unwrap_or(&o.policy) == policy)
            .filter(|o| {
                let (ns, name) = resource_key(&o.resource);
                name == want_name && want_ns.as_ref().is_none_or(|w| *w == ns)
            })
            .collect();
        let mut actual: Option<(RuleStatus, String)> = None;
        let mut differs: Option<String> = None;
        let mut unchecked = false;
        for o in &matching {
            for r in &o.response.rules {
                let rule_ok = expected.rule.is_empty()
                    || *r.name == *expected.rule
                    || *r.name == *format!("autogen-{}", expected.rule)
                    || *r.name == *format!("autogen-cronjob-{}", expected.rule);
                if rule_ok {
                    match crate::compare::resources(dir, expected, o, r) {
                        Verdict::Same => {}
                        Verdict::Differs(m) => differs = Some(m),
                        Verdict::NotInFile => {
                            unchecked = true;
                            continue;
                        }
                        Verdict::NothingGenerated => continue,
                    }
                    // Prefer a response equal to the expectation when several resources share a name.
                    let better = actual.as_ref().is_none_or(|(s, _)| s.as_str() != want);
                    if better {
                        actual = Some((r.status, r.message.to_string()));
                    }
                }
            }
        }
        if actual.is_none() && unchecked {
            continue;
        }
        let kind = expected.kind.clone();
        let (actual_text, met, message) = match actual {
            Some((status, _)) if let Some(d) = differs => (status.as_str().to_string(), false, d),
            Some((status, msg)) => (status.as_str().to_string(), status.as_str() == want, msg),
            // As Kyverno's CLI: a policy response without a rule for the expectation means
            // the resource was excluded (met); no response at all means "not found" (not met).
            None if !matching.is_empty() => (
                "none".to_string(),
                true,
                "no rule response: resource excluded or not matched".to_string(),
            ),
            None => (
                "none".to_string(),
                false,
                format!("not found: no response of policy {policy} for resource {wanted}"),
            ),
        };
        rows.push(Row {
            test: path.display().to_string(),
            policy: expected.policy.clone(),
            rule: expected.rule.clone(),
            resource: wanted.clone(),
            kind,
            expected: want.clone(),
            actual: actual_text,
            met,
            message,
        });
    }
    rows
}
