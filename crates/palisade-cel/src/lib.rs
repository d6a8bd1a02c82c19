//! CEL with the Kubernetes environment and libraries, type-checked at load and bounded by a cost limit.
//!
//! - [`Env::kubernetes`] gives an [`EnvBuilder`] with the CEL standard library, the Kubernetes
//!   libraries (strings, lists, sets, regex, url, ip/cidr, quantity, semver, named formats,
//!   jsonpatch) and the cel-go extensions Kyverno enables (math, base64, ext lists, `cel.bind`).
//!   Declare variables (`Type::Dyn` for JSON documents), register host functions or methods and
//!   message types, then [`EnvBuilder::build`].
//! - [`Env::compile`] parses and checks once; errors carry a [`Position`]. The resulting
//!   [`Program`] is `Send + Sync` and evaluates against an [`Activation`] within a runtime cost
//!   budget ([`PER_CALL_LIMIT`] by default); [`Program::estimated_cost`] gives a static bound.
//! - Values convert from and to `serde_json::Value` ([`Value::from_json`], [`Value::to_json`]).
//!   Documents bound for evaluation are laid out flat and read in place
//!   ([`Value::from_json_view`], [`DocBuilder`]): see `doc.rs`.
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
mod doc;
mod env;
mod error;
mod estimate;
mod eval;
mod fasthash;
mod fold;
mod json;
mod lexer;
mod library;
mod macros;
mod parser;
mod registry;
mod types;
mod value;

pub use activation::Activation;
pub use doc::{BuiltDoc, DocBuilder, DocNode, DocRef};
pub use env::{Env, EnvBuilder, PER_CALL_LIMIT, Program};
pub use error::{CompileError, EvalError, Position};
pub use registry::{HostFn, Overload};
pub use types::Type;
pub use value::{Key, MapValue, Opaque, Value};
