//! `validate.cel` in `kyverno.io/v1` rules, with `celPreconditions`, evaluated as Kyverno's
//! CEL handler does: through the Kubernetes validator with failure policy Fail, so an
//! expression that fails to evaluate fails the rule; JMESPath context and preconditions are
//! not used.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use palisade_api::{Rule, RuleType};
use palisade_cel::{Activation, Env, Value as CelValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::admission::{
    self, CompiledValidation, ExprError, LazyVariables, MatchOutcome, Named, Outcome,
};
use super::inputs::{Attributes, namespace_object};
use super::types::{AuditAnnotation, MatchCondition, ParamKind, ParamRef, Validation, Variable};
use crate::EvalEnv;
use crate::context::EvalContext;
use crate::ports::{ApiCallRequest, Lookup};
use crate::response::{RuleResponse, RuleStatus};

/// The `validate.cel` block of a rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CelRule {
    /// Validations.
    #[serde(default)]
    pub expressions: Vec<Validation>,
    /// The kind of parameter resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_kind: Option<ParamKind>,
    /// Which parameter resources to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_ref: Option<ParamRef>,
    /// Audit annotations.
    #[serde(default)]
    pub audit_annotations: Vec<AuditAnnotation>,
    /// Variables.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// Generate a ValidatingAdmissionPolicy (ignored here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<bool>,
}

/// A compiled `validate.cel` rule.
#[derive(Debug)]
pub struct CompiledCelRule {
    conditions: Vec<Named>,
    variables: Arc<[Named]>,
    validations: Vec<CompiledValidation>,
    param_kind: Option<ParamKind>,
    param_ref: Option<ParamRef>,
}

static ENV: LazyLock<Env> = LazyLock::new(|| admission::admission_env().build());

/// A compilation result shared by every evaluation of the same rule text.
type Cached = Arc<Result<CompiledCelRule, String>>;

/// Compiled rules by their text, so each distinct rule compiles once.
static CACHE: LazyLock<RwLock<HashMap<String, Cached>>> = LazyLock::new(RwLock::default);
const CACHE_LIMIT: usize = 4096;

/// Which Pod controller an autogen rule was generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Autogen {
    None,
    Template,
    CronJob,
}

fn autogen_of(rule_name: &str) -> Autogen {
    if rule_name.starts_with("autogen-cronjob-") {
        Autogen::CronJob
    } else if rule_name.starts_with("autogen-") {
        Autogen::Template
    } else {
        Autogen::None
    }
}

/// Kyverno rewrites CEL in autogen rules so `object.spec` and `object.metadata` read the Pod
/// template. Occurrences already rewritten (by the JMESPath autogen pass on `request.object`)
/// are left alone.
fn rewrite(src: &str, target: Autogen) -> String {
    let (spec, meta, marker) = match target {
        Autogen::None => return src.to_string(),
        Autogen::Template => ("spec.template.spec", "spec.template.metadata", ".template"),
        Autogen::CronJob => (
            "spec.jobTemplate.spec.template.spec",
            "spec.jobTemplate.spec.template.metadata",
            ".jobTemplate",
        ),
    };
    let mut out = src.to_string();
    for root in ["object", "oldObject"] {
        out = replace_unless(
            &out,
            &format!("{root}.spec"),
            &format!("{root}.{spec}"),
            marker,
        );
        out = replace_unless(
            &out,
            &format!("{root}.metadata"),
            &format!("{root}.{meta}"),
            "",
        );
    }
    out
}

