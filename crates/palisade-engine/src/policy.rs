//! Compiling a policy: autogen rules added, and everything that can be checked before any
//! resource is seen (operators, JMESPath, selectors, podSecurity levels) checked once.

use std::sync::{Arc, LazyLock};

use palisade_api::validate::ForEachValidation;
use palisade_api::{Conditions, FailureAction, Policy, Rule};
use regex::Regex;
use serde_json::Value;

use crate::autogen;
use crate::context::ExprCache;
use crate::matching::validate_selector;
use crate::operators::Operator;
use crate::validate::pattern::CompiledPattern;
use crate::variables::has_variables;

/// A policy that failed to compile, with the field path of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CompileError {
    /// Field path, e.g. `spec.rules[2].validate.deny.conditions.any[0].operator`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A policy ready to evaluate.
#[derive(Debug)]
pub struct CompiledPolicy {
    /// The policy as written.
    pub policy: Arc<Policy>,
    /// The rules to evaluate: the policy's own, then those autogen adds. Not to be modified
    /// after compiling: the prepared patterns in `cache` are found by their address here (a
    /// pattern that is not found is prepared again, so a copy of a rule still evaluates).
    pub rules: Vec<Rule>,
    /// Compiled JMESPath expressions, shared by all evaluations.
    pub cache: ExprCache,
}

impl CompiledPolicy {
    /// The name reports use: `namespace/name` for a namespaced Policy.
    pub fn name(&self) -> String {
        self.policy.report_name()
    }

    /// [`CompiledPolicy::name`], shared: computed once when compiling (computed again if
    /// `policy` was replaced since).
    pub fn shared_name(&self) -> Arc<str> {
        match self.cache.report_name(&self.policy) {
            Some(name) => name.clone(),
            None => Arc::from(self.policy.report_name()),
        }
    }

    /// The namespace a namespaced Policy is confined to.
    pub fn namespace(&self) -> Option<&str> {
        if self.policy.is_namespaced() {
            self.policy.metadata.namespace.as_deref()
        } else {
            None
        }
    }

    /// The failure action of a validate rule before namespace overrides.
    pub fn failure_action(&self, rule: &Rule) -> FailureAction {
        rule.validate
            .as_ref()
            .and_then(|v| v.failure_action)
            .or(self.policy.spec.validation_failure_action)
            .unwrap_or(FailureAction::Audit)
    }

    /// True when `applyRules: One`.
    pub fn apply_one(&self) -> bool {
        self.policy.spec.apply_rules.as_deref() == Some("One")
    }

    /// False when the policy is annotated `policies.kyverno.io/scored: "false"`: its failures
    /// are reported as warnings.
    pub fn scored(&self) -> bool {
        self.policy
            .metadata
            .annotations
            .get("policies.kyverno.io/scored")
            .is_none_or(|v| v != "false")
    }

    /// True when the policy applies in background scans (default true).
    pub fn background(&self) -> bool {
        self.policy.spec.background.unwrap_or(true)
    }
}

/// Compiles a policy.
pub fn compile(policy: Policy) -> Result<CompiledPolicy, CompileError> {
    let mut cache = ExprCache::default();
    let mut names = std::collections::BTreeSet::new();
    for (i, rule) in policy.spec.rules.iter().enumerate() {
        let path = format!("spec.rules[{i}]");
        if !names.insert(rule.name.as_str()) {
            return Err(err(
                format!("{path}.name"),
                format!("duplicate rule name {:?}", rule.name),
            ));
        }
        check_rule(rule, &path, &cache)?;
    }
    let controllers = autogen::controllers(&policy);
    let mut rules = policy.spec.rules.clone();
    for rule in &policy.spec.rules {
        rules.extend(autogen::generate(rule, &controllers));
    }
    crate::background::check(&policy, &rules)?;
    // After the last change to `rules`: the cache finds patterns by their address in it.
    cache.set_patterns(prepare_patterns(&rules));
    cache.set_rule_kinds(&rules);
    let conditions = crate::conditions::prepared::prepare(&rules, &cache);
    cache.set_conditions(conditions);
    cache.set_entry_paths(&rules);
    cache.set_foreach_lists(&rules);
    cache.set_plain_patches(&rules);
    let policy = Arc::new(policy);
    cache.set_report_name(&policy);
    Ok(CompiledPolicy {
        policy,
        rules,
        cache,
    })
}

/// Prepares every validate pattern without variables (they are the same on every request),
/// keyed by the pattern's address.
fn prepare_patterns(rules: &[Rule]) -> Vec<(usize, CompiledPattern)> {
    fn add(out: &mut Vec<(usize, CompiledPattern)>, pattern: Option<&Value>, any: Option<&Value>) {
        let items = match any {
            Some(Value::Array(items)) => items.as_slice(),
            _ => &[],
        };
        for p in pattern.into_iter().chain(items) {
            if !has_variables(p) {
                out.push((std::ptr::from_ref(p).addr(), CompiledPattern::new(p)));
            }
        }
    }
    fn foreach(out: &mut Vec<(usize, CompiledPattern)>, list: &[ForEachValidation]) {
        for f in list {
            add(out, f.pattern.as_ref(), f.any_pattern.as_ref());
            foreach(out, f.foreach.as_deref().unwrap_or_default());
        }
    }
    let mut out = Vec::new();
    for v in rules.iter().filter_map(|r| r.validate.as_ref()) {
        add(&mut out, v.pattern.as_ref(), v.any_pattern.as_ref());
        foreach(&mut out, v.foreach.as_deref().unwrap_or_default());
    }
    out
}

