//! Label selectors, with Kyverno's wildcard expansion in `matchLabels`.

use std::collections::BTreeMap;

use palisade_api::meta::LabelSelector;
use palisade_primitives::wildcard;

/// True when the labels satisfy the selector. An invalid selector matches nothing.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    for (key, value) in selector.match_labels.iter().flatten() {
        let (key, value) = expand_wildcards(key, value, labels);
        if validate_label_key(&key).is_err() || labels.get(&key) != Some(&value) {
            return false;
        }
    }
    for req in selector.match_expressions.iter().flatten() {
        if validate_label_key(&req.key).is_err() {
            return false;
        }
        let present = labels.get(&req.key);
        let ok = match req.operator.as_str() {
            "In" => present.is_some_and(|v| req.values.contains(v)),
            "NotIn" => present.is_none_or(|v| !req.values.contains(v)),
            "Exists" => present.is_some(),
            "DoesNotExist" => present.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Checks a selector's syntax (for load-time errors).
pub fn validate_selector(selector: &LabelSelector) -> Result<(), String> {
    for req in selector.match_expressions.iter().flatten() {
        match req.operator.as_str() {
            "In" | "NotIn" if req.values.is_empty() => {
                return Err(format!(
                    "values: must be specified when `operator` is '{}'",
                    req.operator
                ));
            }
            "Exists" | "DoesNotExist" if !req.values.is_empty() => {
                return Err(format!(
                    "values: may not be specified when `operator` is '{}'",
                    req.operator
                ));
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => return Err(format!("{other:?} is not a valid label selector operator")),
        }
    }
    Ok(())
}

fn expand_wildcards(key: &str, value: &str, labels: &BTreeMap<String, String>) -> (String, String) {
    if !wildcard::contains_wildcard(key) && !wildcard::contains_wildcard(value) {
        return (key.to_string(), value.to_string());
    }
    labels
        .iter()
        .find(|(k, v)| wildcard::matches(key, k) && wildcard::matches(value, v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap_or_else(|| (key.to_string(), value.to_string()))
}

/// Kubernetes qualified-name rules for label keys: optional DNS prefix, name of at most 63
/// characters of alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric.
fn validate_label_key(key: &str) -> Result<(), ()> {
    let name = match key.rsplit_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() || prefix.len() > 253 {
                return Err(());
            }
            name
        }
        None => key,
    };
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let edges = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
    };
    if name.is_empty() || name.len() > 63 || !name.chars().all(ok_char) || !edges(name) {
        return Err(());
    }
    Ok(())
}
