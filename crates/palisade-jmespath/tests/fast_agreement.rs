//! The borrowed-value evaluator agrees with the interpreter: on many generated expressions
//! and documents, whatever it answers is what the interpreter answers (value, and whether it
//! is an error), with Kyverno's missing keys and with the standard ones, and with work
//! budgets small enough to run out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use palisade_jmespath::{Context, compile};
use serde_json::{Value, json};

/// A small deterministic generator (no dependency, same cases on every run).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }

    fn expr(&mut self, depth: u32) -> String {
        const FIELDS: &[&str] = &[
            "a", "b", "c", "name", "spec", "items", "x", "missing", "key", "value", "n", "s",
        ];
        const LITERALS: &[&str] = &[
            "`[]`",
            "`{}`",
            "`null`",
            "`1`",
            "`\"a\"`",
            "'x'",
            "`[\"a\", \"b\", \"\"]`",
            "`true`",
            "`[1, 2]`",
        ];
        if depth == 0 {
            return match self.next() % 4 {
                0 => "@".to_string(),
                1 => self.pick(LITERALS).to_string(),
                _ => self.pick(FIELDS).to_string(),
            };
        }
        let d = depth - 1;
        match self.next() % 19 {
            0 | 1 => format!("{}.{}", self.expr(d), self.pick(FIELDS)),
            2 => format!(
                "{}.{}.{}",
                self.pick(FIELDS),
                self.pick(FIELDS),
                self.expr(d)
            ),
            3 => format!("{}[]", self.expr(d)),
            4 => format!("{}[].{}", self.expr(d), self.expr(d)),
            5 => format!("{}[?{}]", self.expr(d), self.expr(d)),
            6 => format!("{}[?{}].{}", self.expr(d), self.expr(d), self.expr(d)),
            7 => format!("[{}, {}]", self.expr(d), self.expr(d)),
            8 => format!(
                "{}.[{}, {}][]",
                self.expr(d),
                self.pick(FIELDS),
                self.pick(FIELDS)
            ),
            9 => format!("{} || {}", self.expr(d), self.expr(d)),
            10 => format!("{} && {}", self.expr(d), self.expr(d)),
            11 => format!("!{}", self.expr(d)),
            12 => {
                let op = self.pick(&["==", "!=", "<", "<=", ">", ">="]);
                format!("{} {op} {}", self.expr(d), self.expr(d))
            }
            13 => format!("{} | {}", self.expr(d), self.expr(d)),
            14 => format!("contains({}, {})", self.expr(d), self.expr(d)),
            15 => {
                let f = self.pick(&["starts_with", "ends_with"]);
                format!("{f}({}, {})", self.expr(d), self.expr(d))
            }
            16 => {
                let f = self.pick(&["keys", "length"]);
                format!("{f}({})", self.expr(d))
            }
            17 => format!("items({}, 'key', 'value')", self.expr(d)),
            _ => format!("{}[{}]", self.expr(d), self.next() % 4),
        }
    }
}

fn documents() -> Vec<Value> {
    vec![
        json!({}),
        json!(null),
        json!([1, "a", null, [2, [3]], {"a": 1}]),
        json!({"a": {"b": {"c": "a"}}, "b": [1, 2, "x"], "c": null, "n": 3, "s": "xa"}),
        json!({
            "spec": {
                "items": [
                    {"name": "a", "x": {"a": ["a", "b"]}, "b": null},
                    {"name": "b", "x": {"a": "ALL"}, "c": [[1], [2, "a"]]},
                    {"name": "", "missing": false},
                    null,
                    [{"name": "nested"}]
                ],
                "a": [], "b": {}, "c": {"key": "k", "value": ""},
                "name": "spec"
            },
            "items": {"k1": "a", "k2": "", "key": "value"},
            "a": [{"key": "a", "value": "b"}, {"key": "c"}],
            "x": "a", "s": "", "n": 0, "name": ["a", "b", ""]
        }),
    ]
}

