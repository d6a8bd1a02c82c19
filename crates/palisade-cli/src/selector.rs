//! `--test-case-selector "policy=P, rule=R, resource=N"`: which expectations of a test file are
//! checked. Each part may use `*` and `?` wildcards and defaults to `*`. As in Kyverno, an
//! expectation without a policy, rule or resources passes that part of the filter; unlike
//! Kyverno, which replaces the resource list with the selector's text, only the listed
//! resources that match the pattern are kept.

use palisade_api::cli::TestResult;
use palisade_primitives::wildcard;

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    policy: String,
    rule: String,
    resource: String,
}

impl Default for Selector {
    fn default() -> Self {
        Selector {
            policy: "*".into(),
            rule: "*".into(),
            resource: "*".into(),
        }
    }
}

/// A selector that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A part without `=`.
    #[error("invalid test-case-selector argument {0:?}: parameters take the form key=value")]
    Form(String),
    /// A key other than policy, rule or resource.
    #[error("invalid test-case-selector key {0:?}: use policy, rule or resource")]
    Key(String),
}

impl Selector {
    /// Parses `policy=...,rule=...,resource=...` (any subset, any order; spaces are trimmed).
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let mut s = Selector::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .filter(|(_, v)| !v.contains('='))
                .ok_or_else(|| SelectorError::Form(part.to_string()))?;
            let value = value.trim().to_string();
            match key.trim() {
                "policy" => s.policy = value,
                "rule" => s.rule = value,
                "resource" => s.resource = value,
                other => return Err(SelectorError::Key(other.to_string())),
            }
        }
        Ok(s)
    }

    /// The expectation restricted to what the selector picks, or `None` if nothing is left.
    pub fn select(&self, mut result: TestResult) -> Option<TestResult> {
        let part =
            |pattern: &str, value: &str| value.is_empty() || wildcard::matches(pattern, value);
        if !part(&self.policy, &result.policy) || !part(&self.rule, &result.rule) {
            return None;
        }
        if result.resources.is_empty() && result.resource.is_none() {
            return Some(result);
        }
        result
            .resources
            .retain(|r| wildcard::matches(&self.resource, r));
        result.resource = result
            .resource
            .filter(|r| wildcard::matches(&self.resource, r));
        (!result.resources.is_empty() || result.resource.is_some()).then_some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expectation(policy: &str, rule: &str, resources: &[&str]) -> TestResult {
        TestResult {
            policy: policy.into(),
            rule: rule.into(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..TestResult::default()
        }
    }

    #[test]
    fn parses_parts_in_any_order() {
        let s = Selector::parse(" rule = r1 , policy=p*").unwrap();
        assert_eq!(s.policy, "p*");
        assert_eq!(s.rule, "r1");
        assert_eq!(s.resource, "*");
        assert_eq!(Selector::parse("").unwrap(), Selector::default());
    }

    #[test]
    fn rejects_bad_parts() {
        assert!(matches!(
            Selector::parse("policy"),
            Err(SelectorError::Form(_))
        ));
        assert!(matches!(
            Selector::parse("kind=Pod"),
            Err(SelectorError::Key(_))
        ));
        assert!(matches!(
            Selector::parse("policy=a=b"),
            Err(SelectorError::Form(_))
        ));
    }

    #[test]
    fn selects_by_wildcards_and_narrows_resources() {
        let s = Selector::parse("policy=require-*,rule=team-?abel,resource=t*").unwrap();
        let picked = s
            .select(expectation(
                "require-team",
                "team-label",
                &["tidy", "sloppy"],
            ))
            .unwrap();
        assert_eq!(picked.resources, vec!["tidy".to_string()]);
        assert!(
            s.select(expectation("other", "team-label", &["tidy"]))
                .is_none()
        );
        assert!(
            s.select(expectation("require-team", "x", &["tidy"]))
                .is_none()
        );
        assert!(
            s.select(expectation("require-team", "team-label", &["sloppy"]))
                .is_none()
        );
        // Empty parts pass, as in Kyverno.
        assert!(s.select(expectation("", "", &[])).is_some());
    }

    #[test]
    fn default_selects_everything() {
        let e = expectation("p", "r", &["a", "b"]);
        assert_eq!(Selector::default().select(e.clone()), Some(e));
    }
}
