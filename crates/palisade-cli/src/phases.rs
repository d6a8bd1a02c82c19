//! The order in which Kyverno's CLI applies policies to one resource
//! (`processor.ApplyPoliciesOnResource`): every policy with mutate rules in turn, each on the
//! output of the previous one; then validation of the mutated resource; then generate rules,
//! triggered by the mutated resource.

use palisade_engine::ports::ContextSource;
use palisade_engine::{CompiledPolicy, Engine, EvalContext, Exception, Inputs, Request};
use serde_json::Value;

use crate::artifacts::{Artifacts, ClusterView};
use crate::run::Outcome;
use crate::source::OfflineData;

/// True when the policy has mutate rules.
pub fn has_mutate(p: &CompiledPolicy) -> bool {
    p.rules.iter().any(|r| r.mutate.is_some())
}

/// True when the policy has generate rules.
pub fn has_generate(p: &CompiledPolicy) -> bool {
    p.rules.iter().any(|r| r.generate.is_some())
}

/// True when the validate phase answers for the policy: it has validate or verifyImages rules,
/// or no mutate and generate rules at all.
pub fn validates(p: &CompiledPolicy) -> bool {
    p.rules
        .iter()
        .any(|r| r.validate.is_some() || r.verify_images.is_some())
        || (!has_mutate(p) && !has_generate(p))
}

/// Builds the request and its context for a resource (the caller knows the operation, the
/// requester and the values).
pub type Build<'a> = dyn Fn(&Value) -> (Request, EvalContext) + 'a;

/// What the phases share.
pub struct Phases<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// Loaded exceptions.
    pub exceptions: &'a [Exception],
    /// Offline data: targets, clone sources and cluster resources.
    pub data: &'a OfflineData,
}

impl Phases<'_> {
    /// Applies the mutate policies in order; returns their outcomes and the final resource.
    pub fn mutate(
        &self,
        policies: &[CompiledPolicy],
        resource: &Value,
        source: &dyn ContextSource,
        build: &Build<'_>,
    ) -> (Vec<Outcome>, Value) {
        let view = ClusterView {
            inner: source,
            objects: self.data.targets.iter().chain(&self.data.cluster).collect(),
        };
        let inputs = Inputs {
            source: &view,
            exceptions: self.exceptions,
        };
        let mut current = resource.clone();
        let mut out = Vec::new();
        for policy in policies.iter().filter(|p| has_mutate(p)) {
            let (request, mut ctx) = build(&current);
            let m = self.engine.mutate(policy, &request, &mut ctx, &inputs);
            out.push(Outcome {
                policy: policy.name(),
                resource: current.clone(),
                response: m.response,
                artifacts: Artifacts {
                    patched: Some(m.patched.clone()),
                    targets: m.targets,
                    generated: Vec::new(),
                },
            });
            current = m.patched;
        }
        (out, current)
    }

    /// Evaluates the generate policies for `trigger`. Each policy reads clone sources from the
    /// trigger, its own clone source files, the target resources and the cluster resources;
    /// a policy without rule responses has no outcome, as in Kyverno.
    pub fn generate(
        &self,
        policies: &[CompiledPolicy],
        trigger: &Value,
        source: &dyn ContextSource,
        build: &Build<'_>,
    ) -> Vec<Outcome> {
        let mut out = Vec::new();
        for policy in policies.iter().filter(|p| has_generate(p)) {
            let name = policy.name();
            let own = self
                .data
                .clone_sources
                .iter()
                .filter(|(p, _)| name.rsplit('/').next() == Some(p.as_str()))
                .map(|(_, r)| r);
            let view = ClusterView {
                inner: source,
                objects: std::iter::once(trigger)
                    .chain(own)
                    .chain(&self.data.targets)
                    .chain(&self.data.cluster)
                    .collect(),
            };
            let inputs = Inputs {
                source: &view,
                exceptions: self.exceptions,
            };
            let (request, mut ctx) = build(trigger);
            let g = self.engine.generate(policy, &request, &mut ctx, &inputs);
            if g.response.rules.is_empty() {
                continue;
            }
            out.push(Outcome {
                policy: name,
                resource: trigger.clone(),
                response: g.response,
                artifacts: Artifacts {
                    generated: g.resources,
                    ..Artifacts::default()
                },
            });
        }
        out
    }
}
