//! A variable-free patch prepared once: which maps hold `+(key)` anchors, the list templates
//! and their conditions, and the anchor-free content already cleaned. Preprocessing it walks
//! the patch by reference and builds only what it keeps, instead of copying the whole patch,
//! resolving the copy in place and cleaning it again.
//!
//! It covers the common shape only: `+(key)` anywhere, and conditions `(key): "pattern"` on the
//! top level of a list template that is the only element of its list (no global anchors, no
//! conditions elsewhere, no templates inside templates, no condition-like strings). For
//! anything else [`Plan::new`] gives `None`, and where the resource would make the walk fail
//! (a list of maps against something else, an unusual element name) [`Plan::preprocess`] does,
//! so the caller falls back to [`super::preprocess`], which reports it. The result is the one
//! `preprocess` gives, Kyverno's quirks included: a template's `+(key)` resolved against one
//! element stays resolved for the next ones.

use super::as_pattern_input;
use super::cleanup::{delete_anchors, is_nil_or_empty};
use super::key::{AnchorKind, is_condition, parse};
use super::{ConditionMatcher, Preprocessed};
use serde_json::{Map, Value};

/// Patches nested deeper than this are left to the general walk (its depth limit is larger).
const MAX_PLAN_DEPTH: usize = 64;

/// A prepared variable-free `patchStrategicMerge` patch (see the module docs).
#[derive(Debug, Clone)]
pub struct Plan {
    root: MapPlan,
    /// Every key the preprocessed patch can have, for [`crate::diff::diff_guided`].
    guide: GuideMap,
}

/// The keys a preprocessed patch map can have (a superset: `+(key)` dropped or not), sorted,
/// with what can be below each.
#[derive(Debug, Clone)]
pub(crate) struct GuideMap {
    pub(crate) keys: Vec<(String, Guide)>,
}

/// What the preprocessed patch can have at a key.
#[derive(Debug, Clone)]
pub(crate) enum Guide {
    /// Anything: compared in full.
    Full,
    /// A map with these keys.
    Map(GuideMap),
    /// A list of template copies, each a map with these keys.
    List(GuideMap),
}

#[derive(Debug, Clone)]
struct MapPlan {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// The key without its anchor.
    key: String,
    /// `+(key)`: the index of its resolution in a template's state, or `NOT_IN_TEMPLATE`.
    add: Option<usize>,
    node: Node,
}

#[derive(Debug, Clone)]
enum Node {
    /// Anchor-free content: the value the cleanup leaves of it (`None`: dropped), and the key
    /// paths below it where the walk meets a list of maps (the resource must have a list there).
    Const {
        value: Option<Value>,
        lists: Vec<Vec<String>>,
    },
    Map(MapPlan),
    Template(Box<Template>),
}

#[derive(Debug, Clone)]
struct Template {
    /// `(key): pattern`, in key order.
    conditions: Vec<(String, Value)>,
    body: MapPlan,
    /// How many `+(key)` anchors the body has (the size of its state).
    adds: usize,
}

/// Where a `+(key)` outside templates is resolved: against the resource, once.
const NOT_IN_TEMPLATE: usize = usize::MAX;

/// A template's `+(key)` resolution, shared by all elements (Kyverno's quirk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Kept,
    Dropped,
}

/// The walk met something only the general walk handles (it reports errors).
struct Fallback;

impl Plan {
    /// Prepares `patch`, or `None` when its shape is not covered (see the module docs).
    pub fn new(patch: &Value) -> Option<Plan> {
        let Value::Object(map) = patch else {
            return None;
        };
        let root = map_plan(map, false, &mut 0, 0)?;
        let guide = guide_map(&root, false);
        Some(Plan { root, guide })
    }

    /// The keys the preprocessed patch can have.
    pub(crate) fn guide(&self) -> &GuideMap {
        &self.guide
    }

    /// What [`super::preprocess`] gives for this patch and `resource`, or `None` when the
    /// general walk must decide.
    pub fn preprocess(&self, resource: &Value, m: &dyn ConditionMatcher) -> Option<Preprocessed> {
        let mut out = Map::new();
        for e in &self.root.entries {
            // Outside templates, a `+(key)` is dropped where the resource has the key.
            if e.add.is_some() && has_key(Some(resource), &e.key) {
                continue;
            }
            if let Some(v) = self.emit_node(&e.node, resource.get(&e.key), m).ok()? {
                out.insert(e.key.clone(), v);
            }
        }
        Some(Preprocessed::Patch(Value::Object(out)))
    }

