//! Concatenated JSON documents (`{...}{...}` or one per line), which are not a YAML stream.
//! They are split at top-level value boundaries and each piece is loaded as YAML (JSON is
//! YAML); positions are then moved to where the piece starts in the whole input.

use crate::Error;
use crate::positions::Location;

/// One top-level value: its byte range and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) at: Location,
}

impl Chunk {
    /// Moves a location inside the chunk to the whole input.
    pub(crate) fn shift(&self, loc: Location) -> Location {
        if loc.line <= 1 {
            Location {
                line: self.at.line,
                column: self.at.column + loc.column.saturating_sub(1),
            }
        } else {
            Location {
                line: self.at.line + loc.line - 1,
                column: loc.column,
            }
        }
    }

    /// Moves an error's position inside the chunk to the whole input.
    pub(crate) fn shift_error(&self, mut err: Error) -> Error {
        let loc = self.shift(Location {
            line: err.line,
            column: err.column,
        });
        (err.line, err.column) = (loc.line, loc.column);
        err
    }
}

/// The top-level objects/arrays of `src`, or `None` when `src` is not a sequence of at
/// least two JSON objects/arrays separated by whitespace. Linear in the input size.
pub(crate) fn split(src: &str) -> Option<Vec<Chunk>> {
    let b = src.as_bytes();
    let mut chunks = Vec::new();
    let mut i = 0;
    // Line and column of byte `counted`, advanced incrementally.
    let (mut counted, mut at) = (0, Location { line: 1, column: 1 });
    loop {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match b.get(i) {
            None => break,
            Some(b'{' | b'[') => {
                let end = value_end(b, i)?;
                at = advance(&src[counted..i], at);
                counted = i;
                chunks.push(Chunk { start: i, end, at });
                i = end;
            }
            Some(_) => return None,
        }
    }
    (chunks.len() >= 2).then_some(chunks)
}

/// The location reached after `text`, starting at `at`.
fn advance(text: &str, mut at: Location) -> Location {
    for c in text.chars() {
        if c == '\n' {
            at = Location {
                line: at.line + 1,
                column: 1,
            };
        } else {
            at.column += 1;
        }
    }
    at
}

/// The end (exclusive) of the bracketed value starting at `start`.
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in b.iter().enumerate().skip(start) {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_concatenated_values() {
        let src = "{\"a\": \"}\"} [1, {\"b\": \"\\\"]\"}]\n  {\"c\": 1}";
        let chunks = split(src).unwrap();
        let texts: Vec<&str> = chunks.iter().map(|c| &src[c.start..c.end]).collect();
        assert_eq!(
            texts,
            vec!["{\"a\": \"}\"}", "[1, {\"b\": \"\\\"]\"}]", "{\"c\": 1}"]
        );
        let starts: Vec<(usize, usize)> = chunks.iter().map(|c| (c.at.line, c.at.column)).collect();
        assert_eq!(starts, vec![(1, 1), (1, 12), (2, 3)]);
        let second = chunks[1];
        assert_eq!(
            second.shift(Location { line: 1, column: 5 }),
            Location {
                line: 1,
                column: 16
            }
        );
        assert_eq!(
            second.shift(Location { line: 3, column: 2 }),
            Location { line: 3, column: 2 }
        );
    }

    #[test]
    fn rejects_non_streams() {
        assert_eq!(split(r#"{"a": 1}"#), None);
        assert_eq!(split("a: 1"), None);
        assert_eq!(split(r#"{"a": 1} x"#), None);
        assert_eq!(split(r#"{"a": 1}}"#), None);
        assert_eq!(split(r#"{"a": 1"#), None);
    }
}
