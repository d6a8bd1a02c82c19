//! Arbitrary, partly pod-shaped JSON never panics, and outcomes are self-consistent.

use palisade_pss::{Exclude, Level, Version, evaluate};
use proptest::prelude::*;
use serde_json::{Map, Value};

const KEYS: &[&str] = &[
    "kind",
    "spec",
    "template",
    "jobTemplate",
    "metadata",
    "annotations",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "securityContext",
    "privileged",
    "capabilities",
    "add",
    "drop",
    "hostPID",
    "hostNetwork",
    "volumes",
    "hostPath",
    "path",
    "name",
    "image",
    "ports",
    "hostPort",
    "sysctls",
    "seccompProfile",
    "type",
    "runAsUser",
    "runAsNonRoot",
    "procMount",
    "hostUsers",
    "os",
    "livenessProbe",
    "httpGet",
    "host",
    "seLinuxOptions",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1.0e3f64..1.0e3).prop_map(Value::from),
        prop::sample::select(vec![
            "Pod",
            "Deployment",
            "CronJob",
            "ALL",
            "windows",
            "Unmasked",
            "x"
        ])
        .prop_map(Value::from),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

proptest! {
    #[test]
    fn never_panics(spec in json(), kind in prop::sample::select(vec!["Pod", "Deployment", "CronJob", "Job"])) {
        let resource = serde_json::json!({"kind": kind, "spec": spec.clone(), "metadata": spec});
        let excludes = [
            Exclude { control_name: "Capabilities".into(), images: vec!["*".into()], ..Exclude::default() },
            Exclude { control_name: "Host Namespaces".into(), ..Exclude::default() },
        ];
        for level in [Level::Baseline, Level::Restricted] {
            for version in [Version::Latest, Version::V1(24)] {
                if let Ok(outcome) = evaluate(level, version, &resource, &excludes) {
                    prop_assert_eq!(outcome.allowed, outcome.checks.is_empty());
                    prop_assert_eq!(outcome.allowed, outcome.message.is_empty());
                    prop_assert!(outcome.checks.iter().all(|c| !c.errors.is_empty()));
                    let again = evaluate(level, version, &resource, &excludes);
                    prop_assert_eq!(Some(outcome), again.ok());
                }
            }
        }
    }
}
