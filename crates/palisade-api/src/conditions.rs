//! Conditions, as used by `preconditions`, `deny` and exceptions.

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One condition: `key <operator> value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    /// The left-hand side; usually a string with `{{ }}` variables.
    #[serde(default)]
    pub key: Value,
    /// Operator name, matched case-insensitively (`Equals`, `AnyIn`, ...).
    pub operator: String,
    /// The right-hand side.
    #[serde(default)]
    pub value: Value,
    /// Message reported when this condition decides the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `any` (at least one holds) and `all` (every one holds) blocks; both must pass when both are set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnyAllConditions {
    /// Conditions of which at least one must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Condition>>,
    /// Conditions that must all hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Condition>>,
}

/// Conditions in either of the two shapes Kyverno accepts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Conditions {
    /// The `{any: [...], all: [...]}` form.
    AnyAll(AnyAllConditions),
    /// The legacy flat list, equivalent to `all`.
    List(Vec<Condition>),
}

impl Conditions {
    /// The conditions as an `AnyAllConditions`, mapping the legacy list to `all`.
    pub fn to_any_all(&self) -> AnyAllConditions {
        match self {
            Conditions::AnyAll(a) => a.clone(),
            Conditions::List(list) => AnyAllConditions {
                any: None,
                all: Some(list.clone()),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Conditions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A hand-written visitor keeps serde_path_to_error's field paths inside both shapes,
        // which an untagged enum would lose.
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Conditions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of conditions or a map with `any` and/or `all`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Conditions, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Conditions::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Conditions, A::Error> {
                AnyAllConditions::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Conditions::AnyAll)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Conditions, E> {
                Ok(Conditions::AnyAll(AnyAllConditions::default()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_load() {
        let list: Conditions =
            serde_json::from_str(r#"[{"key":"a","operator":"Equals","value":"b"}]"#).unwrap();
        assert_eq!(list.to_any_all().all.map(|v| v.len()), Some(1));
        let map: Conditions =
            serde_json::from_str(r#"{"any":[{"key":"a","operator":"Equals","value":"b"}]}"#)
                .unwrap();
        assert_eq!(map.to_any_all().any.map(|v| v.len()), Some(1));
    }

    #[test]
    fn unknown_field_inside_list_keeps_its_path() {
        let json = r#"[{"key":"a","operator":"Equals","valu":"b"}]"#;
        let de = &mut serde_json::Deserializer::from_str(json);
        let err = serde_path_to_error::deserialize::<_, Conditions>(de).unwrap_err();
        assert_eq!(err.path().to_string(), "[0].valu");
    }
}
