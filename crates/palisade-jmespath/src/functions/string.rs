//! Kyverno's string functions.

use serde_json::Value;

use super::{Arg, Category, FnDef, Group, Ty, n, p, s};
use crate::error::Error;
use crate::interp::{Interp, num};

const C: Category = Category::Kyverno(Group::String);
const STR: &[Ty] = &[Ty::String];

macro_rules! def {
    ($name:literal, $sig:literal, $doc:literal, [$($param:expr),*], $imp:expr) => {
        FnDef { name: $name, sig: $sig, doc: $doc, cat: C, params: &[$($param),*], imp: $imp }
    };
}

pub(crate) static DEFS: &[FnDef] = &[
    def!(
        "compare",
        "compare(string, string) number",
        "Compares two strings lexicographically: -1, 0 or 1.",
        [p(STR), p(STR)],
        |a, _| Ok(num(match s(a, 0).cmp(s(a, 1)) {
            std::cmp::Ordering::Less => -1.0,
            std::cmp::Ordering::Equal => 0.0,
            std::cmp::Ordering::Greater => 1.0,
        }))
    ),
    def!(
        "equal_fold",
        "equal_fold(string, string) boolean",
        "True if the strings are equal ignoring letter case.",
        [p(STR), p(STR)],
        |a, _| Ok(Value::Bool(equal_fold(s(a, 0), s(a, 1))))
    ),
    def!(
        "replace",
        "replace(string, string, string, number) string",
        "Replaces the first n occurrences (all if n < 0).",
        [p(STR), p(STR), p(STR), p(&[Ty::Number])],
        replace
    ),
    def!(
        "replace_all",
        "replace_all(string, string, string) string",
        "Replaces every occurrence.",
        [p(STR), p(STR), p(STR)],
        |a, interp| {
            let (src, old, new) = (s(a, 0), s(a, 1), s(a, 2));
            interp.ensure_room("replace_all", replaced_len(src, old, new, usize::MAX))?;
            Ok(Value::String(src.replace(old, new)))
        }
    ),
    def!(
        "to_upper",
        "to_upper(string) string",
        "Upper-cases the string.",
        [p(STR)],
        |a, _| Ok(Value::String(map_case(s(a, 0), true)))
    ),
    def!(
        "to_lower",
        "to_lower(string) string",
        "Lower-cases the string.",
        [p(STR)],
        |a, _| Ok(Value::String(map_case(s(a, 0), false)))
    ),
    def!(
        "trim",
        "trim(string, string) string",
        "Trims characters of the second string from both ends.",
        [p(STR), p(STR)],
        |a, _| {
            let cut = s(a, 1);
            Ok(Value::String(
                s(a, 0).trim_matches(|c| cut.contains(c)).to_string(),
            ))
        }
    ),
    def!(
        "trim_prefix",
        "trim_prefix(string, string) string",
        "Removes the prefix if present.",
        [p(STR), p(STR)],
        |a, _| Ok(Value::String(
            s(a, 0).strip_prefix(s(a, 1)).unwrap_or(s(a, 0)).to_string()
        ))
    ),
    def!(
        "split",
        "split(string, string) array[string]",
        "Splits the string at each separator.",
        [p(STR), p(STR)],
        split
    ),
    def!(
        "truncate",
        "truncate(string, number) string",
        "The first n characters.",
        [p(STR), p(&[Ty::Number])],
        truncate
    ),
];

