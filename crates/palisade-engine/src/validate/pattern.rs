//! Kyverno's overlay-pattern validation (`validate.MatchPattern`): walks the pattern and the
//! resource together, handling anchors, and classifies the outcome as pass, fail, skip or error.
//!
//! The walk keeps Kyverno's quirks on purpose: only the first element of a pattern array is
//! used against every resource element; anchors are evaluated before plain keys; keys whose
//! values hold anchors are evaluated first; an anchor key that never appears in the resource
//! turns a failure into an error.

use std::cell::Cell;
use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::pattern_tree::{MERGED_KEYS, MapNode, Node, PlainEntry, expand_metadata_wildcards};
use crate::anchor::AnchorKind;
use crate::pattern::Leaf;
use crate::value::{go_sprint, go_type};
use palisade_jmespath::value::get;

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
    CompiledPattern::new(pattern).matches(resource)
}

/// A pattern prepared once (anchors parsed, keys ordered) and matched against many resources.
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    root: Node,
}

impl CompiledPattern {
    /// Prepares `pattern` (after variable substitution).
    pub fn new(pattern: &Value) -> Self {
        CompiledPattern {
            root: Node::new(pattern),
        }
    }

    /// Matches `resource` against the pattern.
    pub fn matches(&self, resource: &Value) -> Result<(), PatternError> {
        // Most walks pass: decide that first without building paths; a walk that does not
        // pass (or uses a rare construct) is walked again in full for Kyverno's outcome.
        if quick(resource, &self.root) == Some(Quick::Pass) {
            return Ok(());
        }
        let mut walk = WALK_BUFFERS.take().unwrap_or_default();
        walk.path.push('/');
        let outcome = walk.element(resource, &self.root);
        let keys_are_missing = walk.keys_are_missing();
        walk.path.clear();
        walk.anchors_seen.clear();
        WALK_BUFFERS.set(Some(walk));
        let Err((path, err)) = outcome else {
            return Ok(());
        };
        let (kind, path) = match err.kind {
            ErrKind::Conditional | ErrKind::Global | ErrKind::ArraySkip => {
                (Mismatch::Skip, String::new())
            }
            ErrKind::Negation => (Mismatch::Fail, path),
            ErrKind::Plain if keys_are_missing => (Mismatch::Error, String::new()),
            ErrKind::Plain => (Mismatch::Fail, path),
        };
        Err(PatternError {
            kind,
            path,
            message: err.message,
        })
    }
}

/// What the full walk would return, as far as [`quick`] needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quick {
    /// `Ok(())`.
    Pass,
    /// An error whose kind is a skip ([`ErrKind::is_skip`]).
    Skip,
    /// Any other error.
    Fail,
}

/// The outcome of [`Walk::element`] on `resource`, without paths, messages or anchor notes
/// (which only word and classify a failure); `None` for the constructs it leaves to the full
/// walk (existence anchors, positional arrays, metadata wildcards). Each step
/// mirrors the full walk's, in the same order, so `Some(Quick::Pass)` means `Ok(())`.
fn quick(resource: &Value, pattern: &Node) -> Option<Quick> {
    match pattern {
        Node::Map(pattern_map) => {
            let Value::Object(resource_map) = resource else {
                return Some(Quick::Fail);
            };
            if pattern_map.expandable.is_some() {
                return None;
            }
            quick_map(resource_map, pattern_map)
        }
        Node::Array(pattern_items) => {
            let Value::Array(items) = resource else {
                return Some(Quick::Fail);
            };
            match pattern_items.first() {
                None => Some(Quick::Fail),
                Some(first @ Node::Map(_)) => {
                    let mut applied = false;
                    let mut skipped = false;
                    for item in items {
                        match quick_node(item, first)? {
                            Quick::Pass => applied = true,
                            Quick::Skip => skipped = true,
                            Quick::Fail => return Some(Quick::Fail),
                        }
                    }
                    Some(if !applied && skipped {
                        Quick::Skip
                    } else {
                        Quick::Pass
                    })
                }
                Some(Node::Array(_)) => None,
                Some(Node::Leaf(leaf)) => Some(pass_if(items.iter().all(|i| leaf.matches(i)))),
            }
        }
        Node::Leaf(leaf) => Some(quick_leaf(resource, leaf)),
    }
}

