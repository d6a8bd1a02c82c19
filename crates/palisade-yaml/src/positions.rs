//! Source positions of nodes, addressed by JSON path.

use std::collections::HashMap;
use std::fmt::Write as _;

/// One step of a path into a document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A mapping key (after conversion to a JSON string key).
    Key(String),
    /// A sequence index, from 0.
    Index(usize),
}

impl From<&str> for PathSegment {
    fn from(key: &str) -> Self {
        PathSegment::Key(key.to_owned())
    }
}

impl From<String> for PathSegment {
    fn from(key: String) -> Self {
        PathSegment::Key(key)
    }
}

impl From<usize> for PathSegment {
    fn from(index: usize) -> Self {
        PathSegment::Index(index)
    }
}

/// Renders a path the way Kubernetes prints field paths:
/// `spec.rules[2].validate.pattern`. Keys that contain `.`, brackets, quotes or whitespace
/// (or are empty) are bracketed and quoted: `metadata.labels["app.kubernetes.io/name"]`.
/// Kyverno anchors stay bare: `spec.=(securityContext)`. The empty path renders as `""`.
pub fn render_path(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSegment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            PathSegment::Key(k) if is_plain_key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSegment::Key(k) => {
                let _ = write!(out, "[{k:?}]");
            }
        }
    }
    out
}

/// Reads a path written by [`render_path`] back into segments, so that a field path reported
/// as text (for example by a policy compiler) can be located in the source. Best effort:
/// text that is not a well-formed path yields the segments read before it.
pub fn parse_path(text: &str) -> Vec<PathSegment> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut key = String::new();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !key.is_empty() {
                    out.push(PathSegment::Key(std::mem::take(&mut key)));
                }
            }
            '[' => {
                if !key.is_empty() {
                    out.push(PathSegment::Key(std::mem::take(&mut key)));
                }
                if chars.peek() == Some(&'"') {
                    chars.next();
                    let mut quoted = String::new();
                    let mut closed = false;
                    while let Some(q) = chars.next() {
                        match q {
                            '\\' => match chars.next() {
                                Some('n') => quoted.push('\n'),
                                Some('t') => quoted.push('\t'),
                                Some('r') => quoted.push('\r'),
                                Some(other) => quoted.push(other),
                                None => return out,
                            },
                            '"' => {
                                closed = true;
                                break;
                            }
                            other => quoted.push(other),
                        }
                    }
                    if !closed || chars.next() != Some(']') {
                        return out;
                    }
                    out.push(PathSegment::Key(quoted));
                } else {
                    let digits: String = chars.by_ref().take_while(|d| *d != ']').collect();
                    match digits.parse() {
                        Ok(i) => out.push(PathSegment::Index(i)),
                        Err(_) => return out,
                    }
                }
            }
            other => key.push(other),
        }
    }
    if !key.is_empty() {
        out.push(PathSegment::Key(key));
    }
    out
}

/// Keys printed bare in a rendered path.
fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && !k.chars().any(|c| {
            matches!(c, '.' | '[' | ']' | '"' | '\\') || c.is_whitespace() || c.is_control()
        })
}

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// The positions of every node of one document, keyed by path.
///
/// Built by [`crate::parse_documents`] when [`crate::Options::positions`] is set. A node's
/// location is where it is introduced: the key for a mapping entry, the node itself (its
/// anchor or tag if it has one, the `-` for a block sequence item's content) otherwise.
/// Nodes copied in by aliases or merge keys point at the alias, or at the nodes of the
/// anchored original. As saphyr-parser reports them, a block scalar (`|`, `>`) starts at
/// its first content line, and a block sequence written at the same indentation as its key
/// starts at its first item's content rather than at the dash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positions {
    pub(crate) root: PosNode,
}

impl Positions {
    /// The location of the node at `path`, or of its nearest ancestor that exists (so a
    /// missing field reports the object that should have held it). `None` only for an
    /// empty document.
    pub fn lookup(&self, path: &[PathSegment]) -> Option<Location> {
        let (node, _) = self.walk(path);
        Some(node.at)
    }

