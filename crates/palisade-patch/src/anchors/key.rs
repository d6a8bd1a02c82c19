//! Parsing of anchor keys: `(key)`, `<(key)`, `+(key)`, `=(key)`, `X(key)`, `^(key)`
//! (Kyverno's `^([+<=X^])?\((.+)\)$`).

/// The kinds of anchor Kyverno knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnchorKind {
    /// `(key)`: conditional.
    Condition,
    /// `<(key)`: global condition.
    Global,
    /// `+(key)`: add if not present.
    AddIfNotPresent,
    /// `=(key)`: equality (validate only).
    Equality,
    /// `X(key)`: negation (validate only).
    Negation,
    /// `^(key)`: existence (validate only).
    Existence,
}

/// A parsed anchor: its kind and the bare key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Anchor<'a> {
    pub(crate) kind: AnchorKind,
    pub(crate) key: &'a str,
}

/// Parses `s` as an anchor; `None` for plain keys.
pub(crate) fn parse(s: &str) -> Option<Anchor<'_>> {
    let inner = s.strip_suffix(')')?;
    let (kind, rest) = match inner.as_bytes().first()? {
        b'(' => (AnchorKind::Condition, inner),
        b'<' => (AnchorKind::Global, inner.get(1..)?),
        b'+' => (AnchorKind::AddIfNotPresent, inner.get(1..)?),
        b'=' => (AnchorKind::Equality, inner.get(1..)?),
        b'X' => (AnchorKind::Negation, inner.get(1..)?),
        b'^' => (AnchorKind::Existence, inner.get(1..)?),
        _ => return None,
    };
    let key = rest.strip_prefix('(')?;
    if key.is_empty() {
        None
    } else {
        Some(Anchor { kind, key })
    }
}

/// `(key)` or `<(key)`: the anchors that are conditions on the resource.
pub(crate) fn is_condition(s: &str) -> bool {
    matches!(parse(s), Some(a) if matches!(a.kind, AnchorKind::Condition | AnchorKind::Global))
}

/// Conditions plus `+(key)`: the anchors patch preprocessing acts on.
pub(crate) fn is_mutate_anchor(s: &str) -> bool {
    matches!(parse(s), Some(a) if matches!(a.kind, AnchorKind::Condition | AnchorKind::Global | AnchorKind::AddIfNotPresent))
}

/// `<(key)`.
pub(crate) fn is_global(s: &str) -> bool {
    matches!(parse(s), Some(a) if a.kind == AnchorKind::Global)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_anchor_kind() {
        let cases = [
            ("(name)", Some((AnchorKind::Condition, "name"))),
            ("<(emptyDir)", Some((AnchorKind::Global, "emptyDir"))),
            (
                "+(imagePullPolicy)",
                Some((AnchorKind::AddIfNotPresent, "imagePullPolicy")),
            ),
            ("=(hostPath)", Some((AnchorKind::Equality, "hostPath"))),
            ("X(hostPath)", Some((AnchorKind::Negation, "hostPath"))),
            ("^(containers)", Some((AnchorKind::Existence, "containers"))),
            ("+(a.b/c)", Some((AnchorKind::AddIfNotPresent, "a.b/c"))),
            ("()", None),
            ("+()", None),
            ("name", None),
            ("+name)", None),
            ("Y(name)", None),
            ("(name", None),
            (")", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).map(|a| (a.kind, a.key)), want, "{input}");
        }
    }

    #[test]
    fn classifies_anchors() {
        assert!(is_condition("(a)") && is_condition("<(a)") && !is_condition("+(a)"));
        assert!(is_mutate_anchor("+(a)") && !is_mutate_anchor("=(a)") && !is_mutate_anchor("a"));
        assert!(is_global("<(a)") && !is_global("(a)"));
    }
}
