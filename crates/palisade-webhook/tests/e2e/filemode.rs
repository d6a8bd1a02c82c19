//! Palisade in file mode (`palisade-serve --policies PATH --tls-cert F
//! --tls-key F`): policies and certificate from files, and a webhook
//! configuration the harness registers itself, as a user without the
//! cluster mode would.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Cluster;

fn openssl(args: &[&str], paths: &[&Path]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .args(paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Makes a self-signed serving certificate for 127.0.0.1 under `dir` and
/// returns the file-mode arguments serving `policies` on `port`.
pub fn args(dir: &Path, policies: &[PathBuf], port: u16) -> Vec<OsString> {
    std::fs::create_dir_all(dir).unwrap();
    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let req = [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=palisade-e2e",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
    ];
    openssl(&req, &[&key, Path::new("-out"), &crt]);
    let mut args: Vec<OsString> = vec!["--policies".into()];
    args.extend(policies.iter().map(|p| p.as_os_str().to_owned()));
    args.push("--listen".into());
    args.push(format!("127.0.0.1:{port}").into());
    args.extend([
        "--tls-cert".into(),
        crt.into(),
        "--tls-key".into(),
        key.into(),
    ]);
    args
}

/// Registers a Fail ValidatingWebhookConfiguration for Pods at
/// `https://127.0.0.1:port/validate`, trusting `dir/tls.crt`.
pub fn register(c: &Cluster, dir: &Path, port: u16) {
    let ca = openssl(&["base64", "-A", "-in"], &[&dir.join("tls.crt")]);
    let ca = String::from_utf8(ca).unwrap();
    let manifest = format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: palisade-e2e-file-mode}}
webhooks:
- name: validate.file-mode.e2e.palisade.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 10
  namespaceSelector:
    matchExpressions: [{{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}}]
  rules:
  - {{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}}
  clientConfig:
    url: https://127.0.0.1:{port}/validate
    caBundle: {ca}
"#
    );
    let out = c.admin.apply(&manifest);
    assert!(out.ok, "cannot register the file-mode webhook: {out}");
}
