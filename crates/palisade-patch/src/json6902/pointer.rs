//! JSON pointers (RFC 6901): parsing, escaping and array indices as evanphx/json-patch reads them.

/// Splits a pointer into unescaped tokens. `""` is the whole document.
pub(crate) fn parse(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!("path {pointer:?} must be empty or start with '/'"));
    };
    Ok(rest.split('/').map(unescape).collect())
}

/// `~1` → `/`, then `~0` → `~`, in that order (RFC 6901 §4).
pub fn unescape(token: &str) -> String {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~")
    } else {
        token.to_string()
    }
}

/// `~` → `~0`, `/` → `~1`.
pub fn escape(token: &str) -> String {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1")
    } else {
        token.to_string()
    }
}

/// Parses an array index like Go's `strconv.Atoi` (optional sign, decimal digits).
pub(crate) fn parse_index(token: &str) -> Option<i64> {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_escape_round_trip() {
        let cases = [
            ("", vec![]),
            ("/a", vec!["a"]),
            ("/a~1b/~0c", vec!["a/b", "~c"]),
            ("/~01", vec!["~1"]),
            ("/", vec![""]),
            ("/a//b", vec!["a", "", "b"]),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).unwrap(), want, "{input}");
        }
        assert!(parse("a/b").is_err());
        assert_eq!(escape("a/b~c"), "a~1b~0c");
        assert_eq!(unescape(&escape("~1/~0")), "~1/~0");
    }

    #[test]
    fn indices_like_atoi() {
        assert_eq!(parse_index("3"), Some(3));
        assert_eq!(parse_index("-1"), Some(-1));
        assert_eq!(parse_index("+2"), Some(2));
        assert_eq!(parse_index("007"), Some(7));
        assert_eq!(parse_index("-"), None);
        assert_eq!(parse_index("1a"), None);
        assert_eq!(parse_index("99999999999999999999999"), None);
    }
}
