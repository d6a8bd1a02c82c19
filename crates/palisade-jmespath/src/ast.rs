//! The syntax tree and its readable dump (for `jp parse`).

use std::fmt::Write;

use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// The function a call names, found in the registry when parsing (a call is evaluated on
/// every search; the name is not looked up each time). An unknown name is kept: calling it
/// is an error when evaluated, as before.
#[derive(Clone)]
pub struct Func {
    name: String,
    def: Option<&'static dyn crate::functions::Function>,
}

impl Func {
    /// The function named `name`.
    pub fn new(name: String) -> Func {
        let def = crate::functions::lookup(&name);
        Func { name, def }
    }

    /// The name as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registered function, if the name is known.
    pub(crate) fn def(&self) -> Option<&'static dyn crate::functions::Function> {
        self.def
    }
}

impl PartialEq for Func {
    fn eq(&self, other: &Func) -> bool {
        self.name == other.name
    }
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.name.fmt(f)
    }
}

/// A node of a compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `@`
    Identity,
    /// `foo` or `"foo"`
    Field(String),
    /// `[3]` (applied by [`Node::IndexExpr`])
    Index(i64),
    /// `[start:stop:step]`
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// A literal value.
    Literal(Value),
    /// `left.right`
    Subexpr(Box<Node>, Box<Node>),
    /// `left[index or slice]`
    IndexExpr(Box<Node>, Box<Node>),
    /// List projection: evaluate right on each element of left (an array).
    Projection(Box<Node>, Box<Node>),
    /// Object projection (`*`): evaluate right on each value of left (an object).
    ValueProjection(Box<Node>, Box<Node>),
    /// `left[?cond].right`
    FilterProjection(Box<Node>, Box<Node>, Box<Node>),
    /// `left[]` flattening one level.
    Flatten(Box<Node>),
    /// `[a, b]`
    MultiList(Vec<Node>),
    /// `{k: a, ...}`
    MultiHash(Vec<(String, Node)>),
    /// `a || b`
    Or(Box<Node>, Box<Node>),
    /// `a && b`
    And(Box<Node>, Box<Node>),
    /// `!a`
    Not(Box<Node>),
    /// `a == b` and the other comparators.
    Compare(Cmp, Box<Node>, Box<Node>),
    /// `a | b`
    Pipe(Box<Node>, Box<Node>),
    /// `name(args...)`
    Function(Func, Vec<Node>),
    /// `&expr`
    ExpRef(Box<Node>),
}

impl Node {
    /// An indented, one-node-per-line dump of the tree.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        self.dump_into(&mut out, 0);
        out
    }

    fn dump_into(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        let (label, children): (String, Vec<&Node>) = match self {
            Node::Identity => ("Identity".into(), vec![]),
            Node::Field(name) => (format!("Field {name:?}"), vec![]),
            Node::Index(i) => (format!("Index {i}"), vec![]),
            Node::Slice(a, b, c) => (format!("Slice {}:{}:{}", opt(a), opt(b), opt(c)), vec![]),
            Node::Literal(v) => (format!("Literal {v}"), vec![]),
            Node::Subexpr(a, b) => ("Subexpression".into(), vec![a, b]),
            Node::IndexExpr(a, b) => ("IndexExpression".into(), vec![a, b]),
            Node::Projection(a, b) => ("Projection".into(), vec![a, b]),
            Node::ValueProjection(a, b) => ("ValueProjection".into(), vec![a, b]),
            Node::FilterProjection(a, b, c) => ("FilterProjection".into(), vec![a, b, c]),
            Node::Flatten(a) => ("Flatten".into(), vec![a]),
            Node::MultiList(items) => ("MultiSelectList".into(), items.iter().collect()),
            Node::MultiHash(pairs) => {
                let _ = writeln!(out, "{pad}MultiSelectHash");
                for (k, v) in pairs {
                    let _ = writeln!(out, "{pad}  Key {k:?}");
                    v.dump_into(out, depth + 2);
                }
                return;
            }
            Node::Or(a, b) => ("OrExpression".into(), vec![a, b]),
            Node::And(a, b) => ("AndExpression".into(), vec![a, b]),
            Node::Not(a) => ("NotExpression".into(), vec![a]),
            Node::Compare(op, a, b) => (format!("Comparator {}", op.symbol()), vec![a, b]),
            Node::Pipe(a, b) => ("Pipe".into(), vec![a, b]),
            Node::Function(f, args) => (format!("Function {}", f.name()), args.iter().collect()),
            Node::ExpRef(a) => ("ExpRef".into(), vec![a]),
        };
        let _ = writeln!(out, "{pad}{label}");
        for child in children {
            child.dump_into(out, depth + 1);
        }
    }
}

fn opt(v: &Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}
