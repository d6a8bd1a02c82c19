//! Writers for plain, quoted and literal block scalars, escaping and folding long lines as
//! libyaml does.

use std::fmt::Write as _;

use super::style::{is_break, is_printable};

/// libyaml's preferred line width: past this column, a space may become a line break.
const BEST_WIDTH: usize = 80;

/// Output with the current column (in characters), for folding long scalars.
struct Line<'a> {
    out: &'a mut String,
    col: usize,
    /// Indentation of continuation lines; `None` where lines must not break (simple keys).
    fold: Option<usize>,
}

impl<'a> Line<'a> {
    fn new(out: &'a mut String, fold: Option<usize>) -> Self {
        let start = out.rfind('\n').map_or(0, |i| i + 1);
        let col = if fold.is_some() {
            out[start..].chars().count()
        } else {
            0
        };
        Self { out, col, fold }
    }

    fn push(&mut self, c: char) {
        self.out.push(c);
        self.col += 1;
    }

    /// Breaks the line instead of writing a space, if the line is already long enough.
    fn try_fold(&mut self) -> bool {
        match self.fold {
            Some(indent) if self.col > BEST_WIDTH => {
                self.out.push('\n');
                self.out.extend(std::iter::repeat_n(' ', indent));
                self.col = indent;
                true
            }
            _ => false,
        }
    }
}

/// Plain text, folded at single spaces past the preferred width.
pub(crate) fn write_plain(out: &mut String, s: &str, fold: Option<usize>) {
    if fold.is_none() || !s.contains(' ') {
        out.push_str(s);
        return;
    }
    let mut line = Line::new(out, fold);
    let mut spaces = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let folded = c == ' ' && !spaces && chars.peek() != Some(&' ') && line.try_fold();
        if !folded {
            line.push(c);
        }
        spaces = c == ' ';
    }
}

/// `'text'`, with `'` doubled, folded at single inner spaces past the preferred width.
pub(crate) fn write_single(out: &mut String, s: &str, fold: Option<usize>) {
    let mut line = Line::new(out, fold);
    line.push('\'');
    let mut spaces = false;
    let mut chars = s.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        let inner = i > 0 && next.is_some();
        let folded = c == ' ' && !spaces && inner && next != Some(' ') && line.try_fold();
        if !folded {
            if c == '\'' {
                line.push('\'');
            }
            line.push(c);
        }
        spaces = c == ' ';
    }
    line.push('\'');
}

/// `"text"`, escaping what libyaml escapes (non-printable characters, line breaks, the BOM,
/// `"` and `\`) and folded at inner spaces past the preferred width (a following space is
/// then escaped so that it survives).
pub(crate) fn write_double(out: &mut String, s: &str, fold: Option<usize>) {
    let mut line = Line::new(out, fold);
    line.push('"');
    let mut spaces = false;
    let mut chars = s.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        if c == ' ' {
            if !spaces && i > 0 && next.is_some() && line.try_fold() {
                if next == Some(' ') {
                    line.push('\\');
                }
            } else {
                line.push(c);
            }
            spaces = true;
            continue;
        }
        spaces = false;
        write_double_char(&mut line, c);
    }
    line.push('"');
}

/// One character of a double-quoted scalar, escaped if needed.
fn write_double_char(line: &mut Line<'_>, c: char) {
    if is_printable(c) && !is_break(c) && c != '"' && c != '\\' {
        line.push(c);
        return;
    }
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
        _ => '\0',
    };
    // Escapes are ASCII, so their length in bytes is their width in columns.
    let before = line.out.len();
    line.out.push('\\');
    if short != '\0' || c == '\0' {
        line.out.push(short);
    } else {
        let v = u32::from(c);
        let _ = match v {
            0..=0xff => write!(line.out, "x{v:02X}"),
            0x100..=0xffff => write!(line.out, "u{v:04X}"),
            _ => write!(line.out, "U{v:08X}"),
        };
    }
    line.col += line.out.len() - before;
}

/// A literal block (`|`, `|-`, `|+`, with an indentation indicator when the text starts
/// with a space or a line break), content lines at `indent`. Leaves the output at the end
/// of the last content line.
pub(crate) fn write_literal(out: &mut String, s: &str, indent: usize) {
    out.push('|');
    // libyaml adds the indicator whenever the text starts with a space or a break; it is
    // left out for text made only of breaks, where it means nothing and where
    // saphyr-parser rejects a following `---` at the root.
    if s.starts_with([' ', '\n']) && !s.bytes().all(|b| b == b'\n') {
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
