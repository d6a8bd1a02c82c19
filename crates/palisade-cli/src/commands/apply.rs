//! `palisade apply`: evaluates policies on resource files and prints a summary, a table or a
//! policy report. Exit 0 when nothing fails, 1 when a rule fails or errors, 2 on bad input.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, ValueEnum};
use palisade_api::cli::UserInfoFile;
use palisade_api::load::decode_value;
use palisade_engine::Engine;
use serde_json::Value;

use super::apply_output;
use crate::files;
use crate::output::style::Style;
use crate::output::{self, progress::Progress};

use crate::run::{Outcome, Run};
use crate::source::{OfflineData, default_namespace};
use crate::verdict::{Counts, Policies};

/// Formats of the policy report.
#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    /// YAML (Kyverno's default).
    #[default]
    Yaml,
    /// JSON.
    Json,
}

/// Arguments of `palisade apply`.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Policy files or directories (`-` reads policies from stdin).
    #[arg(required = true)]
    pub policies: Vec<PathBuf>,
    /// Resource files or directories (`-` reads resources from stdin).
    #[arg(short = 'r', long = "resource", alias = "resources")]
    pub resources: Vec<PathBuf>,
    /// A values file (variables, namespace selectors, per-rule values).
    #[arg(short = 'f', long = "values-file")]
    pub values_file: Option<PathBuf>,
    /// A user info file (the requester's roles, cluster roles and subject).
    #[arg(short = 'u', long = "userinfo")]
    pub userinfo: Option<PathBuf>,
    /// Policy exception files or directories.
    #[arg(short = 'e', long = "exception", alias = "exceptions")]
    pub exceptions: Vec<PathBuf>,
    /// Set variables: `key=value`, repeatable or comma-separated.
    #[arg(long = "set", short = 's')]
    pub set: Vec<String>,
    /// Print a ClusterPolicyReport instead of the summary.
    #[arg(short = 'p', long = "policy-report")]
    pub policy_report: bool,
    /// Format of the policy report (implies --policy-report).
    #[arg(long = "output-format", value_enum)]
    pub output_format: Option<ReportFormat>,
    /// Print a table of every rule result.
    #[arg(short = 't', long = "table")]
    pub table: bool,
    /// Add each result's message to the table (implies --table).
    #[arg(long = "detailed-results")]
    pub detailed_results: bool,
    /// Report failures of Audit rules as warnings.
    #[arg(long = "audit-warn")]
    pub audit_warn: bool,
    /// Write mutated and generated resources to this file, or to this directory (an existing
    /// one, or a path ending in `/`) one file per resource; without it they are printed.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Existing objects that mutate-existing rules patch and generate rules clone from.
    #[arg(long = "target-resource", alias = "target-resources")]
    pub target_resources: Vec<PathBuf>,
}

/// Everything `apply` reads before evaluating.
pub(super) struct Inputs {
    pub(super) loaded: files::Loaded,
    pub(super) exceptions: Vec<palisade_engine::Exception>,
    pub(super) resources: Vec<Value>,
    pub(super) data: OfflineData,
    pub(super) user: Option<UserInfoFile>,
}

impl Inputs {
    fn load(a: &ApplyArgs) -> Result<Inputs> {
        let mut inputs = Inputs::load_without_resources(a)?;
        inputs.resources = load_resources(a)?;
        Ok(inputs)
    }

    /// Everything but the resources (which a policy report streams).
    pub(super) fn load_without_resources(a: &ApplyArgs) -> Result<Inputs> {
        let mut loaded = files::load_policies(&a.policies).map_err(|e| anyhow!("{e}"))?;
        let mut exceptions = std::mem::take(&mut loaded.exceptions);
        if !a.exceptions.is_empty() {
            exceptions.extend(files::load_exceptions(&a.exceptions).map_err(|e| anyhow!("{e}"))?);
        }
        for (file, api_version, kind) in &loaded.unsupported {
            if (api_version.contains("kyverno.io") && !api_version.starts_with("cli.kyverno.io"))
                || api_version.starts_with("admissionregistration")
            {
                eprintln!("warning: {file}: {api_version} {kind} is not evaluated by this version");
            }
        }
        let user = match &a.userinfo {
            Some(u) => Some(
                decode_value::<UserInfoFile>(&u.display().to_string(), &files::read_one(u)?, None)
                    .map_err(anyhow::Error::msg)?,
            ),
            None => None,
        };
        Ok(Inputs {
            loaded,
            exceptions,
            resources: Vec::new(),
            data: offline_data(a)?,
            user,
        })
    }
}

