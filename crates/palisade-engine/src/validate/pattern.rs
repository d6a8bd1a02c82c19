//! Kyverno's overlay-pattern validation (`validate.MatchPattern`): walks the pattern and the
//! resource together, handling anchors, and classifies the outcome as pass, fail, skip or error.
//!
//! The walk keeps Kyverno's quirks on purpose: only the first element of a pattern array is
//! used against every resource element; anchors are evaluated before plain keys; keys whose
//! values hold anchors are evaluated first; an anchor key that never appears in the resource
//! turns a failure into an error.

use std::collections::{BTreeMap, VecDeque};

use palisade_primitives::wildcard;
use serde_json::{Map, Value};

use crate::anchor::{Anchor, AnchorKind};
use crate::pattern;
use crate::value::{go_sprint, go_type};

/// How a pattern did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// A conditional or global anchor did not hold: the rule does not apply.
    Skip,
    /// The resource violates the pattern.
    Fail,
    /// The pattern could not be applied (an anchored key is missing from the resource).
    Error,
}

/// Why a pattern did not match, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// The classification.
    pub kind: Mismatch,
    /// Kyverno-style path of the failing element, e.g. `/spec/containers/0/image/`.
    pub path: String,
    /// Kyverno's error text.
    pub message: String,
}

/// Matches `resource` against `pattern`.
pub fn match_pattern(resource: &Value, pattern: &Value) -> Result<(), PatternError> {
    let mut walk = Walk::default();
    let Err((path, err)) = walk.element(resource, pattern, "/") else {
        return Ok(());
    };
    let (kind, path) = match err.kind {
        ErrKind::Conditional | ErrKind::Global | ErrKind::ArraySkip => {
            (Mismatch::Skip, String::new())
        }
        ErrKind::Negation => (Mismatch::Fail, path),
        ErrKind::Plain if walk.keys_are_missing() => (Mismatch::Error, String::new()),
        ErrKind::Plain => (Mismatch::Fail, path),
    };
    Err(PatternError {
        kind,
        path,
        message: err.message,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrKind {
    Conditional,
    Global,
    Negation,
    /// Every element of an array was skipped by its anchors.
    ArraySkip,
    Plain,
}

impl ErrKind {
    fn is_skip(self) -> bool {
        matches!(
            self,
            ErrKind::Conditional | ErrKind::Global | ErrKind::ArraySkip
        )
    }
}

#[derive(Debug, Clone)]
struct WalkError {
    kind: ErrKind,
    message: String,
}

impl WalkError {
    fn plain(message: String) -> Self {
        WalkError {
            kind: ErrKind::Plain,
            message,
        }
    }
    fn anchored(kind: ErrKind, prefix: &str, message: &str) -> Self {
        WalkError {
            kind,
            message: format!("{prefix}: {message}"),
        }
    }
}

type Step = Result<(), (String, WalkError)>;

#[derive(Default)]
struct Walk {
    /// For each conditional, existence and negation anchor key: seen in the resource?
    anchors_seen: BTreeMap<String, bool>,
}

impl Walk {
    fn keys_are_missing(&self) -> bool {
        self.anchors_seen.values().any(|seen| !seen)
    }

    fn element(&mut self, resource: &Value, pattern: &Value, path: &str) -> Step {
        match pattern {
            Value::Object(pattern_map) => {
                let Value::Object(resource_map) = resource else {
                    return Err((
                        path.to_string(),
                        WalkError::plain(format!(
                            "pattern and resource have different structures. Path: {path}. Expected {}, found {}",
                            go_type(pattern),
                            go_type(resource)
                        )),
                    ));
                };
                self.note_anchors(pattern_map, resource_map);
                self.map(resource_map, pattern_map, path)
            }
            Value::Array(pattern_items) => {
                let Value::Array(resource_items) = resource else {
                    return Err((
                        path.to_string(),
                        WalkError::plain(format!(
                            "validation rule failed at path {path}, resource does not satisfy the expected overlay pattern"
                        )),
                    ));
                };
                self.array(resource_items, pattern_items, path)
            }
            leaf => self.leaf(resource, leaf, path),
        }
    }

    fn leaf(&mut self, resource: &Value, pattern: &Value, path: &str) -> Step {
        let ok = match resource {
            Value::Array(items) => items.iter().all(|item| pattern::validate(item, pattern)),
            other => pattern::validate(other, pattern),
        };
        if ok {
            return Ok(());
        }
        Err((
            path.to_string(),
            WalkError::plain(format!(
                "resource value '{}' does not match '{}' at path {path}",
                go_sprint(resource),
                go_sprint(pattern)
            )),
        ))
    }

    fn note_anchors(&mut self, pattern: &Map<String, Value>, resource: &Map<String, Value>) {
        for key in pattern.keys() {
            let Some(anchor) = Anchor::parse(key) else {
                continue;
            };
            if !matches!(
                anchor.kind,
                AnchorKind::Condition | AnchorKind::Existence | AnchorKind::Negation
            ) {
                continue;
            }
            let seen = self.anchors_seen.entry(key.clone()).or_insert(false);
            if !*seen && resource.contains_key(anchor.key) {
                *seen = true;
            }
        }
    }

    fn map(
        &mut self,
        resource: &Map<String, Value>,
        pattern: &Map<String, Value>,
        path: &str,
    ) -> Step {
        let expanded = expand_metadata_wildcards(pattern, resource);
        let pattern = expanded.as_ref().unwrap_or(pattern);
        let mut anchors = Vec::new();
        let mut plain = BTreeMap::new();
        for (key, value) in pattern {
            match Anchor::parse(key) {
                Some(a) if !matches!(a.kind, AnchorKind::Global | AnchorKind::AddIfNotPresent) => {
                    anchors.push((a, value));
                }
                _ => {
                    plain.insert(key.as_str(), value);
                }
            }
        }
        // serde_json maps are sorted, so anchors are already in Kyverno's sorted order.
        for (anchor, value) in anchors {
            self.anchor(anchor, value, resource, path)?;
        }
        for key in order_plain_keys(&plain) {
            let value = plain.get(key).copied().unwrap_or(&Value::Null);
            match Anchor::parse(key) {
                Some(a) if a.kind == AnchorKind::Global => self.anchor(a, value, resource, path)?,
                _ => self.plain_key(key, value, resource, path)?,
            }
        }
        Ok(())
    }

    fn plain_key(
        &mut self,
        key: &str,
        pattern: &Value,
        resource: &Map<String, Value>,
        path: &str,
    ) -> Step {
        let value = resource.get(key).unwrap_or(&Value::Null);
        if pattern.as_str() == Some("*") {
            if value.is_null() {
                return Err((
                    path.to_string(),
                    WalkError::plain(format!("{path}/{key} not found")),
                ));
            }
            return Ok(());
        }
        self.element(value, pattern, &format!("{path}{key}/"))
    }

    fn anchor(
        &mut self,
        anchor: Anchor<'_>,
        pattern: &Value,
        resource: &Map<String, Value>,
        path: &str,
    ) -> Step {
        let current = format!("{path}{}/", anchor.key);
        let value = resource.get(anchor.key);
        match anchor.kind {
            AnchorKind::Negation => match value {
                Some(_) => Err((
                    current.clone(),
                    WalkError::anchored(
                        ErrKind::Negation,
                        "negation anchor matched in resource",
                        &format!("{current} is not allowed"),
                    ),
                )),
                None => Ok(()),
            },
            AnchorKind::Equality => match value {
                Some(v) => self.element(v, pattern, &current),
                None => Ok(()),
            },
            AnchorKind::Condition => match value {
                Some(v) => self.element(v, pattern, &current).map_err(|(p, e)| {
                    (
                        p,
                        WalkError::anchored(
                            ErrKind::Conditional,
                            "conditional anchor mismatch",
                            &e.message,
                        ),
                    )
                }),
                None => Err((
                    current,
                    WalkError::anchored(
                        ErrKind::Conditional,
                        "conditional anchor mismatch",
                        "conditional anchor key doesn't exist in the resource",
                    ),
                )),
            },
            AnchorKind::Global => match value {
                Some(v) => self.element(v, pattern, &current).map_err(|(p, e)| {
                    (
                        p,
                        WalkError::anchored(ErrKind::Global, "global anchor mismatch", &e.message),
                    )
                }),
                None => Ok(()),
            },
            AnchorKind::Existence => match value {
                Some(v) => self.existence(v, pattern, &current),
                None => Ok(()),
            },
            AnchorKind::AddIfNotPresent => {
                self.plain_key(&format!("+({})", anchor.key), pattern, resource, path)
            }
        }
    }

    fn existence(&mut self, value: &Value, pattern: &Value, path: &str) -> Step {
        let Value::Array(items) = value else {
            return Err((
                path.to_string(),
                WalkError::plain(format!(
                    "invalid resource type {}: Existence ^ () anchor can be used only on list/array type resource",
                    go_type(value)
                )),
            ));
        };
        let Value::Array(patterns) = pattern else {
            return Err((
                path.to_string(),
                WalkError::plain(format!(
                    "invalid pattern type {}: Pattern has to be of list to compare against resource",
                    go_type(pattern)
                )),
            ));
        };
        for p in patterns {
            if !p.is_object() {
                return Err((
                    path.to_string(),
                    WalkError::plain(format!(
                        "invalid pattern type {}: Pattern has to be of type map to compare against items in resource",
                        go_type(pattern)
                    )),
                ));
            }
            let found = items
                .iter()
                .enumerate()
                .any(|(i, item)| self.element(item, p, &format!("{path}{i}/")).is_ok());
            if !found {
                return Err((
                    path.to_string(),
                    WalkError::plain(format!("existence anchor validation failed at path {path}")),
                ));
            }
        }
        Ok(())
    }

    fn array(&mut self, resource: &[Value], pattern: &[Value], path: &str) -> Step {
        let Some(first) = pattern.first() else {
            return Err((
                path.to_string(),
                WalkError::plain("pattern Array empty".to_string()),
            ));
        };
        match first {
            Value::Object(_) => self.array_of_maps(resource, first, path),
            Value::Array(_) => self.array_positional(resource, pattern, path),
            leaf => self.leaf(&Value::Array(resource.to_vec()), leaf, path),
        }
    }

    fn array_of_maps(&mut self, resource: &[Value], pattern: &Value, path: &str) -> Step {
        let mut applied = 0;
        let mut skipped = Vec::new();
        for (i, item) in resource.iter().enumerate() {
            match self.element(item, pattern, &format!("{path}{i}/")) {
                Ok(()) => applied += 1,
                Err((_, e)) if e.kind.is_skip() => skipped.push(e.message),
                Err(e) => return Err(e),
            }
        }
        skip_all(applied, skipped, path)
    }

    fn array_positional(&mut self, resource: &[Value], pattern: &[Value], path: &str) -> Step {
        if resource.len() < pattern.len() {
            return Err((
                String::new(),
                WalkError::plain(format!(
                    "validate Array failed, array length mismatch, resource Array len is {} and pattern Array len is {}",
                    resource.len(),
                    pattern.len()
                )),
            ));
        }
        let mut applied = 0;
        let mut skipped = Vec::new();
        for (i, (item, p)) in resource.iter().zip(pattern).enumerate() {
            match self.element(item, p, &format!("{path}{i}/")) {
                Ok(()) => applied += 1,
                Err((_, e)) if e.kind.is_skip() => skipped.push(e.message),
                Err(e) => return Err(e),
            }
        }
        skip_all(applied, skipped, path)
    }
}

fn skip_all(applied: usize, skipped: Vec<String>, path: &str) -> Step {
    if applied == 0 && !skipped.is_empty() {
        return Err((
            path.to_string(),
            WalkError {
                kind: ErrKind::ArraySkip,
                message: skipped.join("; "),
            },
        ));
    }
    Ok(())
}

/// Kyverno evaluates keys whose values contain anchors (and global anchors) first.
fn order_plain_keys<'a>(plain: &BTreeMap<&'a str, &Value>) -> Vec<&'a str> {
    let mut order = VecDeque::new();
    for (key, value) in plain {
        let global = Anchor::parse(key).is_some_and(|a| a.kind == AnchorKind::Global);
        if global || has_nested_anchors(value) {
            order.push_front(*key);
        } else {
            order.push_back(*key);
        }
    }
    order.into()
}

fn has_nested_anchors(pattern: &Value) -> bool {
    match pattern {
        Value::Object(map) => {
            map.keys()
                .any(|k| Anchor::parse(k).is_some_and(|a| a.kind != AnchorKind::AddIfNotPresent))
                || map.values().any(has_nested_anchors)
        }
        Value::Array(items) => items.iter().any(has_nested_anchors),
        _ => false,
    }
}

/// Wildcard keys under `metadata.labels` / `metadata.annotations` of a pattern are replaced
/// by the matching key of the resource (Kyverno's `wildcards.ExpandInMetadata`).
fn expand_metadata_wildcards(
    pattern: &Map<String, Value>,
    resource: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let (meta_key, Value::Object(meta_pattern)) = pattern
        .iter()
        .find(|(k, _)| crate::anchor::strip(k) == "metadata")?
    else {
        return None;
    };
    let Value::Object(meta_resource) = resource.get("metadata")? else {
        return None;
    };
    let mut new_meta = meta_pattern.clone();
    let mut changed = false;
    for tag in ["labels", "annotations"] {
        let Some((tag_key, Value::Object(tag_pattern))) = meta_pattern
            .iter()
            .find(|(k, _)| crate::anchor::strip(k) == tag)
        else {
            continue;
        };
        let Some(Value::Object(tag_resource)) = meta_resource.get(tag) else {
            continue;
        };
        let mut expanded = Map::new();
        for (k, v) in tag_pattern {
            let bare = crate::anchor::strip(k);
            if !wildcard::contains_wildcard(bare) {
                expanded.insert(k.clone(), v.clone());
                continue;
            }
            let prefix = Anchor::parse(k).map(|a| a.prefix()).unwrap_or_default();
            let hit = tag_resource.keys().find(|rk| wildcard::matches(bare, rk));
            let new_key = match (hit, Anchor::parse(k)) {
                (Some(rk), Some(_)) => format!("{prefix}({rk})"),
                (Some(rk), None) => rk.clone(),
                (None, _) => k.clone(),
            };
            changed |= new_key != *k;
            expanded.insert(new_key, v.clone());
        }
        new_meta.insert(tag_key.clone(), Value::Object(expanded));
    }
    if !changed {
        return None;
    }
    let mut out = pattern.clone();
    out.insert(meta_key.clone(), Value::Object(new_meta));
    Some(out)
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
