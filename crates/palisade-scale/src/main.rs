//! Scale benchmark of the background controller (issue 5, item 8) against a real API server:
//! N Pods exist, the Pod Security policies are in the cluster, and the controller writes a
//! PolicyReport for every Pod. Measures the time until every report is written, the
//! controller's peak RSS (VmHWM) and CPU seconds, the API server's and etcd's CPU seconds, and
//! the size of the stored reports.
//!
//! `scripts/scale-bench.sh` brings up a cluster of its own and runs this; by hand:
//!
//! ```sh
//! cargo build --release -p palisade-controller -p palisade-scale
//! target/release/palisade-scale-bench --kubeconfig K --controller target/release/palisade-controller \
//!     --policies policies/pod-security/baseline --policies policies/pod-security/restricted
//! ```
//!
//! Pods are created once (those that exist are kept, so a second run starts at once); every
//! run deletes Palisade's reports first so that every report is written again. The Pods are
//! `palisade_bench::typical_pod` (restricted-compliant), every tenth one privileged, the same
//! mix as `palisade-bench`'s `report_size` example. There is no scheduler, so they stay
//! Pending.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::Client;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use palisade_scale::{
    clear_reports, client, cluster_pids, cpu_seconds, etcd_size, line, load_average, policy_files,
    report_sizes,
};
use serde_json::{Value, json};

/// What the clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Policies exist; from starting the controller until every report is written.
    Start,
    /// The controller runs and is ready; from creating the policies until every report is
    /// written.
    Policy,
}

/// Flags.
#[derive(Debug, Parser)]
#[command(name = "palisade-scale-bench")]
struct Args {
    /// Admin kubeconfig of the cluster.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The palisade-controller binary.
    #[arg(long)]
    controller: PathBuf,
    /// kubectl (applies and deletes the policies).
    #[arg(long, default_value = "kubectl")]
    kubectl: PathBuf,
    /// Policy directories; each `*/NAME.yaml` below them is applied (test files are not).
    #[arg(long, required = true)]
    policies: Vec<PathBuf>,
    /// Pods to have.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Namespaces they are spread over (`tenant-0` ...).
    #[arg(long, default_value_t = 20)]
    namespaces: usize,
    /// Pod creations in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// What the clock measures.
    #[arg(long, value_enum, default_value = "start")]
    mode: Mode,
    /// Passed to the controller as --workers.
    #[arg(long)]
    workers: Option<usize>,
    /// Passed to the controller as --report-writes.
    #[arg(long)]
    report_writes: Option<usize>,
    /// The cluster's state directory (run/*.pid): CPU seconds of the API server and etcd.
    #[arg(long)]
    cluster_dir: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Keep the reports of an earlier run: measures a rescan that finds them up to date.
    #[arg(long)]
    keep_reports: bool,
    /// Where the controller's log goes.
    #[arg(long, default_value = "/tmp/palisade-scale-bench-controller.log")]
    log: PathBuf,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let client = client(&args.kubeconfig).await?;

    line("load average at start", load_average());
    create_pods(&client, &args).await?;
    delete_policies(&args)?;
    if !args.keep_reports {
        clear_reports(&client).await?;
    }
    let stored_before = etcd_size(&client).await;

    let cluster_pids = cluster_pids(args.cluster_dir.as_deref());
    let cpu_before: Vec<f64> = cluster_pids.iter().map(|(_, p)| cpu_seconds(*p)).collect();
    let health = free_port()?;
    let (mut controller, start) = match args.mode {
        Mode::Start => {
            apply_policies(&args)?;
            let start = Instant::now();
            let c = spawn_controller(&args, health)?;
            (c, start)
        }
        Mode::Policy => {
            let c = spawn_controller(&args, health)?;
            wait_ready(health, &args).await?;
            let start = Instant::now();
            apply_policies(&args)?;
            (c, start)
        }
    };
    let pid = controller.id();
    let outcome = wait_for_reports(&mut controller, health, &args, start).await;
    let elapsed = start.elapsed();
    let hwm = vm_hwm_kib(pid);
    let cpu = cpu_seconds(pid);
    let cpu_after: Vec<f64> = cluster_pids.iter().map(|(_, p)| cpu_seconds(*p)).collect();
    let load = load_average();
    let _ = controller.kill();
    let _ = controller.wait();
    let (metrics, done) = outcome?;

    line("mode", format!("{:?}", args.mode).to_lowercase());
    line(
        if done {
            "every Pod's report settled after"
        } else {
            "GAVE UP (not every report) after"
        },
        format!("{:.2} s", elapsed.as_secs_f64()),
    );
    line(
        "controller peak RSS (VmHWM)",
        format!("{:.1} MiB", hwm as f64 / 1024.0),
    );
    line("controller CPU (user+sys)", format!("{cpu:.2} s"));
    for (((name, _), before), after) in cluster_pids.iter().zip(&cpu_before).zip(&cpu_after) {
        line(
            &format!("{name} CPU meanwhile"),
            format!("{:.2} s", after - before),
        );
    }
    line(
        "controller metrics",
        format!(
            "scans {} applies {} unchanged {} write errors {}",
            metrics.scans, metrics.applies, metrics.unchanged, metrics.errors
        ),
    );
    line("load average at end", load);
    report_sizes(&client, stored_before).await?;
    if !done {
        bail!("not every report was written within {} s", args.timeout);
    }
    Ok(())
}

