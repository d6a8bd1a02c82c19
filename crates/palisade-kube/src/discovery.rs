//! The cluster's API resources, from API discovery, as a [`ResourceIndex`].

use kube::Client;
use kube::discovery::Discovery;

use crate::webhooks::{ApiResourceInfo, ResourceIndex};

/// Runs discovery (aggregated when the server supports it, which takes two requests) and
/// lists every served resource of every version.
pub async fn resource_index(client: &Client) -> Result<ResourceIndex, kube::Error> {
    let discovery = match Discovery::new(client.clone()).run_aggregated().await {
        Ok(d) => d,
        Err(e) => {
            tracing::debug!(error = %e, "aggregated discovery failed; querying each group");
            Discovery::new(client.clone()).run().await?
        }
    };
    let mut resources = Vec::new();
    for group in discovery.groups() {
        let preferred = group.preferred_version_or_latest().to_string();
        let versions: Vec<String> = group.versions().map(str::to_string).collect();
        for version in versions {
            for (ar, caps) in group.versioned_resources(&version) {
                resources.push(ApiResourceInfo {
                    group: ar.group.clone(),
                    version: ar.version.clone(),
                    kind: ar.kind.clone(),
                    plural: ar.plural.clone(),
                    subresources: caps
                        .subresources
                        .iter()
                        .map(|(sub, _)| sub.plural.clone())
                        .collect(),
                    preferred: version == preferred,
                });
            }
        }
    }
    Ok(ResourceIndex { resources })
}
