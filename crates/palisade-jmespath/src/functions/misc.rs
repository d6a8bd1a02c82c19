//! Kyverno's general-purpose functions: lookups, object building, booleans, paths, semver,
//! and random strings.

use rand::Rng;
use serde_json::{Map, Value};

use super::{Arg, Category, FnDef, Group, Ty, iface_to_string, p, s, v};
use crate::error::Error;
use crate::interp::{Interp, num};

const MISC: Category = Category::Kyverno(Group::Misc);
const STR: &[Ty] = &[Ty::String];
/// Largest repetition `random` expands an unbounded `*` or `+` to.
const RANDOM_MAX_REPEAT: u32 = 32;
/// Longest pattern `random` accepts.
const RANDOM_MAX_PATTERN: usize = 1024;
/// Longest string `random` may generate. Counted repeats multiply (`((a{1000}){1000}){1000}`
/// is a gigabyte), and rand_regex sizes its buffer, and multiplies counts, before sampling.
const RANDOM_MAX_LEN: usize = 1 << 20;

macro_rules! def {
    ($cat:expr, $name:literal, $sig:literal, $doc:literal, [$($param:expr),*], $imp:expr) => {
        FnDef { name: $name, sig: $sig, doc: $doc, cat: $cat, params: &[$($param),*], imp: $imp }
    };
}

pub(crate) static DEFS: &[FnDef] = &[
    def!(
        MISC,
        "lookup",
        "lookup(object|array, string|number) any",
        "Value at a key or index; null when missing.",
        [p(&[Ty::Object, Ty::Array]), p(&[Ty::String, Ty::Number])],
        lookup
    ),
    def!(
        MISC,
        "items",
        "items(object|array, string, string) array",
        "Turns an object or array into [{key: .., value: ..}] with the given field names.",
        [p(&[Ty::Object, Ty::Array]), p(STR), p(STR)],
        items
    ),
    def!(
        MISC,
        "object_from_lists",
        "object_from_lists(array, array) object",
        "Zips a list of keys and a list of values into an object.",
        [p(&[Ty::Array]), p(&[Ty::Array])],
        object_from_lists
    ),
    def!(
        MISC,
        "to_boolean",
        "to_boolean(string) boolean",
        "'true' or 'false' in any letter case to a boolean.",
        [p(STR)],
        to_boolean
    ),
    def!(
        MISC,
        "path_canonicalize",
        "path_canonicalize(string) string",
        "Cleans a file path (collapses //, ., ..).",
        [p(STR)],
        |a, _| Ok(Value::String(if s(a, 0).is_empty() {
            String::new()
        } else {
            clean_path(s(a, 0))
        }))
    ),
    def!(
        Category::Kyverno(Group::Semver),
        "semver_compare",
        "semver_compare(string, string) boolean",
        "True if the version satisfies the blang/semver range (an invalid version counts as 0.0.0).",
        [p(STR), p(STR)],
        semver_compare
    ),
    def!(
        MISC,
        "random",
        "random(string) string",
        "A random string matching the regular expression (non-deterministic).",
        [p(STR)],
        random
    ),
];

fn lookup(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    match (v(a, 0), v(a, 1)) {
        (Value::Object(m), Value::String(k)) => Ok(m.get(k).cloned().unwrap_or(Value::Null)),
        (Value::Object(_), _) => Err(Error::arg_type("lookup", 2, "String")),
        (Value::Array(items), Value::Number(k)) => {
            let f = k.as_f64().unwrap_or(0.0);
            if f.fract() != 0.0 {
                return Err(Error::function(
                    "lookup",
                    format!("argument #2: expected an integer number but got: {f}"),
                ));
            }
            Ok(usize::try_from(f as i64)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .unwrap_or(Value::Null))
        }
        (Value::Array(_), _) => Err(Error::arg_type("lookup", 2, "Number")),
        _ => Err(Error::arg_type("lookup", 1, "Object or Array")),
    }
}

fn items(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let (key, val) = (s(a, 1), s(a, 2));
    let pair = |k: Value, x: &Value| {
        let mut m = Map::new();
        m.insert(key.to_string(), k);
        m.insert(val.to_string(), x.clone());
        Value::Object(m)
    };
    Ok(Value::Array(match v(a, 0) {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| pair(Value::String(k.clone()), x))
            .collect(),
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, x)| pair(num(i as f64), x))
            .collect(),
        _ => return Err(Error::arg_type("items", 1, "Object or Array")),
    }))
}

fn object_from_lists(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let keys = v(a, 0).as_array().map_or(&[][..], Vec::as_slice);
    let values = v(a, 1).as_array().map_or(&[][..], Vec::as_slice);
    let mut out = Map::new();
    for (i, k) in keys.iter().enumerate() {
        let key = iface_to_string(k)
            .ok_or_else(|| Error::arg_type("object_from_lists", 1, "StringArray"))?;
        out.insert(key, values.get(i).cloned().unwrap_or(Value::Null));
    }
    Ok(Value::Object(out))
}

fn to_boolean(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    match s(a, 0).to_lowercase().as_str() {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        _ => Err(Error::function(
            "to_boolean",
            format!(
                "lowercase argument must be 'true' or 'false' (provided: '{}')",
                s(a, 0)
            ),
        )),
    }
}

