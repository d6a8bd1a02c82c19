//! Validate patterns: anchors, leaf operators, `$( )` references and condition operators,
//! on generated pattern and resource trees.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use palisade_engine::operators::Operator as Condition;
use palisade_engine::pattern::{self, Operator};
use palisade_engine::validate::pattern::match_pattern;
use palisade_engine::variables::substitute_references;
use palisade_fuzz::{Text, json};

const CONDITIONS: &[&str] = &[
    "Equals", "NotEquals", "In", "NotIn", "AnyIn", "AllIn", "AnyNotIn", "AllNotIn",
    "GreaterThan", "GreaterThanOrEquals", "LessThan", "LessThanOrEquals",
    "DurationGreaterThan", "DurationGreaterThanOrEquals", "DurationLessThan",
    "DurationLessThanOrEquals",
];

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let pattern_value = json(&mut u);
    let resource = json(&mut u);
    let leaf = Text::arbitrary(&mut u).map(|t| t.render()).unwrap_or_default();

    let _ = match_pattern(&resource, &pattern_value);
    if let Ok(referenced) = substitute_references(&pattern_value) {
        let _ = match_pattern(&resource, &referenced);
    }

    let op = Operator::of(&leaf);
    assert!(op.prefix_len() <= leaf.len());
    let leaf_pattern = serde_json::Value::String(leaf);
    let _ = pattern::validate(&resource, &leaf_pattern);
    let _ = pattern::validate(&resource, &pattern_value);

    for name in CONDITIONS {
        if let Some(c) = Condition::parse(name) {
            let _ = c.evaluate(&resource, &pattern_value);
            let _ = c.evaluate(&leaf_pattern, &resource);
        }
    }
});
