//! JMESPath with Kyverno's dialect and its custom functions, kept in one documented registry.
//!
//! ```
//! use palisade_jmespath::{compile, Context};
//! let expr = compile("spec.containers[].image").unwrap();
//! let pod = serde_json::json!({"spec": {"containers": [{"image": "nginx"}]}});
//! assert_eq!(expr.search(&pod, &Context::default()).unwrap(), serde_json::json!(["nginx"]));
//! ```
//!
//! Kyverno's dialect (from `kyverno/go-jmespath` and its engine):
//! - Reading a field that an object does not have is an [`ErrorKind::UnknownKey`] error
//!   (`Unknown key "x" in path`) when it decides the result (the path spine: sub-expressions,
//!   indexes, pipes, the projected value). Where the value is only an operand (comparisons,
//!   function arguments, `||`/`&&`/`!`, filter conditions, projected or selected items) it
//!   counts as `null`. [`Context::spec_missing_keys`] restores standard JMESPath (`null`).
//! - Numbers are float64: whole results are JSON integers (`sum([1,2,3])` is `6`).
//! - Kyverno's functions are registered, and its `sum` replaces the standard one.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

pub mod ast;
mod error;
mod fast;
pub mod functions;
mod interp;
mod lexer;
mod parser;
mod val;
pub mod value;

pub use error::{Error, ErrorKind, ParseError};
pub use functions::{Arg, Category, Function, Group, Ty, functions};
pub use interp::{Found, Interp};
use palisade_primitives::image::ImageConfig;

/// Default work budget: evaluation steps plus copied values, per search.
pub const DEFAULT_BUDGET: u64 = 20_000_000;

/// An instant with the local UTC offset to show it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    /// Seconds since the Unix epoch.
    pub unix_seconds: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
    /// Offset of local time from UTC, in seconds (Kyverno formats `time_now` in local time).
    pub offset_seconds: i32,
}

/// A source of "now" for `time_now`, `time_now_utc` and `time_since(.., "")`.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The system clock, with local time taken as UTC (as in Kyverno's container images).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Instant {
            unix_seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
            offset_seconds: 0,
        }
    }
}

/// A clock that always returns the same instant (tests, reproducible runs).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Instant);

impl Clock for FixedClock {
    fn now(&self) -> Instant {
        self.0
    }
}

/// Evaluation settings: clock, image defaults, missing-key mode and work budget.
#[derive(Clone)]
pub struct Context {
    clock: Arc<dyn Clock>,
    pub(crate) image: ImageConfig,
    pub(crate) missing_key_is_error: bool,
    pub(crate) budget: u64,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            clock: Arc::new(SystemClock),
            image: ImageConfig::default(),
            missing_key_is_error: true,
            budget: DEFAULT_BUDGET,
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("image", &self.image)
            .field("missing_key_is_error", &self.missing_key_is_error)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Uses `clock` for the current time.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Uses a fixed instant as the current time.
    pub fn with_fixed_time(self, now: Instant) -> Self {
        self.with_clock(FixedClock(now))
    }

    /// Sets the image defaults used by `image_normalize`.
    pub fn with_image_config(mut self, image: ImageConfig) -> Self {
        self.image = image;
        self
    }

    /// Standard JMESPath: a missing field is `null`, never an error.
    pub fn spec_missing_keys(mut self) -> Self {
        self.missing_key_is_error = false;
        self
    }

    /// Sets the work budget (evaluation steps plus copied values).
    pub fn with_budget(mut self, budget: u64) -> Self {
        self.budget = budget;
        self
    }

    /// The current instant from the clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    #[cfg(test)]
    pub(crate) fn fixed_test_context() -> Self {
        // 2021-01-02T03:04:05Z
        Context::default().with_fixed_time(Instant {
            unix_seconds: 1_609_556_645,
            nanos: 0,
            offset_seconds: 0,
        })
    }
}

/// A compiled expression: immutable, `Send + Sync`, reusable.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    text: String,
    ast: ast::Node,
    /// What the expression may read of the document it is evaluated against, found once
    /// (callers ask it on every search).
    root_reads: RootReads,
    /// The borrowed-value form, when the expression only reads the document in the shapes
    /// [`fast`] covers: tried first, the interpreter answering what it leaves.
    fast: Option<fast::Plan>,
}

/// The document's top-level fields an expression may read: `whole` when it may read the
/// document as a whole (`@` evaluated against it, which `keys`, `values`, `*` and the like
/// expose), else only `fields`.
#[derive(Debug, Clone, PartialEq, Default)]
struct RootReads {
    whole: bool,
    fields: Vec<String>,
}

impl RootReads {
    fn of(node: &ast::Node) -> RootReads {
        let mut reads = RootReads::default();
        reads.visit(node);
        reads
    }

