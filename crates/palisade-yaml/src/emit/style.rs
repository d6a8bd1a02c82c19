//! Choosing how a string is written, following go-yaml v2's encoder (`stringv`) and
//! libyaml's scalar analysis, so output looks like kubectl's.

use crate::resolve::plain_would_change;

/// How a string scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// What libyaml's `yaml_emitter_analyze_scalar` finds out about a string, for block context.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    pub(crate) multiline: bool,
    plain_allowed: bool,
    single_allowed: bool,
    block_allowed: bool,
}

/// Characters libyaml writes unescaped (with unicode output on).
pub(crate) fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

pub(crate) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Port of libyaml's analysis (flow-context flags dropped: we only write block context).
pub(crate) fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            plain_allowed: true,
            single_allowed: true,
            block_allowed: false,
        };
    }
    let mut indicators = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut trailing_space, mut break_space, mut space_break) =
        (false, false, false, false);
    let (mut leading_break, mut trailing_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    let mut chars = s.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let followed_by_ws = next.is_none_or(is_blank);
        let last = next.is_none();
        indicators |= match c {
            '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
            | '@' | '`'
                if first =>
            {
                true
            }
            '?' | ':' | '-' if first => followed_by_ws,
            ':' => followed_by_ws,
            '#' => preceded_by_ws,
            _ => false,
        };
        special |= !is_printable(c);
        if c == ' ' {
            leading_space |= first;
            trailing_space |= last;
            break_space |= prev_break;
            (prev_space, prev_break) = (true, false);
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= last;
            space_break |= prev_space;
            (prev_space, prev_break) = (false, true);
        } else {
            (prev_space, prev_break) = (false, false);
        }
        preceded_by_ws = is_blank(c) || is_break(c);
        first = false;
    }
    let edge = leading_space || leading_break || trailing_space || trailing_break;
    Analysis {
        multiline: line_breaks,
        plain_allowed: !(edge
            || break_space
            || space_break
            || special
            || line_breaks
            || indicators),
        single_allowed: !(break_space || space_break || special),
        block_allowed: !(trailing_space || space_break || special),
    }
}

/// The style go-yaml v2 would pick for `s` in block context: literal for multi-line text,
/// double quotes for text that would otherwise read back as another type, else plain when
/// the analysis allows it, single quotes when those can hold it, double quotes otherwise.
///
/// One deliberate difference: text with NEL, LS or PS (line breaks in YAML 1.1 but not in
/// 1.2) is always double-quoted with escapes, so it reads back the same in both.
pub(crate) fn choose(s: &str, a: &Analysis) -> Style {
    let odd_breaks = s.contains(['\u{85}', '\u{2028}', '\u{2029}']);
    if s.contains('\n') {
        return if a.block_allowed && !odd_breaks {
            Style::Literal
        } else {
            Style::Double
        };
    }
    if plain_would_change(s) || odd_breaks {
        return Style::Double;
    }
    if a.plain_allowed {
        Style::Plain
    } else if a.single_allowed {
        Style::Single
    } else {
        Style::Double
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(s: &str) -> Style {
        choose(s, &analyze(s))
    }

    #[test]
    fn styles_like_go_yaml_v2() {
        use Style::*;
        let cases: &[(&str, Style)] = &[
            ("hello", Plain),
            ("hello world", Plain),
            ("yes", Double),
            ("On", Double),
            ("1", Double),
            ("1.5", Double),
            ("0x1F", Double),
            ("1_000", Double),
            ("true", Double),
            ("null", Double),
            ("~", Double),
            ("", Double),
            ("2001-12-14", Double),
            ("1:30", Double),
            ("<<", Double),
            ("yEs", Plain),
            (" lead", Single),
            ("trail ", Single),
            ("*", Single),
            ("&a", Single),
            ("!tag", Single),
            ("|", Single),
            (">", Single),
            ("%x", Single),
            ("@x", Single),
            ("- item", Single),
            ("-", Single),
            ("-x", Plain),
            ("a: b", Single),
            ("a:", Single),
            ("a:b", Plain),
            ("a #b", Single),
            ("a#b", Plain),
            ("---", Single),
            ("...x", Single),
            ("?x", Plain),
            ("? x", Single),
            ("it's", Plain),
            ("'q'", Single),
            ("\"q\"", Single),
            ("a\tb", Double),
            ("a\nb", Literal),
            ("a\nb\n", Literal),
            ("a \nb", Double),
            ("a\nb ", Double),
            ("\u{1F600}", Double),
            ("é", Plain),
            ("a\u{2028}b", Double),
            ("\u{feff}x", Double),
            ("1e400", Plain),
            ("{a}", Single),
            ("[a]", Single),
            ("a[b]", Plain),
        ];
        for (s, want) in cases {
            assert_eq!(style(s), *want, "{s:?}");
        }
    }
}
