//! Go RE2 (`regexp`) patterns, translated so Rust's `regex` crate matches identically.
//!
//! Differences handled: `\d \w \s \b` are ASCII-only in Go (Unicode in Rust); `\Q..\E` quoting;
//! octal escapes; escaped punctuation (Rust gives `\<`, `\>` other meanings); a `{` that does
//! not start a repetition is a literal in Go; `[`, `&&`, `--`, `~~` inside classes are literal
//! in Go but set operators in Rust; repeat counts above 1000 and escapes Go rejects are errors.
//! Compiled programs are size-limited so hostile patterns cannot exhaust memory.

use thiserror::Error;

/// Compiled-program size limit (bytes) for one pattern.
const SIZE_LIMIT: usize = 4 << 20;
/// Go's maximum repeat count.
const MAX_REPEAT: u32 = 1000;

/// A pattern Go would reject, or one too large to compile.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegexError {
    /// Go's `regexp/syntax` would reject the pattern.
    #[error("error parsing regexp: {0}")]
    Syntax(String),
    /// The translated pattern failed to compile (including the size limit).
    #[error("error compiling regexp: {0}")]
    Compile(String),
}

fn syntax(msg: &str, text: &str) -> RegexError {
    RegexError::Syntax(format!("{msg}: `{text}`"))
}

