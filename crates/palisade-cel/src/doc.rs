//! JSON documents laid out flat for evaluation. Binding a document copies its nodes into one
//! vector and its keys and strings into one buffer, instead of building a map, a key string and
//! a value string per object, key and string (which dominated the cost of preparing an admission
//! request, and of freeing it). Expressions then read fields in place: a scalar becomes an
//! ordinary [`Value`] when read, a list or map stays a view ([`Value::Doc`]) into the document.
//!
//! A view behaves exactly as the list or map [`Value::from_json`] would have built: same
//! lookups, iteration order (keys in byte order), equality, errors and costs. Library functions
//! never see views: the interpreter hands them ordinary values ([`Value::without_views`]).

use std::fmt;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::error::EvalError;
use crate::value::{Key, MapValue, Value};

/// A byte range of [`Doc::text`].
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

/// A map key: its text and its first eight bytes, which decide most comparisons (read
/// big-endian, so that they order as the text does).
#[derive(Debug, Clone, Copy)]
struct KeySpan {
    span: Span,
    prefix: u64,
}

/// The first eight bytes of `s` (zero-padded) as a number.
fn prefix(s: &str) -> u64 {
    let bytes = s.as_bytes();
    if let Some(head) = bytes.first_chunk::<8>() {
        return u64::from_be_bytes(*head);
    }
    // Shifts rather than a copy into a buffer, which compiles to a call to memcpy.
    bytes
        .iter()
        .enumerate()
        .fold(0, |p, (i, b)| p | u64::from(*b) << (56 - 8 * i))
}

/// A field name prepared when compiling for lookups in documents: its first eight bytes are
/// computed once instead of on every lookup.
#[derive(Debug, Clone)]
pub(crate) struct FieldKey {
    pub name: Arc<str>,
    prefix: u64,
}

impl FieldKey {
    pub(crate) fn new(name: &Arc<str>) -> Self {
        FieldKey {
            name: name.clone(),
            prefix: prefix(name),
        }
    }
}

/// One JSON value. The elements of a list, and the values of a map, are consecutive nodes
/// starting at `first`; a map's keys are consecutive spans of [`Doc::keys`] starting at `keys`,
/// in byte order.
#[derive(Debug, Clone, Copy)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Span),
    List { first: u32, len: u32 },
    Map { first: u32, len: u32, keys: u32 },
}

/// A converted document; node 0 is the root.
#[derive(Debug)]
pub(crate) struct Doc {
    nodes: Vec<Node>,
    keys: Vec<KeySpan>,
    text: String,
}

/// A list or map inside a converted JSON document: what [`Value::Doc`] holds. Cloning it
/// shares the document.
#[derive(Clone)]
pub struct DocRef {
    doc: Arc<Doc>,
    node: u32,
}

impl fmt::Debug for DocRef {
    /// Prints the list or map it stands for, so that messages built from `{:?}` do not change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.materialize().fmt(f)
    }
}

impl Value {
    /// Converts a JSON document into a CEL value the cheap way: lists and maps become views
    /// into one flat copy of the document (see [`Value::Doc`]), which reads as the value
    /// [`Value::from_json`] builds. Scalars become ordinary values.
    pub fn from_json_view(v: &Json) -> Value {
        match v {
            Json::Array(_) | Json::Object(_) => match Doc::build(v) {
                Some(doc) => Doc::value(&Arc::new(doc), 0),
                // Beyond 4 GiB of nodes or text: the ordinary conversion.
                None => Value::from_json(v),
            },
            _ => Value::from_json(v),
        }
    }

