//! The error type: every failure carries a 1-based line and column.

/// A failure to load YAML, with the position it was detected at.
///
/// Displays as `line 12, column 5: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct Error {
    /// 1-based line of the offending input.
    pub line: usize,
    /// 1-based column (in characters) of the offending input.
    pub column: usize,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// Creates an error at a 1-based line and column.
    pub fn new(line: usize, column: usize, kind: ErrorKind) -> Self {
        Self { line, column, kind }
    }

    /// The message without the position prefix.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }
}

/// The kinds of failure, so callers can react to some of them programmatically.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The YAML is syntactically invalid (message from the parser).
    #[error("{0}")]
    Syntax(String),
    /// The input is not UTF-8.
    #[error("input is not valid UTF-8 (byte offset {0}); save the file as UTF-8")]
    InvalidUtf8(usize),
    /// The input is larger than [`crate::Limits::max_input_bytes`].
    #[error("input is {size} bytes, larger than the limit of {limit} bytes")]
    InputTooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Collections are nested deeper than [`crate::Limits::max_depth`].
    #[error("nesting is deeper than the limit of {limit} levels")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// Anchors and aliases would copy more than allowed (a "billion laughs" document).
    #[error(
        "alias expansion would copy more than {limit} nodes; the document expands aliases excessively"
    )]
    AliasExpansion {
        /// The node budget that was exceeded.
        limit: usize,
    },
    /// An alias refers to an anchor not defined earlier in the same document.
    #[error("unknown anchor '{0}' referenced")]
    UnknownAnchor(String),
    /// An alias refers to the node that contains it.
    #[error("anchor '{0}' value contains itself")]
    RecursiveAlias(String),
    /// A mapping has the same key twice.
    #[error("duplicate key {key:?} (first defined on line {first_line})")]
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// Line of the first occurrence.
        first_line: usize,
    },
    /// A scalar resolves to a value JSON cannot hold (`.inf`, `.nan`).
    #[error(
        "`{0}` is a non-finite float (.inf/.nan), which JSON cannot represent; quote it to keep it as a string"
    )]
    NonFinite(String),
    /// An explicit tag does not fit the scalar, e.g. `!!int abc`.
    #[error("cannot decode {found} `{value}` as a {tag}")]
    TagMismatch {
        /// What the scalar resolves to without the tag (`!!str`, `!!float`...).
        found: String,
        /// The scalar text.
        value: String,
        /// The explicit tag (`!!int`...).
        tag: String,
    },
    /// A `!!binary` scalar is not valid base64.
    #[error("!!binary value contains invalid base64 data")]
    InvalidBinary,
    /// A merge key (`<<`) whose value is not a mapping or a sequence of mappings.
    #[error("map merge requires map or sequence of maps as the value")]
    BadMerge,
    /// A mapping key that JSON cannot represent (null, very large integers).
    #[error("unsupported map key {0}; JSON object keys must be strings, numbers or booleans")]
    UnsupportedKey(String),
    /// A mapping or sequence used as a mapping key.
    #[error("invalid map key: a mapping or sequence cannot be used as a key")]
    ComplexKey,
}
