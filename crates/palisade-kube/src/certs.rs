//! The CA and serving certificate kept in two Secrets of Palisade's namespace: made on first
//! start, reused on restart, renewed at two thirds of their lifetime.
//!
//! - `<ca secret>` (type `kubernetes.io/tls`): `tls.crt`/`tls.key` the current CA, `ca.crt`
//!   the bundle to publish (current CA first, then older CAs until they expire).
//! - `<tls secret>` (type `kubernetes.io/tls`): the serving pair, and `ca.crt` the bundle.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};

use crate::Error;
use crate::tls::{self, CertInfo, Pair, Plan};

/// Where and how the certificates are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSettings {
    /// Secret holding the CA and the bundle.
    pub ca_secret: String,
    /// Secret holding the serving pair.
    pub tls_secret: String,
    /// DNS names and IP addresses of the serving certificate.
    pub sans: Vec<String>,
    /// Lifetime of a new CA, in seconds.
    pub ca_validity_secs: i64,
    /// Lifetime of a new serving certificate, in seconds.
    pub cert_validity_secs: i64,
}

/// Default Secret names.
pub const CA_SECRET: &str = "palisade-ca";
/// Default name of the serving-certificate Secret.
pub const TLS_SECRET: &str = "palisade-tls";

/// What the reconcile left in the Secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    /// The CA bundle for the webhook configurations.
    pub bundle: String,
    /// The serving pair.
    pub serving: Pair,
    /// When to look again (Unix seconds): the earlier renewal point.
    pub next_renewal: i64,
    /// What was done.
    pub plan: Plan,
}

const CRT: &str = "tls.crt";
const KEY: &str = "tls.key";
const BUNDLE: &str = "ca.crt";

fn text(secret: Option<&Secret>, key: &str) -> Option<String> {
    let data = secret?.data.as_ref()?;
    String::from_utf8(data.get(key)?.0.clone()).ok()
}

fn stored_pair(secret: Option<&Secret>) -> Option<(Pair, CertInfo)> {
    let pair = Pair {
        cert_pem: text(secret, CRT)?,
        key_pem: text(secret, KEY)?,
    };
    let info = tls::inspect(&pair.cert_pem).ok()?;
    Some((pair, info))
}

/// Reads both Secrets, renews what is due or missing, writes what changed (CA first, so a
/// serving certificate is never stored without its CA) and returns the result.
/// `published` is the bundle this process published last: its CAs stay trusted while valid
/// even if the CA Secret was deleted, since the certificate being served may be theirs.
pub async fn reconcile(
    api: &Api<Secret>,
    s: &CertSettings,
    now: i64,
    published: Option<&str>,
) -> Result<Material, Error> {
    let ca_secret = api.get_opt(&s.ca_secret).await?;
    let tls_secret = api.get_opt(&s.tls_secret).await?;
    let ca = stored_pair(ca_secret.as_ref());
    let serving = stored_pair(tls_secret.as_ref());
    let plan = tls::plan(
        now,
        ca.as_ref().map(|(_, i)| i),
        serving.as_ref().map(|(_, i)| i),
        &s.sans,
    );
    let mut previous_bundle = text(ca_secret.as_ref(), BUNDLE).unwrap_or_default();
    previous_bundle.push_str(published.unwrap_or_default());
    let (ca_pair, previous) = match (plan, ca) {
        (Plan::RotateCa, old) | (_, old @ None) => {
            let fresh = tls::generate_ca(now, s.ca_validity_secs)?;
            // The outgoing CA stays in the bundle while it is valid: the serving certificate
            // it signed is still being served until the new one is installed.
            let mut previous = previous_bundle;
            if let Some((old, _)) = old {
                previous.push_str(&old.cert_pem);
            }
            (fresh, previous)
        }
        (_, Some((pair, _))) => (pair, previous_bundle),
    };
    let bundle = tls::bundle(&ca_pair.cert_pem, &previous, now);
    let ca_changed = text(ca_secret.as_ref(), CRT).as_deref() != Some(ca_pair.cert_pem.as_str())
        || text(ca_secret.as_ref(), BUNDLE).as_deref() != Some(bundle.as_str());
    if ca_changed {
        write(api, &s.ca_secret, ca_secret, &ca_pair, &bundle).await?;
    }
    let serving = match (plan, serving) {
        (Plan::Keep, Some((pair, _))) => pair,
        _ => tls::issue_serving(&ca_pair, &s.sans, now, s.cert_validity_secs)?,
    };
    let tls_changed = text(tls_secret.as_ref(), CRT).as_deref() != Some(serving.cert_pem.as_str())
        || text(tls_secret.as_ref(), BUNDLE).as_deref() != Some(bundle.as_str());
    if tls_changed {
        write(api, &s.tls_secret, tls_secret, &serving, &bundle).await?;
    }
    let next_renewal = tls::next_renewal(
        &tls::inspect(&ca_pair.cert_pem)?,
        &tls::inspect(&serving.cert_pem)?,
    );
    Ok(Material {
        bundle,
        serving,
        next_renewal,
        plan,
    })
}

/// Creates the Secret, or replaces it at the version read (a concurrent writer makes this
/// fail with a conflict, and the caller reconciles again from what is stored).
async fn write(
    api: &Api<Secret>,
    name: &str,
    existing: Option<Secret>,
    pair: &Pair,
    bundle: &str,
) -> Result<(), Error> {
    let data = BTreeMap::from([
        (
            CRT.to_string(),
            ByteString(pair.cert_pem.clone().into_bytes()),
        ),
        (
            KEY.to_string(),
            ByteString(pair.key_pem.clone().into_bytes()),
        ),
        (BUNDLE.to_string(), ByteString(bundle.as_bytes().to_vec())),
    ]);
    let labels = BTreeMap::from([(
        crate::webhooks::MANAGED_BY_LABEL.to_string(),
        "palisade".to_string(),
    )]);
    match existing {
        Some(mut secret) => {
            secret.data = Some(data);
            secret.string_data = None;
            secret
                .metadata
                .labels
                .get_or_insert_with(BTreeMap::new)
                .extend(labels);
            api.replace(name, &PostParams::default(), &secret).await?;
        }
        None => {
            let secret = Secret {
                metadata: ObjectMeta {
                    name: Some(name.to_string()),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                type_: Some("kubernetes.io/tls".to_string()),
                data: Some(data),
                ..Secret::default()
            };
            api.create(&PostParams::default(), &secret).await?;
        }
    }
    tracing::info!(secret = name, "stored certificate");
    Ok(())
}

/// Creates Palisade's namespace when it does not exist (a local cluster started from scratch);
/// without the permission to read or create namespaces, the Secret writes report the problem.
pub async fn ensure_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    match api.get_opt(name).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let ns = Namespace {
                metadata: ObjectMeta {
                    name: Some(name.to_string()),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            };
            match api.create(&PostParams::default(), &ns).await {
                Ok(_) => tracing::info!(namespace = name, "created namespace"),
                Err(e) => tracing::warn!(namespace = name, error = %e, "cannot create namespace"),
            }
        }
        Err(e) => tracing::debug!(namespace = name, error = %e, "cannot read namespace"),
    }
}
