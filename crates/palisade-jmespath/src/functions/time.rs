//! Kyverno's time functions. Times are RFC 3339 unless a Go layout is given; "now" comes from
//! the [`Context`](crate::Context) clock so results are reproducible in tests.

use palisade_primitives::duration::{format_duration, parse_duration};
use serde_json::Value;

use super::gotime::{self, Time};
use super::{Arg, Category, FnDef, Group, Ty, p, s};
use crate::error::Error;
use crate::interp::Interp;

const C: Category = Category::Kyverno(Group::Time);
const STR: &[Ty] = &[Ty::String];
const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

macro_rules! def {
    ($name:literal, $sig:literal, $doc:literal, [$($param:expr),*], $imp:expr) => {
        FnDef { name: $name, sig: $sig, doc: $doc, cat: C, params: &[$($param),*], imp: $imp }
    };
}

pub(crate) static DEFS: &[FnDef] = &[
    def!(
        "time_since",
        "time_since(string, string, string) string",
        "Duration from start to end (end \"\" = now); layout \"\" = RFC 3339.",
        [p(STR), p(STR), p(STR)],
        time_since
    ),
    def!(
        "time_now",
        "time_now() string",
        "Current local time in RFC 3339.",
        [],
        |_, i| Ok(Value::String(now(i, false).rfc3339()))
    ),
    def!(
        "time_now_utc",
        "time_now_utc() string",
        "Current UTC time in RFC 3339.",
        [],
        |_, i| Ok(Value::String(now(i, true).rfc3339()))
    ),
    def!(
        "time_add",
        "time_add(string, string) string",
        "Adds a Go duration to an RFC 3339 time.",
        [p(STR), p(STR)],
        |a, _| {
            let t = time_arg(a, 0, "time_add")?;
            Ok(Value::String(
                t.add(duration_arg(a, 1, "time_add")?).rfc3339(),
            ))
        }
    ),
    def!(
        "time_parse",
        "time_parse(string, string) string",
        "Parses a time with a Go layout (or an integer layout for Unix seconds) into RFC 3339.",
        [p(STR), p(STR)],
        time_parse
    ),
    def!(
        "time_utc",
        "time_utc(string) string",
        "Converts an RFC 3339 time to UTC.",
        [p(STR)],
        |a, _| {
            let t = time_arg(a, 0, "time_utc")?;
            Ok(Value::String(Time { offset: 0, ..t }.rfc3339()))
        }
    ),
    def!(
        "time_diff",
        "time_diff(string, string) string",
        "Duration from the first RFC 3339 time to the second.",
        [p(STR), p(STR)],
        |a, _| {
            let (t1, t2) = (time_arg(a, 0, "time_diff")?, time_arg(a, 1, "time_diff")?);
            Ok(Value::String(format_duration(t2.sub(&t1))))
        }
    ),
    def!(
        "time_before",
        "time_before(string, string) boolean",
        "True if the first time is before the second.",
        [p(STR), p(STR)],
        |a, _| {
            Ok(Value::Bool(
                time_arg(a, 0, "time_before")?.unix_nanos()
                    < time_arg(a, 1, "time_before")?.unix_nanos(),
            ))
        }
    ),
    def!(
        "time_after",
        "time_after(string, string) boolean",
        "True if the first time is after the second.",
        [p(STR), p(STR)],
        |a, _| {
            Ok(Value::Bool(
                time_arg(a, 0, "time_after")?.unix_nanos()
                    > time_arg(a, 1, "time_after")?.unix_nanos(),
            ))
        }
    ),
    def!(
        "time_between",
        "time_between(string, string, string) boolean",
        "True if the time is strictly between start and end.",
        [p(STR), p(STR), p(STR)],
        |a, _| {
            let t = time_arg(a, 0, "time_between")?.unix_nanos();
            let (start, end) = (
                time_arg(a, 1, "time_between")?.unix_nanos(),
                time_arg(a, 2, "time_between")?.unix_nanos(),
            );
            Ok(Value::Bool(t > start && t < end))
        }
    ),
    def!(
        "time_truncate",
        "time_truncate(string, string) string",
        "Rounds the time down to a multiple of the duration.",
        [p(STR), p(STR)],
        |a, _| {
            let t = time_arg(a, 0, "time_truncate")?;
            Ok(Value::String(
                t.truncate(duration_arg(a, 1, "time_truncate")?).rfc3339(),
            ))
        }
    ),
    def!(
        "time_to_cron",
        "time_to_cron(string) string",
        "Cron expression (minute hour day month weekday) for an RFC 3339 time.",
        [p(STR)],
        |a, _| {
            let f = time_arg(a, 0, "time_to_cron")?.fields();
            Ok(Value::String(format!(
                "{} {} {} {} {}",
                f.minute, f.hour, f.day, f.month, f.weekday
            )))
        }
    ),
];

