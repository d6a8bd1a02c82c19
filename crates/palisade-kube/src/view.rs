//! What reviews read from the cluster, from watch caches: namespace labels and objects (for
//! `namespaceSelector` and CEL's `namespaceObject`) and the requester's roles (for `roles` and
//! `clusterRoles` in match blocks), computed from RoleBindings and ClusterRoleBindings the way
//! Kyverno does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding, Subject};
use kube::Client;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use palisade_admission::{ClusterView, Roles, UserInfo};
use serde_json::Value;

/// Roles and ClusterRoles per subject: `user:<name>` (service accounts by their user name)
/// and `group:<name>`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RoleIndex {
    by_subject: HashMap<String, (BTreeSet<String>, BTreeSet<String>)>,
}

fn subject_key(subject: &Subject, binding_namespace: &str) -> Option<String> {
    match subject.kind.as_str() {
        "User" => Some(format!("user:{}", subject.name)),
        "Group" => Some(format!("group:{}", subject.name)),
        "ServiceAccount" => {
            let ns = subject
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_namespace);
            (!ns.is_empty()).then(|| format!("user:system:serviceaccount:{ns}:{}", subject.name))
        }
        _ => None,
    }
}

impl RoleIndex {
    /// Indexes the bindings: a RoleBinding to a Role gives `namespace:role`, to a ClusterRole
    /// the ClusterRole; a ClusterRoleBinding gives its ClusterRole.
    pub fn build(
        role_bindings: &[Arc<RoleBinding>],
        cluster_bindings: &[Arc<ClusterRoleBinding>],
    ) -> RoleIndex {
        let mut index = RoleIndex::default();
        for rb in role_bindings {
            let ns = rb.metadata.namespace.as_deref().unwrap_or_default();
            for s in rb.subjects.iter().flatten() {
                let Some(key) = subject_key(s, ns) else {
                    continue;
                };
                let entry = index.by_subject.entry(key).or_default();
                match rb.role_ref.kind.as_str() {
                    "Role" => {
                        entry.0.insert(format!("{ns}:{}", rb.role_ref.name));
                    }
                    "ClusterRole" => {
                        entry.1.insert(rb.role_ref.name.clone());
                    }
                    _ => {}
                }
            }
        }
        for crb in cluster_bindings {
            if crb.role_ref.kind != "ClusterRole" {
                continue;
            }
            for s in crb.subjects.iter().flatten() {
                if let Some(key) = subject_key(s, "") {
                    index
                        .by_subject
                        .entry(key)
                        .or_default()
                        .1
                        .insert(crb.role_ref.name.clone());
                }
            }
        }
        index
    }

    /// The roles of a requester, sorted and without duplicates.
    pub fn roles(&self, user: &UserInfo) -> Roles {
        let mut roles = BTreeSet::new();
        let mut cluster_roles = BTreeSet::new();
        let keys = std::iter::once(format!("user:{}", user.username))
            .chain(user.groups.iter().map(|g| format!("group:{g}")));
        for key in keys {
            if let Some((r, c)) = self.by_subject.get(&key) {
                roles.extend(r.iter().cloned());
                cluster_roles.extend(c.iter().cloned());
            }
        }
        Roles {
            roles: roles.into_iter().collect(),
            cluster_roles: cluster_roles.into_iter().collect(),
        }
    }
}

/// A [`ClusterView`] answered from watch caches.
pub struct ClusterCache {
    namespaces: Store<Namespace>,
    roles: Arc<ArcSwap<RoleIndex>>,
    role_bindings: Store<RoleBinding>,
    cluster_bindings: Store<ClusterRoleBinding>,
}

