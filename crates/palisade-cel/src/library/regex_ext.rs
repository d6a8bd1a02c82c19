//! cel-go's regex extension: `regex.replace`, `regex.extract` and `regex.extractAll`, with
//! `\1`..`\9` group references in replacements as cel-go spells them.

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type::{self, *};
use crate::value::Value;

pub(crate) fn register(reg: &mut Registry) {
    reg.global(
        "regex.replace",
        vec![
            sig(&[String, String, String], String),
            sig(&[String, String, String, Int], String),
        ],
        replace,
    );
    reg.global(
        "regex.extract",
        vec![sig(&[String, String], Type::optional(String))],
        extract,
    );
    reg.global(
        "regex.extractAll",
        vec![sig(&[String, String], Type::list(String))],
        extract_all,
    );
}

/// Translates cel-go's replacement syntax (`\1`, `\\`) to the regex crate's (`${1}`, `$$`).
fn replacement(r: &str) -> Result<std::string::String, RtError> {
    let mut out = std::string::String::with_capacity(r.len());
    let mut chars = r.chars();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d @ '0'..='9') => {
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some('\\') => out.push('\\'),
                _ => return err(format!("invalid replacement string: {r:?}")),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

fn replace(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let (s, p, r, count) = match args {
        [Value::String(s), Value::String(p), Value::String(r)] => (s, p, r, -1),
        [
            Value::String(s),
            Value::String(p),
            Value::String(r),
            Value::Int(n),
        ] => (s, p, r, *n),
        _ => return no_match(),
    };
    ctx.charge_size(s.len() + r.len())?;
    let re = ctx.regex(p)?;
    let rep = replacement(r)?;
    let limit = match usize::try_from(count) {
        Ok(0) => return Ok(Value::String(s.clone())),
        Ok(n) => n,
        Err(_) => 0,
    };
    let out = re.replacen(s, limit, rep.as_str());
    ctx.charge_size(out.len())?;
    Ok(Value::from(out.into_owned()))
}

/// The text a match contributes: its only capture group, or the whole match.
fn captured<'s>(re: &regex::Regex, caps: &regex::Captures<'s>) -> Result<Option<&'s str>, RtError> {
    match re.captures_len() {
        1 => Ok(caps.get(0).map(|m| m.as_str())),
        2 => Ok(caps.get(1).map(|m| m.as_str())),
        _ => err("regular expression has more than one capturing group"),
    }
}

fn extract(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::String(s), Value::String(p)] = args else {
        return no_match();
    };
    ctx.charge_size(s.len())?;
    let re = ctx.regex(p)?;
    let Some(caps) = re.captures(s) else {
        return Ok(Value::none());
    };
    Ok(match captured(&re, &caps)? {
        Some(m) => Value::some(Value::from(m)),
        None => Value::none(),
    })
}

fn extract_all(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::String(s), Value::String(p)] = args else {
        return no_match();
    };
    ctx.charge_size(s.len())?;
    let re = ctx.regex(p)?;
    let mut out = Vec::new();
    for caps in re.captures_iter(s) {
        if let Some(m) = captured(&re, &caps)?.filter(|m| !m.is_empty()) {
            out.push(Value::from(m));
        }
    }
    Ok(Value::list(out))
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn regex_extension() {
        assert_true(&[
            r"regex.replace('docker.io/nginx', '^docker\\.io/(.*)', r'my.io/\1') == 'my.io/nginx'",
            r"regex.replace('a1b2', '[0-9]', 'x') == 'axbx'",
            r"regex.replace('a1b2', '[0-9]', 'x', 1) == 'axb2'",
            r"regex.replace('a1b2', '[0-9]', 'x', 0) == 'a1b2'",
            r"regex.replace('a', 'a', '$') == '$'",
            r"regex.extract('id=42', 'id=([0-9]+)') == optional.of('42')",
            r"!regex.extract('nothing', '[0-9]+').hasValue()",
            r"regex.extractAll('a1 b22 c', '[0-9]+') == ['1', '22']",
        ]);
        assert_err(&[
            (r"regex.replace('a', 'a', r'\q')", "invalid replacement"),
            (r"regex.extract('ab', '(a)(b)')", "more than one"),
            ("regex.extract('a', '(')", "invalid regular expression"),
        ]);
    }
}
