//! Evaluating loaded policies on loaded resources: shared by `apply` and `test`.

use std::collections::BTreeMap;

use palisade_api::cli::UserInfoFile;
use palisade_engine::matching::RequestInfo;
use palisade_engine::{CompiledPolicy, Engine, Exception, Inputs, PolicyResponse, Request};
use serde_json::Value;

use crate::source::{OfflineData, ResourceSource};

/// One policy's responses on one resource.
pub struct Outcome {
    /// The policy's report name.
    pub policy: String,
    /// The resource.
    pub resource: Value,
    /// The responses.
    pub response: PolicyResponse,
}

/// Settings of one run.
pub struct Run<'a> {
    /// Offline data.
    pub data: &'a OfflineData,
    /// Exceptions.
    pub exceptions: &'a [Exception],
    /// The requester.
    pub user: RequestInfo,
    /// The operation (default CREATE).
    pub operation: String,
}

impl Run<'_> {
    /// Builds the requester from a user info file.
    pub fn user_from(file: Option<UserInfoFile>) -> RequestInfo {
        let f = file.unwrap_or_default();
        RequestInfo {
            user_info: f.user_info,
            roles: f.roles,
            cluster_roles: f.cluster_roles,
        }
    }

    /// Evaluates every policy on every resource.
    pub fn evaluate(
        &self,
        engine: &Engine,
        policies: &[CompiledPolicy],
        resources: &[Value],
    ) -> Vec<Outcome> {
        let mut out = Vec::new();
        for resource in resources {
            let request = self.request(resource);
            let name = resource
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let source = ResourceSource {
                data: self.data,
                resource_name: name,
            };
            let mut ctx = request.context();
            for (k, v) in &self.data.values.global_values {
                ctx.set(k, v.clone());
            }
            for policy in policies {
                let response = engine.validate(
                    policy,
                    &request,
                    &mut ctx,
                    &Inputs {
                        source: &source,
                        exceptions: self.exceptions,
                    },
                );
                out.push(Outcome {
                    policy: policy.name(),
                    resource: resource.clone(),
                    response,
                });
            }
        }
        out
    }

    fn request(&self, resource: &Value) -> Request {
        let ns = resource
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespace_labels: Option<BTreeMap<String, String>> = self.data.namespace_labels(ns);
        let operation = self
            .data
            .values
            .global_values
            .get("request.operation")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| self.operation.clone());
        let (object, old_object) = match operation.as_str() {
            "DELETE" => (Value::Null, resource.clone()),
            "UPDATE" => (resource.clone(), resource.clone()),
            _ => (resource.clone(), Value::Null),
        };
        Request {
            operation,
            object,
            old_object,
            user: self.user.clone(),
            subresource: String::new(),
            namespace_labels,
            admission: serde_json::Map::new(),
        }
    }
}
