//! Publishing the webhook configurations with server-side apply, only when their content
//! changes. They are never deleted: while Palisade is down, Fail webhooks fail closed.

use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use palisade_admission::PolicySet;
use serde_json::Value;
use tokio::time::Instant;

use crate::Error;
use crate::cel_rules::{mutating_policy_hooks, validating_policy_hooks};
use crate::discovery::resource_index;
use crate::rules::hook_rules;
use crate::webhooks::{self, ResourceIndex, WebhookSettings};

/// The field manager of Palisade's server-side applies.
pub const FIELD_MANAGER: &str = "palisade";

/// How long discovery results are reused (kinds served by new CRDs appear after this).
const DISCOVERY_TTL: Duration = Duration::from_secs(60);
/// How soon discovery runs again while some policy kind is not served.
pub const DISCOVERY_RETRY: Duration = Duration::from_secs(5);

/// Computes and applies the configurations.
pub struct WebhookManager {
    client: Client,
    settings: WebhookSettings,
    index: Option<(ResourceIndex, Instant)>,
    last: Option<(Value, Value)>,
    unresolved: Vec<String>,
}

impl WebhookManager {
    /// A manager that has applied nothing yet.
    pub fn new(client: Client, settings: WebhookSettings) -> Self {
        WebhookManager {
            client,
            settings,
            index: None,
            last: None,
            unresolved: Vec::new(),
        }
    }

    async fn index(&mut self) -> Result<ResourceIndex, Error> {
        let ttl = if !self.unresolved.is_empty() {
            DISCOVERY_RETRY
        } else {
            DISCOVERY_TTL
        };
        if let Some((index, at)) = &self.index
            && at.elapsed() < ttl
        {
            return Ok(index.clone());
        }
        let index = resource_index(&self.client).await?;
        self.index = Some((index.clone(), Instant::now()));
        Ok(index)
    }

    /// True when the last sync met kinds the cluster does not serve: syncing again soon may
    /// find them (a CRD installed after the policy).
    pub fn unresolved(&self) -> bool {
        !self.unresolved.is_empty()
    }

    /// Brings both configurations in line with `set` and `ca_bundle`. Returns true when
    /// something was applied. A changed content is applied at once; with `check_live` an
    /// unchanged one is compared with the live objects and applied again only where they differ
    /// (someone edited or deleted a configuration).
    pub async fn sync(
        &mut self,
        set: &PolicySet,
        ca_bundle: &str,
        check_live: bool,
    ) -> Result<bool, Error> {
        let mut hooks: Vec<_> = set.policies().iter().flat_map(|p| hook_rules(p)).collect();
        hooks.extend(
            set.validating_policies()
                .iter()
                .flat_map(|p| validating_policy_hooks(p)),
        );
        hooks.extend(
            set.mutating_policies()
                .iter()
                .flat_map(|p| mutating_policy_hooks(p)),
        );
        let index = self.index().await?;
        let desired = webhooks::desired(&hooks, &index, &self.settings, ca_bundle);
        if desired.unresolved != self.unresolved && !desired.unresolved.is_empty() {
            tracing::warn!(kinds = ?desired.unresolved, "policies match kinds the cluster does not serve");
        }
        self.unresolved = desired.unresolved.clone();
        let pair = (desired.validating, desired.mutating);
        let changed = self.last.as_ref() != Some(&pair);
        if !changed && !check_live {
            return Ok(false);
        }
        let validating: Api<ValidatingWebhookConfiguration> = Api::all(self.client.clone());
        let mutating: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
        let applied_v = apply(
            &validating,
            &self.settings.validating_name,
            &pair.0,
            !changed,
        )
        .await?;
        let applied_m = apply(&mutating, &self.settings.mutating_name, &pair.1, !changed).await?;
        if !(applied_v || applied_m) {
            return Ok(false);
        }
        let count = |v: &Value| v["webhooks"].as_array().map_or(0, Vec::len);
        if !changed {
            tracing::warn!("webhook configurations differed from what was applied; restored");
        } else {
            tracing::info!(
                validating = count(&pair.0),
                mutating = count(&pair.1),
                "webhook configurations applied"
            );
        }
        self.last = Some(pair);
        Ok(true)
    }
}

/// Applies `desired` (server-side apply). With `only_if_different`, reads the live object
/// first and does nothing when its webhooks already are the desired ones.
async fn apply<K>(
    api: &Api<K>,
    name: &str,
    desired: &Value,
    only_if_different: bool,
) -> Result<bool, Error>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + serde::Serialize,
{
    if only_if_different && let Some(live) = api.get_opt(name).await? {
        let live = serde_json::to_value(&live).unwrap_or(Value::Null);
        let live_hooks = live
            .get("webhooks")
            .cloned()
            .unwrap_or_else(|| Value::Array(Vec::new()));
        if live_hooks == desired["webhooks"] {
            return Ok(false);
        }
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(name, &params, &Patch::Apply(desired)).await?;
    Ok(true)
}
