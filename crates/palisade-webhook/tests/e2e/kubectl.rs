//! kubectl as a given identity (the cache's kubectl, never the one on PATH).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// kubectl bound to one kubeconfig.
#[derive(Debug, Clone)]
pub struct Kubectl {
    /// The kubectl binary.
    pub bin: PathBuf,
    /// The identity's kubeconfig.
    pub kubeconfig: PathBuf,
    /// Who this is, for messages.
    pub who: &'static str,
}

/// What one kubectl call did.
#[derive(Debug)]
pub struct Out {
    /// Exit status was 0.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error (denials and admission warnings land here).
    pub stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok={} stdout={:?} stderr={:?}",
            self.ok, self.stdout, self.stderr
        )
    }
}

impl Kubectl {
    /// Runs kubectl with `args`, feeding `stdin` when given.
    pub fn run_with(&self, args: &[&str], stdin: Option<&str>) -> Out {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--request-timeout=30s")
            .args(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).unwrap();
        }
        let output = child.wait_with_output().unwrap();
        Out {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs kubectl with `args`.
    pub fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, None)
    }

    /// Runs kubectl and panics with its output unless it succeeds.
    pub fn must(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.ok,
            "kubectl {} as {} failed: {out}",
            args.join(" "),
            self.who
        );
        out.stdout
    }

    /// `kubectl apply -f -` with the given manifest text.
    pub fn apply(&self, manifest: &str) -> Out {
        self.run_with(&["apply", "-f", "-"], Some(manifest))
    }

    /// `kubectl create -f -` with the given manifest text.
    pub fn create(&self, manifest: &str) -> Out {
        self.run_with(&["create", "-f", "-"], Some(manifest))
    }

    /// `kubectl create --dry-run=server -f -`: goes through admission (and
    /// webhooks) without storing anything, so it can be retried freely.
    pub fn dry_run_create(&self, manifest: &str) -> Out {
        self.run_with(
            &["create", "--dry-run=server", "-o", "json", "-f", "-"],
            Some(manifest),
        )
    }

    /// `kubectl get ARGS -o json`, parsed; panics when the call fails.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let text = self.must(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("kubectl get output is not JSON ({e}): {text}"))
    }
}
