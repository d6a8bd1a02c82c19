//! A real local control plane (scripts/cluster.sh) for one test binary, the controller as a
//! child process, and polling helpers.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Ports and a state directory of this binary's own.
pub struct Ports {
    pub apiserver: u16,
    pub etcd: u16,
    pub etcd_peer: u16,
    pub kcm: u16,
}

pub struct Cluster {
    env: Vec<(String, String)>,
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    kubectl: PathBuf,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Cluster {
    /// Starts (or reuses) the cluster and applies every CRD in deploy/crds.
    pub fn up(name: &str, ports: Ports) -> Cluster {
        let dir = std::env::temp_dir().join(format!("palisade-controller-{name}"));
        let env = [
            ("PALISADE_CLUSTER_DIR", dir.display().to_string()),
            ("PALISADE_APISERVER_PORT", ports.apiserver.to_string()),
            ("PALISADE_ETCD_PORT", ports.etcd.to_string()),
            ("PALISADE_ETCD_PEER_PORT", ports.etcd_peer.to_string()),
            ("PALISADE_KCM_PORT", ports.kcm.to_string()),
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
        assert!(
            up.status.success(),
            "cluster up failed:\n{}",
            String::from_utf8_lossy(&up.stderr)
        );
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
        let crds = repo_root().join("deploy/crds");
        cluster.kubectl(&["apply", "-f", &crds.display().to_string()]);
        cluster.kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd",
            "--all",
        ]);
        cluster
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

    /// `kubectl get ... -o json`, parsed; `None` when it fails (e.g. not found).
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

/// A free local port (bound and released; good enough for one test binary).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The controller binary running against the cluster; killed when dropped.
pub struct Controller {
    child: Child,
    pub health: SocketAddr,
    pub log: PathBuf,
}

impl Controller {
    pub fn start(cluster: &Cluster, name: &str, extra: &[&str]) -> Controller {
        Controller::start_as(cluster, &cluster.kubeconfig, name, extra)
    }

    /// Like [`Controller::start`], with another identity's kubeconfig.
    pub fn start_as(
        _cluster: &Cluster,
        kubeconfig: &Path,
        name: &str,
        extra: &[&str],
    ) -> Controller {
        let health: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        // Outside the cluster directory, which `down` removes: kept for a look after a failure.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("palisade-controller-logs");
        std::fs::create_dir_all(&dir).expect("log directory");
        let log = dir.join(format!("{name}-{}.log", std::process::id()));
        let file = std::fs::File::create(&log).expect("controller log file");
        let child = Command::new(env!("CARGO_BIN_EXE_palisade-controller"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--health-listen", &health.to_string()])
            .args(["--policy-rescan-gap", "1s"])
            .args(extra)
            .env("RUST_LOG", "info,palisade_controller=debug")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start palisade-controller");
        Controller { child, health, log }
    }

    /// HTTP status and body of GET `path` on the health port.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.health, path)
    }

    pub fn wait_ready(&self) {
        eventually("controller readiness", || {
            self.get("/health/readiness").filter(|(s, _)| *s == 200)
        });
    }

    pub fn metrics(&self) -> String {
        self.get("/metrics").map(|(_, b)| b).unwrap_or_default()
    }

    /// A metric's value (first sample whose line starts with `name`).
    pub fn metric(&self, name: &str) -> f64 {
        self.metrics()
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the process; true when it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        sent && self.child.wait().is_ok_and(|s| s.success())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
    }
}

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

/// The overall limit for eventually-consistent state (generous: the machine is shared).
pub const WAIT: Duration = Duration::from_secs(90);

/// Polls `check` every 100 ms until it returns Some, at most [`WAIT`].
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < WAIT, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
