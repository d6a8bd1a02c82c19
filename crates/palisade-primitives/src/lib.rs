//! Kyverno's value primitives: Kubernetes quantities, Go durations, wildcards, semver ranges, Go-compatible regexes, image references.
