//! A fast path for a piece of a stream that is one JSON object (`---` then `{...}`, as tools
//! write manifests): serde_json parses it in a fraction of the YAML parser's time.
//!
//! The result is the document the YAML loader gives, because the fast path only takes
//! objects where YAML and JSON agree, and leaves everything else to the loader: keys are
//! strings on the same line as their `:` and at most 1024 bytes (YAML's implicit-key
//! limits); numbers are integers (YAML 1.1 resolves floats its own way); no duplicate keys,
//! no tabs, no surrogate escapes, no characters YAML cannot hold, no nesting past the limit.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::{Document, Options};

/// The document of `piece` (text after its `---` line, if any), or `None` when the YAML
/// loader must decide.
pub(crate) fn load(piece: &str, first_line: usize, opts: &Options) -> Option<Vec<Document>> {
    if opts.positions {
        return None;
    }
    let (content, skipped_lines) = after_separator(piece);
    let start = content.find(|c: char| !matches!(c, ' ' | '\n' | '\r'))?;
    let body = content.get(start..)?.trim_end_matches([' ', '\n', '\r']);
    if !body.starts_with('{') || !body.ends_with('}') || !yaml_compatible(body) {
        return None;
    }
    let mut de = serde_json::Deserializer::from_str(body);
    let value = Node {
        depth: 1,
        max_depth: opts.limits.max_depth,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    let line = first_line
        + skipped_lines
        + content
            .get(..start)
            .map_or(0, |s| s.bytes().filter(|b| *b == b'\n').count());
    Some(vec![Document {
        value,
        line,
        positions: None,
    }])
}

/// The piece without its leading `---` line, and how many lines that was.
fn after_separator(piece: &str) -> (&str, usize) {
    match piece.strip_prefix("---") {
        Some(rest) => match rest.find('\n') {
            Some(i) => (rest.get(i + 1..).unwrap_or_default(), 1),
            None => ("", 0),
        },
        None => (piece, 0),
    }
}

/// The text-level conditions (see the module notes), in one pass over the bytes.
fn yaml_compatible(body: &str) -> bool {
    let b = body.as_bytes();
    let mut in_string = false;
    let mut string_start = 0;
    // End of the last string and whether a line break followed it before the next token.
    let mut last_string: Option<(usize, usize, bool)> = None;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if in_string {
            match c {
                b'\\' => {
                    // `\u` escapes of surrogates combine in JSON but not in YAML.
                    if b.get(i + 1) == Some(&b'u') && matches!(b.get(i + 2), Some(b'd' | b'D')) {
                        return false;
                    }
                    i += 2;
                    continue;
                }
                b'"' => {
                    in_string = false;
                    last_string = Some((string_start, i, false));
                }
                _ => {}
            }
        } else {
            match c {
                b'"' => {
                    in_string = true;
                    string_start = i;
                }
                b'\n' => {
                    if let Some((_, _, broken)) = &mut last_string {
                        *broken = true;
                    }
                }
                b':' => match last_string {
                    Some((start, end, false)) if end - start < 1024 => {}
                    _ => return false,
                },
                b' ' | b'\r' => {}
                _ => last_string = None,
            }
        }
        if c == b'\t' || c == 0x7f {
            return false;
        }
        i += 1;
    }
    // Characters YAML does not allow (C1 controls, BOM, non-characters) or that YAML 1.1
    // reads as line breaks (NEL, LS, PS); ASCII controls are not valid JSON anyway.
    body.is_ascii()
        || !body.chars().any(|c| {
            matches!(
                c,
                '\u{80}'
                    ..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
            )
        })
}

/// Deserializes a value, refusing what the fast path does not take.
struct Node {
    depth: usize,
    max_depth: usize,
}

impl Node {
    fn child(&self) -> Node {
        Node {
            depth: self.depth + 1,
            max_depth: self.max_depth,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value YAML reads the same way")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(Number::from(v)))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Err(E::custom("a float"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth > self.max_depth {
            return Err(de::Error::custom("too deep"));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child())? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.depth > self.max_depth {
            return Err(de::Error::custom("too deep"));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self.child())?;
            if out.insert(key, value).is_some() {
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_documents;

    #[test]
    fn fast_documents_equal_the_loader_s() {
        for src in [
            "---\n{\"a\": 1, \"b\": [true, false, null, -7, 18446744073709551615], \"c\": {\"d\": \"x\\\"y\\n\\u00e9 #\"}}\n",
            "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"x\":{}}",
            "---\n\n  {\n\"k\": \"v\",\n \"l\" : [ ]\n}\n\n",
            "---\r\n{\"a\": \"b\"}\r\n",
        ] {
            let fast = load(src, 1, &Options::default()).unwrap_or_else(|| panic!("{src:?}"));
            let whole = parse_documents(src, &Options::default()).unwrap();
            assert_eq!(fast, whole, "{src:?}");
        }
    }

    #[test]
    fn unsure_pieces_go_to_the_loader() {
        for src in [
            "{\"a\": 1.5}",
            "{\"a\": 1e3}",
            "{\"a\": 1, \"a\": 2}",
            "{\"a\"\n: 1}",
            "{\"a\":\t1}",
            "{\"a\": \"\\ud83d\\ude00\"}",
            "{\"a\": \"\u{85}\"}",
            "[1, 2]",
            "a: 1",
            "{\"a\": 1} # comment",
            "",
        ] {
            assert!(load(src, 1, &Options::default()).is_none(), "{src:?}");
        }
        let long_key = format!("{{\"{}\": 1}}", "k".repeat(1100));
        assert!(load(&long_key, 1, &Options::default()).is_none());
        let shallow = Options {
            limits: crate::Limits {
                max_depth: 2,
                ..Default::default()
            },
            ..Options::default()
        };
        assert!(load("{\"a\": {\"b\": {}}}", 1, &shallow).is_none());
        assert!(load("{\"a\": {\"b\": 1}}", 1, &shallow).is_some());
    }
}
