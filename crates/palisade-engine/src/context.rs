//! The variable context of one evaluation: Kyverno's JSON context (`request`, `images`,
//! `element`, context entries, ...) with cheap checkpoints for foreach and context entries.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::jp::{self, Expression};
use crate::validate::pattern::CompiledPattern;
use crate::variables::VarError;

/// Caches compiled JMESPath expressions by their text, and holds the prepared validate
/// patterns of a compiled policy's rules.
#[derive(Default, Debug)]
pub struct ExprCache {
    map: RwLock<BTreeMap<String, Arc<Expression>>>,
    /// Patterns without variables, by the address of the pattern value inside
    /// `CompiledPolicy::rules` (which is not modified after compiling), sorted.
    patterns: Vec<(usize, CompiledPattern)>,
    /// Per rule of `CompiledPolicy::rules`, in order: the rule's address, the plain kinds
    /// one of which a resource must have for the rule to match (see
    /// [`crate::matching::required_kinds`]), and whether the kind decides the match (see
    /// [`ExprCache::matches_by_kind`]).
    rule_kinds: Vec<RuleKinds>,
    /// The kind checks of the first 64 rules as masks (see [`KindMasks`]).
    kind_masks: KindMasks,
    /// Per rule of `CompiledPolicy::rules`, in order (so sorted by address): the rule's
    /// address, its name, shared by every response to the rule, and its pass message.
    rule_names: Vec<(usize, Arc<str>, Arc<str>)>,
    /// The policy (to recognise it) and its report name, shared by every response.
    report_name: Option<(Arc<palisade_api::Policy>, Arc<str>)>,
    /// Context-entry JMESPath texts without variables, compiled: by the address of the text
    /// in `CompiledPolicy::rules`, sorted, with the trimmed text.
    entry_paths: Vec<(usize, Box<str>, Arc<Expression>)>,
    /// Prepared conditions by the address of the condition in `CompiledPolicy::rules`, sorted.
    conditions: Vec<(usize, crate::conditions::prepared::Prepared)>,
    /// `patchStrategicMerge` patches without variables, by their address in
    /// `CompiledPolicy::rules`, sorted: substitution is skipped for them on every request. With
    /// each, its anchors prepared when their shape is covered.
    plain_patches: Vec<(usize, Option<palisade_patch::anchors::Plan>)>,
    /// The condition anchors' patterns of the rules' strategic merge patches, prepared (see
    /// [`crate::mutate::patcher::anchor_patterns`]).
    anchor_patterns: Vec<(Value, CompiledPattern)>,
    /// Foreach `list` texts without variables that JMESPath's borrowed-value evaluator covers,
    /// compiled, by the address of the text in `CompiledPolicy::rules`, sorted: read from the
    /// document without the expression cache's lock and map.
    foreach_lists: Vec<(usize, Expression)>,
}

impl ExprCache {
    /// Records the kinds each rule requires (see [`ExprCache::rejects_kind`]).
    pub(crate) fn set_rule_kinds(&mut self, rules: &[palisade_api::Rule]) {
        self.rule_kinds = rules
            .iter()
            .map(|r| {
                let kinds = crate::matching::required_kinds(&r.match_);
                let by_kind =
                    r.exclude.is_none() && crate::matching::selects_by_kinds_alone(&r.match_);
                (
                    std::ptr::from_ref(r).addr(),
                    kinds.map(Vec::into_boxed_slice),
                    by_kind,
                )
            })
            .collect();
        self.rule_names = rules
            .iter()
            .map(|r| {
                (
                    std::ptr::from_ref(r).addr(),
                    Arc::from(r.name.as_str()),
                    Arc::<str>::from(crate::validate::passed(&r.name)),
                )
            })
            .collect();
        self.kind_masks = KindMasks::new(rules, &self.rule_kinds);
    }

