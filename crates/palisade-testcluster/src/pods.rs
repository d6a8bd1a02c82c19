//! The Pod the privileged-container policies are tested against, and where those policies
//! live in the repository.

/// Kyverno's classic Pod Security policy on privileged containers (repo-relative).
pub const PSS_PRIVILEGED: &str = "policies/pod-security/baseline/disallow-privileged-containers/disallow-privileged-containers.yaml";

/// The same control as a ValidatingPolicy (repo-relative).
pub const VPOL_PRIVILEGED: &str = "policies/pod-security-vpol/baseline/disallow-privileged-containers/disallow-privileged-containers.yaml";

/// A one-container nginx Pod, `privileged` or not. No ServiceAccount token is mounted, so the
/// Pod is admitted before the namespace's token controller has caught up.
pub fn pod(name: &str, namespace: &str, privileged: bool) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {namespace}
spec:
  automountServiceAccountToken: false
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      privileged: {privileged}
"#
    )
}
