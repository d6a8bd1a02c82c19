//! `apply --policy-report`: the ClusterPolicyReport, built while resources stream in.
//!
//! Each resource document is parsed, evaluated and dropped before the next one is read
//! ([`palisade_yaml::pieces`]), and a result keeps only interned texts and the reference of
//! its resource, so a stream of thousands of manifests needs little memory. The JSON report
//! is written straight out in serde_json's pretty layout (the bytes `to_string_pretty` gives
//! for the report value); YAML goes through the value. When a stream cannot be read piece by
//! piece (aliases, or a piece that does not load), the resources are loaded whole as before.

use std::collections::HashMap;
use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Result;
use palisade_engine::{Engine, PolicyResponse, RuleStatus};
use serde_json::{Map, Value, json};

use super::apply::{ApplyArgs, Inputs, ReportFormat, load_resources};
use crate::files;
use crate::output::progress::Progress;
use crate::report;
use crate::run::{Outcome, Run};
use crate::source::default_namespace;
use crate::verdict::{self, Counts, Policies};

/// Runs `apply` with a policy report as its output.
pub(super) fn run(a: &ApplyArgs, inputs: Inputs) -> Result<ExitCode> {
    let run = Run {
        data: &inputs.data,
        exceptions: &inputs.exceptions,
        user: Run::user_from(inputs.user.clone()),
        operation: "CREATE".into(),
    };
    let cel = crate::celpolicies::CelInputs::for_apply(&inputs.data, &a.exceptions)?;
    let policies = Policies::new(&inputs.loaded.policies);
    let engine = Engine::default();
    let mut rows = Rows::new(&policies, a.audit_warn);
    let each = |resource: &Value, rows: &mut Rows<'_>| {
        run.evaluate_each(&engine, &inputs.loaded.policies, resource, &mut |o| {
            rows.add(&o.policy, &o.resource, &o.response, 0);
        });
        // CEL outcomes follow every classic one in the report, as in `apply`'s own order.
        let cel_outcomes: Vec<Outcome> =
            cel.evaluate(&inputs.loaded.cel, &run, std::slice::from_ref(resource));
        for o in &cel_outcomes {
            rows.add(&o.policy, &o.resource, &o.response, 1);
        }
    };
    if !stream(a, &mut |r| each(r, &mut rows))? {
        rows = Rows::new(&policies, a.audit_warn);
        let resources = load_resources(a)?;
        let progress = Progress::new(resources.len() as u64, "applying");
        for r in &resources {
            each(r, &mut rows);
            progress.inc();
        }
        progress.finish();
    }
    let failing = rows.exit.failing();
    let timestamp = report::now();
    let written = match a.output_format.unwrap_or_default() {
        ReportFormat::Json => {
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            rows.write_json(&mut out, timestamp)
                .and_then(|()| out.flush())
        }
        ReportFormat::Yaml => {
            crate::output::emit(&palisade_yaml::to_yaml_string(&rows.to_value(timestamp)))
        }
    };
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Streams the resources of `--resource` to `each`, document by document. `false` when a file
/// has to be loaded whole (nothing useful was done then: the caller starts over).
fn stream(a: &ApplyArgs, each: &mut dyn FnMut(&Value)) -> Result<bool> {
    let mut texts = Vec::new();
    for path in &a.resources {
        for file in files::expand(path)? {
            texts.push(files::read(&file)?);
        }
    }
    let opts = palisade_yaml::Options::default();
    let mut streams = Vec::new();
    for text in &texts {
        match palisade_yaml::pieces(text, &opts) {
            Some(p) => streams.push(p),
            None => return Ok(false),
        }
    }
    let total: usize = streams.iter().map(palisade_yaml::Pieces::count_left).sum();
    let progress = Progress::new(total as u64, "applying");
    for pieces in streams {
        for piece in pieces {
            let Ok(docs) = piece else {
                return Ok(false);
            };
            for doc in docs {
                let mut resources = Vec::new();
                files::flatten_lists(doc.value, &mut resources);
                for mut r in resources {
                    default_namespace(&mut r, &[]);
                    each(&r);
                }
            }
            progress.inc();
        }
    }
    progress.finish();
    Ok(true)
}

