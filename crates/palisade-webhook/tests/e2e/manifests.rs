//! The objects the scenarios create. Every one carries the label `e2e=true`
//! so the reset between scenarios finds it.

use std::path::Path;

/// The bundled policies of one directory (`policies/pod-security/baseline`):
/// each control's `<dir>/<control>/*.yaml`, hidden test dirs left out.
pub fn policy_dir(repo: &Path, dir: &str) -> Vec<String> {
    let mut controls: Vec<_> = std::fs::read_dir(repo.join(dir))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    controls.sort();
    let mut out = Vec::new();
    for control in controls.iter().filter(|p| p.is_dir()) {
        for file in std::fs::read_dir(control)
            .unwrap()
            .flatten()
            .map(|e| e.path())
        {
            if file.extension().is_some_and(|e| e == "yaml") {
                out.push(std::fs::read_to_string(&file).unwrap());
            }
        }
    }
    assert!(!out.is_empty(), "no policies under {dir}");
    out
}

/// The multi-tenant escape of examples/attack-pod.yaml: privileged, every
/// host namespace, the node's root filesystem mounted.
pub fn attack_pod(name: &str, ns: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {{e2e: "true"}}}}
spec:
  hostPID: true
  hostIPC: true
  hostNetwork: true
  containers:
  - name: shell
    image: busybox:1.36
    command: [nsenter, --target, "1", --mount, --uts, --ipc, --net, --pid, --, sh]
    securityContext: {{privileged: true}}
    volumeMounts: [{{name: host-root, mountPath: /host}}]
  volumes:
  - name: host-root
    hostPath: {{path: /}}
"#
    )
}

/// A Pod that passes every baseline and restricted control.
pub fn hardened_pod(name: &str, ns: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {{e2e: "true"}}}}
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 101
    seccompProfile: {{type: RuntimeDefault}}
  containers:
  - name: web
    image: nginxinc/nginx-unprivileged:1.27
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {{drop: [ALL]}}
"#
    )
}

/// A Pod with no security settings at all.
pub fn plain_pod(name: &str, ns: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {{e2e: "true"}}}}
spec:
  containers:
  - {{name: app, image: registry.k8s.io/pause:3.10}}
  - {{name: sidecar, image: registry.k8s.io/pause:3.10}}
"#
    )
}

/// A Pod with one privileged container (and nothing else wrong).
pub fn privileged_pod(name: &str, ns: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {{e2e: "true"}}}}
spec:
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
    securityContext: {{privileged: true}}
"#
    )
}

/// A Deployment whose Pod template has a privileged container.
pub fn privileged_deployment(name: &str, ns: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}, labels: {{e2e: "true"}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}, e2e: "true"}}}}
    spec:
      containers:
      - name: app
        image: registry.k8s.io/pause:3.10
        securityContext: {{privileged: true}}
"#
    )
}

/// A ConfigMap with `data.color`.
pub fn configmap(name: &str, ns: &str, color: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}, namespace: {ns}, labels: {{e2e: "true"}}}}
data: {{color: {color}}}
"#
    )
}

/// A ClusterPolicy denying ConfigMaps whose `data.color` is `color`;
/// `failure_policy` is the webhook failure policy (Fail or Ignore).
pub fn color_policy(name: &str, color: &str, failure_policy: &str) -> String {
    format!(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: {name}}}
spec:
  failurePolicy: {failure_policy}
  background: false
  rules:
  - name: forbidden-color
    match:
      any:
      - resources: {{kinds: [ConfigMap]}}
    validate:
      failureAction: Enforce
      message: "the color {color} is not allowed"
      deny:
        conditions:
          any:
          - key: "{{{{ request.object.data.color || '' }}}}"
            operator: Equals
            value: {color}
"#
    )
}

/// A ClusterPolicy that cannot compile: an operator that does not exist.
pub fn broken_policy(name: &str) -> String {
    format!(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: {name}}}
spec:
  background: false
  rules:
  - name: broken
    match:
      any:
      - resources: {{kinds: [Pod]}}
    validate:
      failureAction: Enforce
      message: "never evaluated"
      deny:
        conditions:
          any:
          - key: "{{{{ request.object.metadata.name }}}}"
            operator: IsSortOf
            value: anything
"#
    )
}

/// The same policy as a namespaced `Policy` in `ns`.
pub fn namespaced(cluster_policy: &str, name: &str, ns: &str) -> String {
    let from = format!("kind: ClusterPolicy\nmetadata: {{name: {name}}}");
    assert!(
        cluster_policy.contains(&from),
        "not a ClusterPolicy named {name}"
    );
    cluster_policy.replace(
        &from,
        &format!("kind: Policy\nmetadata: {{name: {name}, namespace: {ns}}}"),
    )
}

/// A PolicyException for the Pod `pod` in `ns` from `policy`'s `rule`.
pub fn exception(name: &str, ns: &str, policy: &str, rule: &str, pod: &str) -> String {
    format!(
        r#"apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {{name: {name}, namespace: {ns}}}
spec:
  exceptions:
  - policyName: {policy}
    ruleNames: [{rule}]
  match:
    any:
    - resources: {{kinds: [Pod], namespaces: [{ns}], names: [{pod}]}}
"#
    )
}
