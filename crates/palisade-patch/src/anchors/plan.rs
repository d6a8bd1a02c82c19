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
use crate::error::PatchError;
use crate::meta::{self, Ctx};
use crate::path::Path;
use crate::smp::Merger;
use serde_json::{Map, Value};
use std::cell::Cell;

/// Patches nested deeper than this are left to the general walk (its depth limit is larger).
const MAX_PLAN_DEPTH: usize = 64;

/// A prepared variable-free `patchStrategicMerge` patch (see the module docs).
#[derive(Debug, Clone)]
pub struct Plan {
    root: MapPlan,
    /// Every key the preprocessed patch can have, for [`crate::diff::diff_guided`].
    guide: GuideMap,
    /// Whether [`Plan::merge`] may merge as it preprocesses: no map of the plan has a key that
    /// the merge reads as a directive (`$...`), and none has more keys than `Named` holds.
    fused: bool,
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
    /// In key order (the unanchored keys, as the preprocessed patch map has them).
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
    /// Whether the body can be merged into elements without building copies: no `name` entry
    /// (the copy's `name` is the element's) and no key the merge reads as a directive.
    fused: bool,
}

impl Entry {
    /// Whether a template copy built with `state` has this entry: not where its `+(key)` was
    /// dropped; one not yet resolved is left to the general walk.
    fn in_copy(&self, state: &[State]) -> Result<bool, Fallback> {
        match self.add.and_then(|i| state.get(i)) {
            Some(State::Dropped) => Ok(false),
            Some(State::Open) => Err(Fallback),
            _ => Ok(true),
        }
    }
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
        let fused = fusable(&root);
        Some(Plan { root, guide, fused })
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
            if let Some(v) = emit_node(&e.node, resource.get(&e.key), m).ok()? {
                out.insert(e.key.clone(), v);
            }
        }
        Some(Preprocessed::Patch(Value::Object(out)))
    }
}

