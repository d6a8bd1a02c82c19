//! Policy status in Kyverno's shape. Classic policies: `ready`, a `Ready` condition (reason
//! `Succeeded` or `Failed`, the load error with its field path as message), `rulecount` and
//! `autogen.rules`. CEL policies (ValidatingPolicy, MutatingPolicy, ...):
//! `conditionStatus.ready`, `conditionStatus.message` and a `PolicyCached` condition, as
//! Kyverno's status controller writes them.

use palisade_api::LoadError;
use palisade_engine::CompiledPolicy;
use serde_json::{Value, json};

/// How loading a policy went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Compiled; its rule counts and the rules autogen added.
    Ready {
        /// Rule counts by type, autogen rules included (as Kyverno counts).
        counts: RuleCount,
        /// The rules autogen added.
        autogen: Vec<Value>,
    },
    /// Not loaded: why.
    Failed {
        /// `field.path: message`.
        message: String,
        /// Counts from the document as written.
        counts: RuleCount,
    },
}

/// Rules by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCount {
    /// validate rules.
    pub validate: usize,
    /// mutate rules.
    pub mutate: usize,
    /// generate rules.
    pub generate: usize,
    /// verifyImages rules.
    pub verifyimages: usize,
}

impl RuleCount {
    /// Counts rules given as JSON (a policy's `spec.rules`, possibly not loadable).
    pub fn of_json(rules: Option<&Value>) -> RuleCount {
        let mut c = RuleCount::default();
        for rule in rules.and_then(Value::as_array).into_iter().flatten() {
            let has = |k: &str| rule.get(k).is_some_and(|v| !v.is_null());
            c.validate += usize::from(has("validate"));
            c.mutate += usize::from(has("mutate"));
            c.generate += usize::from(has("generate"));
            c.verifyimages += usize::from(has("verifyImages"));
        }
        c
    }

    fn to_json(self) -> Value {
        json!({
            "validate": self.validate,
            "mutate": self.mutate,
            "generate": self.generate,
            "verifyimages": self.verifyimages,
        })
    }
}

impl Outcome {
    /// The outcome for a compiled policy.
    pub fn ready(policy: &CompiledPolicy) -> Outcome {
        let all = serde_json::to_value(&policy.rules).ok();
        let own = policy.policy.spec.rules.len();
        let autogen = all
            .as_ref()
            .and_then(Value::as_array)
            .map(|rules| rules.iter().skip(own).cloned().collect())
            .unwrap_or_default();
        Outcome::Ready {
            counts: RuleCount::of_json(all.as_ref()),
            autogen,
        }
    }

    /// The outcome for a document that did not load.
    pub fn failed(error: &LoadError, doc: &Value) -> Outcome {
        let message = match &error.path {
            Some(path) if !path.is_empty() => format!("{path}: {}", error.message),
            _ => error.message.clone(),
        };
        Outcome::Failed {
            message,
            counts: RuleCount::of_json(doc.pointer("/spec/rules")),
        }
    }
}

/// The status to write, or `None` when `current` already says the same (the transition
/// time of an unchanged condition is kept, so rewriting would change nothing).
pub fn render(current: Option<&Value>, outcome: &Outcome, now_rfc3339: &str) -> Option<Value> {
    let (ready, reason, message, counts, autogen) = match outcome {
        Outcome::Ready { counts, autogen } => {
            (true, "Succeeded", "Ready", *counts, autogen.clone())
        }
        Outcome::Failed { message, counts } => {
            (false, "Failed", message.as_str(), *counts, Vec::new())
        }
    };
    let status_word = if ready { "True" } else { "False" };
    let condition = Condition {
        type_: "Ready",
        status: status_word,
        reason,
        message,
    };
    let mut autogen_obj = serde_json::Map::new();
    if !autogen.is_empty() {
        autogen_obj.insert("rules".into(), Value::Array(autogen));
    }
    let status = json!({
        "ready": ready,
        "conditions": [condition.render(current, now_rfc3339)],
        "rulecount": counts.to_json(),
        "autogen": autogen_obj,
    });
    if current == Some(&status) {
        None
    } else {
        Some(status)
    }
}

