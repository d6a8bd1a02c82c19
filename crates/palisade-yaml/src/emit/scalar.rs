//! Writers for quoted and literal block scalars, escaping as libyaml does.

use std::fmt::Write as _;

use super::style::{is_break, is_printable};

/// `'text'`, with `'` doubled.
pub(crate) fn write_single(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
}

/// `"text"`, escaping what libyaml escapes: non-printable characters, line breaks, the BOM,
/// `"` and `\`.
pub(crate) fn write_double(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if is_printable(c) && !is_break(c) && c != '"' && c != '\\' {
            out.push(c);
            continue;
        }
        out.push('\\');
        let short = match c {
            '\0' => '0',
            '\u{7}' => 'a',
            '\u{8}' => 'b',
            '\t' => 't',
            '\n' => 'n',
            '\u{b}' => 'v',
            '\u{c}' => 'f',
            '\r' => 'r',
            '\u{1b}' => 'e',
            '"' => '"',
            '\\' => '\\',
            '\u{85}' => 'N',
            '\u{a0}' => '_',
            '\u{2028}' => 'L',
            '\u{2029}' => 'P',
            _ => {
                let v = u32::from(c);
                let _ = match v {
                    0..=0xff => write!(out, "x{v:02X}"),
                    0x100..=0xffff => write!(out, "u{v:04X}"),
                    _ => write!(out, "U{v:08X}"),
                };
                continue;
            }
        };
        out.push(short);
    }
    out.push('"');
}

/// A literal block (`|`, `|-`, `|+`, with an indentation indicator when the text starts
/// with a space or a line break), content lines at `indent`. Leaves the output at the end
/// of the last content line.
pub(crate) fn write_literal(out: &mut String, s: &str, indent: usize) {
    out.push('|');
    if s.starts_with([' ', '\n']) {
        out.push('2');
    }
    // Keep (`+`) when clipping would lose line breaks: several at the end, or nothing else.
    let trailing = s.len() - s.trim_end_matches('\n').len();
    if trailing == 0 {
        out.push('-');
    } else if trailing > 1 || trailing == s.len() {
        out.push('+');
    }
    // The final line break belongs to the block (written by the caller), the others are
    // written as empty lines.
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.extend(std::iter::repeat_n(' ', indent));
            out.push_str(line);
        }
    }
}
