//! Collections under construction, and the placement of finished nodes into them
//! (sequence items, mapping keys, values, merge keys, duplicate detection).

use std::collections::{HashMap, HashSet};

use serde_json::map::Entry;
use serde_json::{Map, Value};

use crate::positions::{Children, Location, PosNode};
use crate::resolve::Scalar;
use crate::{Error, ErrorKind};

/// A finished node's content.
#[derive(Debug, Clone)]
pub(crate) enum Node<'s> {
    /// Kept unconverted: a scalar becomes a value or a key depending on where it lands.
    Scalar(Scalar<'s>),
    /// A mapping or sequence.
    Collection(Value),
}

impl Node<'_> {
    fn into_value(self) -> Result<Value, ErrorKind> {
        match self {
            Node::Scalar(s) => s.into_value(),
            Node::Collection(v) => Ok(v),
        }
    }

    fn into_key(self) -> Result<String, ErrorKind> {
        match self {
            Node::Scalar(s) => s.into_key(),
            Node::Collection(_) => Err(ErrorKind::ComplexKey),
        }
    }
}

/// A finished node on its way into its parent.
#[derive(Debug)]
pub(crate) struct Done<'s> {
    pub(crate) node: Node<'s>,
    /// Where the node starts.
    pub(crate) at: Location,
    /// Size of the value in nodes, where each 32 bytes of text also count as a node
    /// (see [`crate::Limits`]).
    pub(crate) weight: usize,
    /// Collection nesting inside the value (0 for a scalar).
    pub(crate) depth: usize,
    pub(crate) pos: Option<PosNode>,
    /// A plain, untagged `<<` (or `!!merge <<`): a merge key when used as a key.
    pub(crate) merge_key: bool,
    pub(crate) from_alias: bool,
}

/// A mapping key waiting for its value.
struct PendingKey {
    /// `None` for a merge key.
    key: Option<String>,
    at: Location,
}

enum Content {
    Seq(Vec<Value>),
    Map {
        map: Map<String, Value>,
        key: Option<PendingKey>,
        /// Keys that came from merge keys, which explicit keys may override.
        merged: Option<HashSet<String>>,
    },
}

/// An open mapping or sequence.
pub(crate) struct Frame {
    content: Content,
    pub(crate) anchor: usize,
    pub(crate) at: Location,
    weight: usize,
    depth: usize,
    pos: Option<Children>,
}

/// How duplicate keys are treated.
#[derive(Clone, Copy)]
pub(crate) struct Placement {
    pub(crate) allow_duplicates: bool,
}

fn err_at(at: Location, kind: ErrorKind) -> Error {
    Error::new(at.line, at.column, kind)
}

impl Frame {
    pub(crate) fn new(is_map: bool, anchor: usize, at: Location, positions: bool) -> Self {
        let (content, pos) = if is_map {
            let content = Content::Map {
                map: Map::new(),
                key: None,
                merged: None,
            };
            (content, positions.then(|| Children::Map(HashMap::new())))
        } else {
            (
                Content::Seq(Vec::new()),
                positions.then(|| Children::Seq(Vec::new())),
            )
        };
        Self {
            content,
            anchor,
            at,
            weight: 1,
            depth: 0,
            pos,
        }
    }

    /// Closes the collection into a finished node.
    pub(crate) fn finish<'s>(self) -> Done<'s> {
        let value = match self.content {
            Content::Seq(items) => Value::Array(items),
            Content::Map { map, .. } => Value::Object(map),
        };
        let pos = self.pos.map(|children| PosNode {
            at: self.at,
            value_at: self.at,
            children,
        });
        Done {
            node: Node::Collection(value),
            at: self.at,
            weight: self.weight,
            depth: self.depth + 1,
            pos,
            merge_key: false,
            from_alias: false,
        }
    }

