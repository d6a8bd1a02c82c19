//! Timestamps and durations: constructors, accessors and formatting (UTC by default, as Kubernetes).

use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::eval::ops::{dur_in_range, ts_in_range};
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::Value;

pub(crate) fn register(reg: &mut Registry) {
    reg.global(
        "timestamp",
        vec![
            sig(&[T::String], T::Timestamp),
            sig(&[T::Timestamp], T::Timestamp),
            sig(&[T::Int], T::Timestamp),
        ],
        timestamp,
    );
    reg.global(
        "duration",
        vec![
            sig(&[T::String], T::Duration),
            sig(&[T::Duration], T::Duration),
        ],
        duration,
    );
    register_accessors(reg);
}

fn timestamp(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    match args {
        [Value::Timestamp(t)] => Ok(Value::Timestamp(*t)),
        [Value::Int(s)] => {
            let t =
                Timestamp::from_second(*s).map_err(|_| RtError::from("timestamp out of range"))?;
            ts_in_range(t).map(Value::Timestamp)
        }
        [Value::String(s)] => parse_timestamp(s).map(Value::Timestamp),
        _ => no_match(),
    }
}

/// Parses an RFC 3339 timestamp as Go's `time.RFC3339` layout accepts it.
pub(crate) fn parse_timestamp(s: &str) -> Result<Timestamp, RtError> {
    let ok_shape = s.len() >= 20 && s.as_bytes().get(10) == Some(&b'T');
    let t = ok_shape.then(|| s.parse::<Timestamp>().ok()).flatten();
    match t {
        Some(t) => ts_in_range(t),
        None => err(format!("cannot parse '{s}' as an RFC 3339 timestamp")),
    }
}

fn duration(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    match args {
        [Value::Duration(d)] => Ok(Value::Duration(*d)),
        [Value::String(s)] => parse_duration(s).map(Value::Duration),
        _ => no_match(),
    }
}

/// Parses a Go duration string such as `1h30m`, `-1.5s`, `300ms`, `0`.
pub(crate) fn parse_duration(s: &str) -> Result<SignedDuration, RtError> {
    let bad = || RtError::from(format!("cannot parse '{s}' as a duration"));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let nanos: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') || int.len() > 20 {
            return Err(bad());
        }
        let whole: i128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let mut part = whole.checked_mul(nanos).ok_or_else(bad)?;
        let mut scale = nanos;
        for d in frac.bytes().take(18) {
            scale /= 10;
            part += i128::from(d - b'0') * scale;
        }
        total = total.checked_add(part).ok_or_else(bad)?;
        rest = tail;
    }
    let total = if neg { -total } else { total };
    let secs = i64::try_from(total / 1_000_000_000).map_err(|_| bad())?;
    let d = SignedDuration::new(secs, (total % 1_000_000_000) as i32);
    dur_in_range(d)
}

