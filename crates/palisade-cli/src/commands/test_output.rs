//! Outputs of `test`: Kyverno-style tables for people, rows as JSON/YAML, markdown and JUnit.

use std::fmt::Write;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::output::style::{Paint, Style};
use crate::output::table::{Cell, Table};
use crate::output::{junit as junit_xml, markdown as md};
use crate::test_cmd::Row;

/// The outcome of one test file: its rows, or why it could not be run.
pub struct FileResult {
    /// The test file.
    pub path: PathBuf,
    /// Checked expectations, or the error.
    pub rows: Result<Vec<Row>, String>,
}

/// Flags that shape every format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Include the engine's message.
    pub detailed: bool,
    /// Only expectations that are not met.
    pub fail_only: bool,
}

impl Options {
    fn keep(&self, row: &Row) -> bool {
        !self.fail_only || !row.met
    }
}

/// Why a row passed or failed, in Kyverno's words.
pub fn reason(row: &Row) -> String {
    if !row.met && row.actual == "none" {
        "Not found".to_string()
    } else if !row.met && row.actual == row.expected {
        // Only a patched or generated resource that differs fails a row with the right result.
        "Resource diff".to_string()
    } else if !row.met {
        format!("Want {}, got {}", row.expected, row.actual)
    } else if row.actual == "none" {
        "Excluded".to_string()
    } else {
        "Ok".to_string()
    }
}

/// `namespace/Kind/name` or `Kind/name`, from the expectation's resource and kind.
fn resource(row: &Row) -> String {
    match row.resource.split_once('/') {
        Some((ns, name)) => format!("{ns}/{}/{name}", row.kind),
        None => format!("{}/{}", row.kind, row.resource),
    }
}

fn result(row: &Row) -> &'static str {
    if row.met { "Pass" } else { "Fail" }
}

fn headers(detailed: bool) -> Vec<&'static str> {
    let mut h = vec!["ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"];
    if detailed {
        h.push("MESSAGE");
    }
    h
}

fn table<'a>(rows: impl Iterator<Item = &'a Row>, detailed: bool) -> Table {
    let mut t = Table::new(headers(detailed)).wrap_column(6);
    for (i, row) in rows.enumerate() {
        let reason_paint = if row.actual == "none" {
            Paint::Notice
        } else {
            Paint::Plain
        };
        t.push(vec![
            Cell::plain((i + 1).to_string()),
            Cell::new(row.policy.clone(), Paint::Name),
            Cell::new(row.rule.clone(), Paint::Name),
            Cell::new(resource(row), Paint::Name),
            Cell::new(result(row), if row.met { Paint::Pass } else { Paint::Fail }),
            Cell::new(reason(row), reason_paint),
            Cell::plain(row.message.clone()),
        ]);
    }
    t
}

fn totals(results: &[FileResult]) -> (usize, usize) {
    let rows = results
        .iter()
        .filter_map(|f| f.rows.as_ref().ok())
        .flatten();
    rows.fold((0, 0), |(met, unmet), r| {
        if r.met {
            (met + 1, unmet)
        } else {
            (met, unmet + 1)
        }
    })
}

/// Tables for people: one per test file (or, with `--fail-only`, one of all unmet
/// expectations), then Kyverno's summary line.
pub fn human(results: &[FileResult], opts: Options, style: &Style) -> String {
    let mut out = String::new();
    if results.is_empty() {
        return "\nNo test yamls available\n".to_string();
    }
    let (met, unmet) = totals(results);
    if opts.fail_only {
        let _ = writeln!(
            out,
            "\nTest Summary: {unmet} out of {} tests failed\n",
            met + unmet
        );
        if unmet > 0 {
            let failed = results
                .iter()
                .filter_map(|f| f.rows.as_ref().ok())
                .flatten()
                .filter(|r| !r.met);
            let _ = writeln!(out, "Aggregated Failed Test Cases : ");
            out.push_str(&table(failed, opts.detailed).render(style));
        }
        return out;
    }
    for f in results {
        let Ok(rows) = &f.rows else { continue };
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "Loading test  ( {} ) ...\n", f.path.display());
        out.push_str(&table(rows.iter(), opts.detailed).render(style));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Test Summary: {met} tests passed and {unmet} tests failed"
    );
    out
}

