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

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_engine::{NoContext, RuleStatus, compile};
    use serde_json::json;

    fn policy(name: &str, rule: Value) -> CompiledPolicy {
        compile(
            serde_json::from_value(json!({
                "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                "metadata": {"name": name}, "spec": {"rules": [rule]}
            }))
            .unwrap(),
        )
        .unwrap()
    }

    fn label(name: &str, key: &str, value: &str) -> CompiledPolicy {
        policy(
            name,
            json!({"name": "r", "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
                "mutate": {"patchStrategicMerge": {"metadata": {"labels": {key: value}}}}}),
        )
    }

    #[test]
    fn mutate_policies_chain_and_generate_sees_the_result() {
        let policies = vec![
            label("first", "a", "1"),
            policy(
                "second",
                json!({"name": "r", "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
                    "mutate": {"patchStrategicMerge": {"metadata": {"labels": {
                        "b": "{{ request.object.metadata.labels.a }}"}}}}}),
            ),
            policy(
                "gen",
                json!({"name": "r", "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
                    "generate": {"apiVersion": "v1", "kind": "Secret", "name": "s",
                        "namespace": "ns", "data": {"data": {"b": "{{ request.object.metadata.labels.b }}"}}}}),
            ),
        ];
        assert!(has_mutate(&policies[0]) && !validates(&policies[0]));
        assert!(has_generate(&policies[2]) && !validates(&policies[2]));
        let data = OfflineData::default();
        let engine = Engine::default();
        let phases = Phases {
            engine: &engine,
            exceptions: &[],
            data: &data,
        };
        let build = |r: &Value| {
            let request = Request::create(r.clone());
            let ctx = request.context();
            (request, ctx)
        };
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "ns"}});
        let (outcomes, mutated) = phases.mutate(&policies, &cm, &NoContext, &build);
        assert_eq!(outcomes.len(), 2);
        assert_eq!(mutated["metadata"]["labels"], json!({"a": "1", "b": "1"}));
        assert_eq!(outcomes[1].response.rules[0].status, RuleStatus::Pass);
        let generated = phases.generate(&policies, &mutated, &NoContext, &build);
        assert_eq!(generated.len(), 1);
        assert_eq!(
            generated[0].artifacts.generated[0].resource["data"]["b"],
            "1"
        );
    }
}
