//! Conformance against Kyverno's own expectations: runs `palisade test -o json` over the corpus
//! in `../shared/corpus` (or `$PALISADE_CORPUS`), classifies every expected result by the kind of
//! rule it checks, writes the counts into `docs/compatibility.md`, and holds the classic
//! validate rows to the 97% target. Skips, with a message, when the corpus is absent.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

const BEGIN: &str = "<!-- BEGIN GENERATED: conformance -->";
const END: &str = "<!-- END GENERATED: conformance -->";
/// The target for classic `kyverno.io` validate rules.
const VALIDATE_TARGET: f64 = 0.97;

#[derive(Debug, Clone, Deserialize)]
struct Row {
    test: String,
    policy: String,
    rule: String,
    resource: String,
    expected: String,
    actual: String,
    met: bool,
    message: String,
}

#[derive(Deserialize)]
struct Output {
    results: Vec<Row>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus_root() -> PathBuf {
    std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/corpus"))
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    palisade_yaml::parse_documents(&text, &palisade_yaml::Options::default())
        .map(|docs| docs.into_iter().map(|d| d.value).collect())
        .unwrap_or_default()
}

/// What an expectation exercises.
fn rule_category(rule: &Value) -> &'static str {
    if let Some(v) = rule.get("validate") {
        if v.get("cel").is_some() {
            "validate.cel"
        } else if v.get("assert").is_some() || v.get("manifests").is_some() {
            "validate (assert/manifests)"
        } else {
            "validate"
        }
    } else if rule.get("mutate").is_some() {
        "mutate"
    } else if rule.get("generate").is_some() {
        "generate"
    } else if rule.get("verifyImages").is_some() {
        "verifyImages"
    } else {
        "other"
    }
}

/// Policy name -> (kind, rule name -> category), from the policies a test file names.
type PolicyIndex = HashMap<String, (String, HashMap<String, &'static str>)>;

fn index_policies(test_file: &Path) -> PolicyIndex {
    let dir = test_file.parent().unwrap_or(Path::new("."));
    let mut index = PolicyIndex::new();
    for test in yaml_docs(test_file) {
        let paths = test.get("policies").and_then(Value::as_array).cloned();
        for p in paths.unwrap_or_default() {
            let Some(p) = p.as_str() else { continue };
            let path = dir.join(p);
            let files: Vec<PathBuf> = if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            };
            for f in files {
                for doc in yaml_docs(&f) {
                    add_policy(&mut index, &doc);
                }
            }
        }
    }
    index
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                out.push(p);
            }
        }
    }
    out
}

fn add_policy(index: &mut PolicyIndex, doc: &Value) {
    if let Some(items) = doc.get("items").and_then(Value::as_array) {
        for item in items {
            add_policy(index, item);
        }
        return;
    }
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let Some(name) = doc.pointer("/metadata/name").and_then(Value::as_str) else {
        return;
    };
    let mut rules = HashMap::new();
    for rule in doc
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(n) = rule.get("name").and_then(Value::as_str) {
            rules.insert(n.to_string(), rule_category(rule));
        }
    }
    index
        .entry(name.to_string())
        .or_insert((kind.to_string(), rules));
}

fn category(index: &PolicyIndex, row: &Row) -> String {
    let name = row.policy.rsplit('/').next().unwrap_or(&row.policy);
    let Some((kind, rules)) = index.get(name) else {
        return "unknown policy".into();
    };
    match kind.as_str() {
        "ClusterPolicy" | "Policy" => {
            let rule = row
                .rule
                .trim_start_matches("autogen-cronjob-")
                .trim_start_matches("autogen-");
            rules
                .get(rule)
                .or_else(|| rules.get(&row.rule))
                .map(|c| (*c).to_string())
                .unwrap_or_else(|| "unknown rule".into())
        }
        other => other.to_string(),
    }
}

/// `kyverno-policies/pod-security` or `kyverno-cli-tests/test-mutate`.
fn directory(corpus: &Path, test: &str) -> String {
    let path = Path::new(test);
    let rel = path.strip_prefix(corpus).unwrap_or(path);
    rel.components()
        .take(2)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Default, Clone, Copy)]
struct Count {
    met: usize,
    total: usize,
}

impl Count {
    fn add(&mut self, met: bool) {
        self.total += 1;
        self.met += usize::from(met);
    }
    fn cell(self) -> String {
        if self.total == 0 {
            String::new()
        } else {
            format!("{}/{}", self.met, self.total)
        }
    }
    fn ratio(self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.met as f64 / self.total as f64
        }
    }
}

