//! Variable bindings for one evaluation.

use std::collections::HashMap;

use crate::value::Value;

/// Values of the declared variables. Build one per admission request and reuse it for every
/// expression: JSON documents are converted once when bound.
#[derive(Debug, Clone, Default)]
pub struct Activation {
    vars: HashMap<String, Value>,
}

impl Activation {
    /// An empty activation.
    pub fn new() -> Self {
        Activation::default()
    }

    /// Binds a variable to a value.
    pub fn bind(&mut self, name: impl Into<String>, value: Value) -> &mut Self {
        self.vars.insert(name.into(), value);
        self
    }

    /// Binds a variable to a JSON document (object, oldObject, request, params, ...).
    pub fn bind_json(&mut self, name: impl Into<String>, doc: &serde_json::Value) -> &mut Self {
        self.bind(name, Value::from_json(doc))
    }

    /// The value bound to `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }
}
