//! Colour for human output: on only when stdout is a terminal, `--remove-color` is absent and
//! `NO_COLOR` is unset. Machine formats (JSON, YAML, JUnit, markdown) never use it.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Color, Style as Ansi};

/// What a piece of text means, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// No colour.
    Plain,
    /// Policy, rule and resource names (bold cyan, as Kyverno prints them).
    Name,
    /// A passing result.
    Pass,
    /// A failing result.
    Fail,
    /// A warning.
    Warn,
    /// An error.
    Error,
    /// A skipped rule.
    Skip,
    /// A neutral remark such as `Excluded` (bold yellow).
    Notice,
    /// Table headers.
    Header,
}

/// Whether to colour, decided once per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    /// No colour at all.
    pub fn plain() -> Style {
        Style { color: false }
    }

    /// Colour when stdout is a terminal, unless `remove_color` or `NO_COLOR` (non-empty) say no.
    pub fn detect(remove_color: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: wants_color(remove_color, no_color, std::io::stdout().is_terminal()),
        }
    }

    /// Paints `text`; returns it unchanged without colour.
    pub fn paint(&self, paint: Paint, text: &str) -> String {
        match (self.color, ansi(paint)) {
            (true, Some(style)) => format!("{style}{text}{style:#}"),
            _ => text.to_string(),
        }
    }
}

fn wants_color(remove_color: bool, no_color: bool, stdout_tty: bool) -> bool {
    !remove_color && !no_color && stdout_tty
}

fn ansi(paint: Paint) -> Option<Ansi> {
    let fg = |c: AnsiColor| Some(Ansi::new().bold().fg_color(Some(Color::Ansi(c))));
    match paint {
        Paint::Plain => None,
        Paint::Name | Paint::Skip => fg(AnsiColor::Cyan),
        Paint::Pass => fg(AnsiColor::Green),
        Paint::Fail | Paint::Error => fg(AnsiColor::Red),
        Paint::Warn | Paint::Notice => fg(AnsiColor::Yellow),
        Paint::Header => Some(
            Ansi::new()
                .fg_color(Some(Color::Ansi(AnsiColor::Green)))
                .bg_color(Some(Color::Ansi(AnsiColor::Black))),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_opt_outs() {
        for (remove, no_color, tty, want) in [
            (false, false, true, true),
            (true, false, true, false),
            (false, true, true, false),
            (false, false, false, false),
        ] {
            assert_eq!(wants_color(remove, no_color, tty), want);
        }
    }

    #[test]
    fn plain_style_leaves_text_alone() {
        assert_eq!(Style::plain().paint(Paint::Fail, "Fail"), "Fail");
    }

    #[test]
    fn coloured_text_is_wrapped_in_escape_codes() {
        let s = Style { color: true }.paint(Paint::Pass, "Pass");
        assert!(s.starts_with("\u{1b}[") && s.contains("Pass") && s.ends_with("\u{1b}[0m"));
        assert_eq!(Style { color: true }.paint(Paint::Plain, "x"), "x");
    }
}
