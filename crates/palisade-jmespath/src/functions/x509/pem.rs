//! Go's `encoding/pem.Decode`, for the first block only: where a block may start, optional
//! headers, the matching END line, and lenient base64 (line breaks, spaces and tabs are
//! skipped; padding is required; non-zero trailing bits are accepted).

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub kind: String,
    pub bytes: Vec<u8>,
}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"\n-----END ";
const DASHES: &[u8] = b"-----";

/// Go's `encoding/base64.StdEncoding`, which ignores `\r` and `\n` (stripped beforehand).
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let Some((last, rest)) = s.split_last() {
        if *last != b' ' && *last != b'\t' {
            break;
        }
        s = rest;
    }
    s
}

/// Go's `getLine`: the line without its ending and trailing blanks, the rest, and the
/// number of bytes consumed.
fn get_line(data: &[u8]) -> (&[u8], &[u8], usize) {
    let (line_end, next) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (
            if i > 0 && data.get(i - 1) == Some(&b'\r') {
                i - 1
            } else {
                i
            },
            i + 1,
        ),
        None => (data.len(), data.len()),
    };
    let line = trim_end(data.get(..line_end).unwrap_or_default());
    (line, data.get(next..).unwrap_or_default(), next)
}

/// What to do after trying one BEGIN/END pair (Go's `continue` or giving up).
enum Outcome {
    Found(Block),
    Skip,
    Stop,
}

/// Tries the block whose `-----BEGIN ` ends where `rest` starts and whose END marker
/// (`\n-----END `) is at offset `end` of `rest`. Offsets follow Go's arithmetic, which may
/// go negative when the type line or headers run into the END marker.
fn block_at(rest: &[u8], end: usize) -> Outcome {
    let (type_line, mut body, consumed) = get_line(rest);
    let mut end = end as isize - consumed as isize;
    let Some(kind) = type_line.strip_suffix(DASHES) else {
        return Outcome::Skip;
    };
    let mut headers = false;
    loop {
        if body.is_empty() {
            return Outcome::Stop;
        }
        let (line, next, used) = get_line(body);
        if !line.contains(&b':') {
            break;
        }
        headers = true;
        body = next;
        end -= used as isize;
    }
    let trailer_at = end + END.len() as isize;
    if headers && end < 0 {
        return if trailer_at < 0 {
            Outcome::Stop
        } else {
            Outcome::Skip
        };
    }
    let trailer = usize::try_from(trailer_at).ok().and_then(|t| body.get(t..));
    let Some(trailer) = trailer.filter(|t| t.len() >= kind.len() + DASHES.len()) else {
        return Outcome::Skip;
    };
    let (end_line, after) = trailer.split_at(kind.len() + DASHES.len());
    if !end_line.starts_with(kind) || !end_line.ends_with(DASHES) || !get_line(after).0.is_empty() {
        return Outcome::Skip;
    }
    let data = usize::try_from(end).map_or(&[][..], |e| body.get(..e).unwrap_or_default());
    let b64: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .collect();
    match GO_STD.decode(b64) {
        Ok(bytes) => Outcome::Found(Block {
            kind: String::from_utf8_lossy(kind).into_owned(),
            bytes,
        }),
        Err(_) => Outcome::Skip,
    }
}

/// The first PEM block in `data`, if any (Go's `pem.Decode`).
pub(crate) fn decode(data: &[u8]) -> Option<Block> {
    let mut rest = data;
    loop {
        let end = find(rest, END)?;
        let next = rest.get(end + END.len()..)?;
        if let Some(b) = rfind(rest.get(..end)?, BEGIN) {
            let at_line_start = b == 0 || rest.get(b - 1) == Some(&b'\n');
            let start = b + BEGIN.len();
            if at_line_start {
                match block_at(rest.get(start..)?, end - start) {
                    Outcome::Found(block) => return Some(block),
                    Outcome::Stop => return None,
                    Outcome::Skip => {}
                }
            }
        }
        rest = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input and the expected block type and bytes.
    type Case<'a> = (&'a str, Option<(&'a str, &'a [u8])>);

    fn kind_and_bytes(input: &str) -> Option<(String, Vec<u8>)> {
        decode(input.as_bytes()).map(|b| (b.kind, b.bytes))
    }

    #[test]
    fn decodes_like_go() {
        let cases: &[Case<'_>] = &[
            (
                "-----BEGIN X-----\naGk=\n-----END X-----\n",
                Some(("X", b"hi")),
            ),
            (
                "junk\n-----BEGIN A B-----\r\naG\tk=  \r\n-----END A B-----",
                Some(("A B", b"hi")),
            ),
            (
                "-----BEGIN X-----\nK: v\n\naGk=\n-----END X-----",
                Some(("X", b"hi")),
            ),
            ("-----BEGIN X-----\n-----END X-----", Some(("X", b""))),
            ("  -----BEGIN X-----\naGk=\n-----END X-----", None),
            ("-----BEGIN X-----\naGk=\n-----END Y-----", None),
            ("-----BEGIN X-----\naGk\n-----END X-----", None),
            ("-----BEGIN X-----\naGk=\n-----END X----- tail", None),
            (
                "-----BEGIN X-----\naGk=\n-----END X-----  \nmore",
                Some(("X", b"hi")),
            ),
            (
                "-----BEGIN X-----\n!!!!\n-----END X-----\n-----BEGIN Y-----\naGk=\n-----END Y-----",
                Some(("Y", b"hi")),
            ),
            ("no pem here", None),
            ("", None),
        ];
        for (input, want) in cases {
            let want = want.map(|(k, b)| (k.to_string(), b.to_vec()));
            assert_eq!(kind_and_bytes(input), want, "{input:?}");
        }
    }
}
