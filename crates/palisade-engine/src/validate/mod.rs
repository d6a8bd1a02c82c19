//! `validate` rules: pattern, anyPattern, deny, foreach and podSecurity, with Kyverno's
//! outcomes and messages.

pub mod cel;
pub mod pattern;
mod pattern_tree;

use palisade_api::context::ContextEntry;
use palisade_api::validate::{Deny, ForEachValidation, Validation};
use palisade_api::{Conditions, Rule, RuleType};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

use crate::EvalEnv;
use crate::conditions;
use crate::context::EvalContext;
use crate::entries::Loader;
use crate::jp::{self, Found};
use crate::response::{Message, RuleResponse, RuleStatus};
use crate::variables::{Mode, Resolver, has_variables, substitute_all};
use pattern::{CompiledPattern, Mismatch};

/// One validator: the rule itself, or a foreach block inside it.
struct Validator<'a> {
    rule_name: &'a str,
    /// `rule_name` as compiled with the policy, for responses without a copy, and the rule's
    /// pass message made when compiling.
    shared_name: Option<(&'a Arc<str>, &'a Arc<str>)>,
    message: Option<&'a str>,
    context: &'a [ContextEntry],
    preconditions: Option<&'a Conditions>,
    pattern: Option<&'a Value>,
    any_pattern: Option<&'a Value>,
    deny: Option<&'a Deny>,
    foreach: Option<&'a [ForEachValidation]>,
    /// The element a scoped foreach validates instead of the resource.
    element: Option<&'a Value>,
    /// The resource, when the caller has already looked it up in the context.
    resource: Option<&'a Value>,
    nesting: usize,
}

/// The checks of one foreach element: the block's own, on `element` when the block is scoped
/// to it, else on what `v` checks. (A static block has no context and no nested foreach, so
/// its validator is the same.)
fn element_validator<'a>(
    v: &Validator<'a>,
    f: &'a ForEachValidation,
    element: Option<&'a Value>,
) -> Validator<'a> {
    Validator {
        rule_name: v.rule_name,
        shared_name: v.shared_name,
        message: v.message,
        context: f.context.as_deref().unwrap_or_default(),
        preconditions: f.preconditions.as_ref(),
        pattern: f.pattern.as_ref(),
        any_pattern: f.any_pattern.as_ref(),
        deny: f.deny.as_ref(),
        foreach: f.foreach.as_deref(),
        element: element.or(v.element),
        resource: None,
        nesting: v.nesting + 1,
    }
}

fn response(v: &Validator<'_>, status: RuleStatus, message: impl Into<Message>) -> RuleResponse {
    match v.shared_name {
        Some((name, _)) => {
            RuleResponse::with_message(name.clone(), RuleType::Validation, status, message.into())
        }
        None => RuleResponse::with_message(
            Arc::from(v.rule_name),
            RuleType::Validation,
            status,
            message.into(),
        ),
    }
}

/// Evaluates the validation parts of a matched rule (everything after match and exceptions).
pub(crate) fn validate_rule(
    rule: &Rule,
    validation: &Validation,
    env: &EvalEnv<'_>,
    ctx: &mut EvalContext,
) -> RuleResponse {
    if let Some(ps) = &validation.pod_security {
        return crate::pss::validate(rule, ps, env, ctx);
    }
    if let Some(cel) = &validation.cel {
        return cel::validate_rule(rule, cel, env, ctx);
    }
    if validation.manifests.is_some() || validation.assert.is_some() {
        return RuleResponse::new(
            &rule.name,
            RuleType::Validation,
            RuleStatus::Error,
            "validate.manifests and validate.assert rules are not supported",
        );
    }
    let v = Validator {
        rule_name: &rule.name,
        shared_name: env.cache.rule_name(rule),
        message: validation.message.as_deref(),
        context: rule.context.as_deref().unwrap_or_default(),
        preconditions: rule.preconditions.as_ref(),
        pattern: validation.pattern.as_ref(),
        any_pattern: validation.any_pattern.as_ref(),
        deny: validation.deny.as_ref(),
        foreach: validation.foreach.as_deref(),
        element: None,
        resource: None,
        nesting: 0,
    };
    run(&v, env, ctx)
}

