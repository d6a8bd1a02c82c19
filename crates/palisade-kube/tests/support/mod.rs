//! A real local control plane (scripts/cluster.sh) for the tests of one test binary, stopped
//! when dropped, plus small helpers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use palisade_kube::TlsSink;

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

pub struct Cluster {
    env: Vec<(String, String)>,
    pub kubeconfig: PathBuf,
    kubectl: PathBuf,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Cluster {
    /// Starts a cluster on free ports and a directory of its own. `None` (the test is
    /// skipped) when it cannot start and neither `CI` nor `PALISADE_E2E` is set, e.g. on a
    /// machine without Go to build the control plane; with either set, that is a failure.
    pub fn up(name: &str) -> Option<Cluster> {
        let dir = std::env::temp_dir().join(format!("palisade-kube-{name}-{}", std::process::id()));
        let env = vec![
            (
                "PALISADE_CLUSTER_DIR".to_string(),
                dir.display().to_string(),
            ),
            (
                "PALISADE_APISERVER_PORT".to_string(),
                free_port().to_string(),
            ),
            ("PALISADE_ETCD_PORT".to_string(), free_port().to_string()),
            (
                "PALISADE_ETCD_PEER_PORT".to_string(),
                free_port().to_string(),
            ),
            ("PALISADE_KCM_PORT".to_string(), free_port().to_string()),
        ];
        let mut cluster = Cluster {
            env,
            kubeconfig: PathBuf::new(),
            kubectl: PathBuf::new(),
        };
        let up = cluster.script("up");
        if !up.status.success() {
            let why = format!(
                "cluster up failed:\n{}",
                String::from_utf8_lossy(&up.stderr)
            );
            let required =
                std::env::var_os("CI").is_some() || std::env::var_os("PALISADE_E2E").is_some();
            assert!(!required, "{why}");
            eprintln!("skipped: {why}");
            return None;
        }
        let env = cluster.script("env");
        for line in String::from_utf8_lossy(&env.stdout).lines() {
            let Some((k, v)) = line.trim_start_matches("export ").split_once('=') else {
                continue;
            };
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

    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.try_kubectl(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

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

    /// `kubectl get ... -o json`, parsed.
    pub fn get_json(&self, args: &[&str]) -> Option<serde_json::Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let out = self.try_kubectl(&all, "");
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let down = self.script("down");
        if !down.status.success() {
            eprintln!(
                "cluster down failed:\n{}",
                String::from_utf8_lossy(&down.stderr)
            );
        }
    }
}

/// Records the serving certificates the runtime installs.
#[derive(Default)]
pub struct RecordingSink(pub Mutex<Vec<String>>);

impl RecordingSink {
    pub fn certs(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl TlsSink for RecordingSink {
    fn install(&self, cert_pem: &str, key_pem: &str) -> Result<(), String> {
        if !key_pem.contains("PRIVATE KEY") {
            return Err("no key".into());
        }
        self.0.lock().unwrap().push(cert_pem.to_string());
        Ok(())
    }
}

/// Polls `check` until it returns Some (at most `limit`), for eventually-consistent state.
pub async fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
