//! Kubernetes' semver library (blang/semver strict parsing, optional normalization).

use std::any::Any;
use std::cmp::Ordering;

use crate::error::{RtError, no_match};
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::{Opaque, Value};

/// CEL type name of semantic versions.
pub(crate) const SEMVER_TYPE: &str = "kubernetes.Semver";

/// A semantic version; build metadata is kept for display but ignored in comparisons.
#[derive(Debug, Clone)]
pub(crate) struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<String>,
    text: String,
}

impl Opaque for Semver {
    fn type_name(&self) -> &str {
        SEMVER_TYPE
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other
            .as_any()
            .downcast_ref::<Semver>()
            .is_some_and(|o| compare(self, o) == Ordering::Equal)
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.text.clone())
    }
}

fn numeric(s: &str) -> Option<u64> {
    let valid =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if valid { s.parse().ok() } else { None }
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Strict `MAJOR.MINOR.PATCH[-pre][+build]` parsing.
pub(crate) fn parse(s: &str) -> Result<Semver, String> {
    let bad = |why: &str| format!("invalid semver {s:?}: {why}");
    let (rest, build) = s.split_once('+').map_or((s, None), |(a, b)| (a, Some(b)));
    if let Some(b) = build
        && !b.split('.').all(ident_ok)
    {
        return Err(bad("invalid build metadata"));
    }
    let (core, pre) = rest
        .split_once('-')
        .map_or((rest, None), |(a, b)| (a, Some(b)));
    let parts: Vec<&str> = core.split('.').collect();
    let [ma, mi, pa] = parts.as_slice() else {
        return Err(bad("expected MAJOR.MINOR.PATCH"));
    };
    let num = |p: &str| {
        numeric(p).ok_or_else(|| bad("version numbers must be digits without leading zeros"))
    };
    let (major, minor, patch) = (num(ma)?, num(mi)?, num(pa)?);
    let pre: Vec<String> = match pre {
        None => vec![],
        Some(p) => {
            let ids: Vec<&str> = p.split('.').collect();
            for id in &ids {
                let all_digits = id.bytes().all(|b| b.is_ascii_digit());
                if !ident_ok(id) || (all_digits && numeric(id).is_none()) {
                    return Err(bad("invalid prerelease identifier"));
                }
            }
            ids.into_iter().map(str::to_string).collect()
        }
    };
    Ok(Semver {
        major,
        minor,
        patch,
        pre,
        text: s.to_string(),
    })
}

/// Kubernetes' normalizeAndParse: drop a leading `v`, strip leading zeros from each of the
/// (at most three) dot-separated parts, and pad `1` / `1.2` with zeros.
fn normalize(s: &str) -> Result<String, String> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut parts: Vec<String> = s
        .splitn(3, '.')
        .map(|p| {
            if p.len() <= 1 {
                return p.to_string();
            }
            let t = p.trim_start_matches('0');
            if t.starts_with(|c: char| c.is_ascii_digit()) {
                t.to_string()
            } else {
                format!("0{t}")
            }
        })
        .collect();
    if parts.len() < 3 {
        if parts.last().is_some_and(|p| p.contains(['+', '-'])) {
            return Err("short version cannot contain PreRelease/Build meta data".into());
        }
        parts.resize(3, "0".into());
    }
    Ok(parts.join("."))
}

fn parse_with(s: &str, norm: bool) -> Result<Semver, String> {
    if norm {
        parse(&normalize(s)?)
    } else {
        parse(s)
    }
}

