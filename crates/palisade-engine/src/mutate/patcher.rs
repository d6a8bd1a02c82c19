//! Applying one mutation (`patchStrategicMerge` or `patchesJson6902`) to one resource, after
//! variable substitution, as Kyverno's `mutate.Mutate` and `mutate.ForEach` do.

use palisade_patch::json6902::Patch;
use palisade_patch::{ConditionMatcher, Preprocessed, anchors, strategic_merge_traced};
use serde_json::Value;
use std::borrow::Cow;
use std::cell::RefCell;

use crate::validate::pattern::CompiledPattern;
use crate::variables::{Resolver, substitute_all};

/// What a patch did to the resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The resource changed.
    Changed(Value),
    /// The resource is the same (the message says why, e.g. a conditional anchor failed).
    Unchanged(String),
}

/// Kyverno's anchor conditions are validate patterns (`validate.MatchPattern`). The patterns of
/// the policy's own condition anchors are prepared with the policy and found by value; any other
/// (after variable substitution) is prepared here, and the last one is kept and reused while the
/// pattern is equal (a list template's condition is matched against every element).
struct PatternMatcher<'p> {
    prepared: &'p [(Value, CompiledPattern)],
    last: RefCell<Option<(Value, CompiledPattern)>>,
}

impl<'p> PatternMatcher<'p> {
    fn new(prepared: &'p [(Value, CompiledPattern)]) -> Self {
        PatternMatcher {
            prepared,
            last: RefCell::new(None),
        }
    }
}

impl ConditionMatcher for PatternMatcher<'_> {
    fn matches(&self, resource_value: &Value, pattern: &Value) -> Result<bool, String> {
        if let Some((_, compiled)) = self.prepared.iter().find(|(p, _)| p == pattern) {
            return Ok(compiled.matches(resource_value).is_ok());
        }
        let mut last = self.last.borrow_mut();
        let compiled = match &mut *last {
            Some((p, compiled)) if p == pattern => compiled,
            slot => {
                &mut slot
                    .insert((pattern.clone(), CompiledPattern::new(pattern)))
                    .1
            }
        };
        Ok(compiled.matches(resource_value).is_ok())
    }
}

