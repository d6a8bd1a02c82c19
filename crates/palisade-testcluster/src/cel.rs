//! Manifests of Kyverno's CEL policy kinds and of ValidatingAdmissionPolicies that several
//! tests apply. Each is written out in full where the test reads better for it; the builders
//! cover the one shape that recurs: a policy that denies ConfigMaps by one expression.

/// A ValidatingPolicy whose expression does not compile (`nope` is no variable): its status
/// must name `spec.validations[0].expression` and the position.
pub const BROKEN_VPOL: &str = r#"
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: broken-cel
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: ['']
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  validations:
  - expression: object.spec.containers.all(c, c.image == nope)
    message: never
"#;

/// A ValidatingAdmissionPolicy `cm-size` (no binding): at most two keys per ConfigMap.
pub const CM_SIZE_VAP: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: cm-size
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: ['']
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [configmaps]
  validations:
  - expression: "!has(object.data) || size(object.data) <= 2"
"#;

/// A cluster-wide ValidatingPolicy (v1) that denies ConfigMap creates and updates failing
/// `expression` with `message`.
pub fn configmap_vpol(name: &str, expression: &str, message: &str) -> String {
    configmap_policy(
        "policies.kyverno.io/v1",
        "ValidatingPolicy",
        &format!("name: {name}"),
        expression,
        message,
    )
}

/// [`configmap_vpol`] as a NamespacedValidatingPolicy in `namespace`, written at v1beta1.
pub fn configmap_nvpol(name: &str, namespace: &str, expression: &str, message: &str) -> String {
    configmap_policy(
        "policies.kyverno.io/v1beta1",
        "NamespacedValidatingPolicy",
        &format!("name: {name}\n  namespace: {namespace}"),
        expression,
        message,
    )
}

fn configmap_policy(
    api_version: &str,
    kind: &str,
    metadata: &str,
    expression: &str,
    message: &str,
) -> String {
    // A JSON string is a YAML string: quotes and escapes stay right whatever the expression.
    let expression = serde_json::Value::from(expression);
    format!(
        r#"
apiVersion: {api_version}
kind: {kind}
metadata:
  {metadata}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: ['']
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [configmaps]
  validations:
  - expression: {expression}
    message: {message}
"#
    )
}
