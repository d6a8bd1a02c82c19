//! Kyverno's overlay-pattern validation (`validate.MatchPattern`): walks the pattern and the
//! resource together, handling anchors, and classifies the outcome as pass, fail, skip or error.
//!
//! The walk keeps Kyverno's quirks on purpose: only the first element of a pattern array is
//! used against every resource element; anchors are evaluated before plain keys; keys whose
//! values hold anchors are evaluated first; an anchor key that never appears in the resource
//! turns a failure into an error.

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
    let mut walk = Walk {
        anchors_seen: Vec::new(),
        path: String::with_capacity(64),
    };
    walk.path.push('/');
    let Err((path, err)) = walk.element(resource, pattern) else {
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

/// The walk's state. Paths and messages are only built when something fails: the walk runs
/// for every rule on every request, and a passing walk allocates nothing but the path buffer.
struct Walk {
    /// For each conditional, existence and negation anchor key: seen in the resource? Few
    /// distinct keys per pattern, so a list beats a map.
    anchors_seen: Vec<(String, bool)>,
    /// Kyverno-style path of the element being matched (`/spec/containers/0/`), extended and
    /// truncated as the walk descends and returns.
    path: String,
}

/// Where the pattern keys of a map are evaluated: anchors first, then plain keys in Kyverno's
/// order (global anchors and keys whose values hold anchors first).
enum Slot {
    Anchor,
    Plain { global: bool },
}

fn slot(key: &str) -> Slot {
    match Anchor::parse(key) {
        Some(a) if a.kind == AnchorKind::Global => Slot::Plain { global: true },
        Some(a) if a.kind != AnchorKind::AddIfNotPresent => Slot::Anchor,
        _ => Slot::Plain { global: false },
    }
}

impl Walk {
    fn keys_are_missing(&self) -> bool {
        self.anchors_seen.iter().any(|(_, seen)| !seen)
    }

    /// The current path, for an error.
    fn here(&self) -> String {
        self.path.clone()
    }

    /// Runs `f` with `segment/` appended to the path.
    fn descend(&mut self, segment: &str, f: impl FnOnce(&mut Self) -> Step) -> Step {
        let len = self.path.len();
        self.path.push_str(segment);
        self.path.push('/');
        let r = f(self);
        self.path.truncate(len);
        r
    }

    /// Runs `f` with `index/` appended to the path.
    fn descend_index(&mut self, index: usize, f: impl FnOnce(&mut Self) -> Step) -> Step {
        use std::fmt::Write;
        let len = self.path.len();
        let _ = write!(self.path, "{index}/");
        let r = f(self);
        self.path.truncate(len);
        r
    }

    fn element(&mut self, resource: &Value, pattern: &Value) -> Step {
        match pattern {
            Value::Object(pattern_map) => {
                let Value::Object(resource_map) = resource else {
                    return Err((
                        self.here(),
                        WalkError::plain(format!(
                            "pattern and resource have different structures. Path: {}. Expected {}, found {}",
                            self.path,
                            go_type(pattern),
                            go_type(resource)
                        )),
                    ));
                };
                self.note_anchors(pattern_map, resource_map);
                self.map(resource_map, pattern_map)
            }
            Value::Array(pattern_items) => {
                let Value::Array(resource_items) = resource else {
                    return Err((
                        self.here(),
                        WalkError::plain(format!(
                            "validation rule failed at path {}, resource does not satisfy the expected overlay pattern",
                            self.path
                        )),
                    ));
                };
                self.array(resource_items, pattern_items)
            }
            leaf => self.leaf(resource, leaf),
        }
    }

    fn leaf(&mut self, resource: &Value, pattern: &Value) -> Step {
        let ok = match resource {
            Value::Array(items) => items.iter().all(|item| pattern::validate(item, pattern)),
            other => pattern::validate(other, pattern),
        };
        if ok {
            return Ok(());
        }
        Err(self.leaf_error(&go_sprint(resource), pattern))
    }

    /// A leaf pattern applied to every element of a resource array.
    fn leaf_items(&mut self, items: &[Value], pattern: &Value) -> Step {
        if items.iter().all(|item| pattern::validate(item, pattern)) {
            return Ok(());
        }
        Err(self.leaf_error(&go_sprint(&Value::Array(items.to_vec())), pattern))
    }

    fn leaf_error(&self, resource: &str, pattern: &Value) -> (String, WalkError) {
        (
            self.here(),
            WalkError::plain(format!(
                "resource value '{resource}' does not match '{}' at path {}",
                go_sprint(pattern),
                self.path
            )),
        )
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
            let present = resource.contains_key(anchor.key);
            match self.anchors_seen.iter_mut().find(|(k, _)| k == key) {
                Some((_, seen)) => *seen |= present,
                None => self.anchors_seen.push((key.clone(), present)),
            }
        }
    }

    fn map(&mut self, resource: &Map<String, Value>, pattern: &Map<String, Value>) -> Step {
        let expanded = expand_metadata_wildcards(pattern, resource);
        let pattern = expanded.as_ref().unwrap_or(pattern);
        // serde_json maps are sorted, so anchors are already in Kyverno's sorted order.
        for (key, value) in pattern {
            if let Some(a) = Anchor::parse(key)
                && !matches!(a.kind, AnchorKind::Global | AnchorKind::AddIfNotPresent)
            {
                self.anchor(a, value, resource)?;
            }
        }
        // Kyverno queues global anchors and keys holding anchors at the front (so they run
        // last-first) and the other plain keys at the back. `later` marks the back ones among
        // the first 64 keys, so their anchor scan is not repeated.
        let mut later: u64 = 0;
        for (i, (key, value)) in pattern.iter().enumerate().rev() {
            let Slot::Plain { global } = slot(key) else {
                continue;
            };
            if global || has_nested_anchors(value) {
                self.plain_entry(key, value, resource)?;
            } else if i < 64 {
                later |= 1 << i;
            }
        }
        for (i, (key, value)) in pattern.iter().enumerate() {
            let back = if i < 64 {
                later & (1 << i) != 0
            } else {
                matches!(slot(key), Slot::Plain { global: false }) && !has_nested_anchors(value)
            };
            if back {
                self.plain_entry(key, value, resource)?;
            }
        }
        Ok(())
    }

    fn plain_entry(&mut self, key: &str, value: &Value, resource: &Map<String, Value>) -> Step {
        match Anchor::parse(key) {
            Some(a) if a.kind == AnchorKind::Global => self.anchor(a, value, resource),
            _ => self.plain_key(key, value, resource),
        }
    }

    fn plain_key(&mut self, key: &str, pattern: &Value, resource: &Map<String, Value>) -> Step {
        let value = resource.get(key).unwrap_or(&Value::Null);
        if pattern.as_str() == Some("*") {
            if value.is_null() {
                return Err((
                    self.here(),
                    WalkError::plain(format!("{}/{key} not found", self.path)),
                ));
            }
            return Ok(());
        }
        self.descend(key, |w| w.element(value, pattern))
    }

    fn anchor(
        &mut self,
        anchor: Anchor<'_>,
        pattern: &Value,
        resource: &Map<String, Value>,
    ) -> Step {
        let value = resource.get(anchor.key);
        match anchor.kind {
            AnchorKind::Negation => match value {
                Some(_) => self.descend(anchor.key, |w| {
                    let current = w.here();
                    let message = format!("{current} is not allowed");
                    Err((
                        current,
                        WalkError::anchored(
                            ErrKind::Negation,
                            "negation anchor matched in resource",
                            &message,
                        ),
                    ))
                }),
                None => Ok(()),
            },
            AnchorKind::Equality => match value {
                Some(v) => self.descend(anchor.key, |w| w.element(v, pattern)),
                None => Ok(()),
            },
            AnchorKind::Condition => match value {
                Some(v) => self
                    .descend(anchor.key, |w| w.element(v, pattern))
                    .map_err(|(p, e)| {
                        (
                            p,
                            WalkError::anchored(
                                ErrKind::Conditional,
                                "conditional anchor mismatch",
                                &e.message,
                            ),
                        )
                    }),
                None => self.descend(anchor.key, |w| {
                    Err((
                        w.here(),
                        WalkError::anchored(
                            ErrKind::Conditional,
                            "conditional anchor mismatch",
                            "conditional anchor key doesn't exist in the resource",
                        ),
                    ))
                }),
            },
            AnchorKind::Global => match value {
                Some(v) => self
                    .descend(anchor.key, |w| w.element(v, pattern))
                    .map_err(|(p, e)| {
                        (
                            p,
                            WalkError::anchored(
                                ErrKind::Global,
                                "global anchor mismatch",
                                &e.message,
                            ),
                        )
                    }),
                None => Ok(()),
            },
            AnchorKind::Existence => match value {
                Some(v) => self.descend(anchor.key, |w| w.existence(v, pattern)),
                None => Ok(()),
            },
            AnchorKind::AddIfNotPresent => {
                self.plain_key(&format!("+({})", anchor.key), pattern, resource)
            }
        }
    }

    fn existence(&mut self, value: &Value, pattern: &Value) -> Step {
        let Value::Array(items) = value else {
            return Err((
                self.here(),
                WalkError::plain(format!(
                    "invalid resource type {}: Existence ^ () anchor can be used only on list/array type resource",
                    go_type(value)
                )),
            ));
        };
        let Value::Array(patterns) = pattern else {
            return Err((
                self.here(),
                WalkError::plain(format!(
                    "invalid pattern type {}: Pattern has to be of list to compare against resource",
                    go_type(pattern)
                )),
            ));
        };
        for p in patterns {
            if !p.is_object() {
                return Err((
                    self.here(),
                    WalkError::plain(format!(
                        "invalid pattern type {}: Pattern has to be of type map to compare against items in resource",
                        go_type(pattern)
                    )),
                ));
            }
            let found = items
                .iter()
                .enumerate()
                .any(|(i, item)| self.descend_index(i, |w| w.element(item, p)).is_ok());
            if !found {
                return Err((
                    self.here(),
                    WalkError::plain(format!(
                        "existence anchor validation failed at path {}",
                        self.path
                    )),
                ));
            }
        }
        Ok(())
    }

    fn array(&mut self, resource: &[Value], pattern: &[Value]) -> Step {
        let Some(first) = pattern.first() else {
            return Err((
                self.here(),
                WalkError::plain("pattern Array empty".to_string()),
            ));
        };
        match first {
            Value::Object(_) => self.array_of_maps(resource, first),
            Value::Array(_) => self.array_positional(resource, pattern),
            leaf => self.leaf_items(resource, leaf),
        }
    }

    fn array_of_maps(&mut self, resource: &[Value], pattern: &Value) -> Step {
        let mut applied = 0;
        let mut skipped = Vec::new();
        for (i, item) in resource.iter().enumerate() {
            match self.descend_index(i, |w| w.element(item, pattern)) {
                Ok(()) => applied += 1,
                Err((_, e)) if e.kind.is_skip() => skipped.push(e.message),
                Err(e) => return Err(e),
            }
        }
        self.skip_all(applied, skipped)
    }

    fn array_positional(&mut self, resource: &[Value], pattern: &[Value]) -> Step {
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
            match self.descend_index(i, |w| w.element(item, p)) {
                Ok(()) => applied += 1,
                Err((_, e)) if e.kind.is_skip() => skipped.push(e.message),
                Err(e) => return Err(e),
            }
        }
        self.skip_all(applied, skipped)
    }

    fn skip_all(&self, applied: usize, skipped: Vec<String>) -> Step {
        if applied == 0 && !skipped.is_empty() {
            return Err((
                self.here(),
                WalkError {
                    kind: ErrKind::ArraySkip,
                    message: skipped.join("; "),
                },
            ));
        }
        Ok(())
    }
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
    // Checked first: only the top level of most resources has `metadata`.
    let Value::Object(meta_resource) = resource.get("metadata")? else {
        return None;
    };
    let (meta_key, Value::Object(meta_pattern)) = pattern
        .iter()
        .find(|(k, _)| crate::anchor::strip(k) == "metadata")?
    else {
        return None;
    };
    let has_wildcard = |tag: &str| {
        meta_pattern.iter().any(|(k, v)| {
            crate::anchor::strip(k) == tag
                && v.as_object().is_some_and(|m| {
                    m.keys()
                        .any(|k| wildcard::contains_wildcard(crate::anchor::strip(k)))
                })
        })
    };
    if !has_wildcard("labels") && !has_wildcard("annotations") {
        return None;
    }
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
