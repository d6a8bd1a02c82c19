//! Loading a long stream document by document, so a caller can process (and drop) each one
//! before the next is parsed: `kubectl`-style manifests of thousands of objects.
//!
//! The stream is cut at its `---` lines. A `---` line at column 0 always ends the current
//! document in YAML (it cannot occur inside a scalar or a collection), so each piece loads to
//! the same documents as the whole stream does there, with two exceptions that make
//! [`pieces`] refuse to cut: anchors and aliases (`&`, `*`), whose copy budget counts the
//! whole stream, and input over the size limit. A piece that is one JSON object is parsed
//! as JSON when that gives the same document (see `json_piece`). A piece that fails to load does not tell
//! what the whole stream would give (its JSON fallback, or the exact error): the caller then
//! loads the whole stream with [`crate::parse_documents`].

use crate::{Document, Error, Options};

/// Pieces of a stream, each loaded on demand.
#[derive(Debug)]
pub struct Pieces<'a> {
    src: &'a str,
    /// Byte offset of the next piece.
    at: usize,
    /// 1-based line of `at`.
    line: usize,
    opts: Options,
}

/// The pieces of `src`, or `None` when it must be loaded whole (see the module notes).
pub fn pieces<'a>(src: &'a str, opts: &Options) -> Option<Pieces<'a>> {
    if src.len() > opts.limits.max_input_bytes || src.contains(['&', '*']) {
        return None;
    }
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    Some(Pieces {
        src,
        at: 0,
        line: 1,
        opts: opts.clone(),
    })
}

impl Pieces<'_> {
    /// How many pieces are left (a cheap scan, for progress reporting).
    pub fn count_left(&self) -> usize {
        let rest = self.src.get(self.at..).unwrap_or_default();
        1 + rest.lines().filter(|l| is_separator(l)).count()
    }
}

impl Iterator for Pieces<'_> {
    type Item = Result<Vec<Document>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.src.get(self.at..)?;
        if rest.is_empty() {
            return None;
        }
        // The piece runs to the start of the next separator line after its first line (a
        // separator opening the piece belongs to it).
        let mut end = rest.len();
        let mut lines_in_piece = 0;
        let mut offset = 0;
        for (i, l) in rest.split_inclusive('\n').enumerate() {
            if i > 0 && is_separator(l.trim_end_matches(['\n', '\r'])) {
                end = offset;
                break;
            }
            offset += l.len();
            lines_in_piece += 1;
        }
        let piece = rest.get(..end).unwrap_or(rest);
        let first_line = self.line;
        self.at += end;
        self.line += lines_in_piece;
        Some(load_piece(piece, first_line, &self.opts))
    }
}

/// A document-start line with nothing after the marker.
fn is_separator(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.chars().all(|c| c == ' ' || c == '\t'))
}

fn load_piece(piece: &str, first_line: usize, opts: &Options) -> Result<Vec<Document>, Error> {
    if let Some(docs) = crate::json_piece::load(piece, first_line, opts) {
        return Ok(docs);
    }
    let mut docs = crate::load(piece, opts)?;
    for d in &mut docs {
        d.line += first_line - 1;
        if let Some(p) = &mut d.positions {
            p.shift(|mut loc| {
                loc.line += first_line - 1;
                loc
            });
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_documents;

    fn by_pieces(src: &str) -> Option<Vec<Document>> {
        let mut out = Vec::new();
        for p in pieces(src, &Options::default())? {
            out.extend(p.ok()?);
        }
        Some(out)
    }

    #[test]
    fn pieces_load_like_the_whole_stream() {
        for src in [
            "a: 1\n---\nb: 2\n",
            "---\n{\"a\": [1, 2]}\n---\n{\"b\": \"x\"}\n",
            "\u{feff}---\nkind: Pod\n---   \n\n---\nkind: Svc\nspec:\n  x: |\n    text\n",
            "a: 1\n...\n---\nb: yes\n",
            "",
            "---\n",
        ] {
            let whole = parse_documents(src, &Options::default()).unwrap();
            let got = by_pieces(src).unwrap();
            assert_eq!(got, whole, "{src:?}");
        }
    }

    #[test]
    fn aliases_and_failures_are_left_to_the_whole_stream() {
        assert!(pieces("a: &x 1\n---\nb: *x\n", &Options::default()).is_none());
        // Concatenated JSON in one piece is not YAML: the piece fails, the caller loads the
        // whole stream (which may accept it).
        let mut p = pieces("{\"a\": 1}{\"b\": 2}\n", &Options::default()).unwrap();
        assert!(p.next().unwrap().is_err());
    }

    #[test]
    fn counts_pieces() {
        let p = pieces("a: 1\n---\nb: 2\n---\nc: 3\n", &Options::default()).unwrap();
        assert_eq!(p.count_left(), 3);
    }
}