    /// [`KindMasks`] of the rules compiled, when `rules` is that list (unchanged since).
    pub(crate) fn kind_masks(&self, rules: &[palisade_api::Rule]) -> Option<&KindMasks> {
        let m = &self.kind_masks;
        (m.rules == (rules.as_ptr().addr(), rules.len()) && !rules.is_empty()).then_some(m)
    }

    /// The shared name and the pass message of `rule` when it is one of the compiled
    /// policy's rules, unchanged.
    pub(crate) fn rule_name(&self, rule: &palisade_api::Rule) -> Option<(&Arc<str>, &Arc<str>)> {
        let addr = std::ptr::from_ref(rule).addr();
        let i = self
            .rule_names
            .binary_search_by_key(&addr, |(a, _, _)| *a)
            .ok()?;
        self.rule_names
            .get(i)
            .filter(|(_, name, _)| **name == *rule.name)
            .map(|(_, name, passed)| (name, passed))
    }

    /// Records the policy's report name (see [`ExprCache::report_name`]).
    pub(crate) fn set_report_name(&mut self, policy: &Arc<palisade_api::Policy>) {
        self.report_name = Some((policy.clone(), Arc::from(policy.report_name())));
    }

    /// The shared report name of `policy` when it is the one compiled.
    pub(crate) fn report_name(&self, policy: &Arc<palisade_api::Policy>) -> Option<&Arc<str>> {
        self.report_name
            .as_ref()
            .filter(|(p, _)| Arc::ptr_eq(p, policy))
            .map(|(_, name)| name)
    }

    /// True when rule `index` of the compiled policy, `rule`, cannot match a resource of
    /// `kind` (false when unknown: a rule list changed after compiling is matched in full).
    pub(crate) fn rejects_kind(&self, index: usize, rule: &palisade_api::Rule, kind: &str) -> bool {
        match self.rule_kinds.get(index) {
            Some((addr, Some(kinds), _)) if *addr == std::ptr::from_ref(rule).addr() => {
                !kinds.iter().any(|k| k == kind)
            }
            _ => false,
        }
    }

    /// True when rule `index` of the compiled policy, `rule`, selects by plain kinds alone and
    /// has no `exclude` ([`crate::matching::selects_by_kinds_alone`]): once
    /// [`ExprCache::rejects_kind`] has let a resource through, its match is decided without
    /// reading it (in a cluster-wide policy).
    pub(crate) fn matches_by_kind(&self, index: usize, rule: &palisade_api::Rule) -> bool {
        match self.rule_kinds.get(index) {
            Some((addr, Some(_), by_kind)) => *by_kind && *addr == std::ptr::from_ref(rule).addr(),
            _ => false,
        }
    }

    /// Compiles the `variable.jmesPath` texts of the rules' context entries (foreach blocks
    /// included) that have no variables (see [`ExprCache::entry_path`]).
    pub(crate) fn set_entry_paths(&mut self, rules: &[palisade_api::Rule]) {
        fn add(
            cache: &ExprCache,
            out: &mut Vec<(usize, Box<str>, Arc<Expression>)>,
            entries: Option<&Vec<palisade_api::context::ContextEntry>>,
        ) {
            for e in entries.into_iter().flatten() {
                let Some(text) = e.variable.as_ref().and_then(|v| v.jmes_path.as_deref()) else {
                    continue;
                };
                let trimmed = text.trim();
                if trimmed.is_empty() || crate::variables::text_has_variables(text) {
                    continue;
                }
                if let Ok(compiled) = cache.get(trimmed) {
                    out.push((text.as_ptr().addr(), trimmed.into(), compiled));
                }
            }
        }
        fn foreach(
            cache: &ExprCache,
            out: &mut Vec<(usize, Box<str>, Arc<Expression>)>,
            list: &[palisade_api::validate::ForEachValidation],
        ) {
            for f in list {
                add(cache, out, f.context.as_ref());
                foreach(cache, out, f.foreach.as_deref().unwrap_or_default());
            }
        }
        let mut out = Vec::new();
        for rule in rules {
            add(self, &mut out, rule.context.as_ref());
            if let Some(v) = &rule.validate {
                foreach(self, &mut out, v.foreach.as_deref().unwrap_or_default());
            }
        }
        out.sort_by_key(|(addr, _, _)| *addr);
        self.entry_paths = out;
    }

