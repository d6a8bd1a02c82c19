//! String extension library (cel-go `ext.Strings`): indices are in code points.

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::Value;

pub(crate) fn register(reg: &mut Registry) {
    let s = || T::String;
    reg.method("charAt", vec![sig(&[s(), T::Int], s())], char_at);
    reg.method(
        "indexOf",
        vec![sig(&[s(), s()], T::Int), sig(&[s(), s(), T::Int], T::Int)],
        index_of,
    );
    reg.method(
        "lastIndexOf",
        vec![sig(&[s(), s()], T::Int), sig(&[s(), s(), T::Int], T::Int)],
        last_index_of,
    );
    reg.method("lowerAscii", vec![sig(&[s()], s())], |c, a| {
        map_str(c, a, |x| x.to_ascii_lowercase())
    });
    reg.method("upperAscii", vec![sig(&[s()], s())], |c, a| {
        map_str(c, a, |x| x.to_ascii_uppercase())
    });
    reg.method("trim", vec![sig(&[s()], s())], |c, a| {
        map_str(c, a, |x| x.trim().to_string())
    });
    reg.method("reverse", vec![sig(&[s()], s())], |c, a| {
        map_str(c, a, |x| x.chars().rev().collect())
    });
    reg.method(
        "replace",
        vec![
            sig(&[s(), s(), s()], s()),
            sig(&[s(), s(), s(), T::Int], s()),
        ],
        replace,
    );
    reg.method(
        "split",
        vec![
            sig(&[s(), s()], T::list(s())),
            sig(&[s(), s(), T::Int], T::list(s())),
        ],
        split,
    );
    reg.method(
        "substring",
        vec![sig(&[s(), T::Int], s()), sig(&[s(), T::Int, T::Int], s())],
        substring,
    );
    reg.method(
        "join",
        vec![sig(&[T::list(s())], s()), sig(&[T::list(s()), s()], s())],
        join,
    );
    reg.global("strings.quote", vec![sig(&[s()], s())], quote);
}

fn map_str(ctx: &mut Ctx<'_>, args: &[Value], f: fn(&str) -> String) -> Result<Value, RtError> {
    let [Value::String(x)] = args else {
        return no_match();
    };
    ctx.charge_size(x.len())?;
    Ok(Value::from(f(x)))
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

fn idx(i: i64, len: usize) -> Result<usize, RtError> {
    usize::try_from(i)
        .ok()
        .filter(|&u| u <= len)
        .ok_or_else(|| format!("index out of range: {i}").into())
}

fn char_at(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::String(s), Value::Int(i)] = args else {
        return no_match();
    };
    ctx.charge_size(s.len())?;
    let cs = chars(s);
    let i = idx(*i, cs.len())?;
    Ok(Value::from(
        cs.get(i).map(|c| c.to_string()).unwrap_or_default(),
    ))
}

/// Position of `needle` in `hay` (both code-point slices) at or after `from`.
fn find_from(hay: &[char], needle: &[char], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return Some(from);
    }
    (from..=hay.len().saturating_sub(needle.len()))
        .find(|&i| hay.get(i..i + needle.len()) == Some(needle))
}

fn index_of(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let (s, sub, off) = match args {
        [Value::String(s), Value::String(t)] => (s, t, 0),
        [Value::String(s), Value::String(t), Value::Int(o)] => (s, t, *o),
        _ => return no_match(),
    };
    ctx.charge_size(s.len() + sub.len())?;
    let (hay, needle) = (chars(s), chars(sub));
    let from = idx(off, hay.len())?;
    Ok(Value::Int(
        find_from(&hay, &needle, from).map_or(-1, |i| i as i64),
    ))
}

fn last_index_of(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let (s, sub) = match args {
        [Value::String(s), Value::String(t), ..] => (s, t),
        _ => return no_match(),
    };
    ctx.charge_size(s.len() + sub.len())?;
    let (hay, needle) = (chars(s), chars(sub));
    let last = match args {
        [_, _] => hay.len(),
        [_, _, Value::Int(o)] => idx(*o, hay.len())?,
        _ => return no_match(),
    };
    if needle.is_empty() {
        return Ok(Value::Int(last as i64));
    }
    let start_max = last.min(hay.len().saturating_sub(needle.len()));
    if needle.len() > hay.len() {
        return Ok(Value::Int(-1));
    }
    let found = (0..=start_max)
        .rev()
        .find(|&i| hay.get(i..i + needle.len()) == Some(&needle[..]));
    Ok(Value::Int(found.map_or(-1, |i| i as i64)))
}

fn replace(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let (s, old, new, n) = match args {
        [Value::String(s), Value::String(o), Value::String(n)] => (s, o, n, -1),
        [
            Value::String(s),
            Value::String(o),
            Value::String(n),
            Value::Int(c),
        ] => (s, o, n, *c),
        _ => return no_match(),
    };
    // Charge for the largest possible output before building it, so growth is bounded.
    let occurrences = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old.as_ref()).count()
    };
    let count = if n < 0 {
        occurrences
    } else {
        occurrences.min(n as usize)
    };
    ctx.charge_size(s.len() + count.saturating_mul(new.len()))?;
    let out = if n < 0 {
        s.replace(old.as_ref(), new)
    } else {
        s.replacen(old.as_ref(), new, count)
    };
    Ok(Value::from(out))
}

