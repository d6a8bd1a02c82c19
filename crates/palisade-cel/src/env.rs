//! The environment (declarations and functions) and compiled programs.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use crate::activation::Activation;
use crate::ast::{Expr, ExprKind};
use crate::checker::Checker;
use crate::error::{CompileError, EvalError, Position, RtError};
use crate::eval::{Ctx, Interp};
use crate::registry::{HostFn, Overload, Registry, add_host};
use crate::types::Type;
use crate::value::Value;

/// Kubernetes' per-expression runtime cost limit (`PerCallLimit`).
pub const PER_CALL_LIMIT: u64 = 1_000_000;

/// Builds an [`Env`]: declare variables and register host functions.
#[derive(Clone)]
pub struct EnvBuilder {
    vars: HashMap<String, Type>,
    reg: Registry,
    cost_limit: u64,
}

impl EnvBuilder {
    /// Declares a variable (use [`Type::Dyn`] for JSON documents such as `object`).
    pub fn variable(mut self, name: impl Into<String>, ty: Type) -> Self {
        self.vars.insert(name.into(), ty);
        self
    }

    /// Registers a global function such as `resource.Get(...)`; namespaced names contain dots.
    /// Each overload lists the parameter types and the result type.
    pub fn function<F>(mut self, name: &str, overloads: Vec<Overload>, f: F) -> Self
    where
        F: Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        let f: HostFn = Arc::new(f);
        add_host(&mut self.reg.globals, name, overloads, f);
        self
    }

    /// Registers a receiver-style function `target.name(args)`; the receiver is `args[0]` and
    /// the first parameter type of each overload.
    pub fn method<F>(mut self, name: &str, overloads: Vec<Overload>, f: F) -> Self
    where
        F: Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        let f: HostFn = Arc::new(f);
        add_host(&mut self.reg.methods, name, overloads, f);
        self
    }

    /// Allows message construction `name{...}` (and `name.sub{...}`), e.g. `Object` for
    /// ApplyConfiguration or `JSONPatch` for JSON patch literals. Messages evaluate to maps.
    pub fn message_type(mut self, name: impl Into<String>) -> Self {
        self.reg.messages.insert(name.into());
        self
    }

    /// Overrides the runtime cost limit (default [`PER_CALL_LIMIT`]).
    pub fn cost_limit(mut self, limit: u64) -> Self {
        self.cost_limit = limit;
        self
    }

    /// Finishes the environment.
    pub fn build(self) -> Env {
        Env {
            inner: Arc::new(EnvInner {
                vars: self.vars,
                reg: self.reg,
                cost_limit: self.cost_limit,
            }),
        }
    }
}

struct EnvInner {
    vars: HashMap<String, Type>,
    reg: Registry,
    cost_limit: u64,
}

/// A CEL environment with the Kubernetes libraries. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Env {
    inner: Arc<EnvInner>,
}

impl Env {
    /// A builder preloaded with the standard library and the Kubernetes libraries.
    pub fn kubernetes() -> EnvBuilder {
        let mut reg = Registry::default();
        crate::library::register_all(&mut reg);
        EnvBuilder {
            vars: HashMap::new(),
            reg,
            cost_limit: PER_CALL_LIMIT,
        }
    }

    /// Parses and type-checks `src` once; the program can then be evaluated many times.
    pub fn compile(&self, src: &str) -> Result<Program, CompileError> {
        let mut expr = crate::parser::parse(src).map_err(|(o, m)| CompileError::new(src, o, m))?;
        let ty = Checker::new(&self.inner.vars, &self.inner.reg)
            .check(&mut expr)
            .map_err(|(o, m)| CompileError::new(src, o, m))?;
        crate::fold::fold(&mut expr);
        let mut regexes = HashMap::new();
        collect_regexes(&expr, &mut regexes);
        Ok(Program {
            src: Arc::from(src),
            expr,
            ty,
            env: self.inner.clone(),
            regexes,
        })
    }
}

/// Precompiles literal patterns so evaluation does not recompile them.
fn collect_regexes(e: &Expr, out: &mut HashMap<String, Arc<Regex>>) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        let lit = match &e.kind {
            ExprKind::Call { name, args } if crate::library::regex::takes_pattern(name) => {
                args.get(1)
            }
            ExprKind::Method { name, args, .. } if crate::library::regex::takes_pattern(name) => {
                args.first()
            }
            _ => None,
        };
        if let Some(Expr {
            kind: ExprKind::Lit(Value::String(p)),
            ..
        }) = lit
            && let Ok(r) = crate::library::regex::compile(p)
        {
            out.insert(p.to_string(), Arc::new(r));
        }
        stack.extend(e.children());
    }
}

/// A compiled expression, reusable across evaluations and threads.
pub struct Program {
    src: Arc<str>,
    expr: Expr,
    ty: Type,
    env: Arc<EnvInner>,
    regexes: HashMap<String, Arc<Regex>>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("src", &self.src)
            .field("type", &self.ty)
            .finish()
    }
}

impl Program {
    /// The expression text.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The checked result type (`Dyn` when it depends on JSON input).
    pub fn result_type(&self) -> &Type {
        &self.ty
    }

    /// Static worst-case cost when every list, map and string in the input has
    /// `assumed_size` elements. Compare it with [`PER_CALL_LIMIT`] at load time to reject
    /// expressions whose cost explodes with input size (e.g. nested comprehensions).
    pub fn estimated_cost(&self, assumed_size: u64) -> u64 {
        crate::estimate::estimate(&self.expr, assumed_size)
    }

    /// Evaluates the program.
    pub fn eval(&self, act: &Activation) -> Result<Value, EvalError> {
        self.eval_with_cost(act).0
    }

    /// Evaluates the program and also returns the runtime cost spent.
    pub fn eval_with_cost(&self, act: &Activation) -> (Result<Value, EvalError>, u64) {
        let ctx = Ctx::new(self.env.cost_limit, &self.regexes);
        let mut interp = Interp::new(ctx, act, &self.env.reg);
        let r = interp.eval(&self.expr);
        let cost = interp.ctx.cost();
        (r.map_err(|e| self.to_eval_error(e)), cost)
    }

    /// Evaluates the program and converts the result to JSON.
    pub fn eval_json(&self, act: &Activation) -> Result<serde_json::Value, EvalError> {
        self.eval(act)?.to_json()
    }

    fn to_eval_error(&self, e: RtError) -> EvalError {
        match e {
            RtError::Cost => EvalError::CostLimitExceeded {
                limit: self.env.cost_limit,
            },
            RtError::Msg(message, off) => EvalError::Runtime {
                position: Position::at(&self.src, off.unwrap_or(0)),
                message,
            },
            RtError::NoMatch => EvalError::Runtime {
                position: Position::default(),
                message: "no such overload".into(),
            },
        }
    }
}