fn err(path: String, message: impl Into<String>) -> CompileError {
    CompileError {
        path,
        message: message.into(),
    }
}

fn check_rule(rule: &Rule, path: &str, cache: &ExprCache) -> Result<(), CompileError> {
    if rule.name.is_empty() {
        return Err(err(format!("{path}.name"), "a rule needs a name"));
    }
    if rule.name.len() > 63 {
        return Err(err(
            format!("{path}.name"),
            "a rule name must be at most 63 characters",
        ));
    }
    let kinds = [
        rule.validate.is_some(),
        rule.mutate.is_some(),
        rule.generate.is_some(),
        rule.verify_images.is_some(),
    ];
    match kinds.iter().filter(|k| **k).count() {
        1 => {}
        0 => {
            return Err(err(
                path.to_string(),
                "a rule needs one of validate, mutate, generate or verifyImages",
            ));
        }
        _ => {
            return Err(err(
                path.to_string(),
                "a rule can have only one of validate, mutate, generate or verifyImages",
            ));
        }
    }
    if rule.match_.is_empty() {
        return Err(err(
            format!("{path}.match"),
            "match cannot be empty: set resources, any or all",
        ));
    }
    check_selectors(&rule.match_, &format!("{path}.match"))?;
    if let Some(e) = &rule.exclude {
        check_selectors(e, &format!("{path}.exclude"))?;
    }
    if let Some(p) = &rule.preconditions {
        check_conditions(p, &format!("{path}.preconditions"))?;
    }
    if let Some(v) = &rule.validate {
        check_validate(v, &format!("{path}.validate"))?;
        // CEL is parsed and type-checked when the policy loads, not at its first request.
        if v.cel.is_some() {
            crate::validate::cel::check(rule, path).map_err(|(at, e)| err(at, e))?;
        }
    }
    for (i, entry) in rule.context.iter().flatten().enumerate() {
        let p = format!("{path}.context[{i}]");
        let sources = [
            entry.config_map.is_some(),
            entry.api_call.is_some(),
            entry.image_registry.is_some(),
            entry.variable.is_some(),
            entry.global_reference.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(err(
                p,
                "a context entry needs exactly one of configMap, apiCall, imageRegistry, variable or globalReference",
            ));
        }
        let jmes = entry
            .variable
            .as_ref()
            .and_then(|v| v.jmes_path.as_deref())
            .or(entry.api_call.as_ref().and_then(|a| a.jmes_path.as_deref()))
            .or(entry
                .global_reference
                .as_ref()
                .and_then(|g| g.jmes_path.as_deref()))
            .or(entry
                .image_registry
                .as_ref()
                .and_then(|g| g.jmes_path.as_deref()));
        if let Some(expr) = jmes.filter(|e| !e.contains("{{")) {
            cache.get(expr).map_err(|m| {
                err(
                    format!("{p}.jmesPath"),
                    format!("invalid JMESPath {expr:?}: {m}"),
                )
            })?;
        }
    }
    // Every `{{ }}` expression in the rule must parse.
    let value = serde_json::to_value(rule).map_err(|e| err(path.to_string(), e.to_string()))?;
    check_variables(&value, path, cache)
}

fn check_selectors(m: &palisade_api::MatchResources, path: &str) -> Result<(), CompileError> {
    let filters = m
        .legacy_filter()
        .into_iter()
        .chain(m.any.iter().flatten().cloned())
        .chain(m.all.iter().flatten().cloned());
    for f in filters {
        for sel in f
            .resources
            .selector
            .iter()
            .chain(f.resources.namespace_selector.iter())
        {
            validate_selector(sel)
                .map_err(|m| err(path.to_string(), format!("invalid label selector: {m}")))?;
        }
        for op in f.resources.operations.iter().flatten() {
            if !matches!(op.as_str(), "CREATE" | "UPDATE" | "DELETE" | "CONNECT") {
                return Err(err(
                    path.to_string(),
                    format!("invalid operation {op:?}: expected CREATE, UPDATE, DELETE or CONNECT"),
                ));
            }
        }
    }
    Ok(())
}

