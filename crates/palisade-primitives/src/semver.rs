//! `blang/semver` v4 versions and range expressions, as Kyverno's `semver_compare` uses them.
//!
//! Versions are strict `MAJOR.MINOR.PATCH[-pre][+build]` (no `v` prefix, no leading zeros).
//! Ranges are blang's: comparators `<`, `<=`, `>`, `>=`, `=`, `==`, `!`, `!=` (none means
//! equal), AND by spaces, OR by `||`, and `x` wildcards (`1.x`, `>=1.2.x`), including blang's
//! quirks (its space splitting and wildcard expansion are reproduced, not fixed).

use std::cmp::Ordering;
use std::fmt;

use thiserror::Error;

/// Why a version or range could not be parsed; messages follow blang's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SemverError {
    /// A version string is malformed.
    #[error("{0}")]
    Version(String),
    /// A range string is malformed.
    #[error("{0}")]
    Range(String),
}

/// A pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PreId {
    Num(u64),
    Alpha(String),
}

impl PreId {
    fn cmp(&self, other: &PreId) -> Ordering {
        match (self, other) {
            (PreId::Num(a), PreId::Num(b)) => a.cmp(b),
            (PreId::Num(_), PreId::Alpha(_)) => Ordering::Less,
            (PreId::Alpha(_), PreId::Num(_)) => Ordering::Greater,
            (PreId::Alpha(a), PreId::Alpha(b)) => a.cmp(b),
        }
    }
}

/// A semantic version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    pre: Vec<PreId>,
    build: Vec<String>,
}

