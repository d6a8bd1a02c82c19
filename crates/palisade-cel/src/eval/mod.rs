//! Tree-walking interpreter with cost accounting.

mod access;
mod comprehension;
pub(crate) mod ops;
mod optchain;

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use crate::activation::Activation;
use crate::ast::{Expr, ExprKind, UnOp};
use crate::checker::TYPE_NAMES;
use crate::error::{RtError, err};
use crate::registry::{FuncDef, Imp, Registry};
use crate::value::{Key, MapValue, Value};
use access::{index_value, select};

/// Per-evaluation state shared with library functions: the cost budget and compiled regexes.
pub struct Ctx<'a> {
    cost: u64,
    limit: u64,
    regexes: &'a HashMap<String, Arc<Regex>>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(limit: u64, regexes: &'a HashMap<String, Arc<Regex>>) -> Self {
        Ctx {
            cost: 0,
            limit,
            regexes,
        }
    }

    /// Cost used so far.
    pub(crate) fn cost(&self) -> u64 {
        self.cost
    }

    /// Adds `n` to the cost and stops evaluation once the budget is exceeded.
    pub(crate) fn charge(&mut self, n: u64) -> Result<(), RtError> {
        self.cost = self.cost.saturating_add(n);
        if self.cost > self.limit {
            Err(RtError::Cost)
        } else {
            Ok(())
        }
    }

    /// Charges `n` units as `n` calls of [`Ctx::charge`] would, leaving the same cost behind
    /// when the budget runs out part way.
    pub(crate) fn charge_units(&mut self, n: u64) -> Result<(), RtError> {
        match self.cost.checked_add(n) {
            Some(c) if c <= self.limit => {
                self.cost = c;
                Ok(())
            }
            _ => {
                for _ in 0..n {
                    self.charge(1)?;
                }
                Ok(())
            }
        }
    }

    /// Charges for touching `bytes` bytes of string data (one unit per ten bytes, as cel-go).
    pub(crate) fn charge_size(&mut self, bytes: usize) -> Result<(), RtError> {
        self.charge((bytes as u64).div_ceil(10))
    }

    /// A compiled regex: precompiled literal patterns are reused, others compiled and charged.
    pub(crate) fn regex(&mut self, pattern: &str) -> Result<Arc<Regex>, RtError> {
        if let Some(r) = self.regexes.get(pattern) {
            return Ok(r.clone());
        }
        self.charge_size(pattern.len())?;
        crate::library::regex::compile(pattern)
            .map(Arc::new)
            .map_err(RtError::from)
    }
}

/// Name equality for variable lookups: names are short, and comparing their bytes in a loop
/// is cheaper than a call to `memcmp`.
pub(crate) fn name_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// Evaluates one expression tree against an activation.
pub(crate) struct Interp<'a> {
    pub ctx: Ctx<'a>,
    act: &'a Activation,
    reg: &'a Registry,
    scopes: Vec<(&'a str, Value)>,
}

impl<'a> Interp<'a> {
    pub(crate) fn new(ctx: Ctx<'a>, act: &'a Activation, reg: &'a Registry) -> Self {
        Interp {
            ctx,
            act,
            reg,
            // Most expressions bind no loop variable: no allocation until one does.
            scopes: Vec::new(),
        }
    }

    /// Evaluates `e`, charging one unit per node and attaching `e`'s offset to new errors.
    pub(crate) fn eval(&mut self, e: &'a Expr) -> Result<Value, RtError> {
        self.ctx.charge(1)?;
        self.eval_kind(e).map_err(|x| x.at(e.off))
    }