    /// Places a finished child: a sequence item, a mapping key, or a mapping value.
    pub(crate) fn place(&mut self, done: Done<'_>, how: Placement) -> Result<(), Error> {
        match &mut self.content {
            Content::Seq(items) => {
                let at = done.at;
                items.push(done.node.into_value().map_err(|k| err_at(at, k))?);
                if let (Some(Children::Seq(v)), Some(p)) = (&mut self.pos, done.pos) {
                    v.push(p);
                }
                self.count(done.weight, done.depth);
                Ok(())
            }
            Content::Map {
                key: pending @ None,
                ..
            } => {
                // Keys hold text too: count it towards the mapping's weight.
                self.weight = self.weight.saturating_add(done.weight);
                let key = if done.merge_key {
                    None
                } else {
                    Some(done.node.into_key().map_err(|k| err_at(done.at, k))?)
                };
                *pending = Some(PendingKey { key, at: done.at });
                Ok(())
            }
            Content::Map { key: pending, .. } => match pending.take() {
                Some(PendingKey { key: Some(key), at }) => self.insert(key, at, done, how),
                Some(PendingKey { key: None, at }) => self.merge(at, done),
                None => Ok(()),
            },
        }
    }

    fn count(&mut self, weight: usize, depth: usize) {
        self.weight = self.weight.saturating_add(weight);
        self.depth = self.depth.max(depth);
    }

    /// Inserts an explicit `key: value` entry.
    fn insert(
        &mut self,
        key: String,
        key_at: Location,
        done: Done<'_>,
        how: Placement,
    ) -> Result<(), Error> {
        self.count(done.weight, done.depth);
        let value = done.node.into_value().map_err(|k| err_at(done.at, k))?;
        let Content::Map { map, merged, .. } = &mut self.content else {
            return Ok(());
        };
        let pos_map = match &mut self.pos {
            Some(Children::Map(m)) => Some(m),
            _ => None,
        };
        let pos_key = pos_map.as_ref().map(|_| key.clone());
        match map.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(value);
            }
            Entry::Occupied(mut slot) => {
                let was_merged = merged.as_mut().is_some_and(|m| m.remove(slot.key()));
                if !was_merged && !how.allow_duplicates {
                    let first_line = pos_map
                        .as_ref()
                        .and_then(|m| m.get(slot.key()))
                        .map_or(0, |p| p.at.line);
                    let kind = ErrorKind::DuplicateKey {
                        key: slot.key().clone(),
                        first_line,
                    };
                    return Err(err_at(key_at, kind));
                }
                slot.insert(value);
            }
        }
        if let (Some(m), Some(k)) = (pos_map, pos_key) {
            let children = done.pos.map_or(Children::None, |p| p.children);
            m.insert(
                k,
                PosNode {
                    at: key_at,
                    value_at: done.at,
                    children,
                },
            );
        }
        Ok(())
    }

    /// Applies a merge key (`<<: *base` or `<<: [*a, *b]`) the way go-yaml v2 does: entries
    /// are written in place, so they override explicit keys that came before the merge
    /// key, and earlier maps of a list take precedence over later ones.
    fn merge(&mut self, key_at: Location, done: Done<'_>) -> Result<(), Error> {
        self.count(done.weight, done.depth);
        let bad = || err_at(key_at, ErrorKind::BadMerge);
        let Node::Collection(value) = done.node else {
            return Err(bad());
        };
        let src_pos = done.pos.map(|p| p.children);
        match value {
            Value::Object(m) => {
                self.merge_map(m, src_pos.as_ref(), done.at);
                Ok(())
            }
            Value::Array(items) if !done.from_alias => {
                let item_pos = |i: usize| match &src_pos {
                    Some(Children::Seq(v)) => v.get(i).map(|p| &p.children),
                    _ => None,
                };
                for (i, item) in items.into_iter().enumerate().rev() {
                    let Value::Object(m) = item else {
                        return Err(bad());
                    };
                    self.merge_map(m, item_pos(i), done.at);
                }
                Ok(())
            }
            _ => Err(bad()),
        }
    }

    fn merge_map(
        &mut self,
        source: Map<String, Value>,
        source_pos: Option<&Children>,
        at: Location,
    ) {
        let Content::Map { map, merged, .. } = &mut self.content else {
            return;
        };
        let merged = merged.get_or_insert_with(HashSet::new);
        for (k, v) in source {
            if let Some(Children::Map(pos)) = &mut self.pos {
                let p = match source_pos {
                    Some(Children::Map(src)) => src.get(&k).cloned(),
                    _ => None,
                };
                pos.insert(k.clone(), p.unwrap_or_else(|| PosNode::leaf(at)));
            }
            merged.insert(k.clone());
            map.insert(k, v);
        }
    }
}