    /// The value with every document view inside it (in lists, maps and optionals) turned into
    /// an ordinary list or map; `None` when there is none, so callers keep the original.
    pub fn without_views(&self) -> Option<Value> {
        match self {
            Value::Doc(d) => Some(d.materialize()),
            Value::List(l) => {
                let at = l.iter().position(|v| v.without_views().is_some())?;
                let mut out = Vec::with_capacity(l.len());
                out.extend(l.iter().take(at).cloned());
                out.extend(
                    l.iter()
                        .skip(at)
                        .map(|v| v.without_views().unwrap_or_else(|| v.clone())),
                );
                Some(Value::list(out))
            }
            Value::Map(m) => {
                m.values().find_map(Value::without_views)?;
                Some(Value::map(
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.without_views().unwrap_or_else(|| v.clone())))
                        .collect(),
                ))
            }
            Value::Optional(Some(v)) => v.without_views().map(Value::some),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Builder {
    nodes: Vec<Node>,
    keys: Vec<KeySpan>,
    text: String,
}

/// A node of a document being built with [`DocBuilder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocNode(u32);

/// Puts several JSON values, and maps made of them, into one flat document, so that an
/// admission request's `object`, `oldObject`, `request` (which contains both) and
/// `namespaceObject` cost one conversion and share their nodes. Every method returns `None`
/// once the document outgrows 32-bit indices; the caller then converts the ordinary way.
#[derive(Debug)]
pub struct DocBuilder {
    b: Builder,
}

impl Default for DocBuilder {
    fn default() -> Self {
        DocBuilder {
            b: Builder {
                nodes: Vec::with_capacity(128),
                keys: Vec::with_capacity(64),
                text: String::with_capacity(1024),
            },
        }
    }
}

impl DocBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        DocBuilder::default()
    }

    fn push(&mut self, node: Node) -> Option<DocNode> {
        let at = u32::try_from(self.b.nodes.len()).ok()?;
        self.b.nodes.push(node);
        Some(DocNode(at))
    }

    /// Adds a JSON value.
    pub fn json(&mut self, v: &Json) -> Option<DocNode> {
        let at = self.push(Node::Null)?;
        self.b.fill(at.0 as usize, v)?;
        Some(at)
    }

    /// Adds a string.
    pub fn string(&mut self, s: &str) -> Option<DocNode> {
        let span = self.b.span(s)?;
        self.push(Node::Str(span))
    }

    /// Adds a boolean.
    pub fn bool(&mut self, b: bool) -> Option<DocNode> {
        self.push(Node::Bool(b))
    }

    /// Adds a map of nodes added before (a node may appear in several maps: lists and maps
    /// are shared, not copied). Of entries with the same key, the first is kept.
    pub fn map(&mut self, entries: &mut [(&str, DocNode)]) -> Option<DocNode> {
        if !entries.is_sorted_by(|a, b| a.0 <= b.0) {
            entries.sort_by(|a, b| a.0.cmp(b.0));
        }
        let len = entries.len();
        let first = self.b.reserve(len)?;
        let keys = u32::try_from(self.b.keys.len()).ok()?;
        let mut n = 0u32;
        for (i, (k, node)) in entries.iter().enumerate() {
            if i > 0 && entries.get(i - 1).is_some_and(|p| p.0 == *k) {
                continue;
            }
            let child = *self.b.nodes.get(node.0 as usize)?;
            let span = self.b.key(k)?;
            self.b.keys.push(span);
            *self.b.nodes.get_mut((first + n) as usize)? = child;
            n += 1;
        }
        // Duplicates leave unused reserved nodes behind; they are never read.
        self.push(Node::Map {
            first,
            len: n,
            keys,
        })
    }

    /// The finished document, from which [`BuiltDoc::value`] reads values.
    pub fn finish(self) -> BuiltDoc {
        BuiltDoc(Arc::new(Doc {
            nodes: self.b.nodes,
            keys: self.b.keys,
            text: self.b.text,
        }))
    }
}

/// A document made with [`DocBuilder`].
#[derive(Debug, Clone)]
pub struct BuiltDoc(Arc<Doc>);

impl BuiltDoc {
    /// The value at `node`: a view for a list or map, an ordinary value for a scalar.
    pub fn value(&self, node: DocNode) -> Value {
        Doc::value(&self.0, node.0)
    }
}

impl Builder {
    fn key(&mut self, s: &str) -> Option<KeySpan> {
        Some(KeySpan {
            span: self.span(s)?,
            prefix: prefix(s),
        })
    }

    fn span(&mut self, s: &str) -> Option<Span> {
        let span = Span {
            start: u32::try_from(self.text.len()).ok()?,
            len: u32::try_from(s.len()).ok()?,
        };
        self.text.push_str(s);
        Some(span)
    }

    /// Reserves `n` consecutive nodes and returns the index of the first.
    fn reserve(&mut self, n: usize) -> Option<u32> {
        let first = u32::try_from(self.nodes.len()).ok()?;
        u32::try_from(self.nodes.len() + n).ok()?;
        self.nodes.resize(self.nodes.len() + n, Node::Null);
        Some(first)
    }