/// [`quick`] with its most frequent cases (a leaf, a map) decided here, without the call.
#[inline(always)]
fn quick_node(resource: &Value, pattern: &Node) -> Option<Quick> {
    match (pattern, resource) {
        (Node::Leaf(leaf), _) => Some(quick_leaf(resource, leaf)),
        (Node::Map(pattern_map), Value::Object(resource_map))
            if pattern_map.expandable.is_none() =>
        {
            quick_map(resource_map, pattern_map)
        }
        _ => quick(resource, pattern),
    }
}

/// [`quick`] for a leaf.
#[inline(always)]
fn quick_leaf(resource: &Value, leaf: &Leaf) -> Quick {
    pass_if(match resource {
        Value::Array(items) => items.iter().all(|item| leaf.matches(item)),
        other => leaf.matches(other),
    })
}

fn pass_if(ok: bool) -> Quick {
    if ok { Quick::Pass } else { Quick::Fail }
}

/// The values of a pattern map's keys in `resource`, by slot (see [`MapNode::sorted`]): one
/// pass over both sorted key lists, comparing first bytes before whole keys.
fn gather<'r>(
    resource: &'r Map<String, Value>,
    sorted: &[(Box<str>, u8)],
    out: &mut [Option<&'r Value>; MERGED_KEYS],
) {
    let mut entries = resource.iter();
    let mut current = entries.next();
    for (key, slot) in sorted {
        let first = key.as_bytes().first();
        while let Some((k, v)) = current {
            let order = match k.as_bytes().first().cmp(&first) {
                Ordering::Equal => k.as_str().cmp(key),
                other => other,
            };
            match order {
                Ordering::Less => current = entries.next(),
                Ordering::Equal => {
                    if let Some(place) = out.get_mut(usize::from(*slot)) {
                        *place = Some(v);
                    }
                    // The next pattern key may be the same one (`=(x)` beside `x`).
                    break;
                }
                Ordering::Greater => break,
            }
        }
        if current.is_none() {
            return;
        }
    }
}

/// [`quick`] for a map: [`Walk::map_entries`]'s order, anchors first. A map of several keys
/// reads the resource map in one pass first ([`gather`]); one key is looked up.
fn quick_map(resource: &Map<String, Value>, pattern: &MapNode) -> Option<Quick> {
    if pattern.sorted.is_empty() {
        return quick_entries(pattern, |_, key| get(resource, key));
    }
    let mut found = [None; MERGED_KEYS];
    gather(resource, &pattern.sorted, &mut found);
    quick_entries(pattern, |slot, _| found.get(slot).copied().flatten())
}

/// [`quick_map`]'s walk of the entries, `lookup` giving the value of an entry (by slot and key).
#[inline(always)]
fn quick_entries<'r>(
    pattern: &MapNode,
    lookup: impl Fn(usize, &str) -> Option<&'r Value>,
) -> Option<Quick> {
    for (slot, a) in pattern.anchors.iter().enumerate() {
        let value = lookup(slot, &a.key);
        let outcome = match (a.kind, value) {
            (AnchorKind::Negation, Some(_)) => Quick::Fail,
            (AnchorKind::Equality, Some(v)) => quick_node(v, &a.node)?,
            (AnchorKind::Condition, Some(v)) => match quick_node(v, &a.node)? {
                Quick::Pass => Quick::Pass,
                Quick::Skip | Quick::Fail => Quick::Skip,
            },
            (AnchorKind::Condition, None) => Quick::Skip,
            (AnchorKind::Existence | AnchorKind::AddIfNotPresent | AnchorKind::Global, _) => {
                return None;
            }
            (AnchorKind::Negation | AnchorKind::Equality, None) => Quick::Pass,
        };
        if outcome != Quick::Pass {
            return Some(outcome);
        }
    }
    for (slot, p) in (pattern.anchors.len()..).zip(&pattern.plain) {
        let outcome = match p {
            PlainEntry::Global(key, node) => match lookup(slot, key) {
                Some(v) => match quick_node(v, node)? {
                    Quick::Pass => Quick::Pass,
                    Quick::Skip | Quick::Fail => Quick::Skip,
                },
                None => Quick::Pass,
            },
            PlainEntry::Key(key, node) => {
                let value = lookup(slot, key).unwrap_or(&Value::Null);
                if matches!(node, Node::Leaf(leaf) if leaf.pattern().as_str() == Some("*")) {
                    pass_if(!value.is_null())
                } else {
                    quick_node(value, node)?
                }
            }
        };
        if outcome != Quick::Pass {
            return Some(outcome);
        }
    }
    Some(Quick::Pass)
}

