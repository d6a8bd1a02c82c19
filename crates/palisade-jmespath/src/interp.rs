//! The tree-walking evaluator. Intermediate results are [`Val`]s: paths into the input are
//! borrowed, lists of selected parts are lists of borrows, and only constructed values are
//! allocated. Results are copied once, where a JSON value is needed.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::Context;
use crate::ast::{Cmp, Func, Node};
use crate::error::{Error, ErrorKind};
use crate::functions::{self, Arg};
use crate::val::{Val, index_position, slice_positions};
use crate::value::{equal, number};

type R<'a> = Result<Val<'a>, Error>;

/// A search result with a list's items kept apart ([`crate::Expression::search_items`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Found<'a> {
    /// A result that is not a list.
    One(Cow<'a, Value>),
    /// The items of a list result, in order.
    List(Vec<Cow<'a, Value>>),
}

/// Evaluation state: the caller's context and the remaining work budget.
pub struct Interp<'c> {
    pub(crate) ctx: &'c Context,
    budget: u64,
    /// Depth of evaluations whose missing-key errors become `null` ([`lenient`],
    /// [`swallowed`]): such errors are never seen, so they are built without a message.
    quiet: u32,
}

/// Turns Kyverno's missing-key error into `null` where the value is used as an operand
/// (comparisons, function arguments, `||`/`&&`/`!`, filters, projected and selected items).
fn lenient(r: R<'_>) -> R<'_> {
    match r {
        Err(e) if e.kind == ErrorKind::UnknownKey => Ok(Val::null()),
        other => other,
    }
}

/// go-jmespath evaluates the left side of a filter projection, a flatten and a value
/// projection and turns any error there into `null`; only the work budget still stops.
fn swallowed(r: R<'_>) -> R<'_> {
    match r {
        Err(e) if e.kind != ErrorKind::Limit => Ok(Val::null()),
        other => other,
    }
}

/// Bytes of string that weigh as much as one node: copying or building a long string costs
/// budget like the nodes it occupies, so chains that grow strings stay bounded.
pub(crate) const STRING_BYTES_PER_UNIT: usize = 16;

/// Approximate size of a value in nodes (strings by length), stopping once `cap` is passed.
pub(crate) fn size(v: &Value, cap: u64) -> u64 {
    let mut n = 1;
    match v {
        Value::String(s) => n += (s.len() / STRING_BYTES_PER_UNIT) as u64,
        Value::Array(a) => {
            for x in a {
                if n > cap {
                    break;
                }
                n += size(x, cap - n.min(cap));
            }
        }
        Value::Object(o) => {
            for x in o.values() {
                if n > cap {
                    break;
                }
                n += size(x, cap - n.min(cap));
            }
        }
        _ => {}
    }
    n
}

impl<'c> Interp<'c> {
    pub(crate) fn new(ctx: &'c Context) -> Self {
        Interp {
            ctx,
            budget: ctx.budget,
            quiet: 0,
        }
    }

    /// Runs `f` as an operand whose missing-key errors the caller turns into `null`.
    fn quietly<'a>(&mut self, f: impl FnOnce(&mut Self) -> R<'a>) -> R<'a> {
        self.quiet += 1;
        let r = f(self);
        self.quiet -= 1;
        r
    }

    fn spend(&mut self, units: u64) -> Result<(), Error> {
        if units > self.budget {
            self.budget = 0;
            return Err(Error::new(
                ErrorKind::Limit,
                "JMESPath evaluation exceeded its work budget",
            ));
        }
        self.budget -= units;
        Ok(())
    }

    /// Takes ownership of a result, charging the budget for any copy made.
    fn own(&mut self, v: Val<'_>) -> Result<Value, Error> {
        match v {
            Val::Ref(b) => {
                self.spend(size(b, self.budget))?;
                Ok(b.clone())
            }
            Val::Own(v) => Ok(v),
            Val::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.own(item)?);
                }
                Ok(Value::Array(out))
            }
        }
    }

    /// A result as a JSON value: borrowed when it is a part of the input, copied (and
    /// charged) when it is a list.
    fn value<'a>(&mut self, v: Val<'a>) -> Result<Cow<'a, Value>, Error> {
        match v {
            Val::Ref(b) => Ok(Cow::Borrowed(b)),
            Val::Own(v) => Ok(Cow::Owned(v)),
            list @ Val::List(_) => Ok(Cow::Owned(self.own(list)?)),
        }
    }

    /// Evaluates `next` against an intermediate result.
    fn then<'a>(&mut self, left: Val<'a>, next: &'a Node) -> R<'a> {
        match left {
            Val::Ref(l) => self.eval_val(next, l),
            Val::Own(l) if matches!(next, Node::Identity) => {
                // `@` of a built value is the value itself (a projection's items, `keys(@)[]`):
                // charged as the step and the copy below, without copying.
                self.spend(1)?;
                self.spend(size(&l, self.budget))?;
                Ok(Val::Own(l))
            }
            Val::Own(l) => {
                let r = self.eval_val(next, &l)?;
                Ok(Val::Own(self.own(r)?))
            }
            Val::List(items) => self.eval_list(next, items),
        }
    }

    /// [`Interp::then`] without consuming `left` (a filter condition on a projected item).
    fn then_ref<'a>(&mut self, left: &Val<'a>, next: &'a Node) -> R<'a> {
        match left {
            Val::Ref(l) => self.eval_val(next, l),
            Val::Own(l) => {
                let r = self.eval_val(next, l)?;
                Ok(Val::Own(self.own(r)?))
            }
            Val::List(items) => {
                // The copy is shallow (borrows stay borrows) but still work: charge it.
                self.spend(items.len() as u64)?;
                self.eval_list(next, items.clone())
            }
        }
    }

    /// Evaluates a node, borrowing from `v` where the result is a part of it.
    pub fn eval<'a>(&mut self, node: &'a Node, v: &'a Value) -> Result<Cow<'a, Value>, Error> {
        let r = self.eval_val(node, v)?;
        self.value(r)
    }

    /// Evaluates a node and, when the result is a list, keeps its items apart: borrowed
    /// where they are parts of `v` (a foreach list need not copy the elements it selects).
    pub fn eval_items<'a>(&mut self, node: &'a Node, v: &'a Value) -> Result<Found<'a>, Error> {
        match self.eval_val(node, v)? {
            Val::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.value(item)?);
                }
                Ok(Found::List(out))
            }
            Val::Ref(Value::Array(items)) => {
                Ok(Found::List(items.iter().map(Cow::Borrowed).collect()))
            }
            Val::Own(Value::Array(items)) => {
                Ok(Found::List(items.into_iter().map(Cow::Owned).collect()))
            }
            other => Ok(Found::One(self.value(other)?)),
        }
    }

    fn eval_val<'a>(&mut self, node: &'a Node, v: &'a Value) -> R<'a> {
        self.spend(1)?;
        match node {
            Node::Identity => Ok(Val::Ref(v)),
            Node::Field(key) => self.field(key, v),
            Node::Literal(lit) => Ok(Val::Ref(lit)),
            Node::Subexpr(a, b) | Node::Pipe(a, b) => {
                let left = self.eval_val(a, v)?;
                // A field of a part of the input (each step of `request.object.spec.x`):
                // what `then` and `eval_val` would do, without the two calls.
                if let (Node::Field(key), Val::Ref(l)) = (&**b, &left) {
                    self.spend(1)?;
                    return self.field(key, l);
                }
                self.then(left, b)
            }
            Node::IndexExpr(a, idx) => {
                let left = self.eval_val(a, v)?;
                self.then(left, idx)
            }
            Node::Index(i) => Ok(match v {
                Value::Array(a) => index_position(a.len(), *i)
                    .and_then(|p| a.get(p))
                    .map_or_else(Val::null, Val::Ref),
                _ => Val::null(),
            }),
            Node::Slice(a, b, c) => match v {
                Value::Array(items) => {
                    let positions = slice_positions(items.len(), *a, *b, *c)?;
                    Ok(Val::List(
                        positions
                            .into_iter()
                            .filter_map(|p| items.get(p).map(Val::Ref))
                            .collect(),
                    ))
                }
                _ => Ok(Val::null()),
            },
            Node::Projection(a, b) => {
                let left = self.eval_val(a, v)?;
                self.project(left, b, None)
            }
            Node::FilterProjection(a, b, cond) => {
                let left = swallowed(self.quietly(|s| s.eval_val(a, v)))?;
                self.project(left, b, Some(cond))
            }
            Node::ValueProjection(a, b) => {
                let left = swallowed(self.quietly(|s| s.eval_val(a, v)))?;
                self.project_values(left, b)
            }
            Node::Flatten(a) => {
                let inner = swallowed(self.quietly(|s| s.eval_val(a, v)))?;
                self.flatten(inner)
            }
            Node::MultiList(items) => self.multi_list(items, v),
            Node::MultiHash(pairs) => self.multi_hash(pairs, v),
            Node::Or(a, b) => {
                let left = lenient(self.quietly(|s| s.eval_val(a, v)))?;
                if left.is_truthy() {
                    Ok(left)
                } else {
                    lenient(self.quietly(|s| s.eval_val(b, v)))
                }
            }
            Node::And(a, b) => {
                let left = lenient(self.quietly(|s| s.eval_val(a, v)))?;
                if left.is_truthy() {
                    self.eval_val(b, v)
                } else {
                    Ok(left)
                }
            }
            Node::Not(a) => {
                let x = lenient(self.quietly(|s| s.eval_val(a, v)))?;
                Ok(Val::Own(Value::Bool(!x.is_truthy())))
            }
            Node::Compare(op, a, b) => {
                let x = lenient(self.quietly(|s| s.eval_val(a, v)))?;
                let y = lenient(self.quietly(|s| s.eval_val(b, v)))?;
                let (x, y) = (self.value(x)?, self.value(y)?);
                Ok(Val::Own(compare(*op, &x, &y)))
            }
            Node::Function(f, args) => self.call(f, args, v),
            Node::ExpRef(_) => Ok(Val::null()),
        }
    }

    /// Evaluates a node against a list result. Nodes that only select from the list keep
    /// its items as they are; the others see the list as a JSON array (a copy).
    fn eval_list<'a>(&mut self, node: &'a Node, items: Vec<Val<'a>>) -> R<'a> {
        match node {
            Node::Identity
            | Node::Field(_)
            | Node::Literal(_)
            | Node::Subexpr(..)
            | Node::Pipe(..)
            | Node::IndexExpr(..)
            | Node::Index(_)
            | Node::Slice(..)
            | Node::Projection(..)
            | Node::FilterProjection(..)
            | Node::ValueProjection(..)
            | Node::Flatten(_) => {}
            _ => {
                let array = self.own(Val::List(items))?;
                let r = self.eval_val(node, &array)?;
                return Ok(Val::Own(self.own(r)?));
            }
        }
        self.spend(1)?;
        match node {
            Node::Identity => Ok(Val::List(items)),
            Node::Literal(lit) => Ok(Val::Ref(lit)),
            Node::Subexpr(a, b) | Node::Pipe(a, b) => {
                let left = self.eval_list(a, items)?;
                self.then(left, b)
            }
            Node::IndexExpr(a, idx) => {
                let left = self.eval_list(a, items)?;
                self.then(left, idx)
            }
            Node::Index(i) => Ok(index_position(items.len(), *i)
                .and_then(|p| items.into_iter().nth(p))
                .unwrap_or_else(Val::null)),
            Node::Slice(a, b, c) => {
                let positions = slice_positions(items.len(), *a, *b, *c)?;
                let mut slots: Vec<Option<Val<'a>>> = items.into_iter().map(Some).collect();
                Ok(Val::List(
                    positions
                        .into_iter()
                        .filter_map(|p| slots.get_mut(p).and_then(Option::take))
                        .collect(),
                ))
            }
            Node::Projection(a, b) => {
                let left = self.eval_list(a, items)?;
                self.project(left, b, None)
            }
            Node::FilterProjection(a, b, cond) => {
                let left = swallowed(self.quietly(|s| s.eval_list(a, items)))?;
                self.project(left, b, Some(cond))
            }
            Node::ValueProjection(a, b) => {
                let left = swallowed(self.quietly(|s| s.eval_list(a, items)))?;
                self.project_values(left, b)
            }
            Node::Flatten(a) => {
                let inner = swallowed(self.quietly(|s| s.eval_list(a, items)))?;
                self.flatten(inner)
            }
            // A list is not an object.
            _ => Ok(Val::null()),
        }
    }

    fn field<'a>(&mut self, key: &str, v: &'a Value) -> R<'a> {
        match v {
            Value::Object(m) => match crate::value::get(m, key) {
                Some(x) => Ok(Val::Ref(x)),
                None if self.ctx.missing_key_is_error && self.quiet > 0 => {
                    Err(Error::new(ErrorKind::UnknownKey, String::new()))
                }
                None if self.ctx.missing_key_is_error => Err(Error::unknown_key(key)),
                None => Ok(Val::null()),
            },
            _ => Ok(Val::null()),
        }
    }

    fn project<'a>(&mut self, left: Val<'a>, rhs: &'a Node, cond: Option<&'a Node>) -> R<'a> {
        let mut out = Vec::new();
        match left {
            Val::Ref(Value::Array(items)) => {
                for item in items {
                    if let Some(x) = self.project_one(Val::Ref(item), rhs, cond)? {
                        out.push(x);
                    }
                }
            }
            Val::Own(Value::Array(items)) => {
                for item in items {
                    if let Some(x) = self.project_one(Val::Own(item), rhs, cond)? {
                        out.push(x);
                    }
                }
            }
            Val::List(items) => {
                for item in items {
                    if let Some(x) = self.project_one(item, rhs, cond)? {
                        out.push(x);
                    }
                }
            }
            _ => return Ok(Val::null()),
        }
        Ok(Val::List(out))
    }

    fn project_one<'a>(
        &mut self,
        item: Val<'a>,
        rhs: &'a Node,
        cond: Option<&'a Node>,
    ) -> Result<Option<Val<'a>>, Error> {
        if let Some(cond) = cond {
            let keep = lenient(self.quietly(|s| s.then_ref(&item, cond)))?;
            if !keep.is_truthy() {
                return Ok(None);
            }
        }
        let x = lenient(self.quietly(|s| s.then(item, rhs)))?;
        if x.is_null() {
            return Ok(None);
        }
        Ok(Some(x))
    }

    fn project_values<'a>(&mut self, left: Val<'a>, rhs: &'a Node) -> R<'a> {
        let mut out = Vec::new();
        match left {
            Val::Ref(Value::Object(m)) => {
                for item in m.values() {
                    if let Some(x) = self.project_one(Val::Ref(item), rhs, None)? {
                        out.push(x);
                    }
                }
            }
            Val::Own(Value::Object(m)) => {
                for (_, item) in m {
                    if let Some(x) = self.project_one(Val::Own(item), rhs, None)? {
                        out.push(x);
                    }
                }
            }
            _ => return Ok(Val::null()),
        }
        Ok(Val::List(out))
    }

    fn flatten<'a>(&mut self, inner: Val<'a>) -> R<'a> {
        let mut out = Vec::new();
        match inner {
            Val::Ref(Value::Array(items)) => {
                for item in items {
                    self.spend(1)?;
                    match item {
                        Value::Array(sub) => {
                            self.spend(sub.len() as u64)?;
                            out.extend(sub.iter().map(Val::Ref));
                        }
                        other => out.push(Val::Ref(other)),
                    }
                }
            }
            Val::Own(Value::Array(items)) => {
                for item in items {
                    self.spend(1)?;
                    match item {
                        Value::Array(sub) => {
                            self.spend(sub.len() as u64)?;
                            out.extend(sub.into_iter().map(Val::Own));
                        }
                        other => out.push(Val::Own(other)),
                    }
                }
            }
            Val::List(items) => {
                for item in items {
                    self.spend(1)?;
                    match item {
                        Val::Ref(Value::Array(sub)) => {
                            self.spend(sub.len() as u64)?;
                            out.extend(sub.iter().map(Val::Ref));
                        }
                        Val::Own(Value::Array(sub)) => {
                            self.spend(sub.len() as u64)?;
                            out.extend(sub.into_iter().map(Val::Own));
                        }
                        Val::List(sub) => {
                            self.spend(sub.len() as u64)?;
                            out.extend(sub);
                        }
                        other => out.push(other),
                    }
                }
            }
            _ => return Ok(Val::null()),
        }
        Ok(Val::List(out))
    }

    fn multi_list<'a>(&mut self, items: &'a [Node], v: &'a Value) -> R<'a> {
        if v.is_null() {
            return Ok(Val::null());
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(lenient(self.quietly(|s| s.eval_val(item, v)))?);
        }
        Ok(Val::List(out))
    }

    fn multi_hash<'a>(&mut self, pairs: &'a [(String, Node)], v: &'a Value) -> R<'a> {
        if v.is_null() {
            return Ok(Val::null());
        }
        let mut out = Map::new();
        for (k, node) in pairs {
            let x = lenient(self.quietly(|s| s.eval_val(node, v)))?;
            let x = self.own(x)?;
            out.insert(k.clone(), x);
        }
        Ok(Val::Own(Value::Object(out)))
    }

    fn call<'a>(&mut self, func: &Func, args: &'a [Node], v: &'a Value) -> R<'a> {
        let f = func.def().ok_or_else(|| {
            Error::new(
                ErrorKind::UnknownFunction,
                format!("unknown function: {}", func.name()),
            )
        })?;
        // The usual one to three arguments are resolved on the stack, not in a new `Vec`.
        match args {
            [a] => {
                let resolved = [self.arg(a, v)?];
                self.invoke(f, &resolved)
            }
            [a, b] => {
                let resolved = [self.arg(a, v)?, self.arg(b, v)?];
                self.invoke(f, &resolved)
            }
            [a, b, c] => {
                let resolved = [self.arg(a, v)?, self.arg(b, v)?, self.arg(c, v)?];
                self.invoke(f, &resolved)
            }
            _ => {
                let mut resolved = Vec::with_capacity(args.len());
                for a in args {
                    resolved.push(self.arg(a, v)?);
                }
                self.invoke(f, &resolved)
            }
        }
    }

    /// A function argument: an expression reference as it is, anything else evaluated.
    fn arg<'a>(&mut self, a: &'a Node, v: &'a Value) -> Result<Arg<'a>, Error> {
        match a {
            Node::ExpRef(inner) => Ok(Arg::ExpRef(inner)),
            other => {
                let x = lenient(self.quietly(|s| s.eval_val(other, v)))?;
                Ok(Arg::Value(self.value(x)?))
            }
        }
    }

    fn invoke<'a>(&mut self, f: &dyn functions::Function, resolved: &[Arg<'_>]) -> R<'a> {
        functions::check_args(f, resolved)?;
        let out = f.call(resolved, self)?;
        // The result is new: charge it, so that chained calls cannot grow values unpaid.
        self.spend(size(&out, self.budget))?;
        Ok(Val::Own(out))
    }

    /// Fails with the budget error when building a string of `bytes` would exceed what is
    /// left; functions whose output can outgrow their input call this before allocating.
    pub(crate) fn ensure_room(&self, name: &str, bytes: usize) -> Result<(), Error> {
        if (bytes / STRING_BYTES_PER_UNIT) as u64 > self.budget {
            return Err(Error::new(
                ErrorKind::Limit,
                format!(
                    "JMESPath evaluation exceeded its work budget: function '{name}' would build a string of {bytes} bytes"
                ),
            ));
        }
        Ok(())
    }

    /// Evaluates an expression reference against a value (for `sort_by`, `map`, ...).
    pub fn eval_ref(&mut self, node: &Node, v: &Value) -> Result<Value, Error> {
        let r = lenient(self.quietly(|s| s.eval_val(node, v)))?;
        self.own(r)
    }
}

fn compare(op: Cmp, x: &Value, y: &Value) -> Value {
    match op {
        Cmp::Eq => Value::Bool(equal(x, y)),
        Cmp::Ne => Value::Bool(!equal(x, y)),
        _ => match (x.as_f64(), y.as_f64()) {
            (Some(a), Some(b)) => Value::Bool(match op {
                Cmp::Lt => a < b,
                Cmp::Le => a <= b,
                Cmp::Gt => a > b,
                _ => a >= b,
            }),
            _ => Value::Null,
        },
    }
}

/// Helper for functions producing numbers.
pub fn num(f: f64) -> Value {
    number(f)
}
