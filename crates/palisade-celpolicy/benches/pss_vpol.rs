//! Benchmark: the Pod Security Standards as ValidatingPolicies (`policies/pod-security-vpol`,
//! 19 policies) on a typical three-container Pod, request preparation included.

mod support;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_celpolicy::{CelData, CelRequest, NoData};
use palisade_engine::validate::cel::inputs::Attributes;

fn bench(c: &mut Criterion) {
    let policies = support::policies();
    assert_eq!(policies.len(), 19, "every PSS control");
    let pod = support::pod();
    let attrs = Attributes {
        operation: "CREATE".into(),
        object: pod,
        ..Attributes::default()
    };
    let data: Arc<dyn CelData> = Arc::new(NoData);
    let req = CelRequest::new(&attrs, None, None, &data);
    for p in &policies {
        let r = p.validate(&req, &[]);
        // The user-namespace /proc control checks only Pods with `hostUsers: false`.
        assert!(
            r.rules.iter().all(|r| matches!(
                r.status,
                palisade_engine::RuleStatus::Pass | palisade_engine::RuleStatus::Skip
            )),
            "{}: {:?}",
            r.policy,
            r.rules
        );
    }
    c.bench_function("pss_vpol_19_policies_typical_pod", |b| {
        b.iter(|| {
            let req = CelRequest::new(&attrs, None, None, &data);
            policies
                .iter()
                .map(|p| p.validate(&req, &[]).rules.len())
                .sum::<usize>()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
