//! Pattern anchors: `(key)`, `=(key)`, `^(key)`, `X(key)`, `<(key)`, `+(key)`.

/// The kind of an anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorKind {
    /// `(key)`: if the value matches, check the siblings; otherwise skip.
    Condition,
    /// `<(key)`: if the value does not match, skip the whole rule.
    Global,
    /// `X(key)`: the key must be absent.
    Negation,
    /// `+(key)`: add if absent (mutation).
    AddIfNotPresent,
    /// `=(key)`: if present, the value must match.
    Equality,
    /// `^(key)`: at least one list element must match.
    Existence,
}

/// A parsed anchor key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor<'a> {
    /// What the anchor does.
    pub kind: AnchorKind,
    /// The key without the anchor syntax.
    pub key: &'a str,
}

impl<'a> Anchor<'a> {
    /// Parses `key` as an anchor (Kyverno's `^([+<=X^])?\((.+)\)$` after trimming spaces).
    pub fn parse(key: &'a str) -> Option<Anchor<'a>> {
        let s = key.trim();
        let inner_start = s.find('(')?;
        if !s.ends_with(')') || inner_start > 1 {
            return None;
        }
        let kind = match &s[..inner_start] {
            "" => AnchorKind::Condition,
            "<" => AnchorKind::Global,
            "X" => AnchorKind::Negation,
            "+" => AnchorKind::AddIfNotPresent,
            "=" => AnchorKind::Equality,
            "^" => AnchorKind::Existence,
            _ => return None,
        };
        let inner = &s[inner_start + 1..s.len() - 1];
        if inner.is_empty() {
            return None;
        }
        Some(Anchor { kind, key: inner })
    }

    /// The anchor's prefix as written (`""`, `"<"`, `"X"`, ...).
    pub fn prefix(self) -> &'static str {
        match self.kind {
            AnchorKind::Condition => "",
            AnchorKind::Global => "<",
            AnchorKind::Negation => "X",
            AnchorKind::AddIfNotPresent => "+",
            AnchorKind::Equality => "=",
            AnchorKind::Existence => "^",
        }
    }
}

/// The key with any anchor removed.
pub fn strip(key: &str) -> &str {
    Anchor::parse(key).map_or(key, |a| a.key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases = [
            ("(name)", Some((AnchorKind::Condition, "name"))),
            ("<(name)", Some((AnchorKind::Global, "name"))),
            ("X(hostPath)", Some((AnchorKind::Negation, "hostPath"))),
            ("+(image)", Some((AnchorKind::AddIfNotPresent, "image"))),
            ("=(labels)", Some((AnchorKind::Equality, "labels"))),
            ("^(containers)", Some((AnchorKind::Existence, "containers"))),
            (" (a) ", Some((AnchorKind::Condition, "a"))),
            ("(a(b))", Some((AnchorKind::Condition, "a(b)"))),
            ("()", None),
            ("name", None),
            ("Y(a)", None),
            ("(a", None),
            ("ab(c)", None),
        ];
        for (input, want) in cases {
            let got = Anchor::parse(input).map(|a| (a.kind, a.key));
            assert_eq!(got, want, "{input}");
        }
    }
}
