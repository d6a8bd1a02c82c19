//! The `?timeout=` query parameter the API server adds to webhook calls (a Go duration such
//! as `10s` or `1m30s`).

use std::time::Duration;

/// The `timeout` parameter of a query string, if present and valid.
pub fn from_query(query: Option<&str>) -> Option<Duration> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("timeout="))
        .and_then(parse_go_duration)
}

/// Parses a Go duration (`300ms`, `10s`, `1m30s`, `1.5s`); `None` when malformed, negative
/// or absurdly large (over a day).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s.is_empty() || s.len() > 32 {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        let value: f64 = num.parse().ok()?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_end);
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * scale;
        rest = next;
    }
    (total <= 86_400.0).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let cases = [
            ("10s", Some(10_000)),
            ("1m30s", Some(90_000)),
            ("300ms", Some(300)),
            ("1.5s", Some(1_500)),
            ("", None),
            ("10", None),
            ("s", None),
            ("-1s", None),
            ("99999h", None),
            ("1x", None),
        ];
        for (s, want) in cases {
            assert_eq!(
                parse_go_duration(s).map(|d| d.as_millis() as u64),
                want,
                "{s}"
            );
        }
    }

    #[test]
    fn query_strings() {
        assert_eq!(from_query(Some("timeout=5s")), Some(Duration::from_secs(5)));
        assert_eq!(
            from_query(Some("a=b&timeout=2s")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(from_query(Some("a=b")), None);
        assert_eq!(from_query(None), None);
    }
}
