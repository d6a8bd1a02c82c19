//! A second evaluator for expressions that only read the document: field chains, multi-select
//! lists, flattens, projections, filters, `||`, `&&`, `!`, comparisons and a few functions
//! (`contains`, `starts_with`, `ends_with`, `keys`, `length`, `items` of an empty value). It
//! walks the borrowed document and builds nothing but the lists it selects (of borrows) and
//! the booleans and numbers it computes; only the final result is made a JSON value.
//!
//! It answers exactly as [`crate::interp::Interp`] does or not at all: whatever it does not
//! decide the same way (a missing key that becomes an error, a function's type error, a
//! value it does not model, a search that may run out of budget) makes it give up
//! ([`Stop::Bail`]) and the interpreter evaluates the expression from the start. Which
//! expressions it covers is decided once, when compiling ([`Plan::of`]).

use std::borrow::Cow;

use serde_json::Value;

use crate::ast::{Cmp, Node};
use crate::interp::{Found, STRING_BYTES_PER_UNIT, size};
use crate::val::index_position;
use crate::value::{NULL, equal, is_truthy, number};

/// The covered functions, recognised by name when compiling (names resolve to one
/// registry entry, so a name decides the function).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Builtin {
    Contains,
    StartsWith,
    EndsWith,
    Keys,
    Length,
    Items,
}

impl Builtin {
    fn of(name: &str, arity: usize) -> Option<Builtin> {
        let (f, n) = match name {
            "contains" => (Builtin::Contains, 2),
            "starts_with" => (Builtin::StartsWith, 2),
            "ends_with" => (Builtin::EndsWith, 2),
            "keys" => (Builtin::Keys, 1),
            "length" => (Builtin::Length, 1),
            "items" => (Builtin::Items, 3),
            _ => return None,
        };
        // A wrong arity is the interpreter's error to word.
        (n == arity).then_some(f)
    }
}

/// An expression in the covered shapes, compiled from its syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    Identity,
    Field(Box<str>),
    /// `a.b.c`: fields read one after the other.
    Path(Box<[Box<str>]>),
    Literal(Value),
    Index(i64),
    /// `a.b`, `a | b` and `a[index]` (evaluated alike).
    Then(Box<Plan>, Box<Plan>),
    Project(Box<Plan>, Box<Plan>),
    Filter(Box<Plan>, Box<Plan>, Box<Plan>),
    Flatten(Box<Plan>),
    List(Vec<Plan>),
    Or(Box<Plan>, Box<Plan>),
    And(Box<Plan>, Box<Plan>),
    Not(Box<Plan>),
    Compare(Cmp, Box<Plan>, Box<Plan>),
    Call(Builtin, Vec<Plan>),
}

impl Plan {
    /// True for the nodes the interpreter evaluates on a list result without copying it.
    fn selects(&self) -> bool {
        matches!(
            self,
            Plan::Identity
                | Plan::Field(_)
                | Plan::Path(_)
                | Plan::Literal(_)
                | Plan::Index(_)
                | Plan::Then(..)
                | Plan::Project(..)
                | Plan::Filter(..)
                | Plan::Flatten(_)
        )
    }

    /// The plan of `node`, when every part of it is covered.
    pub(crate) fn of(node: &Node) -> Option<Plan> {
        let b = |n: &Node| Plan::of(n).map(Box::new);
        Some(match node {
            Node::Identity => Plan::Identity,
            Node::Field(k) => Plan::Field(k.as_str().into()),
            Node::Literal(v) => Plan::Literal(v.clone()),
            Node::Index(i) => Plan::Index(*i),
            Node::Subexpr(..) if fields(node, &mut Vec::new()) => {
                let mut keys = Vec::new();
                fields(node, &mut keys);
                Plan::Path(keys.into_iter().map(Into::into).collect())
            }
            Node::Subexpr(a, c) | Node::Pipe(a, c) | Node::IndexExpr(a, c) => {
                Plan::Then(b(a)?, b(c)?)
            }
            Node::Projection(a, c) => Plan::Project(b(a)?, b(c)?),
            Node::FilterProjection(a, c, d) => Plan::Filter(b(a)?, b(c)?, b(d)?),
            Node::Flatten(a) => Plan::Flatten(b(a)?),
            Node::MultiList(items) => {
                Plan::List(items.iter().map(Plan::of).collect::<Option<Vec<_>>>()?)
            }
            Node::Or(a, c) => Plan::Or(b(a)?, b(c)?),
            Node::And(a, c) => Plan::And(b(a)?, b(c)?),
            Node::Not(a) => Plan::Not(b(a)?),
            Node::Compare(op, a, c) => Plan::Compare(*op, b(a)?, b(c)?),
            Node::Function(f, args) => {
                f.def()?;
                let builtin = Builtin::of(f.name(), args.len())?;
                Plan::Call(
                    builtin,
                    args.iter().map(Plan::of).collect::<Option<Vec<_>>>()?,
                )
            }
            Node::Slice(..) | Node::ValueProjection(..) | Node::MultiHash(_) | Node::ExpRef(_) => {
                return None;
            }
        })
    }
}

