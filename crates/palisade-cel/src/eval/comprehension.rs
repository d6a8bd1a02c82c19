//! Evaluation of the comprehension macros (`all`, `exists`, `map`, `filter`, `transform*`, ...).

use crate::ast::{CompKind, Comprehension};
use crate::error::{RtError, err};
use crate::eval::Interp;
use crate::value::{Key, MapValue, Value};

/// One iteration's variables: (first, second) where second is set for two-variable forms.
type Item = (Value, Value);

fn items(range: &Value, two: bool) -> Result<Vec<Item>, RtError> {
    match range {
        Value::List(l) => Ok(l
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if two {
                    (Value::Int(i as i64), v.clone())
                } else {
                    (v.clone(), Value::Null)
                }
            })
            .collect()),
        Value::Map(m) => Ok(m.iter().map(|(k, v)| (k.to_value(), v.clone())).collect()),
        Value::Doc(d) if d.is_list() => Ok(d
            .values()
            .enumerate()
            .map(|(i, v)| {
                if two {
                    (Value::Int(i as i64), v)
                } else {
                    (v, Value::Null)
                }
            })
            .collect()),
        // One-variable forms never read the second variable.
        Value::Doc(d) if two => Ok(d.keys().zip(d.values()).collect()),
        Value::Doc(d) => Ok(d.keys().map(|k| (k, Value::Null)).collect()),
        v => err(format!(
            "expression of type '{}' cannot be the range of a comprehension",
            v.type_name()
        )),
    }
}

impl<'a> Interp<'a> {
    /// Evaluates `body` with the loop variables bound.
    fn with_vars(
        &mut self,
        c: &'a Comprehension,
        item: &Item,
        e: &'a crate::ast::Expr,
    ) -> Result<Value, RtError> {
        self.scopes.push((c.var.as_str(), item.0.clone()));
        if let Some(v2) = &c.var2 {
            self.scopes.push((v2.as_str(), item.1.clone()));
        }
        let r = self.eval(e);
        self.scopes
            .truncate(self.scopes.len() - 1 - usize::from(c.var2.is_some()));
        r
    }

    fn predicate(
        &mut self,
        c: &'a Comprehension,
        item: &Item,
        e: &'a crate::ast::Expr,
    ) -> Result<bool, RtError> {
        match self.with_vars(c, item, e)? {
            Value::Bool(b) => Ok(b),
            v => Err(RtError::Msg(
                format!("predicate must return bool, got '{}'", v.type_name()),
                Some(e.off),
            )),
        }
    }

    pub(crate) fn comprehension(&mut self, c: &'a Comprehension) -> Result<Value, RtError> {
        let range = self.eval(&c.range)?;
        // Room for a few nested loops at once: growing an empty vector one push at a time
        // costs more than this one allocation.
        if self.scopes.capacity() == 0 {
            self.scopes = Vec::with_capacity(4);
        }
        // `all` / `exists` over a list walk it in place, without collecting the items.
        if let (CompKind::All | CompKind::Exists, None, Value::List(l)) = (c.kind, &c.var2, &range)
        {
            let exists = c.kind == CompKind::Exists;
            return self.quantifier(c, l.iter().map(|v| (v.clone(), Value::Null)), exists);
        }
        if let (CompKind::All | CompKind::Exists, None, Value::Doc(d)) = (c.kind, &c.var2, &range) {
            let exists = c.kind == CompKind::Exists;
            return if d.is_list() {
                self.quantifier(c, d.values().map(|v| (v, Value::Null)), exists)
            } else {
                self.quantifier(c, d.keys().map(|k| (k, Value::Null)), exists)
            };
        }
        let items = items(&range, c.var2.is_some())?;
        match c.kind {
            CompKind::All | CompKind::Exists => {
                let exists = c.kind == CompKind::Exists;
                self.quantifier(c, items.into_iter(), exists)
            }
            CompKind::ExistsOne => {
                let mut count = 0usize;
                for it in &items {
                    self.ctx.charge(1)?;
                    if self.predicate(c, it, &c.body)? {
                        count += 1;
                    }
                }
                Ok(Value::Bool(count == 1))
            }
            CompKind::Filter => {
                let mut out = Vec::new();
                for it in &items {
                    self.ctx.charge(1)?;
                    if self.predicate(c, it, &c.body)? {
                        out.push(it.0.clone());
                    }
                }
                Ok(Value::list(out))
            }
            CompKind::Map | CompKind::TransformList => {
                let mut out = Vec::new();
                for it in &items {
                    if self.keep(c, it)? {
                        out.push(self.with_vars(c, it, &c.body)?);
                    }
                }
                Ok(Value::list(out))
            }
            CompKind::TransformMap | CompKind::TransformMapEntry => self.transform_map(c, &items),
            CompKind::SortBy => {
                let mut keyed = Vec::with_capacity(items.len());
                for it in &items {
                    self.ctx.charge(1)?;
                    keyed.push((self.with_vars(c, it, &c.body)?, it.0.clone()));
                }
                crate::library::lists::sort_values(&mut self.ctx, keyed).map(Value::list)
            }
        }
    }

    /// Charges the iteration and applies the optional filter.
    fn keep(&mut self, c: &'a Comprehension, it: &Item) -> Result<bool, RtError> {
        self.ctx.charge(1)?;
        match &c.filter {
            Some(f) => self.predicate(c, it, f),
            None => Ok(true),
        }
    }

    /// `all` / `exists`: a decisive result wins over errors from other elements.
    fn quantifier(
        &mut self,
        c: &'a Comprehension,
        items: impl Iterator<Item = Item>,
        exists: bool,
    ) -> Result<Value, RtError> {
        let mut first_err = None;
        for it in items {
            self.ctx.charge(1)?;
            match self.predicate(c, &it, &c.body) {
                Ok(b) if b == exists => return Ok(Value::Bool(exists)),
                Ok(_) => {}
                Err(RtError::Cost) => return Err(RtError::Cost),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(Value::Bool(!exists)),
        }
    }

    fn transform_map(&mut self, c: &'a Comprehension, items: &[Item]) -> Result<Value, RtError> {
        let mut out = MapValue::new();
        for it in items {
            if !self.keep(c, it)? {
                continue;
            }
            let v = self.with_vars(c, it, &c.body)?;
            if c.kind == CompKind::TransformMap {
                let key =
                    Key::from_value(&it.0).ok_or_else(|| RtError::from("unsupported map key"))?;
                out.insert(key, v);
                continue;
            }
            let Value::Map(entry) = v else {
                return err(format!(
                    "transformMapEntry must produce a map, got '{}'",
                    v.type_name()
                ));
            };
            for (k, val) in entry.iter() {
                if out.insert(k.clone(), val.clone()).is_some() {
                    return err(format!(
                        "insert failed: key {:?} already exists",
                        k.to_value()
                    ));
                }
            }
        }
        Ok(Value::map(out))
    }
}
