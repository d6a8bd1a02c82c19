//! The function registry: one [`Function`] trait, every function in one list.
//!
//! Each family lives in its own file and exposes a `DEFS` slice of [`FnDef`]; Kyverno's
//! definitions come after the builtins so that Kyverno's `sum` replaces the standard one.

use palisade_primitives::fnv::FnvMap;
use std::borrow::Cow;
use std::sync::OnceLock;

use serde_json::Value;

use crate::ast::Node;
use crate::error::{Error, ErrorKind};
use crate::interp::Interp;
use crate::value::type_name;

mod arithmetic;
mod builtin;
mod encoding;
pub(crate) mod gotime;
mod k8s;
mod misc;
mod regex;
mod string;
mod time;
mod x509;

/// Where a function comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// A standard JMESPath builtin.
    JMESPath,
    /// A Kyverno custom function, with its group.
    Kyverno(Group),
}

/// Groups of Kyverno functions (for `jp function` listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// String manipulation.
    String,
    /// Numbers, quantities, durations.
    Arithmetic,
    /// Time and dates.
    Time,
    /// Regular expressions and wildcards.
    Regex,
    /// Base64, hashes, JSON/YAML decoding.
    Encoding,
    /// X.509 certificates.
    X509,
    /// Semantic versions.
    Semver,
    /// Kubernetes helpers (labels, images).
    K8s,
    /// Everything else.
    Misc,
}

/// A JMESPath function.
pub trait Function: Send + Sync {
    /// The name used in expressions.
    fn name(&self) -> &str;
    /// Signature text, e.g. `compare(string, string) number`.
    fn signature(&self) -> &str;
    /// One or two lines of documentation.
    fn doc(&self) -> &str;
    /// Builtin or Kyverno (with group).
    fn category(&self) -> Category;
    /// Declared parameters; empty means "any arguments" (as go-jmespath treats it).
    fn params(&self) -> &[Param];
    /// Runs the function on checked arguments.
    fn call(&self, args: &[Arg<'_>], interp: &mut Interp<'_>) -> Result<Value, Error>;
}

/// A parameter type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Anything.
    Any,
    /// A number.
    Number,
    /// A string.
    String,
    /// A boolean.
    Boolean,
    /// An array.
    Array,
    /// An object.
    Object,
    /// An array of numbers.
    ArrayNumber,
    /// An array of strings.
    ArrayString,
    /// An expression reference (`&expr`).
    ExpRef,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Any => "any",
            Ty::Number => "number",
            Ty::String => "string",
            Ty::Boolean => "boolean",
            Ty::Array => "array",
            Ty::Object => "object",
            Ty::ArrayNumber => "array[number]",
            Ty::ArrayString => "array[string]",
            Ty::ExpRef => "expref",
        }
    }

    fn accepts(self, arg: &Arg<'_>) -> bool {
        let v = match arg {
            Arg::ExpRef(_) => return self == Ty::ExpRef,
            Arg::Value(v) => v.as_ref(),
        };
        match self {
            Ty::Any => true,
            Ty::Number => v.is_number(),
            Ty::String => v.is_string(),
            Ty::Boolean => v.is_boolean(),
            Ty::Array => v.is_array(),
            Ty::Object => v.is_object(),
            Ty::ArrayNumber => v.as_array().is_some_and(|a| a.iter().all(Value::is_number)),
            Ty::ArrayString => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            Ty::ExpRef => false,
        }
    }
}

/// A declared parameter: accepted types, and whether it repeats.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Accepted types (any of them).
    pub types: &'static [Ty],
    /// True for the last parameter of a variadic function.
    pub variadic: bool,
}

/// Shorthand for a required parameter.
pub(crate) const fn p(types: &'static [Ty]) -> Param {
    Param {
        types,
        variadic: false,
    }
}

/// Shorthand for a variadic parameter.
pub(crate) const fn var(types: &'static [Ty]) -> Param {
    Param {
        types,
        variadic: true,
    }
}

/// An evaluated argument.
pub enum Arg<'a> {
    /// A value.
    Value(Cow<'a, Value>),
    /// An expression reference.
    ExpRef(&'a Node),
}

impl Arg<'_> {
    /// The value (null for an expression reference).
    pub fn value(&self) -> &Value {
        match self {
            Arg::Value(v) => v,
            Arg::ExpRef(_) => &crate::value::NULL,
        }
    }
}