/// True when [`validate_rule`] would only read the context for this rule: patterns or deny
/// conditions, without context entries or foreach declarations before them.
pub(crate) fn reads_only(rule: &Rule, validation: &Validation) -> bool {
    validation.pod_security.is_none()
        && validation.cel.is_none()
        && validation.manifests.is_none()
        && validation.assert.is_none()
        && rule
            .context
            .as_deref()
            .is_none_or(<[ContextEntry]>::is_empty)
        && (validation.deny.is_some()
            || validation.pattern.is_some()
            || validation.any_pattern.is_some())
}

/// [`validate_rule`] for a rule that [`reads_only`], on `resource` (the context's, looked up
/// by the caller): the same outcome.
pub(crate) fn validate_read_only(
    rule: &Rule,
    validation: &Validation,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
    resource: &Value,
) -> RuleResponse {
    let v = Validator {
        rule_name: &rule.name,
        shared_name: env.cache.rule_name(rule),
        message: validation.message.as_deref(),
        context: &[],
        preconditions: rule.preconditions.as_ref(),
        pattern: validation.pattern.as_ref(),
        any_pattern: validation.any_pattern.as_ref(),
        deny: validation.deny.as_ref(),
        foreach: validation.foreach.as_deref(),
        element: None,
        resource: Some(resource),
        nesting: 0,
    };
    match run_checks(&v, env, ctx) {
        Some(decided) => decided,
        // Not reached for a rule that reads only (deny or a pattern decides).
        None => invalid_rule(&v),
    }
}

fn resolver<'a>(env: &'a EvalEnv<'_>, ctx: &'a EvalContext, mode: Mode) -> Resolver<'a> {
    Resolver {
        ctx,
        cache: env.cache,
        clock: env.clock,
        mode,
    }
}

fn run(v: &Validator<'_>, env: &EvalEnv<'_>, ctx: &mut EvalContext) -> RuleResponse {
    let loader = Loader {
        source: env.source,
        cache: env.cache,
        clock: env.clock,
    };
    if let Err(e) = loader.load(ctx, v.context) {
        return response(v, RuleStatus::Error, format!("failed to load context: {e}"));
    }
    if let Some(decided) = run_checks(v, env, ctx) {
        return decided;
    }
    if let Some(foreach) = v.foreach {
        return validate_foreach(v, foreach, env, ctx);
    }
    invalid_rule(v)
}

fn invalid_rule(v: &Validator<'_>) -> RuleResponse {
    response(
        v,
        RuleStatus::Error,
        "invalid validation rule: podSecurity, cel, patterns, or deny expected",
    )
}

/// The parts of [`run`] after the context entries that only read the context:
/// preconditions, deny and patterns. `None` when none of them decides the outcome.
fn run_checks(v: &Validator<'_>, env: &EvalEnv<'_>, ctx: &EvalContext) -> Option<RuleResponse> {
    if let Some(pre) = v.preconditions {
        match conditions::evaluate_block(pre, &resolver(env, ctx, Mode::Lenient)) {
            Err(e) => {
                return Some(response(
                    v,
                    RuleStatus::Error,
                    format!("failed to evaluate preconditions: {e}"),
                ));
            }
            Ok((false, msg)) => {
                let text = if msg.is_empty() {
                    "preconditions not met".to_string()
                } else {
                    format!("preconditions not met; {msg}")
                };
                return Some(response(v, RuleStatus::Skip, text));
            }
            Ok((true, _)) => {}
        }
    }
    if let Some(deny) = v.deny {
        return Some(validate_deny(v, deny, env, ctx));
    }
    if v.pattern.is_some() || v.any_pattern.is_some() {
        return Some(validate_patterns(v, env, ctx));
    }
    None
}

