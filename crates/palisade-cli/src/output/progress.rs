//! A progress bar on stderr for long runs, shown only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Fewer items than this finish too quickly for a bar to help.
pub const MIN_ITEMS: u64 = 20;

/// A progress bar, or nothing when one would not help.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar over `len` items labelled `what`, if stderr is a terminal and the run is long.
    pub fn new(len: u64, what: &str) -> Progress {
        if !wanted(std::io::stderr().is_terminal(), len) {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        // The template is a constant; if indicatif ever rejected it the bar just stays plain.
        if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_string());
        Progress(Some(bar))
    }

    /// One more item done.
    pub fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    /// Runs `f` (which writes to stderr) with the bar hidden, so the two do not interleave.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar before results are printed.
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

fn wanted(stderr_tty: bool, len: u64) -> bool {
    stderr_tty && len >= MIN_ITEMS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_long_runs_on_a_terminal_get_a_bar() {
        assert!(wanted(true, MIN_ITEMS));
        assert!(!wanted(true, MIN_ITEMS - 1));
        assert!(!wanted(false, 10_000));
    }

    #[test]
    fn a_hidden_bar_accepts_updates() {
        let p = Progress(None);
        p.inc();
        assert_eq!(p.suspend(|| 7), 7);
        p.finish();
    }
}