    /// The location of the node at exactly `path`, if it exists.
    pub fn get(&self, path: &[PathSegment]) -> Option<Location> {
        let (node, depth) = self.walk(path);
        (depth == path.len()).then_some(node.at)
    }

    /// Where the value at `path` starts (for a mapping entry: the value rather than the
    /// key), falling back to the nearest ancestor like [`Positions::lookup`].
    pub fn lookup_value(&self, path: &[PathSegment]) -> Option<Location> {
        let (node, _) = self.walk(path);
        Some(node.value_at)
    }

    /// Moves every location (for documents loaded from a piece of a larger input).
    pub(crate) fn shift(&mut self, f: impl Fn(Location) -> Location) {
        let mut todo = vec![&mut self.root];
        while let Some(node) = todo.pop() {
            node.at = f(node.at);
            node.value_at = f(node.value_at);
            match &mut node.children {
                Children::None => {}
                Children::Map(m) => todo.extend(m.values_mut()),
                Children::Seq(v) => todo.extend(v.iter_mut()),
            }
        }
    }

    /// Follows `path` as far as it exists; returns the node reached and the segments used.
    fn walk(&self, path: &[PathSegment]) -> (&PosNode, usize) {
        let mut node = &self.root;
        for (depth, seg) in path.iter().enumerate() {
            let next = match (&node.children, seg) {
                (Children::Map(m), PathSegment::Key(k)) => m.get(k),
                (Children::Seq(v), PathSegment::Index(i)) => v.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return (node, depth),
            }
        }
        (node, path.len())
    }
}

/// One node's positions and those of its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PosNode {
    pub(crate) at: Location,
    pub(crate) value_at: Location,
    pub(crate) children: Children,
}

impl PosNode {
    /// A node without children.
    pub(crate) fn leaf(at: Location) -> Self {
        Self {
            at,
            value_at: at,
            children: Children::None,
        }
    }
}

/// Child positions of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Children {
    None,
    Map(HashMap<String, PosNode>),
    Seq(Vec<PosNode>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_renders() {
        let paths: Vec<Vec<PathSegment>> = vec![
            vec!["spec".into(), "rules".into(), 2.into(), "validate".into()],
            vec![
                "metadata".into(),
                "labels".into(),
                "app.kubernetes.io/name".into(),
            ],
            vec![
                "a b".into(),
                "".into(),
                "q\"uo\\te".into(),
                0.into(),
                1.into(),
            ],
            vec!["spec".into(), "=(securityContext)".into(), "x\ny".into()],
        ];
        for path in paths {
            assert_eq!(parse_path(&render_path(&path)), path);
        }
        // Malformed text keeps what was read before it.
        assert_eq!(
            parse_path("spec.rules[x].name"),
            vec![PathSegment::from("spec"), PathSegment::from("rules")]
        );
        assert_eq!(parse_path("a[\"open"), vec![PathSegment::from("a")]);
    }

    #[test]
    fn renders_kubernetes_style() {
        let path = vec![
            PathSegment::from("spec"),
            PathSegment::from("rules"),
            PathSegment::from(2),
            PathSegment::from("validate"),
            PathSegment::from("pattern"),
        ];
        assert_eq!(render_path(&path), "spec.rules[2].validate.pattern");
        let odd = vec![
            PathSegment::from("metadata"),
            PathSegment::from("labels"),
            PathSegment::from("app.kubernetes.io/name"),
        ];
        assert_eq!(
            render_path(&odd),
            r#"metadata.labels["app.kubernetes.io/name"]"#
        );
        assert_eq!(render_path(&[PathSegment::from(0)]), "[0]");
        assert_eq!(render_path(&[]), "");
        assert_eq!(render_path(&[PathSegment::from("=(x)")]), "=(x)");
        assert_eq!(
            render_path(&[PathSegment::from("a b"), PathSegment::from("")]),
            r#"["a b"][""]"#
        );
    }
}