/// The rule's pass message: the one made when compiling (shared, not copied), when there
/// is one.
fn pass_message(v: &Validator<'_>) -> Message {
    match v.shared_name {
        Some((_, message)) => Message::from(message.clone()),
        None => passed(v.rule_name).into(),
    }
}

/// Kyverno's message for a passing rule, built without the formatting machinery (it is made
/// for every rule that passes).
pub(crate) fn passed(rule: &str) -> String {
    let mut s = String::with_capacity(rule.len() + 26);
    s.push_str("validation rule '");
    s.push_str(rule);
    s.push_str("' passed.");
    s
}

fn message_text(
    v: &Validator<'_>,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
) -> Result<Option<String>, String> {
    let Some(raw) = v.message.filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    match crate::variables::substitute_string(raw, &resolver(env, ctx, Mode::Strict), "message") {
        Ok(Value::String(s)) => Ok(Some(s)),
        Ok(_) => Ok(Some(
            "the produced message didn't resolve to a string, check your policy definition.".into(),
        )),
        Err(e) => Err(e.to_string()),
    }
}

fn validate_deny(
    v: &Validator<'_>,
    deny: &Deny,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
) -> RuleResponse {
    let r = resolver(env, ctx, Mode::Strict);
    let outcome = match &deny.conditions {
        Some(c) => conditions::evaluate_block(c, &r),
        None => conditions::evaluate(&Default::default(), &r),
    };
    match outcome {
        Err(e) => response(
            v,
            RuleStatus::Error,
            format!("failed to check deny conditions: {e}"),
        ),
        Ok((false, _)) => response(v, RuleStatus::Pass, pass_message(v)),
        Ok((true, _)) => {
            let msg = match message_text(v, env, ctx) {
                Ok(Some(m)) => m,
                Ok(None) => format!("validation error: rule {} failed", v.rule_name),
                Err(_) => v.message.unwrap_or_default().to_string(),
            };
            response(v, RuleStatus::Fail, msg)
        }
    }
}

fn validate_patterns(v: &Validator<'_>, env: &EvalEnv<'_>, ctx: &EvalContext) -> RuleResponse {
    let r = resolver(env, ctx, Mode::Strict);
    let substitution_failed = |e: crate::variables::VarError| {
        response(
            v,
            RuleStatus::Error,
            format!("variable substitution failed: {e}"),
        )
    };
    // A rule's own pattern without variables was prepared when the policy was compiled.
    let pattern = match v.pattern {
        None => None,
        Some(p) => match env.cache.pattern(p) {
            Some(prepared) => Some(Cow::Borrowed(prepared)),
            None => match substitute_all(p, &r) {
                Ok(s) => Some(Cow::Owned(CompiledPattern::new(&s))),
                Err(e) => return substitution_failed(e),
            },
        },
    };
    let any_pattern = match v.any_pattern {
        None => None,
        Some(ap) if all_prepared(ap, env) => Some(AnyPatterns::Prepared(ap)),
        Some(ap) => match substitute_all(ap, &r) {
            Ok(s) => Some(AnyPatterns::Substituted(s)),
            Err(e) => return substitution_failed(e),
        },
    };
    let resource = match v.element.or(v.resource) {
        Some(e) => e,
        None => ctx.resource(),
    };
    if let Some(pattern) = &pattern {
        return match pattern.matches(resource) {
            Ok(()) => response(v, RuleStatus::Pass, pass_message(v)),
            Err(e) => match e.kind {
                Mismatch::Skip => response(v, RuleStatus::Skip, e.message),
                Mismatch::Error => response(
                    v,
                    RuleStatus::Error,
                    error_message(v, env, ctx, &e.message, ""),
                ),
                Mismatch::Fail => response(
                    v,
                    RuleStatus::Fail,
                    error_message(v, env, ctx, &e.message, &e.path),
                ),
            },
        };
    }
    match &any_pattern {
        // Prepared patterns are read in place (no list of them built per request).
        Some(AnyPatterns::Prepared(Value::Array(items))) => any_patterns(
            v,
            resource,
            items.iter().filter_map(|p| env.cache.pattern(p)),
        ),
        Some(AnyPatterns::Substituted(s)) if s.is_array() => {
            let patterns: Vec<CompiledPattern> = s
                .as_array()
                .into_iter()
                .flatten()
                .map(CompiledPattern::new)
                .collect();
            any_patterns(v, resource, patterns.iter())
        }
        _ => response(
            v,
            RuleStatus::Error,
            "failed to deserialize anyPattern, expected type array",
        ),
    }
}