    fn eval_kind(&mut self, e: &'a Expr) -> Result<Value, RtError> {
        match &e.kind {
            ExprKind::Lit(v) => Ok(v.clone()),
            ExprKind::Ident(name) => self.ident(name),
            ExprKind::Select {
                operand,
                field,
                optional,
            } => {
                // A field of a variable is read on the bound value itself, without cloning
                // it; charged as evaluating the identifier is.
                if let ExprKind::Ident(name) = &operand.kind {
                    self.ctx.charge(1)?;
                    if let Some(v) = bound(&self.scopes, self.act, name) {
                        return select(v, field, *optional);
                    }
                    let v = self.ident(name).map_err(|x| x.at(operand.off))?;
                    return select(&v, field, *optional);
                }
                let v = self.eval(operand)?;
                select(&v, field, *optional)
            }
            ExprKind::Has { operand, field } => match self.eval(operand)? {
                Value::Map(m) => Ok(Value::Bool(m.contains_key(&Key::String(field.clone())))),
                Value::Doc(d) if !d.is_list() => Ok(Value::Bool(d.has(field))),
                Value::Opaque(o) => Ok(Value::Bool(o.field(field).is_some())),
                v @ (Value::List(_) | Value::Doc(_)) => err(format!(
                    "invalid type for field selection: '{}'",
                    v.type_name()
                )),
                // As in cel-go, a presence test on a scalar (null included) is false.
                _ => Ok(Value::Bool(false)),
            },
            ExprKind::Index {
                operand,
                index,
                optional,
            } => {
                let v = self.eval(operand)?;
                let i = self.eval(index)?;
                index_value(&v, &i, *optional)
            }
            ExprKind::Call { name, args } => {
                let def = self.reg.globals.get(name.as_str());
                self.call_with(def, name, None, args)
            }
            ExprKind::Method { target, name, args } => {
                if let Some(r) = self.chain_method(target, name, args) {
                    return r;
                }
                let def = self.reg.methods.get(name.as_str());
                self.call_with(def, name, Some(target), args)
            }
            ExprKind::Unary { op, operand } => {
                let v = self.eval(operand)?;
                unary(*op, &v)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.eval(lhs)?;
                // A literal operand (most comparisons have one) is used in place.
                if let ExprKind::Lit(r) = &rhs.kind {
                    self.ctx.charge(1)?;
                    return ops::binary(&mut self.ctx, *op, &l, r);
                }
                let r = self.eval(rhs)?;
                ops::binary(&mut self.ctx, *op, &l, &r)
            }
            ExprKind::And(a, b) => self.logical(a, b, false),
            ExprKind::Or(a, b) => self.logical(a, b, true),
            ExprKind::Cond { cond, then, other } => match self.eval(cond)? {
                Value::Bool(true) => self.eval(then),
                Value::Bool(false) => self.eval(other),
                v => err(format!(
                    "ternary condition must be bool, got '{}'",
                    v.type_name()
                )),
            },
            ExprKind::List(elems) => self.list(elems),
            ExprKind::Map(entries) => self.map(entries),
            ExprKind::Comprehension(c) => self.comprehension(c),
            ExprKind::Message { fields, .. } => self.message(fields),
            ExprKind::Bind { var, init, body } => {
                let v = self.eval(init)?;
                self.scopes.push((var.as_str(), v));
                let r = self.eval(body);
                self.scopes.pop();
                r
            }
            ExprKind::OptMap {
                target,
                var,
                body,
                flat,
            } => self.opt_map(target, var, body, *flat),
            ExprKind::OptChain(c) => self.opt_chain(c),
        }
    }

    /// Evaluates `e`, or clones it if it is a literal (charged the same).
    fn eval_or_lit(&mut self, e: &'a Expr) -> Result<Value, RtError> {
        if let ExprKind::Lit(v) = &e.kind {
            self.ctx.charge(1)?;
            return Ok(v.clone());
        }
        self.eval(e)
    }

    fn ident(&self, name: &str) -> Result<Value, RtError> {
        if let Some((_, v)) = self.scopes.iter().rev().find(|(n, _)| name_eq(n, name)) {
            return Ok(v.clone());
        }
        if let Some(v) = self.act.get(name) {
            return Ok(v.clone());
        }
        if TYPE_NAMES.contains(&name) {
            return Ok(Value::Type(name.into()));
        }
        err(format!("no such attribute: variable '{name}' is not bound"))
    }