    /// The trimmed text and compilation of a context entry's `jmesPath` when it is one of the
    /// policy's texts without variables (found by address).
    pub(crate) fn entry_path(&self, text: &str) -> Option<(&str, &Expression)> {
        if text.is_empty() {
            return None;
        }
        let addr = text.as_ptr().addr();
        let i = self
            .entry_paths
            .binary_search_by_key(&addr, |(a, _, _)| *a)
            .ok()?;
        self.entry_paths
            .get(i)
            .map(|(_, trimmed, compiled)| (&**trimmed, &**compiled))
    }

    /// Compiles the rules' foreach lists (nested blocks included) that have no variables and
    /// a shape the borrowed-value evaluator covers (see [`ExprCache::foreach_list`]).
    pub(crate) fn set_foreach_lists(&mut self, rules: &[palisade_api::Rule]) {
        fn foreach(
            out: &mut Vec<(usize, Expression)>,
            list: &[palisade_api::validate::ForEachValidation],
        ) {
            for f in list {
                let text = f.list.trim();
                let text = text
                    .strip_prefix("{{")
                    .and_then(|e| e.strip_suffix("}}"))
                    .unwrap_or(text)
                    .trim();
                // `images` is added to the document only for expressions that read it.
                if !text.is_empty()
                    && !crate::variables::text_has_variables(text)
                    && let Ok(compiled) = jp::compile(text)
                    && compiled.has_fast_form()
                    && !compiled.may_read_root_field("images")
                {
                    out.push((f.list.as_ptr().addr(), compiled));
                }
                foreach(out, f.foreach.as_deref().unwrap_or_default());
            }
        }
        let mut out = Vec::new();
        for v in rules.iter().filter_map(|r| r.validate.as_ref()) {
            foreach(&mut out, v.foreach.as_deref().unwrap_or_default());
        }
        out.sort_by_key(|(addr, _)| *addr);
        self.foreach_lists = out;
    }

    /// The compiled foreach `list` when it is one of the policy's texts recorded by
    /// [`ExprCache::set_foreach_lists`] (found by address).
    pub(crate) fn foreach_list(&self, list: &str) -> Option<&Expression> {
        if list.is_empty() || self.foreach_lists.is_empty() {
            return None;
        }
        let addr = list.as_ptr().addr();
        let i = self
            .foreach_lists
            .binary_search_by_key(&addr, |(a, _)| *a)
            .ok()?;
        self.foreach_lists.get(i).map(|(_, e)| e)
    }

    /// Sets the prepared conditions (see [`ExprCache::condition`]).
    pub(crate) fn set_conditions(
        &mut self,
        mut conditions: Vec<(usize, crate::conditions::prepared::Prepared)>,
    ) {
        conditions.sort_by_key(|(addr, _)| *addr);
        self.conditions = conditions;
    }

    /// The prepared form of `condition` when it is one of the policy's (found by address).
    pub(crate) fn condition(
        &self,
        condition: &palisade_api::Condition,
    ) -> Option<&crate::conditions::prepared::Prepared> {
        let addr = std::ptr::from_ref(condition).addr();
        let i = self
            .conditions
            .binary_search_by_key(&addr, |(a, _)| *a)
            .ok()?;
        self.conditions.get(i).map(|(_, p)| p)
    }

