//! Kubernetes' admission-policy CEL evaluation, shared by `validate.cel` rules, Kyverno's
//! CEL policy types and ValidatingAdmissionPolicies: compile once, then evaluate match
//! conditions, lazily memoized `variables`, validations with their messages, and audit
//! annotations against an [`Activation`] holding `object`, `oldObject`, `request`, ...

use std::any::Any;
use std::sync::{Arc, Mutex, Weak};

use palisade_cel::{Activation, Env, EnvBuilder, Opaque, Position, Program, Type, Value};

use super::types::{AuditAnnotation, MatchCondition, Validation, Variable};

/// The variables of Kubernetes' admission CEL environment (all declared `dyn`).
pub const ADMISSION_VARIABLES: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "params",
    "namespaceObject",
    "authorizer",
    "variables",
];

/// The Kubernetes admission environment: the Kubernetes libraries and [`ADMISSION_VARIABLES`].
pub fn admission_env() -> EnvBuilder {
    ADMISSION_VARIABLES
        .iter()
        .fold(Env::kubernetes(), |env, name| {
            env.variable(*name, Type::Dyn)
        })
}

/// An expression that does not compile, located by field path and position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message} (at {position} in `{expression}`)")]
pub struct ExprError {
    /// Field path, e.g. `spec.validations[0].expression`.
    pub path: String,
    /// The expression text.
    pub expression: String,
    /// Where in the expression the problem is.
    pub position: Position,
    /// What is wrong.
    pub message: String,
}

/// Compiles one expression, locating any error at `path`.
pub fn compile_expr(env: &Env, path: &str, src: &str) -> Result<Program, ExprError> {
    env.compile(src).map_err(|e| ExprError {
        path: path.to_string(),
        expression: src.to_string(),
        position: e.position,
        message: e.message,
    })
}

/// A compiled named expression (match condition, variable or audit annotation).
#[derive(Debug)]
pub struct Named {
    /// Its name (or annotation key).
    pub name: String,
    /// The program.
    pub program: Program,
    /// For a variable whose result [`SharedVariables`] may share: the hash of its text,
    /// computed once here rather than on every request.
    share: Option<u64>,
}

impl Named {
    fn new(name: String, program: Program) -> Self {
        let src = program.source();
        let share = SharedVariables::shareable(src)
            .then(|| palisade_primitives::fnv::fnv1a(src.as_bytes()));
        Named {
            name,
            program,
            share,
        }
    }
}

/// Compiles match conditions found at `path` (`spec.matchConditions`).
pub fn compile_conditions(
    env: &Env,
    path: &str,
    conditions: &[MatchCondition],
) -> Result<Vec<Named>, ExprError> {
    conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(Named::new(
                c.name.clone(),
                compile_expr(env, &format!("{path}[{i}].expression"), &c.expression)?,
            ))
        })
        .collect()
}

/// Compiles variables found at `path` (`spec.variables`).
pub fn compile_variables(
    env: &Env,
    path: &str,
    variables: &[Variable],
) -> Result<Arc<[Named]>, ExprError> {
    variables
        .iter()
        .enumerate()
        .map(|(i, v)| {
            Ok(Named::new(
                v.name.clone(),
                compile_expr(env, &format!("{path}[{i}].expression"), &v.expression)?,
            ))
        })
        .collect()
}

/// Compiles audit annotations found at `path`.
pub fn compile_annotations(
    env: &Env,
    path: &str,
    annotations: &[AuditAnnotation],
) -> Result<Vec<Named>, ExprError> {
    annotations
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Ok(Named::new(
                a.key.clone(),
                compile_expr(
                    env,
                    &format!("{path}[{i}].valueExpression"),
                    &a.value_expression,
                )?,
            ))
        })
        .collect()
}

/// A compiled validation with its message sources.
#[derive(Debug)]
pub struct CompiledValidation {
    /// The expression text (used in the fallback message).
    pub expression: String,
    /// The validation program.
    pub program: Program,
    /// Static message.
    pub message: Option<String>,
    /// Message program.
    pub message_expression: Option<Program>,
    /// Reason.
    pub reason: Option<String>,
}