/// How loading a CEL policy (ValidatingPolicy, MutatingPolicy, their namespaced forms) went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CelOutcome {
    /// Compiled and in the policy set.
    Ready,
    /// Not loaded: `field.path: message (at line:column in `expression`)`.
    Failed {
        /// Why, with the field path and, for an expression, the position in it.
        message: String,
    },
}

/// Kyverno's condition type for "compiled and in the engine's cache".
pub const POLICY_CACHED: &str = "PolicyCached";
/// Kyverno's message of a true `PolicyCached` condition.
pub const CACHED_MESSAGE: &str = "Policy compiled and cached.";

impl CelOutcome {
    /// The outcome for a CEL policy that did not load. The message of an expression error
    /// already names its field path (`spec.validations[0].expression: ... (at 1:9 in `...`)`);
    /// the policy's kind and name, which the status's object already says, are left out.
    pub fn failed(error: &LoadError) -> CelOutcome {
        let path = error.path.as_deref().filter(|p| !p.is_empty());
        let message = match path {
            Some(path) => match error.message.find(path) {
                Some(at) => error.message[at..].to_string(),
                None => format!("{path}: {}", error.message),
            },
            None => error.message.clone(),
        };
        CelOutcome::Failed { message }
    }
}

/// The `status.conditionStatus` to write, or `None` when `current` (the whole status) already
/// says the same. `ready` is true when every condition is, as Kyverno computes it; an
/// unchanged condition keeps its transition time.
pub fn render_cel(
    current: Option<&Value>,
    outcome: &CelOutcome,
    now_rfc3339: &str,
) -> Option<Value> {
    let (status_word, reason, message, summary) = match outcome {
        CelOutcome::Ready => ("True", "Succeeded", CACHED_MESSAGE, ""),
        CelOutcome::Failed { message } => ("False", "Failed", message.as_str(), message.as_str()),
    };
    let old = current.and_then(|s| s.get("conditionStatus"));
    let condition = Condition {
        type_: POLICY_CACHED,
        status: status_word,
        reason,
        message,
    };
    let rendered = json!({
        "ready": status_word == "True",
        "message": bounded(summary),
        "conditions": [condition.render(old, now_rfc3339)],
    });
    if old == Some(&rendered) {
        None
    } else {
        Some(rendered)
    }
}

/// The one condition a status holds.
struct Condition<'a> {
    type_: &'a str,
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

impl Condition<'_> {
    /// The condition as written, beside `old` (the status object holding the current
    /// `conditions`): a condition whose status is unchanged keeps its transition time.
    fn render(&self, old: Option<&Value>, now_rfc3339: &str) -> Value {
        let old = old
            .and_then(|s| s.get("conditions"))
            .and_then(Value::as_array)
            .and_then(|all| {
                all.iter()
                    .find(|c| c.get("type") == Some(&json!(self.type_)))
            });
        let transition = match old {
            Some(c) if c.get("status") == Some(&json!(self.status)) => c
                .get("lastTransitionTime")
                .cloned()
                .unwrap_or_else(|| json!(now_rfc3339)),
            _ => json!(now_rfc3339),
        };
        json!({
            "type": self.type_,
            "status": self.status,
            "reason": self.reason,
            "message": bounded(self.message),
            "lastTransitionTime": transition,
        })
    }
}

