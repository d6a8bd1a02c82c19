//! A borrowed, allocation-free path used only to render error locations.

/// One step from a parent node.
#[derive(Clone, Copy)]
pub(crate) enum Seg<'a> {
    /// The document root.
    Root,
    /// A map key.
    Key(&'a str),
    /// A list element.
    Index(usize),
}

/// A path as a linked list on the stack; rendered only when an error is built.
#[derive(Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
    depth: usize,
}

impl<'a> Path<'a> {
    /// The root path.
    pub(crate) const ROOT: Path<'static> = Path {
        parent: None,
        seg: Seg::Root,
        depth: 0,
    };

    /// The child path under map key `key`.
    pub(crate) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Key(key),
            depth: self.depth + 1,
        }
    }

    /// The child path at list index `index`.
    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Index(index),
            depth: self.depth + 1,
        }
    }

    /// Nesting depth (the root is 0).
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// Renders as `spec.containers[0].image`, or `<root>`.
    pub(crate) fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() {
            "<root>".to_string()
        } else {
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dotted_paths() {
        let root = Path::ROOT;
        let spec = root.key("spec");
        let list = spec.key("containers");
        let elem = list.index(2);
        let leaf = elem.key("image");
        assert_eq!(leaf.render(), "spec.containers[2].image");
        assert_eq!(leaf.depth(), 4);
        assert_eq!(Path::ROOT.render(), "<root>");
    }
}
