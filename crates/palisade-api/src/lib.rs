//! Serde types for Kyverno's policy resources and the CLI test format, loaded with file, line and field path in errors.
