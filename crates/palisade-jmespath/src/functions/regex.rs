//! Kyverno's regular-expression and wildcard functions (Go RE2 semantics).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use super::{Arg, Category, FnDef, Group, Ty, iface_to_string, p, s, v};
use crate::error::Error;
use crate::interp::Interp;

const C: Category = Category::Kyverno(Group::Regex);
const STR: &[Ty] = &[Ty::String];
const STR_NUM: &[Ty] = &[Ty::String, Ty::Number];
/// Compiled patterns kept for reuse; the cache is cleared when it fills.
const CACHE_SIZE: usize = 256;

macro_rules! def {
    ($name:literal, $sig:literal, $doc:literal, [$($param:expr),*], $imp:expr) => {
        FnDef { name: $name, sig: $sig, doc: $doc, cat: C, params: &[$($param),*], imp: $imp }
    };
}

pub(crate) static DEFS: &[FnDef] = &[
    def!(
        "regex_match",
        "regex_match(string, string|number) boolean",
        "True if the second argument matches the Go regular expression.",
        [p(STR), p(STR_NUM)],
        regex_match
    ),
    def!(
        "regex_replace_all",
        "regex_replace_all(string, string|number, string|number) string",
        "Replaces matches; $1 and ${name} expand groups.",
        [p(STR), p(STR_NUM), p(STR_NUM)],
        |a, i| replace(a, i, "regex_replace_all", false)
    ),
    def!(
        "regex_replace_all_literal",
        "regex_replace_all_literal(string, string|number, string|number) string",
        "Replaces matches with the literal replacement.",
        [p(STR), p(STR_NUM), p(STR_NUM)],
        |a, i| replace(a, i, "regex_replace_all_literal", true)
    ),
    def!(
        "pattern_match",
        "pattern_match(string, string|number) boolean",
        "Wildcard match: '*' any run of characters, '?' exactly one.",
        [p(STR), p(STR_NUM)],
        pattern_match
    ),
];

/// Compiles (or reuses) a Go pattern.
pub(crate) fn compiled(
    pattern: &str,
) -> Result<Arc<regex::Regex>, palisade_primitives::regex::RegexError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(map) = cache.lock()
        && let Some(re) = map.get(pattern)
    {
        return Ok(Arc::clone(re));
    }
    let re = Arc::new(palisade_primitives::regex::compile(pattern)?);
    if let Ok(mut map) = cache.lock() {
        if map.len() >= CACHE_SIZE {
            map.clear();
        }
        map.insert(pattern.to_string(), Arc::clone(&re));
    }
    Ok(re)
}

fn text_arg(a: &[Arg<'_>], i: usize, name: &str) -> Result<String, Error> {
    iface_to_string(v(a, i)).ok_or_else(|| Error::arg_type(name, i + 1, "String or Real"))
}

fn regex_match(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let src = text_arg(a, 1, "regex_match")?;
    let re = compiled(s(a, 0)).map_err(|e| Error::function("regex_match", e))?;
    Ok(Value::Bool(re.is_match(&src)))
}

fn replace(
    a: &[Arg<'_>],
    interp: &mut Interp<'_>,
    name: &str,
    literal: bool,
) -> Result<Value, Error> {
    let src = text_arg(a, 1, name)?;
    let repl = text_arg(a, 2, name)?;
    let re = compiled(s(a, 0)).map_err(|e| Error::function(name, e))?;
    // Empty matches replace around every character: bound the output before building it.
    // Each `$group` expands to at most its match, and matches do not overlap.
    let groups = if literal {
        0
    } else {
        repl.matches('$').count()
    };
    let mut bound = src.len().saturating_add(groups.saturating_mul(src.len()));
    interp.ensure_room(name, bound)?;
    if !repl.is_empty() {
        for _ in re.find_iter(&src) {
            bound = bound.saturating_add(repl.len());
            interp.ensure_room(name, bound)?;
        }
    }
    let out = if literal {
        re.replace_all(&src, regex::NoExpand(&repl)).into_owned()
    } else {
        re.replace_all(&src, repl.as_str()).into_owned()
    };
    Ok(Value::String(out))
}

fn pattern_match(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let src = text_arg(a, 1, "regex_match")?;
    Ok(Value::Bool(palisade_primitives::wildcard::matches(
        s(a, 0),
        &src,
    )))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::testutil::{check, check_err};

    #[test]
    fn table() {
        check(&[
            ("regex_match('^[0-9]+$', '123')", json!(true)),
            ("regex_match('^\\d+$', '١٢')", json!(false)),
            ("regex_match('^1.5$', `1.5`)", json!(true)),
            ("regex_match('^123$', `123`)", json!(true)),
            ("regex_match('b', 'abc')", json!(true)),
            (
                "regex_replace_all('([a-z]+)-([0-9]+)', 'abc-123', '$2-$1')",
                json!("123-abc"),
            ),
            ("regex_replace_all('x', 'axbx', `1`)", json!("a1b1")),
            ("regex_replace_all_literal('x', 'axb', '$1')", json!("a$1b")),
            (
                "regex_replace_all('(?P<n>a)', 'a', '${n}${n}')",
                json!("aa"),
            ),
            ("pattern_match('nginx*', 'nginx:1.2')", json!(true)),
            ("pattern_match('?b', 'ab')", json!(true)),
            ("pattern_match('1*', `10`)", json!(true)),
        ]);
        check_err(&[
            (
                "regex_match('(', 'a')",
                "JMESPath function 'regex_match': error",
            ),
            ("regex_match('a', `true`)", "invalid type"),
            (
                "regex_replace_all('a{2000}', 'a', 'b')",
                "invalid repeat count",
            ),
        ]);
    }

    #[test]
    fn empty_matches_that_would_outgrow_the_budget_fail_before_allocating() {
        use crate::functions::testutil::eval;
        let data = json!({"s": "x".repeat(20_000)});
        for expr in [
            "regex_replace_all('', s, s)",
            "regex_replace_all_literal('x*?', s, s)",
        ] {
            let e = eval(expr, &data).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::Limit, "{expr}");
        }
        assert_eq!(
            eval("regex_replace_all('(x)', 'xx', '$1$1')", &json!(null)).unwrap(),
            json!("xxxx")
        );
    }
}
