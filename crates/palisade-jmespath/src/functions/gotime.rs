//! Go's `time.Parse` with reference-time layouts (`2006-01-02T15:04:05Z07:00`), RFC 3339
//! formatting, and the few time operations Kyverno uses. Times are an instant plus the
//! UTC offset they were written with (which RFC 3339 output preserves, as Go does).

/// Seconds from 0001-01-01 (Go's zero time) to the Unix epoch.
const UNIX_TO_INTERNAL: i64 = 62_135_596_800;

/// An instant with its display offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds.
    pub nanos: u32,
    /// Offset east of UTC in seconds.
    pub offset: i32,
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(m: i64, y: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Local calendar fields of a time.
pub struct Fields {
    /// Year.
    pub year: i64,
    /// Month 1-12.
    pub month: i64,
    /// Day 1-31.
    pub day: i64,
    /// Hour 0-23.
    pub hour: i64,
    /// Minute.
    pub minute: i64,
    /// Second.
    pub second: i64,
    /// Weekday, Sunday = 0.
    pub weekday: i64,
}

impl Time {
    /// Calendar fields in the time's own offset.
    pub fn fields(&self) -> Fields {
        let local = self.secs + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Fields {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
            weekday: (days + 4).rem_euclid(7),
        }
    }

    /// Go's `t.Format(time.RFC3339)`.
    pub fn rfc3339(&self) -> String {
        let f = self.fields();
        let zone = if self.offset == 0 {
            "Z".to_string()
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let o = self.offset.unsigned_abs();
            format!("{sign}{:02}:{:02}", o / 3600, o % 3600 / 60)
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
            f.year, f.month, f.day, f.hour, f.minute, f.second
        )
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    fn from_unix_nanos(n: i128, offset: i32) -> Time {
        let secs = n.div_euclid(1_000_000_000);
        Time {
            secs: i64::try_from(secs).unwrap_or(i64::MAX),
            nanos: n.rem_euclid(1_000_000_000) as u32,
            offset,
        }
    }

    /// `t.Add(d)`.
    pub fn add(&self, d: i64) -> Time {
        Time::from_unix_nanos(self.unix_nanos() + i128::from(d), self.offset)
    }

    /// `t.Sub(u)`, saturating like Go.
    pub fn sub(&self, u: &Time) -> i64 {
        let d = self.unix_nanos() - u.unix_nanos();
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }

    /// `t.Truncate(d)`: rounds down to a multiple of `d` since Go's zero time.
    pub fn truncate(&self, d: i64) -> Time {
        if d <= 0 {
            return *self;
        }
        let abs = self.unix_nanos() + i128::from(UNIX_TO_INTERNAL) * 1_000_000_000;
        let r = abs.rem_euclid(i128::from(d));
        Time::from_unix_nanos(self.unix_nanos() - r, self.offset)
    }
}

/// Layout elements (Go's `std*` chunks).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm(bool),
    Tz,
    /// (Z allowed, with colons, with seconds, hours only)
    NumTz(bool, bool, bool, bool),
    Frac0(usize),
    Frac9,
}

fn starts_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk`: literal prefix, element, rest.
fn next_chunk(layout: &str) -> (&str, Option<(Std, usize)>) {
    let b = layout.as_bytes();
    for i in 0..b.len() {
        let rest = &layout[i..];
        let hit: Option<(Std, usize)> = match b[i] {
            b'J' if rest.starts_with("Jan") => {
                if rest.starts_with("January") {
                    Some((Std::LongMonth, 7))
                } else if !starts_lower(&rest[3..]) {
                    Some((Std::Month, 3))
                } else {
                    None
                }
            }
            b'M' if rest.starts_with("Mon") => {
                if rest.starts_with("Monday") {
                    Some((Std::LongWeekDay, 6))
                } else if !starts_lower(&rest[3..]) {
                    Some((Std::WeekDay, 3))
                } else {
                    None
                }
            }
            b'M' if rest.starts_with("MST") => Some((Std::Tz, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Std::ZeroMonth, 2)),
                Some(b'2') => Some((Std::ZeroDay, 2)),
                Some(b'3') => Some((Std::ZeroHour12, 2)),
                Some(b'4') => Some((Std::ZeroMinute, 2)),
                Some(b'5') => Some((Std::ZeroSecond, 2)),
                Some(b'6') => Some((Std::Year, 2)),
                Some(b'0') if b.get(i + 2) == Some(&b'2') => Some((Std::ZeroYearDay, 3)),
                _ => None,
            },
            b'1' => Some(if b.get(i + 1) == Some(&b'5') {
                (Std::Hour, 2)
            } else {
                (Std::NumMonth, 1)
            }),
            b'2' => Some(if rest.starts_with("2006") {
                (Std::LongYear, 4)
            } else {
                (Std::Day, 1)
            }),
            b'_' if b.get(i + 1) == Some(&b'2') => {
                if rest[1..].starts_with("2006") {
                    return (&layout[..i + 1], Some((Std::LongYear, 4)));
                }
                Some((Std::UnderDay, 2))
            }
            b'_' if rest.starts_with("__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if b.get(i + 1) == Some(&b'M') => Some((Std::Pm(true), 2)),
            b'p' if b.get(i + 1) == Some(&b'm') => Some((Std::Pm(false), 2)),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let t = &rest[1..];
                if t.starts_with("070000") {
                    Some((Std::NumTz(z, false, true, false), 7))
                } else if t.starts_with("07:00:00") {
                    Some((Std::NumTz(z, true, true, false), 9))
                } else if t.starts_with("0700") {
                    Some((Std::NumTz(z, false, false, false), 5))
                } else if t.starts_with("07:00") {
                    Some((Std::NumTz(z, true, false, false), 6))
                } else if t.starts_with("07") {
                    Some((Std::NumTz(z, false, false, true), 3))
                } else {
                    None
                }
            }
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else if ch == b'0' {
                    Some((Std::Frac0(j - i - 1), j - i))
                } else {
                    Some((Std::Frac9, j - i))
                }
            }
            _ => None,
        };
        if let Some(h) = hit {
            return (&layout[..i], Some(h));
        }
    }
    (layout, None)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Reads 1-2 digits (exactly 2 if `fixed`).
fn getnum(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    if !b.get(1).is_some_and(u8::is_ascii_digit) {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &s[1..]));
    }
    Some((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &s[2..],
    ))
}

fn lookup_name<'a>(s: &'a str, names: &[&str], short: bool) -> Option<(i64, &'a str)> {
    for (i, n) in names.iter().enumerate() {
        let n = if short { &n[..3] } else { n };
        if s.len() >= n.len() && s[..n.len()].eq_ignore_ascii_case(n) {
            return Some((i as i64, &s[n.len()..]));
        }
    }
    None
}

/// Go's `skip`: removes the literal prefix, where runs of spaces match any run of spaces.
fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Option<&'a str> {
    while let Some(p) = prefix.chars().next() {
        if p == ' ' {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        let v = value.chars().next()?;
        if v != p {
            return None;
        }
        value = &value[v.len_utf8()..];
        prefix = &prefix[p.len_utf8()..];
    }
    Some(value)
}

fn parse_nanos(v: &str, n: usize) -> Option<u32> {
    let digits = v.get(1..n)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ns: u32 = 0;
    for (i, c) in digits.bytes().enumerate() {
        if i >= 9 {
            break;
        }
        ns = ns * 10 + u32::from(c - b'0');
    }
    for _ in digits.len()..9 {
        ns *= 10;
    }
    Some(ns)
}

/// Go's `time.Parse(layout, value)`.
pub fn parse(layout: &str, value: &str) -> Result<Time, String> {
    let orig_value = value;
    let err = |elem: &str, rest: &str| {
        format!("parsing time {orig_value:?} as {layout:?}: cannot parse {rest:?} as {elem:?}")
    };
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0u32);
    let (mut pm, mut am) = (false, false);
    let mut offset: Option<i32> = None;
    let mut lay = layout;
    let mut value = value;
    loop {
        let (prefix, std) = next_chunk(lay);
        let elem_text = std.map_or("", |(_, n)| &lay[prefix.len()..prefix.len() + n]);
        value = skip(value, prefix).ok_or_else(|| err(prefix, value))?;
        let Some((std, n)) = std else {
            if !value.is_empty() {
                return Err(format!(
                    "parsing time {orig_value:?}: extra text: {value:?}"
                ));
            }
            break;
        };
        lay = &lay[prefix.len() + n..];
        let hold = value;
        let bad = || err(elem_text, hold);
        match std {
            Std::Year => {
                let (v, r) = getnum(value, true).ok_or_else(bad)?;
                year = if v >= 69 { v + 1900 } else { v + 2000 };
                value = r;
            }
            Std::LongYear => {
                if value.len() < 4 || !value.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
                    return Err(bad());
                }
                year = value[..4].parse().map_err(|_| bad())?;
                value = &value[4..];
            }
            Std::Month | Std::LongMonth => {
                let (v, r) = lookup_name(value, &MONTHS, std == Std::Month).ok_or_else(bad)?;
                month = v + 1;
                value = r;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (v, r) = getnum(value, std == Std::ZeroMonth).ok_or_else(bad)?;
                if !(1..=12).contains(&v) {
                    return Err(format!("parsing time {orig_value:?}: month out of range"));
                }
                month = v;
                value = r;
            }
            Std::WeekDay | Std::LongWeekDay => {
                value = lookup_name(value, &DAYS, std == Std::WeekDay)
                    .ok_or_else(bad)?
                    .1;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && value.starts_with(' ') {
                    value = &value[1..];
                }
                let (v, r) = getnum(value, std == Std::ZeroDay).ok_or_else(bad)?;
                day = v;
                value = r;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let t = if std == Std::UnderYearDay {
                    value.trim_start_matches(' ')
                } else {
                    value
                };
                let nd = t.bytes().take(3).take_while(u8::is_ascii_digit).count();
                if nd == 0 || (std == Std::ZeroYearDay && nd < 3) {
                    return Err(bad());
                }
                yday = t[..nd].parse().map_err(|_| bad())?;
                value = &t[nd..];
            }
            Std::Hour => {
                let (v, r) = getnum(value, false).ok_or_else(bad)?;
                if v > 23 {
                    return Err(format!("parsing time {orig_value:?}: hour out of range"));
                }
                hour = v;
                value = r;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (v, r) = getnum(value, std == Std::ZeroHour12).ok_or_else(bad)?;
                if v > 12 {
                    return Err(format!("parsing time {orig_value:?}: hour out of range"));
                }
                hour = v;
                value = r;
            }
            Std::Minute | Std::ZeroMinute | Std::Second | Std::ZeroSecond => {
                let fixed = matches!(std, Std::ZeroMinute | Std::ZeroSecond);
                let (v, r) = getnum(value, fixed).ok_or_else(bad)?;
                if v > 59 {
                    let what = if matches!(std, Std::Minute | Std::ZeroMinute) {
                        "minute"
                    } else {
                        "second"
                    };
                    return Err(format!("parsing time {orig_value:?}: {what} out of range"));
                }
                value = r;
                if matches!(std, Std::Minute | Std::ZeroMinute) {
                    min = v;
                } else {
                    sec = v;
                    // A fractional second in the value but not in the layout is accepted.
                    let next_is_frac =
                        matches!(next_chunk(lay).1, Some((Std::Frac0(_) | Std::Frac9, _)));
                    let vb = value.as_bytes();
                    if !next_is_frac
                        && vb.len() >= 2
                        && matches!(vb[0], b'.' | b',')
                        && vb[1].is_ascii_digit()
                    {
                        let nd = 1 + vb[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                        nsec = parse_nanos(value, nd).ok_or_else(bad)?;
                        value = &value[nd..];
                    }
                }
            }
            Std::Pm(upper) => {
                let p = value.get(..2).ok_or_else(bad)?;
                let (a, pmtxt) = if upper { ("AM", "PM") } else { ("am", "pm") };
                if p == pmtxt {
                    pm = true;
                } else if p == a {
                    am = true;
                } else {
                    return Err(bad());
                }
                value = &value[2..];
            }
            Std::NumTz(z, colons, seconds, hours_only) => {
                if z && value.starts_with('Z') {
                    value = &value[1..];
                    offset = Some(0);
                    continue;
                }
                let (o, r) = parse_offset(value, colons, seconds, hours_only).ok_or_else(bad)?;
                offset = Some(o);
                value = r;
            }
            Std::Tz => {
                let nd = value.bytes().take_while(u8::is_ascii_uppercase).count();
                if nd < 3 {
                    return Err(bad());
                }
                offset = Some(0);
                value = &value[nd..];
            }
            Std::Frac0(digits) => {
                let nd = 1 + digits;
                if value.len() < nd {
                    return Err(bad());
                }
                nsec = parse_nanos(value, nd).ok_or_else(bad)?;
                value = &value[nd..];
            }
            Std::Frac9 => {
                let vb = value.as_bytes();
                if vb.len() < 2 || !matches!(vb[0], b'.' | b',') || !vb[1].is_ascii_digit() {
                    continue;
                }
                let nd = 1 + vb[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                nsec = parse_nanos(value, nd).ok_or_else(bad)?;
                value = &value[nd..];
            }
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let (mut m, mut d) = (1, yday);
        while m <= 12 && d > days_in(m, year) {
            d -= days_in(m, year);
            m += 1;
        }
        if m > 12 || d < 1 || (month >= 0 && month != m) || (day >= 0 && day != d) {
            return Err(format!(
                "parsing time {orig_value:?}: day-of-year out of range"
            ));
        }
        month = m;
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(format!("parsing time {orig_value:?}: day out of range"));
    }
    let off = offset.unwrap_or(0);
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    Ok(Time {
        secs: local - i64::from(off),
        nanos: nsec,
        offset: off,
    })
}

fn parse_offset(v: &str, colons: bool, seconds: bool, hours_only: bool) -> Option<(i32, &str)> {
    let b = v.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let two = |i: usize| -> Option<i32> {
        let d = b.get(i..i + 2)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| i32::from(d[0] - b'0') * 10 + i32::from(d[1] - b'0'))
    };
    let hh = two(1)?;
    if hours_only {
        return Some((sign * hh * 3600, &v[3..]));
    }
    let (mm, mut pos) = if colons {
        if b.get(3) != Some(&b':') {
            return None;
        }
        (two(4)?, 6)
    } else {
        (two(3)?, 5)
    };
    let mut ss = 0;
    if seconds {
        if colons {
            if b.get(pos) != Some(&b':') {
                return None;
            }
            pos += 1;
        }
        ss = two(pos)?;
        pos += 2;
    }
    if hh > 24 || mm > 60 || ss > 60 {
        return None;
    }
    Some((sign * (hh * 3600 + mm * 60 + ss), &v[pos..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

    #[test]
    fn parse_and_format() {
        let cases: &[(&str, &str, &str)] = &[
            (RFC3339, "2021-01-02T03:04:05Z", "2021-01-02T03:04:05Z"),
            (
                RFC3339,
                "2021-01-02T03:04:05.123+02:00",
                "2021-01-02T03:04:05+02:00",
            ),
            ("2006-01-02", "2023-02-28", "2023-02-28T00:00:00Z"),
            (
                "Jan 2, 2006 at 3:04pm (MST)",
                "Feb 3, 2013 at 7:54pm (PST)",
                "2013-02-03T19:54:00Z",
            ),
            (
                "02 Jan 06 15:04 -0700",
                "05 Mar 21 10:00 -0130",
                "2021-03-05T10:00:00-01:30",
            ),
            (
                "Mon, 02 Jan 2006 15:04:05 MST",
                "Tue, 10 Nov 2009 23:00:00 UTC",
                "2009-11-10T23:00:00Z",
            ),
            (
                "2006-01-02 15:04:05.000",
                "2020-02-29 12:00:00.500",
                "2020-02-29T12:00:00Z",
            ),
            ("3:04PM", "12:30AM", "0000-01-01T00:30:00Z"),
        ];
        for (layout, value, want) in cases {
            let t = parse(layout, value).unwrap_or_else(|e| panic!("{layout} {value}: {e}"));
            assert_eq!(t.rfc3339(), *want, "{layout} {value}");
        }
    }

    #[test]
    fn parse_errors() {
        for (layout, value) in [
            (RFC3339, "2021-13-02T03:04:05Z"),
            (RFC3339, "2021-02-30T03:04:05Z"),
            (RFC3339, "2021-01-02"),
            (RFC3339, "2021-01-02T03:04:05Zjunk"),
            ("2006-01-02", "21-01-02"),
        ] {
            assert!(parse(layout, value).is_err(), "{value}");
        }
        assert_eq!(
            parse("2006-01-02", "2021-01-0x").unwrap_err(),
            "parsing time \"2021-01-0x\" as \"2006-01-02\": cannot parse \"0x\" as \"02\""
        );
    }

    #[test]
    fn arithmetic() {
        let t = parse(RFC3339, "2021-01-02T03:04:05+01:00").unwrap();
        assert_eq!(
            t.add(3_600_000_000_000).rfc3339(),
            "2021-01-02T04:04:05+01:00"
        );
        assert_eq!(
            t.truncate(3_600_000_000_000).rfc3339(),
            "2021-01-02T03:00:00+01:00"
        );
        assert_eq!(
            t.truncate(86_400_000_000_000).rfc3339(),
            "2021-01-02T01:00:00+01:00"
        );
        let u = parse(RFC3339, "2021-01-02T02:04:05Z").unwrap();
        assert_eq!(u.sub(&t), 0);
        assert_eq!(t.fields().weekday, 6);
    }
}