/// Translates a Go pattern into an equivalent Rust `regex` pattern.
pub fn translate(go: &str) -> Result<String, RegexError> {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => i = escape_outside(&chars, i, &mut out)?,
            '[' => i = class(&chars, i, &mut out)?,
            '{' => i = brace(&chars, i, &mut out)?,
            '(' if chars.get(i + 1) == Some(&'?') => i = group_flags(&chars, i, &mut out)?,
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Compiles a Go pattern with a bounded program size.
pub fn compile(go: &str) -> Result<regex::Regex, RegexError> {
    let rust = translate(go)?;
    regex::RegexBuilder::new(&rust)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .nest_limit(1000)
        .build()
        .map_err(|e| RegexError::Compile(e.to_string()))
}

fn hex(c: char) -> String {
    format!("\\x{{{:X}}}", u32::from(c))
}

/// Reads an octal escape starting at `chars[i]` (a digit); returns the char and next index.
fn octal(chars: &[char], i: usize) -> Option<(char, usize)> {
    let first = chars.get(i)?.to_digit(8)?;
    let mut value = first;
    let mut j = i + 1;
    if first != 0 && !chars.get(j).is_some_and(|c| c.is_digit(8)) {
        return None; // a back-reference like \1, which Go does not support
    }
    while j < i + 3 {
        match chars.get(j).and_then(|c| c.to_digit(8)) {
            Some(d) => {
                value = value * 8 + d;
                j += 1;
            }
            None => break,
        }
    }
    Some((char::from_u32(value)?, j))
}

/// Escapes shared by both contexts: returns the Rust text and the next index.
fn common_escape(chars: &[char], i: usize) -> Result<Option<(String, usize)>, RegexError> {
    let Some(&c) = chars.get(i + 1) else {
        return Err(syntax("trailing backslash at end of expression", ""));
    };
    let simple = match c {
        'a' | 'f' | 't' | 'n' | 'r' | 'v' => Some(format!("\\{c}")),
        _ if c.is_ascii_punctuation() => Some(hex(c)),
        _ => None,
    };
    if let Some(s) = simple {
        return Ok(Some((s, i + 2)));
    }
    match c {
        '0'..='7' => {
            let (ch, next) = octal(chars, i + 1)
                .ok_or_else(|| syntax("invalid escape sequence", &format!("\\{c}")))?;
            Ok(Some((hex(ch), next)))
        }
        'x' => braced(chars, i, 4, "invalid escape sequence", "\\x{").map(Some),
        'p' | 'P' => braced(chars, i, 3, "invalid character class range", "\\p{").map(Some),
        _ => Ok(None),
    }
}

/// The text of an escape at `i` that is either `\c{...}` or `short` characters long (`\xHH`,
/// `\pL`), and the index after it; an unclosed brace is a syntax error.
fn braced(
    chars: &[char],
    i: usize,
    short: usize,
    msg: &str,
    text: &str,
) -> Result<(String, usize), RegexError> {
    let end = if chars.get(i + 2) == Some(&'{') {
        let rest = chars.get(i..).unwrap_or(&[]);
        let close = rest.iter().position(|&x| x == '}').map(|p| p + i);
        close.ok_or_else(|| syntax(msg, text))? + 1
    } else {
        i + short
    };
    let escape: String = chars
        .get(i..end.min(chars.len()))
        .unwrap_or(&[])
        .iter()
        .collect();
    Ok((escape, end))
}

fn escape_outside(chars: &[char], i: usize, out: &mut String) -> Result<usize, RegexError> {
    if let Some((s, next)) = common_escape(chars, i)? {
        out.push_str(&s);
        return Ok(next);
    }
    let c = chars[i + 1];
    let s = match c {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        'w' => "[0-9A-Za-z_]",
        'W' => "[^0-9A-Za-z_]",
        's' => "[\\t\\n\\x0C\\r ]",
        'S' => "[^\\t\\n\\x0C\\r ]",
        'b' => "(?-u:\\b)",
        'B' => "(?-u:\\B)",
        'A' => "\\A",
        'z' => "\\z",
        'Q' => return Ok(quoted(chars, i + 2, out)),
        _ => return Err(syntax("invalid escape sequence", &format!("\\{c}"))),
    };
    out.push_str(s);
    Ok(i + 2)
}

/// `\Q...\E`: everything up to `\E` (or the end) is literal.
fn quoted(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut j = start;
    while j < chars.len() {
        if chars[j] == '\\' && chars.get(j + 1) == Some(&'E') {
            return j + 2;
        }
        let c = chars[j];
        if c.is_ascii_punctuation() {
            out.push_str(&hex(c));
        } else {
            out.push(c);
        }
        j += 1;
    }
    j
}

fn class(chars: &[char], start: usize, out: &mut String) -> Result<usize, RegexError> {
    out.push('[');
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            let text: String = chars[start..].iter().collect();
            return Err(syntax("missing closing ]", &text));
        };
        match c {
            ']' if !first => {
                out.push(']');
                return Ok(i + 1);
            }
            '[' if chars.get(i + 1) == Some(&':') => {
                let rest: String = chars[i..].iter().collect();
                match rest.find(":]") {
                    Some(end) => {
                        out.push_str(&rest[..end + 2]);
                        i += rest[..end + 2].chars().count();
                    }
                    None => {
                        out.push_str("\\[");
                        i += 1;
                    }
                }
            }
            '\\' => i = escape_in_class(chars, i, out)?,
            '[' | ']' | '&' | '~' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push_str("\\-");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
        first = false;
    }
}

fn escape_in_class(chars: &[char], i: usize, out: &mut String) -> Result<usize, RegexError> {
    if let Some((s, next)) = common_escape(chars, i)? {
        out.push_str(&s);
        return Ok(next);
    }
    let c = chars[i + 1];
    let s = match c {
        'd' => "0-9",
        'D' => "\\x00-\\x2F\\x3A-\\x{10FFFF}",
        'w' => "0-9A-Za-z_",
        'W' => "\\x00-\\x2F\\x3A-\\x40\\x5B-\\x5E\\x60\\x7B-\\x{10FFFF}",
        's' => "\\t\\n\\x0C\\r ",
        'S' => "\\x00-\\x08\\x0B\\x0E-\\x1F\\x21-\\x{10FFFF}",
        _ => return Err(syntax("invalid escape sequence", &format!("\\{c}"))),
    };
    out.push_str(s);
    Ok(i + 2)
}

