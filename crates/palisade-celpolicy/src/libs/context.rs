//! The receivers backed by [`CelData`]: `resource.Get/List`, `http.Get/Post/Client`,
//! `globalContext.Get` and `image.GetMetadata`.

use std::any::Any;
use std::sync::Arc;

use palisade_cel::{EnvBuilder, Opaque, Overload, Type, Value};

use super::CelData;

const RESOURCE: &str = "resource.Context";
const HTTP: &str = "http.Context";
const GLOBAL: &str = "globalcontext.Context";
const IMAGE_DATA: &str = "imagedata.Context";

/// Variable names and the receiver type bound to each.
pub(super) const RECEIVERS: &[(&str, &str)] = &[
    ("resource", RESOURCE),
    ("http", HTTP),
    ("globalContext", GLOBAL),
    ("image", IMAGE_DATA),
];

/// A receiver: the data port and which library it serves.
#[derive(Debug, Clone)]
pub struct DataHandle {
    pub(super) kind: &'static str,
    pub(super) data: Arc<dyn CelData>,
}

impl Opaque for DataHandle {
    fn type_name(&self) -> &str {
        self.kind
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other
            .as_any()
            .downcast_ref::<DataHandle>()
            .is_some_and(|o| o.kind == self.kind && Arc::ptr_eq(&o.data, &self.data))
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

fn handle(args: &[Value]) -> Result<&DataHandle, String> {
    args.first()
        .and_then(Value::downcast::<DataHandle>)
        .ok_or_else(|| "receiver is not a Kyverno context".to_string())
}

fn string(args: &[Value], i: usize) -> Result<&str, String> {
    args.get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("argument {i} must be a string"))
}

fn json_arg(args: &[Value], i: usize) -> Result<serde_json::Value, String> {
    args.get(i)
        .ok_or_else(|| format!("missing argument {i}"))?
        .to_json()
        .map_err(|e| e.to_string())
}

fn sig(receiver: &'static str, params: &[Type]) -> Overload {
    let mut all = vec![Type::Opaque(receiver)];
    all.extend_from_slice(params);
    Overload::new(all, Type::Dyn)
}

fn to_cel(r: Result<serde_json::Value, String>) -> Result<Value, String> {
    r.map(|v| Value::from_json(&v))
}

pub(super) fn register(mut env: EnvBuilder) -> EnvBuilder {
    for (var, kind) in RECEIVERS {
        env = env.variable(*var, Type::Opaque(kind));
    }
    let s = Type::String;
    for name in ["Get", "get"] {
        env = env.method(
            name,
            vec![
                sig(RESOURCE, &[s.clone(), s.clone(), s.clone(), s.clone()]),
                sig(HTTP, std::slice::from_ref(&s)),
                sig(HTTP, &[s.clone(), Type::Dyn]),
                sig(GLOBAL, &[s.clone(), s.clone()]),
            ],
            get,
        );
    }
    for name in ["List", "list"] {
        env = env.method(
            name,
            vec![sig(RESOURCE, &[s.clone(), s.clone(), s.clone()])],
            |args| {
                let h = handle(args)?;
                to_cel(
                    h.data
                        .list_resources(string(args, 1)?, string(args, 2)?, string(args, 3)?),
                )
            },
        );
    }
    for name in ["Post", "post"] {
        env = env.method(
            name,
            vec![
                sig(HTTP, &[s.clone(), Type::Dyn]),
                sig(HTTP, &[s.clone(), Type::Dyn, Type::Dyn]),
                sig(RESOURCE, &[s.clone(), s.clone(), Type::Dyn]),
                sig(RESOURCE, &[s.clone(), s.clone(), s.clone(), Type::Dyn]),
            ],
            |args| {
                let h = handle(args)?;
                match h.kind {
                    HTTP => to_cel(h.data.http_post(string(args, 1)?, &json_arg(args, 2)?)),
                    _ => Err("resource.Post is not supported offline".to_string()),
                }
            },
        );
    }
    env = env.method(
        "Client",
        vec![sig(HTTP, std::slice::from_ref(&s))],
        |args| {
            let h = handle(args)?;
            Ok(Value::Opaque(Arc::new(h.clone())))
        },
    );
    env.method("GetMetadata", vec![sig(IMAGE_DATA, &[s])], |args| {
        let h = handle(args)?;
        to_cel(h.data.image_data(string(args, 1)?))
    })
}

fn get(args: &[Value]) -> Result<Value, String> {
    let h = handle(args)?;
    match h.kind {
        RESOURCE => to_cel(h.data.get_resource(
            string(args, 1)?,
            string(args, 2)?,
            string(args, 3)?,
            string(args, 4)?,
        )),
        HTTP => to_cel(h.data.http_get(string(args, 1)?)),
        GLOBAL => to_cel(h.data.global_context(string(args, 1)?, string(args, 2)?)),
        other => Err(format!("Get is not defined on {other}")),
    }
}