fn parse_num(s: &str, what: &str) -> Result<u64, SemverError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SemverError::Version(format!(
            "Invalid character(s) found in {what} number {s:?}"
        )));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(SemverError::Version(format!(
            "{what} number must not contain leading zeroes {s:?}"
        )));
    }
    s.parse()
        .map_err(|_| SemverError::Version(format!("Invalid {what} number {s:?}")))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Version {
    /// Parses a version strictly (blang `semver.Parse`).
    pub fn parse(s: &str) -> Result<Version, SemverError> {
        if s.is_empty() {
            return Err(SemverError::Version("Version string empty".into()));
        }
        let parts: Vec<&str> = s.splitn(3, '.').collect();
        if parts.len() != 3 {
            return Err(SemverError::Version(
                "No Major.Minor.Patch elements found".into(),
            ));
        }
        let major = parse_num(parts[0], "Major")?;
        let minor = parse_num(parts[1], "Minor")?;
        let mut rest = parts[2];
        let mut build = Vec::new();
        if let Some((head, b)) = rest.split_once('+') {
            for part in b.split('.') {
                if !is_ident(part) {
                    return Err(SemverError::Version(format!(
                        "Invalid character(s) found in build meta data {part:?}"
                    )));
                }
                build.push(part.to_string());
            }
            rest = head;
        }
        let mut pre = Vec::new();
        if let Some((head, p)) = rest.split_once('-') {
            for part in p.split('.') {
                pre.push(parse_pre(part)?);
            }
            rest = head;
        }
        let patch = parse_num(rest, "Patch")?;
        Ok(Version {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    /// Total order of semver 2.0 (build metadata ignored).
    pub fn compare(&self, other: &Version) -> Ordering {
        let core =
            (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        if core != Ordering::Equal {
            return core;
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        for (a, b) in self.pre.iter().zip(&other.pre) {
            let c = a.cmp(b);
            if c != Ordering::Equal {
                return c;
            }
        }
        self.pre.len().cmp(&other.pre.len())
    }
}

fn parse_pre(part: &str) -> Result<PreId, SemverError> {
    if !is_ident(part) {
        return Err(SemverError::Version(format!(
            "Invalid character(s) found in prerelease {part:?}"
        )));
    }
    if part.bytes().all(|b| b.is_ascii_digit()) {
        if part.len() > 1 && part.starts_with('0') {
            return Err(SemverError::Version(format!(
                "Numeric PreRelease version must not contain leading zeroes {part:?}"
            )));
        }
        let n = part
            .parse()
            .map_err(|_| SemverError::Version(format!("Invalid prerelease {part:?}")))?;
        return Ok(PreId::Num(n));
    }
    Ok(PreId::Alpha(part.to_string()))
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, p) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            match p {
                PreId::Num(n) => write!(f, "{n}")?,
                PreId::Alpha(s) => f.write_str(s)?,
            }
        }
        for (i, b) in self.build.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            f.write_str(b)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A parsed range: an OR of ANDs of comparators.
#[derive(Debug, Clone)]
pub struct Range {
    alternatives: Vec<Vec<(Op, Version)>>,
}

impl Range {
    /// Parses a blang range expression such as `>=1.0.0 <2.0.0 || >3.0.0`.
    pub fn parse(s: &str) -> Result<Range, SemverError> {
        let parts = split_and_trim(s);
        let or_parts = split_or_parts(&parts)?;
        let mut alternatives = Vec::new();
        for group in or_parts {
            let mut ands = Vec::new();
            for item in expand_wildcards(&group)? {
                let (op, v) = split_comparator_version(&item)?;
                let op = parse_op(op).ok_or_else(|| {
                    SemverError::Range(format!("Could not parse comparator {op:?} in {item:?}"))
                })?;
                let version = Version::parse(v).map_err(|e| {
                    SemverError::Range(format!("Could not parse Range {item:?}: {e}"))
                })?;
                ands.push((op, version));
            }
            alternatives.push(ands);
        }
        Ok(Range { alternatives })
    }

    /// True when `v` satisfies the range.
    pub fn matches(&self, v: &Version) -> bool {
        self.alternatives.iter().any(|ands| {
            ands.iter().all(|(op, w)| {
                let c = v.compare(w);
                match op {
                    Op::Eq => c == Ordering::Equal,
                    Op::Ne => c != Ordering::Equal,
                    Op::Gt => c == Ordering::Greater,
                    Op::Ge => c != Ordering::Less,
                    Op::Lt => c == Ordering::Less,
                    Op::Le => c != Ordering::Greater,
                }
            })
        })
    }
}

fn parse_op(s: &str) -> Option<Op> {
    Some(match s {
        "" | "=" | "==" => Op::Eq,
        "!" | "!=" => Op::Ne,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        _ => return None,
    })
}

/// blang's `splitAndTrim`: splits on spaces except right after `<`, `>` or `=`; tokens of one
/// character are dropped (a blang quirk kept for fidelity).
fn split_and_trim(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut result = Vec::new();
    let mut last = 0usize;
    let mut last_char = 0u8;
    for (i, &c) in b.iter().enumerate() {
        if c == b' ' && !matches!(last_char, b'>' | b'<' | b'=') {
            if last + 1 < i {
                result.push(s[last..i].to_string());
            }
            last = i + 1;
        } else if c != b' ' {
            last_char = c;
        }
    }
    if last + 1 < b.len() {
        result.push(s[last..].to_string());
    }
    result.into_iter().map(|v| v.replace(' ', "")).collect()
}

fn split_or_parts(parts: &[String]) -> Result<Vec<Vec<String>>, SemverError> {
    let mut out = Vec::new();
    let mut last = 0;
    for (i, p) in parts.iter().enumerate() {
        if p == "||" {
            if i == 0 {
                return Err(SemverError::Range("First element in range is '||'".into()));
            }
            out.push(parts[last..i].to_vec());
            last = i + 1;
        }
    }
    if last == parts.len() {
        return Err(SemverError::Range("Last element in range is '||'".into()));
    }
    out.push(parts[last..].to_vec());
    Ok(out)
}

fn split_comparator_version(s: &str) -> Result<(&str, &str), SemverError> {
    let i = s
        .char_indices()
        .find(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i)
        .ok_or_else(|| SemverError::Range(format!("Could not get version from string: {s:?}")))?;
    Ok((s[..i].trim(), &s[i..]))
}

#[derive(PartialEq)]
enum Wildcard {
    None,
    Major,
    Minor,
    Patch,
}

fn wildcard_type(v: &str) -> Wildcard {
    let parts: Vec<&str> = v.split('.').collect();
    if parts.last() != Some(&"x") {
        return Wildcard::None;
    }
    match parts.len() {
        1 => Wildcard::Major,
        2 => Wildcard::Minor,
        3 => Wildcard::Patch,
        _ => Wildcard::None,
    }
}

fn flat_version(v: &str) -> String {
    let v2 = v.replacen(".x.x", ".x", 1).replacen(".x", ".0", 1);
    if v2.split('.').count() == 2 {
        format!("{v2}.0")
    } else {
        v2
    }
}

fn increment(v: &str, major: bool) -> String {
    match Version::parse(v) {
        Ok(mut ver) => {
            if major {
                ver.major += 1;
                ver.minor = 0;
            } else {
                ver.minor += 1;
            }
            ver.patch = 0;
            ver.pre.clear();
            ver.build.clear();
            ver.to_string()
        }
        Err(_) => String::new(),
    }
}

/// blang's `expandWildcardVersion` for one AND group.
fn expand_wildcards(group: &[String]) -> Result<Vec<String>, SemverError> {
    let mut out = Vec::new();
    for item in group {
        if !item.contains('x') {
            out.push(item.clone());
            continue;
        }
        let (op, v) = split_comparator_version(item)?;
        let kind = wildcard_type(v);
        let flat = flat_version(v);
        let (result_op, bump) = match op {
            ">" => (">=", true),
            ">=" => (">=", false),
            "<" => ("<", false),
            "<=" => ("<", true),
            "" | "=" | "==" => {
                out.push(format!(">={flat}"));
                ("<", true)
            }
            "!=" | "!" => {
                out.push(format!("<{flat}"));
                (">=", true)
            }
            _ => ("", false),
        };
        let version = if bump {
            match kind {
                Wildcard::Patch => increment(&flat, false),
                Wildcard::Minor => increment(&flat, true),
                _ => String::new(),
            }
        } else {
            flat
        };
        out.push(format!("{result_op}{version}"));
    }
    Ok(out)
}

/// Kyverno's `semver_compare(version, range)`: an unparsable version counts as `0.0.0`
/// (Kyverno ignores that error); an unparsable range is an error.
pub fn semver_compare(version: &str, range: &str) -> Result<bool, SemverError> {
    let v = Version::parse(version).unwrap_or_default();
    Ok(Range::parse(range)?.matches(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for ok in [
            "1.2.3",
            "0.0.0",
            "1.2.3-alpha.1",
            "1.2.3+build.5",
            "1.2.3-rc.1+b",
        ] {
            assert!(Version::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "1.2", "v1.2.3", "01.2.3", "1.2.3-01", "1.2.3-", "1.2.x", "1.2.3.4",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(v("1.0.0-alpha").compare(&v("1.0.0")), Ordering::Less);
        assert_eq!(
            v("1.0.0-alpha.1").compare(&v("1.0.0-alpha.beta")),
            Ordering::Less
        );
        assert_eq!(v("1.0.0-2").compare(&v("1.0.0-10")), Ordering::Less);
        assert_eq!(v("1.0.0+a").compare(&v("1.0.0+b")), Ordering::Equal);
        assert_eq!(v("1.2.3-rc.1+b").to_string(), "1.2.3-rc.1+b");
    }

    #[test]
    fn ranges() {
        let cases: &[(&str, &str, bool)] = &[
            ("1.10.0", ">=1.0.0 <2.0.0 || >3.0.0", true),
            ("2.5.0", ">=1.0.0 <2.0.0 || >3.0.0", false),
            ("3.0.1", ">=1.0.0 <2.0.0 || >3.0.0", true),
            ("1.2.3", "1.2.3", true),
            ("1.2.3", "=1.2.3", true),
            ("1.2.3", "!1.2.3", false),
            ("1.2.4", "!=1.2.3", true),
            ("1.5.0", "1.x", true),
            ("2.0.0", "1.x", false),
            ("1.2.9", "1.2.x", true),
            ("1.3.0", "1.2.x", false),
            ("2.0.0", ">1.x", true),
            ("1.9.0", ">1.x", false),
            ("1.9.0", "<=1.x", true),
            ("1.2.3", ">= 1.2.3", true),
            ("1.2.3", "> 1.2.3", false),
            ("bad", "<1.0.0", true),
            ("1.0.0-rc.1", "<1.0.0", true),
        ];
        for (v, r, want) in cases {
            assert_eq!(semver_compare(v, r), Ok(*want), "{v} in {r}");
        }
        for bad in ["", "|| 1.0.0", "1.0.0 ||", "~1.0.0", ">>1.0.0", "abc"] {
            assert!(Range::parse(bad).is_err(), "{bad:?}");
        }
    }
}
