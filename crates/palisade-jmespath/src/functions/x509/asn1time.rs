//! UTCTime and GeneralizedTime as cryptobyte reads them (Go's `time.Parse` with the layouts
//! `060102150405Z0700`, `0601021504Z0700` and `20060102150405Z0700`, plus its round-trip
//! check), and their JSON text (`time.Time.MarshalJSON`, RFC 3339).

use super::der::{Der, tag};

/// A wall-clock time with its zone: `None` for UTC, else the offset in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Time {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    offset_minutes: Option<i32>,
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |acc, &b| acc * 10 + u32::from(b - b'0')))
}

fn two(s: &[u8], at: usize) -> Option<u8> {
    digits(s.get(at..at + 2)?).and_then(|v| u8::try_from(v).ok())
}

fn days_in(month: u8, year: i32) -> u8 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `Z` or `±hhmm`; only forms that print back identically are accepted.
fn zone(s: &[u8]) -> Option<Option<i32>> {
    match s {
        [b'Z'] => Some(None),
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 4 => {
            let (h, m) = (two(rest, 0)?, two(rest, 2)?);
            // Go prints a zero offset as `Z` and normalises 60 minutes, so those do not
            // survive its round-trip check.
            if h > 24 || m >= 60 || (h == 0 && m == 0) {
                return None;
            }
            let minutes = i32::from(h) * 60 + i32::from(m);
            Some(Some(if *sign == b'-' { -minutes } else { minutes }))
        }
        _ => None,
    }
}

/// Date and time fields after the year, with an optional seconds field.
fn rest_of(year: i32, s: &[u8], with_seconds: bool) -> Option<Time> {
    let (month, day, hour, minute) = (two(s, 0)?, two(s, 2)?, two(s, 4)?, two(s, 6)?);
    let (second, zone_at) = if with_seconds {
        (two(s, 8)?, 10)
    } else {
        (0, 8)
    };
    let offset_minutes = zone(s.get(zone_at..)?)?;
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in(month, year)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then_some(Time {
        year,
        month,
        day,
        hour,
        minute,
        second,
        offset_minutes,
    })
}

/// UTCTime contents: `YYMMDDhhmm[ss]` and a zone; years 50-99 are 1950-1999.
pub(crate) fn parse_utc(s: &[u8]) -> Option<Time> {
    let yy = i32::from(two(s, 0)?);
    let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    let rest = s.get(2..)?;
    rest_of(year, rest, true).or_else(|| rest_of(year, rest, false))
}

/// GeneralizedTime contents: `YYYYMMDDhhmmss` and a zone, no fractional seconds.
pub(crate) fn parse_generalized(s: &[u8]) -> Option<Time> {
    let year = i32::try_from(digits(s.get(..4)?)?).ok()?;
    rest_of(year, s.get(4..)?, true)
}

/// Why a time could not be read, worded as Go's x509 parser words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeError {
    MalformedUtc,
    MalformedGeneralized,
    Unsupported,
}

impl TimeError {
    pub fn message(self) -> &'static str {
        match self {
            TimeError::MalformedUtc => "x509: malformed UTCTime",
            TimeError::MalformedGeneralized => "x509: malformed GeneralizedTime",
            TimeError::Unsupported => "x509: unsupported time format",
        }
    }
}

/// Go's `parseTime`.
pub(crate) fn read(d: &mut Der<'_>) -> Result<Time, TimeError> {
    if d.peek(tag::UTC_TIME) {
        let body = d.read(tag::UTC_TIME).ok_or(TimeError::MalformedUtc)?;
        parse_utc(body.bytes()).ok_or(TimeError::MalformedUtc)
    } else if d.peek(tag::GENERALIZED_TIME) {
        let body = d
            .read(tag::GENERALIZED_TIME)
            .ok_or(TimeError::MalformedGeneralized)?;
        parse_generalized(body.bytes()).ok_or(TimeError::MalformedGeneralized)
    } else {
        Err(TimeError::Unsupported)
    }
}

impl Time {
    /// RFC 3339 text as `time.Time.MarshalJSON` writes it; `None` where Go's encoder fails
    /// (an offset of 24 hours).
    pub fn rfc3339(&self) -> Option<String> {
        let date = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        let Some(off) = self.offset_minutes else {
            return Some(format!("{date}Z"));
        };
        let (sign, abs) = if off < 0 { ('-', -off) } else { ('+', off) };
        if abs / 60 > 23 {
            return None;
        }
        Some(format!("{date}{sign}{:02}:{:02}", abs / 60, abs % 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Option<String> {
        parse_utc(s.as_bytes()).map(|t| t.rfc3339().unwrap_or_default())
    }

    #[test]
    fn utc_time() {
        let cases: &[(&str, Option<&str>)] = &[
            ("220111132643Z", Some("2022-01-11T13:26:43Z")),
            ("500101000000Z", Some("1950-01-01T00:00:00Z")),
            ("491231235959Z", Some("2049-12-31T23:59:59Z")),
            ("2201111326Z", Some("2022-01-11T13:26:00Z")),
            ("220111132643+0130", Some("2022-01-11T13:26:43+01:30")),
            ("220111132643-0800", Some("2022-01-11T13:26:43-08:00")),
            ("220111132643+0000", None),
            ("220111132643", None),
            ("220111132643.5Z", None),
            ("220230000000Z", None),
            ("240229000000Z", Some("2024-02-29T00:00:00Z")),
            ("230229000000Z", None),
            ("221301000000Z", None),
            ("220101240000Z", None),
            ("22011113264Z", None),
            ("2201111326431Z", None),
        ];
        for (input, want) in cases {
            assert_eq!(utc(input).as_deref(), *want, "{input}");
        }
        assert_eq!(parse_utc(b"220111132643+2400").unwrap().rfc3339(), None);
    }

    #[test]
    fn generalized_time() {
        let cases: &[(&str, Option<&str>)] = &[
            ("21261030054817Z", Some("2126-10-30T05:48:17Z")),
            ("00010101000000Z", Some("0001-01-01T00:00:00Z")),
            ("20500101000000Z", Some("2050-01-01T00:00:00Z")),
            ("20500101000000.5Z", None),
            ("205001010000Z", None),
        ];
        for (input, want) in cases {
            let got = parse_generalized(input.as_bytes()).and_then(|t| t.rfc3339());
            assert_eq!(got.as_deref(), *want, "{input}");
        }
        let mut d = Der::new(&[0x02, 0x01, 0x00]);
        assert_eq!(read(&mut d), Err(TimeError::Unsupported));
    }
}
