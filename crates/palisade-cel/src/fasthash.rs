//! Maps keyed by function and variable names: FNV-1a (`palisade_primitives::fnv`), because
//! those names come from the embedder and policy authors, never from the data evaluated.

/// A map keyed by names, hashed with FNV-1a.
pub(crate) type NameMap<V> = palisade_primitives::fnv::FnvMap<String, V>;