/// Replaces `from` by `to` except where `from` is directly followed by `skip` (when non-empty).
fn replace_unless(s: &str, from: &str, to: &str, skip: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(from) {
        let after = &rest[i + from.len()..];
        out.push_str(&rest[..i]);
        if !skip.is_empty() && after.starts_with(skip) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Parses the `validate.cel` block of a rule.
pub fn parse(cel: &Value) -> Result<CelRule, String> {
    serde_json::from_value(cel.clone()).map_err(|e| format!("invalid validate.cel: {e}"))
}

/// Compiles a rule's `validate.cel` and `celPreconditions`; errors name the field (under
/// `base`, the rule's own path) and the position in the expression.
pub fn compile_rule(rule: &Rule, cel: &CelRule, base: &str) -> Result<CompiledCelRule, ExprError> {
    let target = autogen_of(&rule.name);
    let fix = |s: &str| rewrite(s, target);
    let path = format!("{base}.validate.cel");
    let conditions: Vec<MatchCondition> = rule
        .cel_preconditions
        .iter()
        .flatten()
        .map(|c| MatchCondition {
            name: c.name.clone(),
            expression: fix(&c.expression),
        })
        .collect();
    let variables: Vec<Variable> = cel
        .variables
        .iter()
        .map(|v| Variable {
            name: v.name.clone(),
            expression: fix(&v.expression),
        })
        .collect();
    let validations: Vec<Validation> = cel
        .expressions
        .iter()
        .map(|v| Validation {
            expression: fix(&v.expression),
            message_expression: v.message_expression.as_deref().map(fix),
            ..v.clone()
        })
        .collect();
    let default_message = rule.validate.as_ref().and_then(|v| v.message.as_deref());
    Ok(CompiledCelRule {
        conditions: admission::compile_conditions(
            &ENV,
            &format!("{base}.celPreconditions"),
            &conditions,
        )?,
        variables: admission::compile_variables(&ENV, &format!("{path}.variables"), &variables)?,
        validations: admission::compile_validations(
            &ENV,
            &format!("{path}.expressions"),
            &validations,
            default_message,
        )?,
        param_kind: cel.param_kind.clone(),
        param_ref: cel.param_ref.clone(),
    })
}

/// Checks that a rule's CEL compiles (for load-time validation). `base` is the rule's field
/// path (`spec.rules[2]`); an error is `(field path, message)`.
pub fn check(rule: &Rule, base: &str) -> Result<(), (String, String)> {
    let Some(cel) = rule.validate.as_ref().and_then(|v| v.cel.as_ref()) else {
        return Ok(());
    };
    let parsed = parse(cel).map_err(|e| (format!("{base}.validate.cel"), e))?;
    compile_rule(rule, &parsed, base).map(|_| ()).map_err(|e| {
        let message = format!("{} (at {} in `{}`)", e.message, e.position, e.expression);
        (e.path, message)
    })
}

fn cached(rule: &Rule, cel: &Value) -> Cached {
    let key = format!(
        "{}\u{0}{}\u{0}{}\u{0}{}",
        rule.name,
        cel,
        serde_json::to_string(&rule.cel_preconditions).unwrap_or_default(),
        rule.validate
            .as_ref()
            .and_then(|v| v.message.as_deref())
            .unwrap_or_default()
    );
    if let Ok(map) = CACHE.read()
        && let Some(c) = map.get(&key)
    {
        return c.clone();
    }
    let compiled = Arc::new(parse(cel).and_then(|p| {
        compile_rule(rule, &p, &format!("rules[{}]", rule.name)).map_err(|e| e.to_string())
    }));
    if let Ok(mut map) = CACHE.write()
        && map.len() < CACHE_LIMIT
    {
        map.insert(key, compiled.clone());
    }
    compiled
}

fn attributes(ctx: &EvalContext) -> Attributes {
    let req = &ctx.root()["request"];
    let get = |k: &str| req.get(k).cloned().unwrap_or(Value::Null);
    Attributes {
        operation: req
            .get("operation")
            .and_then(Value::as_str)
            .unwrap_or("CREATE")
            .to_string(),
        object: get("object"),
        old_object: get("oldObject"),
        user_info: get("userInfo"),
        sub_resource: String::new(),
        dry_run: false,
    }
}

fn response(rule: &Rule, status: RuleStatus, message: impl Into<String>) -> RuleResponse {
    RuleResponse::new(&rule.name, RuleType::Validation, status, message)
}

/// Evaluates a matched rule's `validate.cel`.
pub(crate) fn validate_rule(
    rule: &Rule,
    cel: &Value,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
) -> RuleResponse {
    let compiled = cached(rule, cel);
    let compiled = match compiled.as_ref() {
        Ok(c) => c,
        Err(e) => return response(rule, RuleStatus::Error, format!("invalid CEL rule: {e}")),
    };
    let attrs = attributes(ctx);
    let mut base = Activation::new();
    base.bind_json("object", &attrs.object)
        .bind_json("oldObject", &attrs.old_object)
        .bind_json("request", &attrs.request())
        .bind("authorizer", CelValue::Null);
    let (_, _, kind) = attrs.gvk();
    let ns = attrs.namespace();
    // Offline, Kyverno knows only the namespace's name.
    if !ns.is_empty() && kind != "Namespace" {
        base.bind_json("namespaceObject", &namespace_object(&ns, None));
    } else {
        base.bind("namespaceObject", CelValue::Null);
    }
    let params = match &compiled.param_kind {
        Some(kind) => match collect_params(kind, compiled.param_ref.as_ref(), &ns, env) {
            Ok(p) => p,
            Err(e) => {
                return response(
                    rule,
                    RuleStatus::Error,
                    format!("error in parameterized resource: {e}"),
                );
            }
        },
        None => vec![Value::Null],
    };
    let base = Arc::new(base);
    for param in &params {
        let mut act = Activation::child(base.clone());
        act.bind_json("params", param);
        match evaluate(compiled, act) {
            Verdict::Pass => {}
            Verdict::Skip => return response(rule, RuleStatus::Skip, "cel preconditions not met"),
            Verdict::Fail(message) => return response(rule, RuleStatus::Fail, message),
        }
    }
    response(
        rule,
        RuleStatus::Pass,
        format!("Validation rule '{}' passed.", rule.name),
    )
}

enum Verdict {
    Pass,
    Skip,
    Fail(String),
}

/// One validator run. The validator's failure policy is Fail, so evaluation errors deny.
fn evaluate(compiled: &CompiledCelRule, act: Activation) -> Verdict {
    match admission::match_conditions(&compiled.conditions, &act) {
        MatchOutcome::NoMatch => return Verdict::Skip,
        MatchOutcome::Error(message) => return Verdict::Fail(message),
        MatchOutcome::Match => {}
    }
    let act = LazyVariables::new(Arc::new(act), compiled.variables.clone()).activation();
    for v in &compiled.validations {
        match v.evaluate(&act) {
            Outcome::Admit => {}
            Outcome::Deny { message, .. } | Outcome::Error { message } => {
                return Verdict::Fail(message);
            }
        }
    }
    Verdict::Pass
}

/// Parameter resources through the cluster API port (Kubernetes API paths).
fn collect_params(
    kind: &ParamKind,
    param_ref: Option<&ParamRef>,
    namespace: &str,
    env: &EvalEnv<'_>,
) -> Result<Vec<Value>, String> {
    let Some(pref) = param_ref else {
        return Err("paramRef is required when paramKind is set".into());
    };
    let (group, version) = super::gvr::split_api_version(&kind.api_version);
    let resource = super::gvr::resource_for(group, &kind.kind);
    let cluster = super::gvr::is_cluster_scoped(group, &kind.kind);
    let ns = pref
        .namespace
        .clone()
        .unwrap_or_else(|| namespace.to_string());
    let base = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    let collection = if cluster || ns.is_empty() {
        format!("{base}/{resource}")
    } else {
        format!("{base}/namespaces/{ns}/{resource}")
    };
    let url = match &pref.name {
        Some(name) => format!("{collection}/{name}"),
        None => collection,
    };
    let lookup = env.source.api_call(&ApiCallRequest {
        method: "GET".into(),
        url,
        body: None,
        external: false,
    });
    let found = match lookup {
        Lookup::Found(v) => v,
        Lookup::Unavailable => return Err("no cluster data to read parameters from".into()),
        Lookup::Failed(e) => return Err(e),
    };
    let items: Vec<Value> = match found.get("items").and_then(Value::as_array) {
        Some(items) => items.clone(),
        None if pref.name.is_some() => vec![found],
        None => Vec::new(),
    };
    let items: Vec<Value> = match &pref.selector {
        Some(sel) if pref.name.is_none() => items
            .into_iter()
            .filter(|i| {
                let labels = i
                    .pointer("/metadata/labels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                crate::matching::selector_matches(sel, &labels)
            })
            .collect(),
        _ => items,
    };
    if items.is_empty() {
        if pref.parameter_not_found_action.as_deref() == Some("Allow") {
            return Ok(Vec::new());
        }
        return Err(json!({"paramKind": kind.kind, "error": "no params found"}).to_string());
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autogen_rewrites_pod_paths_once() {
        assert_eq!(
            rewrite(
                "object.spec.containers.all(c, has(object.metadata.labels))",
                Autogen::Template
            ),
            "object.spec.template.spec.containers.all(c, has(object.spec.template.metadata.labels))"
        );
        assert_eq!(
            rewrite("request.object.spec.template.spec.x", Autogen::Template),
            "request.object.spec.template.spec.x"
        );
        assert_eq!(
            rewrite("oldObject.spec.x", Autogen::CronJob),
            "oldObject.spec.jobTemplate.spec.template.spec.x"
        );
        assert_eq!(rewrite("object.spec", Autogen::None), "object.spec");
        assert_eq!(autogen_of("autogen-cronjob-x"), Autogen::CronJob);
        assert_eq!(autogen_of("autogen-x"), Autogen::Template);
    }
}
