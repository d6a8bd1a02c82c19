//! Kyverno's anchor preprocessing for `patchStrategicMerge` (`strategicPreprocessing.go`).
//!
//! - `(key): pattern` — conditional: in a map, a mismatch skips the rule; in a list of maps the
//!   anchored element is a template applied to every resource element that matches, each copy
//!   tied to its element by the resource's `name`.
//! - `<(key): pattern` — global: a mismatch anywhere skips the whole rule.
//! - `+(key): value` — add if not present: dropped where the resource already has `key`.
//!
//! Conditions are matched with Kyverno's pattern semantics, supplied by the caller through
//! [`ConditionMatcher`]. Scalars are handed to the matcher as their YAML text (`3` → `"3"`),
//! as kyaml hands them to Kyverno's `MatchPattern`; maps and lists are passed as they are.
//!
//! Kyverno quirks reproduced on purpose: a list template is one copy shared by all resource
//! elements, so a `+(key)` resolved against the first element stays resolved for the next ones
//! (Kyverno issues #6686/#6750; Kyverno recommends `foreach` for that case); empty maps (`{}`)
//! in the patch are dropped; a resource element without `name` gets no copy of the template.

mod cleanup;
mod key;
pub(crate) mod plan;

pub use plan::Plan;

use crate::error::PatchError;
use crate::path::Path;
use crate::value::{MAX_DEPTH, scalar_text};
use cleanup::{delete_anchors, has_anchors};
use key::{AnchorKind, is_condition, is_global, is_mutate_anchor, parse};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::Cell;

/// Kyverno's pattern matching (wildcards, operators, ...), implemented by the engine.
pub trait ConditionMatcher {
    /// Whether `resource_value` matches `pattern`. An `Err` is reported as a failed condition,
    /// as Kyverno does for every pattern error during preprocessing.
    fn matches(&self, resource_value: &Value, pattern: &Value) -> Result<bool, String>;
}

/// The outcome of preprocessing.
#[derive(Debug, Clone, PartialEq)]
pub enum Preprocessed {
    /// The patch with every anchor resolved and removed, ready for [`crate::strategic_merge`].
    Patch(Value),
    /// A condition or global anchor did not hold: the rule does not apply to this resource.
    /// (Kyverno then still merges an empty patch, which only drops null fields; callers
    /// normally report the rule as skipped and leave the resource alone.)
    Skip {
        /// Which condition failed, for the rule's message.
        reason: String,
    },
}

/// Why the walk stopped.
enum Stop {
    /// A conditional anchor failed.
    Condition(String),
    /// A global anchor failed.
    Global(String),
    /// The patch is malformed.
    Error(PatchError),
}

impl From<PatchError> for Stop {
    fn from(e: PatchError) -> Self {
        Stop::Error(e)
    }
}

/// Resolves the anchors of a `patchStrategicMerge` patch against `resource`.
pub fn preprocess(
    resource: &Value,
    patch: &Value,
    m: &dyn ConditionMatcher,
) -> Result<Preprocessed, PatchError> {
    let mut pattern = patch.clone();
    let walker = Walker {
        m,
        edits: Cell::new(0),
        in_copy: Cell::new(0),
    };
    match walker.walk(&mut pattern, Some(resource), &Path::ROOT) {
        Ok(()) => {}
        Err(Stop::Condition(reason)) => {
            return Ok(Preprocessed::Skip {
                reason: format!("condition failed: {reason}"),
            });
        }
        Err(Stop::Global(reason)) => {
            return Ok(Preprocessed::Skip {
                reason: format!("global condition failed: {reason}"),
            });
        }
        Err(Stop::Error(e)) => return Err(e),
    }
    let Value::Object(top) = &mut pattern else {
        return Err(PatchError::NotAnObject {
            what: "a strategic merge patch",
        });
    };
    delete_condition_elements(top);
    Ok(Preprocessed::Patch(pattern))
}

/// Removes condition fields and anchor-only subtrees below the top level.
fn delete_condition_elements(top: &mut Map<String, Value>) {
    // Values are cleaned in place; only the keys of values to drop are copied.
    let mut doomed: Vec<String> = Vec::new();
    for (k, v) in top.iter_mut() {
        if delete_anchors(v, is_condition(k), false) {
            doomed.push(k.clone());
        }
    }
    for k in &doomed {
        top.remove(k);
    }
}

/// Stands in for a list template taken out of the patch: a condition anchor as a string value,
/// which the cleanup drops as it drops the template.
const TEMPLATE_PLACEHOLDER: &str = "(template)";

struct Walker<'m> {
    m: &'m dyn ConditionMatcher,
    /// Counts the walk's changes to the pattern (anchors resolved, templates bound), so a list
    /// template's copy is known to be unchanged after walking an element.
    edits: Cell<usize>,
    /// How many list template copies the walk is inside: their lists are walked once per
    /// resource element, the patch's own lists once.
    in_copy: Cell<usize>,
}

