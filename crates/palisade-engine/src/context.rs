//! The variable context of one evaluation: Kyverno's JSON context (`request`, `images`,
//! `element`, context entries, ...) with cheap checkpoints for foreach and context entries.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::jp::{self, Expression};
use crate::validate::pattern::CompiledPattern;
use crate::variables::VarError;

/// Caches compiled JMESPath expressions by their text, and holds the prepared validate
/// patterns of a compiled policy's rules.
#[derive(Default, Debug)]
pub struct ExprCache {
    map: RwLock<BTreeMap<String, Arc<Expression>>>,
    /// Patterns without variables, by the address of the pattern value inside
    /// `CompiledPolicy::rules` (which is not modified after compiling), sorted.
    patterns: Vec<(usize, CompiledPattern)>,
}

impl ExprCache {
    /// Sets the prepared patterns (see [`ExprCache::pattern`]).
    pub(crate) fn set_patterns(&mut self, mut patterns: Vec<(usize, CompiledPattern)>) {
        patterns.sort_by_key(|(addr, _)| *addr);
        self.patterns = patterns;
    }

    /// The prepared form of `pattern` when it is a variable-free pattern of the policy this
    /// cache belongs to (found by address: a copy of it, or another policy's, is not found).
    pub(crate) fn pattern(&self, pattern: &Value) -> Option<&CompiledPattern> {
        let addr = std::ptr::from_ref(pattern).addr();
        let i = self
            .patterns
            .binary_search_by_key(&addr, |(a, _)| *a)
            .ok()?;
        self.patterns.get(i).map(|(_, p)| p)
    }

    /// Compiles `expr`, or returns the cached compilation.
    pub fn get(&self, expr: &str) -> Result<Arc<Expression>, String> {
        if let Ok(map) = self.map.read()
            && let Some(e) = map.get(expr)
        {
            return Ok(e.clone());
        }
        let compiled = Arc::new(jp::compile(expr)?);
        if let Ok(mut map) = self.map.write() {
            // Bound the cache: expressions built from resource data could otherwise grow it.
            if map.len() < 4096 {
                map.insert(expr.to_string(), compiled.clone());
            }
        }
        Ok(compiled)
    }
}

/// The JSON document variables are evaluated against.
#[derive(Debug, Clone)]
pub struct EvalContext {
    root: Value,
    undo: Vec<(String, Option<Value>)>,
    deleting: bool,
}

impl EvalContext {
    /// A context holding `root` (an object whose keys are the top-level variables).
    pub fn new(root: Map<String, Value>) -> Self {
        let deleting = root
            .get("request")
            .and_then(|r| r.get("operation"))
            .and_then(Value::as_str)
            == Some("DELETE");
        EvalContext {
            root: Value::Object(root),
            undo: Vec::new(),
            deleting,
        }
    }

    /// The whole document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The resource under validation: `request.object`, or `request.oldObject` when there is
    /// no new object (DELETE).
    pub fn resource(&self) -> &Value {
        let req = &self.root["request"];
        match req.get("object") {
            Some(o) if !o.is_null() && o.as_object().is_none_or(|m| !m.is_empty()) => o,
            _ => req.get("oldObject").unwrap_or(&Value::Null),
        }
    }

    /// True when the request is a DELETE (variables on `request.object` read `request.oldObject`).
    pub fn is_delete(&self) -> bool {
        self.deleting
    }

    /// A checkpoint to return to with [`EvalContext::restore`].
    pub fn checkpoint(&self) -> usize {
        self.undo.len()
    }

    /// Undoes every `set` made after `checkpoint`.
    pub fn restore(&mut self, checkpoint: usize) {
        while self.undo.len() > checkpoint {
            let Some((key, old)) = self.undo.pop() else {
                break;
            };
            if let Value::Object(map) = &mut self.root {
                match old {
                    Some(v) => {
                        map.insert(key, v);
                    }
                    None => {
                        map.remove(&key);
                    }
                }
            }
        }
    }

    /// Sets a variable; a dotted name (`request.operation`) sets a nested field, as Kyverno's
    /// `AddVariable` does.
    pub fn set(&mut self, name: &str, value: Value) {
        let mut parts = name.split('.');
        let Some(top) = parts.next() else { return };
        let rest: Vec<&str> = parts.collect();
        let Value::Object(map) = &mut self.root else {
            return;
        };
        if rest.is_empty() {
            // The replaced value moves to the undo log (foreach replaces `element` per item).
            let old = map.insert(top.to_string(), value);
            self.undo.push((top.to_string(), old));
            return;
        }
        self.undo.push((top.to_string(), map.get(top).cloned()));
        let mut cursor = map
            .entry(top.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        for (i, part) in rest.iter().enumerate() {
            if !cursor.is_object() {
                *cursor = Value::Object(Map::new());
            }
            let Value::Object(m) = cursor else { return };
            if i + 1 == rest.len() {
                m.insert((*part).to_string(), value);
                return;
            }
            cursor = m
                .entry((*part).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }

    /// Evaluates a JMESPath expression against the context.
    pub fn query(
        &self,
        cache: &ExprCache,
        expr: &str,
        clock: &jp::Clock,
    ) -> Result<Value, VarError> {
        let expr = expr.trim();
        if expr.is_empty() {
            return Err(VarError::Query {
                expr: String::new(),
                message: "invalid query (nil)".into(),
            });
        }
        let compiled = cache.get(expr).map_err(|message| VarError::Query {
            expr: expr.to_string(),
            message,
        })?;
        jp::search(&compiled, &self.root, clock).map_err(|e| match e {
            jp::SearchError::NotFound(message) => VarError::NotFound {
                expr: expr.to_string(),
                message,
            },
            jp::SearchError::Other(message) => VarError::Query {
                expr: expr.to_string(),
                message,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_and_restore() {
        let mut ctx = EvalContext::new(Map::new());
        ctx.set("request.operation", json!("CREATE"));
        let cp = ctx.checkpoint();
        ctx.set("element", json!({"name": "a"}));
        ctx.set("request.operation", json!("UPDATE"));
        assert_eq!(ctx.root()["request"]["operation"], json!("UPDATE"));
        ctx.restore(cp);
        assert_eq!(ctx.root()["request"]["operation"], json!("CREATE"));
        assert!(ctx.root().get("element").is_none());
    }
}