/// Compiles validations found at `path` (`spec.validations`); `default_message` fills in
/// validations without one (a `validate.cel` rule's `validate.message`).
pub fn compile_validations(
    env: &Env,
    path: &str,
    validations: &[Validation],
    default_message: Option<&str>,
) -> Result<Vec<CompiledValidation>, ExprError> {
    validations
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let message_expression = v
                .message_expression
                .as_deref()
                .filter(|m| !m.trim().is_empty())
                .map(|m| compile_expr(env, &format!("{path}[{i}].messageExpression"), m))
                .transpose()?;
            let message = v
                .message
                .clone()
                .filter(|m| !m.is_empty())
                .or_else(|| default_message.map(str::to_string));
            Ok(CompiledValidation {
                expression: v.expression.clone(),
                program: compile_expr(env, &format!("{path}[{i}].expression"), &v.expression)?,
                message,
                message_expression,
                reason: v.reason.clone(),
            })
        })
        .collect()
}

/// The result of evaluating match conditions.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchOutcome {
    /// Every condition holds.
    Match,
    /// Some condition is false.
    NoMatch,
    /// Some condition failed to evaluate and none was false (message joins the errors).
    Error(String),
}

/// Kubernetes' match-condition semantics: any false condition means no match, even if
/// others failed; otherwise any error is reported.
pub fn match_conditions(conditions: &[Named], act: &Activation) -> MatchOutcome {
    let mut errors = Vec::new();
    for c in conditions {
        match c.program.eval(act) {
            Ok(Value::Bool(false)) => return MatchOutcome::NoMatch,
            Ok(Value::Bool(true)) => {}
            Ok(other) => errors.push(format!(
                "match condition '{}' must evaluate to bool, got {}",
                c.name,
                other.type_name()
            )),
            Err(e) => errors.push(format!(
                "failed to evaluate match condition '{}': {e}",
                c.name
            )),
        }
    }
    if errors.is_empty() {
        MatchOutcome::Match
    } else {
        MatchOutcome::Error(errors.join("; "))
    }
}

#[derive(Debug, Clone)]
enum Slot {
    Pending,
    Running,
    Done(Result<Value, String>),
}

#[derive(Debug)]
struct VarsInner {
    base: Arc<Activation>,
    defs: Arc<[Named]>,
    slots: Vec<Mutex<Slot>>,
    shared: Option<Arc<SharedVariables>>,
    /// This object, so its activation can bind it without another allocation.
    me: Weak<VarsInner>,
}

/// Results of variables shared by every policy evaluated on one request: a variable whose
/// expression reads neither `variables` nor `params` has the same value in every policy that
/// declares it with the same text, so it is evaluated once per request.
#[derive(Debug, Default)]
pub struct SharedVariables {
    /// By the hash of the expression text, with the text to tell collisions apart.
    results: Mutex<palisade_primitives::fnv::FnvMap<u64, SharedResult>>,
}

/// A shared variable's expression text and result.
type SharedResult = (Arc<str>, Result<Value, String>);

impl SharedVariables {
    /// Whether a variable's expression may be shared between policies.
    fn shareable(src: &str) -> bool {
        !src.contains("variables") && !src.contains("params")
    }
}

/// The `variables` object: each variable is evaluated on first use and memoized, so a failing
/// variable only fails the expressions that read it. A variable reading itself (directly or
/// through others) is an error rather than a hang.
#[derive(Debug, Clone)]
pub struct LazyVariables(Arc<VarsInner>);

impl LazyVariables {
    /// Variables evaluated against `base` (which need not bind `variables`); `base` is shared,
    /// not copied.
    pub fn new(base: Arc<Activation>, defs: Arc<[Named]>) -> Self {
        Self::with_shared(base, defs, None)
    }

    /// Like [`LazyVariables::new`], reusing results of identical variables evaluated on the
    /// same request by other policies (`base` must be that request's bindings).
    pub fn with_shared(
        base: Arc<Activation>,
        defs: Arc<[Named]>,
        shared: Option<Arc<SharedVariables>>,
    ) -> Self {
        let slots = defs.iter().map(|_| Mutex::new(Slot::Pending)).collect();
        LazyVariables(Arc::new_cyclic(|me| VarsInner {
            base,
            defs,
            slots,
            shared,
            me: me.clone(),
        }))
    }

    /// `base` with `variables` bound to these lazy variables.
    pub fn activation(&self) -> Activation {
        self.0.activation()
    }
}

impl VarsInner {
    fn activation(&self) -> Activation {
        let mut act = Activation::child(self.base.clone());
        if let Some(me) = self.me.upgrade() {
            act.bind("variables", Value::Opaque(me));
        }
        act
    }