/// Namespaces, their `web` ServiceAccount (the Pods name it), and the Pods not there yet.
async fn create_pods(client: &Client, args: &Args) -> Result<()> {
    let start = Instant::now();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for i in 0..args.namespaces {
        let name = format!("tenant-{i}");
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        ignore_exists(namespaces.create(&PostParams::default(), &ns).await)?;
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some("web".into()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
        ignore_exists(sas.create(&PostParams::default(), &sa).await)?;
    }
    let pods: Api<Pod> = Api::all(client.clone());
    let mut existing = std::collections::HashSet::new();
    let mut params = ListParams::default().limit(1000);
    loop {
        let page = pods.list_metadata(&params).await?;
        existing.extend(page.items.into_iter().filter_map(|p| p.metadata.name));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => params = params.continue_token(&c),
            _ => break,
        }
    }
    let missing: Vec<usize> = (0..args.pods)
        .filter(|i| !existing.contains(&format!("web-{i}")))
        .collect();
    let created = missing.len();
    stream::iter(missing)
        .map(|i| {
            let client = client.clone();
            let namespaces = args.namespaces;
            async move {
                let value = pod(i, namespaces);
                let pod: Pod = serde_json::from_value(value)?;
                let ns = pod.metadata.namespace.clone().unwrap_or_default();
                let api: Api<Pod> = Api::namespaced(client, &ns);
                ignore_exists(api.create(&PostParams::default(), &pod).await)
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    line(
        "Pods created",
        format!(
            "{created} of {} in {:.1} s",
            args.pods,
            start.elapsed().as_secs_f64()
        ),
    );
    Ok(())
}

/// `palisade_bench::typical_pod(i)` over `namespaces` namespaces, every tenth one privileged
/// (which the API server accepts only with privilege escalation allowed).
fn pod(i: usize, namespaces: usize) -> Value {
    let mut p = palisade_bench::typical_pod(i);
    p["metadata"]["namespace"] = json!(format!("tenant-{}", i % namespaces.max(1)));
    if i.is_multiple_of(10) {
        let sc = &mut p["spec"]["containers"][0]["securityContext"];
        sc["privileged"] = json!(true);
        sc["allowPrivilegeEscalation"] = json!(true);
    }
    p
}

fn ignore_exists<T>(r: Result<T, kube::Error>) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn kubectl(args: &Args, verb: &[&str]) -> Result<()> {
    let mut cmd = Command::new(&args.kubectl);
    cmd.arg("--kubeconfig").arg(&args.kubeconfig).args(verb);
    for f in policy_files(&args.policies)? {
        cmd.arg("-f").arg(f);
    }
    let out = cmd.output().context("run kubectl")?;
    if !out.status.success() {
        bail!(
            "kubectl {verb:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn apply_policies(args: &Args) -> Result<()> {
    kubectl(args, &["apply"])
}

fn delete_policies(args: &Args) -> Result<()> {
    kubectl(args, &["delete", "--ignore-not-found", "--wait"])
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn spawn_controller(args: &Args, health: u16) -> Result<Child> {
    let log = std::fs::File::create(&args.log)?;
    let mut cmd = Command::new(&args.controller);
    cmd.arg("--kubeconfig")
        .arg(&args.kubeconfig)
        .args(["--health-listen", &format!("127.0.0.1:{health}")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(w) = args.workers {
        cmd.args(["--workers", &w.to_string()]);
    }
    if let Some(w) = args.report_writes {
        cmd.args(["--report-writes", &w.to_string()]);
    }
    cmd.spawn().context("start the controller")
}

/// GET on the controller's health port (loopback, a few KiB: blocking is fine here).
async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

async fn wait_ready(port: u16, args: &Args) -> Result<()> {
    let limit = Instant::now() + Duration::from_secs(args.timeout);
    while Instant::now() < limit {
        if let Some((200, _)) = http_get(port, "/health/readiness").await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the controller did not become ready")
}

#[derive(Debug, Default)]
struct Counts {
    scans: u64,
    applies: u64,
    unchanged: u64,
    errors: u64,
    queue: u64,
}

fn counts(text: &str) -> Counts {
    let mut values = BTreeMap::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((name, v)) = l.rsplit_once(' ') {
            values.insert(name.to_string(), v.parse::<f64>().unwrap_or(0.0) as u64);
        }
    }
    let get = |n: &str| values.get(n).copied().unwrap_or(0);
    Counts {
        scans: get("palisade_background_scans_total"),
        applies: get("palisade_background_report_writes_total{operation=\"apply\"}"),
        unchanged: get("palisade_background_report_unchanged_total"),
        errors: get("palisade_background_report_write_errors_total{operation=\"apply\"}"),
        queue: get("palisade_background_queue_depth"),
    }
}

/// Polls the controller's metrics until every Pod's report is written or found up to date
/// and its queue is empty; the counts, and false when `--timeout` passed first.
async fn wait_for_reports(
    controller: &mut Child,
    port: u16,
    args: &Args,
    start: Instant,
) -> Result<(Counts, bool)> {
    let mut first = None;
    let mut last = Counts::default();
    loop {
        if let Some(status) = controller.try_wait()? {
            bail!(
                "the controller exited ({status}); see {}",
                args.log.display()
            );
        }
        if let Some((200, body)) = http_get(port, "/metrics").await {
            let c = counts(&body);
            if first.is_none() && c.applies > 0 {
                first = Some(start.elapsed());
                line(
                    "first report written after",
                    format!("{:.2} s", start.elapsed().as_secs_f64()),
                );
            }
            if c.applies + c.unchanged >= args.pods as u64 && c.queue == 0 {
                return Ok((c, true));
            }
            last = c;
        }
        if start.elapsed() > Duration::from_secs(args.timeout) {
            return Ok((last, false));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