/// The outcome of an anyPattern list on `resource`.
fn any_patterns<'p>(
    v: &Validator<'_>,
    resource: &Value,
    patterns: impl Iterator<Item = &'p CompiledPattern>,
) -> RuleResponse {
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for (i, p) in patterns.enumerate() {
        match p.matches(resource) {
            Ok(()) => {
                return response(v, RuleStatus::Pass, any_passed(v.rule_name, i));
            }
            Err(e) if e.kind == Mismatch::Skip => {
                skipped.push(format!("rule {}[{i}] skipped: {}", v.rule_name, e.message));
            }
            Err(e) if e.path.is_empty() => {
                failed.push(format!("rule {}[{i}] failed: {}", v.rule_name, e.message))
            }
            Err(e) => failed.push(format!(
                "rule {}[{i}] failed at path {}",
                v.rule_name, e.path
            )),
        }
    }
    if !failed.is_empty() {
        let joined = failed.join(" ");
        let msg = match v.message.filter(|m| !m.is_empty()) {
            None => format!("validation error: {joined}"),
            Some(m) if m.ends_with('.') => format!("validation error: {m} {joined}"),
            Some(m) => format!("validation error: {m}. {joined}"),
        };
        return response(v, RuleStatus::Fail, msg);
    }
    if !skipped.is_empty() {
        return response(v, RuleStatus::Skip, skipped.join(" "));
    }
    response(
        v,
        RuleStatus::Pass,
        v.message.unwrap_or_default().to_string(),
    )
}

/// Kyverno's message for an anyPattern rule whose pattern `i` passed, built without the
/// formatting machinery like [`passed`] (the formatted one cost ~670 instructions).
fn any_passed(rule: &str, i: usize) -> String {
    let mut s = String::with_capacity(rule.len() + 40);
    s.push_str("validation rule '");
    s.push_str(rule);
    s.push_str("' anyPattern[");
    match u8::try_from(i) {
        Ok(d @ 0..=9) => s.push(char::from(b'0' + d)),
        _ => s.push_str(&i.to_string()),
    }
    s.push_str("] passed.");
    s
}

