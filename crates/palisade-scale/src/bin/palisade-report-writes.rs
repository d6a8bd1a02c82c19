//! What writing the reports alone costs the API server (issue 5, items 2 and 8): scans every
//! Pod of the cluster with the given policies, as the controller does, then writes the reports
//! in the chosen layout and way, and prints the time, the API server's and etcd's CPU seconds
//! and the bytes sent and stored. Palisade's reports are deleted first (and afterwards unless
//! `--keep`), so every run writes them all.
//!
//! ```sh
//! eval "$(PALISADE_CLUSTER_DIR=/tmp/palisade-scale-bench ... scripts/cluster.sh env)"
//! target/release/palisade-report-writes --kubeconfig "$PALISADE_ADMIN_KUBECONFIG" \
//!     --cluster-dir /tmp/palisade-scale-bench --policies policies/pod-security/baseline \
//!     --policies policies/pod-security/restricted --layout resource --method create --concurrency 32
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Parser, ValueEnum};
use futures::{StreamExt, TryStreamExt, stream};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use palisade_admission::ReviewEnv;
use palisade_controller::decision::MAX_REPORT_BYTES;
use palisade_controller::store::{FIELD_MANAGER, cluster_policy_reports, policy_reports};
use palisade_reports::{Report, ResourceResults, per_namespace};
use palisade_scale::{
    clear_reports, client, cluster_pids, cpu_seconds, etcd_size, line, load_average, policy_files,
    report_sizes,
};
use serde_json::Value;

/// How results are grouped into report objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Layout {
    /// One report per Pod (Kyverno 1.11+).
    Resource,
    /// The reports of a namespace in shards under 1 MiB.
    Namespace,
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Method {
    /// POST.
    Create,
    /// Server-side apply (PATCH, application/apply-patch+yaml, forced).
    Apply,
}

/// Flags.
#[derive(Debug, Parser)]
#[command(name = "palisade-report-writes")]
struct Args {
    /// Admin kubeconfig of the cluster.
    #[arg(long, required_unless_present = "offline")]
    kubeconfig: Option<PathBuf>,
    /// No cluster: time what the controller does per Pod (cached text parsed, scanned, the
    /// report compared with a stored digest) for this many generated Pods, and write nothing.
    #[arg(long, value_name = "PODS")]
    offline: Option<usize>,
    /// Policy directories; each `*/NAME.yaml` below them is loaded.
    #[arg(long, required = true)]
    policies: Vec<PathBuf>,
    /// The cluster's state directory (run/*.pid): CPU seconds of the API server and etcd.
    #[arg(long)]
    cluster_dir: Option<PathBuf>,
    /// Report layout.
    #[arg(long, value_enum, default_value = "resource")]
    layout: Layout,
    /// How each report is written.
    #[arg(long, value_enum, default_value = "create")]
    method: Method,
    /// Writes in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Keep the existing reports and leave the written ones (measures apply over stored
    /// reports when run a second time with `--method apply`).
    #[arg(long)]
    keep: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let set = palisade_admission::load_dir(&policy_files(&args.policies)?)?;
    if let Some(n) = args.offline {
        offline(&set, n);
        return Ok(());
    }
    let Some(kubeconfig) = &args.kubeconfig else {
        bail!("--kubeconfig or --offline");
    };
    let client = client(kubeconfig).await?;
    line("load average at start", load_average());
    if !args.keep {
        clear_reports(&client).await?;
    }
    let pods = list_pods(&client).await?;
    let scan_start = Instant::now();
    let scanned = palisade_controller::scan::scan(&set, &ReviewEnv::offline(), pods);
    line(
        "Pods scanned",
        format!(
            "{} in {:.2} s",
            scanned.len(),
            scan_start.elapsed().as_secs_f64()
        ),
    );
    let reports = layout(&args, scanned);
    let bytes: usize = reports.iter().map(Report::encoded_len).sum();

