//! Errors of compilation (parse and check) and of evaluation.

use thiserror::Error;

/// A position in an expression: byte offset plus 1-based line and column (in code points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Byte offset from the start of the expression.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in code points.
    pub column: usize,
}

impl Position {
    /// Computes line and column of `offset` within `src`.
    pub fn at(src: &str, offset: usize) -> Self {
        let offset = offset.min(src.len());
        let mut line = 1;
        let mut column = 1;
        for (i, ch) in src.char_indices() {
            if i >= offset {
                break;
            }
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        Position {
            offset,
            line,
            column,
        }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// An expression could not be parsed or did not type-check.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{position}: {message}")]
pub struct CompileError {
    /// Where the problem is.
    pub position: Position,
    /// What is wrong, for a person.
    pub message: String,
}

impl CompileError {
    pub(crate) fn new(src: &str, offset: usize, message: impl Into<String>) -> Self {
        CompileError {
            position: Position::at(src, offset),
            message: message.into(),
        }
    }
}

/// Evaluation failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EvalError {
    /// The expression used more than its runtime cost budget and was stopped.
    #[error("operation cancelled: actual cost limit exceeded (limit {limit})")]
    CostLimitExceeded {
        /// The budget that was exceeded.
        limit: u64,
    },
    /// A runtime error such as a missing key, an overflow or a bad argument.
    #[error("{position}: {message}")]
    Runtime {
        /// Where in the expression the error arose.
        position: Position,
        /// What went wrong.
        message: String,
    },
    /// A value could not be converted to JSON.
    #[error("cannot convert result to JSON: {0}")]
    Conversion(String),
}

/// Error raised inside the interpreter before a position is attached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RtError {
    /// Budget exhausted: never absorbed by `&&`, `||` or comprehensions.
    Cost,
    /// Ordinary CEL error, absorbed by logical operators where CEL says so.
    Msg(String, Option<usize>),
    /// The implementation does not handle these argument kinds; the next one is tried.
    NoMatch,
}

impl RtError {
    /// Attaches an offset unless one is already known.
    pub(crate) fn at(self, offset: usize) -> Self {
        match self {
            RtError::Msg(m, None) => RtError::Msg(m, Some(offset)),
            other => other,
        }
    }
}

impl From<String> for RtError {
    fn from(m: String) -> Self {
        RtError::Msg(m, None)
    }
}

impl From<&str> for RtError {
    fn from(m: &str) -> Self {
        RtError::Msg(m.to_string(), None)
    }
}

/// Shorthand for "this implementation has no overload for these arguments".
pub(crate) fn no_match<T>() -> Result<T, RtError> {
    Err(RtError::NoMatch)
}

/// Shorthand for building a runtime error result.
pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, RtError> {
    Err(RtError::Msg(msg.into(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_code_points() {
        let cases = [
            ("abc", 0, 1, 1),
            ("abc", 2, 1, 3),
            ("a\nbc", 3, 2, 2),
            ("é x", 3, 1, 3),
        ];
        for (src, off, line, col) in cases {
            let p = Position::at(src, off);
            assert_eq!((p.line, p.column), (line, col), "{src:?} @ {off}");
        }
    }
}