/// Every resource document of `--resource`, with namespaces defaulted.
pub(super) fn load_resources(a: &ApplyArgs) -> Result<Vec<Value>> {
    let mut resources = files::load_resources(&a.resources)?;
    for r in &mut resources {
        default_namespace(r, &[]);
    }
    Ok(resources)
}

/// Runs `palisade apply`.
pub fn run(a: &ApplyArgs, style: &Style) -> Result<ExitCode> {
    check_arguments(a)?;
    if a.policy_report || a.output_format.is_some() {
        return super::apply_report::run(a, Inputs::load_without_resources(a)?);
    }
    let inputs = Inputs::load(a)?;
    let run = Run {
        data: &inputs.data,
        exceptions: &inputs.exceptions,
        user: Run::user_from(inputs.user.clone()),
        operation: "CREATE".into(),
    };
    let mut outcomes = evaluate(&run, &inputs.loaded.policies, &inputs.resources);
    let cel = crate::celpolicies::CelInputs::for_apply(&inputs.data, &a.exceptions)?;
    outcomes.extend(cel.evaluate(&inputs.loaded.cel, &run, &inputs.resources));
    let policies = Policies::new(&inputs.loaded.policies);
    let counts = Counts::of(&outcomes, &policies, a.audit_warn);
    output::emit(&render(a, &inputs, &outcomes, &policies, &counts, style)?)?;
    Ok(if counts.failing() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn render(
    a: &ApplyArgs,
    inputs: &Inputs,
    outcomes: &[Outcome],
    policies: &Policies<'_>,
    counts: &Counts,
    style: &Style,
) -> Result<String> {
    // Policy reports are written by `apply_report`, which `run` hands `-p` to.
    let produced = crate::mutation::emit(outcomes, a.output.as_deref())?;
    // As Kyverno counts: every rule of a classic policy (autogen included), one per CEL policy.
    let rules: usize = inputs
        .loaded
        .policies
        .iter()
        .map(|p| p.rules.len())
        .sum::<usize>()
        + inputs.loaded.cel.len();
    let mut out = format!(
        "\nApplying {rules} policy rule(s) to {} resource(s)...\n",
        inputs.resources.len()
    );
    out.push_str(&produced);
    if a.table || a.detailed_results {
        let table = apply_output::table(outcomes, policies, a.audit_warn, a.detailed_results);
        out.push('\n');
        out.push_str(&table.render(style));
    } else {
        out.push_str(&apply_output::failures(
            outcomes,
            policies,
            a.audit_warn,
            style,
        ));
    }
    out.push_str(&format!("\n{}\n", apply_output::counts_line(counts)));
    Ok(out)
}

fn check_arguments(a: &ApplyArgs) -> Result<()> {
    let stdin = |paths: &[PathBuf]| paths.iter().any(|p| p.as_os_str() == "-");
    if stdin(&a.policies) && stdin(&a.resources) {
        bail!("a stdin pipe can be used for either policies or resources, not both");
    }
    if a.resources.is_empty() {
        bail!("resource file(s) required: pass --resource PATH (or - for stdin)");
    }
    Ok(())
}

fn offline_data(a: &ApplyArgs) -> Result<OfflineData> {
    let mut data = OfflineData::default();
    if let Some(v) = &a.values_file {
        data.values = decode_value(&v.display().to_string(), &files::read_one(v)?, None)
            .map_err(anyhow::Error::msg)?;
    }
    for (k, v) in parse_set(&a.set)? {
        data.values.global_values.insert(k, Value::String(v));
    }
    data.targets = files::load_resources(&a.target_resources)?;
    for t in &mut data.targets {
        default_namespace(t, &[]);
    }
    Ok(data)
}

/// `--set a=b,c=d` and repeated `--set` flags, as Kyverno's string-slice flag reads them.
fn parse_set(args: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for item in args.iter().flat_map(|a| a.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| anyhow!("--set expects key=value, got {item:?}"))?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// Evaluates resource by resource so a long run can show progress.
fn evaluate(
    run: &Run<'_>,
    policies: &[palisade_engine::CompiledPolicy],
    resources: &[Value],
) -> Vec<Outcome> {
    let engine = Engine::default();
    let progress = Progress::new(resources.len() as u64, "applying");
    let mut out = Vec::new();
    for resource in resources {
        out.extend(run.evaluate(&engine, policies, std::slice::from_ref(resource)));
        progress.inc();
    }
    progress.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_accepts_repeats_and_commas() {
        let got = parse_set(&["a=1,b=x=y".into(), " c = 3 ".into()]).unwrap();
        assert_eq!(
            got,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x=y".into()),
                ("c".into(), "3".into())
            ]
        );
        assert!(parse_set(&["novalue".into()]).is_err());
    }
}