fn cmp_pre(a: &[String], b: &[String]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    for (x, y) in a.iter().zip(b) {
        let o = match (numeric(x), numeric(y)) {
            (Some(p), Some(q)) => p.cmp(&q),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn compare(a: &Semver, b: &Semver) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| cmp_pre(&a.pre, &b.pre))
}

pub(crate) fn register(reg: &mut Registry) {
    let sv = || T::Opaque(SEMVER_TYPE);
    reg.global(
        "semver",
        vec![sig(&[T::String], sv()), sig(&[T::String, T::Bool], sv())],
        |_, a| match a {
            [Value::String(s)] => parse_with(s, false)
                .map(Value::opaque)
                .map_err(RtError::from),
            [Value::String(s), Value::Bool(n)] => {
                parse_with(s, *n).map(Value::opaque).map_err(RtError::from)
            }
            _ => no_match(),
        },
    );
    reg.global(
        "isSemver",
        vec![
            sig(&[T::String], T::Bool),
            sig(&[T::String, T::Bool], T::Bool),
        ],
        |_, a| match a {
            [Value::String(s)] => Ok(Value::Bool(parse(s).is_ok())),
            [Value::String(s), Value::Bool(n)] => Ok(Value::Bool(parse_with(s, *n).is_ok())),
            _ => no_match(),
        },
    );
    reg.method("major", vec![sig(&[sv()], T::Int)], |_, a| {
        part(a, |v| v.major)
    });
    reg.method("minor", vec![sig(&[sv()], T::Int)], |_, a| {
        part(a, |v| v.minor)
    });
    reg.method("patch", vec![sig(&[sv()], T::Int)], |_, a| {
        part(a, |v| v.patch)
    });
    reg.method("compareTo", vec![sig(&[sv(), sv()], T::Int)], |_, a| {
        cmp_with(a, |o| Value::Int(o as i64))
    });
    reg.method(
        "isGreaterThan",
        vec![sig(&[sv(), sv()], T::Bool)],
        |_, a| cmp_with(a, |o| Value::Bool(o == Ordering::Greater)),
    );
    reg.method("isLessThan", vec![sig(&[sv(), sv()], T::Bool)], |_, a| {
        cmp_with(a, |o| Value::Bool(o == Ordering::Less))
    });
}

fn part(args: &[Value], f: fn(&Semver) -> u64) -> Result<Value, RtError> {
    match args {
        [v] => match v.downcast::<Semver>() {
            Some(s) => Ok(Value::Int(i64::try_from(f(s)).unwrap_or(i64::MAX))),
            None => no_match(),
        },
        _ => no_match(),
    }
}

fn cmp_with(args: &[Value], f: fn(Ordering) -> Value) -> Result<Value, RtError> {
    match args {
        [a, b] => match (a.downcast::<Semver>(), b.downcast::<Semver>()) {
            (Some(x), Some(y)) => Ok(f(compare(x, y))),
            _ => no_match(),
        },
        _ => no_match(),
    }
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn semver_library() {
        assert_true(&[
            "isSemver('1.2.3') && isSemver('1.2.3-alpha.1+build.5') && !isSemver('v1.2.3') && !isSemver('1.2')",
            "!isSemver('01.2.3') && !isSemver('1.2.3-01') && isSemver('v1.2', true) && isSemver('01.2.3', true)",
            "semver('1.2.3').major() == 1 && semver('1.2.3').minor() == 2 && semver('1.2.3').patch() == 3",
            "semver('v1', true) == semver('1.0.0')",
            "semver('01.01.01', true) == semver('1.1.1') && semver('1.0', true) == semver('1.0.0')",
            "semver('1.2.03-alpha', true) == semver('1.2.3-alpha') && !isSemver('1.2-alpha', true)",
            "semver('1.2.3').isGreaterThan(semver('1.2.2'))",
            "semver('1.0.0-alpha').isLessThan(semver('1.0.0'))",
            "semver('1.0.0-alpha.1').isLessThan(semver('1.0.0-alpha.beta'))",
            "semver('1.0.0-2').isLessThan(semver('1.0.0-10'))",
            "semver('1.0.0+a').compareTo(semver('1.0.0+b')) == 0",
            "semver('2.0.0').compareTo(semver('10.0.0')) == -1",
        ]);
        assert_err(&[("semver('1.2')", "invalid semver")]);
    }
}
