//! Test support shared by the crates whose tests need a real Kubernetes control plane: a
//! cluster from `scripts/cluster.sh` on free ports and a directory of its own, kubectl as its
//! admin, and polling for eventually-consistent state. A dev-dependency only: failures here
//! are test failures, so they panic with what went wrong.
//!
//! Whether a control plane that cannot start fails the test or skips it is [`required`]'s
//! decision (CI and `PALISADE_E2E=1` make it a failure).
//!
//! Fixtures several test crates share, one module a family: [`pods`] (the privileged Pod),
//! [`cel`] (CEL policy and admission policy manifests), [`reports`] (PolicyReport rows and
//! waiting for them).

pub mod cel;
pub mod pods;
pub mod reports;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The overall limit for eventually-consistent state (generous: the machine is shared).
pub const WAIT: Duration = Duration::from_secs(90);

/// Whether a control plane that cannot start is a failure (true) or a skip.
/// `PALISADE_E2E` decides when set (1: required, 0: skipped), else `CI` does.
pub fn required() -> bool {
    match std::env::var("PALISADE_E2E").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0"),
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port that was free a moment ago on 127.0.0.1 (good enough for one test binary).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A running control plane, stopped when dropped (kept with `PALISADE_KEEP_CLUSTER` set, for
/// a look after a failure).
pub struct Cluster {
    env: Vec<(String, String)>,
    /// Its `PALISADE_CLUSTER_DIR`.
    pub dir: PathBuf,
    /// The admin's kubeconfig (system:masters).
    pub kubeconfig: PathBuf,
    kubectl: PathBuf,
}

impl Cluster {
    /// Starts a cluster named `name` (its directory is unique to this process) on free ports.
    /// `None` when it cannot start and it is not [`required`], e.g. on a machine without Go
    /// to build the control plane; when required, that panics with the script's output.
    pub fn up(name: &str) -> Option<Cluster> {
        if std::env::var("PALISADE_E2E").is_ok_and(|v| v == "0") {
            eprintln!("skipped: PALISADE_E2E=0");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("palisade-{name}-{}", std::process::id()));
        let env = [
            ("PALISADE_CLUSTER_DIR", dir.display().to_string()),
            ("PALISADE_APISERVER_PORT", free_port().to_string()),
            ("PALISADE_ETCD_PORT", free_port().to_string()),
            ("PALISADE_ETCD_PEER_PORT", free_port().to_string()),
            ("PALISADE_KCM_PORT", free_port().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut cluster = Cluster {
            env,
            dir,
            kubeconfig: PathBuf::new(),
            kubectl: PathBuf::new(),
        };
        let up = cluster.script("up");
        if !up.status.success() {
            let why = format!(
                "cluster up failed:\n{}",
                String::from_utf8_lossy(&up.stderr)
            );
            assert!(!required(), "{why}");
            eprintln!("skipped: {why}");
            return None;
        }
        let env = cluster.script("env");
        for line in String::from_utf8_lossy(&env.stdout).lines() {
            let Some((k, v)) = line.trim_start_matches("export ").split_once('=') else {
                continue;
            };
            let v = v.trim_matches(|c| c == '"' || c == '\'');
            match k {
                "PALISADE_ADMIN_KUBECONFIG" => cluster.kubeconfig = PathBuf::from(v),
                "PALISADE_KUBECTL" => cluster.kubectl = PathBuf::from(v),
                _ => {}
            }
        }
        assert!(
            cluster.kubeconfig.is_file(),
            "no kubeconfig from `cluster.sh env`"
        );
        Some(cluster)
    }

    /// Applies every CRD in deploy/crds and waits until they are established.
    pub fn apply_crds(&self) {
        self.apply_file("deploy/crds");
        self.wait_crds_established();
    }

    /// Waits until every CRD applied so far is established (at most 60 s).
    pub fn wait_crds_established(&self) {
        self.kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd",
            "--all",
        ]);
    }

    /// `kubectl apply -f -` of `manifest`.
    pub fn apply(&self, manifest: &str) -> String {
        self.kubectl_stdin(&["apply", "-f", "-"], manifest)
    }

    /// `kubectl apply -f` of a file or directory of this repository (`path` relative to it).
    pub fn apply_file(&self, path: &str) -> String {
        self.kubectl(&["apply", "-f", &repo_root().join(path).display().to_string()])
    }

    /// The UID of the object `kubectl get <args>` names; `None` when it does not exist.
    pub fn uid(&self, args: &[&str]) -> Option<String> {
        let obj = self.get_json(args)?;
        obj["metadata"]["uid"].as_str().map(str::to_string)
    }

    fn script(&self, command: &str) -> Output {
        Command::new(repo_root().join("scripts/cluster.sh"))
            .arg(command)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run scripts/cluster.sh")
    }

    /// Runs kubectl as the admin; returns stdout, panics with stderr on failure.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.kubectl_stdin(args, "")
    }

    /// [`Cluster::kubectl`] with `stdin` as its input (`apply -f -`).
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.try_kubectl(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl as the admin and returns whatever happened.
    pub fn try_kubectl(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.as_bytes())
                .expect("write kubectl stdin");
        }
        child.wait_with_output().expect("wait for kubectl")
    }

    /// `kubectl get ... -o json`, parsed; `None` when it fails (e.g. not found).
    pub fn get_json(&self, args: &[&str]) -> Option<Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let out = self.try_kubectl(&all, "");
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Palisade's validating webhook configuration (its default name), `None` before it is
    /// registered.
    pub fn validating_webhook_config(&self) -> Option<Value> {
        self.get_json(&[
            "validatingwebhookconfiguration",
            "palisade-validating-webhook-cfg",
        ])
    }

    /// Creates a namespace and waits for its default ServiceAccount (Pods need it).
    pub fn namespace(&self, name: &str) {
        self.kubectl(&["create", "namespace", name]);
        eventually(&format!("ServiceAccount default in {name}"), || {
            self.get_json(&["serviceaccount", "default", "-n", name])
        });
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::env::var_os("PALISADE_KEEP_CLUSTER").is_some() {
            return;
        }
        let down = self.script("down");
        if !down.status.success() {
            eprintln!(
                "cluster down failed:\n{}",
                String::from_utf8_lossy(&down.stderr)
            );
        }
    }
}

/// HTTP status and body of a plain-HTTP GET (health and metrics ports).
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Polls `check` every 100 ms until it returns Some, at most [`WAIT`].
pub fn eventually<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    eventually_within(what, WAIT, check)
}

/// Polls `check` every 100 ms until it returns Some, at most `limit`; blocks the thread (from
/// async code, call it through `spawn_blocking` or use a runtime's own sleep).
pub fn eventually_within<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