/// An anyPattern list: prepared when the policy was compiled (the list as written, every
/// item prepared), or substituted now.
enum AnyPatterns<'a> {
    Prepared(&'a Value),
    Substituted(Cow<'a, Value>),
}

/// True when `any` is a list whose every pattern was prepared.
fn all_prepared(any: &Value, env: &EvalEnv<'_>) -> bool {
    match any {
        Value::Array(items) => items.iter().all(|p| env.cache.pattern(p).is_some()),
        _ => false,
    }
}

fn error_message(
    v: &Validator<'_>,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
    err: &str,
    path: &str,
) -> String {
    match message_text(v, env, ctx) {
        Ok(None) if !path.is_empty() => format!(
            "validation error: rule {} failed at path {path}",
            v.rule_name
        ),
        Ok(None) => format!(
            "validation error: rule {} execution error: {err}",
            v.rule_name
        ),
        Ok(Some(mut m)) => {
            if !m.ends_with('.') {
                m.push('.');
            }
            if path.is_empty() {
                format!(
                    "validation error: {m} rule {} execution error: {err}",
                    v.rule_name
                )
            } else {
                format!(
                    "validation error: {m} rule {} failed at path {path}",
                    v.rule_name
                )
            }
        }
        Err(_) => format!(
            "validation error: variables substitution error in rule {} execution error: {err}",
            v.rule_name
        ),
    }
}

fn validate_foreach(
    v: &Validator<'_>,
    foreach: &[ForEachValidation],
    env: &EvalEnv<'_>,
    ctx: &mut EvalContext,
) -> RuleResponse {
    let mut applied = 0;
    for f in foreach {
        let passed = if is_static(f, env) {
            static_elements(v, f, env, ctx)
        } else {
            None
        };
        let (resp, count) = match passed {
            Some(outcome) => outcome,
            None => {
                let Ok(elements) = evaluate_list(&f.list, env, ctx) else {
                    continue;
                };
                validate_elements(v, f, &elements, env, ctx)
            }
        };
        if resp.status != RuleStatus::Pass {
            return resp;
        }
        applied += count;
    }
    if applied == 0 {
        return response(v, RuleStatus::Skip, "rule skipped");
    }
    response(v, RuleStatus::Pass, "rule passed")
}

/// A static foreach block (see [`is_static`]) run on its list's elements where they are,
/// without copying them into the context: when every element passes or is skipped, the
/// outcome and the number of elements applied. `None` otherwise (the list cannot be read, an
/// element fails or errs, ...): nothing was changed, and the general path decides and words
/// the outcome.
fn static_elements(
    v: &Validator<'_>,
    f: &ForEachValidation,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
) -> Option<(RuleResponse, usize)> {
    // A list compiled with the policy is read from the document directly (not on DELETE,
    // whose list reads `request.oldObject` instead); an error is left to the general path,
    // which words it.
    if !ctx.is_delete()
        && let Some(expr) = env.cache.foreach_list(&f.list)
        && let Ok(found) = jp::search_items(expr, ctx.root(), env.clock)
    {
        let items: Vec<&Value> = match &found {
            Found::One(item) => vec![item.as_ref()],
            Found::List(items) => items.iter().map(AsRef::as_ref).collect(),
        };
        return run_static(v, f, env, ctx, items);
    }
    let expr = list_expression(&f.list, ctx);
    ctx.query_items(env.cache, &expr, env.clock, |found| {
        let items: Vec<&Value> = match &found {
            Found::One(item) => vec![item.as_ref()],
            Found::List(items) => items.iter().map(AsRef::as_ref).collect(),
        };
        run_static(v, f, env, ctx, items)
    })
    .ok()
    .flatten()
}

/// [`static_elements`] on the list's elements.
fn run_static(
    v: &Validator<'_>,
    f: &ForEachValidation,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
    items: Vec<&Value>,
) -> Option<(RuleResponse, usize)> {
    let mut applied = 0;
    for element in items {
        if element.is_null() {
            continue;
        }
        let scoped = match f.element_scope {
            Some(true) if !element.is_object() => return None,
            Some(s) => s,
            None => element.is_object(),
        };
        let inner = element_validator(v, f, scoped.then_some(element));
        match run_checks(&inner, env, ctx)?.status {
            RuleStatus::Skip => {}
            RuleStatus::Pass => applied += 1,
            _ => return None,
        }
    }
    Some((response(v, RuleStatus::Pass, ""), applied))
}

/// A foreach `list` as the expression to query.
fn list_expression<'l>(list: &'l str, ctx: &EvalContext) -> Cow<'l, str> {
    let expr = list.trim();
    let expr = expr
        .strip_prefix("{{")
        .and_then(|e| e.strip_suffix("}}"))
        .unwrap_or(expr)
        .trim();
    if ctx.is_delete() {
        Cow::Owned(expr.replace("request.object", "request.oldObject"))
    } else {
        Cow::Borrowed(expr)
    }
}

