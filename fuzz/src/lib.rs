//! Structured inputs shared by the fuzz targets.
//!
//! Random bytes rarely spell `=(key)`, `>= 1Gi` or `{{ request.object }}`, so the values here
//! are built from tokens of Kyverno's pattern and variable syntax mixed with free text.

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Map, Number, Value};

/// Deepest tree [`Json::to_value`] builds; deeper input is cut (depth limits of the code
/// under test are covered by the hostile-input tests, not here).
pub const MAX_DEPTH: usize = 12;

/// One piece of a generated string.
#[derive(Debug, Clone, Arbitrary)]
pub enum Token {
    /// Free text.
    Text(String),
    /// A fixed piece of pattern, anchor or variable syntax.
    Syntax(Syntax),
    /// A small number.
    Int(i16),
}

/// Pieces of Kyverno syntax.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Syntax {
    /// `(`
    Open,
    /// `)`
    Close,
    /// Anchor prefixes.
    Prefix(AnchorPrefix),
    /// Operators and wildcards of leaf patterns.
    Op(Op),
    /// Units of quantities and durations.
    Unit(Unit),
    /// `{{`
    VarOpen,
    /// `}}`
    VarClose,
    /// `\{{`
    VarEscape,
    /// `$(`
    RefOpen,
    /// Common path words.
    Word(Word),
}

/// Anchor prefixes.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum AnchorPrefix {
    /// `=`
    Equality,
    /// `^`
    Existence,
    /// `X`
    Negation,
    /// `<`
    Global,
    /// `+`
    Add,
}

/// Leaf pattern operators.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Op {
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `!`
    Not,
    /// `-` (range)
    Range,
    /// `!-` (not in range)
    NotRange,
    /// `|`
    Or,
    /// `&`
    And,
    /// `*`
    Star,
    /// `?`
    Question,
    /// ` `
    Space,
    /// `.`
    Dot,
    /// `/`
    Slash,
    /// `..`
    Up,
}

/// Units.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Unit {
    /// `Mi`
    Mi,
    /// `Gi`
    Gi,
    /// `m`
    Milli,
    /// `k`
    Kilo,
    /// `h`
    Hour,
    /// `s`
    Second,
    /// `ms`
    Ms,
    /// `e3`
    Exp,
}

/// Words that name fields of the fixed documents.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Word {
    /// `request`
    Request,
    /// `object`
    Object,
    /// `metadata`
    Metadata,
    /// `name`
    Name,
    /// `labels`
    Labels,
    /// `spec`
    Spec,
    /// `containers`
    Containers,
    /// `image`
    Image,
    /// `element`
    Element,
    /// `@`
    At,
    /// `[]`
    Brackets,
    /// `length(`
    Length,
}

impl Syntax {
    fn text(self) -> &'static str {
        match self {
            Syntax::Open => "(",
            Syntax::Close => ")",
            Syntax::Prefix(p) => match p {
                AnchorPrefix::Equality => "=",
                AnchorPrefix::Existence => "^",
                AnchorPrefix::Negation => "X",
                AnchorPrefix::Global => "<",
                AnchorPrefix::Add => "+",
            },
            Syntax::Op(o) => match o {
                Op::Ge => ">=",
                Op::Le => "<=",
                Op::Gt => ">",
                Op::Lt => "<",
                Op::Not => "!",
                Op::Range => "-",
                Op::NotRange => "!-",
                Op::Or => "|",
                Op::And => "&",
                Op::Star => "*",
                Op::Question => "?",
                Op::Space => " ",
                Op::Dot => ".",
                Op::Slash => "/",
                Op::Up => "..",
            },
            Syntax::Unit(u) => match u {
                Unit::Mi => "Mi",
                Unit::Gi => "Gi",
                Unit::Milli => "m",
                Unit::Kilo => "k",
                Unit::Hour => "h",
                Unit::Second => "s",
                Unit::Ms => "ms",
                Unit::Exp => "e3",
            },
            Syntax::VarOpen => "{{",
            Syntax::VarClose => "}}",
            Syntax::VarEscape => "\\{{",
            Syntax::RefOpen => "$(",
            Syntax::Word(w) => match w {
                Word::Request => "request",
                Word::Object => "object",
                Word::Metadata => "metadata",
                Word::Name => "name",
                Word::Labels => "labels",
                Word::Spec => "spec",
                Word::Containers => "containers",
                Word::Image => "image",
                Word::Element => "element",
                Word::At => "@",
                Word::Brackets => "[]",
                Word::Length => "length(",
            },
        }
    }
}

/// A string built from tokens.
#[derive(Debug, Clone, Arbitrary)]
pub struct Text(pub Vec<Token>);

impl Text {
    /// The string.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for t in &self.0 {
            match t {
                Token::Text(s) => out.push_str(s),
                Token::Syntax(s) => out.push_str(s.text()),
                Token::Int(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }
}

/// A JSON value with tokenized strings and keys.
#[derive(Debug, Clone, Arbitrary)]
pub enum Json {
    /// null
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float (non-finite ones become null, as JSON cannot hold them).
    Float(f64),
    /// A string.
    Str(Text),
    /// An array.
    Array(Vec<Json>),
    /// An object.
    Object(Vec<(Text, Json)>),
}

impl Json {
    /// The value, cut at [`MAX_DEPTH`].
    pub fn to_value(&self) -> Value {
        self.at_depth(0)
    }

    fn at_depth(&self, depth: usize) -> Value {
        if depth >= MAX_DEPTH {
            return Value::Null;
        }
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => Value::from(*i),
            Json::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Json::Str(t) => Value::String(t.render()),
            Json::Array(items) => Value::Array(items.iter().map(|v| v.at_depth(depth + 1)).collect()),
            Json::Object(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.render(), v.at_depth(depth + 1));
                }
                Value::Object(map)
            }
        }
    }
}

/// Reads a [`Json`] value, falling back to null on exhausted input.
pub fn json(u: &mut Unstructured<'_>) -> Value {
    Json::arbitrary(u).map_or(Value::Null, |j| j.to_value())
}

/// A fixed Kubernetes-like admission context for the variable targets.
pub fn fixed_context() -> Value {
    serde_json::json!({
        "request": {
            "operation": "CREATE",
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "{{ request.object.metadata.name }}"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.25", "resources": {"limits": {"memory": "1Gi"}}}]}
            },
            "userInfo": {"username": "alice", "groups": ["dev"]}
        },
        "element": {"name": "c", "image": "nginx"},
        "elementIndex": 0,
        "names": ["a", "b", "{{names}}"],
        "loop": "{{loop}}{{loop}}",
        "brace": "{{",
        "empty": ""
    })
}
