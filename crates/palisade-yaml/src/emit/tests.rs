use serde_json::json;

use super::*;

#[test]
fn kubectl_layout() {
    let v = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "containers": [
                {"name": "app", "image": "nginx", "args": ["-v", "on"], "ports": [{"containerPort": 80}]},
                {"name": "side", "env": [], "resources": {}}
            ]
        }
    });
    let want = "\
apiVersion: v1
kind: Pod
metadata:
  labels:
    app: web
  name: web
spec:
  containers:
  - args:
    - -v
    - \"on\"
    image: nginx
    name: app
    ports:
    - containerPort: 80
  - env: []
    name: side
    resources: {}
";
    assert_eq!(to_yaml_string(&v), want);
}

#[test]
fn scalars_and_nesting() {
    let cases: Vec<(Value, &str)> = vec![
        (json!(null), "null\n"),
        (json!(true), "true\n"),
        (json!(12), "12\n"),
        (json!(1.5), "1.5\n"),
        (json!(2.0), "2\n"),
        (json!(1e20), "1e+20\n"),
        (json!(1234567.5), "1.2345675e+06\n"),
        (json!(u64::MAX), "18446744073709551615\n"),
        (json!("x"), "x\n"),
        (json!({}), "{}\n"),
        (json!([]), "[]\n"),
        (json!([[1, 2], [], {}]), "- - 1\n  - 2\n- []\n- {}\n"),
        (json!([{"a": [1]}]), "- a:\n  - 1\n"),
        (json!({"a": {"b": {"c": null}}}), "a:\n  b:\n    c: null\n"),
        (json!({"1": "yes", "": ""}), "\"\": \"\"\n\"1\": \"yes\"\n"),
        (json!({"k": "line1\nline2"}), "k: |-\n  line1\n  line2\n"),
        (
            json!({"k": "line1\n\nline2\n"}),
            "k: |\n  line1\n\n  line2\n",
        ),
        (json!({"k": "a\n\n"}), "k: |+\n  a\n\n"),
        (json!({"k": "\n"}), "k: |+\n\n"),
        (json!({"k": "\n\nx"}), "k: |2-\n\n\n  x\n"),
        (json!({"k": "  indented\nx"}), "k: |2-\n    indented\n  x\n"),
        (json!(["a\nb"]), "- |-\n  a\n  b\n"),
        (json!([{"k": "a\nb"}]), "- k: |-\n    a\n    b\n"),
        (json!({"k": "tab\there"}), "k: \"tab\\there\"\n"),
        (json!({"k": "it's *"}), "k: it's *\n"),
        (json!({"k": "*it's"}), "k: '*it''s'\n"),
        (
            json!({"k": "\u{1}\u{7f}\u{1F600}"}),
            "k: \"\\x01\\x7F\\U0001F600\"\n",
        ),
        (json!({"<<": 1}), "\"<<\": 1\n"),
    ];
    for (v, want) in cases {
        assert_eq!(to_yaml_string(&v), want, "{v}");
    }
}

#[test]
fn long_and_multiline_keys_are_explicit() {
    let long = "k".repeat(129);
    let v = json!({ long.clone(): 1, "a\nb": {"c": 2} });
    let want = format!("? |-\n  a\n  b\n:\n  c: 2\n? {long}\n: 1\n");
    assert_eq!(to_yaml_string(&v), want);
    let ok = "k".repeat(128);
    assert_eq!(
        to_yaml_string(&json!({ ok.clone(): 1 })),
        format!("{ok}: 1\n")
    );
}

#[test]
fn streams() {
    let docs = [json!({"a": 1}), json!(["x"]), json!("s")];
    assert_eq!(to_yaml_stream(&docs), "a: 1\n---\n- x\n---\ns\n");
    assert_eq!(to_yaml_stream(&[]), "");
}

#[test]
fn long_strings_fold_past_column_80_like_kubectl() {
    let desc = "The ':latest' tag is mutable and can lead to unexpected errors if the image changes. \
                A best practice is to use an immutable tag that maps to a specific version of an application Pod.";
    let v = json!({"metadata": {"annotations": {"policies.kyverno.io/description": desc}}});
    let want = "\
metadata:
  annotations:
    policies.kyverno.io/description: The ':latest' tag is mutable and can lead to
      unexpected errors if the image changes. A best practice is to use an immutable
      tag that maps to a specific version of an application Pod.
";
    assert_eq!(to_yaml_string(&v), want);

    let words = ["word"; 40].join(" ");
    let text = to_yaml_string(&json!({"k": [words]}));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], format!("- {}", ["word"; 16].join(" ")));
    assert_eq!(lines[2], format!("  {}", ["word"; 16].join(" ")));
    assert_eq!(lines[3], format!("  {}", ["word"; 8].join(" ")));

    // Quoted styles fold too; a double-quoted fold before a second space escapes it.
    let single = format!("*{}", ["ab"; 40].join(" "));
    let text = to_yaml_string(&json!({ "k": single }));
    assert!(text.starts_with("k: '*ab ab"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    let double = format!("{}  x\ty", "a".repeat(80));
    let text = to_yaml_string(&json!({ "k": double }));
    assert_eq!(text, format!("k: \"{}\n  \\ x\\ty\"\n", "a".repeat(80)));

    // Keys never fold; words longer than the line stay whole.
    let key = ["kk"; 40].join(" ");
    assert_eq!(
        to_yaml_string(&json!({ key.clone(): 1 })),
        format!("{key}: 1\n")
    );
    let long = "x".repeat(200);
    assert_eq!(
        to_yaml_string(&json!({ "k": long.clone() })),
        format!("k: {long}\n")
    );
}