    fn compute(&self, def: &Named) -> Result<Value, String> {
        let src = def.program.source();
        let shared = self.shared.as_ref().zip(def.share);
        if let Some((sh, key)) = shared
            && let Some((_, r)) = sh
                .results
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .filter(|(text, _)| **text == *src)
        {
            return r.clone();
        }
        let result = def.program.eval(&self.activation()).map_err(|e| {
            format!(
                "composited variable \"{}\" fails to evaluate: {e}",
                def.name
            )
        });
        if let Some((sh, key)) = shared {
            sh.results
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key)
                .or_insert_with(|| (Arc::from(src), result.clone()));
        }
        result
    }

    fn evaluate(&self, index: usize) -> Result<Value, String> {
        let (Some(def), Some(slot)) = (self.defs.get(index), self.slots.get(index)) else {
            return Err("no such variable".into());
        };
        {
            let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
            match &*s {
                Slot::Done(r) => return r.clone(),
                Slot::Running => {
                    return Err(format!("variable '{}' refers to itself", def.name));
                }
                Slot::Pending => *s = Slot::Running,
            }
        }
        let result = self.compute(def);
        let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
        *s = Slot::Done(result.clone());
        result
    }
}

impl Opaque for VarsInner {
    fn type_name(&self) -> &str {
        "kubernetes.variables"
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other
            .as_any()
            .downcast_ref::<VarsInner>()
            .is_some_and(|o| std::ptr::eq(o, self))
    }
    fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (i, def) in self.defs.iter().enumerate() {
            if let Ok(v) = self
                .evaluate(i)
                .and_then(|v| v.to_json().map_err(|e| e.to_string()))
            {
                map.insert(def.name.clone(), v);
            }
        }
        serde_json::Value::Object(map)
    }
    fn field(&self, name: &str) -> Option<Result<Value, String>> {
        // The last definition of a name wins, as when the API server builds the map.
        let index = self.defs.iter().rposition(|d| d.name == name)?;
        Some(self.evaluate(index))
    }
}

/// The outcome of one validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The expression is true.
    Admit,
    /// The expression is false (or not a bool).
    Deny {
        /// Message (from messageExpression, message, or the expression).
        message: String,
        /// Reason, if set.
        reason: Option<String>,
    },
    /// The expression failed to evaluate.
    Error {
        /// Why.
        message: String,
    },
}

impl CompiledValidation {
    /// Evaluates the validation; `act` must bind `variables`.
    pub fn evaluate(&self, act: &Activation) -> Outcome {
        match self.program.eval(act) {
            Ok(Value::Bool(true)) => Outcome::Admit,
            Ok(_) => Outcome::Deny {
                message: self.failure_message(act),
                reason: self.reason.clone(),
            },
            Err(e) => Outcome::Error {
                message: format!("expression '{}' resulted in error: {e}", self.expression),
            },
        }
    }

    /// Kubernetes' message choice: a valid messageExpression result, else the message, else
    /// `failed expression: <expression>`.
    pub fn failure_message(&self, act: &Activation) -> String {
        if let Some(p) = &self.message_expression
            && let Ok(Value::String(s)) = p.eval(act)
        {
            let s = s.trim();
            if !s.is_empty() && !s.contains('\n') {
                return s.to_string();
            }
        }
        match &self.message {
            Some(m) => m.clone(),
            None => format!("failed expression: {}", self.expression.trim()),
        }
    }
}