    /// Converts `v` into node `at` (children are appended after the nodes reserved so far).
    fn fill(&mut self, at: usize, v: &Json) -> Option<()> {
        let node = match v {
            Json::Null => Node::Null,
            Json::Bool(b) => Node::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Node::Int(i),
                None => Node::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Node::Str(self.span(s)?),
            Json::Array(a) => {
                let first = self.reserve(a.len())?;
                for (i, x) in a.iter().enumerate() {
                    self.fill(first as usize + i, x)?;
                }
                Node::List {
                    first,
                    len: a.len() as u32,
                }
            }
            Json::Object(o) => {
                let first = self.reserve(o.len())?;
                let keys = u32::try_from(self.keys.len()).ok()?;
                // Reserved first: the children's own keys go after this map's.
                let empty = KeySpan {
                    span: Span { start: 0, len: 0 },
                    prefix: 0,
                };
                self.keys.resize(self.keys.len() + o.len(), empty);
                for (i, (k, x)) in o.iter().enumerate() {
                    let span = self.key(k)?;
                    *self.keys.get_mut(keys as usize + i)? = span;
                    self.fill(first as usize + i, x)?;
                }
                self.sort_keys(first as usize, keys as usize, o.len());
                Node::Map {
                    first,
                    len: o.len() as u32,
                    keys,
                }
            }
        };
        *self.nodes.get_mut(at)? = node;
        Some(())
    }

    /// serde_json keeps object keys sorted unless its `preserve_order` feature is on; CEL maps
    /// iterate in key order either way.
    fn sort_keys(&mut self, first: usize, keys: usize, len: usize) {
        let text = &self.text;
        let key = |s: &KeySpan| text_of(text, s.span);
        let Some(ks) = self.keys.get(keys..keys + len) else {
            return;
        };
        let ordered = |a: &KeySpan, b: &KeySpan| {
            a.prefix < b.prefix || (a.prefix == b.prefix && key(a) < key(b))
        };
        if ks.windows(2).all(|w| ordered(&w[0], &w[1])) {
            return;
        }
        let mut pairs: Vec<(KeySpan, Node)> = ks
            .iter()
            .copied()
            .zip(self.nodes.iter().skip(first).take(len).copied())
            .collect();
        pairs.sort_by(|a, b| key(&a.0).cmp(key(&b.0)));
        for (i, (k, n)) in pairs.into_iter().enumerate() {
            if let Some(slot) = self.keys.get_mut(keys + i) {
                *slot = k;
            }
            if let Some(slot) = self.nodes.get_mut(first + i) {
                *slot = n;
            }
        }
    }
}

fn text_of(text: &str, s: Span) -> &str {
    let start = s.start as usize;
    text.get(start..start + s.len as usize).unwrap_or_default()
}

impl Doc {
    /// Lays out `v`; `None` if it does not fit 32-bit indices.
    fn build(v: &Json) -> Option<Doc> {
        let mut b = Builder {
            nodes: Vec::with_capacity(64),
            keys: Vec::with_capacity(32),
            text: String::with_capacity(512),
        };
        b.nodes.push(Node::Null);
        b.fill(0, v)?;
        Some(Doc {
            nodes: b.nodes,
            keys: b.keys,
            text: b.text,
        })
    }

    fn node(&self, i: u32) -> Node {
        self.nodes.get(i as usize).copied().unwrap_or(Node::Null)
    }

    fn str(&self, s: Span) -> &str {
        text_of(&self.text, s)
    }

    fn key(&self, keys: u32, i: u32) -> &str {
        self.keys
            .get((keys + i) as usize)
            .map_or("", |k| self.str(k.span))
    }

    /// Node `i` as a value: scalars converted, lists and maps as views.
    fn value(doc: &Arc<Doc>, i: u32) -> Value {
        match doc.node(i) {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Int(n) => Value::Int(n),
            Node::Double(d) => Value::Double(d),
            Node::Str(s) => Value::String(Arc::from(doc.str(s))),
            Node::List { .. } | Node::Map { .. } => Value::Doc(DocRef {
                doc: doc.clone(),
                node: i,
            }),
        }
    }

    /// True if key `k`'s bytes after the eighth are `rest`.
    fn tail(&self, k: &KeySpan, rest: &[u8]) -> bool {
        let start = k.span.start as usize + 8;
        self.text
            .as_bytes()
            .get(start..start + rest.len())
            .is_some_and(|b| b.iter().zip(rest).all(|(x, y)| x == y))
    }

    /// The node under `key` in map node `i`.
    fn field(&self, i: u32, key: &str) -> Option<u32> {
        self.field_with(i, key, prefix(key))
    }

