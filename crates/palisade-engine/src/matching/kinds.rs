//! Kind selectors: `Kind`, `version/Kind`, `group/version/Kind`, `Kind/subresource`, wildcards.

use palisade_primitives::wildcard;
use serde_json::Value;

/// Group, version and kind of a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gvk {
    /// API group ("" for the core group).
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl Gvk {
    /// Reads `apiVersion` and `kind` of an object.
    pub fn of(resource: &Value) -> Gvk {
        let api_version = resource
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = resource
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: kind.to_string(),
        }
    }

    /// `group/version` or `version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Splits a kind selector into group, version, kind and subresource (Kyverno's `ParseKindSelector`).
pub fn parse_kind_selector(input: &str) -> (&str, &str, &str, &str) {
    // At most four parts are valid; no allocation on this per-rule path.
    let mut parts = [""; 4];
    let mut n = 0;
    for part in input.split('/') {
        match parts.get_mut(n) {
            Some(slot) => *slot = part,
            None => return ("", "", "", ""),
        }
        n += 1;
    }
    let parts = parts.get(..n).unwrap_or_default();
    let upper = |s: &str| s.chars().next().is_some_and(|c| c.is_uppercase()) || s == "*";
    match parts {
        [kind] => ("*", "*", kind, ""),
        [a, b] if upper(a) => ("*", "*", a, b),
        [a, b] => ("*", a, b, ""),
        [a, b, c] if b.chars().next().is_some_and(|c| c.is_uppercase()) => ("*", a, b, c),
        [a, b, c] => (a, b, c, ""),
        [a, b, c, d] => (a, b, c, d),
        _ => ("", "", "", ""),
    }
}

/// True when one of `kinds` selects the resource type and subresource.
pub fn kind_matches(kinds: &[String], gvk: &Gvk, subresource: &str, allow_ephemeral: bool) -> bool {
    kinds.iter().any(|k| {
        if k == "*" {
            return true;
        }
        // A plain kind name selects only that kind, in any group and version, without a
        // subresource (Pod also covers ephemeralcontainers): decided without parsing (autogen
        // rules list several controller kinds, checked on every request).
        if !k.bytes().any(|b| matches!(b, b'/' | b'*' | b'?')) {
            return *k == gvk.kind
                && (subresource.is_empty()
                    || (allow_ephemeral
                        && gvk.kind == "Pod"
                        && subresource == "ephemeralcontainers"));
        }
        let (group, version, kind, sub) = parse_kind_selector(k);
        // Kind first: it is what usually differs (autogen rules list controller kinds).
        let gvk_ok = wildcard::matches(kind, &gvk.kind)
            && wildcard::matches(group, &gvk.group)
            && wildcard::matches(version, &gvk.version);
        // A Pod selector also covers its ephemeralcontainers subresource.
        let ephemeral = allow_ephemeral
            && gvk.kind == "Pod"
            && sub.is_empty()
            && subresource == "ephemeralcontainers";
        gvk_ok && (wildcard::matches(sub, subresource) || ephemeral)
    })
}