fn agree(ctx: &Context, budget_note: &str) -> (usize, usize) {
    let docs = documents();
    let mut covered = 0;
    let mut answered = 0;
    for seed in 0..3000u64 {
        let mut g = Gen(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed);
        let text = g.expr(1 + (seed % 4) as u32);
        let Ok(expr) = compile(&text) else { continue };
        if !expr.has_fast_form() {
            continue;
        }
        covered += 1;
        for doc in &docs {
            let Some(fast) = expr.search_fast(doc, ctx) else {
                continue;
            };
            answered += 1;
            match expr.search_interpreted(doc, ctx) {
                Ok(slow) => assert_eq!(
                    fast.as_ref(),
                    slow.as_ref(),
                    "{text} on {doc} ({budget_note})"
                ),
                Err(e) => panic!("{text} on {doc} ({budget_note}): fast {fast}, interpreter {e}"),
            }
        }
    }
    (covered, answered)
}

#[test]
fn the_fast_path_answers_as_the_interpreter_does() {
    let (covered, answered) = agree(&Context::default(), "Kyverno missing keys");
    // The generator must exercise the fast path, not just skip it.
    assert!(covered > 1000, "covered {covered}");
    assert!(answered > 3000, "answered {answered}");
    agree(
        &Context::default().spec_missing_keys(),
        "standard missing keys",
    );
    for budget in [1, 3, 8, 20, 50] {
        agree(
            &Context::default().with_budget(budget),
            &format!("budget {budget}"),
        );
    }
}

#[test]
fn the_pod_security_queries_take_the_fast_path() {
    let pod = json!({"request": {"object": {
        "metadata": {"name": "p", "annotations": {
            "container.apparmor.security.beta.kubernetes.io/app": "unconfined"
        }},
        "spec": {
            "securityContext": {"seLinuxOptions": {"type": "spc_t", "user": "u"}},
            "initContainers": [{"name": "i", "securityContext": {"capabilities": {"drop": ["ALL"]}}}],
            "containers": [
                {"name": "a", "securityContext": {"seLinuxOptions": {"type": "container_t"}}},
                {"name": "b", "securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}
            ],
            "volumes": [{"name": "v", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/"}}]
        }
    }}});
    let queries = [
        (
            "[request.object.spec.securityContext.seLinuxOptions, request.object.spec.[ephemeralContainers, initContainers, containers][].securityContext.seLinuxOptions][][].type | [?!contains(`[\"\", \"container_t\", \"container_init_t\", \"container_kvm_t\", \"container_engine_t\"]`, @)]",
            json!(["spc_t"]),
        ),
        (
            "[request.object.spec.securityContext.seLinuxOptions, request.object.spec.[ephemeralContainers, initContainers, containers][].securityContext.seLinuxOptions][] | [?user || role]",
            json!([{"type": "spc_t", "user": "u"}]),
        ),
        (
            "request.object.spec.[ephemeralContainers, initContainers, containers][] | [?!contains(securityContext.capabilities.drop || `[]`, 'ALL')].name",
            json!(["a", "b"]),
        ),
        (
            "request.object.spec.volumes[?keys(@)[?!contains(`[\"name\", \"configMap\", \"csi\", \"downwardAPI\", \"emptyDir\", \"ephemeral\", \"image\", \"persistentVolumeClaim\", \"projected\", \"secret\"]`, @)]].name",
            json!(["h"]),
        ),
        ("request.object.spec.os.name == 'windows'", json!(false)),
    ];
    let ctx = Context::default();
    for (text, want) in queries {
        let expr = compile(text).unwrap();
        let fast = expr.search_fast(&pod, &ctx).expect(text);
        assert_eq!(fast.as_ref(), &want, "{text}");
        assert_eq!(expr.search_interpreted(&pod, &ctx).unwrap().as_ref(), &want);
    }
    // `items` of a non-empty map is left to the interpreter, which answers it.
    let apparmor = compile(
        "items(request.object.metadata.annotations || `{}`, 'key', 'value')[?starts_with(key, 'container.apparmor.security.beta.kubernetes.io/') && value != '' && value != 'runtime/default' && !starts_with(value, 'localhost/')].key",
    )
    .unwrap();
    assert!(apparmor.has_fast_form());
    assert_eq!(
        apparmor.search(&pod, &ctx).unwrap(),
        json!(["container.apparmor.security.beta.kubernetes.io/app"])
    );
}

#[test]
fn missing_keys_on_the_spine_are_the_interpreters_errors() {
    let ctx = Context::default();
    let doc = json!({"request": {"object": {}}});
    let expr = compile("request.object.spec.containers").unwrap();
    assert!(expr.search_fast(&doc, &ctx).is_none());
    assert_eq!(
        expr.search(&doc, &ctx).unwrap_err().to_string(),
        "Unknown key \"spec\" in path"
    );
}
