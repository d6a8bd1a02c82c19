//! The Kyverno-compatible evaluation core: pure, synchronous, deterministic.
