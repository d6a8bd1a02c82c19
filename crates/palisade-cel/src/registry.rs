//! The function registry shared by the checker and the interpreter.

use std::sync::Arc;

use crate::error::RtError;
use crate::eval::Ctx;
use crate::fasthash::NameMap;
use crate::types::Type;
use crate::value::Value;

/// A builtin implementation: receives the receiver (for methods) followed by the arguments.
pub(crate) type Builtin = fn(&mut Ctx<'_>, &[Value]) -> Result<Value, RtError>;

/// A host callback registered by the embedder; synchronous by design.
pub type HostFn = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// How a function is implemented.
#[derive(Clone)]
pub(crate) enum Imp {
    Builtin(Builtin),
    Host(HostFn),
}

/// One signature: parameter types (receiver first for methods) and the result type.
#[derive(Debug, Clone, PartialEq)]
pub struct Overload {
    /// Parameter types; for a receiver-style function the receiver comes first.
    pub params: Vec<Type>,
    /// Result type.
    pub result: Type,
}

impl Overload {
    /// Builds a signature.
    pub fn new(params: Vec<Type>, result: Type) -> Self {
        Overload { params, result }
    }
}

/// A named function with its signatures and implementation.
#[derive(Clone)]
pub(crate) struct FuncDef {
    pub overloads: Vec<Overload>,
    /// Tried in order until one does not answer `RtError::NoMatch`.
    pub imps: Vec<Imp>,
}

/// Global functions (including namespaced ones such as `math.greatest`) and receiver-style methods.
#[derive(Clone, Default)]
pub(crate) struct Registry {
    pub globals: NameMap<FuncDef>,
    pub methods: NameMap<FuncDef>,
    /// Message type names allowed in `Name{...}` construction (a root covers `Root.a.b`).
    pub messages: std::collections::HashSet<String>,
}

impl Registry {
    /// Registers a builtin global function, adding to any existing signatures of that name.
    pub(crate) fn global(&mut self, name: &str, sigs: Vec<Overload>, f: Builtin) {
        add(&mut self.globals, name, sigs, Imp::Builtin(f));
    }

    /// Registers a builtin receiver-style function.
    pub(crate) fn method(&mut self, name: &str, sigs: Vec<Overload>, f: Builtin) {
        add(&mut self.methods, name, sigs, Imp::Builtin(f));
    }
}

/// Adds a host function (used by the public environment builder).
pub(crate) fn add_host(map: &mut NameMap<FuncDef>, name: &str, sigs: Vec<Overload>, f: HostFn) {
    add(map, name, sigs, Imp::Host(f));
}

fn add(map: &mut NameMap<FuncDef>, name: &str, sigs: Vec<Overload>, imp: Imp) {
    match map.get_mut(name) {
        Some(def) => {
            def.overloads.extend(sigs);
            def.imps.push(imp);
        }
        None => {
            map.insert(
                name.to_string(),
                FuncDef {
                    overloads: sigs,
                    imps: vec![imp],
                },
            );
        }
    }
}

/// Shorthand for building a signature in library tables.
pub(crate) fn sig(params: &[Type], result: Type) -> Overload {
    Overload::new(params.to_vec(), result)
}