/// Interned texts: rule names and messages repeat across resources.
#[derive(Default)]
struct Texts {
    index: HashMap<Box<str>, u32>,
    list: Vec<Box<str>>,
}

impl Texts {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(id) = self.index.get(s) {
            return *id;
        }
        let id = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(s.into());
        self.index.insert(s.into(), id);
        id
    }

    fn get(&self, id: u32) -> &str {
        self.list.get(id as usize).map_or("", |s| s)
    }
}

/// One result of the report.
struct Row {
    policy: u32,
    /// 0 for classic policies, 1 for CEL policies (reported after them).
    phase: u8,
    rule: u32,
    message: u32,
    status: RuleStatus,
    resource: u32,
}

/// The fields of a resource reference, in key order: (key, value).
type ObjectRef = Vec<(&'static str, Box<str>)>;

/// What a result shows of its policy: scored, category, severity.
type PolicyFields<'p> = (bool, Option<&'p str>, Option<&'static str>);

/// The report's results and counts.
struct Rows<'p> {
    policies: &'p Policies<'p>,
    audit_warn: bool,
    texts: Texts,
    refs: Vec<ObjectRef>,
    rows: Vec<Row>,
    /// The report's summary.
    summary: Counts,
    /// `apply`'s counts, which decide the exit code.
    exit: Counts,
}

impl<'p> Rows<'p> {
    fn new(policies: &'p Policies<'p>, audit_warn: bool) -> Self {
        Rows {
            policies,
            audit_warn,
            texts: Texts::default(),
            refs: Vec::new(),
            rows: Vec::new(),
            summary: Counts::default(),
            exit: Counts::default(),
        }
    }

    fn add(&mut self, policy: &str, resource: &Value, response: &PolicyResponse, phase: u8) {
        self.exit
            .add_outcome(policy, response, self.policies, self.audit_warn);
        if response.rules.is_empty() {
            return;
        }
        let scored = self.policies.scored(policy);
        // Consecutive outcomes are usually about the same resource: compare before copying.
        if self
            .refs
            .last()
            .is_none_or(|last| !reference_fields(resource).eq(last.iter().map(|(k, v)| (*k, &**v))))
        {
            self.refs.push(object_reference(resource));
        }
        let resource = u32::try_from(self.refs.len() - 1).unwrap_or(u32::MAX);
        let policy = self.texts.id(policy);
        for r in &response.rules {
            let status = verdict::effective(r, scored, self.audit_warn);
            self.summary.add(status);
            self.rows.push(Row {
                policy,
                phase,
                rule: self.texts.id(&r.name),
                message: self.texts.id(&r.message),
                status,
                resource,
            });
        }
    }

