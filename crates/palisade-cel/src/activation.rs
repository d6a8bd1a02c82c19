//! Variable bindings for one evaluation.

use std::borrow::Cow;
use std::sync::Arc;

use crate::value::Value;

/// Values of the declared variables. Build one per admission request and reuse it for every
/// expression: JSON documents are converted once when bound. [`Activation::child`] layers a
/// few bindings over a shared activation without copying it.
#[derive(Debug, Clone, Default)]
pub struct Activation {
    /// The first binding, kept inline: a child activation usually binds one name
    /// (`variables`), and then needs no allocation.
    first: Option<(Cow<'static, str>, Value)>,
    /// The other bindings, a handful: a linear scan beats hashing at this size.
    vars: Vec<(Cow<'static, str>, Value)>,
    parent: Option<Arc<Activation>>,
}

impl Activation {
    /// An empty activation.
    pub fn new() -> Self {
        Activation::default()
    }

    /// An activation that sees every binding of `parent`; its own bindings shadow them.
    pub fn child(parent: Arc<Activation>) -> Self {
        Activation {
            first: None,
            vars: Vec::new(),
            parent: Some(parent),
        }
    }

    /// Binds a variable to a value (a `&'static str` name is not copied).
    pub fn bind(&mut self, name: impl Into<Cow<'static, str>>, value: Value) -> &mut Self {
        let name = name.into();
        let empty = self.first.is_none();
        let slot = self
            .first
            .iter_mut()
            .chain(self.vars.iter_mut())
            .find(|(n, _)| *n == name);
        match slot {
            Some(slot) => slot.1 = value,
            None if empty => self.first = Some((name, value)),
            None => self.vars.push((name, value)),
        }
        self
    }

    /// Binds a variable to a JSON document (object, oldObject, request, params, ...).
    pub fn bind_json(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        doc: &serde_json::Value,
    ) -> &mut Self {
        self.bind(name, Value::from_json_view(doc))
    }

    /// The value bound to `name`, here or in a parent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let mut act = self;
        loop {
            if let Some((_, v)) = act
                .first
                .iter()
                .chain(&act.vars)
                .find(|(n, _)| crate::eval::name_eq(n, name))
            {
                return Some(v);
            }
            act = act.parent.as_deref()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_shadow_and_inherit() {
        let mut base = Activation::new();
        base.bind("a", Value::Int(1)).bind("b", Value::Int(2));
        let base = Arc::new(base);
        let mut child = Activation::child(base.clone());
        child.bind("b", Value::Int(3));
        assert_eq!(child.get("a"), Some(&Value::Int(1)));
        assert_eq!(child.get("b"), Some(&Value::Int(3)));
        assert_eq!(base.get("b"), Some(&Value::Int(2)));
        assert!(child.get("c").is_none());
    }
}