/// Go's `strings.Replace`: n < 0 replaces all, an empty `old` inserts between characters.
fn replace(a: &[Arg<'_>], interp: &mut Interp<'_>) -> Result<Value, Error> {
    let count = n(a, 3) as i64;
    let (src, old, new) = (s(a, 0), s(a, 1), s(a, 2));
    let limit = usize::try_from(count).unwrap_or(usize::MAX);
    interp.ensure_room("replace", replaced_len(src, old, new, limit))?;
    Ok(Value::String(if count < 0 {
        src.replace(old, new)
    } else {
        src.replacen(old, new, usize::try_from(count).unwrap_or(usize::MAX))
    }))
}

/// Length of `src` after replacing at most `limit` occurrences of `old` by `new` (an empty
/// `old` matches around every character), without building it.
fn replaced_len(src: &str, old: &str, new: &str, limit: usize) -> usize {
    let found = if old.is_empty() {
        src.chars().count() + 1
    } else {
        src.matches(old).count()
    };
    let count = found.min(limit);
    (src.len() - count * old.len()).saturating_add(count.saturating_mul(new.len()))
}

/// Go's per-rune simple case mapping (no multi-character expansions such as ß → SS).
fn map_case(x: &str, upper: bool) -> String {
    x.chars()
        .map(|c| {
            let mut m: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            if m.len() == 1 {
                m.pop().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// Go's `strings.EqualFold` (simple Unicode case folding).
fn equal_fold(x: &str, y: &str) -> bool {
    let fold = |c: char| -> char {
        let l: Vec<char> = c.to_lowercase().collect();
        if l.len() == 1 { l[0] } else { c }
    };
    x.chars().count() == y.chars().count()
        && x.chars()
            .zip(y.chars())
            .all(|(p, q)| p == q || fold(p) == fold(q))
}

/// Go's `strings.Split`: an empty separator splits into characters.
fn split(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let (src, sep) = (s(a, 0), s(a, 1));
    let parts: Vec<Value> = if sep.is_empty() {
        src.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        src.split(sep)
            .map(|p| Value::String(p.to_string()))
            .collect()
    };
    Ok(Value::Array(parts))
}

fn truncate(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let len = n(a, 1).max(0.0) as usize;
    Ok(Value::String(s(a, 0).chars().take(len).collect()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::testutil::{check, check_err};

    #[test]
    fn table() {
        check(&[
            ("compare('a', 'b')", json!(-1)),
            ("compare('b', 'a')", json!(1)),
            ("compare('a', 'a')", json!(0)),
            ("equal_fold('Go', 'GO')", json!(true)),
            ("equal_fold('Go', 'Ga')", json!(false)),
            ("replace('aaa', 'a', 'b', `2`)", json!("bba")),
            ("replace('aaa', 'a', 'b', `-1`)", json!("bbb")),
            ("replace('ab', '', '-', `-1`)", json!("-a-b-")),
            ("replace_all('a.b.c', '.', '/')", json!("a/b/c")),
            ("to_upper('abc ß')", json!("ABC ß")),
            ("to_lower('ABC')", json!("abc")),
            ("trim('  x  ', ' ')", json!("x")),
            ("trim('xxhixx', 'x')", json!("hi")),
            ("trim_prefix('prefix-x', 'prefix-')", json!("x")),
            ("trim_prefix('x', 'y')", json!("x")),
            ("split('a,b', ',')", json!(["a", "b"])),
            ("split('ab', '')", json!(["a", "b"])),
            ("split('', ',')", json!([""])),
            ("truncate('hello', `2`)", json!("he")),
            ("truncate('hé', `5`)", json!("hé")),
            ("truncate('hello', `-1`)", json!("")),
        ]);
        check_err(&[
            ("compare('a', `1`)", "invalid type"),
            ("split('a')", "arity"),
        ]);
    }

    #[test]
    fn replacements_that_would_outgrow_the_budget_fail_before_allocating() {
        use crate::functions::testutil::eval;
        // 20,001 insertions of 20,000 bytes: 400 MB, over the default budget's room.
        let data = json!({"s": "x".repeat(20_000)});
        for expr in ["replace_all(s, '', s)", "replace(s, '', s, `-1`)"] {
            let e = eval(expr, &data).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::Limit, "{expr}");
            assert!(e.message.contains("would build a string"), "{expr}: {e}");
        }
        assert_eq!(
            eval("replace(s, 'x', 'yy', `2`)", &json!({"s": "xxx"})).unwrap(),
            json!("yyyyx")
        );
    }
}
