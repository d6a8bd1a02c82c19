//! Loading options and limits against hostile input.

/// Options for [`crate::parse_documents`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// Record the line and column of every node (see [`crate::Positions`]). Off by default
    /// because it costs memory and time; turn it on to report errors with lines.
    pub positions: bool,
    /// Accept duplicate mapping keys, the last one winning, as go-yaml v2's non-strict
    /// decoder does. Off by default: a duplicate key is an error naming both lines.
    pub allow_duplicate_keys: bool,
    /// Resource limits.
    pub limits: Limits,
}

impl Options {
    /// Default options with position recording turned on.
    pub fn with_positions() -> Self {
        Self {
            positions: true,
            ..Self::default()
        }
    }
}

/// Bounds on the work and memory one input may cause. Exceeding one is an error, never
/// a hang or an abort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes. Default 64 MiB.
    pub max_input_bytes: usize,
    /// Deepest nesting of mappings and sequences (the root collection is level 1),
    /// counting collections copied in by aliases. Default 256.
    pub max_depth: usize,
    /// Anchors and aliases may copy at most `alias_ratio` times as much content as the
    /// stream has parsed so far... Content is weighed in nodes, each 32 bytes of text
    /// counting as one more node, so that aliasing a long string is not free. Default 10.
    pub alias_ratio: usize,
    /// ...or `alias_floor`, whichever is larger. Default 100,000. This bounds
    /// "billion laughs" documents (aliases of aliases), nested anchors and merge keys.
    pub alias_floor: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_bytes: 64 * 1024 * 1024,
            max_depth: 256,
            alias_ratio: 10,
            alias_floor: 100_000,
        }
    }
}

impl Limits {
    /// The weight of copies allowed once content of weight `parsed` has been read.
    pub(crate) fn alias_budget(&self, parsed: usize) -> usize {
        parsed
            .saturating_mul(self.alias_ratio)
            .max(self.alias_floor)
    }
}