/// Collects the fields of `a.b.c` (any nesting of `.` between fields), false for anything
/// else.
fn fields<'n>(node: &'n Node, out: &mut Vec<&'n str>) -> bool {
    match node {
        Node::Field(k) => {
            out.push(k);
            true
        }
        Node::Subexpr(a, b) => fields(a, out) && fields(b, out),
        _ => false,
    }
}

/// An intermediate result: borrowed from the document or the expression, or a small value
/// computed on the way.
#[derive(Debug, Clone)]
enum B<'a> {
    Ref(&'a Value),
    /// A key of one of the document's objects, as a string (`keys(@)`).
    Str(&'a str),
    Bool(bool),
    /// A number computed (`length`), as Go holds it.
    Num(f64),
    /// A list of results (a projection, a flatten, a multi-select list).
    List(Vec<B<'a>>),
}

const NULL_B: B<'static> = B::Ref(&NULL);

/// Why an evaluation stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Kyverno's missing-key error (operands turn it into `null`, as the interpreter does).
    Missing,
    /// Not decided here: the interpreter evaluates the expression instead.
    Bail,
}

type R<'a> = Result<B<'a>, Stop>;

#[inline]
fn lenient(r: R<'_>) -> R<'_> {
    match r {
        Err(Stop::Missing) => Ok(NULL_B),
        other => other,
    }
}

impl B<'_> {
    fn is_truthy(&self) -> bool {
        match self {
            B::Ref(v) => is_truthy(v),
            B::Str(s) => !s.is_empty(),
            B::Bool(b) => *b,
            B::Num(_) => true,
            B::List(items) => !items.is_empty(),
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, B::Ref(Value::Null))
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            B::Ref(Value::String(s)) => Some(s),
            B::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            B::Ref(v) => v.as_f64(),
            B::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// What the interpreter charges to copy this result (its `size`).
    fn weight(&self, cap: u64) -> u64 {
        match self {
            B::Ref(v) => size(v, cap),
            B::Str(s) => 1 + (s.len() / STRING_BYTES_PER_UNIT) as u64,
            B::Bool(_) | B::Num(_) => 1,
            B::List(items) => {
                let mut n = 1u64;
                for x in items {
                    if n > cap {
                        break;
                    }
                    n += x.weight(cap - n);
                }
                n
            }
        }
    }

    fn into_value(self) -> Value {
        match self {
            B::Ref(v) => v.clone(),
            B::Str(s) => Value::String(s.to_string()),
            B::Bool(b) => Value::Bool(b),
            B::Num(n) => number(n),
            B::List(items) => Value::Array(items.into_iter().map(B::into_value).collect()),
        }
    }
}

/// Deep equality as [`equal`] decides it on the values these stand for.
fn same(x: &B<'_>, y: &B<'_>) -> bool {
    match (x, y) {
        (B::Ref(a), B::Ref(b)) => equal(a, b),
        (B::List(a), B::List(b)) => a.len() == b.len() && a.iter().zip(b).all(|(p, q)| same(p, q)),
        (B::List(a), B::Ref(Value::Array(b))) | (B::Ref(Value::Array(b)), B::List(a)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(p, q)| same(p, &B::Ref(q)))
        }
        (B::Bool(a), B::Bool(b)) => a == b,
        (B::Bool(a), B::Ref(Value::Bool(b))) | (B::Ref(Value::Bool(b)), B::Bool(a)) => a == b,
        (B::Num(a), B::Num(b)) => a == b,
        (B::Num(a), B::Ref(Value::Number(b))) | (B::Ref(Value::Number(b)), B::Num(a)) => {
            b.as_f64() == Some(*a)
        }
        (B::Str(_), _) | (_, B::Str(_)) => match (x.as_str(), y.as_str()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        _ => false,
    }
}

/// The evaluation state: the missing-key mode and what is left of the work budget. Every
/// charge is at least what the interpreter charges for the same step, so a search that
/// stays within the budget here does there too; one that does not is left to it.
pub(crate) struct Fast {
    strict: bool,
    left: u64,
}

impl Fast {
    pub(crate) fn new(ctx: &crate::Context) -> Fast {
        Fast {
            strict: ctx.missing_key_is_error,
            left: ctx.budget,
        }
    }

    #[inline]
    fn charge(&mut self, units: u64) -> Result<(), Stop> {
        if units > self.left {
            return Err(Stop::Bail);
        }
        self.left -= units;
        Ok(())
    }

    /// The result as the interpreter's `search_cow` gives it, or `None` when the
    /// interpreter must decide.
    pub(crate) fn search<'a>(&mut self, plan: &'a Plan, data: &'a Value) -> Option<Cow<'a, Value>> {
        let r = self.eval(plan, &B::Ref(data)).ok()?;
        self.value(r)
    }

    /// [`Fast::search`] with a list's items kept apart (the interpreter's `eval_items`).
    pub(crate) fn search_items<'a>(
        &mut self,
        plan: &'a Plan,
        data: &'a Value,
    ) -> Option<Found<'a>> {
        match self.eval(plan, &B::Ref(data)).ok()? {
            B::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.value(item)?);
                }
                Some(Found::List(out))
            }
            B::Ref(Value::Array(items)) => {
                Some(Found::List(items.iter().map(Cow::Borrowed).collect()))
            }
            other => Some(Found::One(self.value(other)?)),
        }
    }

    /// A result as a JSON value: borrowed when it is a part of the input, else built (a
    /// list charged as the interpreter charges its copy).
    fn value<'a>(&mut self, r: B<'a>) -> Option<Cow<'a, Value>> {
        match r {
            B::Ref(v) => Some(Cow::Borrowed(v)),
            list @ B::List(_) => {
                self.charge(list.weight(self.left)).ok()?;
                Some(Cow::Owned(list.into_value()))
            }
            other => Some(Cow::Owned(other.into_value())),
        }
    }

    fn eval<'a>(&mut self, plan: &'a Plan, cur: &B<'a>) -> R<'a> {
        // The interpreter evaluates the nodes that do not select on a copy of a list, and
        // copies the result.
        let on_list = matches!(cur, B::List(_)) && !plan.selects();
        if on_list {
            self.charge(cur.weight(self.left))?;
        }
        // The interpreter charges one a node, and one more for a field on the right of `.`.
        self.charge(2)?;
        let r = match plan {
            Plan::Identity => {
                if let B::List(items) = cur {
                    self.charge(items.len() as u64)?;
                }
                cur.clone()
            }
            Plan::Field(key) => self.field(cur, key)?,
            Plan::Path(keys) => self.path(cur, keys)?,
            Plan::Literal(v) => B::Ref(v),
            Plan::Index(i) => match cur {
                B::Ref(Value::Array(a)) => index_position(a.len(), *i)
                    .and_then(|p| a.get(p))
                    .map_or(NULL_B, B::Ref),
                B::List(items) => index_position(items.len(), *i)
                    .and_then(|p| items.get(p))
                    .cloned()
                    .unwrap_or(NULL_B),
                _ => NULL_B,
            },
            Plan::Then(a, b) => {
                let left = self.eval(a, cur)?;
                self.then(left, b)?
            }
            Plan::Project(a, b) => {
                let left = self.eval(a, cur)?;
                self.project(left, b, None)?
            }
            Plan::Filter(a, b, cond) => {
                let left = swallowed(self.eval(a, cur))?;
                self.project(left, b, Some(cond))?
            }
            Plan::Flatten(a) => match &**a {
                // `[a, b][]` and `x.[a, b][]`: the selected items go straight into the
                // flattened list.
                Plan::List(items) => match cur {
                    B::Ref(v) if !v.is_null() => {
                        self.charge(2)?;
                        self.flatten_list(items, v)?
                    }
                    _ => {
                        let inner = swallowed(self.eval(a, cur))?;
                        self.flatten(inner)?
                    }
                },
                Plan::Then(x, list) if matches!(**list, Plan::List(_)) => {
                    let Plan::List(items) = &**list else {
                        return Err(Stop::Bail);
                    };
                    self.charge(2)?;
                    match swallowed(self.eval(x, cur))? {
                        B::Ref(v) if !v.is_null() => {
                            self.charge(4)?;
                            self.flatten_list(items, v)?
                        }
                        left => {
                            let inner = swallowed(self.then(left, list))?;
                            self.flatten(inner)?
                        }
                    }
                }
                _ => {
                    let inner = swallowed(self.eval(a, cur))?;
                    self.flatten(inner)?
                }
            },
            Plan::List(items) => {
                if cur.is_null() {
                    NULL_B
                } else {
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        out.push(lenient(self.item(item, cur))?);
                    }
                    B::List(out)
                }
            }
            Plan::Or(a, b) => {
                let left = lenient(self.item(a, cur))?;
                if left.is_truthy() {
                    left
                } else {
                    lenient(self.item(b, cur))?
                }
            }
            Plan::And(a, b) => {
                let left = lenient(self.item(a, cur))?;
                if left.is_truthy() {
                    self.item(b, cur)?
                } else {
                    left
                }
            }
            Plan::Not(a) => {
                let x = lenient(self.item(a, cur))?;
                B::Bool(!x.is_truthy())
            }
            Plan::Compare(op, a, b) => {
                let x = lenient(self.item(a, cur))?;
                let y = lenient(self.item(b, cur))?;
                self.copied(&x)?;
                self.copied(&y)?;
                compare(*op, &x, &y)
            }
            Plan::Call(f, args) => self.call(*f, args, cur)?,
        };
        if on_list {
            self.charge(r.weight(self.left))?;
        }
        Ok(r)
    }

    /// `[a, b][]` evaluated against the object `v`: each item, lenient, spliced into one list.
    fn flatten_list<'a>(&mut self, items: &'a [Plan], v: &'a Value) -> R<'a> {
        let cur = B::Ref(v);
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let x = lenient(self.item(item, &cur))?;
            self.charge(1)?;
            match x {
                B::Ref(Value::Array(sub)) => {
                    self.charge(sub.len() as u64)?;
                    out.extend(sub.iter().map(B::Ref));
                }
                B::List(sub) => {
                    self.charge(sub.len() as u64)?;
                    out.extend(sub);
                }
                other => out.push(other),
            }
        }
        Ok(B::List(out))
    }

    /// An operand or an item of a multi-select list: the simple ones (a field, a path, a
    /// literal, `@`) evaluated without a call to `eval`, charged as it charges them.
    #[inline]
    fn item<'a>(&mut self, plan: &'a Plan, cur: &B<'a>) -> R<'a> {
        match plan {
            Plan::Field(key) => {
                self.charge(2)?;
                self.field(cur, key)
            }
            Plan::Path(keys) => {
                self.charge(2)?;
                self.path(cur, keys)
            }
            Plan::Literal(v) => {
                self.charge(2)?;
                Ok(B::Ref(v))
            }
            Plan::Identity if !matches!(cur, B::List(_)) => {
                self.charge(2)?;
                Ok(cur.clone())
            }
            _ => self.eval(plan, cur),
        }
    }

    /// A chain of fields (`request.object.spec`), link by link as the interpreter reads it.
    #[inline]
    fn path<'a>(&mut self, cur: &B<'a>, keys: &[Box<str>]) -> R<'a> {
        let B::Ref(mut v) = *cur else {
            // Not an object: every link is `null`.
            self.charge(2 * keys.len() as u64)?;
            return Ok(NULL_B);
        };
        self.charge(2 * keys.len() as u64)?;
        for key in keys {
            v = match v {
                Value::Object(m) => match crate::value::get(m, key) {
                    Some(x) => x,
                    None if self.strict => return Err(Stop::Missing),
                    None => &NULL,
                },
                _ => return Ok(NULL_B),
            };
        }
        Ok(B::Ref(v))
    }

    /// Charges what the interpreter's copy of a list operand costs.
    fn copied(&mut self, x: &B<'_>) -> Result<(), Stop> {
        if let B::List(_) = x {
            self.charge(x.weight(self.left))?;
        }
        Ok(())
    }

    /// Evaluates `next` against a result, as the interpreter's `then` does.
    #[inline]
    fn then<'a>(&mut self, left: B<'a>, next: &'a Plan) -> R<'a> {
        match left {
            B::Ref(v) => {
                // The usual right sides, without a call to `eval`.
                match next {
                    Plan::Field(key) => {
                        self.charge(2)?;
                        self.field(&B::Ref(v), key)
                    }
                    Plan::Path(keys) => {
                        self.charge(2)?;
                        self.path(&B::Ref(v), keys)
                    }
                    Plan::Identity => {
                        self.charge(2)?;
                        Ok(B::Ref(v))
                    }
                    _ => self.eval(next, &B::Ref(v)),
                }
            }
            B::List(_) => {
                if let Plan::Identity = next {
                    self.charge(2)?;
                    return Ok(left);
                }
                self.eval(next, &left)
            }
            // A value built on the way: the interpreter copies what it gives.
            built => {
                let r = self.eval(next, &built)?;
                self.charge(r.weight(self.left))?;
                Ok(r)
            }
        }
    }

    #[inline]
    fn field<'a>(&mut self, cur: &B<'a>, key: &str) -> R<'a> {
        match cur {
            B::Ref(Value::Object(m)) => match crate::value::get(m, key) {
                Some(x) => Ok(B::Ref(x)),
                None if self.strict => Err(Stop::Missing),
                None => Ok(NULL_B),
            },
            _ => Ok(NULL_B),
        }
    }

    fn project<'a>(&mut self, left: B<'a>, rhs: &'a Plan, cond: Option<&'a Plan>) -> R<'a> {
        let left = match left {
            B::List(mut items) if matches!(rhs, Plan::Identity) && cond.is_none() => {
                // `x[]` of a list: its items but `null`, kept where they are.
                for item in &items {
                    self.charge(2)?;
                    if !matches!(item, B::Ref(_) | B::List(_)) {
                        self.charge(2 + item.weight(self.left))?;
                    }
                }
                items.retain(|x| !x.is_null());
                return Ok(B::List(items));
            }
            other => other,
        };
        let mut out = Vec::new();
        match left {
            B::Ref(Value::Array(items)) => {
                for item in items {
                    if let Some(x) = self.project_one(B::Ref(item), rhs, cond)? {
                        out.push(x);
                    }
                }
            }
            B::List(items) => {
                for item in items {
                    if let Some(x) = self.project_one(item, rhs, cond)? {
                        out.push(x);
                    }
                }
            }
            _ => return Ok(NULL_B),
        }
        Ok(B::List(out))
    }

    #[inline]
    fn project_one<'a>(
        &mut self,
        item: B<'a>,
        rhs: &'a Plan,
        cond: Option<&'a Plan>,
    ) -> Result<Option<B<'a>>, Stop> {
        if let Some(cond) = cond {
            let keep = match &item {
                B::Ref(_) => lenient(self.eval(cond, &item))?,
                B::List(items) => {
                    self.charge(items.len() as u64)?;
                    lenient(self.eval(cond, &item))?
                }
                _ => {
                    let r = lenient(self.eval(cond, &item))?;
                    self.charge(r.weight(self.left))?;
                    r
                }
            };
            if !keep.is_truthy() {
                return Ok(None);
            }
        }
        let x = lenient(self.then(item, rhs))?;
        if x.is_null() {
            return Ok(None);
        }
        Ok(Some(x))
    }

    fn flatten<'a>(&mut self, inner: B<'a>) -> R<'a> {
        let mut out = Vec::new();
        match inner {
            B::Ref(Value::Array(items)) => {
                for item in items {
                    self.charge(1)?;
                    match item {
                        Value::Array(sub) => {
                            self.charge(sub.len() as u64)?;
                            out.extend(sub.iter().map(B::Ref));
                        }
                        other => out.push(B::Ref(other)),
                    }
                }
            }
            B::List(items) => {
                for item in items {
                    self.charge(1)?;
                    match item {
                        B::Ref(Value::Array(sub)) => {
                            self.charge(sub.len() as u64)?;
                            out.extend(sub.iter().map(B::Ref));
                        }
                        B::List(sub) => {
                            self.charge(sub.len() as u64)?;
                            out.extend(sub);
                        }
                        other => out.push(other),
                    }
                }
            }
            _ => return Ok(NULL_B),
        }
        Ok(B::List(out))
    }

    fn call<'a>(&mut self, f: Builtin, args: &'a [Plan], cur: &B<'a>) -> R<'a> {
        let mut resolved: [B<'a>; 3] = [NULL_B, NULL_B, NULL_B];
        for (slot, a) in resolved.iter_mut().zip(args) {
            let x = lenient(self.item(a, cur))?;
            self.copied(&x)?;
            *slot = x;
        }
        let [a, b, c] = &resolved;
        // A type the function does not take is the interpreter's error to word.
        let out = match f {
            Builtin::Contains => B::Bool(match (a, b.as_str()) {
                // A string among a document's or a literal's items: only strings equal it.
                (B::Ref(Value::Array(items)), Some(needle)) => items
                    .iter()
                    .any(|i| matches!(i, Value::String(s) if s == needle)),
                (B::Ref(Value::Array(items)), _) => items.iter().any(|i| same(&B::Ref(i), b)),
                (B::List(items), _) => items.iter().any(|i| same(i, b)),
                (hay, needle) => match (hay.as_str(), needle) {
                    (Some(hay), Some(needle)) => hay.contains(needle),
                    (Some(_), None) => false,
                    (None, _) => return Err(Stop::Bail),
                },
            }),
            Builtin::StartsWith | Builtin::EndsWith => match (a.as_str(), b.as_str()) {
                (Some(x), Some(y)) if f == Builtin::StartsWith => B::Bool(x.starts_with(y)),
                (Some(x), Some(y)) => B::Bool(x.ends_with(y)),
                _ => return Err(Stop::Bail),
            },
            Builtin::Keys => match a {
                B::Ref(Value::Object(m)) => {
                    let keys: Vec<B<'a>> = m.keys().map(|k| B::Str(k)).collect();
                    let out = B::List(keys);
                    self.charge(out.weight(self.left))?;
                    return Ok(out);
                }
                _ => return Err(Stop::Bail),
            },
            Builtin::Length => B::Num(match a {
                B::Ref(Value::String(s)) => s.chars().count(),
                B::Str(s) => s.chars().count(),
                B::Ref(Value::Array(x)) => x.len(),
                B::List(x) => x.len(),
                B::Ref(Value::Object(x)) => x.len(),
                _ => return Err(Stop::Bail),
            } as f64),
            Builtin::Items => {
                // Only of an empty object or array (the usual `x || {}` of an absent map):
                // pairs would be built values this evaluator does not model.
                let empty = match a {
                    B::Ref(Value::Object(m)) => m.is_empty(),
                    B::Ref(Value::Array(x)) => x.is_empty(),
                    B::List(x) => x.is_empty(),
                    _ => false,
                };
                if !empty || b.as_str().is_none() || c.as_str().is_none() {
                    return Err(Stop::Bail);
                }
                B::List(Vec::new())
            }
        };
        self.charge(1)?;
        Ok(out)
    }
}

/// go-jmespath turns every error on the left of a filter, a flatten or a value projection
/// into `null`; one the interpreter may word differently is left to it.
fn swallowed(r: R<'_>) -> R<'_> {
    lenient(r)
}

fn compare<'a>(op: Cmp, x: &B<'a>, y: &B<'a>) -> B<'a> {
    match op {
        Cmp::Eq => B::Bool(same(x, y)),
        Cmp::Ne => B::Bool(!same(x, y)),
        _ => match (x.as_f64(), y.as_f64()) {
            (Some(a), Some(b)) => B::Bool(match op {
                Cmp::Lt => a < b,
                Cmp::Le => a <= b,
                Cmp::Gt => a > b,
                _ => a >= b,
            }),
            _ => NULL_B,
        },
    }
}