    /// Records the rules' strategic merge patches that have no variables (see
    /// [`ExprCache::is_plain_patch`]).
    pub(crate) fn set_plain_patches(&mut self, rules: &[palisade_api::Rule]) {
        let mut out: Vec<(usize, Option<palisade_patch::anchors::Plan>)> = rules
            .iter()
            .filter_map(|r| r.mutate.as_ref()?.patch_strategic_merge.as_ref())
            .filter(|p| !crate::variables::has_variables(p))
            .map(|p| {
                (
                    std::ptr::from_ref(p).addr(),
                    palisade_patch::anchors::Plan::new(p),
                )
            })
            .collect();
        out.sort_unstable_by_key(|(addr, _)| *addr);
        self.plain_patches = out;
        self.anchor_patterns = crate::mutate::patcher::anchor_patterns(rules);
    }

    /// The prepared condition-anchor patterns of the policy's strategic merge patches.
    pub(crate) fn anchor_patterns(&self) -> &[(Value, CompiledPattern)] {
        &self.anchor_patterns
    }

    /// Whether `patch` is one of the policy's strategic merge patches known at compile time to
    /// have no variables (found by address: a copy, or another policy's, is not).
    #[cfg(test)]
    pub(crate) fn is_plain_patch(&self, patch: &Value) -> bool {
        self.plain_patch(patch).is_some()
    }

    /// For one of the policy's plain patches (see [`ExprCache::is_plain_patch`]), its prepared
    /// anchors when their shape is covered (`Some(None)` when not).
    pub(crate) fn plain_patch(
        &self,
        patch: &Value,
    ) -> Option<Option<&palisade_patch::anchors::Plan>> {
        let addr = std::ptr::from_ref(patch).addr();
        let i = self
            .plain_patches
            .binary_search_by_key(&addr, |(a, _)| *a)
            .ok()?;
        self.plain_patches.get(i).map(|(_, plan)| plan.as_ref())
    }

    /// Sets the prepared patterns (see [`ExprCache::pattern`]).
    pub(crate) fn set_patterns(&mut self, mut patterns: Vec<(usize, CompiledPattern)>) {
        patterns.sort_by_key(|(addr, _)| *addr);
        self.patterns = patterns;
    }

    /// The prepared form of `pattern` when it is a variable-free pattern of the policy this
    /// cache belongs to (found by address: a copy of it, or another policy's, is not found).
    pub(crate) fn pattern(&self, pattern: &Value) -> Option<&CompiledPattern> {
        let addr = std::ptr::from_ref(pattern).addr();
        let i = self
            .patterns
            .binary_search_by_key(&addr, |(a, _)| *a)
            .ok()?;
        self.patterns.get(i).map(|(_, p)| p)
    }

    /// Compiles `expr`, or returns the cached compilation.
    pub fn get(&self, expr: &str) -> Result<Arc<Expression>, String> {
        if let Ok(map) = self.map.read()
            && let Some(e) = map.get(expr)
        {
            return Ok(e.clone());
        }
        let compiled = Arc::new(jp::compile(expr)?);
        if let Ok(mut map) = self.map.write() {
            // Bound the cache: expressions built from resource data could otherwise grow it.
            if map.len() < 4096 {
                map.insert(expr.to_string(), compiled.clone());
            }
        }
        Ok(compiled)
    }
}

/// The JSON document variables are evaluated against.
#[derive(Debug, Clone)]
pub struct EvalContext {
    root: Value,
    undo: Vec<(String, Option<Value>)>,
    deleting: bool,
    /// `images` is still to be added (see [`EvalContext::ensure_images`]).
    images_pending: bool,
    /// Results of expressions that read `request` alone, by text, found while `request` was
    /// as the request built it (see [`EvalContext::query_shared`]).
    shared: RefCell<Vec<SharedResult>>,
}

/// A rule's address, the plain kinds it requires (if any), and whether they decide its match.
type RuleKinds = (usize, Option<Box<[String]>>, bool);