    /// [`Doc::field`] with the key's [`prefix`] already known.
    #[inline]
    fn field_with(&self, i: u32, key: &str, p: u64) -> Option<u32> {
        let Node::Map { first, len, keys } = self.node(i) else {
            return None;
        };
        // Kubernetes objects have a handful of fields each: a scan that compares lengths and
        // first eight bytes rarely looks at the text.
        if len <= 16 {
            let spans = self.keys.get(keys as usize..(keys + len) as usize)?;
            let want = key.len();
            let rest = key.as_bytes().get(8..).unwrap_or_default();
            for (at, k) in spans.iter().enumerate() {
                // Keys are in byte order, so their prefixes never decrease: past `p`, the key
                // is not there.
                if k.prefix >= p {
                    if k.prefix > p {
                        return None;
                    }
                    if k.span.len as usize == want && (want <= 8 || self.tail(k, rest)) {
                        return Some(first + at as u32);
                    }
                }
            }
            return None;
        }
        let (mut lo, mut hi) = (0, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(keys, mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(first + mid),
            }
        }
        None
    }
}

/// What a step of navigation inside a document found.
pub(crate) enum Step {
    /// The node is there.
    Found(u32),
    /// A map without that key, or a list without that index.
    Missing,
    /// The node is a scalar (or the step does not apply to it): the general path decides.
    Other,
}

impl DocRef {
    /// True for a list, false for a map.
    pub(crate) fn is_list(&self) -> bool {
        matches!(self.doc.node(self.node), Node::List { .. })
    }