/// A `{` starts a repetition only if it reads `{n}`, `{n,}` or `{n,m}`; else it is literal.
fn brace(chars: &[char], i: usize, out: &mut String) -> Result<usize, RegexError> {
    let close = chars[i..].iter().position(|&c| c == '}').map(|p| p + i);
    if let Some(close) = close {
        let body: String = chars[i + 1..close].iter().collect();
        let (lo, hi) = match body.split_once(',') {
            Some((a, b)) => (a, Some(b)),
            None => (body.as_str(), None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if digits(lo) && hi.is_none_or(|h| h.is_empty() || digits(h)) {
            let bad = |s: &str| s.parse::<u32>().map_or(true, |n| n > MAX_REPEAT);
            if bad(lo) || hi.is_some_and(|h| !h.is_empty() && bad(h)) {
                return Err(syntax("invalid repeat count", &format!("{{{body}}}")));
            }
            out.push('{');
            out.push_str(&body);
            out.push('}');
            return Ok(close + 1);
        }
    }
    out.push_str("\\{");
    Ok(i + 1)
}

/// `(?flags)`, `(?flags:`, `(?P<name>` and `(?<name>`; other `(?` forms are Go errors.
fn group_flags(chars: &[char], i: usize, out: &mut String) -> Result<usize, RegexError> {
    let rest: String = chars[i..].iter().take(64).collect();
    if rest.starts_with("(?P<") || rest.starts_with("(?<") {
        out.push_str("(?P<");
        return Ok(i + if rest.starts_with("(?P<") { 4 } else { 3 });
    }
    let mut j = i + 2;
    let mut text = String::from("(?");
    let mut seen_flag = false;
    while let Some(&c) = chars.get(j) {
        match c {
            'i' | 'm' | 's' | 'U' | '-' => {
                seen_flag |= c != '-';
                text.push(c);
            }
            ')' | ':' if seen_flag || c == ':' => {
                text.push(c);
                out.push_str(&text);
                return Ok(j + 1);
            }
            _ => break,
        }
        j += 1;
    }
    Err(syntax("invalid or unsupported Perl syntax", &text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_match(p: &str, s: &str) -> bool {
        compile(p).unwrap().is_match(s)
    }

    #[test]
    fn ascii_classes() {
        assert!(!is_match(r"^\d$", "\u{661}"));
        assert!(is_match(r"^\d+$", "0123"));
        assert!(!is_match(r"^\w$", "é"));
        assert!(is_match(r"^\W$", "é"));
        assert!(!is_match(r"^\s$", "\u{a0}"));
        assert!(is_match(r"^[\d\s]+$", "1 2"));
        assert!(is_match(r"^[^\d]$", "x"));
        assert!(is_match(r"^[\D]$", "é"));
        assert!(is_match(r"\bfoo\b", "a foo b"));
        assert!(!is_match(r"é\b", "é"));
    }

    #[test]
    fn go_specific_syntax() {
        assert!(is_match(r"^\Qa.b\E$", "a.b"));
        assert!(!is_match(r"^\Qa.b\E$", "axb"));
        assert!(is_match(r"^\101$", "A"));
        assert!(is_match(r"^a{$", "a{"));
        assert!(is_match(r"^a{x}$", "a{x}"));
        assert!(is_match(r"^a{2}$", "aa"));
        assert!(is_match(r"^\<\>$", "<>"));
        assert!(is_match(r"^[a&&b]+$", "&&"));
        assert!(is_match(r"^[[a]+$", "[a"));
        assert!(is_match(r"^[]a]+$", "]a"));
        assert!(is_match(r"^[[:alpha:]]+$", "abc"));
        assert!(is_match(r"(?i)^abc$", "ABC"));
        assert!(is_match(r"(?i:a)B", "AB"));
        assert!(is_match(r"^(?P<x>a)(?<y>b)$", "ab"));
        assert!(is_match(r"a\z", "a"));
        assert!(is_match(r"^\pL+$", "héllo"));
        assert!(is_match(r"^\x41\x{42}$", "AB"));
    }

    #[test]
    fn go_rejects() {
        for p in [
            r"\1", r"a{1001}", r"(?=a)", r"\Z", r"\e", r"(?x)a", "[a", "\\", r"[\b]",
        ] {
            assert!(compile(p).is_err(), "{p}");
        }
    }

    #[test]
    fn size_limited() {
        assert!(compile(r"(\pL{100}){100}").is_err());
    }
}