/// What [`ExprCache::rejects_kind`] and [`ExprCache::matches_by_kind`] say about each of the
/// first 64 rules, as bit masks decided when compiling: a policy's rules are then sorted by
/// a resource's kind with one lookup instead of a comparison per rule and kind (autogen gives
/// each Pod rule two more, one naming six controller kinds).
#[derive(Debug, Default)]
pub(crate) struct KindMasks {
    /// The address and length of the rule list these describe.
    rules: (usize, usize),
    /// Validate rules that require no plain kinds (no kind rejects them).
    open: u64,
    /// Per kind some validate rule requires, sorted: the validate rules that accept it.
    by_kind: Vec<(Box<str>, u64)>,
    /// Validate rules whose match the kind decides ([`ExprCache::matches_by_kind`]).
    pub(crate) kind_decides: u64,
}

impl KindMasks {
    fn new(rules: &[palisade_api::Rule], kinds: &[RuleKinds]) -> KindMasks {
        let mut m = KindMasks {
            rules: (rules.as_ptr().addr(), rules.len()),
            ..KindMasks::default()
        };
        for (i, (rule, (_, required, decides))) in rules.iter().zip(kinds).take(64).enumerate() {
            if rule.validate.is_none() {
                continue;
            }
            let bit = 1u64 << i;
            let Some(required) = required else {
                m.open |= bit;
                continue;
            };
            if *decides {
                m.kind_decides |= bit;
            }
            for kind in required.iter() {
                match m
                    .by_kind
                    .binary_search_by(|(k, _)| (**k).cmp(kind.as_str()))
                {
                    Ok(at) => {
                        if let Some((_, mask)) = m.by_kind.get_mut(at) {
                            *mask |= bit;
                        }
                    }
                    Err(at) => m.by_kind.insert(at, (kind.as_str().into(), bit)),
                }
            }
        }
        m
    }

    /// The validate rules among the first 64 that a resource of `kind` is not rejected by.
    pub(crate) fn accepting(&self, kind: &str) -> u64 {
        // A few kinds per policy (a Pod rule and its autogen rules name eight): a scan that
        // compares lengths and first bytes before the bytes calls `memcmp` about once, where
        // a binary search calls it at every step. This runs for every policy on every request.
        let first = kind.as_bytes().first();
        let named = self
            .by_kind
            .iter()
            .find(|(k, _)| k.len() == kind.len() && k.as_bytes().first() == first && **k == *kind)
            .map_or(0, |(_, mask)| *mask);
        self.open | named
    }
}

/// An expression's text and its result.
type SharedResult = (Box<str>, Result<Value, VarError>);

/// How many shared results a context keeps (a few preconditions recur across policies).
const SHARED_RESULTS: usize = 32;

impl EvalContext {
    /// A context holding `root` (an object whose keys are the top-level variables).
    pub fn new(root: Map<String, Value>) -> Self {
        let deleting = root
            .get("request")
            .and_then(|r| r.get("operation"))
            .and_then(Value::as_str)
            == Some("DELETE");
        EvalContext::with_operation(root, deleting)
    }

    /// [`EvalContext::new`] when the caller knows whether `request.operation` is DELETE.
    pub(crate) fn with_operation(root: Map<String, Value>, deleting: bool) -> Self {
        EvalContext {
            root: Value::Object(root),
            undo: Vec::new(),
            deleting,
            images_pending: false,
            shared: RefCell::new(Vec::new()),
        }
    }

    /// Leaves Kyverno's `images` variable out of the document until something reads it
    /// (computing it parses every image reference; most policies never read it). Queries
    /// that may read it see it as if it had been there from the start.
    pub(crate) fn with_lazy_images(mut self) -> Self {
        self.images_pending = true;
        self
    }

    /// Adds the left-out `images` variable to the document.
    fn ensure_images(&mut self) {
        if !self.images_pending {
            return;
        }
        self.images_pending = false;
        let images = crate::request::images_of(self.resource());
        if let (Some(images), Value::Object(map)) = (images, &mut self.root) {
            map.insert("images".into(), images);
        }
    }

    /// True when the document has the top-level variable `name`.
    pub fn has_variable(&self, name: &str) -> bool {
        self.root.get(name).is_some()
            || (self.images_pending
                && name == "images"
                && crate::request::images_of(self.resource()).is_some())
    }