impl Walker<'_> {
    fn walk(
        &self,
        pattern: &mut Value,
        resource: Option<&Value>,
        path: &Path<'_>,
    ) -> Result<(), Stop> {
        if path.depth() > MAX_DEPTH {
            return Err(PatchError::TooDeep { limit: MAX_DEPTH }.into());
        }
        match pattern {
            Value::Object(map) => self.walk_map(map, resource, path),
            Value::Array(items) if items.first().is_some_and(Value::is_object) => {
                self.walk_list(items, resource, path)
            }
            _ => Ok(()),
        }
    }

    fn walk_map(
        &self,
        pattern: &mut Map<String, Value>,
        resource: Option<&Value>,
        path: &Path<'_>,
    ) -> Result<(), Stop> {
        // Most maps of a patch have no anchor key: one scan spares them the three passes.
        let anchored = pattern.keys().any(|k| parse(k).is_some());
        if anchored {
            if add_if_not_present_in_map(pattern, resource) > 0 {
                self.edited();
            }
            self.check_conditions(pattern, resource, path, AnchorKind::Global)?;
            self.check_conditions(pattern, resource, path, AnchorKind::Condition)?;
        }
        // Walk the map in place: collecting its keys first would copy every key at every level.
        for (k, v) in pattern.iter_mut() {
            // A scalar has nothing to walk (within the depth limit, which the walk reports).
            let scalar = !(v.is_object() || v.is_array());
            if (scalar && path.depth() < MAX_DEPTH) || (anchored && is_mutate_anchor(k)) {
                continue;
            }
            let child = resource.and_then(|r| r.get(k));
            self.walk(v, child, &path.key(k))?;
        }
        Ok(())
    }

    fn edited(&self) {
        self.edits.set(self.edits.get().wrapping_add(1));
    }

    /// Checks the anchors of one kind in a map; the first failure stops the walk.
    fn check_conditions(
        &self,
        pattern: &mut Map<String, Value>,
        resource: Option<&Value>,
        path: &Path<'_>,
        kind: AnchorKind,
    ) -> Result<(), Stop> {
        let is_kind = |k: &str| parse(k).is_some_and(|a| a.kind == kind);
        if !pattern.keys().any(|k| is_kind(k)) {
            return Ok(());
        }
        let fail = |msg: String| {
            if kind == AnchorKind::Global {
                Stop::Global(msg)
            } else {
                Stop::Condition(msg)
            }
        };
        // Only values change here, so the anchored entries are visited in place.
        for (anchored_key, pattern_value) in pattern.iter_mut() {
            if !is_kind(anchored_key) {
                continue;
            }
            let Some(bare) = parse(anchored_key).map(|a| a.key) else {
                continue;
            };
            // The path is rendered only for a message.
            let at = || path.key(bare).render();
            let Some(resource_value) = resource
                .and_then(|r| r.as_object())
                .and_then(|r| r.get(bare))
            else {
                return Err(fail(format!(
                    "could not found \"{bare}\" key in the resource at {}",
                    at()
                )));
            };
            // A condition whose value holds `+()` anchors is resolved, not matched (as in Kyverno).
            if add_if_not_present(pattern_value, Some(resource_value)) > 0 {
                self.edited();
                continue;
            }
            let (rv, pv) = (
                as_pattern_input(resource_value),
                as_pattern_input(pattern_value),
            );
            match self.m.matches(&rv, &pv) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(fail(format!(
                        "{}: value does not match the pattern {pv}",
                        at()
                    )));
                }
                Err(e) => return Err(fail(format!("{}: {e}", at()))),
            }
        }
        Ok(())
    }

    fn walk_list(
        &self,
        pattern: &mut Vec<Value>,
        resource: Option<&Value>,
        path: &Path<'_>,
    ) -> Result<(), Stop> {
        let elements: &[Value] = match resource {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(PatchError::Anchor {
                    path: path.render(),
                    reason: format!(
                        "the patch has a list where the resource has {}",
                        crate::value::kind_name(other)
                    ),
                }
                .into());
            }
        };
        let templates = pattern.len();
        for i in 0..templates {
            let Some(template) = pattern.get(i) else {
                break;
            };
            if !has_anchors(template, is_mutate_anchor) {
                continue;
            }
            let has_global = has_anchors(template, is_global);
            // One copy for all resource elements: Kyverno mutates it as it goes (see module docs).
            // A list of the patch itself is walked once, so its template is taken rather than
            // copied; in a template's copy the list is walked again and keeps its template.
            let taken = self.in_copy.get() == 0;
            let mut copy = if taken {
                pattern.get_mut(i).map(std::mem::take).unwrap_or_default()
            } else {
                template.clone()
            };
            let mut global_passed = false;
            let mut last_global: Option<String> = None;
            let elem_path = path.index(i);
            // The last copy bound from this template, while the template's copy is unchanged:
            // the next element's copy is that one renamed, without cleaning the template again.
            let mut bound: Option<usize> = None;
            for element in elements {
                let before = self.edits.get();
                let walked = self.walk_copy(&mut copy, Some(element), &elem_path);
                if self.edits.get() != before {
                    bound = None;
                }
                match walked {
                    Ok(()) if has_global => global_passed = true,
                    Ok(()) => {
                        let pushed = match bound.and_then(|j| pattern.get(j)) {
                            Some(prev) => rebind(pattern, prev.clone(), element),
                            None => bind_to_element(pattern, &copy, element, &elem_path)?,
                        };
                        if pushed {
                            self.edited();
                            bound = Some(pattern.len() - 1);
                        }
                    }
                    Err(Stop::Condition(_)) => continue,
                    Err(Stop::Global(msg)) => last_global = Some(msg),
                    Err(e) => return Err(e),
                }
            }
            if resource.is_none() {
                match self.walk_copy(&mut copy, None, &elem_path) {
                    Ok(()) if has_global => global_passed = true,
                    Ok(()) | Err(Stop::Condition(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if let (false, Some(msg)) = (global_passed, last_global) {
                return Err(Stop::Global(msg));
            }
            if taken && let Some(slot) = pattern.get_mut(i) {
                // The cleanup drops the template for its anchors. The copy may have lost them
                // (`+()` resolved), so then a condition-like string, dropped the same way,
                // holds its place.
                *slot = if has_anchors(&copy, is_mutate_anchor) {
                    copy
                } else {
                    Value::String(TEMPLATE_PLACEHOLDER.to_string())
                };
            }
        }
        Ok(())
    }

    /// Walks a list template's copy.
    fn walk_copy(
        &self,
        copy: &mut Value,
        resource: Option<&Value>,
        path: &Path<'_>,
    ) -> Result<(), Stop> {
        self.in_copy.set(self.in_copy.get() + 1);
        let walked = self.walk(copy, resource, path);
        self.in_copy.set(self.in_copy.get() - 1);
        walked
    }
}

/// The `name` a bound template copy takes from its resource element.
fn element_name(element: &Value) -> Option<&Value> {
    element.get("name").filter(|n| !cleanup::is_nil_or_empty(n))
}

/// Appends `prev`, a copy already bound from the same unchanged template, tied to `element`
/// instead; returns whether it was appended (not for an element without a name).
fn rebind(pattern: &mut Vec<Value>, mut prev: Value, element: &Value) -> bool {
    let (Some(name), Value::Object(map)) = (element_name(element), &mut prev) else {
        return false;
    };
    map.insert("name".to_string(), name.clone());
    pattern.push(prev);
    true
}

/// Appends a copy of the resolved template, tied to `element` by its `name` (Kyverno's
/// `handlePatternName`); an element without a name, or a template with nothing left to patch,
/// adds nothing. Returns whether a copy was appended.
fn bind_to_element(
    pattern: &mut Vec<Value>,
    template: &Value,
    element: &Value,
    path: &Path<'_>,
) -> Result<bool, Stop> {
    let Some(name) = element_name(element) else {
        return Ok(false);
    };
    let mut copy = template.clone();
    if delete_anchors(&mut copy, true, false) {
        return Ok(false);
    }
    let Value::Object(map) = &mut copy else {
        return Err(PatchError::Anchor {
            path: path.render(),
            reason: "a list template must be a map".into(),
        }
        .into());
    };
    map.insert("name".to_string(), name.clone());
    pattern.push(copy);
    Ok(true)
}

/// Resolves `+(key)` anchors in a map: dropped where the resource has `key`, unwrapped elsewhere.
/// Returns how many there were.
fn add_if_not_present(pattern: &mut Value, resource: Option<&Value>) -> usize {
    match pattern {
        Value::Object(map) => add_if_not_present_in_map(map, resource),
        _ => 0,
    }
}

fn add_if_not_present_in_map(map: &mut Map<String, Value>, resource: Option<&Value>) -> usize {
    let is_add = |k: &str| parse(k).is_some_and(|a| a.kind == AnchorKind::AddIfNotPresent);
    let count = map.keys().filter(|k| is_add(k)).count();
    if count == 0 {
        return 0;
    }
    let present = |k: &str| {
        resource
            .and_then(Value::as_object)
            .is_some_and(|r| r.contains_key(k))
    };
    // The map is rebuilt from its own entries, so each key is moved rather than copied; `+(name)`
    // becomes `name` in place (the anchored key without its two-byte prefix and closing
    // parenthesis). Renamed entries go in last: they replace a plain key of the same name, as
    // inserting them one by one did.
    let mut renamed: Vec<(String, Value)> = Vec::with_capacity(count);
    for (mut key, v) in std::mem::take(map) {
        if !is_add(&key) {
            map.insert(key, v);
            continue;
        }
        key.pop();
        key.drain(..2);
        if !present(&key) {
            renamed.push((key, v));
        }
    }
    map.extend(renamed);
    count
}

/// What Kyverno hands its matcher: scalars as their YAML text, structures as they are. A string
/// is its own text, so it (and any structure) is lent rather than copied.
fn as_pattern_input(v: &Value) -> Cow<'_, Value> {
    match v {
        Value::Object(_) | Value::Array(_) | Value::String(_) => Cow::Borrowed(v),
        other => Cow::Owned(Value::String(scalar_text(other).unwrap_or_default())),
    }
}
