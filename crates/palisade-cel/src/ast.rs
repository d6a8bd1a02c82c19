//! Syntax tree produced by the parser, with macros already expanded.

use std::sync::Arc;

use crate::value::Value;

/// An expression node and the byte offset it starts at (for error positions).
#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub off: usize,
    pub kind: ExprKind,
}

/// Which comprehension a macro expanded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompKind {
    All,
    Exists,
    ExistsOne,
    /// `map(x, t)` or `map(x, f, t)`.
    Map,
    Filter,
    /// Two-variable `transformList(i, v, [f,] t)`.
    TransformList,
    /// Two-variable `transformMap(k, v, [f,] t)`.
    TransformMap,
    /// Two-variable `transformMapEntry(k, v, [f,] t)`.
    TransformMapEntry,
    /// `list.sortBy(x, key)` from cel-go's lists extension.
    SortBy,
}

/// A map literal entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: Expr,
    pub value: Expr,
    pub optional: bool,
}

/// Expression kinds.
#[derive(Debug, Clone)]
pub(crate) enum ExprKind {
    Lit(Value),
    Ident(String),
    /// `operand.field`, or `operand.?field` when `optional`.
    Select {
        operand: Box<Expr>,
        /// Shared so each evaluation can build the map key without allocating.
        field: Arc<str>,
        optional: bool,
    },
    /// `has(operand.field)`.
    Has {
        operand: Box<Expr>,
        field: Arc<str>,
    },
    /// `operand[index]`, or `operand[?index]` when `optional`.
    Index {
        operand: Box<Expr>,
        index: Box<Expr>,
        optional: bool,
    },
    /// Global call `f(args)`, or a namespaced one such as `math.greatest(args)`.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// Receiver-style call `target.f(args)`.
    Method {
        target: Box<Expr>,
        name: String,
        args: Vec<Expr>,
    },
    Unary {
        op: UnOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cond {
        cond: Box<Expr>,
        then: Box<Expr>,
        other: Box<Expr>,
    },
    /// List literal; `true` flags mark `?elem` optional elements.
    List(Vec<(Expr, bool)>),
    Map(Vec<Entry>),
    Comprehension(Box<Comprehension>),
    /// Message construction `Name{field: value}` (Kubernetes' ApplyConfiguration and JSONPatch
    /// literals); `true` flags `?field` optional initializers. Evaluates to a map.
    Message {
        name: String,
        fields: Vec<(String, Expr, bool)>,
    },
    /// `cel.bind(var, init, body)`: evaluates `init` once and names it in `body`.
    Bind {
        var: String,
        init: Box<Expr>,
        body: Box<Expr>,
    },
    /// `opt.optMap(v, e)` (flat = false) or `opt.optFlatMap(v, e)` (flat = true).
    OptMap {
        target: Box<Expr>,
        var: String,
        body: Box<Expr>,
        flat: bool,
    },
    /// `x.?a.?b.orValue(d)` or `.hasValue()` on a chain of field selections from a variable,
    /// prepared after checking so that evaluation walks a document without re-reading the
    /// tree (see `eval/optchain.rs`). Behaves exactly as `call`, which it keeps.
    OptChain(Box<OptChain>),
}

/// A prepared optional chain: the selections from the variable `var` upward.
#[derive(Debug, Clone)]
pub(crate) struct OptChain {
    /// The original `orValue` / `hasValue` call, evaluated when the fast walk does not apply.
    pub call: Expr,
    pub var: String,
    /// From the variable upward.
    pub steps: Box<[ChainStep]>,
    /// The first `required` steps are plain selections under the chain: a missing key there is
    /// an error, not an absent value.
    pub required: usize,
    /// `orValue`'s default; `None` for `hasValue`.
    pub default: Option<Expr>,
}

/// One field selection of an [`OptChain`], with its key prepared for document lookups.
#[derive(Debug, Clone)]
pub(crate) struct ChainStep {
    pub key: crate::doc::FieldKey,
    pub off: usize,
}

/// An expanded comprehension macro.
#[derive(Debug, Clone)]
pub(crate) struct Comprehension {
    pub kind: CompKind,
    pub range: Expr,
    /// First variable: the element (one-variable form) or index/key (two-variable form).
    pub var: String,
    /// Second variable of two-variable forms (the value).
    pub var2: Option<String>,
    /// Optional filter of `map(x, f, t)` / `transform*(…, f, t)`.
    pub filter: Option<Expr>,
    /// The predicate or transform.
    pub body: Expr,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnOp {
    Not,
    Neg,
}

/// Binary operators other than the short-circuit logical ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

impl BinOp {
    /// The operator as written in source, for messages.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
        }
    }
}

impl Expr {
    pub(crate) fn new(off: usize, kind: ExprKind) -> Self {
        Expr { off, kind }
    }

    /// The qualified name `a.b.c` if this is a chain of plain selects on an identifier.
    pub(crate) fn qualified_name(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Ident(n) => Some(n.clone()),
            ExprKind::Select {
                operand,
                field,
                optional: false,
            } => operand.qualified_name().map(|p| format!("{p}.{field}")),
            _ => None,
        }
    }
}

impl Expr {
    /// Direct sub-expressions, for passes that walk the whole tree.
    pub(crate) fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Lit(_) | ExprKind::Ident(_) => vec![],
            ExprKind::Select { operand, .. } | ExprKind::Has { operand, .. } => vec![operand],
            ExprKind::Index { operand, index, .. } => vec![operand, index],
            ExprKind::Call { args, .. } => args.iter().collect(),
            ExprKind::Method { target, args, .. } => {
                std::iter::once(&**target).chain(args.iter()).collect()
            }
            ExprKind::Unary { operand, .. } => vec![operand],
            ExprKind::Binary { lhs, rhs, .. }
            | ExprKind::And(lhs, rhs)
            | ExprKind::Or(lhs, rhs) => vec![lhs, rhs],
            ExprKind::Cond { cond, then, other } => vec![cond, then, other],
            ExprKind::List(elems) => elems.iter().map(|(e, _)| e).collect(),
            ExprKind::Map(entries) => entries.iter().flat_map(|e| [&e.key, &e.value]).collect(),
            ExprKind::Comprehension(c) => {
                let mut v = vec![&c.range, &c.body];
                v.extend(c.filter.as_ref());
                v
            }
            ExprKind::OptMap { target, body, .. } => vec![target, body],
            ExprKind::Bind { init, body, .. } => vec![init, body],
            ExprKind::Message { fields, .. } => fields.iter().map(|(_, e, _)| e).collect(),
            ExprKind::OptChain(c) => vec![&c.call],
        }
    }
}