    /// The whole document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The whole document, owned (variables set and not restored are still in it).
    pub fn into_root(self) -> Value {
        self.root
    }

    /// The resource under validation: `request.object`, or `request.oldObject` when there is
    /// no new object (DELETE).
    pub fn resource(&self) -> &Value {
        // Read for every pattern rule: the scanning lookup, not the map's search.
        fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
            match v {
                Value::Object(m) => palisade_jmespath::value::get(m, key),
                _ => None,
            }
        }
        let Some(req) = field(&self.root, "request") else {
            return &Value::Null;
        };
        match field(req, "object") {
            Some(o) if !o.is_null() && o.as_object().is_none_or(|m| !m.is_empty()) => o,
            _ => field(req, "oldObject").unwrap_or(&Value::Null),
        }
    }

    /// True when the request is a DELETE (variables on `request.object` read `request.oldObject`).
    pub fn is_delete(&self) -> bool {
        self.deleting
    }

    /// A checkpoint to return to with [`EvalContext::restore`].
    pub fn checkpoint(&self) -> usize {
        self.undo.len()
    }

    /// Undoes every `set` made after `checkpoint`.
    pub fn restore(&mut self, checkpoint: usize) {
        while self.undo.len() > checkpoint {
            let Some((key, old)) = self.undo.pop() else {
                break;
            };
            if let Value::Object(map) = &mut self.root {
                match old {
                    Some(v) => {
                        map.insert(key, v);
                    }
                    None => {
                        map.remove(&key);
                    }
                }
            }
        }
    }

    /// Sets a variable; a dotted name (`request.operation`) sets a nested field, as Kyverno's
    /// `AddVariable` does.
    pub fn set(&mut self, name: &str, value: Value) {
        let mut parts = name.split('.');
        let Some(top) = parts.next() else { return };
        if top == "images" {
            // Changes apply to the variable as it would have been.
            self.ensure_images();
        }
        let rest: Vec<&str> = parts.collect();
        let Value::Object(map) = &mut self.root else {
            return;
        };
        if rest.is_empty() {
            // The replaced value moves to the undo log (foreach replaces `element` per item).
            let old = map.insert(top.to_string(), value);
            self.undo.push((top.to_string(), old));
            return;
        }
        self.undo.push((top.to_string(), map.get(top).cloned()));
        let mut cursor = map
            .entry(top.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        for (i, part) in rest.iter().enumerate() {
            if !cursor.is_object() {
                *cursor = Value::Object(Map::new());
            }
            let Value::Object(m) = cursor else { return };
            if i + 1 == rest.len() {
                m.insert((*part).to_string(), value);
                return;
            }
            cursor = m
                .entry((*part).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }

    /// Evaluates a JMESPath expression against the context.
    pub fn query(
        &self,
        cache: &ExprCache,
        expr: &str,
        clock: &jp::Clock,
    ) -> Result<Value, VarError> {
        self.search(cache, expr, |compiled, root| {
            jp::search(compiled, root, clock)
        })
    }

    /// Evaluates a JMESPath expression against the context and hands `f` the result with a
    /// list's items kept apart, borrowed where they are parts of the context.
    pub(crate) fn query_items<T>(
        &self,
        cache: &ExprCache,
        expr: &str,
        clock: &jp::Clock,
        f: impl FnOnce(jp::Found<'_>) -> T,
    ) -> Result<T, VarError> {
        self.search(cache, expr, |compiled, root| {
            jp::search_items(compiled, root, clock).map(f)
        })
    }

    /// Compiles `expr` (or finds it compiled) and runs `search` with it on the document.
    fn search<T>(
        &self,
        cache: &ExprCache,
        expr: &str,
        search: impl FnOnce(&Expression, &Value) -> Result<T, jp::SearchError>,
    ) -> Result<T, VarError> {
        let expr = expr.trim();
        if expr.is_empty() {
            return Err(VarError::Query {
                expr: String::new(),
                message: "invalid query (nil)".into(),
            });
        }
        let compiled = cache.get(expr).map_err(|message| VarError::Query {
            expr: expr.to_string(),
            message,
        })?;
        self.search_compiled(&compiled, expr, search)
    }

    /// Evaluates an expression compiled beforehand; `expr` is its trimmed text.
    pub(crate) fn query_compiled(
        &self,
        compiled: &Expression,
        expr: &str,
        clock: &jp::Clock,
    ) -> Result<Value, VarError> {
        self.search_compiled(compiled, expr, |compiled, root| {
            jp::search(compiled, root, clock)
        })
    }

    /// [`EvalContext::query_compiled`] for an expression that reads `request` alone and
    /// calls no function ([`jp::reads_only_request`]): the same precondition recurs in many
    /// policies evaluated on one request, so its result is kept and reused as long as
    /// `request` is the one the request built (no `request.*` variable set since).
    pub(crate) fn query_shared(
        &self,
        compiled: &Expression,
        expr: &str,
        clock: &jp::Clock,
    ) -> Result<Value, VarError> {
        if self.undo.iter().any(|(key, _)| key == "request") {
            return self.query_compiled(compiled, expr, clock);
        }
        if let Some((_, found)) = self.shared.borrow().iter().find(|(e, _)| **e == *expr) {
            return found.clone();
        }
        let found = self.query_compiled(compiled, expr, clock);
        let mut shared = self.shared.borrow_mut();
        if shared.len() < SHARED_RESULTS {
            shared.push((expr.into(), found.clone()));
        }
        found
    }

    fn search_compiled<T>(
        &self,
        compiled: &Expression,
        expr: &str,
        search: impl FnOnce(&Expression, &Value) -> Result<T, jp::SearchError>,
    ) -> Result<T, VarError> {
        let found = if self.images_pending && jp::may_read_root_field(compiled, "images") {
            // Rare: a copy of the document with `images`, as it would have been.
            let mut root = self.root.clone();
            let images = crate::request::images_of(self.resource());
            if let (Some(images), Value::Object(map)) = (images, &mut root) {
                map.insert("images".into(), images);
            }
            search(compiled, &root)
        } else {
            search(compiled, &self.root)
        };
        found.map_err(|e| match e {
            jp::SearchError::NotFound(message) => VarError::NotFound {
                expr: expr.to_string(),
                message,
            },
            jp::SearchError::Other(message) => VarError::Query {
                expr: expr.to_string(),
                message,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_and_restore() {
        let mut ctx = EvalContext::new(Map::new());
        ctx.set("request.operation", json!("CREATE"));
        let cp = ctx.checkpoint();
        ctx.set("element", json!({"name": "a"}));
        ctx.set("request.operation", json!("UPDATE"));
        assert_eq!(ctx.root()["request"]["operation"], json!("UPDATE"));
        ctx.restore(cp);
        assert_eq!(ctx.root()["request"]["operation"], json!("CREATE"));
        assert!(ctx.root().get("element").is_none());
    }

    #[test]
    fn shared_results_follow_request_changes() {
        let cache = ExprCache::default();
        let clock = jp::Clock::default();
        let mut root = Map::new();
        root.insert("request".into(), json!({"operation": "CREATE"}));
        let mut ctx = EvalContext::new(root);
        let expr = "request.operation == 'CREATE'";
        let compiled = cache.get(expr).unwrap();
        let shared = |ctx: &EvalContext| ctx.query_shared(&compiled, expr, &clock).unwrap();
        assert_eq!(shared(&ctx), json!(true));
        let cp = ctx.checkpoint();
        ctx.set("request.operation", json!("UPDATE"));
        assert_eq!(shared(&ctx), json!(false));
        ctx.restore(cp);
        assert_eq!(shared(&ctx), json!(true));
        ctx.set("other", json!(1));
        assert_eq!(shared(&ctx), json!(true));
    }
}
