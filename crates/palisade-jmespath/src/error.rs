//! Parse and evaluation errors.

use thiserror::Error;

/// A syntax error, with the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("SyntaxError: {message} (at offset {offset})")]
pub struct ParseError {
    /// Byte offset into the expression.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Self {
        ParseError {
            offset,
            message: message.into(),
        }
    }

    /// The expression with a caret under the error position, for display.
    pub fn caret(&self, expression: &str) -> String {
        let col = expression
            .get(..self.offset)
            .map_or(0, |s| s.chars().count());
        format!("{expression}\n{}^", " ".repeat(col))
    }
}

/// What kind of evaluation error happened; the engine branches on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A field was read from an object that does not have it (Kyverno's
    /// `Unknown key "x" in path`). The engine may treat it as null.
    UnknownKey,
    /// A function does not exist.
    UnknownFunction,
    /// A function got the wrong number of arguments.
    Arity,
    /// A function argument had the wrong type.
    InvalidType,
    /// A function failed on valid-typed input (bad regex, zero divisor, bad time, ...).
    Function,
    /// A slice had step 0, or another invalid value was met.
    InvalidValue,
    /// Evaluation exceeded its work budget (hostile or runaway expression).
    Limit,
}

/// An evaluation error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct Error {
    /// The category.
    pub kind: ErrorKind,
    /// The message, worded as Kyverno words it where it has a wording.
    pub message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn unknown_key(key: &str) -> Self {
        // Missing keys are common and often swallowed (`||`, filters, comparisons): a key
        // that `{:?}` prints as it is is quoted without the formatting machinery.
        let plain = key
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
        let message = if plain {
            let mut m = String::with_capacity(key.len() + 22);
            m.push_str("Unknown key \"");
            m.push_str(key);
            m.push_str("\" in path");
            m
        } else {
            format!("Unknown key {key:?} in path")
        };
        Error::new(ErrorKind::UnknownKey, message)
    }

    /// A function failure worded like Kyverno's `JMESPath function 'f': ...`.
    pub fn function(name: &str, message: impl std::fmt::Display) -> Self {
        Error::new(
            ErrorKind::Function,
            format!("JMESPath function '{name}': {message}"),
        )
    }

    /// A wrong argument type, worded like Kyverno's messages.
    pub fn arg_type(name: &str, position: usize, expected: &str) -> Self {
        Error::new(
            ErrorKind::InvalidType,
            format!(
                "JMESPath function '{name}': {position} argument is expected of {expected} type"
            ),
        )
    }

    /// The key of an [`ErrorKind::UnknownKey`] error.
    pub fn unknown_key_name(&self) -> Option<&str> {
        if self.kind != ErrorKind::UnknownKey {
            return None;
        }
        self.message
            .strip_prefix("Unknown key \"")?
            .strip_suffix("\" in path")
    }
}

#[cfg(test)]
mod unknown_key_tests {
    use super::Error;

    #[test]
    fn unknown_key_messages_match_debug_quoting() {
        for key in [
            "name",
            "a b",
            "x\"y",
            "back\\slash",
            "tab\there",
            "é",
            "",
            "~!@#",
        ] {
            assert_eq!(
                Error::unknown_key(key).message,
                format!("Unknown key {key:?} in path"),
                "{key}"
            );
            assert!(Error::unknown_key(key).unknown_key_name().is_some());
        }
    }
}
