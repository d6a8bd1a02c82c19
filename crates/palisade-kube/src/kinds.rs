//! Kind selectors as policies write them in `match.resources.kinds`: `Pod`, `v1/Pod`,
//! `apps/v1/Deployment`, `Pod/ephemeralcontainers`, `apps/v1/Deployment/scale`, `*`.

/// One parsed kind selector; `*` stands for "any".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KindSelector {
    /// API group (`""` is the core group), or `*`.
    pub group: String,
    /// API version, or `*`.
    pub version: String,
    /// Kind, or `*`.
    pub kind: String,
    /// Subresource (`status`, `ephemeralcontainers`, ...), empty for the resource itself.
    pub subresource: String,
}

const ANY: &str = "*";

/// Kinds are capitalised; versions and groups are not.
fn is_kind(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

impl KindSelector {
    /// Parses a selector. Two parts are kind/subresource when the first is capitalised (a
    /// kind), else version/kind; three parts are version/kind/subresource when the middle one
    /// is a kind, else group/version/kind. `None` for empty or over-long input.
    pub fn parse(input: &str) -> Option<KindSelector> {
        let parts: Vec<&str> = input.split('/').collect();
        if parts.iter().any(|p| p.is_empty() && parts.len() > 1) || input.is_empty() {
            return None;
        }
        let s = |v: &str| v.to_string();
        let (group, version, kind, sub) = match parts.as_slice() {
            [k] => (ANY, ANY, *k, ""),
            [k, sub] if is_kind(k) => (ANY, ANY, *k, *sub),
            [v, k] => (ANY, *v, *k, ""),
            [v, k, sub] if is_kind(k) && k != &ANY => (ANY, *v, *k, *sub),
            [g, v, k] => (*g, *v, *k, ""),
            [g, v, k, sub] => (*g, *v, *k, *sub),
            _ => return None,
        };
        // A version without a group (`v1/Pod`) matches that version in any group, as in Kyverno.
        Some(KindSelector {
            group: s(group),
            version: s(version),
            kind: s(kind),
            subresource: s(sub),
        })
    }

    /// True for `*` kinds, which the webhook can only express as all resources.
    pub fn is_any_kind(&self) -> bool {
        self.kind == ANY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(g: &str, v: &str, k: &str, sub: &str) -> Option<KindSelector> {
        Some(KindSelector {
            group: g.into(),
            version: v.into(),
            kind: k.into(),
            subresource: sub.into(),
        })
    }

    #[test]
    fn parse_table() {
        let cases = [
            ("Pod", sel("*", "*", "Pod", "")),
            ("*", sel("*", "*", "*", "")),
            ("v1/Pod", sel("*", "v1", "Pod", "")),
            (
                "Pod/ephemeralcontainers",
                sel("*", "*", "Pod", "ephemeralcontainers"),
            ),
            ("apps/v1/Deployment", sel("apps", "v1", "Deployment", "")),
            ("v1/Pod/status", sel("*", "v1", "Pod", "status")),
            (
                "apps/v1/Deployment/scale",
                sel("apps", "v1", "Deployment", "scale"),
            ),
            ("apps/*/*", sel("apps", "*", "*", "")),
            ("Pod/*", sel("*", "*", "Pod", "*")),
            ("v1/*", sel("*", "v1", "*", "")),
            ("apps/v1/*", sel("apps", "v1", "*", "")),
            ("", None),
            ("a/b/c/d/e", None),
            ("/Pod", None),
        ];
        for (input, want) in cases {
            assert_eq!(KindSelector::parse(input), want, "{input}");
        }
    }
}
