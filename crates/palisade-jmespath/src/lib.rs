//! JMESPath with Kyverno's dialect and its custom functions, kept in one documented registry.
