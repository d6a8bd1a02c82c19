//! Support for the end-to-end tests: one real control plane per test binary
//! (`cluster`), kubectl as admin or tenant (`kubectl`), Palisade as a child
//! process (`serve`), and `Test`, the per-scenario context that serializes
//! scenarios (they share the cluster-wide policies and webhook
//! configurations) and resets the cluster before each one.

pub mod cluster;
pub mod filemode;
pub mod http;
pub mod kubectl;
pub mod manifests;
pub mod serve;
pub mod setup;

use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub use cluster::Cluster;
pub use kubectl::{Kubectl, Out};
pub use serve::Palisade;

/// The tenant's namespace (scripts/cluster/lib.sh).
pub const TENANT_NS: &str = "tenant-a";

static SERIAL: Mutex<()> = Mutex::new(());

/// One scenario's context. Dropping it stops Palisade and removes the
/// webhook configurations, so a killed Palisade never blocks later tests.
pub struct Test {
    /// The shared cluster.
    pub c: &'static Cluster,
    /// Scenario name (log file names, namespace names).
    pub name: &'static str,
    /// Palisade, once started.
    pub palisade: Option<Palisade>,
    _serial: MutexGuard<'static, ()>,
}

impl Test {
    /// Waits for the cluster and for the other scenarios; `None` means skip.
    pub fn begin(name: &'static str) -> Option<Test> {
        let c = cluster::get()?;
        // A failed scenario poisons the lock; the next one resets anyway.
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        setup::once(c);
        let t = Test {
            c,
            name,
            palisade: None,
            _serial: serial,
        };
        setup::reset(c);
        eprintln!(
            "e2e: {name}: begin (Palisade log: {})",
            t.log_path().display()
        );
        Some(t)
    }

    /// Palisade's log file for this scenario.
    pub fn log_path(&self) -> std::path::PathBuf {
        self.c.logs.join(format!("{}.palisade.log", self.name))
    }

    /// A policy file of the repository, as text.
    pub fn repo_file(&self, path: &str) -> String {
        let full = self.c.repo.join(path);
        std::fs::read_to_string(&full)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
    }

    /// Applies a policy manifest as admin; panics on failure.
    pub fn policy(&mut self, manifest: &str) -> Out {
        let out = self.c.admin.apply(manifest);
        assert!(out.ok, "kubectl apply as admin failed: {out}");
        out
    }

    /// Starts Palisade in cluster mode and waits until it reports ready
    /// (policies loaded, webhook configurations in place).
    pub fn start_palisade(&mut self) -> &mut Palisade {
        let port = cluster::free_port();
        let args = setup::cluster_mode_args(self.c, port);
        self.start_with(args, port)
    }

    /// Starts `palisade-serve ARGS` listening on `port` and waits until it
    /// reports ready.
    pub fn start_with(&mut self, args: Vec<std::ffi::OsString>, port: u16) -> &mut Palisade {
        let pid_dir = self.c.dir.join("e2e-pids");
        let mut p = Palisade::start(args, port, self.log_path(), &pid_dir);
        p.wait_ready(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
        self.palisade.insert(p)
    }

    /// The running Palisade.
    pub fn palisade(&mut self) -> &mut Palisade {
        self.palisade.as_mut().expect("start_palisade first")
    }

    /// Retries a server-side dry-run create of `manifest` as `who` until
    /// `done` accepts the result (the apiserver picks up webhook
    /// configurations asynchronously), for at most 30 s; returns the last
    /// result. Dry runs store nothing, so retrying is harmless.
    pub fn dry_run_until(&self, who: &Kubectl, manifest: &str, done: impl Fn(&Out) -> bool) -> Out {
        let start = Instant::now();
        loop {
            let out = who.dry_run_create(manifest);
            if done(&out) || start.elapsed() > Duration::from_secs(30) {
                return out;
            }
            sleep(Duration::from_millis(200));
        }
    }

    /// The end of Palisade's log, for failure messages.
    pub fn palisade_log(&self) -> String {
        self.palisade
            .as_ref()
            .map(|p| p.log_tail(30))
            .unwrap_or_default()
    }
}

impl Drop for Test {
    fn drop(&mut self) {
        if let Some(mut p) = self.palisade.take() {
            p.kill();
        }
        setup::remove_webhooks(self.c);
        eprintln!("e2e: {}: end", self.name);
    }
}

/// True when a kubectl result is an admission denial by Palisade's policies.
pub fn blocked(out: &Out) -> bool {
    !out.ok && out.stderr.contains("blocked due to the following policies")
}

/// Admission requests Palisade counted, from its `/metrics` text.
pub fn admission_requests(metrics: &str) -> f64 {
    serve::counter_sum(metrics, "palisade_admission_requests", "")
}

/// Polls a ClusterPolicy's `Ready` condition until its status is `want`
/// (30 s at most) and returns the condition.
pub fn wait_ready_condition(t: &Test, policy: &str, want: &str) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let obj = t.c.admin.get_json(&["clusterpolicy", policy]);
        let ready = obj["status"]["conditions"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["type"] == "Ready"))
            .cloned();
        match ready {
            Some(c) if c["status"] == want => return c,
            _ if start.elapsed() > Duration::from_secs(30) => {
                panic!(
                    "{policy}: no Ready={want} condition after 30s; status: {}\n{}",
                    obj["status"],
                    t.palisade_log()
                )
            }
            _ => sleep(Duration::from_millis(200)),
        }
    }
}
