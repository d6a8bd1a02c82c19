//! YAML 1.1 loading (as Kyverno reads it) with source positions, limits against hostile input, and a YAML emitter.