/// Evaluates audit annotations: string results are kept, null omits the annotation.
pub fn audit_annotations(
    annotations: &[Named],
    act: &Activation,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for a in annotations {
        match a.program.eval(act) {
            Ok(Value::String(s)) if !s.is_empty() => out.push((a.name.clone(), s.to_string())),
            Ok(Value::String(_) | Value::Null) => {}
            Ok(other) => {
                return Err(format!(
                    "audit annotation '{}' must be a string, got {}",
                    a.name,
                    other.type_name()
                ));
            }
            Err(e) => {
                return Err(format!(
                    "failed to evaluate auditAnnotation '{}': {e}",
                    a.name
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> Env {
        admission_env().build()
    }

    fn act(object: serde_json::Value) -> Activation {
        let mut a = Activation::new();
        a.bind_json("object", &object);
        a
    }

    fn vars(specs: &[(&str, &str)]) -> Arc<[Named]> {
        let defs: Vec<Variable> = specs
            .iter()
            .map(|(n, e)| Variable {
                name: n.to_string(),
                expression: e.to_string(),
            })
            .collect();
        compile_variables(&env(), "spec.variables", &defs).unwrap()
    }

    #[test]
    fn variables_are_lazy_chained_and_guarded() {
        let defs = vars(&[
            ("a", "object.x + 1"),
            ("b", "variables.a * 2"),
            ("bad", "object.missing"),
            ("loop", "variables.loop"),
        ]);
        let lazy = LazyVariables::new(Arc::new(act(json!({"x": 1}))), defs);
        let a = lazy.activation();
        let e = env();
        let eval = |s: &str| e.compile(s).unwrap().eval(&a);
        assert_eq!(eval("variables.b").unwrap(), Value::Int(4));
        assert_eq!(eval("true || variables.bad").unwrap(), Value::Bool(true));
        assert!(eval("variables.bad").is_err());
        assert!(
            eval("variables.loop")
                .unwrap_err()
                .to_string()
                .contains("itself")
        );
    }

    #[test]
    fn shared_variables_are_evaluated_once_per_request() {
        let shared = Arc::new(SharedVariables::default());
        let base = Arc::new(act(json!({"x": 1})));
        let e = env();
        let one = vars(&[("a", "object.x + 1"), ("b", "variables.a + 1")]);
        let two = vars(&[("a", "object.x + 1")]);
        let first = LazyVariables::with_shared(base.clone(), one, Some(shared.clone()));
        let a = first.activation();
        assert_eq!(
            e.compile("variables.b").unwrap().eval(&a).unwrap(),
            Value::Int(3)
        );
        let map = shared.results.lock().unwrap();
        let cached = |src: &str| map.values().any(|(text, _)| &**text == src);
        assert!(cached("object.x + 1"));
        assert!(!cached("variables.a + 1"));
        drop(map);
        let second = LazyVariables::with_shared(base, two, Some(shared)).activation();
        assert_eq!(
            e.compile("variables.a").unwrap().eval(&second).unwrap(),
            Value::Int(2)
        );
    }

    #[test]
    fn match_conditions_false_wins_over_errors() {
        let e = env();
        let conds = |exprs: &[&str]| {
            let specs: Vec<MatchCondition> = exprs
                .iter()
                .enumerate()
                .map(|(i, x)| MatchCondition {
                    name: format!("c{i}"),
                    expression: x.to_string(),
                })
                .collect();
            compile_conditions(&e, "spec.matchConditions", &specs).unwrap()
        };
        let a = act(json!({"x": 1}));
        assert_eq!(
            match_conditions(&conds(&["object.x == 1"]), &a),
            MatchOutcome::Match
        );
        assert_eq!(
            match_conditions(&conds(&["object.nope", "object.x == 2"]), &a),
            MatchOutcome::NoMatch
        );
        assert!(matches!(
            match_conditions(&conds(&["object.nope", "true"]), &a),
            MatchOutcome::Error(_)
        ));
    }

    #[test]
    fn validation_messages_follow_kubernetes() {
        let e = env();
        let compile = |v: Validation| {
            compile_validations(&e, "spec.validations", &[v], Some("rule message"))
                .unwrap()
                .remove(0)
        };
        let a = LazyVariables::new(Arc::new(act(json!({"x": 1}))), vars(&[])).activation();
        let v = compile(Validation {
            expression: "object.x == 2".into(),
            message_expression: Some("'x is ' + string(object.x)".into()),
            ..Validation::default()
        });
        assert_eq!(
            v.evaluate(&a),
            Outcome::Deny {
                message: "x is 1".into(),
                reason: None
            }
        );
        let v = compile(Validation {
            expression: "object.x == 2".into(),
            ..Validation::default()
        });
        assert!(
            matches!(v.evaluate(&a), Outcome::Deny { message, .. } if message == "rule message")
        );
        let v = compile(Validation {
            expression: "object.y == 2".into(),
            ..Validation::default()
        });
        assert!(matches!(v.evaluate(&a), Outcome::Error { .. }));
        let v = compile(Validation {
            expression: "object.x == 1".into(),
            ..Validation::default()
        });
        assert_eq!(v.evaluate(&a), Outcome::Admit);
    }

    #[test]
    fn compile_errors_name_the_field() {
        let err = compile_validations(
            &env(),
            "spec.validations",
            &[Validation {
                expression: "object.x ==".into(),
                ..Validation::default()
            }],
            None,
        )
        .unwrap_err();
        assert_eq!(err.path, "spec.validations[0].expression");
        assert!(err.to_string().contains("object.x =="), "{err}");
    }

    #[test]
    fn audit_annotations_keep_strings() {
        let e = env();
        let anns = compile_annotations(
            &e,
            "spec.auditAnnotations",
            &[
                AuditAnnotation {
                    key: "a".into(),
                    value_expression: "'v'".into(),
                },
                AuditAnnotation {
                    key: "b".into(),
                    value_expression: "null".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(
            audit_annotations(&anns, &Activation::new()).unwrap(),
            vec![("a".to_string(), "v".to_string())]
        );
    }
}
