//! Kyverno's wildcard matching (`IGLOU-EU/go-wildcard` v1.0.3 as Kyverno calls it).
//!
//! `*` matches any run of characters (including none and `/`), `?` matches exactly one
//! character; there are no escapes or classes. Matching is linear in practice (greedy
//! backtracking over the last `*` only), never exponential.

/// True when `pattern` contains `*` or `?`.
pub fn contains_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Matches `text` against a wildcard `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    if pattern.is_empty() {
        return text.is_empty();
    }
    if pattern == "*" {
        return true;
    }
    // Most patterns are literal names and kinds: compare without allocating.
    if !contains_wildcard(pattern) {
        return pattern == text;
    }
    if pattern.is_ascii() && text.is_ascii() {
        return matches_units(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches_units(&p, &t, '*', '?')
}

/// The matcher over code units (bytes for ASCII, chars otherwise).
fn matches_units<T: PartialEq + Copy>(p: &[T], t: &[T], star_unit: T, any_unit: T) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position after the last '*' seen and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(c) if *c == star_unit => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            Some(c) if *c == any_unit || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .unwrap_or_default()
        .iter()
        .all(|c| *c == star_unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything/at/all", true),
            ("", "", true),
            ("", "a", false),
            ("nginx*", "nginx:1.2", true),
            ("nginx*", "nginy", false),
            ("ghcr.io/*", "ghcr.io/org/img:tag", true),
            ("?eb", "web", true),
            ("?eb", "eb", false),
            ("a?c", "abc", true),
            ("a?c", "abbc", false),
            ("*.example.com", "www.example.com", true),
            ("*.example.com", "example.com", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("é?", "éx", true),
            ("a**", "a", true),
            ("[a]", "a", false),
            ("\\*", "\\x", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(matches(p, t), *want, "{p} vs {t}");
        }
        assert!(contains_wildcard("a*"));
        assert!(contains_wildcard("a?"));
        assert!(!contains_wildcard("abc"));
    }

    #[test]
    fn long_input_is_fast() {
        let text = "a".repeat(10_000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!matches(&pattern, &text));
    }
}
