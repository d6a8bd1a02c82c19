//! CEL with the Kubernetes environment and libraries, type-checked at load and bounded by a cost limit.
//!
//! ```
//! use palisade_cel::{Activation, Env, Type};
//! let env = Env::kubernetes().variable("object", Type::Dyn).build();
//! let prog = env.compile("object.spec.replicas > 1").unwrap();
//! let mut act = Activation::new();
//! act.bind_json("object", &serde_json::json!({"spec": {"replicas": 3}}));
//! assert_eq!(prog.eval_json(&act).unwrap(), serde_json::json!(true));
//! ```

mod activation;
mod ast;
mod checker;
mod env;
mod error;
mod estimate;
mod eval;
mod json;
mod lexer;
mod library;
mod macros;
mod parser;
mod registry;
mod types;
mod value;

pub use activation::Activation;
pub use env::{Env, EnvBuilder, PER_CALL_LIMIT, Program};
pub use error::{CompileError, EvalError, Position};
pub use registry::{HostFn, Overload};
pub use types::Type;
pub use value::{Key, MapValue, Opaque, Value};