    /// Parts evaluated against a selected value (right of `.`, `|` and projections) cannot
    /// read the document; every other operand is evaluated against it.
    fn visit(&mut self, node: &ast::Node) {
        use ast::Node;
        match node {
            Node::Identity => self.whole = true,
            Node::Field(key) => {
                if !self.fields.contains(key) {
                    self.fields.push(key.clone());
                }
            }
            Node::Index(_) | Node::Slice(..) | Node::Literal(_) => {}
            Node::Subexpr(a, _)
            | Node::IndexExpr(a, _)
            | Node::Pipe(a, _)
            | Node::Projection(a, _)
            | Node::ValueProjection(a, _)
            | Node::FilterProjection(a, _, _)
            | Node::Flatten(a)
            | Node::Not(a)
            // Conservative: an expression reference is applied to selected values.
            | Node::ExpRef(a) => self.visit(a),
            Node::Or(a, b) | Node::And(a, b) | Node::Compare(_, a, b) => {
                self.visit(a);
                self.visit(b);
            }
            Node::MultiList(items) | Node::Function(_, items) => {
                items.iter().for_each(|n| self.visit(n));
            }
            Node::MultiHash(pairs) => pairs.iter().for_each(|(_, n)| self.visit(n)),
        }
    }
}

/// Compiles an expression.
pub fn compile(expr: &str) -> Result<Expression, ParseError> {
    let ast = parser::parse(expr)?;
    Ok(Expression {
        text: expr.to_string(),
        root_reads: RootReads::of(&ast),
        fast: fast::Plan::of(&ast),
        ast,
    })
}

impl Expression {
    /// Evaluates against `data`, returning an owned value.
    pub fn search(&self, data: &Value, ctx: &Context) -> Result<Value, Error> {
        Ok(self.search_cow(data, ctx)?.into_owned())
    }

    /// Evaluates against `data`, borrowing from it when the result is a part of it.
    pub fn search_cow<'a>(
        &'a self,
        data: &'a Value,
        ctx: &Context,
    ) -> Result<Cow<'a, Value>, Error> {
        if let Some(plan) = &self.fast
            && let Some(found) = fast::Fast::new(ctx).search(plan, data)
        {
            return Ok(found);
        }
        Interp::new(ctx).eval(&self.ast, data)
    }

    /// [`Expression::search_cow`] by the interpreter alone (agreement tests).
    #[doc(hidden)]
    pub fn search_interpreted<'a>(
        &'a self,
        data: &'a Value,
        ctx: &Context,
    ) -> Result<Cow<'a, Value>, Error> {
        Interp::new(ctx).eval(&self.ast, data)
    }

    /// [`Expression::search_cow`] by the borrowed-value evaluator alone: `None` when the
    /// expression is not in its shapes or it leaves this search to the interpreter
    /// (agreement tests).
    #[doc(hidden)]
    pub fn search_fast<'a>(&'a self, data: &'a Value, ctx: &Context) -> Option<Cow<'a, Value>> {
        fast::Fast::new(ctx).search(self.fast.as_ref()?, data)
    }

    /// True when the borrowed-value evaluator covers the expression's shape.
    #[doc(hidden)]
    pub fn has_fast_form(&self) -> bool {
        self.fast.is_some()
    }

    /// Evaluates against `data`; a list result comes back as its items, borrowed from `data`
    /// where they are parts of it (a projection's selected objects are not copied).
    pub fn search_items<'a>(&'a self, data: &'a Value, ctx: &Context) -> Result<Found<'a>, Error> {
        if let Some(plan) = &self.fast
            && let Some(found) = fast::Fast::new(ctx).search_items(plan, data)
        {
            return Ok(found);
        }
        Interp::new(ctx).eval_items(&self.ast, data)
    }

    /// A readable dump of the syntax tree (for `jp parse`).
    pub fn ast(&self) -> String {
        self.ast.dump()
    }

    /// The syntax tree.
    pub fn node(&self) -> &ast::Node {
        &self.ast
    }

    /// True when the expression, evaluated against a document, may read the document's
    /// `field` or the document as a whole (`@`, which `keys`, `values`, `*` and the like
    /// expose). Parts evaluated against a selected value (right of `.`, `|` and projections)
    /// cannot. Decided when compiling.
    pub fn may_read_root_field(&self, field: &str) -> bool {
        self.root_reads.whole || self.root_reads.fields.iter().any(|f| f == field)
    }

    /// True when the document's top-level field `field` is all the expression may read of
    /// it (it reads no other field and never the document as a whole).
    pub fn reads_only_root_field(&self, field: &str) -> bool {
        !self.root_reads.whole && self.root_reads.fields.iter().all(|f| f == field)
    }

    /// The source text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Compiles and evaluates arbitrary text against a fixed document, for fuzzing.
/// It never panics; the result is the outcome as text.
pub fn fuzz_eval(expr: &str) -> String {
    let data = serde_json::json!({
        "a": {"b": [1, 2.5, "x", null, true, {"c": [[1], [2, 3]]}]},
        "s": "Hello", "n": -3, "q": "1.5Gi", "d": "1h30m", "t": "2021-01-01T00:00:00Z",
        "labels": {"app": "web"}, "list": [{"k": 1}, {"k": 2}, {"j": 3}]
    });
    let ctx = Context::default()
        .with_fixed_time(Instant {
            unix_seconds: 0,
            nanos: 0,
            offset_seconds: 0,
        })
        .with_budget(1_000_000);
    match compile(expr) {
        Err(e) => format!("parse error: {e}"),
        Ok(e) => match e.search(&data, &ctx) {
            Ok(v) => v.to_string(),
            Err(err) => format!("error: {err}"),
        },
    }
}

#[cfg(test)]
mod tests;