    /// The CEL type name: `list` or `map`.
    pub(crate) fn type_name(&self) -> &'static str {
        if self.is_list() { "list" } else { "map" }
    }

    /// Number of elements or entries.
    pub(crate) fn len(&self) -> usize {
        match self.doc.node(self.node) {
            Node::List { len, .. } | Node::Map { len, .. } => len as usize,
            _ => 0,
        }
    }

    /// The view (or scalar) at `node` of the same document.
    pub(crate) fn at(&self, node: u32) -> Value {
        Doc::value(&self.doc, node)
    }

    /// The node of this view.
    pub(crate) fn node(&self) -> u32 {
        self.node
    }

    /// Like [`DocRef::at`], reusing this reference to the document.
    pub(crate) fn into_at(self, node: u32) -> Value {
        if self.is_container(node) {
            Value::Doc(DocRef { node, ..self })
        } else {
            self.at(node)
        }
    }

    /// The value under `key` if this is a map that has it.
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        self.doc.field(self.node, key).map(|n| self.at(n))
    }

    /// True if this is a map with `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.doc.field(self.node, key).is_some()
    }

    /// Field `key` of map node `node` of this document, without making values.
    pub(crate) fn step_field(&self, node: u32, key: &str) -> Step {
        match self.doc.node(node) {
            Node::Map { .. } => self.doc.field(node, key).map_or(Step::Missing, Step::Found),
            _ => Step::Other,
        }
    }

    /// [`DocRef::step_field`] with a key prepared when compiling.
    pub(crate) fn step_key(&self, node: u32, key: &FieldKey) -> Step {
        match self.doc.node(node) {
            Node::Map { .. } => self
                .doc
                .field_with(node, &key.name, key.prefix)
                .map_or(Step::Missing, Step::Found),
            _ => Step::Other,
        }
    }

    /// True if node `node` is a list or map (so that navigation may go on in place).
    pub(crate) fn is_container(&self, node: u32) -> bool {
        matches!(self.doc.node(node), Node::List { .. } | Node::Map { .. })
    }

    /// Element `i` of a list.
    pub(crate) fn item(&self, i: usize) -> Option<Value> {
        match self.doc.node(self.node) {
            Node::List { first, len } if i < len as usize => Some(self.at(first + i as u32)),
            _ => None,
        }
    }

    /// The elements of a list, or the values of a map, in order.
    pub(crate) fn values(&self) -> impl Iterator<Item = Value> + '_ {
        let (first, len) = match self.doc.node(self.node) {
            Node::List { first, len } | Node::Map { first, len, .. } => (first, len),
            _ => (0, 0),
        };
        (first..first + len).map(|n| self.at(n))
    }

    /// The keys of a map in order, as string values.
    pub(crate) fn keys(&self) -> impl Iterator<Item = Value> + '_ {
        let (keys, len) = match self.doc.node(self.node) {
            Node::Map { len, keys, .. } => (keys, len),
            _ => (0, 0),
        };
        (0..len).map(move |i| Value::from(self.doc.key(keys, i)))
    }

    /// True if element node `n` is the string `s` (without making a value of it).
    pub(crate) fn is_str(&self, n: u32, s: &str) -> Option<bool> {
        match self.doc.node(n) {
            Node::Str(span) => Some(self.doc.str(span) == s),
            _ => None,
        }
    }

    /// String node `n`'s length, if it is a string.
    pub(crate) fn str_len(&self, n: u32) -> Option<usize> {
        match self.doc.node(n) {
            Node::Str(span) => Some(span.len as usize),
            _ => None,
        }
    }

    /// The element nodes of a list.
    pub(crate) fn item_nodes(&self) -> std::ops::Range<u32> {
        match self.doc.node(self.node) {
            Node::List { first, len } => first..first + len,
            _ => 0..0,
        }
    }

    /// The list or map as an ordinary value whose elements are values of this document
    /// (views for nested lists and maps).
    pub(crate) fn shallow(&self) -> Value {
        match self.doc.node(self.node) {
            Node::Map { .. } => Value::map(
                self.keys()
                    .zip(self.values())
                    .filter_map(|(k, v)| Some((Key::from_value(&k)?, v)))
                    .collect(),
            ),
            _ => Value::list(self.values().collect()),
        }
    }

    /// The list or map as an ordinary value, all the way down.
    pub(crate) fn materialize(&self) -> Value {
        self.deep(self.node)
    }

    fn deep(&self, n: u32) -> Value {
        let doc = &self.doc;
        match doc.node(n) {
            Node::List { first, len } => {
                Value::list((first..first + len).map(|i| self.deep(i)).collect())
            }
            Node::Map { first, len, keys } => {
                let m: MapValue = (0..len)
                    .map(|i| (Key::String(doc.key(keys, i).into()), self.deep(first + i)))
                    .collect();
                Value::map(m)
            }
            _ => Doc::value(doc, n),
        }
    }

    /// JSON as [`Value::to_json`] gives it for the converted value (integral doubles become
    /// integers, as for any double).
    pub(crate) fn to_json(&self) -> Result<Json, EvalError> {
        self.json(self.node)
    }

    fn json(&self, n: u32) -> Result<Json, EvalError> {
        let doc = &self.doc;
        Ok(match doc.node(n) {
            Node::Null => Json::Null,
            Node::Bool(b) => Json::Bool(b),
            Node::Int(i) => Json::Number(i.into()),
            Node::Double(d) => crate::json::double_to_json(d)?,
            Node::Str(s) => Json::String(doc.str(s).to_string()),
            Node::List { first, len } => Json::Array(
                (first..first + len)
                    .map(|i| self.json(i))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Map { first, len, keys } => Json::Object(
                (0..len)
                    .map(|i| Ok((doc.key(keys, i).to_string(), self.json(first + i)?)))
                    .collect::<Result<_, EvalError>>()?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn docs() -> Vec<Json> {
        vec![
            json!({"b": [1, 2.5, "x", null, true, {"c": {}}], "a": {"z": 1, "y": [[]]}, "": 0}),
            json!([]),
            json!({}),
            json!([{"k": "v"}, ["n"], -3, 1e300, u64::MAX]),
        ]
    }

    #[test]
    fn views_read_as_converted_values() {
        for d in docs() {
            let view = Value::from_json_view(&d);
            assert!(matches!(view, Value::Doc(_)));
            let plain = Value::from_json(&d);
            let Value::Doc(inner) = &view else {
                panic!("a view");
            };
            assert_eq!(format!("{inner:?}"), format!("{plain:?}"));
            assert_eq!(view.to_json().unwrap(), plain.to_json().unwrap());
            assert!(crate::eval::ops::equals(&view, &plain));
            assert!(crate::eval::ops::equals(&plain, &view));
        }
    }

    #[test]
    fn lookups() {
        let d = json!({"b": [1, "x"], "a": {"z": 1}, "c": null});
        let Value::Doc(v) = Value::from_json_view(&d) else {
            panic!("a view");
        };
        assert_eq!(v.len(), 3);
        assert!(v.has("c") && !v.has("d") && !v.has(""));
        assert!(matches!(v.get("c"), Some(Value::Null)));
        let Some(Value::Doc(b)) = v.get("b") else {
            panic!("a list view");
        };
        assert!(b.is_list());
        assert!(matches!(b.item(1), Some(Value::String(s)) if &*s == "x"));
        assert!(b.item(2).is_none());
        let keys: Vec<_> = v
            .keys()
            .map(|k| k.as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn without_views_leaves_plain_values_alone() {
        let plain = Value::list(vec![Value::Int(1), Value::from("a")]);
        assert!(plain.without_views().is_none());
        let mixed = Value::list(vec![
            Value::Int(1),
            Value::from_json_view(&json!({"a": [1]})),
        ]);
        let Some(Value::List(l)) = mixed.without_views() else {
            panic!("a list");
        };
        assert!(matches!(l.get(1), Some(Value::Map(_))));
    }
}
