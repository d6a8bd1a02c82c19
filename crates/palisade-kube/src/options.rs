//! Options of the cluster side and the Kubernetes client.

use std::path::{Path, PathBuf};

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::Error;
use crate::certs::{CA_SECRET, CertSettings, TLS_SECRET};
use crate::webhooks::{ClientTarget, MUTATING_NAME, VALIDATING_NAME, WebhookSettings};

/// Where the serving certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// Palisade makes its CA and serving certificate, keeps them in Secrets and rotates them.
    Generate(CertSettings),
    /// The user supplies them (e.g. cert-manager): the server reads its files, and only this
    /// CA bundle (PEM) is needed here, for the webhook configurations.
    Provided {
        /// The CA bundle (PEM).
        ca_bundle_pem: String,
    },
    /// As `Provided`, with the bundle read from a file and read again when it changes (a
    /// certificate manager rotating its CA).
    ProvidedFile {
        /// The CA bundle file (PEM).
        path: PathBuf,
    },
}

/// Everything [`run`](crate::run) needs besides the cache, the TLS sink and the ready flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeOptions {
    /// Palisade's own namespace (Secrets live here; it is never sent to the webhook).
    pub namespace: String,
    /// Where the API server sends admission requests.
    pub client: ClientTarget,
    /// Namespaces never sent to the webhook besides kube-system and `namespace`.
    pub exclude_namespaces: Vec<String>,
    /// Objects labelled `key=value` are never sent to the webhook (off by default).
    pub exclude_object_label: Option<(String, String)>,
    /// Certificates.
    pub tls: TlsMode,
    /// Watch policies in the cluster; false when the caller fills the cache (from files).
    pub watch_policies: bool,
    /// Name of the ValidatingWebhookConfiguration.
    pub validating_name: String,
    /// Name of the MutatingWebhookConfiguration.
    pub mutating_name: String,
}

/// Seconds in a day.
const DAY: i64 = 86_400;

impl KubeOptions {
    /// Defaults: generated certificates (CA one year, serving certificate 90 days) for the
    /// client target's names, policies watched, Kyverno-like configuration names.
    pub fn new(namespace: &str, client: ClientTarget) -> KubeOptions {
        let sans = default_sans(&client);
        KubeOptions {
            namespace: namespace.to_string(),
            client,
            exclude_namespaces: Vec::new(),
            exclude_object_label: None,
            tls: TlsMode::Generate(CertSettings {
                ca_secret: CA_SECRET.to_string(),
                tls_secret: TLS_SECRET.to_string(),
                sans,
                ca_validity_secs: 365 * DAY,
                cert_validity_secs: 90 * DAY,
            }),
            watch_policies: true,
            validating_name: VALIDATING_NAME.to_string(),
            mutating_name: MUTATING_NAME.to_string(),
        }
    }

    /// kube-system, Palisade's namespace and the extra ones, without duplicates.
    pub fn excluded_namespaces(&self) -> Vec<String> {
        let mut out = vec!["kube-system".to_string(), self.namespace.clone()];
        for ns in &self.exclude_namespaces {
            if !ns.is_empty() && !out.contains(ns) {
                out.push(ns.clone());
            }
        }
        out
    }

    /// The settings of the webhook configurations.
    pub fn webhook_settings(&self) -> WebhookSettings {
        WebhookSettings {
            validating_name: self.validating_name.clone(),
            mutating_name: self.mutating_name.clone(),
            client: self.client.clone(),
            excluded_namespaces: self.excluded_namespaces(),
            excluded_object_label: self.exclude_object_label.clone(),
        }
    }
}

/// The names a serving certificate needs for a client target: the URL's host, or the
/// Service's DNS names.
pub fn default_sans(client: &ClientTarget) -> Vec<String> {
    match client {
        ClientTarget::Url(url) => {
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let authority = rest.split('/').next().unwrap_or_default();
            let host = match authority.strip_prefix('[') {
                // [::1]:9443
                Some(v6) => v6.split(']').next().unwrap_or_default(),
                None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
            };
            vec![host.to_string()]
        }
        ClientTarget::Service {
            namespace, name, ..
        } => vec![
            format!("{name}.{namespace}.svc"),
            format!("{name}.{namespace}.svc.cluster.local"),
            format!("{name}.{namespace}"),
            name.clone(),
        ],
    }
}

/// A client from a kubeconfig file, or else from `KUBECONFIG`, `~/.kube/config` or the
/// in-cluster service account.
pub async fn client(kubeconfig: Option<&Path>) -> Result<Client, Error> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| Error::Config(e.to_string()))?,
    };
    Client::try_from(config).map_err(Error::Kube)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_from_client_target() {
        let cases = [
            ("https://127.0.0.1:9443", "127.0.0.1"),
            ("https://127.0.0.1:9443/base", "127.0.0.1"),
            ("https://palisade.example", "palisade.example"),
            ("https://[::1]:9443", "::1"),
        ];
        for (url, want) in cases {
            assert_eq!(
                default_sans(&ClientTarget::Url(url.into())),
                vec![want.to_string()]
            );
        }
        let svc = ClientTarget::Service {
            namespace: "palisade".into(),
            name: "palisade-svc".into(),
            port: 443,
        };
        assert_eq!(default_sans(&svc)[0], "palisade-svc.palisade.svc");
    }

    #[test]
    fn excluded_namespaces_always_include_system_and_own() {
        let mut o = KubeOptions::new(
            "palisade",
            ClientTarget::Url("https://127.0.0.1:9443".into()),
        );
        o.exclude_namespaces = vec!["kube-system".into(), "monitoring".into(), String::new()];
        assert_eq!(
            o.excluded_namespaces(),
            vec!["kube-system", "palisade", "monitoring"]
        );
    }
}