fn render(
    by_dir: &BTreeMap<String, BTreeMap<String, Count>>,
    totals: &BTreeMap<String, Count>,
    misses: &[(String, &Row)],
    load_errors: &[String],
) -> String {
    let mut out = String::new();
    out.push_str(BEGIN);
    out.push_str("\n\n_Generated by `cargo test -p palisade-cli --test conformance`; do not edit by hand._\n\n");
    out.push_str(
        "### Totals by rule kind\n\n| kind | met | total | met % |\n| --- | ---: | ---: | ---: |\n",
    );
    for (cat, c) in totals {
        out.push_str(&format!(
            "| {cat} | {} | {} | {:.1} |\n",
            c.met,
            c.total,
            c.ratio() * 100.0
        ));
    }
    let cats: Vec<&String> = totals.keys().collect();
    out.push_str("\n### By directory (met/total)\n\n| directory |");
    for c in &cats {
        out.push_str(&format!(" {c} |"));
    }
    out.push_str("\n| --- |");
    for _ in &cats {
        out.push_str(" ---: |");
    }
    out.push('\n');
    for (dir, counts) in by_dir {
        out.push_str(&format!("| {dir} |"));
        for c in &cats {
            out.push_str(&format!(
                " {} |",
                counts.get(*c).copied().unwrap_or_default().cell()
            ));
        }
        out.push('\n');
    }
    out.push_str("\n### Classic validate expectations not met\n\n");
    if misses.is_empty() {
        out.push_str("None.\n");
    } else {
        out.push_str("| test | policy / rule | resource | expected | actual | message |\n| --- | --- | --- | --- | --- | --- |\n");
        for (dir, r) in misses {
            let file = Path::new(&r.test)
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push_str(&format!(
                "| {dir} ({file}) | {} / {} | {} | {} | {} | {} |\n",
                r.policy,
                r.rule,
                r.resource,
                r.expected,
                r.actual,
                one_line(&r.message)
            ));
        }
    }
    out.push_str("\n### Test files that did not load\n\n");
    if load_errors.is_empty() {
        out.push_str("None.\n");
    }
    for e in load_errors {
        out.push_str(&format!("- {}\n", one_line(e)));
    }
    out.push('\n');
    out.push_str(END);
    out
}

fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = flat.chars().take(160).collect();
    short.replace('|', "\\|")
}

fn write_section(section: &str) {
    let path = workspace_root().join("docs/compatibility.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let updated = match (current.find(BEGIN), current.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{}{}", &current[..b], section, &current[e + END.len()..])
        }
        _ => format!("{current}\n{section}\n"),
    };
    if updated != current {
        std::fs::write(&path, updated).expect("write docs/compatibility.md");
    }
}

#[test]
fn kyverno_corpus() {
    let corpus = corpus_root();
    let dirs: Vec<PathBuf> = ["kyverno-policies", "kyverno-cli-tests"]
        .iter()
        .map(|d| corpus.join(d))
        .filter(|d| d.is_dir())
        .collect();
    if dirs.is_empty() {
        eprintln!(
            "skipping conformance: no corpus at {} (set PALISADE_CORPUS)",
            corpus.display()
        );
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .arg("test")
        .args(&dirs)
        .args(["-o", "json"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run palisade");
    let parsed: Output = serde_json::from_slice(&out.stdout).expect("json output");
    let load_errors: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("error:"))
        .map(|l| {
            l.replace(&format!("{}/", corpus.display()), "")
                .replace("../", "")
        })
        .collect();

    // Kyverno's `test-fail` suites pass when the CLI reports a failure: a file there conforms
    // when at least one of its expectations is not met.
    let mut results = parsed.results;
    let failing_files: std::collections::HashSet<String> = results
        .iter()
        .filter(|r| r.test.contains("/test-fail/") && !r.met)
        .map(|r| r.test.clone())
        .collect();
    for r in results
        .iter_mut()
        .filter(|r| r.test.contains("/test-fail/"))
    {
        r.met = failing_files.contains(&r.test);
    }
    let mut indexes: HashMap<String, PolicyIndex> = HashMap::new();
    let mut by_dir: BTreeMap<String, BTreeMap<String, Count>> = BTreeMap::new();
    let mut totals: BTreeMap<String, Count> = BTreeMap::new();
    let mut misses = Vec::new();
    for row in &results {
        let index = indexes
            .entry(row.test.clone())
            .or_insert_with(|| index_policies(Path::new(&row.test)));
        let cat = category(index, row);
        let dir = directory(&corpus, &row.test);
        by_dir
            .entry(dir.clone())
            .or_default()
            .entry(cat.clone())
            .or_default()
            .add(row.met);
        totals.entry(cat.clone()).or_default().add(row.met);
        if cat == "validate" && !row.met {
            misses.push((dir, row));
        }
    }
    write_section(&render(&by_dir, &totals, &misses, &load_errors));

    let validate = totals.get("validate").copied().unwrap_or_default();
    eprintln!(
        "classic validate: {}/{} met ({:.1}%)",
        validate.met,
        validate.total,
        validate.ratio() * 100.0
    );
    for (cat, c) in &totals {
        eprintln!("{cat}: {}/{}", c.met, c.total);
    }
    assert!(validate.total > 0, "no classic validate rows found");
    assert!(
        validate.ratio() >= VALIDATE_TARGET,
        "classic validate conformance {:.1}% is below {:.0}%; see docs/compatibility.md",
        validate.ratio() * 100.0,
        VALIDATE_TARGET * 100.0
    );
}