/// Evaluates a foreach `list`; a non-list result is a list of one.
pub(crate) fn evaluate_list(
    list: &str,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
) -> Result<Vec<Value>, String> {
    let expr = list_expression(list, ctx);
    match ctx.query(env.cache, &expr, env.clock) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(other) => Ok(vec![other]),
        Err(e) => Err(e.to_string()),
    }
}

fn validate_elements(
    v: &Validator<'_>,
    f: &ForEachValidation,
    elements: &[Value],
    env: &EvalEnv<'_>,
    ctx: &mut EvalContext,
) -> (RuleResponse, usize) {
    let checkpoint = ctx.checkpoint();
    let mut applied = 0;
    let last = elements.len().saturating_sub(1);
    // A block without variables cannot read the element variables: they are set (copying the
    // element twice) only to word a failure (see below).
    let lazy = is_static(f, env);
    let set_variables = |ctx: &mut EvalContext, element: &Value, index: usize| {
        ctx.restore(checkpoint);
        add_element(ctx, element, index, v.nesting);
        for (k, val) in env
            .source
            .foreach_values(env.policy_name, v.rule_name, index)
        {
            ctx.set(&k, val);
        }
    };
    for (index, element) in elements.iter().enumerate() {
        if element.is_null() {
            continue;
        }
        if lazy {
            ctx.restore(checkpoint);
        } else {
            set_variables(ctx, element, index);
        }
        let scoped = match f.element_scope {
            Some(true) if !element.is_object() => {
                ctx.restore(checkpoint);
                let msg = format!(
                    "failed to process foreach: cannot use elementScope=true foreach rules for elements that are not maps, expected type=map got type={}",
                    crate::value::go_type(element)
                );
                return (response(v, RuleStatus::Error, msg), applied);
            }
            Some(s) => s,
            None => element.is_object(),
        };
        let inner = element_validator(v, f, scoped.then_some(element));
        let mut r = run(&inner, env, ctx);
        if lazy && !matches!(r.status, RuleStatus::Pass | RuleStatus::Skip) {
            // Same outcome with the variables set, and the message can name the element.
            set_variables(ctx, element, index);
            r = run(&inner, env, ctx);
        }
        match r.status {
            RuleStatus::Skip => continue,
            RuleStatus::Pass => applied += 1,
            RuleStatus::Error if index < last => continue,
            status => {
                ctx.restore(checkpoint);
                return (
                    response(v, status, format!("validation failure: {}", r.message)),
                    applied,
                );
            }
        }
    }
    ctx.restore(checkpoint);
    (response(v, RuleStatus::Pass, ""), applied)
}

/// True when nothing in a foreach block reads variables: no context entries, no nested
/// foreach, patterns prepared at compile time (so without variables), and conditions without
/// variables (messages included).
fn is_static(f: &ForEachValidation, env: &EvalEnv<'_>) -> bool {
    let static_conditions = |c: Option<&Conditions>| {
        let (any, all) = match c {
            None => return true,
            Some(Conditions::AnyAll(a)) => (a.any.as_deref(), a.all.as_deref()),
            Some(Conditions::List(l)) => (None, Some(l.as_slice())),
        };
        any.into_iter().chain(all).flatten().all(|c| {
            !has_variables(&c.key)
                && !has_variables(&c.value)
                && c.message
                    .as_deref()
                    .is_none_or(|m| !crate::variables::text_has_variables(m))
        })
    };
    let prepared = |p: Option<&Value>| p.is_none_or(|p| env.cache.pattern(p).is_some());
    let prepared_any = |p: Option<&Value>| match p {
        None => true,
        Some(Value::Array(items)) => items.iter().all(|p| env.cache.pattern(p).is_some()),
        Some(_) => false,
    };
    f.context.as_ref().is_none_or(Vec::is_empty)
        && f.foreach.is_none()
        && prepared(f.pattern.as_ref())
        && prepared_any(f.any_pattern.as_ref())
        && static_conditions(f.preconditions.as_ref())
        && static_conditions(f.deny.as_ref().and_then(|d| d.conditions.as_ref()))
}

