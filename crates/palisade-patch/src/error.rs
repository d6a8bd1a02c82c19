//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong while preprocessing, merging, applying or diffing patches.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatchError {
    /// The patch and the resource disagree on the kind of a node (kyaml refuses to merge them).
    #[error(
        "strategic merge patch: cannot merge {found} from the patch into {expected} of the resource at {path}"
    )]
    KindMismatch {
        /// Where the mismatch is, as a dotted path.
        path: String,
        /// Kind of the resource node.
        expected: &'static str,
        /// Kind of the patch node.
        found: &'static str,
    },
    /// A `$patch` directive with a value other than `replace`, `delete` or `merge`.
    #[error(
        "strategic merge patch: unknown patch strategy {value:?} at {path} (expected replace, delete or merge)"
    )]
    UnknownDirective {
        /// Where the directive is.
        path: String,
        /// The rejected value.
        value: String,
    },
    /// A list element that cannot be matched because it lacks every merge key of its list.
    #[error("strategic merge patch: element of list {path} has none of the merge keys {keys}")]
    MissingMergeKey {
        /// The list.
        path: String,
        /// The merge keys of that list, comma separated.
        keys: String,
    },
    /// A malformed `$retainKeys`, `$setElementOrder/...` or `$deleteFromPrimitiveList/...` directive.
    #[error("strategic merge patch: invalid directive at {path}: {reason}")]
    InvalidDirective {
        /// Where the directive is.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The patch or document has the wrong top-level shape.
    #[error("{what} must be a JSON object")]
    NotAnObject {
        /// Which input.
        what: &'static str,
    },
    /// A Kyverno anchor that cannot be processed.
    #[error("anchor preprocessing: {reason} at {path}")]
    Anchor {
        /// Where the anchor is.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An RFC 6902 patch document that cannot be parsed.
    #[error("JSON patch: operation {index}: {reason}")]
    InvalidJsonPatch {
        /// Index of the offending operation (0-based); 0 also for a document that is not an array.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An RFC 6902 operation that cannot be applied.
    #[error("JSON patch: operation {index} ({op} {path}): {reason}")]
    JsonPatchApply {
        /// Index of the operation (0-based).
        index: usize,
        /// Operation name.
        op: &'static str,
        /// The operation's path.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// The embedded merge-key table could not be parsed (a build problem, not an input problem).
    #[error("embedded strategic merge table is unusable: {0}")]
    SchemaTable(String),
    /// Input nested deeper than this crate walks.
    #[error("document nested deeper than {limit} levels")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
}
