//! The tree-walking evaluator. It returns `Cow` values: paths into the input are borrowed,
//! only constructed values are allocated.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::Context;
use crate::ast::{Cmp, Node};
use crate::error::{Error, ErrorKind};
use crate::functions::{self, Arg};
use crate::value::{NULL, equal, is_truthy, number};

type R<'a> = Result<Cow<'a, Value>, Error>;

/// Evaluation state: the caller's context and the remaining work budget.
pub struct Interp<'c> {
    pub(crate) ctx: &'c Context,
    budget: u64,
}

/// Turns Kyverno's missing-key error into `null` where the value is used as an operand
/// (comparisons, function arguments, `||`/`&&`/`!`, filters, projected and selected items).
fn lenient(r: R<'_>) -> R<'_> {
    match r {
        Err(e) if e.kind == ErrorKind::UnknownKey => Ok(Cow::Borrowed(&NULL)),
        other => other,
    }
}

/// go-jmespath evaluates the left side of a filter projection, a flatten and a value
/// projection and turns any error there into `null`; only the work budget still stops.
fn swallowed(r: R<'_>) -> R<'_> {
    match r {
        Err(e) if e.kind != ErrorKind::Limit => Ok(Cow::Borrowed(&NULL)),
        other => other,
    }
}

/// Bytes of string that weigh as much as one node: copying or building a long string costs
/// budget like the nodes it occupies, so chains that grow strings stay bounded.
pub(crate) const STRING_BYTES_PER_UNIT: usize = 16;

/// Approximate size of a value in nodes (strings by length), stopping once `cap` is passed.
fn size(v: &Value, cap: u64) -> u64 {
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
        }
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
    fn own(&mut self, v: Cow<'_, Value>) -> Result<Value, Error> {
        if let Cow::Borrowed(b) = &v {
            self.spend(size(b, self.budget))?;
        }
        Ok(v.into_owned())
    }

    /// Evaluates `node` against `v`, then `next` against that result.
    fn then<'a>(&mut self, left: Cow<'a, Value>, next: &'a Node) -> R<'a> {
        match left {
            Cow::Borrowed(l) => self.eval(next, l),
            Cow::Owned(l) => {
                let r = self.eval(next, &l)?;
                Ok(Cow::Owned(self.own(r)?))
            }
        }
    }

    /// Evaluates a node.
    pub fn eval<'a>(&mut self, node: &'a Node, v: &'a Value) -> R<'a> {
        self.spend(1)?;
        match node {
            Node::Identity => Ok(Cow::Borrowed(v)),
            Node::Field(key) => self.field(key, v),
            Node::Literal(lit) => Ok(Cow::Borrowed(lit)),
            Node::Subexpr(a, b) | Node::Pipe(a, b) => {
                let left = self.eval(a, v)?;
                self.then(left, b)
            }
            Node::IndexExpr(a, idx) => {
                let left = self.eval(a, v)?;
                self.then(left, idx)
            }
            Node::Index(i) => Ok(index(v, *i)),
            Node::Slice(a, b, c) => slice(v, *a, *b, *c),
            Node::Projection(a, b) => {
                let left = self.eval(a, v)?;
                self.project(left, b, None)
            }
            Node::FilterProjection(a, b, cond) => {
                let left = swallowed(self.eval(a, v))?;
                self.project(left, b, Some(cond))
            }
            Node::ValueProjection(a, b) => {
                let left = swallowed(self.eval(a, v))?;
                self.project_values(left, b)
            }
            Node::Flatten(a) => {
                let inner = swallowed(self.eval(a, v))?;
                self.flatten(inner)
            }
            Node::MultiList(items) => self.multi_list(items, v),
            Node::MultiHash(pairs) => self.multi_hash(pairs, v),
            Node::Or(a, b) => {
                let left = lenient(self.eval(a, v))?;
                if is_truthy(&left) {
                    Ok(left)
                } else {
                    lenient(self.eval(b, v))
                }
            }
            Node::And(a, b) => {
                let left = lenient(self.eval(a, v))?;
                if is_truthy(&left) {
                    self.eval(b, v)
                } else {
                    Ok(left)
                }
            }
            Node::Not(a) => {
                let x = lenient(self.eval(a, v))?;
                Ok(Cow::Owned(Value::Bool(!is_truthy(&x))))
            }
            Node::Compare(op, a, b) => {
                let x = lenient(self.eval(a, v))?;
                let y = lenient(self.eval(b, v))?;
                Ok(Cow::Owned(compare(*op, &x, &y)))
            }
            Node::Function(name, args) => self.call(name, args, v),
            Node::ExpRef(_) => Ok(Cow::Borrowed(&NULL)),
        }
    }

    fn field<'a>(&mut self, key: &str, v: &'a Value) -> R<'a> {
        match v {
            Value::Object(m) => match m.get(key) {
                Some(x) => Ok(Cow::Borrowed(x)),
                None if self.ctx.missing_key_is_error => Err(Error::unknown_key(key)),
                None => Ok(Cow::Borrowed(&NULL)),
            },
            _ => Ok(Cow::Borrowed(&NULL)),
        }
    }

    fn project<'a>(
        &mut self,
        left: Cow<'a, Value>,
        rhs: &'a Node,
        cond: Option<&'a Node>,
    ) -> R<'a> {
        let mut out = Vec::new();
        match left {
            Cow::Borrowed(Value::Array(items)) => {
                for item in items {
                    if let Some(x) = self.project_one(item, rhs, cond)? {
                        out.push(x);
                    }
                }
            }
            Cow::Owned(Value::Array(items)) => {
                for item in &items {
                    if let Some(x) = self.project_one(item, rhs, cond)? {
                        out.push(x);
                    }
                }
            }
            _ => return Ok(Cow::Borrowed(&NULL)),
        }
        Ok(Cow::Owned(Value::Array(out)))
    }

    fn project_one(
        &mut self,
        item: &Value,
        rhs: &Node,
        cond: Option<&Node>,
    ) -> Result<Option<Value>, Error> {
        if let Some(cond) = cond {
            let keep = lenient(self.eval(cond, item))?;
            if !is_truthy(&keep) {
                return Ok(None);
            }
        }
        let x = lenient(self.eval(rhs, item))?;
        if x.is_null() {
            return Ok(None);
        }
        Ok(Some(self.own(x)?))
    }

    fn project_values<'a>(&mut self, left: Cow<'a, Value>, rhs: &'a Node) -> R<'a> {
        let mut out = Vec::new();
        match &left {
            Cow::Borrowed(Value::Object(m)) => {
                for item in m.values() {
                    if let Some(x) = self.project_one(item, rhs, None)? {
                        out.push(x);
                    }
                }
            }
            Cow::Owned(Value::Object(m)) => {
                for item in m.values() {
                    if let Some(x) = self.project_one(item, rhs, None)? {
                        out.push(x);
                    }
                }
            }
            _ => return Ok(Cow::Borrowed(&NULL)),
        }
        Ok(Cow::Owned(Value::Array(out)))
    }

    fn flatten<'a>(&mut self, inner: Cow<'a, Value>) -> R<'a> {
        let Value::Array(items) = inner.as_ref() else {
            return Ok(Cow::Borrowed(&NULL));
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            self.spend(1)?;
            match item {
                Value::Array(sub) => {
                    self.spend(sub.iter().map(|s| size(s, self.budget)).sum())?;
                    out.extend(sub.iter().cloned());
                }
                other => {
                    self.spend(size(other, self.budget))?;
                    out.push(other.clone());
                }
            }
        }
        Ok(Cow::Owned(Value::Array(out)))
    }

    fn multi_list<'a>(&mut self, items: &'a [Node], v: &'a Value) -> R<'a> {
        if v.is_null() {
            return Ok(Cow::Borrowed(&NULL));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let x = lenient(self.eval(item, v))?;
            out.push(self.own(x)?);
        }
        Ok(Cow::Owned(Value::Array(out)))
    }

    fn multi_hash<'a>(&mut self, pairs: &'a [(String, Node)], v: &'a Value) -> R<'a> {
        if v.is_null() {
            return Ok(Cow::Borrowed(&NULL));
        }
        let mut out = Map::new();
        for (k, node) in pairs {
            let x = lenient(self.eval(node, v))?;
            let x = self.own(x)?;
            out.insert(k.clone(), x);
        }
        Ok(Cow::Owned(Value::Object(out)))
    }

    fn call<'a>(&mut self, name: &str, args: &'a [Node], v: &'a Value) -> R<'a> {
        let f = functions::lookup(name).ok_or_else(|| {
            Error::new(
                ErrorKind::UnknownFunction,
                format!("unknown function: {name}"),
            )
        })?;
        let mut resolved = Vec::with_capacity(args.len());
        for a in args {
            match a {
                Node::ExpRef(inner) => resolved.push(Arg::ExpRef(inner)),
                other => resolved.push(Arg::Value(lenient(self.eval(other, v))?)),
            }
        }
        functions::check_args(f, &resolved)?;
        let out = f.call(&resolved, self)?;
        // The result is new: charge it, so that chained calls cannot grow values unpaid.
        self.spend(size(&out, self.budget))?;
        Ok(Cow::Owned(out))
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
        let r = lenient(self.eval(node, v))?;
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

fn index(v: &Value, i: i64) -> Cow<'_, Value> {
    let Value::Array(a) = v else {
        return Cow::Borrowed(&NULL);
    };
    let len = a.len() as i64;
    let pos = if i < 0 { len + i } else { i };
    if pos < 0 || pos >= len {
        return Cow::Borrowed(&NULL);
    }
    a.get(pos as usize)
        .map_or(Cow::Borrowed(&NULL), Cow::Borrowed)
}

fn slice(
    v: &Value,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Result<Cow<'_, Value>, Error> {
    let Value::Array(a) = v else {
        return Ok(Cow::Borrowed(&NULL));
    };
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            "Invalid slice, step cannot be 0",
        ));
    }
    let len = a.len() as i64;
    let cap = |x: i64| -> i64 {
        if x < 0 {
            let y = x + len;
            if y < 0 {
                if step < 0 { -1 } else { 0 }
            } else {
                y
            }
        } else if x >= len {
            if step < 0 { len - 1 } else { len }
        } else {
            x
        }
    };
    let start = start.map_or(if step < 0 { len - 1 } else { 0 }, cap);
    let stop = stop.map_or(if step < 0 { -1 } else { len }, cap);
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        if let Some(x) = usize::try_from(i).ok().and_then(|u| a.get(u)) {
            out.push(x.clone());
        }
        i += step;
    }
    Ok(Cow::Owned(Value::Array(out)))
}

/// Helper for functions producing numbers.
pub fn num(f: f64) -> Value {
    number(f)
}
