//! Serving certificates that can change while the server runs.
//!
//! [`CertResolver`] answers every TLS handshake with the pair installed last; installing a new
//! pair affects only later handshakes, so open connections keep going. File mode polls the
//! certificate and key files (cert-manager rewrites them in place); cluster mode installs the
//! pairs palisade-kube makes (its `TlsSink` is [`CertResolver::install`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate pair could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate PEM holds no usable certificate.
    #[error("no certificate found in the certificate PEM: {0}")]
    Certificate(String),
    /// The key PEM holds no usable private key.
    #[error("no usable private key in the key PEM: {0}")]
    Key(String),
    /// The key does not match the certificate or its type is unsupported.
    #[error("the private key cannot be used with the certificate: {0}")]
    Mismatch(String),
    /// A file could not be read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The crypto provider everything here uses (ring; no aws-lc).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Resolves every handshake to the most recently installed certificate.
pub struct CertResolver {
    current: ArcSwapOption<CertifiedKey>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertResolver")
            .field("installed", &self.current.load().is_some())
            .finish()
    }
}

impl Default for CertResolver {
    fn default() -> Self {
        CertResolver::new()
    }
}

impl CertResolver {
    /// A resolver without a certificate: handshakes fail until one is installed.
    pub fn new() -> CertResolver {
        CertResolver {
            current: ArcSwapOption::empty(),
            provider: provider(),
        }
    }

    /// Serves this PEM pair from the next handshake on. The old pair stays on error.
    /// (This is the `TlsSink` the cluster side hands new certificates to.)
    pub fn install(&self, cert_pem: &str, key_pem: &str) -> Result<(), String> {
        self.install_pem(cert_pem.as_bytes(), key_pem.as_bytes())
            .map_err(|e| e.to_string())
    }

    /// As [`CertResolver::install`], with a typed error.
    pub fn install_pem(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), TlsError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::Certificate("the PEM is empty".into()));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
        let certified = CertifiedKey::from_der(certs, key, &self.provider)
            .map_err(|e| TlsError::Mismatch(e.to_string()))?;
        self.current.store(Some(Arc::new(certified)));
        Ok(())
    }

    /// True once a certificate is installed.
    pub fn is_installed(&self) -> bool {
        self.current.load().is_some()
    }

    /// A rustls server configuration resolving through `self` (HTTP/2 and HTTP/1.1).
    pub fn server_config(self: &Arc<Self>) -> Result<ServerConfig, TlsError> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }

    /// Installs the pair from two files.
    pub fn install_files(&self, cert: &Path, key: &Path) -> Result<(), TlsError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| TlsError::File {
                path: p.to_path_buf(),
                message: e.to_string(),
            })
        };
        self.install_pem(&read(cert)?, &read(key)?)
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }
}

/// Reinstalls `cert` and `key` whenever their contents change, checking every `interval`
/// (contents, not timestamps: Secret volumes swap symlinks and cert-manager may rewrite within
/// a timestamp tick). The first check installs whatever is there, so a change between start-up
/// and the watcher's first tick is not missed. A pair that fails to load (for example
/// half-written) is logged and retried on the next tick; the previous certificate keeps
/// serving meanwhile.
pub async fn watch_files(
    resolver: Arc<CertResolver>,
    cert: PathBuf,
    key: PathBuf,
    interval: Duration,
) {
    let mut installed: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (Ok(c), Ok(k)) = (tokio::fs::read(&cert).await, tokio::fs::read(&key).await) else {
            tracing::warn!(cert = %cert.display(), "cannot read the certificate files; keeping the current certificate");
            continue;
        };
        if installed
            .as_ref()
            .is_some_and(|(ic, ik)| *ic == c && *ik == k)
        {
            continue;
        }
        match resolver.install_pem(&c, &k) {
            Ok(()) => {
                if installed.is_some() {
                    tracing::info!(cert = %cert.display(), "serving certificate reloaded");
                }
                installed = Some((c, k));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot reload the serving certificate; keeping the current one");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_a_generated_pair_and_rejects_garbage() {
        let pair = crate::certs::self_signed(&["localhost"]).unwrap();
        let r = CertResolver::new();
        assert!(!r.is_installed());
        let cases: [(&str, &str, &str); 3] = [
            ("", &pair.key_pem, "no certificate"),
            (&pair.cert_pem, "junk", "no usable private key"),
            (
                &pair.cert_pem,
                &crate::certs::self_signed(&["x"]).unwrap().key_pem,
                "cannot be used",
            ),
        ];
        for (cert, key, want) in cases {
            let err = r.install(cert, key).unwrap_err();
            assert!(err.contains(want), "{err}");
            assert!(!r.is_installed());
        }
        r.install(&pair.cert_pem, &pair.key_pem).unwrap();
        assert!(r.is_installed());
    }
}