impl ClusterCache {
    /// Starts watching Namespaces, RoleBindings and ClusterRoleBindings (on the current tokio
    /// runtime); [`ClusterCache::wait_synced`] tells when the first lists are in.
    pub fn start(client: Client) -> Arc<ClusterCache> {
        let (namespaces, ns_writer) = reflector::store::<Namespace>();
        let (role_bindings, rb_writer) = reflector::store::<RoleBinding>();
        let (cluster_bindings, crb_writer) = reflector::store::<ClusterRoleBinding>();
        let cfg = watcher::Config::default;
        let ns_stream = reflector::reflector(
            ns_writer,
            watcher(Api::<Namespace>::all(client.clone()), cfg()).default_backoff(),
        )
        .map(|_| false)
        .boxed();
        let rb_stream = reflector::reflector(
            rb_writer,
            watcher(Api::<RoleBinding>::all(client.clone()), cfg()).default_backoff(),
        )
        .map(|_| true)
        .boxed();
        let crb_stream = reflector::reflector(
            crb_writer,
            watcher(Api::<ClusterRoleBinding>::all(client), cfg()).default_backoff(),
        )
        .map(|_| true)
        .boxed();
        let cache = Arc::new(ClusterCache {
            namespaces,
            roles: Arc::new(ArcSwap::from_pointee(RoleIndex::default())),
            role_bindings,
            cluster_bindings,
        });
        let driver = cache.clone();
        tokio::spawn(async move {
            let mut events = stream::select_all([ns_stream, rb_stream, crb_stream]);
            let mut dirty = false;
            loop {
                let next = if dirty {
                    // Bindings change in bursts: index once the burst is over.
                    match tokio::time::timeout(Duration::from_millis(100), events.next()).await {
                        Ok(n) => n,
                        Err(_) => {
                            driver.reindex();
                            dirty = false;
                            continue;
                        }
                    }
                } else {
                    events.next().await
                };
                match next {
                    Some(binding_changed) => dirty |= binding_changed,
                    None => break,
                }
            }
        });
        cache
    }

    fn reindex(&self) {
        let index = RoleIndex::build(&self.role_bindings.state(), &self.cluster_bindings.state());
        self.roles.store(Arc::new(index));
    }

    /// Waits until the three kinds have been listed once (and indexes the bindings).
    pub async fn wait_synced(&self) {
        let _ = self.namespaces.wait_until_ready().await;
        let _ = self.role_bindings.wait_until_ready().await;
        let _ = self.cluster_bindings.wait_until_ready().await;
        self.reindex();
    }
}

impl ClusterView for ClusterCache {
    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        let ns = self.namespaces.get(&ObjectRef::new(namespace))?;
        Some(ns.metadata.labels.clone().unwrap_or_default())
    }

    fn namespace(&self, namespace: &str) -> Option<Value> {
        let ns = self.namespaces.get(&ObjectRef::new(namespace))?;
        serde_json::to_value(&*ns).ok()
    }

    fn roles(&self, user: &UserInfo, _namespace: &str) -> Roles {
        self.roles.load().roles(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rb(ns: &str, kind: &str, role: &str, subjects: Value) -> Arc<RoleBinding> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "b", "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
                "subjects": subjects,
            }))
            .unwrap(),
        )
    }

    fn crb(role: &str, subjects: Value) -> Arc<ClusterRoleBinding> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "c"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": subjects,
            }))
            .unwrap(),
        )
    }

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            username: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..UserInfo::default()
        }
    }

    #[test]
    fn roles_from_bindings() {
        let index = RoleIndex::build(
            &[
                rb(
                    "tenant-a",
                    "ClusterRole",
                    "edit",
                    json!([{"kind": "User", "name": "alice"}]),
                ),
                rb(
                    "tenant-a",
                    "Role",
                    "reader",
                    json!([{"kind": "Group", "name": "tenants"}]),
                ),
                rb(
                    "tenant-b",
                    "Role",
                    "deployer",
                    json!([{"kind": "ServiceAccount", "name": "ci"}]),
                ),
                rb(
                    "tenant-b",
                    "Role",
                    "other",
                    json!([{"kind": "ServiceAccount", "name": "ci", "namespace": "tenant-c"}]),
                ),
            ],
            &[
                crb(
                    "view",
                    json!([{"kind": "Group", "name": "tenants"}, {"kind": "User", "name": "alice"}]),
                ),
                crb(
                    "sa-admin",
                    json!([{"kind": "ServiceAccount", "name": "ci", "namespace": "tenant-b"}]),
                ),
            ],
        );
        let cases = [
            (
                user("alice", &["tenants"]),
                vec!["tenant-a:reader"],
                vec!["edit", "view"],
            ),
            (
                user("bob", &["tenants"]),
                vec!["tenant-a:reader"],
                vec!["view"],
            ),
            (
                user("system:serviceaccount:tenant-b:ci", &[]),
                vec!["tenant-b:deployer"],
                vec!["sa-admin"],
            ),
            (
                user("system:serviceaccount:tenant-c:ci", &[]),
                vec!["tenant-b:other"],
                vec![],
            ),
            (user("nobody", &[]), vec![], vec![]),
        ];
        for (u, roles, cluster_roles) in cases {
            let got = index.roles(&u);
            assert_eq!(got.roles, roles, "{}", u.username);
            assert_eq!(got.cluster_roles, cluster_roles, "{}", u.username);
        }
    }
}
