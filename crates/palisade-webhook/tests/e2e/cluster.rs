//! The local control plane, started once per test binary through
//! `scripts/cluster.sh up` in a directory and on ports of its own, and torn
//! down by a watchdog process when the test binary exits (however it exits).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::kubectl::Kubectl;
pub use palisade_testcluster::{free_port, required};

/// A running control plane.
#[derive(Debug)]
pub struct Cluster {
    /// Repository root.
    pub repo: PathBuf,
    /// `PALISADE_CLUSTER_DIR` of this cluster.
    pub dir: PathBuf,
    /// Where test logs go (Palisade's output, copies of the cluster logs).
    pub logs: PathBuf,
    /// kubectl as `palisade-admin` (system:masters).
    pub admin: Kubectl,
    /// kubectl as `tenant-a-user` (edit in namespace tenant-a only).
    pub tenant: Kubectl,
    /// The admin kubeconfig, for Palisade in cluster mode.
    pub admin_kubeconfig: PathBuf,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The shared cluster; `None` means "skip" (printed once), a failure to
/// start when it is required panics with the script's output.
pub fn get() -> Option<&'static Cluster> {
    let result = CLUSTER.get_or_init(start);
    match result {
        Ok(cluster) => Some(cluster),
        Err(why) if required() => {
            panic!("e2e: the local control plane is required (CI or PALISADE_E2E=1) but {why}")
        }
        Err(why) => {
            static ONCE: std::sync::Once = std::sync::Once::new();
            // Straight to stderr: the test harness captures eprintln! output.
            ONCE.call_once(|| {
                let msg =
                    format!("e2e: skipped: {why} (set PALISADE_E2E=1 to make this a failure)\n");
                let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            });
            None
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn start() -> Result<Cluster, String> {
    if std::env::var("PALISADE_E2E").is_ok_and(|v| v == "0") {
        return Err("PALISADE_E2E=0".into());
    }
    if Command::new("go")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        return Err(
            "Go is not installed, so scripts/cluster.sh cannot build the control plane".into(),
        );
    }
    let repo = repo_root();
    let script = repo.join("scripts/cluster.sh");
    sweep_leftovers(&script);
    let dir = PathBuf::from(format!("/tmp/palisade-e2e-{}", std::process::id()));
    let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let ports = [
        ("PALISADE_ETCD_PORT", free_port()),
        ("PALISADE_ETCD_PEER_PORT", free_port()),
        ("PALISADE_APISERVER_PORT", free_port()),
        ("PALISADE_KCM_PORT", free_port()),
    ];
    let run = |arg: &str| {
        let mut cmd = Command::new(&script);
        cmd.arg(arg)
            .env("PALISADE_CLUSTER_DIR", &dir)
            .stdin(Stdio::null());
        for (var, port) in ports {
            cmd.env(var, port.to_string());
        }
        cmd.output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))
    };
    // A leftover of a crashed run with our pid (pid reuse) goes first.
    run("down")?;
    spawn_watchdog(&script, &dir, &logs)?;
    // Uncaptured: a first run builds the control plane for minutes.
    let msg = format!(
        "e2e: starting the control plane in {} (a first run builds it, ~7 min; logs: {})\n",
        dir.display(),
        logs.display()
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
    let up = run("up")?;
    if !up.status.success() {
        return Err(format!(
            "`scripts/cluster.sh up` failed:\n{}{}",
            String::from_utf8_lossy(&up.stdout),
            String::from_utf8_lossy(&up.stderr)
        ));
    }
    let env = String::from_utf8_lossy(&run("env")?.stdout).into_owned();
    let var = |name: &str| -> Result<PathBuf, String> {
        let prefix = format!("export {name}=");
        env.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(PathBuf::from)
            .ok_or_else(|| format!("`scripts/cluster.sh env` printed no {name}"))
    };
    let bin = var("PALISADE_KUBECTL")?;
    let admin_kubeconfig = var("PALISADE_ADMIN_KUBECONFIG")?;
    let admin = Kubectl {
        bin: bin.clone(),
        kubeconfig: admin_kubeconfig.clone(),
        who: "admin",
    };
    let tenant = Kubectl {
        bin,
        kubeconfig: var("PALISADE_TENANT_KUBECONFIG")?,
        who: "tenant-a-user",
    };
    Ok(Cluster {
        repo,
        dir,
        logs,
        admin,
        tenant,
        admin_kubeconfig,
    })
}

/// Clusters of earlier test runs whose process is gone (killed before its
/// watchdog could run) are stopped and removed.
fn sweep_leftovers(script: &Path) {
    let Ok(entries) = std::fs::read_dir("/tmp") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("palisade-e2e-")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        eprintln!(
            "e2e: removing the leftover cluster {}",
            entry.path().display()
        );
        let _ = Command::new(script)
            .arg("down")
            .env("PALISADE_CLUSTER_DIR", entry.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A detached process that waits for this test binary to exit, then kills
/// the Palisade processes it left (pid files under `dir/e2e-pids`), keeps a
/// copy of the cluster logs and runs `down`. Rust runs no destructors for
/// statics, and this also covers a panic abort or a SIGKILL of the tests.
/// PALISADE_E2E_KEEP=1 leaves the cluster running for debugging.
fn spawn_watchdog(script: &Path, dir: &Path, logs: &Path) -> Result<(), String> {
    const WATCH: &str = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
        for f in "$2"/e2e-pids/*.pid; do
            [ -f "$f" ] || continue
            pid=$(cat "$f")
            # Only a process whose command line still points into our dir.
            if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$2/"; then kill -KILL "$pid"; fi
        done
        rm -rf "$4/cluster" && cp -r "$2/logs" "$4/cluster" 2>/dev/null
        if [ "${PALISADE_E2E_KEEP:-}" = 1 ]; then
            echo "kept: PALISADE_CLUSTER_DIR=$2 $3 down"; exit 0
        fi
        PALISADE_CLUSTER_DIR="$2" "$3" down
    "#;
    let log = std::fs::File::create(logs.join("teardown.log")).map_err(|e| e.to_string())?;
    Command::new("setsid")
        .args(["bash", "-c", WATCH, "e2e-watchdog"])
        .arg(std::process::id().to_string())
        .arg(dir)
        .arg(script)
        .arg(logs)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the teardown watchdog (setsid, bash): {e}"))?;
    Ok(())
}