/// RFC 3339 with the shortest fractional seconds, as Go's `time.RFC3339Nano`.
pub(crate) fn format_timestamp(t: Timestamp) -> std::string::String {
    let dt = t.to_zoned(TimeZone::UTC).datetime();
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let ns = dt.subsec_nanosecond();
    if ns != 0 {
        let frac = format!("{ns:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Seconds with the shortest decimals and an `s` suffix, as cel-go prints durations.
pub(crate) fn format_duration(d: SignedDuration) -> std::string::String {
    let secs = d.as_secs();
    let ns = d.subsec_nanos();
    if ns == 0 {
        return format!("{secs}s");
    }
    let sign = if secs < 0 || ns < 0 { "-" } else { "" };
    let frac = format!("{:09}", ns.unsigned_abs());
    format!(
        "{sign}{}.{}s",
        secs.unsigned_abs(),
        frac.trim_end_matches('0')
    )
}

/// Resolves a time zone name: IANA (`America/New_York`) or a fixed offset (`+05:30`, `-08:00`).
fn zone(name: &str) -> Result<TimeZone, RtError> {
    let (sign, rest) = match name.as_bytes().first() {
        Some(b'+') => (1, &name[1..]),
        Some(b'-') => (-1, &name[1..]),
        _ if name.contains(':') => (1, name),
        _ => return TimeZone::get(name).map_err(|_| bad_zone(name)),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let h: u8 = h.parse().map_err(|_| bad_zone(name))?;
    let m: u8 = m.parse().map_err(|_| bad_zone(name))?;
    if h > 23 || m > 59 {
        return Err(bad_zone(name));
    }
    let secs = sign * (i32::from(h) * 3600 + i32::from(m) * 60);
    Offset::from_seconds(secs)
        .map(TimeZone::fixed)
        .map_err(|_| bad_zone(name))
}

fn bad_zone(name: &str) -> RtError {
    RtError::from(format!("unknown time zone '{name}'"))
}

macro_rules! ts_accessor {
    ($name:ident, $f:expr, $dur:expr) => {
        fn $name(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
            let (t, tz) = match args {
                [Value::Timestamp(t)] => (*t, TimeZone::UTC),
                [Value::Timestamp(t), Value::String(z)] => (*t, zone(z)?),
                [Value::Duration(d)] => {
                    let f: Option<fn(SignedDuration) -> i64> = $dur;
                    return match f {
                        Some(f) => Ok(Value::Int(f(*d))),
                        None => no_match(),
                    };
                }
                _ => return no_match(),
            };
            let z = t.to_zoned(tz);
            let f: fn(&jiff::Zoned) -> i64 = $f;
            Ok(Value::Int(f(&z)))
        }
    };
}

ts_accessor!(full_year, |z| i64::from(z.year()), None);
ts_accessor!(month, |z| i64::from(z.month()) - 1, None);
ts_accessor!(date, |z| i64::from(z.day()), None);
ts_accessor!(day_of_month, |z| i64::from(z.day()) - 1, None);
ts_accessor!(
    day_of_week,
    |z| i64::from(z.weekday().to_sunday_zero_offset()),
    None
);
ts_accessor!(day_of_year, |z| i64::from(z.day_of_year()) - 1, None);
ts_accessor!(hours, |z| i64::from(z.hour()), Some(|d| d.as_secs() / 3600));
ts_accessor!(
    minutes,
    |z| i64::from(z.minute()),
    Some(|d| d.as_secs() / 60)
);
ts_accessor!(seconds, |z| i64::from(z.second()), Some(|d| d.as_secs()));
ts_accessor!(
    millis,
    |z| i64::from(z.millisecond()),
    Some(|d| d.as_millis() as i64)
);

/// Registers the accessors; the four time-of-day ones also apply to durations (as totals).
fn register_accessors(reg: &mut Registry) {
    let table: [(&str, crate::registry::Builtin); 10] = [
        ("getFullYear", full_year),
        ("getMonth", month),
        ("getDate", date),
        ("getDayOfMonth", day_of_month),
        ("getDayOfWeek", day_of_week),
        ("getDayOfYear", day_of_year),
        ("getHours", hours),
        ("getMinutes", minutes),
        ("getSeconds", seconds),
        ("getMilliseconds", millis),
    ];
    for (i, (name, f)) in table.into_iter().enumerate() {
        let mut sigs = vec![
            sig(&[T::Timestamp], T::Int),
            sig(&[T::Timestamp, T::String], T::Int),
        ];
        if i >= 6 {
            sigs.push(sig(&[T::Duration], T::Int));
        }
        reg.method(name, sigs, f);
    }
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn timestamps() {
        assert_true(&[
            "timestamp('2023-05-17T10:20:30Z').getFullYear() == 2023",
            "timestamp('2023-05-17T10:20:30Z').getMonth() == 4",
            "timestamp('2023-05-17T10:20:30Z').getDate() == 17",
            "timestamp('2023-05-17T10:20:30Z').getDayOfMonth() == 16",
            "timestamp('2023-05-17T10:20:30Z').getDayOfWeek() == 3",
            "timestamp('2023-01-01T00:00:00Z').getDayOfYear() == 0",
            "timestamp('2023-05-17T10:20:30.250Z').getMilliseconds() == 250",
            "timestamp('2023-05-17T10:20:30Z').getHours('America/New_York') == 6",
            "timestamp('2023-05-17T10:20:30Z').getHours('+02:00') == 12",
            "timestamp('2023-05-17T10:20:30Z').getHours('-08:30') == 1",
            "timestamp('2023-05-17T10:20:30Z').getHours('02:00') == 12",
            "timestamp('2023-05-17T10:20:30+02:00') == timestamp('2023-05-17T08:20:30Z')",
            "string(timestamp('2023-05-17T10:20:30.500Z')) == '2023-05-17T10:20:30.5Z'",
            "timestamp('2023-01-01T00:00:00Z') + duration('1h') == timestamp('2023-01-01T01:00:00Z')",
            "timestamp('2023-01-02T00:00:00Z') - timestamp('2023-01-01T00:00:00Z') == duration('24h')",
            "timestamp('2023-01-01T00:00:00Z') < timestamp('2023-01-01T00:00:01Z')",
            "timestamp(0) == timestamp('1970-01-01T00:00:00Z')",
        ]);
        assert_err(&[
            ("timestamp('2023-05-17')", "RFC 3339"),
            (
                "timestamp('9999-12-30T00:00:00Z') + duration('48h')",
                "out of range",
            ),
            (
                "timestamp('2023-05-17T10:20:30Z').getHours('Mars/Base')",
                "time zone",
            ),
            ("timestamp(0).getHours('+99999999:00')", "time zone"),
            ("timestamp(0).getHours('-25:00')", "time zone"),
        ]);
    }

    #[test]
    fn durations() {
        assert_true(&[
            "duration('1h30m') == duration('90m')",
            "duration('1.5s') == duration('1500ms')",
            "duration('-2m').getSeconds() == -120",
            "duration('90m').getHours() == 1",
            "duration('90m').getMinutes() == 90",
            "duration('1500ms').getMilliseconds() == 1500",
            "string(duration('1h')) == '3600s'",
            "string(duration('1.5s')) == '1.5s'",
            "duration('1us') + duration('1ns') == duration('1001ns')",
            "duration('0') == duration('0s')",
            "-duration('1s') < duration('0s')",
        ]);
        assert_err(&[
            ("duration('1d')", "duration"),
            ("duration('')", "duration"),
            ("duration('h')", "duration"),
        ]);
    }
}