/// Sets `element`, `elementN`, `elementIndex` and `elementIndexN`.
pub(crate) fn add_element(ctx: &mut EvalContext, element: &Value, index: usize, nesting: usize) {
    // The usual nesting levels are named without formatting (this runs for every element).
    const ELEMENT: [&str; 4] = ["element0", "element1", "element2", "element3"];
    const INDEX: [&str; 4] = [
        "elementIndex0",
        "elementIndex1",
        "elementIndex2",
        "elementIndex3",
    ];
    ctx.set("element", element.clone());
    match ELEMENT.get(nesting) {
        Some(name) => ctx.set(name, element.clone()),
        None => ctx.set(&format!("element{nesting}"), element.clone()),
    }
    ctx.set("elementIndex", Value::from(index as i64));
    match INDEX.get(nesting) {
        Some(name) => ctx.set(name, Value::from(index as i64)),
        None => ctx.set(&format!("elementIndex{nesting}"), Value::from(index as i64)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::{RuleStatus, compile, validate_resource};

    #[test]
    fn any_pattern_pass_messages_read_as_kyverno_formats_them() {
        for i in [0, 1, 9, 10, 11, 255, 256, 1234] {
            assert_eq!(
                super::any_passed("run-as-non-root", i),
                format!("validation rule 'run-as-non-root' anyPattern[{i}] passed.")
            );
        }
    }

    fn foreach_policy(foreach: Value) -> crate::CompiledPolicy {
        compile(
            serde_json::from_value(json!({
                "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                "metadata": {"name": "p"},
                "spec": {"rules": [{
                    "name": "r",
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": {"message": "container {{ element.name }} is privileged",
                                 "foreach": [foreach]}
                }]}
            }))
            .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn rules_past_the_first_64_are_matched_too() {
        let rules: Vec<Value> = (0..70)
            .map(|i| {
                let kind = if [3, 63, 64, 69].contains(&i) {
                    "Pod"
                } else {
                    "Service"
                };
                json!({"name": format!("r{i}"),
                       "match": {"any": [{"resources": {"kinds": [kind]}}]},
                       "validate": {"pattern": {"metadata": {"name": "?*"}}}})
            })
            .collect();
        let policy = compile(
            serde_json::from_value(json!({
                "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                "metadata": {"name": "many"}, "spec": {"rules": rules}
            }))
            .unwrap(),
        )
        .unwrap();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        let r = validate_resource(&policy, pod);
        let names: Vec<&str> = r.rules.iter().map(|r| &*r.name).collect();
        assert_eq!(names, ["r3", "r63", "r64", "r69"]);
    }

    #[test]
    fn static_foreach_blocks_word_failures_with_the_element() {
        let pod = |privileged: bool| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": [
                       {"name": "ok", "securityContext": {"privileged": false}},
                       {"name": "bad", "securityContext": {"privileged": privileged}}]}})
        };
        // A pattern without variables (elements not copied into the context on success), and
        // a deny that reads the element (the general path): same outcomes and messages.
        for foreach in [
            json!({"list": "request.object.spec.containers",
                   "pattern": {"securityContext": {"privileged": false}}}),
            json!({"list": "request.object.spec.containers",
                   "deny": {"conditions": {"any": [{"key": "{{ element.securityContext.privileged }}",
                                                    "operator": "Equals", "value": true}]}}}),
        ] {
            let policy = foreach_policy(foreach);
            let r = validate_resource(&policy, pod(false));
            assert_eq!(r.rules[0].status, RuleStatus::Pass);
            let r = validate_resource(&policy, pod(true));
            assert_eq!(r.rules[0].status, RuleStatus::Fail);
            assert!(
                r.rules[0].message.contains("container bad is privileged"),
                "{}",
                r.rules[0].message
            );
        }
    }
}
