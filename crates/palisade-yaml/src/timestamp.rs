//! The timestamp shapes go-yaml v2 recognises (`2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00`,
//! the same with `t`, and `2006-1-2 15:4:5.999999999`). Untyped decoding keeps them as
//! strings, but the emitter must quote them and `!!timestamp` must validate them.

/// A cursor over ASCII bytes.
struct Cursor<'a> {
    b: &'a [u8],
}

impl Cursor<'_> {
    /// Reads exactly `n` digits.
    fn fixed(&mut self, n: usize) -> Option<u32> {
        let digits = self.b.get(..n)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.b = &self.b[n..];
        Some(
            digits
                .iter()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0')),
        )
    }

    /// Reads one or two digits, as Go's layout elements `1`, `2`, `15`, `4` and `5` do.
    fn short(&mut self) -> Option<u32> {
        let n = self
            .b
            .iter()
            .take(2)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if n == 0 { None } else { self.fixed(n) }
    }

    /// Consumes `c` if it is next.
    fn eat(&mut self, c: u8) -> Option<()> {
        let (first, rest) = self.b.split_first()?;
        if *first != c {
            return None;
        }
        self.b = rest;
        Some(())
    }
}

/// Days in a month of the proleptic Gregorian calendar.
fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Whether `s` is a timestamp go-yaml v2 would resolve as `!!timestamp`.
pub(crate) fn is_timestamp(s: &str) -> bool {
    let mut c = Cursor { b: s.as_bytes() };
    date(&mut c).is_some() && (c.b.is_empty() || time(&mut c).is_some())
}

fn date(c: &mut Cursor<'_>) -> Option<()> {
    let year = c.fixed(4)?;
    c.eat(b'-')?;
    let month = c.short().filter(|m| (1..=12).contains(m))?;
    c.eat(b'-')?;
    c.short()
        .filter(|d| (1..=days_in(month, year)).contains(d))?;
    Some(())
}

fn time(c: &mut Cursor<'_>) -> Option<()> {
    let sep = *c.b.first()?;
    c.b = &c.b[1..];
    c.short().filter(|h| *h < 24)?;
    c.eat(b':')?;
    c.short().filter(|m| *m < 60)?;
    c.eat(b':')?;
    c.short().filter(|s| *s < 60)?;
    // Go accepts a comma as the fraction separator too.
    if c.eat(b'.').or_else(|| c.eat(b',')).is_some() {
        let n = c.b.iter().take_while(|d| d.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        c.b = &c.b[n..];
    }
    match sep {
        b' ' => c.b.is_empty().then_some(()),
        b'T' | b't' => zone(c),
        _ => None,
    }
}

/// `Z` or `±hh:mm`, and nothing after.
fn zone(c: &mut Cursor<'_>) -> Option<()> {
    if c.eat(b'Z').is_none() {
        c.eat(b'+').or_else(|| c.eat(b'-'))?;
        c.fixed(2).filter(|h| *h < 24)?;
        c.eat(b':')?;
        c.fixed(2).filter(|m| *m < 60)?;
    }
    c.b.is_empty().then_some(())
}

#[cfg(test)]
mod tests {
    use super::is_timestamp;

    #[test]
    fn timestamp_shapes() {
        for s in [
            "2001-12-14",
            "2001-1-2",
            "2001-12-14T21:59:43.10Z",
            "2001-12-14t21:59:43-05:00",
            "2001-12-14 21:59:43.10",
            "2024-02-29",
            "2001-12-14T1:2:3Z",
        ] {
            assert!(is_timestamp(s), "{s}");
        }
        for s in [
            "2001-13-14",
            "2023-02-29",
            "01-12-14",
            "2001-12-14 21:59:43.10 -5",
            "2001-12-14T21:59:43",
            "2001-12-14x",
            "20011-12-14",
            "2001-12-14T25:00:00Z",
        ] {
            assert!(!is_timestamp(s), "{s}");
        }
    }
}
