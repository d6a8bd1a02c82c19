//! Human output of `apply`: the failure list, the counts line and the results table.

use std::fmt::Write;

use palisade_engine::RuleStatus;
use serde_json::Value;

use crate::output::style::{Paint, Style};
use crate::output::table::{Cell, Table};
use crate::run::Outcome;
use crate::verdict::{self, Counts, Policies};

/// Kyverno's closing line: `pass: N, fail: N, warn: N, error: N, skip: N`.
pub fn counts_line(c: &Counts) -> String {
    format!(
        "pass: {}, fail: {}, warn: {}, error: {}, skip: {}",
        c.pass, c.fail, c.warn, c.error, c.skip
    )
}

/// One block per policy and resource with failing (or erroring) rules, numbered by rule
/// position as Kyverno numbers them.
pub fn failures(
    outcomes: &[Outcome],
    policies: &Policies<'_>,
    audit_warn: bool,
    style: &Style,
) -> String {
    let mut out = String::new();
    for o in outcomes {
        let scored = policies.scored(&o.policy);
        for (label, wanted) in [
            ("failed", RuleStatus::Fail),
            ("failed as audit warning", RuleStatus::Warn),
            ("had errors", RuleStatus::Error),
        ] {
            let lines: Vec<String> = o
                .response
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    let status = verdict::effective(r, scored, audit_warn);
                    // Warnings are listed only when --audit-warn turned a failure into one.
                    status == wanted
                        && (wanted != RuleStatus::Warn || (r.status == RuleStatus::Fail && scored))
                })
                .map(|(i, r)| match &*r.name {
                    // CEL policies (ValidatingPolicy, VAP) report one unnamed result.
                    "" => format!("{}. {}", i + 1, r.message),
                    name => format!("{}. {name}: {}", i + 1, r.message),
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            let paint = if wanted == RuleStatus::Warn {
                Paint::Warn
            } else {
                Paint::Fail
            };
            let _ = writeln!(
                out,
                "\npolicy {} -> resource {} {}:",
                style.paint(Paint::Name, &o.policy),
                style.paint(Paint::Name, &resource_path(&o.resource)),
                style.paint(paint, label),
            );
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
    }
    out
}

/// Every rule result as a table; `detailed` adds the message column.
pub fn table(
    outcomes: &[Outcome],
    policies: &Policies<'_>,
    audit_warn: bool,
    detailed: bool,
) -> Table {
    let mut headers = vec!["ID", "POLICY", "RULE", "RESOURCE", "RESULT"];
    if detailed {
        headers.push("MESSAGE");
    }
    let mut table = Table::new(headers).wrap_column(5);
    let mut id = 0;
    for o in outcomes {
        let scored = policies.scored(&o.policy);
        for r in &o.response.rules {
            id += 1;
            let status = verdict::effective(r, scored, audit_warn);
            table.push(vec![
                Cell::plain(id.to_string()),
                Cell::new(o.policy.clone(), Paint::Name),
                Cell::new(r.name.to_string(), Paint::Name),
                Cell::new(resource_label(&o.resource), Paint::Name),
                Cell::new(title(status), status_paint(status)),
                Cell::plain(r.message.clone()),
            ]);
        }
    }
    table
}

/// `Pass`, `Fail`, ... as Kyverno's tables spell results.
pub fn title(status: RuleStatus) -> &'static str {
    match status {
        RuleStatus::Pass => "Pass",
        RuleStatus::Fail => "Fail",
        RuleStatus::Warn => "Warn",
        RuleStatus::Error => "Error",
        RuleStatus::Skip => "Skip",
    }
}

fn status_paint(status: RuleStatus) -> Paint {
    match status {
        RuleStatus::Pass => Paint::Pass,
        RuleStatus::Fail => Paint::Fail,
        RuleStatus::Warn => Paint::Warn,
        RuleStatus::Error => Paint::Error,
        RuleStatus::Skip => Paint::Skip,
    }
}

fn field<'a>(r: &'a Value, pointer: &str) -> &'a str {
    r.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `namespace/Kind/name`, with an empty namespace for cluster-scoped resources, as Kyverno's
/// summary prints it.
fn resource_path(r: &Value) -> String {
    format!(
        "{}/{}/{}",
        field(r, "/metadata/namespace"),
        field(r, "/kind"),
        field(r, "/metadata/name")
    )
}

/// `namespace/Kind/name`, or `Kind/name` without a namespace, as Kyverno's tables print it.
pub fn resource_label(r: &Value) -> String {
    match field(r, "/metadata/namespace") {
        "" => format!("{}/{}", field(r, "/kind"), field(r, "/metadata/name")),
        ns => format!("{ns}/{}/{}", field(r, "/kind"), field(r, "/metadata/name")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resource_names_follow_kyverno() {
        let pod = json!({"kind": "Pod", "metadata": {"name": "a", "namespace": "n"}});
        let ns = json!({"kind": "Namespace", "metadata": {"name": "n"}});
        assert_eq!(resource_path(&pod), "n/Pod/a");
        assert_eq!(resource_path(&ns), "/Namespace/n");
        assert_eq!(resource_label(&pod), "n/Pod/a");
        assert_eq!(resource_label(&ns), "Namespace/n");
    }

    #[test]
    fn counts_line_matches_kyverno() {
        let c = Counts {
            pass: 1,
            fail: 2,
            warn: 3,
            error: 4,
            skip: 5,
        };
        assert_eq!(
            counts_line(&c),
            "pass: 1, fail: 2, warn: 3, error: 4, skip: 5"
        );
    }
}
