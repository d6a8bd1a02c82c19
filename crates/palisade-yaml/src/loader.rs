//! Turns saphyr-parser events into JSON values, one document at a time, with an explicit
//! stack (no recursion), limits, anchors and aliases.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};
use serde_json::Value;

use crate::frame::{Done, Frame, Node, Placement};
use crate::positions::{Location, PosNode, Positions};
use crate::resolve::{Scalar, resolve_event};
use crate::{Document, Error, ErrorKind, Options};

/// Bytes of text that weigh as much as one node in the alias budget.
const TEXT_PER_NODE: usize = 32;

/// A node remembered under an anchor.
struct Anchored<'s> {
    node: Node<'s>,
    weight: usize,
    depth: usize,
    pos: Option<PosNode>,
}

/// Loading state for one stream.
pub(crate) struct Loader<'s> {
    src: &'s str,
    opts: &'s Options,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored<'s>>,
    /// Weight (see [`crate::Limits`]) of the nodes read from the input so far.
    parsed: usize,
    /// Weight of the nodes copied for anchors and aliases so far.
    expanded: usize,
    docs: Vec<Document>,
}

fn location(span: &Span) -> Location {
    Location {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn syntax_error(e: &ScanError) -> Error {
    let m = e.marker();
    Error::new(
        m.line(),
        m.col() + 1,
        ErrorKind::Syntax(e.info().to_owned()),
    )
}

impl<'s> Loader<'s> {
    /// Loads every document of `src` (already checked against the size limit).
    pub(crate) fn load(src: &'s str, opts: &'s Options) -> Result<Vec<Document>, Error> {
        let mut loader = Loader {
            src,
            opts,
            stack: Vec::new(),
            anchors: HashMap::new(),
            parsed: 0,
            expanded: 0,
            docs: Vec::new(),
        };
        for event in Parser::new_from_str(src) {
            let (event, span) = event.map_err(|e| syntax_error(&e))?;
            if !loader.event(event, &span)? {
                break;
            }
        }
        Ok(loader.docs)
    }

    /// Handles one event; `false` at the end of the stream.
    fn event(&mut self, event: Event<'s>, span: &Span) -> Result<bool, Error> {
        let at = location(span);
        match event {
            Event::StreamEnd => return Ok(false),
            Event::DocumentStart(_) => self.anchors.clear(),
            Event::Scalar(text, style, anchor, tag) => {
                let weight = 1 + text.len() / TEXT_PER_NODE;
                self.parsed = self.parsed.saturating_add(weight);
                // go-yaml v2: `<<` that is plain and untagged, or tagged `!!merge` in any style.
                let merge_key = text == "<<"
                    && match tag.as_deref() {
                        None => style == ScalarStyle::Plain,
                        Some(t) => t.handle == "tag:yaml.org,2002:" && t.suffix == "merge",
                    };
                let scalar = resolve_event(text, style, tag.as_deref())
                    .map_err(|k| Error::new(at.line, at.column, k))?;
                let pos = self.opts.positions.then(|| PosNode::leaf(at));
                let node = Node::Scalar(scalar);
                let done = Done {
                    node,
                    at,
                    weight,
                    depth: 0,
                    pos,
                    merge_key,
                    from_alias: false,
                };
                self.complete(done, anchor)?;
            }
            Event::Alias(id) => {
                self.parsed += 1;
                let done = self.expand(id, span, at)?;
                self.complete(done, 0)?;
            }
            Event::SequenceStart(anchor, _) => self.open(false, anchor, at)?,
            Event::MappingStart(anchor, _) => self.open(true, anchor, at)?,
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let anchor = frame.anchor;
                    self.complete(frame.finish(), anchor)?;
                }
            }
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(true)
    }

    /// Opens a collection, refusing to nest deeper than the limit. Tags on collections are
    /// ignored, as go-yaml v2 ignores them when decoding into `interface{}`.
    fn open(&mut self, is_map: bool, anchor: usize, at: Location) -> Result<(), Error> {
        self.parsed += 1;
        let limit = self.opts.limits.max_depth;
        if self.stack.len() >= limit {
            return Err(Error::new(at.line, at.column, ErrorKind::TooDeep { limit }));
        }
        self.stack
            .push(Frame::new(is_map, anchor, at, self.opts.positions));
        Ok(())
    }

    /// A copy of the anchored node, within the alias and depth budgets.
    fn expand(&mut self, id: usize, span: &Span, at: Location) -> Result<Done<'s>, Error> {
        let fail = |kind| Error::new(at.line, at.column, kind);
        let Some((weight, depth)) = self.anchors.get(&id).map(|a| (a.weight, a.depth)) else {
            // Either still open (it contains this alias) or from an earlier document, which
            // saphyr-parser does not forget when iterated.
            let name = self.alias_name(span);
            let open = self.stack.iter().any(|f| f.anchor == id);
            let kind = if open {
                ErrorKind::RecursiveAlias(name)
            } else {
                ErrorKind::UnknownAnchor(name)
            };
            return Err(fail(kind));
        };
        self.charge(weight, at)?;
        let limit = self.opts.limits.max_depth;
        if self.stack.len() + depth > limit {
            return Err(fail(ErrorKind::TooDeep { limit }));
        }
        let (node, pos) = match self.anchors.get(&id) {
            Some(a) => (a.node.clone(), a.pos.clone()),
            None => (Node::Scalar(Scalar::Null), None),
        };
        let pos = pos.map(|p| PosNode {
            at,
            value_at: at,
            children: p.children,
        });
        Ok(Done {
            node,
            at,
            weight,
            depth,
            pos,
            merge_key: false,
            from_alias: true,
        })
    }

    /// The alias name as written (`*name`), for error messages.
    fn alias_name(&self, span: &Span) -> String {
        let start = span.start.index() + 1;
        let len = span.end.index().saturating_sub(start);
        self.src.chars().skip(start).take(len).collect()
    }

    /// Counts `weight` of copied content against the alias budget.
    fn charge(&mut self, weight: usize, at: Location) -> Result<(), Error> {
        let budget = self.opts.limits.alias_budget(self.parsed);
        self.expanded = self.expanded.saturating_add(weight);
        if self.expanded > budget {
            let kind = ErrorKind::AliasExpansion { limit: budget };
            return Err(Error::new(at.line, at.column, kind));
        }
        Ok(())
    }

    /// Records an anchor if there is one (the copy counts against the alias budget, which
    /// bounds nested anchors), then places the node.
    fn complete(&mut self, done: Done<'s>, anchor: usize) -> Result<(), Error> {
        if anchor != 0 {
            self.charge(done.weight, done.at)?;
            let anchored = Anchored {
                node: done.node.clone(),
                weight: done.weight,
                depth: done.depth,
                pos: done.pos.clone(),
            };
            self.anchors.insert(anchor, anchored);
        }
        let how = Placement {
            allow_duplicates: self.opts.allow_duplicate_keys,
        };
        match self.stack.last_mut() {
            Some(parent) => parent.place(done, how),
            None => self.finish_document(done),
        }
    }

    /// Keeps a finished root node unless it is null (an empty document).
    fn finish_document(&mut self, done: Done<'s>) -> Result<(), Error> {
        let at = done.at;
        let value = match done.node {
            Node::Scalar(s) => s
                .into_value()
                .map_err(|k| Error::new(at.line, at.column, k))?,
            Node::Collection(v) => v,
        };
        if value != Value::Null {
            let positions = done.pos.map(|root| Positions { root });
            self.docs.push(Document {
                value,
                line: at.line,
                positions,
            });
        }
        Ok(())
    }
}