/// Bounded like a condition message (32768 in metav1.Condition, the CRDs' maxLength), so a
/// huge message cannot make the write fail.
fn bounded(message: &str) -> String {
    message.chars().take(32_000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2026-11-23T08:00:00Z";
    const T1: &str = "2026-11-23T09:00:00Z";

    fn compiled() -> CompiledPolicy {
        let doc = json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"rules": [{
                "name": "r",
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {"message": "m", "pattern": {"spec": {"hostPID": "false"}}}
            }]}
        });
        palisade_engine::compile(serde_json::from_value(doc).unwrap()).unwrap()
    }

    #[test]
    fn ready_status_then_no_rewrite() {
        let outcome = Outcome::ready(&compiled());
        let first = render(None, &outcome, T0).unwrap();
        assert_eq!(first["ready"], true);
        assert_eq!(first["conditions"][0]["status"], "True");
        assert_eq!(first["conditions"][0]["reason"], "Succeeded");
        assert_eq!(first["conditions"][0]["message"], "Ready");
        assert_eq!(first["conditions"][0]["lastTransitionTime"], T0);
        // One own rule and two autogen rules (Pod controllers and CronJob).
        assert_eq!(first["rulecount"]["validate"], 3);
        assert_eq!(first["autogen"]["rules"].as_array().unwrap().len(), 2);
        assert_eq!(render(Some(&first), &outcome, T1), None);
    }

    #[test]
    fn failure_carries_the_field_path_and_a_new_transition_time() {
        let ready = render(None, &Outcome::ready(&compiled()), T0).unwrap();
        let err = LoadError {
            file: "ClusterPolicy/p".into(),
            line: None,
            path: Some("spec.rules[0].validate.deny.conditions.any[0].operator".into()),
            message: "unknown operator \"Bogus\"".into(),
        };
        let doc = json!({"spec": {"rules": [{"validate": {}}, {"mutate": {}, "validate": null}]}});
        let failed = render(Some(&ready), &Outcome::failed(&err, &doc), T1).unwrap();
        assert_eq!(failed["ready"], false);
        assert_eq!(failed["conditions"][0]["status"], "False");
        assert_eq!(failed["conditions"][0]["reason"], "Failed");
        assert_eq!(
            failed["conditions"][0]["message"],
            "spec.rules[0].validate.deny.conditions.any[0].operator: unknown operator \"Bogus\""
        );
        assert_eq!(failed["conditions"][0]["lastTransitionTime"], T1);
        assert_eq!(
            failed["rulecount"],
            json!({"validate": 1, "mutate": 1, "generate": 0, "verifyimages": 0})
        );
        assert_eq!(failed["autogen"], json!({}));
    }

    #[test]
    fn cel_status_ready_then_failed_with_the_expression() {
        let ready = render_cel(None, &CelOutcome::Ready, T0).unwrap();
        assert_eq!(
            ready,
            json!({
                "ready": true,
                "message": "",
                "conditions": [{
                    "type": "PolicyCached", "status": "True", "reason": "Succeeded",
                    "message": "Policy compiled and cached.", "lastTransitionTime": T0,
                }],
            })
        );
        let current = json!({"conditionStatus": ready, "generated": false});
        assert_eq!(render_cel(Some(&current), &CelOutcome::Ready, T1), None);

        let err = LoadError {
            file: "ValidatingPolicy/v".into(),
            line: None,
            path: Some("spec.validations[0].expression".into()),
            message: "ValidatingPolicy v: spec.validations[0].expression: undeclared reference to 'objekt' (at 1:1 in `objekt.x`)".into(),
        };
        let outcome = CelOutcome::failed(&err);
        let want = "spec.validations[0].expression: undeclared reference to 'objekt' (at 1:1 in `objekt.x`)";
        assert_eq!(
            outcome,
            CelOutcome::Failed {
                message: want.into()
            }
        );
        let failed = render_cel(Some(&current), &outcome, T1).unwrap();
        assert_eq!(failed["ready"], false);
        assert_eq!(failed["message"], want);
        assert_eq!(failed["conditions"][0]["status"], "False");
        assert_eq!(failed["conditions"][0]["reason"], "Failed");
        assert_eq!(failed["conditions"][0]["message"], want);
        assert_eq!(failed["conditions"][0]["lastTransitionTime"], T1);
    }

    #[test]
    fn cel_failure_without_the_path_in_its_message_gets_it_prefixed() {
        let err = LoadError {
            file: "f".into(),
            line: None,
            path: Some("spec.matchConstraints".into()),
            message: "missing".into(),
        };
        assert_eq!(
            CelOutcome::failed(&err),
            CelOutcome::Failed {
                message: "spec.matchConstraints: missing".into()
            }
        );
    }
}
