//! Regular expressions with Go RE2 semantics: `matches`, and Kubernetes' `find` / `findAll`.

use regex::Regex;

use crate::error::{RtError, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type::{self, *};
use crate::value::Value;

/// Upper bound on compiled program size, so a hostile pattern cannot exhaust memory.
const SIZE_LIMIT: usize = 1 << 20;

pub(crate) fn register(reg: &mut Registry) {
    reg.global("matches", vec![sig(&[String, String], Bool)], matches);
    reg.method("matches", vec![sig(&[String, String], Bool)], matches);
    reg.method("find", vec![sig(&[String, String], String)], find);
    reg.method(
        "findAll",
        vec![
            sig(&[String, String], Type::list(String)),
            sig(&[String, String, Int], Type::list(String)),
        ],
        find_all,
    );
}

/// Functions whose pattern argument is validated and precompiled when it is a literal.
pub(crate) fn takes_pattern(name: &str) -> bool {
    matches!(
        name,
        "matches" | "find" | "findAll" | "regex.replace" | "regex.extract" | "regex.extractAll"
    )
}

/// Compiles a pattern, first rewriting Perl classes to their ASCII meaning in Go (`\d` is `[0-9]`).
pub(crate) fn compile(pattern: &str) -> Result<Regex, std::string::String> {
    regex::RegexBuilder::new(&go_classes(pattern))
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regular expression '{pattern}': {e}"))
}

fn go_classes(p: &str) -> std::string::String {
    let mut out = std::string::String::with_capacity(p.len());
    let mut chars = p.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let (outside, inside) = match n {
                    'd' => ("[0-9]", "0-9"),
                    'w' => ("[0-9A-Za-z_]", "0-9A-Za-z_"),
                    's' => ("[\\t\\n\\f\\r ]", "\\t\\n\\f\\r "),
                    'D' => ("[^0-9]", ""),
                    'W' => ("[^0-9A-Za-z_]", ""),
                    'S' => ("[^\\t\\n\\f\\r ]", ""),
                    'b' if !in_class => ("(?-u:\\b)", ""),
                    'B' if !in_class => ("(?-u:\\B)", ""),
                    _ => ("", ""),
                };
                let rep = if in_class { inside } else { outside };
                if rep.is_empty() {
                    out.push('\\');
                    out.push(n);
                } else {
                    out.push_str(rep);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A leading `]` (or `^]`) is literal inside a class.
                let rest = chars.as_str();
                let skip = if rest.starts_with("^]") {
                    2
                } else if rest.starts_with(']') {
                    1
                } else {
                    0
                };
                out.push_str(&rest[..skip]);
                chars = rest[skip..].chars();
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn matches(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::String(s), Value::String(p)] = args else {
        return no_match();
    };
    ctx.charge_size(s.len())?;
    let re = ctx.regex(p)?;
    Ok(Value::Bool(re.is_match(s)))
}

fn find(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::String(s), Value::String(p)] = args else {
        return no_match();
    };
    ctx.charge_size(s.len())?;
    let re = ctx.regex(p)?;
    Ok(Value::from(re.find(s).map(|m| m.as_str()).unwrap_or("")))
}

fn find_all(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let (s, p, limit) = match args {
        [Value::String(s), Value::String(p)] => (s, p, -1),
        [Value::String(s), Value::String(p), Value::Int(n)] => (s, p, *n),
        _ => return no_match(),
    };
    ctx.charge_size(s.len())?;
    let re = ctx.regex(p)?;
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    let found: Vec<Value> = re
        .find_iter(s)
        .take(take)
        .map(|m| Value::from(m.as_str()))
        .collect();
    Ok(Value::list(found))
}

#[cfg(test)]
mod tests {
    use super::go_classes;
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn regex_functions() {
        assert_true(&[
            "'abc123'.matches('^[a-z]+[0-9]+$')",
            "matches('abc', 'b')",
            "!'١٢٣'.matches('^\\\\d+$')",
            "'123'.matches('^\\\\d+$')",
            "'abc 123 def 456'.find('[0-9]+') == '123'",
            "'abc'.find('[0-9]+') == ''",
            "'abc 123 def 456'.findAll('[0-9]+') == ['123', '456']",
            "'a1b2c3'.findAll('[0-9]', 2) == ['1', '2']",
            "'a1b2c3'.findAll('[0-9]', 0) == []",
        ]);
        assert_err(&[
            ("'a'.matches('(')", "invalid regular expression"),
            ("'a'.find('[')", "invalid regular expression"),
        ]);
    }

    #[test]
    fn perl_classes_are_ascii() {
        assert_eq!(go_classes(r"\d+"), "[0-9]+");
        assert_eq!(go_classes(r"[\d.]"), "[0-9.]");
        assert_eq!(go_classes(r"[]\d]"), "[]0-9]");
        assert_eq!(go_classes(r"\\d"), r"\\d");
        assert_eq!(go_classes(r"\bx"), r"(?-u:\b)x");
    }
}
