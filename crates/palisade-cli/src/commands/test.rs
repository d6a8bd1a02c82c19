//! `palisade test`: runs `kyverno-test.yaml` suites. Exit 0 when every expectation is met, 1
//! when one is not or a test file cannot be run (or none is found with `--require-tests`), 2
//! on bad arguments.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::test_output::{self, FileResult};
use crate::output::style::Style;
use crate::output::{self, progress::Progress};
use crate::selector::Selector;
use crate::test_cmd;

/// Output formats of `test`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum TestFormat {
    /// `{"results": [...]}` with one row per checked expectation.
    Json,
    /// The same as YAML.
    Yaml,
    /// A markdown table per test file.
    Markdown,
    /// JUnit XML: a test suite per test file, a test case per expectation.
    Junit,
}

/// Arguments of `palisade test`.
#[derive(Args, Debug)]
pub struct TestArgs {
    /// Directories to search, or test files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Test file name to look for.
    #[arg(short = 'f', long = "file-name", default_value = "kyverno-test.yaml")]
    pub file_name: String,
    /// Output format (default: tables for people).
    #[arg(short = 'o', long = "output-format", value_enum)]
    pub output_format: Option<TestFormat>,
    /// Add each result's message.
    #[arg(long = "detailed-results")]
    pub detailed_results: bool,
    /// Show only expectations that are not met.
    #[arg(long = "fail-only")]
    pub fail_only: bool,
    /// Check only some expectations: `policy=P,rule=R,resource=N`, wildcards allowed.
    #[arg(
        short = 't',
        long = "test-case-selector",
        default_value = "policy=*,rule=*,resource=*"
    )]
    pub test_case_selector: String,
    /// Fail when no test file is found.
    #[arg(long = "require-tests")]
    pub require_tests: bool,
}

/// Runs `palisade test`.
pub fn run(a: &TestArgs, style: &Style) -> Result<ExitCode> {
    let selector = Selector::parse(&a.test_case_selector)?;
    let files = test_cmd::discover(&a.paths, &a.file_name)?;
    if files.is_empty() && a.require_tests {
        eprintln!(
            "error: no tests found: no {} under the given paths",
            a.file_name
        );
        return Ok(ExitCode::from(1));
    }
    let progress = Progress::new(files.len() as u64, "testing");
    let mut results = Vec::new();
    for path in files {
        let rows = test_cmd::run_file(&path, &selector).map_err(|e| {
            // Kept on stderr with this prefix: scripts (and the conformance test) read it.
            progress.suspend(|| eprintln!("error: {}: {e:#}", path.display()));
            format!("{e:#}")
        });
        results.push(FileResult { path, rows });
        progress.inc();
    }
    progress.finish();
    let opts = test_output::Options {
        detailed: a.detailed_results,
        fail_only: a.fail_only,
    };
    let text = match a.output_format {
        None => test_output::human(&results, opts, style),
        Some(TestFormat::Json) => {
            format!(
                "{}\n",
                serde_json::to_string_pretty(&test_output::rows_document(&results, opts))?
            )
        }
        Some(TestFormat::Yaml) => {
            palisade_yaml::to_yaml_string(&test_output::rows_document(&results, opts))
        }
        Some(TestFormat::Markdown) => test_output::markdown(&results, opts),
        Some(TestFormat::Junit) => test_output::junit(&results, opts),
    };
    output::emit(&text)?;
    let failed = results.iter().any(|f| {
        f.rows
            .as_ref()
            .map_or(true, |rows| rows.iter().any(|r| !r.met))
    });
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