/// What the preprocessed patch has for `node` against its resource node (`None`: nothing).
fn emit_node(
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
                if let Some(v) = emit_node(&e.node, child, m)? {
                    out.insert(e.key.clone(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        Node::Template(t) => t.emit(resource, m),
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

/// Why the fused merge stopped: the caller falls back to preprocessing and merging apart,
/// which decides (and reports any error).
struct Stop;

impl From<Fallback> for Stop {
    fn from(_: Fallback) -> Self {
        Stop
    }
}

impl From<PatchError> for Stop {
    fn from(_: PatchError) -> Self {
        Stop
    }
}

/// The entries of one plan map that the preprocessed patch has, by index (at most 64 keys).
type Named = u64;

impl Plan {
    /// [`crate::strategic_merge_traced`] of `resource` (of `apiVersion`/`kind`) with the patch
    /// [`Plan::preprocess`] gives, in one walk: the patch's maps are never built, each of their
    /// fields is merged where the resource has its map, and a list template whose copies would
    /// merge into the resource's elements index by index is merged element by element without
    /// building the copies. `None` where preprocessing or merging apart must decide.
    pub fn merge(
        &self,
        resource: &Value,
        m: &dyn ConditionMatcher,
        api_version: &str,
        kind: &str,
    ) -> Option<(Value, bool)> {
        if !self.fused {
            return None;
        }
        let Value::Object(map) = resource else {
            return None;
        };
        let table = meta::table().ok()?;
        let merger = Merger {
            meta: table,
            disturbed: Cell::new(false),
        };
        let mut out = map.clone();
        let ctx = table.root(api_version, kind);
        merge_map(&self.root, &mut out, ctx, &Path::ROOT, &merger, m).ok()?;
        Some((Value::Object(out), !merger.disturbed.get()))
    }
}

/// Merges the preprocessed form of `plan` into the resource map `rest`, as the merge's
/// `merge_owned_fields` does with the built patch map: each field the patch has is merged in
/// key order, then the unnamed fields are pruned, then new fields are added.
fn merge_map(
    plan: &MapPlan,
    rest: &mut Map<String, Value>,
    ctx: Ctx,
    path: &Path<'_>,
    merger: &Merger,
    m: &dyn ConditionMatcher,
) -> Result<(), Stop> {
    let mut named: Named = 0;
    for (i, e) in plan.entries.iter().enumerate() {
        // A `+(key)` is dropped where the resource has the key. Earlier fields were merged in
        // their own slots, so the resource's keys are still the original ones.
        if e.add.is_some() && rest.contains_key(&e.key) {
            continue;
        }
        let child = rest.get(&e.key);
        let pv = match &e.node {
            Node::Map(inner) if matches!(child, Some(Value::Object(_))) => {
                // Merging the inner patch map into the resource's map, or leaving the map to
                // the pruning when the patch has nothing there, both prune each of its fields
                // that the patch does not name: the walk below does either.
                let (child_ctx, _) = merger.meta.field(ctx, &e.key);
                if let Some(Value::Object(cm)) = rest.get_mut(&e.key) {
                    merge_map(inner, cm, child_ctx, &path.key(&e.key), merger, m)?;
                }
                named |= 1 << i;
                continue;
            }
            Node::Template(t) if merge_template(t, rest, &e.key, ctx, path, merger, m)? => {
                named |= 1 << i;
                continue;
            }
            node => emit_node(node, rest.get(&e.key), m)?,
        };
        if let Some(pv) = pv {
            named |= 1 << i;
            // A new field goes in at once: the pruning below passes over named fields.
            if let Some(v) = merger.merge_field(rest, &e.key, pv, ctx, path)? {
                rest.insert(e.key.clone(), v);
            }
        }
    }
    finish(&plan.entries, named, rest, ctx, path, merger)
}

/// [`Merger::finish_fields`] with the named entries' keys.
fn finish(
    entries: &[Entry],
    named: Named,
    rest: &mut Map<String, Value>,
    ctx: Ctx,
    path: &Path<'_>,
    merger: &Merger,
) -> Result<(), Stop> {
    let keys = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| named & (1 << i) != 0)
        .map(|(_, e)| e.key.as_str());
    merger.finish_fields(rest, keys, ctx, path)?;
    Ok(())
}

/// Merges a list template into the resource's list at `rest[key]` element by element, where
/// the merge would match copy i to element i: the list merges on `name` alone, and every
/// element gets a copy, under a distinct non-empty string name. The copy's `name` is the
/// element's own (merging it changes nothing), so only the body's fields are merged. `false`
/// (nothing changed) where that does not hold.
fn merge_template(
    t: &Template,
    rest: &mut Map<String, Value>,
    key: &str,
    ctx: Ctx,
    path: &Path<'_>,
    merger: &Merger,
    m: &dyn ConditionMatcher,
) -> Result<bool, Stop> {
    let (list_ctx, field) = merger.meta.field(ctx, key);
    let by_name = field
        .and_then(|f| f.list.as_ref())
        .is_some_and(|l| l.merge && l.match_keys.len() == 1 && l.match_keys[0] == "name");
    if !by_name || !t.fused {
        return Ok(false);
    }
    let Some(states) = (match rest.get(key) {
        Some(Value::Array(items)) if !items.is_empty() => t.bind(items, m)?,
        _ => None,
    }) else {
        return Ok(false);
    };
    let Some(Value::Array(items)) = rest.get_mut(key) else {
        return Ok(false);
    };
    let list_path = path.key(key);
    let width = t.adds;
    let mut settled = Settled::default();
    let mut previous: Option<&[State]> = None;
    for (i, element) in items.iter_mut().enumerate() {
        let Value::Object(em) = element else {
            return Err(Stop);
        };
        let state = states.get(i * width..(i + 1) * width).ok_or(Stop)?;
        if previous != Some(state) {
            settled = Settled::default();
        }
        previous = Some(state);
        let elem_path = list_path.index(i);
        merge_body(
            &t.body,
            state,
            em,
            list_ctx,
            &elem_path,
            merger,
            &mut settled,
        )?;
    }
    Ok(true)
}

/// Which body entries' values settle as they are when new to an element (the merge takes them
/// whole), by entry index: the same for every element bound with the same state.
#[derive(Default)]
struct Settled {
    known: Named,
    settles: Named,
}

/// Whether [`emit_body`] gives a copy (it fails where it does), without building it.
fn body_emits(map: &MapPlan, state: &[State]) -> Result<bool, Fallback> {
    let mut any = false;
    for e in &map.entries {
        if !e.in_copy(state)? {
            continue;
        }
        any |= match &e.node {
            Node::Const { value, .. } => value.is_some(),
            Node::Map(inner) => body_emits(inner, state)?,
            Node::Template(_) => return Err(Fallback),
        };
    }
    Ok(any)
}

/// Merges a template body, as [`emit_body`] builds it for `state`, into one element.
fn merge_body(
    body: &MapPlan,
    state: &[State],
    rest: &mut Map<String, Value>,
    ctx: Ctx,
    path: &Path<'_>,
    merger: &Merger,
    settled: &mut Settled,
) -> Result<(), Stop> {
    let mut named: Named = 0;
    for (i, e) in body.entries.iter().enumerate() {
        if !e.in_copy(state)? {
            continue;
        }
        let pv = match &e.node {
            Node::Const { value, .. } => value.clone(),
            Node::Map(inner) => emit_body(inner, state)?.map(Value::Object),
            Node::Template(_) => return Err(Stop),
        };
        if let Some(pv) = pv {
            named |= 1 << i;
            let bit: Named = 1 << i;
            if !rest.contains_key(&e.key) {
                // What `merge_field` does with a new field that settles as it is, without
                // asking the schema again for each element.
                if settled.known & bit == 0 {
                    let (child_ctx, field) = if pv.is_object() || pv.is_array() {
                        merger.meta.field(ctx, &e.key)
                    } else {
                        (Ctx::Unknown, None)
                    };
                    if merger.settles_as_is(&pv, child_ctx, field, path.depth() + 1) {
                        settled.settles |= bit;
                    }
                    settled.known |= bit;
                }
                if settled.settles & bit != 0 {
                    rest.insert(e.key.clone(), pv);
                    continue;
                }
            }
            if let Some(v) = merger.merge_field(rest, &e.key, pv, ctx, path)? {
                rest.insert(e.key.clone(), v);
            }
        }
    }
    finish(&body.entries, named, rest, ctx, path, merger)
}

impl Template {
    /// The `+(key)` state each element's copy is built with (`adds` per element, in element
    /// order), when [`Template::emit`] gives every element a copy under a distinct non-empty
    /// string name; `None` otherwise.
    fn bind(
        &self,
        elements: &[Value],
        m: &dyn ConditionMatcher,
    ) -> Result<Option<Vec<State>>, Fallback> {
        let mut state = vec![State::Open; self.adds];
        let mut states = Vec::with_capacity(self.adds * elements.len());
        for (i, element) in elements.iter().enumerate() {
            resolve(&self.body, &mut state, Some(element));
            if !self.conditions_hold(element, m) {
                return Ok(None);
            }
            walk(&self.body, &mut state, Some(element))?;
            let name = match element.get("name").filter(|n| !is_nil_or_empty(n)) {
                Some(Value::String(s)) if is_condition(s) => return Err(Fallback),
                Some(Value::String(s)) => s,
                _ => return Ok(None),
            };
            let repeated = elements
                .iter()
                .take(i)
                .any(|e| e.get("name").and_then(Value::as_str) == Some(name));
            if repeated || !body_emits(&self.body, &state)? {
                return Ok(None);
            }
            states.extend_from_slice(&state);
        }
        Ok(Some(states))
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
        if !e.in_copy(state)? {
            continue;
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
    // Unanchoring can reorder keys (`+(b)` sorts before `a`); the fused merge needs key order.
    entries.sort_by(|a, b| a.key.cmp(&b.key));
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
    let fused = body.entries.len() <= MAX_NAMED
        && body
            .entries
            .iter()
            .all(|e| e.key != "name" && !e.key.starts_with('$'));
    Some(Template {
        conditions,
        body,
        adds,
        fused,
    })
}

/// How many keys a plan map may have for the fused merge (the bits of `Named`).
const MAX_NAMED: usize = Named::BITS as usize;

/// Whether every map of the plan outside templates can be merged as it is walked (see
/// [`Plan::merge`]); templates that cannot are built and merged as copies.
fn fusable(map: &MapPlan) -> bool {
    map.entries.len() <= MAX_NAMED
        && map.entries.iter().all(|e| {
            !e.key.starts_with('$')
                && match &e.node {
                    Node::Map(inner) => fusable(inner),
                    Node::Const { .. } | Node::Template(_) => true,
                }
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
