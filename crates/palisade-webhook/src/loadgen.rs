//! `admission-load`: an open-loop HTTPS load generator for the webhook (issue 4, item 9).
//!
//! Each of `connections` keep-alive connections sends the same AdmissionReview on a fixed
//! schedule (`rate / connections` per second each, or back to back with `--rate 0`). Latency is
//! measured from the scheduled send time, so a stalled server shows up as latency rather than
//! as fewer requests (no coordinated omission). The server's own view comes from its
//! `palisade_admission_review_duration_seconds` histogram, scraped before and after.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use hdrhistogram::Histogram;
use hyper::body::Bytes;
use rustls::ClientConfig;

use crate::client::Connection;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "admission-load",
    about = "Load generator for the Palisade webhook"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send AdmissionReviews and report latency percentiles and errors.
    Run(RunArgs),
    /// Write a throwaway CA (ca.pem) and serving pair (tls.crt, tls.key) for 127.0.0.1.
    Certs {
        /// Directory to write into.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Settings of a run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:9443")]
    pub addr: SocketAddr,
    /// Path and query to POST to.
    #[arg(long, default_value = "/validate?timeout=10s")]
    pub path: String,
    /// CA certificate to trust (PEM).
    #[arg(long)]
    pub ca: PathBuf,
    /// Name to verify the certificate for.
    #[arg(long, default_value = "localhost")]
    pub server_name: String,
    /// AdmissionReview to send (default: a typical compliant Pod CREATE).
    #[arg(long)]
    pub body: Option<PathBuf>,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Requests per second in total (0: as fast as answers come).
    #[arg(long, default_value_t = 5000)]
    pub rate: u64,
    /// Seconds to measure.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Seconds to run before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// PID of the server, to report its peak RSS (VmHWM).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Threads of the generator's runtime. One (the default) is enough for 5,000 req/s and
    /// costs the server's cores least: no wake-ups between threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// A typical Pod CREATE: a Deployment-made Pod with labels, resources, probes, env and a
/// restricted-compliant security context.
/// Kept indented for reading; [`typical_pod_body`] is what is sent.
pub const TYPICAL_POD: &str = include_str!("loadgen_pod.json");

/// [`TYPICAL_POD`] as the API server sends it: compact JSON (Go's `json.Marshal`), 3.8 KB
/// instead of the file's 7.7 KB of indentation.
pub fn typical_pod_body() -> anyhow::Result<Bytes> {
    let review: serde_json::Value = serde_json::from_str(TYPICAL_POD)?;
    Ok(Bytes::from(serde_json::to_vec(&review)?))
}

/// What every request sends, and the uid every answer must carry.
#[derive(Clone)]
struct Payload {
    body: Bytes,
    uid: Arc<str>,
}

/// What one connection saw.
struct Tally {
    latency: Histogram<u64>,
    ok: u64,
    denied: u64,
    timeouts: u64,
    errors: u64,
    malformed: u64,
}

impl Tally {
    fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).context("histogram")?,
            ok: 0,
            denied: 0,
            timeouts: 0,
            errors: 0,
            malformed: 0,
        })
    }

    fn merge(&mut self, other: &Tally) -> anyhow::Result<()> {
        self.latency
            .add(&other.latency)
            .context("merging histograms")?;
        self.ok += other.ok;
        self.denied += other.denied;
        self.timeouts += other.timeouts;
        self.errors += other.errors;
        self.malformed += other.malformed;
        Ok(())
    }

    fn record(&mut self, answer: anyhow::Result<crate::client::Answer>, uid: &str) {
        let Ok(answer) = answer else {
            self.errors += 1;
            return;
        };
        if answer.status != 200 {
            self.errors += 1;
            return;
        }
        match Reply::read(&answer.body, uid) {
            Some(r) if r.allowed => self.ok += 1,
            Some(r) if r.status.as_ref().is_some_and(|s| s.reason == "Timeout") => {
                self.timeouts += 1
            }
            Some(_) => self.denied += 1,
            None => self.malformed += 1,
        }
    }
}

/// The fields of an answer the generator checks; the rest is skipped, not built.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply<'a> {
    #[serde(borrow)]
    api_version: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    response: Option<ReplyResponse<'a>>,
}

#[derive(serde::Deserialize)]
struct ReplyResponse<'a> {
    #[serde(borrow)]
    uid: std::borrow::Cow<'a, str>,
    allowed: bool,
    #[serde(borrow, default)]
    status: Option<ReplyStatus<'a>>,
}

#[derive(serde::Deserialize)]
struct ReplyStatus<'a> {
    #[serde(borrow, default)]
    reason: std::borrow::Cow<'a, str>,
}

