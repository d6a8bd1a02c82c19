//! Kyverno's wildcard match (`ext/wildcard`, IGLOU-EU/go-wildcard): `*` matches any run of
//! characters, `?` exactly one; everything else matches itself.

/// Whether `text` matches `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Greedy scan with one backtrack point: linear in practice, O(p·t) at worst.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.iter().skip(pi).all(|c| *c == '*')
}

/// Whether any of `patterns` matches `text` (Kyverno `wildcard.CheckPatterns`).
pub fn any(patterns: &[String], text: &str) -> bool {
    patterns.iter().any(|p| matches(p, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let table = [
            ("nginx", "nginx", true),
            ("nginx", "nginx:1.2.3", false),
            ("nginx*", "nginx:1.2.3", true),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("?", "", false),
            ("?", "a", true),
            ("?*", "", false),
            ("ng?nx", "nginx", true),
            ("*/nginx:*", "docker.io/library/nginx:1.25", true),
            ("*/nginx:*", "nginx:1.25", false),
            ("*nginx:*", "docker.io/library/nginx:1.25", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("NET_*", "NET_ADMIN", true),
            ("é?", "éa", true),
        ];
        for (pattern, text, want) in table {
            assert_eq!(matches(pattern, text), want, "{pattern:?} ~ {text:?}");
        }
        assert!(any(&["x".into(), "ng*".into()], "nginx"));
        assert!(!any(&[], "nginx"));
    }
}
