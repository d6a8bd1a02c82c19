//! `palisade`: Kyverno-compatible policy evaluation from the command line, offline.

mod apipath;
mod files;
mod report;
mod run;
mod source;
mod test_cmd;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use palisade_api::cli::UserInfoFile;
use palisade_api::load::decode_value;
use palisade_engine::{Engine, RuleStatus};
use serde_json::Value;

use run::Run;
use source::{OfflineData, default_namespace};

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Kyverno-compatible policy engine: apply and test policies offline"
)]
struct Cli {
    /// Disable colour (also NO_COLOR).
    #[arg(long, global = true)]
    remove_color: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
    Markdown,
    Junit,
}

#[derive(Subcommand)]
enum Command {
    /// Apply policies to resources and report the results.
    Apply {
        /// Policy files or directories.
        #[arg(required = true)]
        policies: Vec<PathBuf>,
        /// Resource files or directories (`-` for stdin).
        #[arg(short = 'r', long = "resource", alias = "resources")]
        resources: Vec<PathBuf>,
        /// A values file.
        #[arg(short = 'f', long = "values-file")]
        values_file: Option<PathBuf>,
        /// A user info file.
        #[arg(short = 'u', long = "userinfo")]
        userinfo: Option<PathBuf>,
        /// Policy exception files.
        #[arg(short = 'e', long = "exception", alias = "exceptions")]
        exceptions: Vec<PathBuf>,
        /// Set a global variable (`key=value`).
        #[arg(long = "set", short = 's')]
        set: Vec<String>,
        /// Print a ClusterPolicyReport.
        #[arg(short = 'p', long = "policy-report")]
        policy_report: bool,
        /// Report output format.
        #[arg(long = "output-format", value_enum)]
        output_format: Option<Format>,
        /// Print a table of every result.
        #[arg(short = 't', long = "table")]
        table: bool,
        /// Print every result with its message.
        #[arg(long = "detailed-results")]
        detailed_results: bool,
        /// Report failures of Audit rules as warnings.
        #[arg(long = "audit-warn")]
        audit_warn: bool,
    },
    /// Run kyverno-test.yaml suites.
    Test {
        /// Directories or test files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Test file name to look for.
        #[arg(short = 'f', long = "file-name", default_value = "kyverno-test.yaml")]
        file_name: String,
        /// Output format.
        #[arg(short = 'o', long = "output-format", value_enum)]
        output_format: Option<Format>,
        /// Print every result with its message.
        #[arg(long = "detailed-results")]
        detailed_results: bool,
        /// Print only failed expectations.
        #[arg(long = "fail-only")]
        fail_only: bool,
        /// Fail when no test is found.
        #[arg(long = "require-tests")]
        require_tests: bool,
    },
    /// JMESPath with Kyverno's functions.
    Jp {
        #[command(subcommand)]
        command: JpCommand,
    },
}

#[derive(Subcommand)]
enum JpCommand {
    /// Evaluate an expression against JSON or YAML input.
    Query {
        /// The expression.
        expression: String,
        /// Input file (default stdin).
        #[arg(short = 'i', long = "input")]
        input: Option<PathBuf>,
    },
    /// Parse an expression and print its syntax tree.
    Parse {
        /// The expression.
        expression: String,
    },
    /// List functions, or describe one.
    Function {
        /// Function name.
        name: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _color = !cli.remove_color
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::stdout().is_terminal();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Apply {
            policies,
            resources,
            values_file,
            userinfo,
            exceptions,
            set,
            policy_report,
            output_format,
            table,
            detailed_results,
            audit_warn,
        } => apply(ApplyArgs {
            policies,
            resources,
            values_file,
            userinfo,
            exceptions,
            set,
            policy_report,
            output_format,
            table,
            detailed: detailed_results,
            audit_warn,
        }),
        Command::Test {
            paths,
            file_name,
            output_format,
            detailed_results,
            fail_only,
            require_tests,
        } => test(
            &paths,
            &file_name,
            output_format,
            detailed_results,
            fail_only,
            require_tests,
        ),
        Command::Jp { command } => jp(command),
    }
}

struct ApplyArgs {
    policies: Vec<PathBuf>,
    resources: Vec<PathBuf>,
    values_file: Option<PathBuf>,
    userinfo: Option<PathBuf>,
    exceptions: Vec<PathBuf>,
    set: Vec<String>,
    policy_report: bool,
    output_format: Option<Format>,
    table: bool,
    detailed: bool,
    audit_warn: bool,
}

