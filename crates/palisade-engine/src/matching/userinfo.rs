//! Requester criteria: `subjects`, `roles`, `clusterRoles`.

use palisade_api::cli::UserInfo;
use palisade_api::matching::ResourceFilter;
use palisade_primitives::wildcard;

/// Who made the request, with the roles Kyverno computes from RBAC bindings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestInfo {
    /// The authenticated user.
    pub user_info: UserInfo,
    /// Roles (`namespace:name`).
    pub roles: Vec<String>,
    /// Cluster roles.
    pub cluster_roles: Vec<String>,
}

const SA_PREFIX: &str = "system:serviceaccount:";

/// The first reason the requester does not satisfy the filter's user criteria, if any.
pub fn mismatch(filter: &ResourceFilter, request: &RequestInfo) -> Option<&'static str> {
    if let Some(roles) = filter.roles.as_ref().filter(|r| !r.is_empty())
        && !any_matches(roles, &request.roles)
    {
        return Some("user info does not match roles for the given conditionBlock");
    }
    if let Some(roles) = filter.cluster_roles.as_ref().filter(|r| !r.is_empty())
        && !any_matches(roles, &request.cluster_roles)
    {
        return Some("user info does not match clustersRoles for the given conditionBlock");
    }
    if let Some(subjects) = filter.subjects.as_ref().filter(|s| !s.is_empty()) {
        let user = &request.user_info;
        let hit = subjects.iter().any(|s| match s.kind.as_str() {
            "ServiceAccount" => {
                user.username.len() > SA_PREFIX.len()
                    && user.username.starts_with(SA_PREFIX)
                    && wildcard::matches(
                        &format!("{}:{}", s.namespace.as_deref().unwrap_or_default(), s.name),
                        &user.username[SA_PREFIX.len()..],
                    )
            }
            "User" | "Group" => user
                .groups
                .iter()
                .chain(std::iter::once(&user.username))
                .any(|g| wildcard::matches(&s.name, g)),
            _ => false,
        });
        if !hit {
            return Some("user info does not match subject for the given conditionBlock");
        }
    }
    None
}

fn any_matches(patterns: &[String], actual: &[String]) -> bool {
    actual
        .iter()
        .any(|a| patterns.iter().any(|p| wildcard::matches(p, a)))
}
