//! `palisade-serve` as a real child process: started, probed over HTTPS,
//! killed with SIGKILL and restarted on demand.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::http;

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_palisade-serve"))
}

/// One Palisade process (restartable with the same arguments).
#[derive(Debug)]
pub struct Palisade {
    args: Vec<OsString>,
    /// HTTPS port it listens on (webhook, health, metrics).
    pub port: u16,
    /// Its stdout and stderr, across restarts.
    pub log: PathBuf,
    pidfile: PathBuf,
    child: Option<Child>,
}

impl Palisade {
    /// Starts `palisade-serve ARGS`; `pid_dir` is where the teardown
    /// watchdog looks for processes to kill if the tests die first.
    pub fn start(args: Vec<OsString>, port: u16, log: PathBuf, pid_dir: &Path) -> Palisade {
        std::fs::create_dir_all(pid_dir).unwrap();
        let name = log.file_stem().unwrap().to_string_lossy().into_owned();
        let pidfile = pid_dir.join(format!("{name}.pid"));
        let mut p = Palisade {
            args,
            port,
            log,
            pidfile,
            child: None,
        };
        p.spawn();
        p
    }

    fn spawn(&mut self) {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        writeln!(log, "=== e2e: starting {} {:?}", bin().display(), self.args).unwrap();
        let child = Command::new(bin())
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1") // plain text in the log file
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin().display()));
        std::fs::write(&self.pidfile, child.id().to_string()).unwrap();
        self.child = Some(child);
    }

    /// Polls `/health/readiness` until it answers 200; fails when the
    /// process exits or after `limit`.
    pub fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < limit {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "palisade-serve exited ({status}); log:\n{}",
                    self.log_tail(40)
                ));
            }
            match http::get(self.port, "/health/readiness") {
                Ok(r) if r.status == 200 => return Ok(()),
                Ok(r) => last = format!("status {}: {}", r.status, r.body.trim()),
                Err(e) => last = e,
            }
            sleep(Duration::from_millis(200));
        }
        Err(format!(
            "palisade-serve not ready after {limit:?} (last: {last}); log:\n{}",
            self.log_tail(40)
        ))
    }

    /// One readiness probe.
    pub fn is_ready(&self) -> bool {
        http::get(self.port, "/health/readiness").is_ok_and(|r| r.status == 200)
    }

    /// SIGKILL, as a crash or an OOM kill would do: no graceful shutdown.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = writeln!(
                File::options().append(true).open(&self.log).unwrap(),
                "=== e2e: SIGKILL"
            );
        }
        let _ = std::fs::remove_file(&self.pidfile);
    }

    /// Starts the process again with the same arguments.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The Prometheus text from `/metrics`.
    pub fn metrics(&self) -> String {
        let r = http::get(self.port, "/metrics").unwrap_or_else(|e| panic!("GET /metrics: {e}"));
        assert_eq!(r.status, 200, "GET /metrics: {}", r.body);
        r.body
    }

    /// The last `lines` lines of the process output.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Palisade {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sum of every sample of a Prometheus counter family (`name` without the
/// `_total` suffix is accepted), optionally only samples whose labels
/// contain `label_filter`.
pub fn counter_sum(metrics: &str, name: &str, label_filter: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let family = series.split('{').next()?;
            let matches = family == name || family == format!("{name}_total");
            (matches && series.contains(label_filter))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}