fn split(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let (s, sep, n) = match args {
        [Value::String(s), Value::String(p)] => (s, p, -1),
        [Value::String(s), Value::String(p), Value::Int(n)] => (s, p, *n),
        _ => return no_match(),
    };
    ctx.charge_size(s.len())?;
    if n == 0 {
        return Ok(Value::list(vec![]));
    }
    let parts: Vec<String> = if sep.is_empty() {
        // Go's strings.SplitN with an empty separator splits into code points, the last one holding the rest.
        let cs = chars(s);
        let limit = if n < 0 {
            cs.len()
        } else {
            (n as usize).min(cs.len())
        };
        let mut v: Vec<String> = cs
            .iter()
            .take(limit.saturating_sub(1))
            .map(|c| c.to_string())
            .collect();
        let rest: String = cs.iter().skip(v.len()).collect();
        if !rest.is_empty() || v.is_empty() && !cs.is_empty() {
            v.push(rest);
        }
        v
    } else if n < 0 {
        s.split(sep.as_ref()).map(str::to_string).collect()
    } else {
        s.splitn(n as usize, sep.as_ref())
            .map(str::to_string)
            .collect()
    };
    ctx.charge(parts.len() as u64)?;
    Ok(Value::list(parts.into_iter().map(Value::from).collect()))
}

fn substring(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let (s, start, end) = match args {
        [Value::String(s), Value::Int(a)] => (s, *a, None),
        [Value::String(s), Value::Int(a), Value::Int(b)] => (s, *a, Some(*b)),
        _ => return no_match(),
    };
    ctx.charge_size(s.len())?;
    let cs = chars(s);
    let a = idx(start, cs.len())?;
    let b = match end {
        Some(e) => idx(e, cs.len())?,
        None => cs.len(),
    };
    if b < a {
        return err(format!(
            "invalid substring range. start: {start}, end: {}",
            end.unwrap_or_default()
        ));
    }
    Ok(Value::from(
        cs.get(a..b).unwrap_or_default().iter().collect::<String>(),
    ))
}

fn join(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let (list, sep) = match args {
        [Value::List(l)] => (l, ""),
        [Value::List(l), Value::String(s)] => (l, s.as_ref()),
        _ => return no_match(),
    };
    let mut parts = Vec::with_capacity(list.len());
    for v in list.iter() {
        match v {
            Value::String(s) => parts.push(s.as_ref()),
            other => {
                return err(format!(
                    "join: list element of type '{}' is not a string",
                    other.type_name()
                ));
            }
        }
    }
    let total: usize = parts.iter().map(|p| p.len()).sum::<usize>() + sep.len() * parts.len();
    ctx.charge_size(total)?;
    Ok(Value::from(parts.join(sep)))
}

/// Quotes a string with Go-style escapes, as `strings.quote` does.
pub(crate) fn quote_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quote(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::String(s)] = args else {
        return no_match();
    };
    ctx.charge_size(s.len())?;
    Ok(Value::from(quote_str(s)))
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn string_extensions() {
        assert_true(&[
            "'héllo'.charAt(1) == 'é'",
            "'hello'.charAt(5) == ''",
            "'hello mellow'.indexOf('ello') == 1",
            "'hello mellow'.indexOf('ello', 2) == 7",
            "'hello'.indexOf('') == 0",
            "'hello'.indexOf('z') == -1",
            "'héllo'.indexOf('l') == 2",
            "'hello mellow'.lastIndexOf('ello') == 7",
            "'hello mellow'.lastIndexOf('ello', 6) == 1",
            "'hello'.lastIndexOf('') == 5",
            "'TacoCat'.lowerAscii() == 'tacocat'",
            "'TacoCÆt'.upperAscii() == 'TACOCÆT'",
            "'  \\ttrim\\n '.trim() == 'trim'",
            "'gums'.reverse() == 'smug'",
            "'hello hello'.replace('he', 'we') == 'wello wello'",
            "'hello hello'.replace('he', 'we', 1) == 'wello hello'",
            "'hello'.replace('', '_') == '_h_e_l_l_o_'",
            "'a,b,c'.split(',') == ['a', 'b', 'c']",
            "'a,b,c'.split(',', 2) == ['a', 'b,c']",
            "'a,b,c'.split(',', 0) == []",
            "'abc'.split('') == ['a', 'b', 'c']",
            "'tacocat'.substring(4) == 'cat'",
            "'tacocat'.substring(0, 4) == 'taco'",
            "['a', 'b'].join() == 'ab'",
            "['a', 'b'].join('-') == 'a-b'",
            "[].join(',') == ''",
            "'bananananana'.lastIndexOf('nana', 7) == 6",
            "'ta©o©αT'.lastIndexOf('©α', 4) == 4",
            "'ta©o©αT'.indexOf('©α', 5) == -1",
            "'ta©o©αT'.substring(2, 6) == '©o©α'",
            "'tacoCαt'.upperAscii() == 'TACOCαT'",
            "' \\f\\n\\r\\t\\vtext  '.trim() == 'text'",
            "'\\u0085\\u00a0\\u1680text\\u2028\\u3000'.trim() == 'text'",
            "'\\u180etext\\u200b'.trim() == '\\u180etext\\u200b'",
            "'o©o©o©o'.split('©', -1) == ['o', 'o', 'o', 'o']",
            "'{0} days {0} hours'.replace('{0}', '2', 1).replace('{0}', '23') == '2 days 23 hours'",
            "strings.quote('bell\\a') == '\"bell\\\\a\"'",
            "strings.quote('') == '\"\"'",
            "strings.quote('завтра') == '\"завтра\"'",
            "strings.quote('a\"b\\n') == '\"a\\\\\"b\\\\n\"'",
        ]);
        assert_err(&[
            ("'abc'.charAt(4)", "index out of range"),
            ("'abc'.substring(2, 1)", "invalid substring range"),
            ("'abc'.substring(-1)", "index out of range"),
            ("'abc'.indexOf('a', 9)", "index out of range"),
            ("[1, 2].join(',')", "no matching overload"),
        ]);
    }
}