impl<'a> Reply<'a> {
    /// The response of a well-formed AdmissionReview answering `uid`; `None` otherwise.
    fn read(body: &'a [u8], uid: &str) -> Option<ReplyResponse<'a>> {
        let reply: Reply<'a> = serde_json::from_slice(body).ok()?;
        let response = reply.response?;
        (reply.api_version == palisade_admission::API_VERSION
            && reply.kind == "AdmissionReview"
            && response.uid == uid)
            .then_some(response)
    }
}

/// Runs the load and prints a report.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let ca = std::fs::read(&args.ca).with_context(|| format!("{}", args.ca.display()))?;
    let config = crate::client::tls_config(&ca)?;
    let body = match &args.body {
        Some(p) => Bytes::from(std::fs::read(p).with_context(|| format!("{}", p.display()))?),
        None => typical_pod_body()?,
    };
    let payload = Payload {
        uid: palisade_admission::AdmissionReview::peek_uid(&body)
            .context("the body is not an AdmissionReview with a uid")?
            .into(),
        body,
    };
    let before = scrape(&args, &config).await.unwrap_or_default();
    let warmup = Duration::from_secs(args.warmup);
    let measure = Duration::from_secs(args.duration);
    let start = Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::new();
    for i in 0..args.connections.max(1) {
        let args = args.clone();
        let config = config.clone();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            connection_loop(i, args, config, payload, start, warmup, measure).await
        }));
    }
    let mut total = Tally::new()?;
    for t in tasks {
        let tally = t.await.context("a connection task failed")??;
        total.merge(&tally)?;
    }
    // Answers arrive until the last connection has worked off its schedule, which under
    // overload is later than the schedule's end: the rate is over the real time taken.
    let took = Instant::now().saturating_duration_since(start + warmup);
    let after = scrape(&args, &config).await.unwrap_or_default();
    report(&args, &total, took.max(measure), &before, &after);
    Ok(())
}

/// Connection `i` sends on its schedule until `start + warmup + measure`, recording only
/// requests scheduled after the warm-up.
async fn connection_loop(
    i: usize,
    args: RunArgs,
    config: Arc<ClientConfig>,
    payload: Payload,
    start: Instant,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    let mut conn = Connection::open(args.addr, &args.server_name, config.clone()).await?;
    let connections = args.connections.max(1) as u64;
    let interval = if args.rate == 0 {
        Duration::ZERO
    } else {
        Duration::from_nanos(1_000_000_000 * connections / args.rate.max(1))
    };
    // Spread the connections' schedules over one interval.
    let offset = interval.mul_f64(i as f64 / connections as f64);
    let end = start + warmup + measure;
    let mut next = start + offset;
    loop {
        let now = Instant::now();
        let scheduled = if interval.is_zero() { now } else { next };
        if scheduled >= end {
            break;
        }
        if scheduled > now {
            tokio::time::sleep_until(scheduled.into()).await;
        }
        let answer = conn.post(&args.path, payload.body.clone()).await;
        let failed = answer.is_err();
        if scheduled >= start + warmup {
            let micros = scheduled.elapsed().as_micros().min(60_000_000) as u64;
            tally.latency.record(micros.max(1)).ok();
            tally.record(answer, &payload.uid);
        }
        if failed {
            // The connection is unusable; open another (counted as part of the latency of
            // the next request, as a real client would experience it).
            conn = Connection::open(args.addr, &args.server_name, config.clone()).await?;
        }
        next += interval;
    }
    Ok(tally)
}

async fn scrape(args: &RunArgs, config: &Arc<ClientConfig>) -> anyhow::Result<String> {
    let mut c = Connection::open(args.addr, &args.server_name, config.clone()).await?;
    Ok(c.get("/metrics").await?.text())
}

/// Cumulative bucket counts of the server's admission duration histogram, summed over label
/// sets: `(upper bound in seconds, count)`, ascending.
pub fn server_buckets(metrics: &str) -> Vec<(f64, u64)> {
    let mut sums: Vec<(f64, u64)> = Vec::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("palisade_admission_review_duration_seconds_bucket{")
        else {
            continue;
        };
        let Some(le_at) = rest.find("le=\"") else {
            continue;
        };
        let le_text = &rest[le_at + 4..];
        let Some(le_end) = le_text.find('"') else {
            continue;
        };
        let le = match &le_text[..le_end] {
            "+Inf" => f64::INFINITY,
            v => match v.parse::<f64>() {
                Ok(x) => x,
                Err(_) => continue,
            },
        };
        let Some(count) = line.rsplit(' ').next().and_then(|c| c.parse::<f64>().ok()) else {
            continue;
        };
        match sums.iter_mut().find(|(b, _)| *b == le) {
            Some(entry) => entry.1 += count as u64,
            None => sums.push((le, count as u64)),
        }
    }
    sums.sort_by(|a, b| a.0.total_cmp(&b.0));
    sums
}

