//! The texts users see: Kyverno's denial message and warnings.
//!
//! Kyverno (`pkg/webhooks/utils/block.go`) denies with
//! `"\n\nresource Kind/namespace/name was blocked due to the following policies \n\n"` followed
//! by a YAML map `policy: {rule: message}` (keys sorted, as Go's YAML encoder writes maps).
//! We write that YAML ourselves in the same shape: a scalar stays plain when YAML allows it,
//! is single-quoted otherwise (messages containing `": "` always are), and long values are
//! folded at spaces past column 80 with a four-space continuation indent, which is how
//! `gopkg.in/yaml.v2` lays them out. Multi-line messages use a `|-` literal block.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Width past which the YAML writer folds a scalar at the next space.
const BEST_WIDTH: usize = 80;

/// Kyverno's denial message for the failing rules of each policy (`policy -> rule -> message`).
pub fn blocked_message(
    kind: &str,
    namespace: &str,
    name: &str,
    failures: &BTreeMap<String, BTreeMap<String, String>>,
) -> String {
    let mut out = format!(
        "\n\nresource {kind}/{namespace}/{name} was blocked due to the following policies \n\n"
    );
    for (policy, rules) in failures {
        write_key(&mut out, policy, 0);
        out.push('\n');
        for (rule, message) in rules {
            write_key(&mut out, rule, 2);
            write_value(&mut out, message, key_width(rule, 2));
        }
    }
    out
}

/// Kyverno's warning for one rule result (`pkg/webhooks/utils/warning.go`).
pub fn warning(policy: &str, rule: &str, message: &str) -> String {
    format!("policy {policy}.{rule}: {message}")
}

fn key_width(key: &str, indent: usize) -> usize {
    indent + scalar(key).chars().count() + 1
}

fn write_key(out: &mut String, key: &str, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
    out.push_str(&scalar(key));
    out.push(':');
}

/// A short scalar (a key): plain, or quoted as YAML requires, never folded.
fn scalar(s: &str) -> String {
    match style(s) {
        Style::Plain => s.to_string(),
        Style::Single | Style::Literal => format!("'{}'", s.replace('\'', "''")),
        Style::Double => format!("{s:?}"),
    }
}