/// Implementation signature of a [`FnDef`].
pub type Imp = fn(&[Arg<'_>], &mut Interp<'_>) -> Result<Value, Error>;

/// A function defined by data; every function in this crate is one.
pub struct FnDef {
    /// Name.
    pub name: &'static str,
    /// Signature text.
    pub sig: &'static str,
    /// Documentation.
    pub doc: &'static str,
    /// Category.
    pub cat: Category,
    /// Parameters.
    pub params: &'static [Param],
    /// Implementation.
    pub imp: Imp,
}

impl Function for FnDef {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &str {
        self.sig
    }
    fn doc(&self) -> &str {
        self.doc
    }
    fn category(&self) -> Category {
        self.cat
    }
    fn params(&self) -> &[Param] {
        self.params
    }
    fn call(&self, args: &[Arg<'_>], interp: &mut Interp<'_>) -> Result<Value, Error> {
        (self.imp)(args, interp)
    }
}

fn families() -> [&'static [FnDef]; 9] {
    [
        builtin::DEFS,
        string::DEFS,
        arithmetic::DEFS,
        regex::DEFS,
        encoding::DEFS,
        misc::DEFS,
        time::DEFS,
        k8s::DEFS,
        x509::DEFS,
    ]
}

struct Registry {
    list: Vec<&'static dyn Function>,
    // FNV-1a: function names are short and fixed, and every call looks its function up (the
    // default SipHash costs several times more).
    by_name: FnvMap<&'static str, &'static dyn Function>,
}

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let mut by_name: FnvMap<&'static str, &'static dyn Function> = FnvMap::default();
        for family in families() {
            for def in family {
                by_name.insert(def.name, def);
            }
        }
        let mut list: Vec<&'static dyn Function> = by_name.values().copied().collect();
        list.sort_by(|a, b| a.name().cmp(b.name()));
        Registry { list, by_name }
    })
}

/// Every function, sorted by name (Kyverno's `sum` replaces the builtin).
pub fn functions() -> &'static [&'static dyn Function] {
    &registry().list
}

/// Finds a function by name.
pub fn lookup(name: &str) -> Option<&'static dyn Function> {
    registry().by_name.get(name).copied()
}

fn describe(v: &Arg<'_>) -> String {
    match v {
        Arg::ExpRef(_) => "expref".to_string(),
        Arg::Value(v) => format!("{} ({})", v, type_name(v)),
    }
}

/// go-jmespath's argument resolution: arity and types.
pub(crate) fn check_args(f: &dyn Function, args: &[Arg<'_>]) -> Result<(), Error> {
    let params = f.params();
    let Some(last) = params.last() else {
        return Ok(());
    };
    let arity_ok = if last.variadic {
        args.len() >= params.len()
    } else {
        args.len() == params.len()
    };
    if !arity_ok {
        let expected = if last.variadic {
            format!("at least {}", params.len())
        } else {
            params.len().to_string()
        };
        return Err(Error::new(
            ErrorKind::Arity,
            format!(
                "JMESPath function '{}': invalid arity, expected {expected} arguments, got {}",
                f.name(),
                args.len()
            ),
        ));
    }
    for (i, arg) in args.iter().enumerate() {
        let spec = params.get(i).unwrap_or(last);
        if !spec.types.iter().any(|t| t.accepts(arg)) {
            let want: Vec<&str> = spec.types.iter().map(|t| t.name()).collect();
            return Err(Error::new(
                ErrorKind::InvalidType,
                format!(
                    "JMESPath function '{}': argument {}: invalid type for: {}, expected: {}",
                    f.name(),
                    i + 1,
                    describe(arg),
                    want.join("|")
                ),
            ));
        }
    }
    Ok(())
}

/// The string argument at `i` (already type-checked).
pub(crate) fn s<'a>(args: &'a [Arg<'_>], i: usize) -> &'a str {
    args.get(i).and_then(|a| a.value().as_str()).unwrap_or("")
}

/// The number argument at `i` (already type-checked).
pub(crate) fn n(args: &[Arg<'_>], i: usize) -> f64 {
    args.get(i).and_then(|a| a.value().as_f64()).unwrap_or(0.0)
}

/// The value argument at `i`.
pub(crate) fn v<'a>(args: &'a [Arg<'_>], i: usize) -> &'a Value {
    args.get(i).map_or(&crate::value::NULL, Arg::value)
}

/// The expression-reference argument at `i`.
pub(crate) fn expref<'a>(args: &'a [Arg<'_>], i: usize) -> Result<&'a Node, Error> {
    match args.get(i) {
        Some(Arg::ExpRef(n)) => Ok(n),
        _ => Err(Error::new(
            ErrorKind::InvalidType,
            "expected an expression reference",
        )),
    }
}

/// Go's `ifaceToString` used by Kyverno's regex functions: numbers as float32 text.
pub(crate) fn iface_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(palisade_primitives::gofloat::format_f32_plain(
            n.as_f64().unwrap_or(0.0),
        )),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use serde_json::Value;

    use crate::{Context, compile};

    /// Evaluates `expr` on `data` with a fixed clock.
    pub fn eval(expr: &str, data: &Value) -> Result<Value, crate::Error> {
        let e = compile(expr)
            .map_err(|e| crate::Error::new(crate::ErrorKind::InvalidValue, e.to_string()))?;
        e.search(data, &Context::fixed_test_context())
    }

    /// Asserts `expr` on `null` gives `want`.
    pub fn check(cases: &[(&str, Value)]) {
        for (expr, want) in cases {
            match eval(expr, &Value::Null) {
                Ok(got) => assert_eq!(&got, want, "{expr}"),
                Err(e) => panic!("{expr}: {e}"),
            }
        }
    }

    /// Asserts `expr` on `null` fails with a message containing `needle`.
    pub fn check_err(cases: &[(&str, &str)]) {
        for (expr, needle) in cases {
            match eval(expr, &Value::Null) {
                Ok(got) => panic!("{expr}: expected an error, got {got}"),
                Err(e) => assert!(
                    e.message.contains(needle),
                    "{expr}: {e} does not contain {needle}"
                ),
            }
        }
    }
}
