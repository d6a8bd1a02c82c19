//! Cluster mode of `palisade-serve`: the flags, and starting palisade-kube with the server's
//! cache, certificate resolver and readiness flag.
//!
//! `palisade-serve --kubeconfig K --listen 127.0.0.1:9443 --webhook-url https://127.0.0.1:9443`
//! watches policies in the cluster, keeps its CA and serving certificate in Secrets of
//! `--namespace` and publishes the webhook configurations.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use palisade_admission::{ClusterView, ReviewEnv};
use palisade_kube::{ClientTarget, ClusterCache, KubeOptions, TlsMode, TlsSink};
use tokio::task::JoinHandle;

use crate::config::ServeArgs;
use crate::state::ServerState;
use crate::tls::CertResolver;

/// Cluster-mode flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// Run against a cluster with the usual client configuration (KUBECONFIG, ~/.kube/config
    /// or the in-cluster service account). Implied by --kubeconfig.
    #[arg(long)]
    pub cluster: bool,

    /// Kubeconfig of the cluster to serve (turns cluster mode on).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Palisade's own namespace: its certificate Secrets live here, and it is never sent to
    /// the webhook.
    #[arg(
        long,
        value_name = "NS",
        env = "POD_NAMESPACE",
        default_value = "palisade"
    )]
    pub namespace: String,

    /// URL the API server calls (e.g. https://127.0.0.1:9443). Default: the --listen address
    /// when it is a specific IP and no --service-name is given.
    #[arg(long, value_name = "URL", conflicts_with = "service_name")]
    pub webhook_url: Option<String>,

    /// Service the API server calls instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub service_name: Option<String>,

    /// Namespace of --service-name (default: --namespace).
    #[arg(long, value_name = "NS")]
    pub service_namespace: Option<String>,

    /// Port of --service-name.
    #[arg(long, value_name = "PORT", default_value_t = 443)]
    pub service_port: i32,

    /// More namespaces never sent to the webhook (kube-system and --namespace always are).
    #[arg(long, value_name = "NS,...", value_delimiter = ',')]
    pub exclude_namespaces: Vec<String>,

    /// Never send objects with this label to the webhook (e.g. palisade.io/exclude=true).
    /// Off by default: anyone who may label an object could use it to skip every policy.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_label)]
    pub exclude_object_label: Option<(String, String)>,

    /// Lifetime of generated serving certificates (e.g. 90d, 12h); renewed at 2/3 of it.
    #[arg(long, value_name = "DURATION", default_value = "90d", value_parser = parse_duration)]
    pub cert_validity: i64,

    /// Lifetime of the generated CA; rotated at 2/3 of it.
    #[arg(long, value_name = "DURATION", default_value = "365d", value_parser = parse_duration)]
    pub ca_validity: i64,

    /// Extra DNS names or IPs for the generated serving certificate.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub cert_sans: Vec<String>,

    /// CA bundle (PEM) of user-supplied --tls-cert/--tls-key, for the webhook configurations.
    /// With these three, no certificate is generated.
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
}

impl ClusterArgs {
    /// True when cluster mode is on.
    pub fn enabled(&self) -> bool {
        self.cluster || self.kubeconfig.is_some()
    }
}

/// `key=value` for a label selector term.
fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// Parses `90d`, `12h`, `30m`, `45s` or plain seconds into seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: expected a number with d, h, m or s"))?;
    let scale = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use d, h, m or s)")),
    };
    n.checked_mul(scale)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("{s:?}: out of range"))
}

impl TlsSink for CertResolver {
    fn install(&self, cert_pem: &str, key_pem: &str) -> Result<(), String> {
        CertResolver::install(self, cert_pem, key_pem)
    }
}

/// The palisade-kube options the flags describe.
pub fn options(args: &ServeArgs) -> anyhow::Result<KubeOptions> {
    let c = &args.cluster;
    let client = match (&c.webhook_url, &c.service_name) {
        (Some(url), _) => ClientTarget::Url(url.clone()),
        (None, Some(name)) => ClientTarget::Service {
            namespace: c
                .service_namespace
                .clone()
                .unwrap_or_else(|| c.namespace.clone()),
            name: name.clone(),
            port: c.service_port,
        },
        (None, None) if !args.listen.ip().is_unspecified() => {
            ClientTarget::Url(format!("https://{}", args.listen))
        }
        (None, None) => anyhow::bail!(
            "cluster mode needs --webhook-url or --service-name (or --listen on a specific IP)"
        ),
    };
    let mut opts = KubeOptions::new(&c.namespace, client);
    opts.exclude_namespaces = c.exclude_namespaces.clone();
    opts.exclude_object_label = c.exclude_object_label.clone();
    opts.watch_policies = args.policies.is_empty();
    match (&args.tls_cert, &c.ca_bundle) {
        (Some(_), Some(bundle)) => {
            // Read once here so a wrong path stops the start with a clear error.
            std::fs::read_to_string(bundle)
                .with_context(|| format!("reading --ca-bundle {}", bundle.display()))?;
            opts.tls = TlsMode::ProvidedFile {
                path: bundle.clone(),
            };
        }
        (Some(_), None) => {
            anyhow::bail!(
                "with --tls-cert in cluster mode, pass --ca-bundle FILE for the webhook configurations"
            )
        }
        (None, _) => {
            if let TlsMode::Generate(s) = &mut opts.tls {
                s.cert_validity_secs = c.cert_validity;
                s.ca_validity_secs = c.ca_validity;
                for san in &c.cert_sans {
                    if !s.sans.contains(san) {
                        s.sans.push(san.clone());
                    }
                }
            }
        }
    }
    Ok(opts)
}

