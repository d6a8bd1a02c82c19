//! Anchor keys and leaf-pattern operator prefixes on arbitrary text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_engine::anchor::{self, Anchor};
use palisade_engine::pattern::Operator;

fuzz_target!(|data: &[u8]| {
    let Ok(key) = std::str::from_utf8(data) else {
        return;
    };
    match Anchor::parse(key) {
        Some(a) => {
            // An anchor is exactly `prefix(key)` around the trimmed input.
            assert!(!a.key.is_empty());
            assert_eq!(format!("{}({})", a.prefix(), a.key), key.trim());
            assert_eq!(anchor::strip(key), a.key);
        }
        None => assert_eq!(anchor::strip(key), key),
    }
    let op = Operator::of(key);
    assert!(key.is_char_boundary(op.prefix_len()));
});