fn now(interp: &Interp<'_>, utc: bool) -> Time {
    let i = interp.ctx.now();
    Time {
        secs: i.unix_seconds,
        nanos: i.nanos,
        offset: if utc { 0 } else { i.offset_seconds },
    }
}

fn time_arg(a: &[Arg<'_>], i: usize, name: &str) -> Result<Time, Error> {
    gotime::parse(RFC3339, s(a, i)).map_err(|e| Error::function(name, e))
}

fn duration_arg(a: &[Arg<'_>], i: usize, name: &str) -> Result<i64, Error> {
    parse_duration(s(a, i)).map_err(|e| Error::function(name, e))
}

fn time_since(a: &[Arg<'_>], interp: &mut Interp<'_>) -> Result<Value, Error> {
    let layout = if s(a, 0).is_empty() { RFC3339 } else { s(a, 0) };
    let t1 = gotime::parse(layout, s(a, 1)).map_err(|e| Error::function("time_since", e))?;
    let t2 = if s(a, 2).is_empty() {
        now(interp, false)
    } else {
        gotime::parse(layout, s(a, 2)).map_err(|e| Error::function("time_since", e))?
    };
    Ok(Value::String(format_duration(t2.sub(&t1))))
}

fn time_parse(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let (layout, ts) = (s(a, 0), s(a, 1));
    if layout.parse::<i64>().is_ok() {
        let secs: i64 = ts.parse().map_err(|_| {
            Error::function(
                "time_parse",
                format!("strconv.ParseInt: parsing {ts:?}: invalid syntax"),
            )
        })?;
        return Ok(Value::String(
            Time {
                secs,
                nanos: 0,
                offset: 0,
            }
            .rfc3339(),
        ));
    }
    let t = gotime::parse(layout, ts).map_err(|e| Error::function("time_parse", e))?;
    Ok(Value::String(t.rfc3339()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::testutil::{check, check_err};

    #[test]
    fn table() {
        // The test clock reads 2021-01-02T03:04:05Z.
        check(&[
            ("time_now()", json!("2021-01-02T03:04:05Z")),
            ("time_now_utc()", json!("2021-01-02T03:04:05Z")),
            (
                "time_since('', '2021-01-02T02:00:00Z', '')",
                json!("1h4m5s"),
            ),
            (
                "time_since('2006-01-02', '2021-01-01', '2021-01-03')",
                json!("48h0m0s"),
            ),
            (
                "time_add('2021-01-01T00:00:00Z', '1h30m')",
                json!("2021-01-01T01:30:00Z"),
            ),
            (
                "time_parse('2006-01-02', '2021-05-06')",
                json!("2021-05-06T00:00:00Z"),
            ),
            (
                "time_parse('1136239445', '1609459200')",
                json!("2021-01-01T00:00:00Z"),
            ),
            (
                "time_utc('2021-01-01T05:00:00+05:00')",
                json!("2021-01-01T00:00:00Z"),
            ),
            (
                "time_diff('2021-01-01T00:00:00Z', '2021-01-01T00:00:01Z')",
                json!("1s"),
            ),
            (
                "time_before('2021-01-01T00:00:00Z', '2021-01-01T00:00:01Z')",
                json!(true),
            ),
            (
                "time_after('2021-01-01T00:00:00Z', '2021-01-01T00:00:01Z')",
                json!(false),
            ),
            (
                "time_between('2021-01-01T00:00:01Z', '2021-01-01T00:00:00Z', '2021-01-01T00:00:02Z')",
                json!(true),
            ),
            (
                "time_between('2021-01-01T00:00:00Z', '2021-01-01T00:00:00Z', '2021-01-01T00:00:02Z')",
                json!(false),
            ),
            (
                "time_truncate('2021-01-01T10:37:00Z', '1h')",
                json!("2021-01-01T10:00:00Z"),
            ),
            ("time_to_cron('2021-01-02T03:04:05Z')", json!("4 3 2 1 6")),
            ("time_now(`1`)", json!("2021-01-02T03:04:05Z")),
        ]);
        check_err(&[
            ("time_add('2021-01-01', '1h')", "time_add"),
            (
                "time_add('2021-01-01T00:00:00Z', 'x')",
                "time: invalid duration",
            ),
            ("time_parse('2006-01', 'x')", "cannot parse"),
            // An integer layout means Unix seconds, as in Kyverno.
            ("time_parse('2006', 'x')", "invalid syntax"),
            ("time_parse('0', 'x')", "invalid syntax"),
        ]);
    }
}