    /// Evaluates the receiver and arguments and calls `def`; up to four values stay on the
    /// stack, since most calls have one to three.
    fn call_with(
        &mut self,
        def: Option<&'a FuncDef>,
        name: &str,
        target: Option<&'a Expr>,
        args: &'a [Expr],
    ) -> Result<Value, RtError> {
        const NULL: Value = Value::Null;
        let n = args.len() + usize::from(target.is_some());
        if n > 4 {
            let vals = self.eval_args(target, args)?;
            return self.call(def, name, &vals);
        }
        let mut buf = [NULL; 4];
        for (slot, e) in buf.iter_mut().zip(target.into_iter().chain(args)) {
            *slot = self.eval(e)?;
        }
        self.call(def, name, buf.get(..n).unwrap_or_default())
    }

    fn eval_args(
        &mut self,
        target: Option<&'a Expr>,
        args: &'a [Expr],
    ) -> Result<Vec<Value>, RtError> {
        let mut out = Vec::with_capacity(args.len() + 1);
        if let Some(t) = target {
            out.push(self.eval(t)?);
        }
        for a in args {
            out.push(self.eval(a)?);
        }
        Ok(out)
    }

    fn call(
        &mut self,
        def: Option<&'a FuncDef>,
        name: &str,
        args: &[Value],
    ) -> Result<Value, RtError> {
        let Some(def) = def else {
            return err(format!("undeclared function '{name}'"));
        };
        if let ("size", [Value::Doc(d)]) = (name, args) {
            return Ok(Value::Int(d.len() as i64));
        }
        // Library and host functions match on lists and maps: they get no document views.
        let mut plain: Option<Vec<Value>> = None;
        for (i, a) in args.iter().enumerate() {
            if let Some(p) = a.without_views()
                && let Some(slot) = plain.get_or_insert_with(|| args.to_vec()).get_mut(i)
            {
                *slot = p;
            }
        }
        let args = plain.as_deref().unwrap_or(args);
        for imp in &def.imps {
            let r = match imp {
                Imp::Builtin(f) => f(&mut self.ctx, args),
                Imp::Host(f) => f(args).map_err(RtError::from),
            };
            if !matches!(r, Err(RtError::NoMatch)) {
                return r;
            }
        }
        let refs: Vec<&Value> = args.iter().collect();
        ops::no_such_overload(name, &refs)
    }

    /// `&&` / `||` with CEL's commutative error rules: a decisive operand wins over an error.
    fn logical(&mut self, a: &'a Expr, b: &'a Expr, is_or: bool) -> Result<Value, RtError> {
        let decisive = is_or;
        let l = self.eval(a);
        match &l {
            Ok(Value::Bool(x)) if *x == decisive => return Ok(Value::Bool(decisive)),
            Err(RtError::Cost) => return l,
            _ => {}
        }
        let r = self.eval(b);
        match (&l, &r) {
            (_, Err(RtError::Cost)) => r,
            (_, Ok(Value::Bool(y))) if *y == decisive => Ok(Value::Bool(decisive)),
            (Err(_), _) => l,
            (_, Err(_)) => r,
            (Ok(Value::Bool(_)), Ok(Value::Bool(_))) => Ok(Value::Bool(!decisive)),
            (Ok(x), Ok(y)) => ops::no_such_overload(if is_or { "_||_" } else { "_&&_" }, &[x, y]),
        }
    }

    fn list(&mut self, elems: &'a [(Expr, bool)]) -> Result<Value, RtError> {
        let mut out = Vec::with_capacity(elems.len());
        for (e, opt) in elems {
            let v = self.eval(e)?;
            if !*opt {
                out.push(v);
                continue;
            }
            match v {
                Value::Optional(Some(inner)) => out.push((*inner).clone()),
                Value::Optional(None) => {}
                v => {
                    return err(format!(
                        "optional list element must be optional, got '{}'",
                        v.type_name()
                    ));
                }
            }
        }
        Ok(Value::list(out))
    }

