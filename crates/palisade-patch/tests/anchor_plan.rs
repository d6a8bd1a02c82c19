//! A prepared patch ([`Plan`]) preprocesses exactly as the general walk does, wherever it
//! covers the patch and the resource: random patches full of anchors against random resources.

#![allow(clippy::unwrap_used)]

use palisade_patch::anchors::{Plan, preprocess};
use palisade_patch::{ConditionMatcher, Preprocessed, diff, diff_guided, strategic_merge_traced};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Strings match with a trailing `*` wildcard; everything else by equality.
struct Prefix;

impl ConditionMatcher for Prefix {
    fn matches(&self, resource: &Value, pattern: &Value) -> Result<bool, String> {
        Ok(match (resource, pattern) {
            (Value::String(r), Value::String(p)) => match p.strip_suffix('*') {
                Some(prefix) => r.starts_with(prefix),
                None => r == p,
            },
            (r, p) => r == p,
        })
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..3).prop_map(|n| json!(n)),
        prop::sample::select(vec!["a", "ab", "b", "*", "a*", "", "(x)"])
            .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn value(keys: Vec<&'static str>) -> impl Strategy<Value = Value> {
    let keys: Vec<String> = keys.into_iter().map(str::to_string).collect();
    leaf().prop_recursive(5, 64, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            // Lists of one map: the list templates the plan covers.
            inner.clone().prop_map(|v| match v {
                Value::Object(_) => Value::Array(vec![v]),
                other => other,
            }),
            prop::collection::btree_map(prop::sample::select(keys.clone()), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Maps of `+(key)` and plain keys, `depth` levels deep.
fn add_map(depth: u32) -> BoxedStrategy<Value> {
    let keys = vec!["a", "b", "c", "name", "+(a)", "+(b)", "+(c)", "+(name)"];
    let child = if depth == 0 {
        leaf().boxed()
    } else {
        prop_oneof![2 => leaf(), 1 => add_map(depth - 1), 1 => Just(json!({})), 1 => Just(json!([{"a": 1}]))]
            .boxed()
    };
    prop::collection::btree_map(prop::sample::select(keys), child, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
        .boxed()
}

/// A list template: conditions on its top level, `+(key)` maps below.
fn template() -> BoxedStrategy<Value> {
    let condition = prop::sample::select(vec!["*", "a*", "ab", "b", ""]).prop_map(|s| json!(s));
    (
        prop::option::of(condition.clone()),
        prop::option::of(condition),
        add_map(2),
    )
        .prop_map(|(name, a, body)| {
            let mut m = body.as_object().cloned().unwrap_or_default();
            if let Some(c) = name {
                m.insert("(name)".to_string(), c);
            }
            if let Some(c) = a {
                m.insert("(a)".to_string(), c);
            }
            json!([m])
        })
        .boxed()
}

fn covered(depth: u32) -> BoxedStrategy<Value> {
    let keys = vec!["a", "b", "c", "+(a)", "+(b)", "l", "+(l)"];
    let child = if depth == 0 {
        prop_oneof![leaf(), template()].boxed()
    } else {
        prop_oneof![leaf(), template(), covered(depth - 1), add_map(1)].boxed()
    };
    prop::collection::btree_map(prop::sample::select(keys), child, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
        .boxed()
}

fn patch() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => covered(3),
        1 => value(vec![
            "a", "b", "name", "+(a)", "+(b)", "+(c)", "(name)", "(a)", "+(name)", "c", "<(a)",
        ]),
    ]
}

fn resource() -> impl Strategy<Value = Value> {
    value(vec!["a", "b", "c", "name"])
}

/// A resource shaped like `patch` (anchors stripped, templates turned into named elements),
/// with random parts left out or changed, so that anchors meet both present and absent keys.
fn resource_like(patch: &Value, choices: &mut impl Iterator<Item = u8>) -> Value {
    match patch {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let bare = k
                    .trim_start_matches(['+', '<'])
                    .trim_start_matches('(')
                    .trim_end_matches(')');
                match choices.next().unwrap_or(0) % 4 {
                    0 => {}
                    1 => {
                        out.insert(bare.to_string(), json!("a"));
                    }
                    _ => {
                        let v = resource_like(v, choices);
                        out.insert(bare.to_string(), v);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let n = usize::from(choices.next().unwrap_or(0) % 4);
            let names = [json!("a"), json!("ab"), json!("b"), Value::Null];
            (0..n)
                .map(|i| {
                    let template = items.get(i % items.len().max(1)).unwrap_or(&Value::Null);
                    let mut e = resource_like(template, choices);
                    if let Value::Object(m) = &mut e {
                        let name = names[usize::from(choices.next().unwrap_or(0) % 4)].clone();
                        m.insert("name".to_string(), name);
                    }
                    e
                })
                .collect()
        }
        other => match choices.next().unwrap_or(0) % 3 {
            0 => json!("ab"),
            _ => other.clone(),
        },
    }
}

fn case() -> impl Strategy<Value = (Value, Value)> {
    (patch(), prop::collection::vec(any::<u8>(), 64), resource()).prop_map(
        |(patch, choices, random)| {
            let resource = if choices[0] % 5 == 0 {
                random
            } else {
                resource_like(&patch, &mut choices.into_iter().skip(1).cycle())
            };
            (patch, resource)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    #[test]
    fn plan_preprocesses_as_the_general_walk((patch, resource) in case()) {
        let Some(plan) = Plan::new(&patch) else { return Ok(()) };
        let Some(fast) = plan.preprocess(&resource, &Prefix) else { return Ok(()) };
        let general = preprocess(&resource, &patch, &Prefix);
        prop_assert_eq!(Ok(fast), general, "patch {} resource {}", patch, resource);
    }
}

#[test]
fn covers_a_container_template_with_nested_add_anchors() {
    let patch = json!({"metadata": {"labels": {"+(team)": "core"}},
        "spec": {"containers": [{"(name)": "*", "securityContext": {"+(runAsNonRoot)": true}}]}});
    let pod = json!({"metadata": {"labels": {"team": "x"}},
        "spec": {"containers": [{"name": "a"}, {"name": "b", "securityContext": {"runAsNonRoot": false}}]}});
    let plan = Plan::new(&patch).unwrap();
    let fast = plan.preprocess(&pod, &Prefix).unwrap();
    // The first container resolves `+(runAsNonRoot)`, and the copy stays resolved (Kyverno's quirk).
    let want = json!({"spec": {"containers": [
        {"name": "a", "securityContext": {"runAsNonRoot": true}},
        {"name": "b", "securityContext": {"runAsNonRoot": true}}
    ]}});
    assert_eq!(fast, Preprocessed::Patch(want));
    assert_eq!(Ok(fast), preprocess(&pod, &patch, &Prefix));
}

#[test]
fn leaves_uncovered_shapes_to_the_general_walk() {
    for patch in [
        json!({"<(a)": 1}),
        json!({"(a)": "x", "b": 1}),
        json!({"a": "(x)"}),
        json!({"a": 1, "+(a)": 2}),
        json!({"l": [{"(a)": "x"}, {"(b)": "y"}]}),
        json!({"l": [{"(a)": "x", "m": [{"(b)": "y"}]}]}),
        json!({"l": [{"(a)": 1}]}),
    ] {
        assert!(Plan::new(&patch).is_none(), "{patch}");
    }
}

/// `a`, `b`, `c` and `l` as Pod fields (at whatever depth they land), so that merges meet the
/// schema's merge lists (`containers`, `env`, `volumes` merge by name).
fn as_pod_fields(v: &Value) -> Value {
    let rename = |bare: &str| {
        match bare {
            "a" => "spec",
            "b" => "containers",
            "c" => "env",
            "l" => "volumes",
            other => other,
        }
        .to_string()
    };
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, c)| {
                    let key = if let Some(bare) =
                        k.strip_prefix("+(").and_then(|b| b.strip_suffix(')'))
                    {
                        format!("+({})", rename(bare))
                    } else if let Some(bare) = k.strip_prefix('(').and_then(|b| b.strip_suffix(')'))
                    {
                        format!("({})", rename(bare))
                    } else {
                        rename(k)
                    };
                    (key, as_pod_fields(c))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(as_pod_fields).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    /// Where the merge reports it changed only what the patch names, the guided diff is the diff.
    #[test]
    fn guided_diff_is_the_diff((patch, resource) in case()) {
        let patch = as_pod_fields(&patch);
        let mut resource = as_pod_fields(&resource);
        if !resource.is_object() {
            resource = json!({"spec": resource});
        }
        let Some(plan) = Plan::new(&patch) else { return Ok(()) };
        let Some(Preprocessed::Patch(p)) = plan.preprocess(&resource, &Prefix) else { return Ok(()) };
        let Ok((merged, undisturbed)) = strategic_merge_traced(resource.clone(), p, "v1", "Pod") else {
            return Ok(());
        };
        if undisturbed {
            prop_assert_eq!(diff_guided(&resource, &merged, &plan), diff(&resource, &merged),
                "patch {} resource {}", patch, resource);
        }
    }
}

/// `case()` with Pod field names, as a Pod resource.
fn pod_case() -> impl Strategy<Value = (Value, Value)> {
    case().prop_map(|(patch, resource)| {
        let resource = as_pod_fields(&resource);
        let resource = if resource.is_object() {
            resource
        } else {
            json!({"spec": resource})
        };
        (as_pod_fields(&patch), resource)
    })
}

/// A Pod patch with list templates where the schema merges by name (`spec.containers`,
/// `spec.volumes`), against a Pod shaped like it: the fused merge's element-wise path.
fn spec_case() -> impl Strategy<Value = (Value, Value)> {
    // Templates mostly without a `name` of their own, conditions that mostly hold, and
    // elements mostly under distinct names: where copies line up with elements.
    let template = || {
        (template(), any::<bool>()).prop_map(|(t, keep_name)| {
            let mut t = t;
            if let Some(Value::Object(m)) = t.get_mut(0) {
                if !keep_name {
                    m.remove("name");
                    m.remove("+(name)");
                }
                if m.get("(name)").is_some_and(|c| c == "") {
                    m.insert("(name)".to_string(), json!("*"));
                }
            }
            t
        })
    };
    (
        covered(1),
        template(),
        template(),
        prop::collection::vec(any::<u8>(), 64),
    )
        .prop_map(|(extra, containers, volumes, choices)| {
            let mut spec = extra.as_object().cloned().unwrap_or_default();
            spec.insert("b".to_string(), containers);
            spec.insert("l".to_string(), volumes);
            let patch = json!({ "a": spec });
            let distinct = choices[0] % 4 != 0;
            let mut resource = resource_like(&patch, &mut choices.into_iter().cycle());
            for list in ["b", "l"] {
                if let Some(Value::Array(items)) =
                    resource.get_mut("a").and_then(|a| a.get_mut(list))
                {
                    for (i, e) in items.iter_mut().enumerate() {
                        if let (true, Value::Object(m)) = (distinct, e) {
                            m.insert("name".to_string(), json!(["a", "ab", "b", "c"][i % 4]));
                        }
                    }
                }
            }
            (as_pod_fields(&patch), as_pod_fields(&resource))
        })
}

/// What the prepared patch gives when preprocessed and then merged, as `Plan::merge` reports it.
fn apart(plan: &Plan, resource: &Value, api_version: &str, kind: &str) -> Option<(Value, bool)> {
    let Some(Preprocessed::Patch(p)) = plan.preprocess(resource, &Prefix) else {
        return None;
    };
    strategic_merge_traced(resource.clone(), p, api_version, kind).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    /// Merging while resolving the anchors gives the patched resource of preprocessing and
    /// merging apart, and the same report of what the merge disturbed; where it declines, the
    /// two steps decide.
    #[test]
    fn fused_merge_is_preprocess_then_merge(
        (patch, resource) in prop_oneof![pod_case(), case(), spec_case()],
        kind in prop::sample::select(vec![("v1", "Pod"), ("example.com/v1", "Thing")]),
    ) {
        let Some(plan) = Plan::new(&patch) else { return Ok(()) };
        let Some(fused) = plan.merge(&resource, &Prefix, kind.0, kind.1) else { return Ok(()) };
        prop_assert_eq!(Some(fused), apart(&plan, &resource, kind.0, kind.1),
            "patch {} resource {}", patch, resource);
    }
}

#[test]
fn fused_merge_covers_container_templates() {
    let patch = json!({"metadata": {"labels": {"+(team)": "core"}},
        "spec": {"securityContext": {"+(runAsNonRoot)": true},
            "containers": [{"(name)": "*", "securityContext": {"+(privileged)": false}}]}});
    let cases = [
        // Every container gets a copy under its own name: merged element by element.
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "E", "value": null}]},
                {"name": "b", "securityContext": {"privileged": true}}]}}),
        // A repeated name: the copies are built and merged as a list.
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "a", "image": "y"}]}}),
        // An element without a name gets no copy.
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"team": "x"}},
            "spec": {"containers": [{"image": "z"}, {"name": "b"}], "securityContext": null}}),
    ];
    let plan = Plan::new(&patch).unwrap();
    for pod in cases {
        let fused = plan.merge(&pod, &Prefix, "v1", "Pod");
        assert!(fused.is_some(), "{pod}");
        assert_eq!(fused, apart(&plan, &pod, "v1", "Pod"), "{pod}");
    }
    // A list where the resource has a map is an error, which the two steps report.
    let bad = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": {"name": "a"}}});
    assert_eq!(plan.merge(&bad, &Prefix, "v1", "Pod"), None);
}
