//! The controller as a child process against a real local control plane; the control plane
//! and polling come from palisade-testcluster.

// Each test binary uses a different part of this module.
#![allow(dead_code, unused_imports)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Parser;
pub use palisade_testcluster::reports::{outcome, report, report_of, row, wait_outcome};
pub use palisade_testcluster::{Cluster, cel, eventually, free_port, http_get, pods, repo_root};
use serde_json::Value;

/// Starts the cluster for one test binary with the CRDs in place; `None` when it is skipped.
pub fn cluster(name: &str) -> Option<Cluster> {
    let cluster = Cluster::up(&format!("controller-{name}"))?;
    cluster.apply_crds();
    Some(cluster)
}

/// `kubectl get kind name -n ns`, parsed; `None` when it does not exist.
pub fn get(cluster: &Cluster, kind: &str, name: &str, ns: &str) -> Option<Value> {
    cluster.get_json(&[kind, name, "-n", ns])
}

/// Waits until `kind/name` in `ns` is deleted.
pub fn gone(cluster: &Cluster, kind: &str, name: &str, ns: &str) {
    eventually(&format!("{kind} {ns}/{name} deleted"), || {
        get(cluster, kind, name, ns).is_none().then_some(())
    });
}

/// The webhook in-process in cluster mode on `port`, as the identity of `kubeconfig`, with
/// its namespace `palisade`; it runs until the test binary exits.
pub fn start_webhook(kubeconfig: &Path, port: u16) {
    let args = palisade_webhook::ServeArgs::parse_from([
        "palisade-serve".to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--webhook-url".into(),
        format!("https://127.0.0.1:{port}"),
        "--namespace".into(),
        "palisade".into(),
    ]);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        if let Err(e) = rt.block_on(palisade_webhook::run(args)) {
            eprintln!("webhook stopped: {e:#}");
        }
    });
}

/// Waits until the validating webhook configuration sends `resource` to Palisade.
pub fn wait_registered(cluster: &Cluster, resource: &str) {
    eventually(&format!("webhook registered for {resource}"), || {
        let cfg = cluster.validating_webhook_config()?;
        cfg.to_string()
            .contains(&format!("\"{resource}\""))
            .then_some(())
    });
    // The API server picks configurations up asynchronously.
    std::thread::sleep(Duration::from_secs(2));
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

    /// [`Controller::start`], then [`Controller::wait_ready`].
    pub fn start_ready(cluster: &Cluster, name: &str, extra: &[&str]) -> Controller {
        let controller = Controller::start(cluster, name, extra);
        controller.wait_ready();
        controller
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