    fn emit_node(
        &self,
        node: &Node,
        resource: Option<&Value>,
        m: &dyn ConditionMatcher,
    ) -> Result<Option<Value>, Fallback> {
        match node {
            Node::Const { value, lists } => {
                check_lists(lists, resource)?;
                Ok(value.clone())
            }
            Node::Map(map) => {
                let mut out = Map::new();
                for e in &map.entries {
                    if e.add.is_some() && has_key(resource, &e.key) {
                        continue;
                    }
                    let child = resource.and_then(|r| r.get(&e.key));
                    if let Some(v) = self.emit_node(&e.node, child, m)? {
                        out.insert(e.key.clone(), v);
                    }
                }
                Ok((!out.is_empty()).then_some(Value::Object(out)))
            }
            Node::Template(t) => t.emit(resource, m),
        }
    }
}

impl Template {
    /// The copies bound to the resource list's elements (`None`: the list is dropped).
    fn emit(
        &self,
        resource: Option<&Value>,
        m: &dyn ConditionMatcher,
    ) -> Result<Option<Value>, Fallback> {
        let elements: &[Value] = match resource {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => items,
            Some(_) => return Err(Fallback),
        };
        let mut state = vec![State::Open; self.adds];
        let mut out = Vec::new();
        for element in elements {
            // The top level's `+(key)` are resolved before the conditions, so also by elements
            // that fail them.
            resolve(&self.body, &mut state, Some(element));
            if !self.conditions_hold(element, m) {
                continue;
            }
            walk(&self.body, &mut state, Some(element))?;
            let name = match element.get("name").filter(|n| !is_nil_or_empty(n)) {
                None => continue,
                Some(Value::String(s)) if is_condition(s) => return Err(Fallback),
                Some(n @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => n,
                Some(_) => return Err(Fallback),
            };
            if let Some(mut copy) = emit_body(&self.body, &state)? {
                copy.insert("name".to_string(), name.clone());
                out.push(Value::Object(copy));
            }
        }
        Ok((!out.is_empty()).then_some(Value::Array(out)))
    }

    fn conditions_hold(&self, element: &Value, m: &dyn ConditionMatcher) -> bool {
        self.conditions.iter().all(|(key, pattern)| {
            let Some(rv) = element.as_object().and_then(|e| e.get(key)) else {
                return false;
            };
            matches!(m.matches(&as_pattern_input(rv), pattern), Ok(true))
        })
    }
}

/// Resolves a template map's open `+(key)` against its resource node.
fn resolve(map: &MapPlan, state: &mut [State], resource: Option<&Value>) {
    for e in &map.entries {
        if let Some(slot) = e.add.and_then(|i| state.get_mut(i))
            && *slot == State::Open
        {
            *slot = if has_key(resource, &e.key) {
                State::Dropped
            } else {
                State::Kept
            };
        }
    }
}

/// The general walk below a template's top level, for an element whose conditions hold:
/// nested maps resolve their `+(key)`, and lists of maps must meet lists.
fn walk(map: &MapPlan, state: &mut [State], resource: Option<&Value>) -> Result<(), Fallback> {
    for e in &map.entries {
        if e.add.and_then(|i| state.get(i)) == Some(&State::Dropped) {
            continue;
        }
        let child = resource.and_then(|r| r.get(&e.key));
        match &e.node {
            Node::Const { lists, .. } => check_lists(lists, child)?,
            Node::Map(inner) => {
                resolve(inner, state, child);
                walk(inner, state, child)?;
            }
            Node::Template(_) => return Err(Fallback),
        }
    }
    Ok(())
}

/// A template copy as the cleanup leaves it (conditions gone, empty maps dropped).
fn emit_body(map: &MapPlan, state: &[State]) -> Result<Option<Map<String, Value>>, Fallback> {
    let mut out = Map::new();
    for e in &map.entries {
        match e.add.and_then(|i| state.get(i)) {
            Some(State::Dropped) => continue,
            Some(State::Open) => return Err(Fallback),
            _ => {}
        }
        let v = match &e.node {
            Node::Const { value, .. } => value.clone(),
            Node::Map(inner) => emit_body(inner, state)?.map(Value::Object),
            Node::Template(_) => return Err(Fallback),
        };
        if let Some(v) = v {
            out.insert(e.key.clone(), v);
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

fn has_key(resource: Option<&Value>, key: &str) -> bool {
    resource
        .and_then(Value::as_object)
        .is_some_and(|r| r.contains_key(key))
}

/// The general walk fails where a patch list of maps meets something other than a list.
fn check_lists(lists: &[Vec<String>], resource: Option<&Value>) -> Result<(), Fallback> {
    for path in lists {
        let mut at = resource;
        for key in path {
            at = at.and_then(|r| r.get(key));
        }
        if !matches!(at, None | Some(Value::Null | Value::Array(_))) {
            return Err(Fallback);
        }
    }
    Ok(())
}

/// Prepares a patch map; `in_template` for a template's body (where nested templates are
/// not covered). `adds` numbers the template's `+(key)` anchors.
fn map_plan(
    map: &Map<String, Value>,
    in_template: bool,
    adds: &mut usize,
    depth: usize,
) -> Option<MapPlan> {
    if depth > MAX_PLAN_DEPTH {
        return None;
    }
    let mut entries = Vec::with_capacity(map.len());
    for (k, v) in map {
        let (key, add) = match parse(k) {
            None => (k.clone(), None),
            Some(a) if a.kind == AnchorKind::AddIfNotPresent => {
                // `key` and `+(key)` together: the general walk's order decides; not covered.
                if map.contains_key(a.key) {
                    return None;
                }
                let slot = if in_template {
                    *adds += 1;
                    *adds - 1
                } else {
                    NOT_IN_TEMPLATE
                };
                (a.key.to_string(), Some(slot))
            }
            Some(_) => return None,
        };
        let node = node_plan(v, in_template, adds, depth + 1)?;
        entries.push(Entry { key, add, node });
    }
    Some(MapPlan { entries })
}

fn node_plan(v: &Value, in_template: bool, adds: &mut usize, depth: usize) -> Option<Node> {
    if depth > MAX_PLAN_DEPTH {
        return None;
    }
    if !has_any_anchor(v, depth)? {
        let mut lists = Vec::new();
        list_paths(v, &mut Vec::new(), &mut lists);
        let mut value = v.clone();
        let dropped = delete_anchors(&mut value, false, false);
        return Some(Node::Const {
            value: (!dropped).then_some(value),
            lists,
        });
    }
    match v {
        Value::Object(map) => map_plan(map, in_template, adds, depth).map(Node::Map),
        Value::Array(items) if !in_template => match items.as_slice() {
            [Value::Object(t)] => template_plan(t, depth).map(|t| Node::Template(Box::new(t))),
            _ => None,
        },
        _ => None,
    }
}

fn template_plan(t: &Map<String, Value>, depth: usize) -> Option<Template> {
    let mut conditions = Vec::new();
    let mut body = Map::new();
    for (k, v) in t {
        match parse(k) {
            Some(a) if a.kind == AnchorKind::Condition => match v {
                Value::String(_) => conditions.push((a.key.to_string(), v.clone())),
                _ => return None,
            },
            _ => {
                body.insert(k.clone(), v.clone());
            }
        }
    }
    let mut adds = 0;
    let body = map_plan(&body, true, &mut adds, depth + 1)?;
    Some(Template {
        conditions,
        body,
        adds,
    })
}

/// Whether `v` holds an anchor key or a condition-like string; `None` (not covered) for keys
/// of other anchor kinds and for strings that look like conditions.
fn has_any_anchor(v: &Value, depth: usize) -> Option<bool> {
    if depth > MAX_PLAN_DEPTH {
        return None;
    }
    match v {
        Value::Object(m) => {
            let mut found = false;
            for (k, c) in m {
                if let Some(a) = parse(k) {
                    match a.kind {
                        AnchorKind::Condition | AnchorKind::AddIfNotPresent => found = true,
                        _ => return None,
                    }
                }
                found |= has_any_anchor(c, depth + 1)?;
            }
            Some(found)
        }
        Value::Array(items) => {
            let mut found = false;
            for c in items {
                found |= has_any_anchor(c, depth + 1)?;
            }
            Some(found)
        }
        Value::String(s) if is_condition(s) => None,
        _ => Some(false),
    }
}

/// The key paths (through maps only, as the walk goes) to lists whose first element is a map.
fn list_paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                at.push(k.clone());
                list_paths(c, at, out);
                at.pop();
            }
        }
        Value::Array(items) if items.first().is_some_and(Value::is_object) => {
            out.push(at.clone());
        }
        _ => {}
    }
}

/// The guide of a prepared map; a template's copies also get `name`.
fn guide_map(map: &MapPlan, template: bool) -> GuideMap {
    let mut keys: Vec<(String, Guide)> = map
        .entries
        .iter()
        .map(|e| {
            let g = match &e.node {
                Node::Const { .. } => Guide::Full,
                Node::Map(inner) => Guide::Map(guide_map(inner, false)),
                Node::Template(t) => Guide::List(guide_map(&t.body, true)),
            };
            (e.key.clone(), g)
        })
        .collect();
    if template {
        // The copy's `name` is the element's, whatever the template says about it.
        keys.retain(|(k, _)| k != "name");
        keys.push(("name".to_string(), Guide::Full));
    }
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    GuideMap { keys }
}
