//! Tokenizer for JMESPath expressions.

use serde_json::Value;

use crate::error::ParseError;

/// Longest expression accepted (bytes); longer input is refused before any work.
pub const MAX_EXPRESSION_LEN: usize = 1 << 20;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// `foo`
    Ident(String),
    /// `"foo"`
    QuotedIdent(String),
    /// `` `json` `` or `'raw'`
    Literal(Value),
    /// An integer in an index or slice.
    Number(i64),
    Dot,
    Star,
    Flatten,
    Filter,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Colon,
    Pipe,
    Or,
    And,
    Not,
    At,
    Ampersand,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

/// A token and its byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub offset: usize,
}

/// Splits `expr` into tokens, ending with [`Tok::Eof`].
pub fn tokenize(expr: &str) -> Result<Vec<Token>, ParseError> {
    if expr.len() > MAX_EXPRESSION_LEN {
        return Err(ParseError::new(0, "expression is too long"));
    }
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let simple = |t: Tok, n: usize| (t, n);
        let (tok, len) = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'.' => simple(Tok::Dot, 1),
            b'*' => simple(Tok::Star, 1),
            b']' => simple(Tok::RBracket, 1),
            b'{' => simple(Tok::LBrace, 1),
            b'}' => simple(Tok::RBrace, 1),
            b'(' => simple(Tok::LParen, 1),
            b')' => simple(Tok::RParen, 1),
            b',' => simple(Tok::Comma, 1),
            b':' => simple(Tok::Colon, 1),
            b'@' => simple(Tok::At, 1),
            b'[' => match b.get(i + 1) {
                Some(b']') => simple(Tok::Flatten, 2),
                Some(b'?') => simple(Tok::Filter, 2),
                _ => simple(Tok::LBracket, 1),
            },
            b'|' => {
                if b.get(i + 1) == Some(&b'|') {
                    simple(Tok::Or, 2)
                } else {
                    simple(Tok::Pipe, 1)
                }
            }
            b'&' => {
                if b.get(i + 1) == Some(&b'&') {
                    simple(Tok::And, 2)
                } else {
                    simple(Tok::Ampersand, 1)
                }
            }
            b'!' => {
                if b.get(i + 1) == Some(&b'=') {
                    simple(Tok::Ne, 2)
                } else {
                    simple(Tok::Not, 1)
                }
            }
            b'<' => {
                if b.get(i + 1) == Some(&b'=') {
                    simple(Tok::Le, 2)
                } else {
                    simple(Tok::Lt, 1)
                }
            }
            b'>' => {
                if b.get(i + 1) == Some(&b'=') {
                    simple(Tok::Ge, 2)
                } else {
                    simple(Tok::Gt, 1)
                }
            }
            b'=' => {
                if b.get(i + 1) == Some(&b'=') {
                    simple(Tok::Eq, 2)
                } else {
                    return Err(ParseError::new(i, "Unknown char: '=' (did you mean '=='?)"));
                }
            }
            b'"' => quoted_identifier(expr, i)?,
            b'\'' => raw_string(expr, i)?,
            b'`' => json_literal(expr, i)?,
            b'-' | b'0'..=b'9' => number(expr, i)?,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let n = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                (Tok::Ident(expr[i..i + n].to_string()), n)
            }
            _ => {
                let ch = expr[i..].chars().next().unwrap_or('?');
                return Err(ParseError::new(i, format!("Unknown char: {ch:?}")));
            }
        };
        out.push(Token { tok, offset: start });
        i += len;
    }
    out.push(Token {
        tok: Tok::Eof,
        offset: b.len(),
    });
    Ok(out)
}

/// Finds the closing `delim`, skipping backslash escapes; returns its index.
fn closing(expr: &str, start: usize, delim: u8) -> Option<usize> {
    let b = expr.as_bytes();
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == delim => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn quoted_identifier(expr: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let end = closing(expr, start, b'"')
        .ok_or_else(|| ParseError::new(start, "unclosed delimiter: \""))?;
    let text = &expr[start..=end];
    let s: String = serde_json::from_str(text)
        .map_err(|e| ParseError::new(start, format!("invalid quoted identifier {text}: {e}")))?;
    Ok((Tok::QuotedIdent(s), end + 1 - start))
}

fn raw_string(expr: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let end = closing(expr, start, b'\'')
        .ok_or_else(|| ParseError::new(start, "unclosed delimiter: '"))?;
    let s = expr[start + 1..end].replace("\\'", "'");
    Ok((Tok::Literal(Value::String(s)), end + 1 - start))
}

fn json_literal(expr: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let end = closing(expr, start, b'`')
        .ok_or_else(|| ParseError::new(start, "unclosed delimiter: `"))?;
    let text = expr[start + 1..end].replace("\\`", "`");
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| ParseError::new(start, format!("invalid JSON literal `{text}`: {e}")))?;
    Ok((Tok::Literal(v), end + 1 - start))
}

fn number(expr: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let b = expr.as_bytes();
    let mut n = usize::from(b[start] == b'-');
    n += b[start + n..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let text = &expr[start..start + n];
    let v: i64 = text
        .parse()
        .map_err(|_| ParseError::new(start, format!("invalid number {text:?}")))?;
    Ok((Tok::Number(v), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(e: &str) -> Vec<Tok> {
        tokenize(e).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            kinds("a.b[0][] | c"),
            vec![
                Tok::Ident("a".into()),
                Tok::Dot,
                Tok::Ident("b".into()),
                Tok::LBracket,
                Tok::Number(0),
                Tok::RBracket,
                Tok::Flatten,
                Tok::Pipe,
                Tok::Ident("c".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds("'it\\'s'")[0],
            Tok::Literal(Value::String("it's".into()))
        );
        assert_eq!(kinds("`[1]`")[0], Tok::Literal(serde_json::json!([1])));
        assert_eq!(kinds("\"a\\nb\"")[0], Tok::QuotedIdent("a\nb".into()));
        assert_eq!(
            kinds("[?a!=`1`]")[..3],
            [Tok::Filter, Tok::Ident("a".into()), Tok::Ne]
        );
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(tokenize("a = b").unwrap_err().offset, 2);
        assert_eq!(tokenize("a.`foo`").unwrap_err().offset, 2);
        assert_eq!(tokenize("'abc").unwrap_err().offset, 0);
        assert_eq!(tokenize("a#").unwrap_err().offset, 1);
        assert!(tokenize("-").is_err());
    }
}
