//! Structured logs through `tracing`; `RUST_LOG` filters (default `info`).

use crate::config::LogFormat;

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(format: LogFormat) {
    palisade_kube::process::init_logging(format == LogFormat::Json);
}
