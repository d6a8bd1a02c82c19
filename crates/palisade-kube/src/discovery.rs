//! The cluster's API resources, from API discovery, as a [`ResourceIndex`].

use kube::Client;
use kube::api::ApiResource;
use kube::discovery::Discovery;
use palisade_engine::validate::cel::gvr;

use crate::webhooks::{ApiResourceInfo, ResourceIndex};

/// The kube-rs description of a resource: its `apiVersion` (`group/version`, or the version
/// alone for the core group), kind and plural.
pub fn api_resource(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let (group, version) = gvr::split_api_version(api_version);
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

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