fn check_conditions(c: &Conditions, path: &str) -> Result<(), CompileError> {
    let (blocks, any_all) = match c {
        Conditions::AnyAll(a) => (vec![("any", a.any.as_ref()), ("all", a.all.as_ref())], true),
        Conditions::List(list) => (vec![("", Some(list))], false),
    };
    for (name, list) in blocks {
        for (i, cond) in list.into_iter().flatten().enumerate() {
            let p = if any_all {
                format!("{path}.{name}[{i}]")
            } else {
                format!("{path}[{i}]")
            };
            let Some(op) = Operator::parse(&cond.operator) else {
                let valid: Vec<&str> = crate::operators::OPERATORS
                    .iter()
                    .map(|(_, n, _)| *n)
                    .collect();
                return Err(err(
                    format!("{p}.operator"),
                    format!(
                        "unknown operator {:?}; expected one of {}",
                        cond.operator,
                        valid.join(", ")
                    ),
                ));
            };
            if matches!(
                op,
                Operator::DurationGreaterThan
                    | Operator::DurationGreaterThanOrEquals
                    | Operator::DurationLessThan
                    | Operator::DurationLessThanOrEquals
            ) && let Value::String(s) = &cond.value
                && !s.contains("{{")
                && palisade_primitives::duration::parse_duration(s).is_err()
            {
                return Err(err(format!("{p}.value"), format!("invalid duration {s:?}")));
            }
        }
    }
    Ok(())
}

fn check_validate(v: &palisade_api::validate::Validation, path: &str) -> Result<(), CompileError> {
    let any = v.pattern.is_some()
        || v.any_pattern.is_some()
        || v.deny.is_some()
        || v.foreach.is_some()
        || v.pod_security.is_some()
        || v.cel.is_some()
        || v.manifests.is_some()
        || v.assert.is_some();
    if !any {
        return Err(err(
            path.to_string(),
            "validate needs one of pattern, anyPattern, deny, foreach, podSecurity, cel, manifests or assert",
        ));
    }
    if let Some(ap) = &v.any_pattern
        && !ap.is_array()
    {
        return Err(err(
            format!("{path}.anyPattern"),
            "anyPattern must be a list of patterns",
        ));
    }
    if let Some(c) = v.deny.as_ref().and_then(|d| d.conditions.as_ref()) {
        check_conditions(c, &format!("{path}.deny.conditions"))?;
    }
    for (i, f) in v.foreach.iter().flatten().enumerate() {
        check_foreach(f, &format!("{path}.foreach[{i}]"))?;
    }
    if let Some(ps) = &v.pod_security {
        let level = ps.level.as_deref().unwrap_or("baseline");
        level
            .parse::<palisade_pss::Level>()
            .map_err(|e| err(format!("{path}.podSecurity.level"), e.to_string()))?;
        let version = ps.version.as_deref().unwrap_or("latest");
        version
            .parse::<palisade_pss::Version>()
            .map_err(|e| err(format!("{path}.podSecurity.version"), e.to_string()))?;
    }
    Ok(())
}

fn check_foreach(
    f: &palisade_api::validate::ForEachValidation,
    path: &str,
) -> Result<(), CompileError> {
    if let Some(p) = &f.preconditions {
        check_conditions(p, &format!("{path}.preconditions"))?;
    }
    if let Some(c) = f.deny.as_ref().and_then(|d| d.conditions.as_ref()) {
        check_conditions(c, &format!("{path}.deny.conditions"))?;
    }
    let list = f.list.trim();
    if list.is_empty() {
        return Err(err(
            format!("{path}.list"),
            "foreach needs a list expression",
        ));
    }
    if !list.contains("{{") {
        crate::jp::compile(list).map_err(|m| {
            err(
                format!("{path}.list"),
                format!("invalid JMESPath {list:?}: {m}"),
            )
        })?;
    }
    for (i, nested) in f.foreach.iter().flatten().enumerate() {
        check_foreach(nested, &format!("{path}.foreach[{i}]"))?;
    }
    Ok(())
}

static INNERMOST: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\{\{((?:\{[^{}]*\}|[^{}])*)\}\}").ok());

/// Compiles every innermost `{{ }}` expression found in string values and keys.
fn check_variables(v: &Value, path: &str, cache: &ExprCache) -> Result<(), CompileError> {
    match v {
        Value::String(s) => check_string(s, path, cache),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_variables(item, &format!("{path}[{i}]"), cache)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, item) in map {
                let p = format!("{path}.{k}");
                check_string(k, &p, cache)?;
                check_variables(item, &p, cache)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_string(s: &str, path: &str, cache: &ExprCache) -> Result<(), CompileError> {
    if !s.contains("{{") {
        return Ok(());
    }
    let Some(re) = INNERMOST.as_ref() else {
        return Ok(());
    };
    for caps in re.captures_iter(s) {
        let whole = caps.get(0).map_or("", |m| m.as_str());
        if let Some(start) = caps.get(0).map(|m| m.start())
            && start > 0
            && s.as_bytes().get(start - 1) == Some(&b'\\')
        {
            continue;
        }
        let expr = caps.get(1).map_or("", |m| m.as_str()).trim();
        // The regex matches innermost variables only; outer ones are built at evaluation time.
        if expr.is_empty() {
            continue;
        }
        cache.get(expr).map_err(|m| {
            err(
                path.to_string(),
                format!("invalid JMESPath in variable {whole:?}: {m}"),
            )
        })?;
    }
    Ok(())
}