thread_local! {
    /// The buffers of the last walk on this thread, empty, for the next one: a walk runs for
    /// every pattern rule (and foreach element) of every request, and would otherwise
    /// allocate and free its path and anchor list each time.
    static WALK_BUFFERS: Cell<Option<Walk>> = const { Cell::new(None) };
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

/// The walk's state (kept between walks, see [`WALK_BUFFERS`]). Paths and messages are only built when something fails: the walk runs
/// for every rule on every request, and a passing walk allocates nothing but the path buffer.
///
/// The walk keeps Kyverno's order: anchors before plain keys, keys holding anchors first
/// (see [`MapNode`]); side effects on `anchors_seen` depend on it.
#[derive(Default)]
struct Walk {
    /// For each conditional, existence and negation anchor key: seen in the resource? Few
    /// distinct keys per pattern, so a list beats a map.
    anchors_seen: Vec<(Arc<str>, bool)>,
    /// Kyverno-style path of the element being matched (`/spec/containers/0/`), extended and
    /// truncated as the walk descends and returns.
    path: String,
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
        let len = self.path.len();
        push_decimal(&mut self.path, index);
        self.path.push('/');
        let r = f(self);
        self.path.truncate(len);
        r
    }

    fn element(&mut self, resource: &Value, pattern: &Node) -> Step {
        match pattern {
            Node::Map(pattern_map) => {
                let Value::Object(resource_map) = resource else {
                    return Err((
                        self.here(),
                        WalkError::plain(format!(
                            "pattern and resource have different structures. Path: {}. Expected {}, found {}",
                            self.path,
                            pattern.go_type(),
                            go_type(resource)
                        )),
                    ));
                };
                self.note_anchors(pattern_map, resource_map);
                self.map(resource_map, pattern_map)
            }
            Node::Array(pattern_items) => {
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
            Node::Leaf(leaf) => self.leaf(resource, leaf),
        }
    }

    fn leaf(&mut self, resource: &Value, pattern: &Leaf) -> Step {
        let ok = match resource {
            Value::Array(items) => items.iter().all(|item| pattern.matches(item)),
            other => pattern.matches(other),
        };
        if ok {
            return Ok(());
        }
        Err(self.leaf_error(&go_sprint(resource), pattern.pattern()))
    }

    /// A leaf pattern applied to every element of a resource array.
    fn leaf_items(&mut self, items: &[Value], pattern: &Leaf) -> Step {
        if items.iter().all(|item| pattern.matches(item)) {
            return Ok(());
        }
        Err(self.leaf_error(&go_sprint(&Value::Array(items.to_vec())), pattern.pattern()))
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

    fn note_anchors(&mut self, pattern: &MapNode, resource: &Map<String, Value>) {
        for (key, bare) in &pattern.noted {
            let present = resource.contains_key(&**bare);
            // The same written key usually comes from the same pattern node: pointers first.
            match self
                .anchors_seen
                .iter_mut()
                .find(|(k, _)| Arc::ptr_eq(k, key) || k == key)
            {
                Some((_, seen)) => *seen |= present,
                None => self.anchors_seen.push((key.clone(), present)),
            }
        }
    }

    fn map(&mut self, resource: &Map<String, Value>, pattern: &MapNode) -> Step {
        if let Some(source) = &pattern.expandable
            && let Some(expanded) = expand_metadata_wildcards(source, resource)
        {
            // Expanded once, as Kyverno does.
            return self.map_entries(resource, &MapNode::new(&expanded));
        }
        self.map_entries(resource, pattern)
    }

    fn map_entries(&mut self, resource: &Map<String, Value>, pattern: &MapNode) -> Step {
        for a in &pattern.anchors {
            self.anchor(a.kind, &a.key, &a.node, resource)?;
        }
        for p in &pattern.plain {
            match p {
                PlainEntry::Global(key, node) => {
                    self.anchor(AnchorKind::Global, key, node, resource)?;
                }
                PlainEntry::Key(key, node) => self.plain_key(key, node, resource)?,
            }
        }
        Ok(())
    }

    fn plain_key(&mut self, key: &str, pattern: &Node, resource: &Map<String, Value>) -> Step {
        let value = resource.get(key).unwrap_or(&Value::Null);
        if matches!(pattern, Node::Leaf(leaf) if leaf.pattern().as_str() == Some("*")) {
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
        kind: AnchorKind,
        key: &str,
        pattern: &Node,
        resource: &Map<String, Value>,
    ) -> Step {
        let value = resource.get(key);
        match kind {
            AnchorKind::Negation => match value {
                Some(_) => self.descend(key, |w| {
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
                Some(v) => self.descend(key, |w| w.element(v, pattern)),
                None => Ok(()),
            },
            AnchorKind::Condition => match value {
                Some(v) => self
                    .descend(key, |w| w.element(v, pattern))
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
                None => self.descend(key, |w| {
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
                    .descend(key, |w| w.element(v, pattern))
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
                Some(v) => self.descend(key, |w| w.existence(v, pattern)),
                None => Ok(()),
            },
            // Validation treats `+(key)` as a plain key (see `MapNode`); kept for completeness.
            AnchorKind::AddIfNotPresent => self.plain_key(&format!("+({key})"), pattern, resource),
        }
    }

    fn existence(&mut self, value: &Value, pattern: &Node) -> Step {
        let Value::Array(items) = value else {
            return Err((
                self.here(),
                WalkError::plain(format!(
                    "invalid resource type {}: Existence ^ () anchor can be used only on list/array type resource",
                    go_type(value)
                )),
            ));
        };
        let Node::Array(patterns) = pattern else {
            return Err((
                self.here(),
                WalkError::plain(format!(
                    "invalid pattern type {}: Pattern has to be of list to compare against resource",
                    pattern.go_type()
                )),
            ));
        };
        for p in patterns {
            if !matches!(p, Node::Map(_)) {
                return Err((
                    self.here(),
                    WalkError::plain(format!(
                        "invalid pattern type {}: Pattern has to be of type map to compare against items in resource",
                        pattern.go_type()
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

    fn array(&mut self, resource: &[Value], pattern: &[Node]) -> Step {
        let Some(first) = pattern.first() else {
            return Err((
                self.here(),
                WalkError::plain("pattern Array empty".to_string()),
            ));
        };
        match first {
            Node::Map(_) => self.array_of_maps(resource, first),
            Node::Array(_) => self.array_positional(resource, pattern),
            Node::Leaf(leaf) => self.leaf_items(resource, leaf),
        }
    }

    fn array_of_maps(&mut self, resource: &[Value], pattern: &Node) -> Step {
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

    fn array_positional(&mut self, resource: &[Value], pattern: &[Node]) -> Step {
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

/// Appends `n` in decimal (array indexes, on every element: no formatting machinery).
fn push_decimal(out: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    for d in digits.get(i..).unwrap_or_default() {
        out.push(char::from(*d));
    }
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
