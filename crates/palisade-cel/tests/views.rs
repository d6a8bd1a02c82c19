//! Documents read in place (`Value::from_json_view`, what `Activation::bind_json` binds) give
//! the same results, errors and costs as the same documents converted value by value
//! (`Value::from_json`).

use palisade_cel::{Activation, Env, Type, Value};
use serde_json::json;

fn doc() -> serde_json::Value {
    json!({
        "spec": {
            "containers": [
                {"name": "app", "image": "nginx", "ports": [{"containerPort": 80}, {"hostPort": 0}],
                 "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                     "runAsUser": 1000, "privileged": false}},
                {"name": "side", "securityContext": {"seccompProfile": {"type": "Localhost"}}}
            ],
            "initContainers": [{"name": "init"}],
            "volumes": [{"name": "a", "emptyDir": {}}, {"name": "b", "hostPath": {"path": "/"}}],
            "nums": [1, 2.5, -3, 1e300],
            "empty": [], "nothing": {}, "nil": null, "flag": true, "text": "héllo wörld, long text"
        },
        "metadata": {"name": "web", "labels": {"b": "2", "a": "1"},
                     "annotations": {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}}
    })
}

const EXPRESSIONS: &[&str] = &[
    "x",
    "x.spec.containers.all(c, c.?securityContext.?privileged.orValue(false) == false)",
    "x.spec.containers.exists(c, c.?securityContext.?seccompProfile.?type.orValue('') == 'Localhost')",
    "x.spec.containers.all(c, c.?ports.orValue([]).all(p, p.?hostPort.orValue(0) == 0))",
    "x.spec.containers.map(c, c.name)",
    "x.spec.containers.filter(c, has(c.ports))",
    "x.spec.containers.exists_one(c, c.name == 'app')",
    "x.spec.containers + x.spec.?initContainers.orValue([]) + x.spec.?ephemeralContainers.orValue([])",
    "size(x.spec.containers + x.spec.initContainers)",
    "x.spec.volumes.all(v, !has(v.hostPath))",
    "x.spec.volumes.all(v, v.all(f, f in ['name', 'emptyDir']))",
    "x.metadata.?annotations.orValue({}).all(k, !k.startsWith('container.apparmor') || x.metadata.annotations[k] in ['', 'runtime/default'])",
    "x.metadata.labels.map(k, k)",
    "x.metadata.labels.transformMap(k, v, v + k)",
    "x.spec.containers.transformList(i, c, i)",
    "'ALL' in x.spec.containers[0].securityContext.capabilities.drop",
    "80 in x.spec.containers[0].ports.map(p, p.?containerPort.orValue(0))",
    "x.spec.containers[0].ports[0] in x.spec.containers[0].ports",
    "{'containerPort': 80} in x.spec.containers[0].ports",
    "'name' in x.spec.containers[0]",
    "1 in x.spec.containers[0]",
    "x.spec.nums == [dyn(1), 2.5, dyn(-3), 1e300]",
    "x.spec.nums == [1.0, 2.5, -3.0, 1e300]",
    "x.metadata.labels == {'a': '1', 'b': '2'}",
    "x.metadata.labels == x.metadata.labels",
    "x.spec.containers == x.spec.containers",
    "x.spec == x.metadata",
    "x.spec.empty == []",
    "x.spec.nothing == {}",
    "x.spec.nil == null",
    "x.spec.text.size()",
    "size(x.spec.containers)",
    "size(x.metadata.labels)",
    "type(x.spec.containers) == list && type(x.spec) == map",
    "dyn(x.spec).flag",
    "x.spec.containers[5]",
    "x.spec.containers[-1]",
    "x.spec.containers[1.5]",
    "x.spec.containers['a']",
    "x.spec.containers.name",
    "x.spec.missing",
    "x.spec.?missing.orValue(7)",
    "x.spec.?containers[?0].?name.orValue('none')",
    "x.spec.?containers[?9].?name.orValue('none')",
    "x.spec.?text.?sub.orValue('scalar')",
    "x.spec.?containers.?name.orValue('list')",
    "x.spec.nil.?a.orValue(1)",
    "x.spec.?nil.hasValue()",
    "x.spec.?nope.hasValue()",
    "has(x.spec.flag) && !has(x.spec.nope)",
    "has(x.spec.containers.name)",
    "x.spec.containers.sortBy(c, c.name).map(c, c.name)",
    "x.spec.nums.sort()",
    "x.metadata.labels['a'] + x.metadata.name",
    "string(x.spec.nums)",
    "x.spec.containers[0].securityContext.capabilities.add.join(',')",
    "optional.of(x.spec).value().flag",
    "[x.spec.nothing, x.spec.empty]",
    "{'k': x.spec.containers[1]}",
    "x.spec.containers.all(c, c.name.startsWith('a'))",
    "x.spec.containers.exists(c, c.image == 1)",
    "cel.bind(cs, x.spec.containers, cs.map(c, c.name))",
    "x.spec.volumes.map(v, v.filter(f, f != 'name'))",
    "x.spec.containers[0] + x.spec.containers[1]",
    "x.spec.containers < x.spec.initContainers",
    "-x.spec.containers",
    // Prepared optional chains (`OptChain`): found, absent, missing under the chain, scalars.
    "x.missing.spec.?a.orValue(1)",
    "x.spec.missing.?a.orValue(1)",
    "x.spec.containers.map(c, c.?securityContext.?capabilities.orValue({}))",
    "x.spec.containers.map(c, c.?securityContext.?capabilities.?drop.hasValue())",
    "x.spec.?nothing.hasValue() && x.spec.?flag.orValue(false)",
    "x.spec.?nil.?a.orValue(2)",
    "x.spec.?flag.?a.hasValue()",
    "x.metadata.?labels.?a.orValue('') + x.metadata.labels.?c.orValue('-')",
    "x.spec.containers.all(c, c.?securityContext.runAsUser.orValue(0) >= 0)",
];

#[test]
fn views_evaluate_like_converted_values() {
    let env = Env::kubernetes().variable("x", Type::Dyn).build();
    let data = doc();
    let mut view = Activation::new();
    view.bind("x", Value::from_json_view(&data));
    let mut plain = Activation::new();
    plain.bind("x", Value::from_json(&data));
    for src in EXPRESSIONS {
        let prog = env.compile(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let (got, got_cost) = prog.eval_with_cost(&view);
        let (want, want_cost) = prog.eval_with_cost(&plain);
        let json = |r: &Result<Value, palisade_cel::EvalError>| match r {
            Ok(v) => v.to_json().map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(json(&got), json(&want), "{src}");
        assert_eq!(got_cost, want_cost, "cost of {src}");
    }
}
