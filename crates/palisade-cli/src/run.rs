//! Evaluating loaded policies on loaded resources: shared by `apply` and `test`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use palisade_api::cli::UserInfoFile;
use palisade_engine::matching::RequestInfo;
use palisade_engine::{
    CompiledPolicy, Engine, EvalContext, Exception, Inputs, PolicyResponse, PreparedRequest,
    Request,
};
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
    /// Patched, target and generated resources of mutate and generate rules.
    pub artifacts: crate::artifacts::Artifacts,
}

/// An [`Outcome`] whose resource may be borrowed.
pub struct OutcomeView<'r> {
    /// The policy's report name.
    pub policy: String,
    /// The resource.
    pub resource: Cow<'r, Value>,
    /// The responses.
    pub response: PolicyResponse,
    /// Patched, target and generated resources of mutate and generate rules.
    pub artifacts: crate::artifacts::Artifacts,
}

impl OutcomeView<'_> {
    fn owned(o: Outcome) -> Self {
        OutcomeView {
            policy: o.policy,
            resource: Cow::Owned(o.resource),
            response: o.response,
            artifacts: o.artifacts,
        }
    }

    /// The outcome with its own copy of the resource.
    pub fn into_outcome(self) -> Outcome {
        Outcome {
            policy: self.policy,
            resource: self.resource.into_owned(),
            response: self.response,
            artifacts: self.artifacts,
        }
    }
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

    /// Evaluates every policy on every resource: mutate, then validate the mutated resource,
    /// then generate (see [`crate::phases`]).
    pub fn evaluate(
        &self,
        engine: &Engine,
        policies: &[CompiledPolicy],
        resources: &[Value],
    ) -> Vec<Outcome> {
        let mut out = Vec::new();
        for resource in resources {
            self.evaluate_each(engine, policies, resource, &mut |o| {
                out.push(o.into_outcome())
            });
        }
        out
    }

    /// Evaluates every policy on one resource, handing each outcome to `sink` as it is made;
    /// validate outcomes borrow the resource (a report keeps only its reference, and copying
    /// the resource for every policy would dominate large runs).
    pub fn evaluate_each(
        &self,
        engine: &Engine,
        policies: &[CompiledPolicy],
        resource: &Value,
        sink: &mut dyn FnMut(OutcomeView<'_>),
    ) {
        let phases = crate::phases::Phases {
            engine,
            exceptions: self.exceptions,
            data: self.data,
        };
        let build = |r: &Value| {
            let request = self.request(r);
            let ctx = self.context(&request);
            (request, ctx)
        };
        let name = resource
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let source = ResourceSource {
            data: self.data,
            resource_name: name,
        };
        // Without mutate policies the mutate phase would only copy the resource.
        let mutated;
        let resource = if policies.iter().any(crate::phases::has_mutate) {
            let (outcomes, patched) = phases.mutate(policies, resource, &source, &build);
            for o in outcomes {
                sink(OutcomeView::owned(o));
            }
            mutated = patched;
            &mutated
        } else {
            resource
        };
        // The objects move into the prepared context: one copy of the resource, not two.
        let mut prepared = PreparedRequest::new(self.request(resource));
        for (k, v) in &self.data.values.global_values {
            prepared.set(k, v.clone());
        }
        for policy in policies.iter().filter(|p| crate::phases::validates(p)) {
            let inputs = Inputs {
                source: &source,
                exceptions: self.exceptions,
            };
            // Values may give one policy another operation for this resource.
            let policy_name = policy.name();
            let op = self.data.operation_for(&policy_name, &source.resource_name);
            let response = match op.filter(|op| *op != prepared.request().operation) {
                Some(op) => {
                    let own = self.request_with(resource, op);
                    let mut own_ctx = self.context(&own);
                    engine.validate(policy, &own, &mut own_ctx, &inputs)
                }
                None => engine.validate_prepared(policy, &mut prepared, &inputs),
            };
            sink(OutcomeView {
                policy: policy_name,
                resource: Cow::Borrowed(resource),
                response,
                artifacts: Default::default(),
            });
        }
        for o in phases.generate(policies, resource, &source, &build) {
            sink(OutcomeView::owned(o));
        }
    }

    fn context(&self, request: &Request) -> EvalContext {
        let mut ctx = request.context();
        for (k, v) in &self.data.values.global_values {
            ctx.set(k, v.clone());
        }
        ctx
    }

    fn request(&self, resource: &Value) -> Request {
        let operation = self
            .data
            .values
            .global_values
            .get("request.operation")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| self.operation.clone());
        self.request_with(resource, operation)
    }

    fn request_with(&self, resource: &Value, operation: String) -> Request {
        let ns = resource
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespace_labels: Option<BTreeMap<String, String>> = self.data.namespace_labels(ns);
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
            kind: None,
            namespace_labels,
            admission: serde_json::Map::new(),
        }
    }
}