    /// Results grouped by policy name, in evaluation order within a policy (a stable sort,
    /// as `report::reference::cluster_policy_report` orders outcomes).
    fn sorted(&self) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by(|a, b| {
            self.texts
                .get(a.policy)
                .cmp(self.texts.get(b.policy))
                .then(a.phase.cmp(&b.phase))
        });
        rows
    }

    /// What the report shows of a policy: scored, category, severity.
    fn policy_fields(&self, name: &str) -> PolicyFields<'p> {
        let policy = self.policies.get(name).map(|p| &*p.policy);
        (
            policy.is_none_or(verdict::scored),
            policy.and_then(verdict::category),
            policy.and_then(verdict::severity),
        )
    }

    /// The report as a value (as `report::reference::cluster_policy_report` builds it).
    fn to_value(&self, timestamp: i64) -> Value {
        let mut results = Vec::with_capacity(self.rows.len());
        for row in self.sorted() {
            let name = self.texts.get(row.policy);
            let (scored, category, severity) = self.policy_fields(name);
            let reference: Map<String, Value> = self
                .refs
                .get(row.resource as usize)
                .into_iter()
                .flatten()
                .map(|(k, v)| ((*k).to_string(), Value::String(v.to_string())))
                .collect();
            let mut result = Map::new();
            result.insert("message".into(), json!(self.texts.get(row.message)));
            result.insert("policy".into(), json!(name));
            result.insert("resources".into(), json!([reference]));
            result.insert("result".into(), json!(row.status.as_str()));
            result.insert("rule".into(), json!(self.texts.get(row.rule)));
            result.insert("scored".into(), json!(scored));
            result.insert("source".into(), json!("kyverno"));
            result.insert(
                "timestamp".into(),
                json!({"nanos": 0, "seconds": timestamp}),
            );
            if let Some(c) = category {
                result.insert("category".into(), json!(c));
            }
            if let Some(s) = severity {
                result.insert("severity".into(), json!(s));
            }
            results.push(Value::Object(result));
        }
        let c = &self.summary;
        json!({
            "apiVersion": "wgpolicyk8s.io/v1alpha2",
            "kind": "ClusterPolicyReport",
            "metadata": {"creationTimestamp": null, "name": "merged"},
            "results": results,
            "summary": {
                "error": c.error,
                "fail": c.fail,
                "pass": c.pass,
                "skip": c.skip,
                "warn": c.warn,
            },
        })
    }

    /// Writes the report as `serde_json::to_string_pretty` of [`Rows::to_value`] would, and a
    /// newline. The repeated parts (texts, resource references, the timestamp) are rendered
    /// once: a large report is mostly copies of them.
    fn write_json(&self, out: &mut dyn Write, timestamp: i64) -> io::Result<()> {
        out.write_all(
            b"{\n  \"apiVersion\": \"wgpolicyk8s.io/v1alpha2\",\n  \"kind\": \"ClusterPolicyReport\",\n  \"metadata\": {\n    \"creationTimestamp\": null,\n    \"name\": \"merged\"\n  },\n  \"results\": [",
        )?;
        let quoted: Vec<Vec<u8>> = self.texts.list.iter().map(|s| quote(s)).collect();
        let quoted = |id: u32| quoted.get(id as usize).map_or(&b"\"\""[..], Vec::as_slice);
        let refs: Vec<Vec<u8>> = self.refs.iter().map(resources_block).collect();
        let tail = format!(
            "      \"source\": \"kyverno\",\n      \"timestamp\": {{\n        \"nanos\": 0,\n        \"seconds\": {timestamp}\n      }}\n    }}"
        );
        // The lines a policy contributes before the message and after the rule.
        let mut policy: Option<(u32, Vec<u8>, Vec<u8>)> = None;
        for (i, row) in self.sorted().into_iter().enumerate() {
            let (head, middle) = match &policy {
                Some((id, head, middle)) if *id == row.policy => (head, middle),
                _ => {
                    let (scored, category, severity) =
                        self.policy_fields(self.texts.get(row.policy));
                    let mut head = Vec::new();
                    if let Some(c) = category {
                        line(&mut head, "category", &quote(c))?;
                    }
                    let mut middle = format!("      \"scored\": {scored},\n").into_bytes();
                    if let Some(s) = severity {
                        line(&mut middle, "severity", &quote(s))?;
                    }
                    let p = policy.insert((row.policy, head, middle));
                    (&p.1, &p.2)
                }
            };
            out.write_all(if i == 0 { b"\n    {\n" } else { b",\n    {\n" })?;
            out.write_all(head)?;
            line(out, "message", quoted(row.message))?;
            line(out, "policy", quoted(row.policy))?;
            out.write_all(
                refs.get(row.resource as usize)
                    .map_or(&[][..], Vec::as_slice),
            )?;
            out.write_all(b"      \"result\": \"")?;
            out.write_all(row.status.as_str().as_bytes())?;
            out.write_all(b"\",\n")?;
            line(out, "rule", quoted(row.rule))?;
            out.write_all(middle)?;
            out.write_all(tail.as_bytes())?;
        }
        out.write_all(if self.rows.is_empty() {
            b"],\n"
        } else {
            b"\n  ],\n"
        })?;
        let c = &self.summary;
        writeln!(
            out,
            "  \"summary\": {{\n    \"error\": {},\n    \"fail\": {},\n    \"pass\": {},\n    \"skip\": {},\n    \"warn\": {}\n  }}\n}}",
            c.error, c.fail, c.pass, c.skip, c.warn
        )
    }
}