/// The smallest bucket bound under which `q` of the requests between two scrapes finished.
pub fn server_quantile(before: &str, after: &str, q: f64) -> Option<(f64, u64)> {
    let b = server_buckets(before);
    let a = server_buckets(after);
    let delta: Vec<(f64, u64)> = a
        .iter()
        .map(|(le, n)| {
            let prior = b.iter().find(|(x, _)| x == le).map_or(0, |(_, m)| *m);
            (*le, n.saturating_sub(prior))
        })
        .collect();
    let total = delta.last()?.1;
    if total == 0 {
        return None;
    }
    let want = (total as f64 * q).ceil() as u64;
    delta
        .iter()
        .find(|(_, n)| *n >= want)
        .map(|(le, _)| (*le, total))
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn report(args: &RunArgs, t: &Tally, measure: Duration, before: &str, after: &str) {
    let n = t.latency.len();
    let secs = measure.as_secs_f64().max(f64::EPSILON);
    let ms = |q: f64| t.latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "target rate {} req/s over {} connections, {} s scheduled, answers took {:.1} s",
        args.rate,
        args.connections,
        args.duration,
        measure.as_secs_f64()
    );
    println!(
        "answered {n} ({:.0} req/s): allowed {}, denied {}, deadline {}, http/transport errors {}, malformed {}",
        n as f64 / secs,
        t.ok,
        t.denied,
        t.timeouts,
        t.errors,
        t.malformed
    );
    println!(
        "client latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(0.999),
        t.latency.max() as f64 / 1000.0
    );
    for q in [0.5, 0.99] {
        if let Some((le, total)) = server_quantile(before, after, q) {
            println!(
                "server p{:.0} <= {} ms (histogram bucket; {total} reviews)",
                q * 100.0,
                le * 1000.0
            );
        }
    }
    if let Some(kib) = args.server_pid.and_then(peak_rss_kib) {
        println!("server peak RSS {:.1} MiB", kib as f64 / 1024.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = r#"palisade_admission_review_duration_seconds_bucket{phase="validate",le="0.001"} 1
palisade_admission_review_duration_seconds_bucket{phase="validate",le="0.005"} 2
palisade_admission_review_duration_seconds_bucket{phase="validate",le="+Inf"} 2"#;
    const AFTER: &str = r#"palisade_admission_review_duration_seconds_bucket{phase="validate",le="0.001"} 91
palisade_admission_review_duration_seconds_bucket{phase="validate",le="0.005"} 101
palisade_admission_review_duration_seconds_bucket{phase="mutate",le="0.005"} 1
palisade_admission_review_duration_seconds_bucket{phase="validate",le="+Inf"} 102"#;

    #[test]
    fn quantiles_from_bucket_deltas() {
        assert_eq!(server_buckets(AFTER)[1], (0.005, 102));
        assert_eq!(server_quantile(BEFORE, AFTER, 0.5), Some((0.001, 100)));
        assert_eq!(server_quantile(BEFORE, AFTER, 0.99), Some((0.005, 100)));
        assert_eq!(server_quantile(AFTER, AFTER, 0.99), None);
    }

    #[test]
    fn answers_must_be_well_formed_and_carry_the_uid() {
        let allowed = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u1","allowed":true}}"#;
        assert!(Reply::read(allowed, "u1").is_some_and(|r| r.allowed));
        assert!(Reply::read(allowed, "u2").is_none());
        let timeout = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u1","allowed":false,"status":{"code":504,"reason":"Timeout","message":"m"},"warnings":["w"]}}"#;
        let r = Reply::read(timeout, "u1").unwrap();
        assert_eq!(r.status.unwrap().reason, "Timeout");
        let wrong_kind =
            br#"{"apiVersion":"v1","kind":"Status","response":{"uid":"u1","allowed":true}}"#;
        assert!(Reply::read(wrong_kind, "u1").is_none());
        assert!(Reply::read(b"{}", "u1").is_none());
        assert!(Reply::read(b"not json", "u1").is_none());
    }

    #[test]
    fn the_typical_pod_is_an_admission_review() {
        let r = palisade_admission::AdmissionReview::from_slice(TYPICAL_POD.as_bytes()).unwrap();
        assert_eq!(r.kind.kind, "Pod");
    }
}
