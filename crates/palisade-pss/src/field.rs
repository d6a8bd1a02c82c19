//! Field errors: which restricted field of the pod is wrong, and with what value.
//!
//! These mirror the `field.ErrorList` Kyverno's fork of the upstream module returns when asked
//! `WithFieldErrors()`. Exclusions (`restrictedField`, `values`) match against them and the
//! failure message prints them.

use std::fmt;

/// The kind of a [`FieldError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    /// The field must be set (`field.ErrorTypeRequired`, printed "Required value").
    Required,
    /// The field holds a forbidden value (`field.ErrorTypeForbidden`, printed "Forbidden").
    Forbidden,
}

/// The offending value of a [`FieldError`] (Go's `BadValue`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BadValue {
    /// A string; the empty string means "no value" (Required errors, bare Forbidden errors).
    Str(String),
    /// A boolean.
    Bool(bool),
    /// An integer (host ports, `runAsUser`).
    Int(i64),
    /// A list of strings (capabilities), already sorted and de-duplicated.
    List(Vec<String>),
}

impl BadValue {
    /// No value: what Required errors and bare Forbidden errors carry.
    pub fn none() -> Self {
        BadValue::Str(String::new())
    }

    /// The values an exclusion's `values` are matched against (Kyverno `extractBadValues`):
    /// nothing for the empty string, the formatted scalar, or every list element.
    pub fn matchable(&self) -> Vec<String> {
        match self {
            BadValue::Str(s) if s.is_empty() => Vec::new(),
            BadValue::Str(s) => vec![s.clone()],
            BadValue::Bool(b) => vec![b.to_string()],
            BadValue::Int(n) => vec![n.to_string()],
            BadValue::List(items) => items.clone(),
        }
    }

    fn is_empty_string(&self) -> bool {
        matches!(self, BadValue::Str(s) if s.is_empty())
    }
}

impl fmt::Display for BadValue {
    /// Go's `%+v` of the value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadValue::Str(s) => f.write_str(s),
            BadValue::Bool(b) => write!(f, "{b}"),
            BadValue::Int(n) => write!(f, "{n}"),
            BadValue::List(items) => write!(f, "[{}]", items.join(" ")),
        }
    }
}

/// One restricted field that violates a check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldError {
    /// Required or Forbidden.
    pub kind: FieldErrorKind,
    /// The field path relative to the pod, e.g. `spec.containers[0].securityContext.privileged`.
    pub field: String,
    /// The offending value.
    pub bad_value: BadValue,
}

impl FieldError {
    /// A Required error at `field`.
    pub fn required(field: String) -> Self {
        FieldError {
            kind: FieldErrorKind::Required,
            field,
            bad_value: BadValue::none(),
        }
    }

    /// A Forbidden error at `field` with `bad_value`.
    pub fn forbidden(field: String, bad_value: BadValue) -> Self {
        FieldError {
            kind: FieldErrorKind::Forbidden,
            field,
            bad_value,
        }
    }
}

impl fmt::Display for FieldError {
    /// Kyverno's `FormatChecksPrint` rendering of one error: a Forbidden error with a value is
    /// `<field> is forbidden, forbidden values found: <value>`; anything else is Go's
    /// `field.Error.Error()`, `<field>: Forbidden` or `<field>: Required value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FieldErrorKind::Forbidden if !self.bad_value.is_empty_string() => write!(
                f,
                "{} is forbidden, forbidden values found: {}",
                self.field, self.bad_value
            ),
            FieldErrorKind::Forbidden => write!(f, "{}: Forbidden", self.field),
            FieldErrorKind::Required => write!(f, "{}: Required value", self.field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_kyverno_format_checks_print() {
        let table = [
            (
                FieldError::forbidden("spec.hostNetwork".into(), BadValue::Bool(true)),
                "spec.hostNetwork is forbidden, forbidden values found: true",
            ),
            (
                FieldError::forbidden(
                    "spec.containers[0].securityContext.capabilities.add".into(),
                    BadValue::List(vec!["NET_ADMIN".into(), "SYS_TIME".into()]),
                ),
                "spec.containers[0].securityContext.capabilities.add is forbidden, forbidden values found: [NET_ADMIN SYS_TIME]",
            ),
            (
                FieldError::forbidden("spec.volumes[0].nfs".into(), BadValue::none()),
                "spec.volumes[0].nfs: Forbidden",
            ),
            (
                FieldError::required("spec.containers[0].securityContext.runAsNonRoot".into()),
                "spec.containers[0].securityContext.runAsNonRoot: Required value",
            ),
            (
                FieldError::forbidden("spec.securityContext.runAsUser".into(), BadValue::Int(0)),
                "spec.securityContext.runAsUser is forbidden, forbidden values found: 0",
            ),
        ];
        for (err, want) in table {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn matchable_values_follow_extract_bad_values() {
        assert!(BadValue::none().matchable().is_empty());
        assert_eq!(BadValue::Bool(false).matchable(), ["false"]);
        assert_eq!(BadValue::Int(8080).matchable(), ["8080"]);
        assert_eq!(BadValue::Str("nil".into()).matchable(), ["nil"]);
        assert_eq!(
            BadValue::List(vec!["A".into(), "B".into()]).matchable(),
            ["A", "B"]
        );
    }
}
