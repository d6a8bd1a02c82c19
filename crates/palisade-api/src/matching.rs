//! `match` and `exclude` blocks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::{LabelSelector, Subject};

/// A `match` or `exclude` block: `any`, `all`, or the legacy single filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchResources {
    /// Filters of which at least one must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<ResourceFilter>>,
    /// Filters that must all match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<ResourceFilter>>,
    /// Legacy single filter: resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceDescription>,
    /// Legacy single filter: subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects: Option<Vec<Subject>>,
    /// Legacy single filter: roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Legacy single filter: cluster roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_roles: Option<Vec<String>>,
}

impl MatchResources {
    /// True when no filter of any form is set.
    pub fn is_empty(&self) -> bool {
        self.any.as_ref().is_none_or(Vec::is_empty)
            && self.all.as_ref().is_none_or(Vec::is_empty)
            && self.legacy_filter().is_none()
    }

    /// The legacy top-level fields as one filter, when any of them is set.
    pub fn legacy_filter(&self) -> Option<ResourceFilter> {
        if self.resources.is_none()
            && self.subjects.is_none()
            && self.roles.is_none()
            && self.cluster_roles.is_none()
        {
            return None;
        }
        Some(ResourceFilter {
            resources: self.resources.clone().unwrap_or_default(),
            subjects: self.subjects.clone(),
            roles: self.roles.clone(),
            cluster_roles: self.cluster_roles.clone(),
        })
    }
}

/// One filter: what resources, and optionally which requesters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceFilter {
    /// Resource criteria.
    #[serde(default)]
    pub resources: ResourceDescription,
    /// Requesting subjects (users, groups, service accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects: Option<Vec<Subject>>,
    /// Roles the requester holds (`namespace:name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Cluster roles the requester holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_roles: Option<Vec<String>>,
}

impl ResourceFilter {
    /// True when the filter sets user information criteria.
    pub fn has_user_info(&self) -> bool {
        self.subjects.as_ref().is_some_and(|s| !s.is_empty())
            || self.roles.as_ref().is_some_and(|s| !s.is_empty())
            || self.cluster_roles.as_ref().is_some_and(|s| !s.is_empty())
    }
}

/// Resource criteria of a filter; every set attribute must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceDescription {
    /// Kinds: `Kind`, `version/Kind`, `group/version/Kind`, `Kind/subresource`, wildcards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<String>>,
    /// Deprecated single name (wildcards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Names (wildcards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// Namespaces (wildcards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Annotations that must be present (keys and values take wildcards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Label selector on the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Label selector on the resource's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Admission operations: CREATE, UPDATE, DELETE, CONNECT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<Vec<String>>,
}
