//! palisade-yaml: arbitrary bytes with default limits, with and without positions, and the
//! crate's emit-and-reload round trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_yaml::{Options, parse_bytes};

fuzz_target!(|data: &[u8]| {
    let _ = parse_bytes(data, &Options::default());
    assert!(palisade_yaml::fuzz_roundtrip(data), "emit/reload changed a value");
});
