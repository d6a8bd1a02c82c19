//! Size of the PolicyReports for N Pods under the bundled Pod Security policies, in the two
//! layouts `palisade-reports` offers (see docs/performance.md, "Report size"):
//! `cargo run --release -p palisade-bench --example report_size -- 10000`.
//!
//! Every tenth Pod is privileged, so reports carry failure messages as well as passes.

use std::collections::BTreeMap;

use palisade_engine::{Engine, Inputs, NoContext, Request};
use palisade_reports::{
    ObjectRef, PolicyInfo, Process, ResourceResults, Timestamp, per_namespace, per_resource, result,
};
use serde_json::{Value, json};

/// The bound per aggregated report: etcd's default request limit is 1.5 MiB.
const MAX_REPORT_BYTES: usize = 1024 * 1024;

fn pod(i: usize) -> Value {
    let mut p = palisade_bench::typical_pod(i);
    p["metadata"]["uid"] = json!(format!("6f1c2a4e-0000-4000-8000-{i:012}"));
    if i.is_multiple_of(10) {
        p["spec"]["containers"][0]["securityContext"]["privileged"] = json!(true);
    }
    p
}

fn main() -> std::process::ExitCode {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = palisade_bench::repo_root().join("policies/pod-security");
    let policies = match palisade_bench::load_policies(&dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let infos: Vec<PolicyInfo> = policies.iter().map(PolicyInfo::classic).collect();
    let engine = Engine::default();
    let now = Timestamp {
        seconds: 1_790_000_000,
        nanos: 0,
    };
    let mut by_namespace: BTreeMap<String, Vec<ResourceResults>> = BTreeMap::new();
    let mut rows = 0usize;
    for i in 0..n {
        let resource = pod(i);
        let request = Request::create(resource.clone());
        let mut ctx = request.context();
        let mut results = Vec::new();
        for (policy, info) in policies.iter().zip(&infos) {
            let inputs = Inputs {
                source: &NoContext,
                exceptions: &[],
            };
            let response = engine.validate(policy, &request, &mut ctx, &inputs);
            results.extend(result::rows(
                info,
                &response,
                None,
                Process::Background,
                now,
            ));
        }
        rows += results.len();
        let r = ResourceResults {
            resource: ObjectRef::of(&resource),
            results,
        };
        by_namespace
            .entry(r.resource.namespace.clone())
            .or_default()
            .push(r);
    }

    let (mut per_res_bytes, mut per_res_objects) = (0usize, 0usize);
    let (mut agg_bytes, mut agg_objects, mut agg_largest) = (0usize, 0usize, 0usize);
    for (ns, resources) in &by_namespace {
        for r in resources {
            per_res_bytes += per_resource(r).encoded_len();
            per_res_objects += 1;
        }
        for report in per_namespace(Some(ns), resources, MAX_REPORT_BYTES) {
            let len = report.encoded_len();
            agg_bytes += len;
            agg_objects += 1;
            agg_largest = agg_largest.max(len);
        }
    }
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "{n} Pods, {} policies, {rows} results, {} namespaces",
        policies.len(),
        by_namespace.len()
    );
    println!(
        "layout        objects   total MiB   per 1000 Pods MiB   KiB per object (mean | largest)"
    );
    println!(
        "per-resource  {per_res_objects:>7}   {:>9.2}   {:>17.2}   {:>18.1}",
        mib(per_res_bytes),
        mib(per_res_bytes) * 1000.0 / n.max(1) as f64,
        per_res_bytes as f64 / per_res_objects.max(1) as f64 / 1024.0
    );
    println!(
        "per-namespace {agg_objects:>7}   {:>9.2}   {:>17.2}   {:>18.1}",
        mib(agg_bytes),
        mib(agg_bytes) * 1000.0 / n.max(1) as f64,
        agg_largest as f64 / 1024.0
    );
    std::process::ExitCode::SUCCESS
}