/// Writes ` value\n` after a key that ends at column `column`.
fn write_value(out: &mut String, value: &str, column: usize) {
    match style(value) {
        Style::Literal => {
            out.push_str(if value.ends_with('\n') {
                " |\n"
            } else {
                " |-\n"
            });
            for line in value.trim_end_matches('\n').split('\n') {
                if !line.is_empty() {
                    out.push_str("    ");
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        Style::Double => {
            let _ = writeln!(out, " {value:?}");
        }
        Style::Plain => {
            out.push(' ');
            fold(out, value, column + 1);
            out.push('\n');
        }
        Style::Single => {
            out.push_str(" '");
            fold(out, &value.replace('\'', "''"), column + 2);
            out.push_str("'\n");
        }
    }
}

/// Writes `text` starting at `column`, replacing a single space by a line break and a
/// four-space indent whenever the line already reaches past [`BEST_WIDTH`].
fn fold(out: &mut String, text: &str, mut column: usize) {
    let chars: Vec<char> = text.chars().collect();
    let last = chars.len().saturating_sub(1);
    for (i, &c) in chars.iter().enumerate() {
        let next_is_space = chars.get(i + 1).is_some_and(|n| *n == ' ');
        let prev_is_space = i > 0 && chars.get(i - 1).is_some_and(|p| *p == ' ');
        if c == ' '
            && column > BEST_WIDTH
            && i != 0
            && i != last
            && !next_is_space
            && !prev_is_space
        {
            out.push_str("\n    ");
            column = 4;
            continue;
        }
        out.push(c);
        column += 1;
    }
}

#[derive(Debug, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// The style Go's YAML encoder picks for a string.
fn style(s: &str) -> Style {
    if s.contains('\n') {
        return Style::Literal;
    }
    if s.chars().any(|c| c.is_control()) {
        return Style::Double;
    }
    if resolves_to_non_string(s) {
        return Style::Double;
    }
    if plain_allowed(s) {
        Style::Plain
    } else {
        Style::Single
    }
}

/// Strings a YAML reader would take for another type must be quoted.
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y",
        "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
    ];
    WORDS.contains(&s) || s.parse::<f64>().is_ok()
}

/// libyaml's rules for a plain scalar in block context.
fn plain_allowed(s: &str) -> bool {
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_blank = chars.get(i + 1).is_none_or(|n| *n == ' ' || *n == '\t');
        let preceded_by_blank = i > 0 && chars.get(i - 1).is_some_and(|p| *p == ' ' || *p == '\t');
        let indicator = if i == 0 {
            matches!(
                c,
                '#' | ','
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '&'
                    | '*'
                    | '!'
                    | '|'
                    | '>'
                    | '\''
                    | '"'
                    | '%'
                    | '@'
                    | '`'
            ) || (matches!(c, '?' | ':' | '-') && followed_by_blank)
        } else {
            (c == ':' && followed_by_blank) || (c == '#' && preceded_by_blank)
        };
        if indicator || c == '\t' {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(policy: &str, rule: &str, message: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        BTreeMap::from([(
            policy.to_string(),
            BTreeMap::from([(rule.to_string(), message.to_string())]),
        )])
    }

    #[test]
    fn matches_kyvernos_block_test_shapes() {
        let got = blocked_message(
            "foo",
            "bar",
            "baz",
            &one("test", "rule-fail", "message fail"),
        );
        assert_eq!(
            got,
            "\n\nresource foo/bar/baz was blocked due to the following policies \n\ntest:\n  rule-fail: message fail\n"
        );
        let mut two = one("test", "rule-fail", "message fail");
        two.entry("test".into())
            .or_default()
            .insert("rule-error".into(), "message error".into());
        let got = blocked_message("foo", "bar", "baz", &two);
        assert!(got.ends_with("test:\n  rule-error: message error\n  rule-fail: message fail\n"));
    }

    #[test]
    fn long_messages_are_quoted_and_folded_like_go_yaml() {
        let msg = "validation error: Privileged mode is disallowed. The fields spec.containers[*].securityContext.privileged and spec.initContainers[*].securityContext.privileged must be unset or set to `false`. rule privileged-containers failed at path /spec/containers/0/securityContext/privileged/";
        let got = blocked_message(
            "Pod",
            "default",
            "badpod01",
            &one(
                "disallow-privileged-containers",
                "privileged-containers",
                msg,
            ),
        );
        let want = "disallow-privileged-containers:\n  privileged-containers: 'validation error: Privileged mode is disallowed. The fields\n    spec.containers[*].securityContext.privileged and spec.initContainers[*].securityContext.privileged\n    must be unset or set to `false`. rule privileged-containers failed at path /spec/containers/0/securityContext/privileged/'\n";
        assert!(got.ends_with(want), "{got}");
    }

    #[test]
    fn styles_follow_yaml_rules() {
        let cases = [
            ("plain words", Style::Plain),
            ("a: b", Style::Single),
            ("- item", Style::Single),
            ("it's", Style::Plain),
            ("'quoted'", Style::Single),
            ("true", Style::Double),
            ("12", Style::Double),
            ("", Style::Double),
            ("two\nlines", Style::Literal),
            ("a #comment", Style::Single),
            ("path/a#b", Style::Plain),
        ];
        for (s, want) in cases {
            assert_eq!(style(s), want, "{s:?}");
        }
    }

    #[test]
    fn quotes_are_doubled_inside_single_quotes() {
        let got = blocked_message("Pod", "", "p", &one("p", "r", "don't: stop"));
        assert!(got.ends_with("  r: 'don''t: stop'\n"), "{got}");
    }

    #[test]
    fn warnings_name_policy_and_rule() {
        assert_eq!(warning("p", "r", "m"), "policy p.r: m");
    }
}