/// The JSON/YAML document: `{"results": [rows]}`.
pub fn rows_document(results: &[FileResult], opts: Options) -> Value {
    let rows: Vec<&Row> = results
        .iter()
        .filter_map(|f| f.rows.as_ref().ok())
        .flatten()
        .filter(|r| opts.keep(r))
        .collect();
    json!({ "results": rows })
}

/// A markdown section per test file and the summary line.
pub fn markdown(results: &[FileResult], opts: Options) -> String {
    let mut out = String::new();
    for f in results {
        match &f.rows {
            Err(e) => {
                let _ = writeln!(
                    out,
                    "### {}\n\nError: {}\n",
                    f.path.display(),
                    e.replace('\n', " ")
                );
            }
            Ok(rows) => {
                let kept: Vec<Vec<String>> = rows
                    .iter()
                    .filter(|r| opts.keep(r))
                    .enumerate()
                    .map(|(i, r)| {
                        let mut cells = vec![
                            (i + 1).to_string(),
                            r.policy.clone(),
                            r.rule.clone(),
                            resource(r),
                            result(r).to_string(),
                            reason(r),
                        ];
                        if opts.detailed {
                            cells.push(r.message.clone());
                        }
                        cells
                    })
                    .collect();
                if kept.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "### {}\n", f.path.display());
                out.push_str(&md::table(&headers(opts.detailed), &kept));
                out.push('\n');
            }
        }
    }
    let (met, unmet) = totals(results);
    let _ = writeln!(
        out,
        "Test Summary: {met} tests passed and {unmet} tests failed"
    );
    out
}

/// JUnit XML: a suite per test file, a case per expectation.
pub fn junit(results: &[FileResult], opts: Options) -> String {
    let suites: Vec<junit_xml::Suite> = results
        .iter()
        .map(|f| junit_xml::Suite {
            name: f.path.display().to_string(),
            error: f.rows.as_ref().err().cloned(),
            cases: f
                .rows
                .as_ref()
                .map(|rows| {
                    rows.iter()
                        .filter(|r| opts.keep(r))
                        .map(|r| case(r, opts))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    junit_xml::render("palisade test", &suites)
}

fn case(r: &Row, opts: Options) -> junit_xml::Case {
    junit_xml::Case {
        classname: r.policy.clone(),
        name: format!("{} {}", r.rule, resource(r)),
        failure: (!r.met).then(|| (reason(r), r.message.clone())),
        output: (opts.detailed && r.met).then(|| r.message.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(resource: &str, expected: &str, actual: &str, met: bool) -> Row {
        Row {
            test: "t.yaml".into(),
            policy: "p".into(),
            rule: "r".into(),
            resource: resource.into(),
            kind: "Pod".into(),
            expected: expected.into(),
            actual: actual.into(),
            met,
            message: "m".into(),
        }
    }

    #[test]
    fn reasons_follow_kyverno() {
        for (r, want) in [
            (row("a", "pass", "pass", true), "Ok"),
            (row("a", "pass", "fail", false), "Want pass, got fail"),
            (row("a", "skip", "none", true), "Excluded"),
            (row("a", "pass", "none", false), "Not found"),
            (row("a", "pass", "pass", false), "Resource diff"),
        ] {
            assert_eq!(reason(&r), want);
        }
    }

    #[test]
    fn resources_show_their_kind() {
        assert_eq!(resource(&row("ns/a", "pass", "pass", true)), "ns/Pod/a");
        assert_eq!(resource(&row("a", "pass", "pass", true)), "Pod/a");
    }

    #[test]
    fn fail_only_keeps_unmet_rows() {
        let results = vec![FileResult {
            path: "t.yaml".into(),
            rows: Ok(vec![
                row("a", "pass", "pass", true),
                row("b", "pass", "fail", false),
            ]),
        }];
        let doc = rows_document(
            &results,
            Options {
                detailed: false,
                fail_only: true,
            },
        );
        assert_eq!(doc["results"].as_array().map(Vec::len), Some(1));
        assert_eq!(doc["results"][0]["resource"], json!("b"));
    }

    #[test]
    fn no_files_says_so() {
        assert!(
            human(&[], Options::default(), &Style::plain()).contains("No test yamls available")
        );
    }
}