    fn map(&mut self, entries: &'a [crate::ast::Entry]) -> Result<Value, RtError> {
        let mut out = MapValue::new();
        for en in entries {
            let k = self.eval(&en.key)?;
            let mut v = self.eval(&en.value)?;
            if en.optional {
                match v {
                    Value::Optional(Some(inner)) => v = (*inner).clone(),
                    Value::Optional(None) => continue,
                    other => {
                        return err(format!(
                            "optional map entry must be optional, got '{}'",
                            other.type_name()
                        ));
                    }
                }
            }
            let key = Key::from_value(&k).ok_or_else(|| {
                RtError::from(format!("unsupported map key type '{}'", k.type_name()))
            })?;
            if out.insert(key, v).is_some() {
                return Err(RtError::Msg(
                    "Failed with repeated key".into(),
                    Some(en.key.off),
                ));
            }
        }
        Ok(Value::map(out))
    }

    /// Builds a message literal as a map of its set fields.
    fn message(&mut self, fields: &'a [(String, Expr, bool)]) -> Result<Value, RtError> {
        let mut out = MapValue::new();
        for (name, e, optional) in fields {
            let v = match (self.eval(e)?, optional) {
                (Value::Optional(None), true) => continue,
                (Value::Optional(Some(inner)), true) => (*inner).clone(),
                (v, false) => v,
                (v, true) => {
                    return err(format!(
                        "optional field '{name}' needs an optional value, got '{}'",
                        v.type_name()
                    ));
                }
            };
            if out.insert(Key::String(name.as_str().into()), v).is_some() {
                return Err(RtError::Msg(
                    format!("field '{name}' is set twice"),
                    Some(e.off),
                ));
            }
        }
        Ok(Value::map(out))
    }

    fn opt_map(
        &mut self,
        target: &'a Expr,
        var: &'a str,
        body: &'a Expr,
        flat: bool,
    ) -> Result<Value, RtError> {
        match self.eval(target)? {
            Value::Optional(None) => Ok(Value::none()),
            Value::Optional(Some(inner)) => {
                self.scopes.push((var, (*inner).clone()));
                let r = self.eval(body);
                self.scopes.pop();
                let r = r?;
                if flat {
                    match r {
                        Value::Optional(_) => Ok(r),
                        v => err(format!(
                            "optFlatMap body must return an optional, got '{}'",
                            v.type_name()
                        )),
                    }
                } else {
                    Ok(Value::some(r))
                }
            }
            v => err(format!("optMap needs an optional, got '{}'", v.type_name())),
        }
    }
}

/// The value bound to `name` in the loop scopes or the activation, as [`Interp::ident`]
/// resolves names (type names aside).
fn bound<'v>(scopes: &'v [(&str, Value)], act: &'v Activation, name: &str) -> Option<&'v Value> {
    match scopes.iter().rev().find(|(n, _)| name_eq(n, name)) {
        Some((_, v)) => Some(v),
        None => act.get(name),
    }
}

fn unary(op: UnOp, v: &Value) -> Result<Value, RtError> {
    match (op, v) {
        (UnOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnOp::Neg, Value::Int(i)) => i
            .checked_neg()
            .map(Value::Int)
            .ok_or_else(|| "integer overflow".into()),
        (UnOp::Neg, Value::Double(d)) => Ok(Value::Double(-d)),
        (UnOp::Neg, Value::Duration(d)) => d
            .checked_neg()
            .map(Value::Duration)
            .ok_or_else(|| "duration out of range".into()),
        (UnOp::Not, _) => ops::no_such_overload("!_", &[v]),
        (UnOp::Neg, _) => ops::no_such_overload("-_", &[v]),
    }
}
