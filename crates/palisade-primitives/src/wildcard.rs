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
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position after the last '*' seen and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
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
    p[pi..].iter().all(|c| *c == '*')
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
