//! Kyverno's value primitives: Kubernetes quantities, Go durations, wildcards, semver ranges,
//! Go-compatible regexes, image references; and the FNV-1a hash the crates share.
//!
//! Every module mirrors the Go library Kyverno uses for the same job, so that values parse,
//! compare and print exactly as they do in Kyverno. Hostile input yields an error, never a panic
//! or unbounded work.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod duration;
pub mod fnv;
pub mod gofloat;
pub mod image;
pub mod quantity;
pub mod regex;
pub mod semver;
pub mod wildcard;
