//! Type checker: resolves names and functions, checks arity and obvious type mismatches.

use std::collections::HashMap;

use crate::ast::{CompKind, Expr, ExprKind, UnOp};
use crate::registry::Registry;
use crate::types::{Bindings, Type, assignable};
use crate::value::Value;

mod rules;

use rules::{binary_type, index_type, literal_type, no_overload, resolve, select_type};

/// Names that evaluate to type values.
pub(crate) const TYPE_NAMES: &[&str] = &[
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
];

pub(crate) struct Checker<'a> {
    pub vars: &'a HashMap<String, Type>,
    pub reg: &'a Registry,
    scopes: Vec<(String, Type)>,
}

type CResult = Result<Type, (usize, String)>;

impl<'a> Checker<'a> {
    pub(crate) fn new(vars: &'a HashMap<String, Type>, reg: &'a Registry) -> Self {
        Checker {
            vars,
            reg,
            scopes: Vec::new(),
        }
    }

    fn lookup(&self, name: &str) -> Option<Type> {
        if let Some((_, t)) = self.scopes.iter().rev().find(|(n, _)| n == name) {
            return Some(t.clone());
        }
        self.vars.get(name).cloned()
    }

    fn is_namespace_call(&self, target: &Expr, name: &str) -> Option<String> {
        let q = target.qualified_name()?;
        let root = q.split('.').next().unwrap_or_default();
        if self.lookup(root).is_some() {
            return None;
        }
        let full = format!("{q}.{name}");
        self.reg.globals.contains_key(&full).then_some(full)
    }