    let pids = cluster_pids(args.cluster_dir.as_deref());
    let before: Vec<f64> = pids.iter().map(|(_, p)| cpu_seconds(*p)).collect();
    let etcd_before = etcd_size(&client).await;
    let start = Instant::now();
    let method = args.method;
    stream::iter(reports.iter())
        .map(|r| write(&client, method, r))
        .buffer_unordered(args.concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    let elapsed = start.elapsed().as_secs_f64();
    line("layout, method", format!("{:?}, {:?}", args.layout, method));
    line(
        "reports written",
        format!(
            "{} ({:.1} MiB of JSON) in {elapsed:.2} s, {} in flight: {:.0}/s, {:.2} MiB/s",
            reports.len(),
            mib(bytes),
            args.concurrency,
            reports.len() as f64 / elapsed,
            mib(bytes) / elapsed
        ),
    );
    for ((name, pid), b) in pids.iter().zip(&before) {
        let used = cpu_seconds(*pid) - b;
        line(
            &format!("{name} CPU"),
            format!(
                "{used:.2} s, {:.2} ms per report",
                used * 1000.0 / reports.len().max(1) as f64
            ),
        );
    }
    line("load average at end", load_average());
    report_sizes(&client, etcd_before).await?;
    if !args.keep {
        clear_reports(&client).await?;
    }
    Ok(())
}

/// The controller's work per Pod in a rescan, without the API server: the cached text parsed,
/// the scan, and the decision against the digest of the report stored before. Pods as
/// `palisade-scale-bench` creates them, with the fields the API server adds.
fn offline(set: &palisade_admission::PolicySet, n: usize) {
    let env = ReviewEnv::offline();
    let texts: Vec<String> = (0..n)
        .map(|i| {
            let mut p = palisade_bench::typical_pod(i);
            p["metadata"]["uid"] = format!("6f1c2a4e-0000-4000-8000-{i:012}").into();
            p["metadata"]["resourceVersion"] = "123456".into();
            p["metadata"]["creationTimestamp"] = "2026-11-23T10:00:00Z".into();
            p["status"] = serde_json::json!({"phase": "Pending", "qosClass": "Burstable"});
            if i.is_multiple_of(10) {
                let sc = &mut p["spec"]["containers"][0]["securityContext"];
                sc["privileged"] = true.into();
                sc["allowPrivilegeEscalation"] = true.into();
            }
            p.to_string()
        })
        .collect();
    let text_bytes: usize = texts.iter().map(String::len).sum();
    let t = Instant::now();
    let parsed: Vec<Value> = texts
        .iter()
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect();
    let parse = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let scanned = palisade_controller::scan::scan(set, &env, parsed);
    let scan = t.elapsed().as_secs_f64();
    let stored: Vec<_> = scanned
        .iter()
        .map(|s| s.report.as_ref().map(palisade_reports::change::Digest::of))
        .collect();
    let t = Instant::now();
    let mut unchanged = 0;
    for (s, d) in scanned.into_iter().zip(&stored) {
        if let Ok(palisade_controller::decision::Action::Nothing) =
            palisade_controller::decision::decide(d.as_ref(), s.report)
        {
            unchanged += 1;
        }
    }
    let decide = t.elapsed().as_secs_f64();
    let us = |s: f64| s * 1e6 / n.max(1) as f64;
    line(
        "Pods (text cached)",
        format!("{n} ({:.1} MiB)", mib(text_bytes)),
    );
    line("parse, per Pod", format!("{:.1} µs", us(parse)));
    line("scan + report, per Pod", format!("{:.1} µs", us(scan)));
    line(
        "decide, per Pod",
        format!("{:.1} µs ({unchanged} unchanged)", us(decide)),
    );
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// Every Pod outside kube-system, as the controller caches it (no managedFields, with its
/// apiVersion and kind).
async fn list_pods(client: &kube::Client) -> Result<Vec<Value>> {
    let ar = kube::api::ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "Pod".into(),
        plural: "pods".into(),
    };
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let mut params = ListParams::default().limit(500);
    let mut out = Vec::new();
    loop {
        let page = api.list(&params).await?;
        for mut p in page.items {
            if p.metadata.namespace.as_deref() == Some("kube-system") {
                continue;
            }
            p.metadata.managed_fields = None;
            let mut v = serde_json::to_value(&p)?;
            v["apiVersion"] = "v1".into();
            v["kind"] = "Pod".into();
            out.push(v);
        }
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => params = params.continue_token(&c),
            _ => break,
        }
    }
    if out.is_empty() {
        bail!("no Pods: run palisade-scale-bench (scripts/scale-bench.sh) once to create them");
    }
    Ok(out)
}

fn layout(args: &Args, scanned: Vec<palisade_controller::scan::ScanOutcome>) -> Vec<Report> {
    let reports = scanned.into_iter().filter_map(|s| s.report);
    match args.layout {
        Layout::Resource => reports.collect(),
        Layout::Namespace => {
            let mut by_ns: BTreeMap<Option<String>, Vec<ResourceResults>> = BTreeMap::new();
            for r in reports {
                let Some(resource) = r.scope else { continue };
                by_ns
                    .entry(r.metadata.namespace)
                    .or_default()
                    .push(ResourceResults {
                        resource,
                        results: r.results,
                    });
            }
            by_ns
                .iter()
                .flat_map(|(ns, rs)| per_namespace(ns.as_deref(), rs, MAX_REPORT_BYTES))
                .collect()
        }
    }
}

async fn write(client: &kube::Client, method: Method, report: &Report) -> Result<()> {
    let ar = match report.metadata.namespace {
        Some(_) => policy_reports(),
        None => cluster_policy_reports(),
    };
    let api: Api<DynamicObject> = match &report.metadata.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let body = serde_json::to_value(report)?;
    match method {
        Method::Create => {
            let params = PostParams {
                dry_run: false,
                field_manager: Some(FIELD_MANAGER.into()),
            };
            api.create(&params, &serde_json::from_value(body)?).await?;
        }
        Method::Apply => {
            api.patch(
                &report.metadata.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(body),
            )
            .await?;
        }
    }
    Ok(())
}