/// `      "key": <quoted value>,` and a newline.
fn line(out: &mut dyn Write, key: &str, quoted: &[u8]) -> io::Result<()> {
    out.write_all(b"      \"")?;
    out.write_all(key.as_bytes())?;
    out.write_all(b"\": ")?;
    out.write_all(quoted)?;
    out.write_all(b",\n")
}

/// A JSON string, escaped as serde_json escapes it.
fn quote(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_default()
}

/// The `resources` entry of a result, from its key line to its closing line.
fn resources_block(reference: &ObjectRef) -> Vec<u8> {
    let mut out = b"      \"resources\": [\n        {".to_vec();
    for (i, (k, v)) in reference.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        out.extend_from_slice(b"          \"");
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\": ");
        out.extend_from_slice(&quote(v));
    }
    out.extend_from_slice(if reference.is_empty() {
        b"}\n"
    } else {
        b"\n        }\n"
    });
    out.extend_from_slice(b"      ],\n");
    out
}

/// The resource reference of a result: `apiVersion`, `kind`, `name`, `namespace` and `uid`
/// when present and not empty.
fn object_reference(resource: &Value) -> ObjectRef {
    reference_fields(resource)
        .map(|(k, v)| (k, Box::from(v)))
        .collect()
}

/// The fields of [`object_reference`], borrowed.
fn reference_fields(resource: &Value) -> impl Iterator<Item = (&'static str, &str)> {
    let meta = resource.get("metadata");
    [
        ("apiVersion", resource.get("apiVersion")),
        ("kind", resource.get("kind")),
        ("name", meta.and_then(|m| m.get("name"))),
        ("namespace", meta.and_then(|m| m.get("namespace"))),
        ("uid", meta.and_then(|m| m.get("uid"))),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v.and_then(Value::as_str).filter(|s| !s.is_empty())?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_api::RuleType;
    use palisade_engine::RuleResponse;

    fn outcome(policy: &str, resource: Value, rules: &[(&str, RuleStatus, &str)]) -> Outcome {
        Outcome {
            policy: policy.into(),
            resource,
            response: PolicyResponse {
                policy: policy.into(),
                rules: rules
                    .iter()
                    .map(|(n, s, m)| RuleResponse::new(n, RuleType::Validation, *s, *m))
                    .collect(),
            },
            artifacts: Default::default(),
        }
    }

    #[test]
    fn written_report_is_the_pretty_printed_value() {
        let pod = |name: &str| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "n"}});
        let outcomes = vec![
            outcome(
                "zeta",
                pod("a"),
                &[("r1", RuleStatus::Pass, "ok \"quoted\" \u{1} é\n")],
            ),
            outcome(
                "alpha",
                pod("a"),
                &[("r", RuleStatus::Fail, "bad"), ("s", RuleStatus::Skip, "")],
            ),
            outcome(
                "zeta",
                json!({"kind": "Namespace", "metadata": {"name": "b", "uid": "u"}}),
                &[("r1", RuleStatus::Error, "e")],
            ),
            outcome("alpha", json!({}), &[("r", RuleStatus::Warn, "w")]),
            outcome("none", pod("c"), &[]),
        ];
        let policies = Policies::new(&[]);
        let mut rows = Rows::new(&policies, false);
        for o in &outcomes {
            rows.add(&o.policy, &o.resource, &o.response, 0);
        }
        let want = report::reference::cluster_policy_report(&outcomes, &policies, false, 42);
        assert_eq!(rows.to_value(42), want);
        let mut out = Vec::new();
        rows.write_json(&mut out, 42).unwrap();
        let want_text = format!("{}\n", serde_json::to_string_pretty(&want).unwrap());
        assert_eq!(String::from_utf8(out).unwrap(), want_text);
        assert_eq!(rows.exit, Counts::of(&outcomes, &policies, false));
    }

    #[test]
    fn empty_report_matches() {
        let policies = Policies::new(&[]);
        let rows = Rows::new(&policies, false);
        let mut out = Vec::new();
        rows.write_json(&mut out, 7).unwrap();
        let want = report::reference::cluster_policy_report(&[], &policies, false, 7);
        let want_text = format!("{}\n", serde_json::to_string_pretty(&want).unwrap());
        assert_eq!(String::from_utf8(out).unwrap(), want_text);
    }
}
