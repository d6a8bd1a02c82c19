//! Tokenizer for CEL source text.

/// A token kind with its literal payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Integer magnitude; the parser applies a leading minus so `-9223372036854775808` works.
    Int(u64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ident(String),
    True,
    False,
    Null,
    In,
    /// Punctuation and operators, e.g. `(`, `.?`, `&&`.
    P(&'static str),
    Eof,
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub off: usize,
}

/// Words CEL reserves: rejected as identifiers, but allowed as field names after `.` and in
/// message literals (`object.metadata.namespace`), as cel-go's parser allows them.
pub(crate) const RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

const PUNCT: &[&str] = &[
    "==", "!=", "<=", ">=", "&&", "||", ".?", "(", ")", "[", "]", "{", "}", ".", ",", ":", "?",
    "+", "-", "*", "/", "%", "!", "<", ">",
];

/// Splits `src` into tokens; the error carries a byte offset and a message.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, (usize, String)> {
    let mut lx = Lexer {
        src,
        pos: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn push(&mut self, tok: Tok, off: usize) {
        self.out.push(Token { tok, off });
    }

    fn run(&mut self) -> Result<(), (usize, String)> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else if self.rest().starts_with("//") {
                let end = self.rest().find('\n').unwrap_or(self.rest().len());
                self.pos += end;
            } else if c.is_ascii_digit() || (c == '.' && self.float_allowed()) {
                let tok = self.number()?;
                self.push(tok, start);
            } else if c == '"' || c == '\'' {
                let s = self.string(false, false)?;
                self.push(Tok::Str(s_to_string(s, start)?), start);
            } else if c.is_ascii_alphabetic() || c == '_' {
                if let Some(tok) = self.prefixed_string()? {
                    self.push(tok, start);
                } else {
                    let tok = self.ident()?;
                    self.push(tok, start);
                }
            } else if let Some(p) = PUNCT.iter().find(|p| self.rest().starts_with(**p)) {
                // `.?` only when not followed by a digit-less ternary context such as `a.?b`.
                self.pos += p.len();
                self.push(Tok::P(p), start);
            } else {
                return Err((start, format!("unexpected character {c:?}")));
            }
        }
        let end = self.src.len();
        self.push(Tok::Eof, end);
        Ok(())
    }

    /// A leading `.` starts a number only where an operand may begin (so `a.0` stays a select).
    fn float_allowed(&self) -> bool {
        if !self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            return false;
        }
        !matches!(
            self.out.last().map(|t| &t.tok),
            Some(
                Tok::Ident(_) | Tok::P(")" | "]" | "}") | Tok::Int(_) | Tok::Uint(_) | Tok::Str(_)
            )
        )
    }

    fn ident(&mut self) -> Result<Tok, (usize, String)> {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        self.pos += len;
        let word = self.src.get(start..self.pos).unwrap_or("");
        Ok(match word {
            "true" => Tok::True,
            "false" => Tok::False,
            "null" => Tok::Null,
            "in" => Tok::In,
            w => Tok::Ident(w.to_string()),
        })
    }

    fn prefixed_string(&mut self) -> Result<Option<Tok>, (usize, String)> {
        let r = self.rest();
        let lower: String = r.chars().take(3).collect::<String>().to_ascii_lowercase();
        let (raw, bytes, skip) = if lower.starts_with("rb") || lower.starts_with("br") {
            (true, true, 2)
        } else if lower.starts_with('r') {
            (true, false, 1)
        } else if lower.starts_with('b') {
            (false, true, 1)
        } else {
            return Ok(None);
        };
        if !matches!(lower.chars().nth(skip), Some('"' | '\'')) {
            return Ok(None);
        }
        let start = self.pos;
        self.pos += skip;
        let data = self.string(raw, bytes)?;
        if bytes {
            Ok(Some(Tok::Bytes(data)))
        } else {
            Ok(Some(Tok::Str(s_to_string(data, start)?)))
        }
    }

    /// Reads a quoted literal (self.pos at the quote) and returns its decoded bytes.
    fn string(&mut self, raw: bool, bytes: bool) -> Result<Vec<u8>, (usize, String)> {
        let start = self.pos;
        let r = self.rest();
        let quote = if r.starts_with("\"\"\"") {
            "\"\"\""
        } else if r.starts_with("'''") {
            "'''"
        } else if r.starts_with('"') {
            "\""
        } else {
            "'"
        };
        self.pos += quote.len();
        let mut out = Vec::new();
        loop {
            let rest = self.rest();
            if rest.starts_with(quote) {
                self.pos += quote.len();
                return Ok(out);
            }
            let Some(c) = rest.chars().next() else {
                return Err((start, "unterminated string literal".into()));
            };
            if quote.len() == 1 && (c == '\n' || c == '\r') {
                return Err((start, "newline in single-quoted string literal".into()));
            }
            if c == '\\' && !raw {
                self.escape(&mut out, bytes)?;
            } else {
                if c == '\\' && raw && rest[1..].starts_with(quote) {
                    // A raw string keeps the backslash but the quote does not end it.
                    out.push(b'\\');
                    out.extend_from_slice(quote.as_bytes());
                    self.pos += 1 + quote.len();
                    continue;
                }
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                self.pos += c.len_utf8();
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>, bytes: bool) -> Result<(), (usize, String)> {
        let at = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err((at, "unterminated escape sequence".into()));
        };
        self.pos += c.len_utf8();
        let simple = match c {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' => Some(b'\''),
            '"' => Some(b'"'),
            '`' => Some(b'`'),
            '?' => Some(b'?'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return Ok(());
        }
        let (digits, radix) = match c {
            'x' | 'X' => (2, 16),
            'u' if !bytes => (4, 16),
            'U' if !bytes => (8, 16),
            '0'..='3' => {
                self.pos -= 1;
                (3, 8)
            }
            _ => return Err((at, format!("invalid escape sequence '\\{c}'"))),
        };
        let text = self
            .rest()
            .get(..digits)
            .ok_or((at, "truncated escape sequence".to_string()))?;
        let code = u32::from_str_radix(text, radix)
            .map_err(|_| (at, format!("invalid escape sequence '\\{c}{text}'")))?;
        self.pos += digits;
        if bytes && (radix == 8 || c == 'x' || c == 'X') {
            out.push(u8::try_from(code).map_err(|_| (at, "byte escape out of range".to_string()))?);
            return Ok(());
        }
        let ch = char::from_u32(code).ok_or((at, format!("invalid code point {code:#x}")))?;
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn number(&mut self) -> Result<Tok, (usize, String)> {
        let start = self.pos;
        let src = self.src;
        let rest = src.get(start..).unwrap_or("");
        if rest.starts_with("0x") || rest.starts_with("0X") {
            let len = rest[2..]
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(rest.len() - 2);
            let v = u64::from_str_radix(&rest[2..2 + len], 16)
                .map_err(|_| (start, "invalid hexadecimal literal".to_string()))?;
            self.pos += 2 + len;
            return Ok(self.int_suffix(v));
        }
        let bytes = rest.as_bytes();
        let mut i = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut float = false;
        if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit()) {
            float = true;
            i += 1;
            i += bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(bytes.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            let n = bytes[j.min(bytes.len())..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if n > 0 {
                float = true;
                i = j + n;
            }
        }
        let text = &rest[..i];
        self.pos += i;
        if float {
            let v: f64 = text
                .parse()
                .map_err(|_| (start, format!("invalid float literal '{text}'")))?;
            return Ok(Tok::Double(v));
        }
        let v: u64 = text
            .parse()
            .map_err(|_| (start, format!("integer literal '{text}' out of range")))?;
        Ok(self.int_suffix(v))
    }

    fn int_suffix(&mut self, v: u64) -> Tok {
        if matches!(self.peek(), Some('u' | 'U')) {
            self.pos += 1;
            Tok::Uint(v)
        } else {
            Tok::Int(v)
        }
    }
}

fn s_to_string(bytes: Vec<u8>, off: usize) -> Result<String, (usize, String)> {
    String::from_utf8(bytes).map_err(|_| (off, "string literal is not valid UTF-8".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn literals() {
        let cases: Vec<(&str, Tok)> = vec![
            ("42", Tok::Int(42)),
            ("0x1F", Tok::Int(31)),
            ("7u", Tok::Uint(7)),
            ("1.5", Tok::Double(1.5)),
            ("1e3", Tok::Double(1000.0)),
            (".5", Tok::Double(0.5)),
            ("'a\\nb'", Tok::Str("a\nb".into())),
            ("\"\\u00e9\"", Tok::Str("é".into())),
            ("r'a\\nb'", Tok::Str("a\\nb".into())),
            ("b'\\xff'", Tok::Bytes(vec![255])),
            ("'''x'y'''", Tok::Str("x'y".into())),
            ("'\\101'", Tok::Str("A".into())),
        ];
        for (src, want) in cases {
            assert_eq!(toks(src), vec![want, Tok::Eof], "{src}");
        }
    }

    #[test]
    fn operators_and_select() {
        assert_eq!(
            toks("a.?b[0] && !c"),
            vec![
                Tok::Ident("a".into()),
                Tok::P(".?"),
                Tok::Ident("b".into()),
                Tok::P("["),
                Tok::Int(0),
                Tok::P("]"),
                Tok::P("&&"),
                Tok::P("!"),
                Tok::Ident("c".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn errors_have_offsets() {
        let cases = [
            ("a # b", 2),
            ("'abc", 0),
            ("x + 'a\\qb'", 6),
            ("99999999999999999999", 0),
        ];
        for (src, off) in cases {
            let e = lex(src).unwrap_err();
            assert_eq!(e.0, off, "{src}: {}", e.1);
        }
    }
}
