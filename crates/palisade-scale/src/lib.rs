//! Shared parts of the scale benchmarks: `palisade-scale-bench` (the controller end to end)
//! and `palisade-report-writes` (what writing the reports alone costs the API server).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::{Client, Config, config::KubeConfigOptions, config::Kubeconfig};
use serde_json::Value;

/// A client for `kubeconfig` with a read timeout a loaded API server needs for throughput
/// work (creating Pods, listing reports).
pub async fn client(kubeconfig: &Path) -> Result<Client> {
    let kubeconfig = Kubeconfig::read_from(kubeconfig)?;
    let mut config =
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    config.read_timeout = Some(Duration::from_secs(120));
    Ok(Client::try_from(config)?)
}

/// The label Palisade's reports carry.
pub const REPORT_SELECTOR: &str = "app.kubernetes.io/managed-by=palisade";

/// Prints one figure: what, padded, and its value.
pub fn line(what: &str, value: impl std::fmt::Display) {
    println!("{what:<32} {value}");
}

/// The machine's 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The policy files below `dirs`: each `*/NAME/NAME.yaml` (test files are not).
pub fn policy_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).with_context(|| dir.display().to_string())? {
            let sub = entry?.path();
            let Some(name) = sub.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let file = sub.join(format!("{name}.yaml"));
            if sub.is_dir() && file.is_file() {
                files.push(file);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("no policies found in {dirs:?}");
    }
    Ok(files)
}

/// The namespaced report kind.
pub fn policy_reports() -> kube::api::ApiResource {
    palisade_controller::store::policy_reports()
}

/// Deletes every report Palisade wrote, so that the run writes all of them.
pub async fn clear_reports(client: &Client) -> Result<()> {
    let start = Instant::now();
    let all: Api<DynamicObject> = Api::all_with(client.clone(), &policy_reports());
    let selector = ListParams::default().labels(REPORT_SELECTOR);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in namespaces.list_metadata(&ListParams::default()).await? {
        let Some(name) = ns.metadata.name else {
            continue;
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &name, &policy_reports());
        api.delete_collection(&DeleteParams::default(), &selector)
            .await?;
    }
    while !all
        .list_metadata(&selector.clone().limit(1))
        .await?
        .items
        .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    line(
        "old reports deleted in",
        format!("{:.1} s", start.elapsed().as_secs_f64()),
    );
    Ok(())
}

/// User plus system CPU seconds of a process (clock ticks of 1/100 s).
pub fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// The API server's and etcd's process ids, from the cluster directory's `run/*.pid`.
pub fn cluster_pids(dir: Option<&Path>) -> Vec<(String, u32)> {
    let Some(dir) = dir else {
        return Vec::new();
    };
    ["kube-apiserver", "etcd"]
        .iter()
        .filter_map(|name| {
            let pid = std::fs::read_to_string(dir.join(format!("run/{name}.pid"))).ok()?;
            Some((name.to_string(), pid.trim().parse().ok()?))
        })
        .collect()
}

/// etcd's database size as the API server reports it (`apiserver_storage_size_bytes`).
pub async fn etcd_size(client: &Client) -> Option<f64> {
    let req = http::Request::get("/metrics").body(Vec::new()).ok()?;
    let text = client.request_text(req).await.ok()?;
    text.lines()
        .filter(|l| l.starts_with("apiserver_storage_size_bytes"))
        .find_map(|l| l.rsplit_once(' ')?.1.parse().ok())
}

/// Lists every report and adds up their sizes: as the API server stores them (compact JSON
/// with managedFields; custom resources are stored as JSON), without managedFields, and the
/// rows they hold.
pub async fn report_sizes(client: &Client, etcd_before: Option<f64>) -> Result<()> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &policy_reports());
    let mut params = ListParams::default().limit(500);
    let (mut objects, mut stored, mut without_mf, mut rows, mut largest) = (0usize, 0, 0, 0, 0);
    loop {
        let page = api.list(&params).await?;
        for mut item in page.items {
            let full = serde_json::to_vec(&item)?.len();
            item.metadata.managed_fields = None;
            let bare = serde_json::to_vec(&item)?.len();
            objects += 1;
            stored += full;
            without_mf += bare;
            largest = largest.max(full);
            rows += item
                .data
                .get("results")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
        }
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => params = params.continue_token(&c),
            _ => break,
        }
    }
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    line("PolicyReports", format!("{objects} ({rows} results)"));
    line(
        "stored size (JSON, managedFields)",
        format!(
            "{:.1} MiB, {:.1} KiB per report, largest {:.1} KiB",
            mib(stored),
            stored as f64 / objects.max(1) as f64 / 1024.0,
            largest as f64 / 1024.0
        ),
    );
    line(
        "size without managedFields",
        format!("{:.1} MiB", mib(without_mf)),
    );
    if let (Some(before), Some(after)) = (etcd_before, etcd_size(client).await) {
        line(
            "etcd database growth",
            format!("{:.1} MiB", (after - before) / (1024.0 * 1024.0)),
        );
    }
    Ok(())
}
