//! CEL with the Kubernetes environment and libraries, type-checked at load and bounded by a cost limit.
