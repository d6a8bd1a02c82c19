//! The Kubernetes Pod Security Standards controls, versioned, with Kyverno's podSecurity exclusions.