/// Starts the cluster side when cluster mode is on: reviews read namespaces and roles from
/// its watch caches (`state.env`), the background work of admitted requests is recorded as
/// UpdateRequests (`state.background`), and it fills `state.cache` (unless policies come from
/// files), installs certificates into `state.certs` and sets `state.ready` once the caches are
/// synced and the webhook configurations are in place.
pub async fn spawn(
    args: &ServeArgs,
    state: &mut ServerState,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    if !args.cluster.enabled() {
        return Ok(None);
    }
    let opts = options(args)?;
    let client = palisade_kube::client(args.cluster.kubeconfig.as_deref())
        .await
        .context("connecting to the cluster")?;
    let view = ClusterCache::start(client.clone());
    let view_dyn: Arc<dyn ClusterView> = view.clone();
    state.env = Arc::new(ReviewEnv {
        cluster: view_dyn,
        ..ReviewEnv::offline()
    });
    state.background = Some(Arc::new(palisade_kube::updaterequest::Recorder::new(
        client.clone(),
        &opts.namespace,
    )));
    state.reports = Some(palisade_kube::admissionreport::Writer::start(
        client.clone(),
        &opts.namespace,
    ));
    let cache = state.cache.clone();
    let sink: Arc<dyn TlsSink> = state.certs.clone();
    let ready = state.ready.clone();
    tracing::info!(namespace = %opts.namespace, client = ?opts.client, "cluster mode");
    Ok(Some(tokio::spawn(async move {
        view.wait_synced().await;
        if let Err(e) = palisade_kube::run_with_client(client, opts, cache, sink, ready).await {
            tracing::error!(error = %e, "cluster side stopped");
        }
    })))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn parse(args: &[&str]) -> ServeArgs {
        let mut all = vec!["palisade-serve"];
        all.extend_from_slice(args);
        ServeArgs::try_parse_from(all).unwrap()
    }

    #[test]
    fn durations() {
        let cases = [
            ("90d", Ok(90 * 86_400)),
            ("12h", Ok(43_200)),
            ("30", Ok(30)),
            ("5m", Ok(300)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input), want, "{input}");
        }
        for bad in ["", "d", "3w", "0s", "-1d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_cluster_options() {
        let a = parse(&[
            "--kubeconfig",
            "k",
            "--listen",
            "127.0.0.1:9443",
            "--webhook-url",
            "https://127.0.0.1:9443",
            "--exclude-namespaces",
            "a,b",
            "--cert-validity",
            "1h",
        ]);
        assert!(a.cluster.enabled());
        let o = options(&a).unwrap();
        assert_eq!(o.client, ClientTarget::Url("https://127.0.0.1:9443".into()));
        assert_eq!(
            o.excluded_namespaces(),
            vec!["kube-system", "palisade", "a", "b"]
        );
        assert!(o.watch_policies);
        assert_eq!(o.exclude_object_label, None, "object exclusion is opt-in");
        let TlsMode::Generate(s) = &o.tls else {
            panic!("generated certificates")
        };
        assert_eq!(s.cert_validity_secs, 3_600);
        assert_eq!(s.sans, vec!["127.0.0.1".to_string()]);
    }

    #[test]
    fn service_target_and_file_policies() {
        let a = parse(&[
            "--cluster",
            "--namespace",
            "sec",
            "--service-name",
            "palisade-svc",
            "--policies",
            "dir",
        ]);
        let o = options(&a).unwrap();
        assert_eq!(
            o.client,
            ClientTarget::Service {
                namespace: "sec".into(),
                name: "palisade-svc".into(),
                port: 443
            }
        );
        assert!(!o.watch_policies);
        let labelled = parse(&[
            "--cluster",
            "--listen",
            "127.0.0.1:8443",
            "--exclude-object-label",
            "palisade.io/exclude=true",
        ]);
        assert_eq!(
            options(&labelled).unwrap().exclude_object_label,
            Some(("palisade.io/exclude".into(), "true".into()))
        );
        assert!(
            ServeArgs::try_parse_from(["palisade-serve", "--exclude-object-label", "=x"]).is_err()
        );
        let unspecified = parse(&["--cluster"]);
        assert!(options(&unspecified).is_err());
        let default_url = parse(&["--cluster", "--listen", "127.0.0.1:8443"]);
        assert_eq!(
            options(&default_url).unwrap().client,
            ClientTarget::Url("https://127.0.0.1:8443".into())
        );
        let no_bundle = parse(&[
            "--cluster",
            "--listen",
            "127.0.0.1:1",
            "--tls-cert",
            "c",
            "--tls-key",
            "k",
        ]);
        assert!(options(&no_bundle).is_err());
        assert!(!parse(&["--policies", "d"]).cluster.enabled());
    }
}