fn apply(a: ApplyArgs) -> Result<ExitCode> {
    let loaded = match files::load_policies(&a.policies) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut exceptions = loaded.exceptions;
    if !a.exceptions.is_empty() {
        match files::load_exceptions(&a.exceptions) {
            Ok(e) => exceptions.extend(e),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    for (file, api_version, kind) in &loaded.unsupported {
        if api_version.contains("kyverno.io") || api_version.starts_with("admissionregistration") {
            eprintln!("warning: {file}: {api_version} {kind} is not evaluated by this version");
        }
    }
    let mut resources = files::load_resources(&a.resources)?;
    for r in &mut resources {
        default_namespace(r, &[]);
    }
    let mut data = OfflineData::default();
    if let Some(v) = &a.values_file {
        let raw = files::read_one(v)?;
        data.values =
            decode_value(&v.display().to_string(), &raw, None).map_err(anyhow::Error::msg)?;
    }
    for kv in &a.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--set expects key=value, got {kv:?}"))?;
        data.values
            .global_values
            .insert(k.to_string(), Value::String(v.to_string()));
    }
    let user = match &a.userinfo {
        Some(u) => Some(
            decode_value::<UserInfoFile>(&u.display().to_string(), &files::read_one(u)?, None)
                .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let run = Run {
        data: &data,
        exceptions: &exceptions,
        user: Run::user_from(user),
        operation: "CREATE".into(),
    };
    let outcomes = run.evaluate(&Engine::default(), &loaded.policies, &resources);
    let report = report::cluster_policy_report(&outcomes, a.audit_warn);
    if a.policy_report {
        match a.output_format {
            Some(Format::Json) => println!("{}", serde_json::to_string_pretty(&report)?),
            _ => print!("{}", palisade_yaml::to_yaml_string(&report)),
        }
    } else {
        print_summary(&outcomes, a.table || a.detailed, a.audit_warn);
    }
    let failing = outcomes.iter().flat_map(|o| &o.response.rules).any(|r| {
        matches!(r.status, RuleStatus::Error)
            || (r.status == RuleStatus::Fail
                && !(a.audit_warn && r.failure_action == Some(palisade_api::FailureAction::Audit)))
    });
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(outcomes: &[run::Outcome], all: bool, audit_warn: bool) {
    let mut counts = std::collections::BTreeMap::new();
    let policies: std::collections::BTreeSet<&str> =
        outcomes.iter().map(|o| o.policy.as_str()).collect();
    let resources: std::collections::BTreeSet<String> =
        outcomes.iter().map(|o| resource_id(&o.resource)).collect();
    println!(
        "Applying {} policies to {} resources...\n",
        policies.len(),
        resources.len()
    );
    for o in outcomes {
        for r in &o.response.rules {
            let mut status = r.status;
            if audit_warn
                && status == RuleStatus::Fail
                && r.failure_action == Some(palisade_api::FailureAction::Audit)
            {
                status = RuleStatus::Warn;
            }
            *counts.entry(status).or_insert(0usize) += 1;
            if all
                || matches!(
                    status,
                    RuleStatus::Fail | RuleStatus::Error | RuleStatus::Warn
                )
            {
                println!(
                    "{}: policy {} -> resource {}\n  rule {}: {}\n",
                    status.as_str().to_uppercase(),
                    o.policy,
                    resource_id(&o.resource),
                    r.name,
                    r.message
                );
            }
        }
    }
    let n = |s| counts.get(&s).copied().unwrap_or(0);
    println!(
        "pass: {}, fail: {}, warn: {}, error: {}, skip: {}",
        n(RuleStatus::Pass),
        n(RuleStatus::Fail),
        n(RuleStatus::Warn),
        n(RuleStatus::Error),
        n(RuleStatus::Skip)
    );
}

fn resource_id(r: &Value) -> String {
    let kind = r.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = r
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match r
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

fn test(
    paths: &[PathBuf],
    file_name: &str,
    format: Option<Format>,
    detailed: bool,
    fail_only: bool,
    require: bool,
) -> Result<ExitCode> {
    let files = test_cmd::discover(paths, file_name)?;
    if files.is_empty() && require {
        eprintln!("error: no {file_name} found");
        return Ok(ExitCode::from(1));
    }
    let mut rows = Vec::new();
    let mut load_errors = 0;
    for f in &files {
        match test_cmd::run_file(f) {
            Ok(r) => rows.extend(r),
            Err(e) => {
                load_errors += 1;
                eprintln!("error: {}: {e:#}", f.display());
            }
        }
    }
    let failed = rows.iter().filter(|r| !r.met).count();
    match format {
        Some(Format::Json) => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"results": rows}))?
        ),
        Some(Format::Yaml) => print!(
            "{}",
            palisade_yaml::to_yaml_string(&serde_json::json!({"results": rows}))
        ),
        _ => {
            for r in rows.iter().filter(|r| !fail_only || !r.met) {
                if detailed || !r.met {
                    println!(
                        "{} {} / {} / {} ({}): expected {}, got {}{}",
                        if r.met { "PASS" } else { "FAIL" },
                        r.policy,
                        r.rule,
                        r.resource,
                        r.test,
                        r.expected,
                        r.actual,
                        if r.met {
                            String::new()
                        } else {
                            format!(": {}", r.message)
                        }
                    );
                }
            }
            println!(
                "\nTest Summary: {} tests passed and {} tests failed",
                rows.len() - failed,
                failed
            );
        }
    }
    Ok(if failed > 0 || load_errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn jp(command: JpCommand) -> Result<ExitCode> {
    match command {
        JpCommand::Query { expression, input } => {
            let text = files::read(input.as_deref().unwrap_or(std::path::Path::new("-")))?;
            let data =
                palisade_api::load::parse_values("input", &text).map_err(anyhow::Error::msg)?;
            let doc = data
                .into_iter()
                .next()
                .map(|d| d.value)
                .unwrap_or(Value::Null);
            let expr = match palisade_jmespath::compile(&expression) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            match expr.search(&doc, &palisade_jmespath::Context::default()) {
                Ok(v) => println!("{}", serde_json::to_string_pretty(&v)?),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        JpCommand::Parse { expression } => match palisade_jmespath::compile(&expression) {
            Ok(e) => println!("{}", e.ast()),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
        },
        JpCommand::Function { name } => {
            for f in palisade_jmespath::functions() {
                if name.as_deref().is_none_or(|n| n == f.name()) {
                    println!(
                        "Name: {}\n  Signature: {}\n  Description: {}\n",
                        f.name(),
                        f.signature(),
                        f.doc()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