    /// Checks `e`, rewriting namespaced calls into global calls, and returns its type.
    pub(crate) fn check(&mut self, e: &mut Expr) -> CResult {
        let off = e.off;
        if let ExprKind::Method { target, name, args } = &mut e.kind
            && let Some(full) = self.is_namespace_call(target, name)
        {
            let args = std::mem::take(args);
            e.kind = ExprKind::Call { name: full, args };
        }
        match &mut e.kind {
            ExprKind::Lit(v) => Ok(literal_type(v)),
            ExprKind::Ident(name) => self.ident(name, off),
            ExprKind::Select {
                operand,
                field,
                optional,
            } => {
                let t = self.check(operand)?;
                select_type(&t, field, *optional, off)
            }
            ExprKind::Has { operand, .. } => {
                let t = self.check(operand)?;
                match t {
                    Type::Dyn | Type::Map(..) => Ok(Type::Bool),
                    t => Err((off, format!("has() cannot test a field of type '{t}'"))),
                }
            }
            ExprKind::Index {
                operand,
                index,
                optional,
            } => {
                let t = self.check(operand)?;
                let i = self.check(index)?;
                index_type(&t, &i, *optional, off)
            }
            ExprKind::Call { name, args } => {
                let tys = self.check_all(args)?;
                check_regex_literal(name, args.get(1))?;
                check_time_literal(name, args)?;
                let def = self.reg.globals.get(name.as_str());
                resolve(def, name, &tys, off)
            }
            ExprKind::Method { target, name, args } => {
                let mut tys = vec![self.check(target)?];
                tys.extend(self.check_all(args)?);
                check_regex_literal(name, args.first())?;
                let def = self.reg.methods.get(name.as_str());
                resolve(def, name, &tys, off)
            }
            ExprKind::Unary { op, operand } => {
                let t = self.check(operand)?;
                match (op, &t) {
                    (_, Type::Dyn) => Ok(Type::Dyn),
                    (UnOp::Not, Type::Bool) => Ok(Type::Bool),
                    (UnOp::Neg, Type::Int | Type::Double | Type::Duration) => Ok(t),
                    (UnOp::Not, _) => Err(no_overload(off, "!_", &[t])),
                    (UnOp::Neg, _) => Err(no_overload(off, "-_", &[t])),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.check(lhs)?;
                let r = self.check(rhs)?;
                binary_type(*op, &l, &r)
                    .ok_or_else(|| no_overload(off, &format!("_{}_", op.symbol()), &[l, r]))
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                for side in [a, b] {
                    let t = self.check(side)?;
                    if !assignable(&Type::Bool, &t, &mut Bindings::new()) {
                        return Err((side.off, format!("expected type 'bool' but found '{t}'")));
                    }
                }
                Ok(Type::Bool)
            }
            ExprKind::Cond { cond, then, other } => {
                let c = self.check(cond)?;
                if !assignable(&Type::Bool, &c, &mut Bindings::new()) {
                    return Err((
                        cond.off,
                        format!("ternary condition must be 'bool' but is '{c}'"),
                    ));
                }
                let a = self.check(then)?;
                let b = self.check(other)?;
                if !a.compatible(&b) {
                    return Err((
                        off,
                        format!("ternary branches have different types '{a}' and '{b}'"),
                    ));
                }
                Ok(a.join(&b))
            }
            ExprKind::List(elems) => {
                let mut acc: Option<Type> = None;
                for (el, opt) in elems.iter_mut() {
                    let mut t = self.check(el)?;
                    if *opt {
                        t = unwrap_optional(t, el.off)?;
                    }
                    acc = Some(homogeneous(acc, t, el.off)?);
                }
                Ok(Type::list(acc.unwrap_or(Type::Dyn)))
            }
            ExprKind::Map(entries) => {
                let (mut kt, mut vt) = (None, None);
                for en in entries.iter_mut() {
                    let k = self.check(&mut en.key)?;
                    if !matches!(
                        k,
                        Type::Dyn | Type::String | Type::Int | Type::Uint | Type::Bool
                    ) {
                        return Err((en.key.off, format!("unsupported map key type '{k}'")));
                    }
                    let mut v = self.check(&mut en.value)?;
                    if en.optional {
                        v = unwrap_optional(v, en.value.off)?;
                    }
                    kt = Some(homogeneous(kt, k, en.key.off)?);
                    vt = Some(homogeneous(vt, v, en.value.off)?);
                }
                Ok(Type::map(kt.unwrap_or(Type::Dyn), vt.unwrap_or(Type::Dyn)))
            }
            ExprKind::Comprehension(c) => self.comprehension(c, off),
            ExprKind::Message { name, fields } => {
                let root = name.split('.').next().unwrap_or_default();
                if !self.reg.messages.contains(name.as_str()) && !self.reg.messages.contains(root) {
                    return Err((
                        off,
                        format!("undeclared reference to message type '{name}'"),
                    ));
                }
                for (_, value, optional) in fields.iter_mut() {
                    let t = self.check(value)?;
                    if *optional {
                        unwrap_optional(t, value.off)?;
                    }
                }
                Ok(Type::Dyn)
            }
            ExprKind::Bind { var, init, body } => {
                let t = self.check(init)?;
                self.scopes.push((var.clone(), t));
                let r = self.check(body);
                self.scopes.pop();
                r
            }
            // Made after checking only; checks as the call it stands for.
            ExprKind::OptChain(c) => self.check(&mut c.call),
            ExprKind::OptMap {
                target,
                var,
                body,
                flat,
            } => {
                let t = self.check(target)?;
                let inner = match t {
                    Type::Optional(t) => *t,
                    Type::Dyn => Type::Dyn,
                    t => {
                        return Err((
                            off,
                            format!("optMap/optFlatMap need an optional, found '{t}'"),
                        ));
                    }
                };
                self.scopes.push((var.clone(), inner));
                let b = self.check(body);
                self.scopes.pop();
                let b = b?;
                if *flat {
                    match b {
                        Type::Optional(_) | Type::Dyn => Ok(b),
                        t => Err((
                            body.off,
                            format!("optFlatMap body must be optional, found '{t}'"),
                        )),
                    }
                } else {
                    Ok(Type::optional(b))
                }
            }
        }
    }

    fn check_all(&mut self, args: &mut [Expr]) -> Result<Vec<Type>, (usize, String)> {
        args.iter_mut().map(|a| self.check(a)).collect()
    }

    fn ident(&self, name: &str, off: usize) -> CResult {
        if let Some(t) = self.lookup(name) {
            return Ok(t);
        }
        if TYPE_NAMES.contains(&name) {
            return Ok(Type::TypeType);
        }
        Err((off, format!("undeclared reference to '{name}'")))
    }

    fn comprehension(&mut self, c: &mut crate::ast::Comprehension, off: usize) -> CResult {
        let range = self.check(&mut c.range)?;
        let two = c.var2.is_some();
        let (t1, t2, elem) = match &range {
            Type::List(t) => (
                if two { Type::Int } else { (**t).clone() },
                (**t).clone(),
                (**t).clone(),
            ),
            Type::Map(k, v) => ((**k).clone(), (**v).clone(), (**k).clone()),
            Type::Dyn => (Type::Dyn, Type::Dyn, Type::Dyn),
            t => {
                return Err((
                    c.range.off,
                    format!("expression of type '{t}' cannot be the range of a comprehension"),
                ));
            }
        };
        self.scopes.push((c.var.clone(), t1.clone()));
        if let Some(v2) = &c.var2 {
            self.scopes.push((v2.clone(), t2.clone()));
        }
        let res = self.comp_body(c, off, &t1, &elem);
        self.scopes
            .truncate(self.scopes.len() - 1 - usize::from(two));
        res
    }

    fn comp_body(
        &mut self,
        c: &mut crate::ast::Comprehension,
        off: usize,
        key: &Type,
        elem: &Type,
    ) -> CResult {
        if let Some(f) = &mut c.filter {
            let t = self.check(f)?;
            expect_bool(&t, f.off)?;
        }
        let b = self.check(&mut c.body)?;
        match c.kind {
            CompKind::All | CompKind::Exists | CompKind::ExistsOne | CompKind::Filter => {
                expect_bool(&b, c.body.off)?;
                Ok(if c.kind == CompKind::Filter {
                    Type::list(elem.clone())
                } else {
                    Type::Bool
                })
            }
            CompKind::Map | CompKind::TransformList => Ok(Type::list(b)),
            CompKind::SortBy => Ok(Type::list(elem.clone())),
            CompKind::TransformMap => Ok(Type::map(key.clone(), b)),
            CompKind::TransformMapEntry => match b {
                Type::Map(..) | Type::Dyn => Ok(Type::map(Type::Dyn, Type::Dyn)),
                t => Err((
                    off,
                    format!("transformMapEntry must produce a map, found '{t}'"),
                )),
            },
        }
    }
}

fn expect_bool(t: &Type, off: usize) -> Result<(), (usize, String)> {
    if assignable(&Type::Bool, t, &mut Bindings::new()) {
        Ok(())
    } else {
        Err((off, format!("expected type 'bool' but found '{t}'")))
    }
}

fn unwrap_optional(t: Type, off: usize) -> CResult {
    match t {
        Type::Optional(t) => Ok(*t),
        Type::Dyn => Ok(Type::Dyn),
        t => Err((
            off,
            format!("optional entry must be of optional type, found '{t}'"),
        )),
    }
}

/// Kubernetes enables homogeneous aggregate literals: mixed element types need an explicit dyn().
fn homogeneous(acc: Option<Type>, t: Type, off: usize) -> CResult {
    match acc {
        None => Ok(t),
        Some(a) if a.compatible(&t) => Ok(a.join(&t)),
        Some(a) => Err((
            off,
            format!("expected type '{a}' but found '{t}' (wrap elements in dyn() to mix types)"),
        )),
    }
}

/// Kubernetes validates duration and timestamp literals at compile time.
fn check_time_literal(name: &str, args: &[Expr]) -> Result<(), (usize, String)> {
    let [
        Expr {
            off,
            kind: ExprKind::Lit(Value::String(s)),
        },
    ] = args
    else {
        return Ok(());
    };
    let r = match name {
        "duration" => crate::library::time::parse_duration(s).map(|_| ()),
        "timestamp" => crate::library::time::parse_timestamp(s).map(|_| ()),
        _ => return Ok(()),
    };
    r.map_err(|e| match e {
        crate::error::RtError::Msg(m, _) => (*off, m),
        _ => (*off, format!("invalid {name} literal")),
    })
}

/// Kubernetes validates regex literals at compile time.
fn check_regex_literal(name: &str, pattern: Option<&Expr>) -> Result<(), (usize, String)> {
    if !crate::library::regex::takes_pattern(name) {
        return Ok(());
    }
    if let Some(Expr {
        off,
        kind: ExprKind::Lit(Value::String(p)),
    }) = pattern
    {
        crate::library::regex::compile(p).map_err(|e| (*off, e))?;
    }
    Ok(())
}