/// The values of the condition anchors (`(key)`, `<(key)`) in the rules' strategic merge
/// patches, prepared once with the policy. Scalars other than strings reach the matcher as
/// their text, so only strings, maps and lists are kept (the rest is prepared per request).
pub(crate) fn anchor_patterns(rules: &[palisade_api::Rule]) -> Vec<(Value, CompiledPattern)> {
    fn is_condition_key(k: &str) -> bool {
        let inner = k.strip_prefix('<').unwrap_or(k);
        inner.len() > 2 && inner.starts_with('(') && inner.ends_with(')')
    }
    fn collect(v: &Value, out: &mut Vec<(Value, CompiledPattern)>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    let kept = matches!(c, Value::String(_) | Value::Object(_) | Value::Array(_));
                    if is_condition_key(k) && kept && !out.iter().any(|(p, _)| p == c) {
                        out.push((c.clone(), CompiledPattern::new(c)));
                    }
                    collect(c, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|c| collect(c, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for patch in rules
        .iter()
        .filter_map(|r| r.mutate.as_ref()?.patch_strategic_merge.as_ref())
    {
        collect(patch, &mut out);
    }
    out
}

/// Applies the strategic merge patch, or else the JSON patch, to `resource`. The patch's
/// variables are substituted first (an unresolvable variable is an error). A patch that leaves
/// the resource as it was is [`Applied::Unchanged`]; `Err` carries Kyverno's reason.
pub fn apply(
    resource: &Value,
    strategic: Option<&Value>,
    json_patch: Option<&str>,
    r: &Resolver<'_>,
) -> Result<Applied, String> {
    apply_traced(resource, strategic, json_patch, r).map(|(applied, _)| applied)
}

/// As [`apply`], also telling whether the result differs from `resource` only under the keys
/// of the strategic merge patch's prepared anchors (see `palisade_patch::diff_guided`).
pub(crate) fn apply_traced(
    resource: &Value,
    strategic: Option<&Value>,
    json_patch: Option<&str>,
    r: &Resolver<'_>,
) -> Result<(Applied, bool), String> {
    let (patched, guided) = match (strategic, json_patch) {
        (Some(patch), _) => match apply_strategic(resource, patch, r)? {
            Ok(v) => v,
            Err(reason) => return Ok((Applied::Unchanged(reason), false)),
        },
        (None, Some(text)) if !text.is_empty() => (apply_json(resource, text, r)?, false),
        _ => return Err("empty mutate rule".to_string()),
    };
    if patched == *resource {
        Ok((Applied::Unchanged("no patches applied".to_string()), false))
    } else {
        Ok((Applied::Changed(patched), guided))
    }
}

/// The merged resource and whether it came from the prepared anchors with an undisturbed
/// merge, or `Err(reason)` inside when an anchor condition did not hold.
fn apply_strategic(
    resource: &Value,
    patch: &Value,
    r: &Resolver<'_>,
) -> Result<Result<(Value, bool), String>, String> {
    // A patch compiled without variables is used as it is, without searching it again; its
    // anchors may be prepared, so only what the patch keeps is built.
    let matcher = PatternMatcher::new(r.cache.anchor_patterns());
    let plain = r.cache.plain_patch(patch);
    let api_version = resource
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = resource
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // The prepared anchors merge as they are resolved where they can (no patch is built);
    // otherwise they give the patch, and the merge follows.
    if let Some(merged) = plain
        .flatten()
        .and_then(|plan| plan.merge(resource, &matcher, api_version, kind))
    {
        return Ok(Ok(merged));
    }
    let prepared = plain
        .flatten()
        .and_then(|plan| plan.preprocess(resource, &matcher));
    let from_plan = prepared.is_some();
    let preprocessed = match prepared {
        Some(p) => Ok(p),
        None => {
            let patch = if plain.is_some() {
                Cow::Borrowed(patch)
            } else {
                substitute_all(patch, r)
                    .map_err(|e| format!("variable substitution failed: {e}"))?
            };
            anchors::preprocess(resource, &patch, &matcher)
        }
    };
    let patch = match preprocessed {
        Ok(Preprocessed::Patch(p)) => p,
        Ok(Preprocessed::Skip { reason }) => {
            return Ok(Err(format!("no patches applied: {reason}")));
        }
        Err(e) => return Err(format!("failed to patch resource: {e}")),
    };
    // The preprocessed patch is this request's own copy: its content moves into the result.
    strategic_merge_traced(resource.clone(), patch, api_version, kind)
        .map(|(merged, undisturbed)| Ok((merged, from_plan && undisturbed)))
        .map_err(|e| format!("failed to patch resource: {e}"))
}

fn apply_json(resource: &Value, text: &str, r: &Resolver<'_>) -> Result<Value, String> {
    let raw = Value::String(text.to_string());
    let substituted =
        substitute_all(&raw, r).map_err(|e| format!("variable substitution failed: {e}"))?;
    let text = match substituted.as_ref() {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let ops = parse_operations(&text)
        .map_err(|e| format!("failed to patch resource: failed to decode patches: {e}"))?;
    let patch = Patch::from_value(&ops)
        .map_err(|e| format!("failed to patch resource: failed to decode patches: {e}"))?;
    patch
        .apply(resource)
        .map_err(|e| format!("failed to patch resource: {e}"))
}

/// Kyverno's `patchesJson6902` is JSON when it starts with `[`, YAML otherwise.
fn parse_operations(text: &str) -> Result<Value, String> {
    if text.starts_with('[')
        && let Ok(v) = serde_json::from_str(text)
    {
        return Ok(v);
    }
    let docs = palisade_yaml::parse_documents(text, &palisade_yaml::Options::default())
        .map_err(|e| e.to_string())?;
    Ok(docs.into_iter().next().map_or(Value::Null, |d| d.value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{EvalContext, ExprCache};
    use crate::jp::Clock;
    use crate::variables::Mode;
    use serde_json::json;

    fn with_resolver<T>(f: impl FnOnce(&Resolver<'_>) -> T) -> T {
        let mut root = serde_json::Map::new();
        root.insert(
            "request".into(),
            json!({"object": {"metadata": {"name": "p"}}}),
        );
        let ctx = EvalContext::new(root);
        let cache = ExprCache::default();
        let clock = Clock::default();
        f(&Resolver {
            ctx: &ctx,
            cache: &cache,
            clock: &clock,
            mode: Mode::Strict,
        })
    }

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    }

    #[test]
    fn table() {
        type Case = (
            &'static str,
            Option<Value>,
            Option<&'static str>,
            Result<Option<Value>, &'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "strategic merge adds a label with a variable",
                Some(json!({"metadata": {"labels": {"b": "{{ request.object.metadata.name }}"}}})),
                None,
                Ok(Some(json!({"a": "1", "b": "p"}))),
            ),
            (
                "add-if-not-present keeps the existing value",
                Some(json!({"metadata": {"labels": {"+(a)": "2"}}})),
                None,
                Ok(None),
            ),
            (
                "failed conditional anchor leaves the resource alone",
                Some(json!({"metadata": {"labels": {"(a)": "9", "b": "x"}}})),
                None,
                Ok(None),
            ),
            (
                "YAML JSON patch with a variable",
                None,
                Some(
                    "- op: add\n  path: /metadata/labels/b\n  value: \"{{ request.object.metadata.name }}\"\n",
                ),
                Ok(Some(json!({"a": "1", "b": "p"}))),
            ),
            (
                "JSON patch text",
                None,
                Some(r#"[{"op": "replace", "path": "/metadata/labels/a", "value": "2"}]"#),
                Ok(Some(json!({"a": "2"}))),
            ),
            (
                "removing a missing path is a no-op",
                None,
                Some("- op: remove\n  path: /metadata/annotations/x\n"),
                Ok(None),
            ),
            (
                "unresolvable variable",
                Some(json!({"metadata": {"labels": {"b": "{{ request.object.nope.x }}"}}})),
                None,
                Err("variable substitution failed"),
            ),
            (
                "malformed JSON patch",
                None,
                Some("- op: frobnicate\n  path: /x\n"),
                Err("failed to decode patches"),
            ),
        ];
        for (name, smp, json6902, want) in cases {
            let got = with_resolver(|r| apply(&pod(), smp.as_ref(), json6902, r));
            match (got, want) {
                (Ok(Applied::Changed(v)), Ok(Some(labels))) => {
                    assert_eq!(v["metadata"]["labels"], labels, "{name}")
                }
                (Ok(Applied::Unchanged(_)), Ok(None)) => {}
                (Err(e), Err(part)) => assert!(e.contains(part), "{name}: {e}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }
}
