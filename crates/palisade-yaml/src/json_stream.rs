//! Concatenated JSON documents (`{...}{...}` or one per line), which are not a YAML stream.
//! They are split at top-level value boundaries and each piece is loaded as YAML (JSON is
//! YAML), padded so that lines and columns still refer to the whole input.

/// Byte ranges of the top-level objects/arrays of `src`, or `None` when `src` is not a
/// sequence of at least two JSON objects/arrays separated by whitespace.
pub(crate) fn split(src: &str) -> Option<Vec<(usize, usize)>> {
    let b = src.as_bytes();
    let mut chunks = Vec::new();
    let mut i = 0;
    loop {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match b.get(i) {
            None => break,
            Some(b'{' | b'[') => {
                let end = value_end(b, i)?;
                chunks.push((i, end));
                i = end;
            }
            Some(_) => return None,
        }
    }
    (chunks.len() >= 2).then_some(chunks)
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

/// The piece `src[start..end]` preceded by the newlines and spaces that put it at its
/// original line and column.
pub(crate) fn padded(src: &str, start: usize, end: usize) -> String {
    let before = &src[..start];
    let lines = before.matches('\n').count();
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    let mut out = String::with_capacity(lines + column + end - start);
    out.extend(std::iter::repeat_n('\n', lines));
    out.extend(std::iter::repeat_n(' ', column));
    out.push_str(&src[start..end]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_concatenated_values() {
        let src = r#"{"a": "}"} [1, {"b": "\"]"}]
{"c": 1}"#;
        let chunks = split(src).unwrap();
        let texts: Vec<&str> = chunks.iter().map(|(s, e)| &src[*s..*e]).collect();
        assert_eq!(
            texts,
            vec![r#"{"a": "}"}"#, r#"[1, {"b": "\"]"}]"#, r#"{"c": 1}"#]
        );
        assert_eq!(padded(src, chunks[2].0, chunks[2].1), "\n{\"c\": 1}");
        assert_eq!(
            padded(src, chunks[1].0, chunks[1].1),
            format!("{}[1, {{\"b\": \"\\\"]\"}}]", " ".repeat(11))
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