/// Go's `path.Clean` (what `filepath.Join` of one element does on Linux).
pub(crate) fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn semver_compare(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    palisade_primitives::semver::semver_compare(s(a, 0), s(a, 1))
        .map(Value::Bool)
        .map_err(|e| Error::function("semver_compare", e))
}

fn random(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let pattern = s(a, 0);
    if pattern.is_empty() {
        return Err(Error::function("random", "no pattern provided"));
    }
    if pattern.len() > RANDOM_MAX_PATTERN {
        return Err(Error::function("random", "pattern is too long"));
    }
    let generator = match regex_syntax::Parser::new().parse(pattern) {
        Ok(hir) => {
            if max_generated_len(&hir) > RANDOM_MAX_LEN {
                return Err(Error::function(
                    "random",
                    format!("pattern can generate more than {RANDOM_MAX_LEN} bytes"),
                ));
            }
            rand_regex::Regex::with_hir(hir, RANDOM_MAX_REPEAT)
        }
        // Let rand_regex word the syntax error as it always has.
        Err(_) => rand_regex::Regex::compile(pattern, RANDOM_MAX_REPEAT),
    }
    .map_err(|e| Error::function("random", e))?;
    let out: String = rand::rng().sample(&generator);
    Ok(Value::String(out))
}

/// Upper bound on the bytes (and, counting each piece as at least one, on the repeat
/// products) rand_regex would generate for `hir`; saturating, so hostile counts cannot overflow.
fn max_generated_len(hir: &regex_syntax::hir::Hir) -> usize {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 0,
        HirKind::Literal(lit) => lit.0.len(),
        HirKind::Class(_) => 4,
        HirKind::Capture(cap) => max_generated_len(&cap.sub),
        HirKind::Repetition(rep) => {
            let upper = rep
                .max
                .unwrap_or_else(|| rep.min.saturating_add(RANDOM_MAX_REPEAT));
            max_generated_len(&rep.sub)
                .max(1)
                .saturating_mul(usize::try_from(upper).unwrap_or(usize::MAX))
        }
        HirKind::Concat(parts) => parts
            .iter()
            .map(max_generated_len)
            .fold(0, usize::saturating_add),
        HirKind::Alternation(parts) => parts.iter().map(max_generated_len).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::testutil::{check, check_err, eval};

    #[test]
    fn table() {
        check(&[
            ("lookup(`{\"a\": 1}`, 'a')", json!(1)),
            ("lookup(`{\"a\": 1}`, 'b')", json!(null)),
            ("lookup(`[1, 2]`, `1`)", json!(2)),
            ("lookup(`[1, 2]`, `5`)", json!(null)),
            ("lookup(`[1, 2]`, `-1`)", json!(null)),
            (
                "items(`{\"b\": 2, \"a\": 1}`, 'k', 'v')",
                json!([{"k": "a", "v": 1}, {"k": "b", "v": 2}]),
            ),
            ("items(`[\"x\"]`, 'i', 'v')", json!([{"i": 0, "v": "x"}])),
            (
                "object_from_lists(`[\"a\", \"b\", 1]`, `[1]`)",
                json!({"a": 1, "b": null, "1": null}),
            ),
            ("to_boolean('TrUe')", json!(true)),
            ("to_boolean('false')", json!(false)),
            ("path_canonicalize('/a//b/./c/../d')", json!("/a/b/d")),
            ("path_canonicalize('a/../..')", json!("..")),
            ("path_canonicalize('')", json!("")),
            ("semver_compare('1.2.3', '>=1.0.0 <2.0.0')", json!(true)),
            ("semver_compare('v1.2.3', '>=1.0.0')", json!(false)),
        ]);
        check_err(&[
            ("lookup(`{}`, `1`)", "2 argument is expected of String type"),
            (
                "lookup(`[1]`, 'a')",
                "2 argument is expected of Number type",
            ),
            ("lookup(`[1]`, `0.5`)", "expected an integer number"),
            ("object_from_lists(`[{}]`, `[]`)", "StringArray"),
            (
                "to_boolean('yes')",
                "lowercase argument must be 'true' or 'false' (provided: 'yes')",
            ),
            ("semver_compare('1.0.0', '~1')", "semver_compare"),
            ("random('')", "no pattern provided"),
            ("random('(')", "random"),
        ]);
    }

    #[test]
    fn random_matches_pattern() {
        let re = regex::Regex::new("^[a-z]{4}-[0-9]+$").unwrap();
        for _ in 0..20 {
            let out = eval("random('[a-z]{4}-[0-9]+')", &json!(null)).unwrap();
            let s = out.as_str().unwrap();
            assert!(re.is_match(s), "{s}");
        }
    }

    #[test]
    fn random_rejects_patterns_that_generate_too_much() {
        for pattern in [
            "(a{1000}){2000}",
            "((((((a{1000}){1000}){1000}){1000}){1000}){1000})",
        ] {
            let e = eval(&format!("random('{pattern}')"), &json!(null)).unwrap_err();
            assert!(
                e.message.contains("can generate more than"),
                "{pattern}: {e}"
            );
        }
        let out = eval("random('(ab){3}')", &json!(null)).unwrap();
        assert_eq!(out, json!("ababab"));
    }
}
