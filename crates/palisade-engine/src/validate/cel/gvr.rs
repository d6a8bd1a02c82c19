//! Kinds and their API resources (`Pod` ↔ `pods`), as an offline REST mapper: a table of the
//! built-in kinds with their scope, and Kubernetes' naive lowercase plural for anything else
//! (custom resources), as Kyverno's CLI guesses offline.

/// One built-in kind: API group, kind, plural resource, cluster-scoped.
struct Known {
    group: &'static str,
    kind: &'static str,
    resource: &'static str,
    cluster: bool,
}

const fn k(
    group: &'static str,
    kind: &'static str,
    resource: &'static str,
    cluster: bool,
) -> Known {
    Known {
        group,
        kind,
        resource,
        cluster,
    }
}

const KNOWN: &[Known] = &[
    k("", "Binding", "bindings", false),
    k("", "ComponentStatus", "componentstatuses", true),
    k("", "ConfigMap", "configmaps", false),
    k("", "Endpoints", "endpoints", false),
    k("", "Event", "events", false),
    k("", "LimitRange", "limitranges", false),
    k("", "Namespace", "namespaces", true),
    k("", "Node", "nodes", true),
    k("", "PersistentVolume", "persistentvolumes", true),
    k("", "PersistentVolumeClaim", "persistentvolumeclaims", false),
    k("", "Pod", "pods", false),
    k("", "PodTemplate", "podtemplates", false),
    k("", "ReplicationController", "replicationcontrollers", false),
    k("", "ResourceQuota", "resourcequotas", false),
    k("", "Secret", "secrets", false),
    k("", "Service", "services", false),
    k("", "ServiceAccount", "serviceaccounts", false),
    k(
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicy",
        "mutatingadmissionpolicies",
        true,
    ),
    k(
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
        "mutatingadmissionpolicybindings",
        true,
    ),
    k(
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        true,
    ),
    k(
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        true,
    ),
    k(
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        true,
    ),
    k(
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        true,
    ),
    k(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        true,
    ),
    k("apiregistration.k8s.io", "APIService", "apiservices", true),
    k("apps", "ControllerRevision", "controllerrevisions", false),
    k("apps", "DaemonSet", "daemonsets", false),
    k("apps", "Deployment", "deployments", false),
    k("apps", "ReplicaSet", "replicasets", false),
    k("apps", "StatefulSet", "statefulsets", false),
    k("authentication.k8s.io", "TokenReview", "tokenreviews", true),
    k(
        "authorization.k8s.io",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        false,
    ),
    k(
        "authorization.k8s.io",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        true,
    ),
    k(
        "authorization.k8s.io",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        true,
    ),
    k(
        "authorization.k8s.io",
        "SubjectAccessReview",
        "subjectaccessreviews",
        true,
    ),
    k(
        "autoscaling",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        false,
    ),
    k("batch", "CronJob", "cronjobs", false),
    k("batch", "Job", "jobs", false),
    k(
        "certificates.k8s.io",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        true,
    ),
    k("coordination.k8s.io", "Lease", "leases", false),
    k("discovery.k8s.io", "EndpointSlice", "endpointslices", false),
    k("events.k8s.io", "Event", "events", false),
    k(
        "flowcontrol.apiserver.k8s.io",
        "FlowSchema",
        "flowschemas",
        true,
    ),
    k(
        "flowcontrol.apiserver.k8s.io",
        "PriorityLevelConfiguration",
        "prioritylevelconfigurations",
        true,
    ),
    k("networking.k8s.io", "Ingress", "ingresses", false),
    k("networking.k8s.io", "IngressClass", "ingressclasses", true),
    k(
        "networking.k8s.io",
        "NetworkPolicy",
        "networkpolicies",
        false,
    ),
    k("node.k8s.io", "RuntimeClass", "runtimeclasses", true),
    k(
        "policy",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        false,
    ),
    k(
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "clusterroles",
        true,
    ),
    k(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
        true,
    ),
    k("rbac.authorization.k8s.io", "Role", "roles", false),
    k(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        false,
    ),
    k(
        "scheduling.k8s.io",
        "PriorityClass",
        "priorityclasses",
        true,
    ),
    k("storage.k8s.io", "CSIDriver", "csidrivers", true),
    k("storage.k8s.io", "CSINode", "csinodes", true),
    k(
        "storage.k8s.io",
        "CSIStorageCapacity",
        "csistoragecapacities",
        false,
    ),
    k("storage.k8s.io", "StorageClass", "storageclasses", true),
    k(
        "storage.k8s.io",
        "VolumeAttachment",
        "volumeattachments",
        true,
    ),
    k("kyverno.io", "ClusterPolicy", "clusterpolicies", true),
    k("kyverno.io", "Policy", "policies", false),
    k("kyverno.io", "PolicyException", "policyexceptions", false),
    k(
        "kyverno.io",
        "ClusterCleanupPolicy",
        "clustercleanuppolicies",
        true,
    ),
    k("kyverno.io", "CleanupPolicy", "cleanuppolicies", false),
    k(
        "kyverno.io",
        "GlobalContextEntry",
        "globalcontextentries",
        true,
    ),
    k(
        "wgpolicyk8s.io",
        "ClusterPolicyReport",
        "clusterpolicyreports",
        true,
    ),
    k("wgpolicyk8s.io", "PolicyReport", "policyreports", false),
];

/// Splits `apiVersion` into group and version (`apps/v1` → `apps`, `v1`; `v1` → ``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// The plural resource of a kind in a group: the table, else Kubernetes' naive guess.
pub fn resource_for(group: &str, kind: &str) -> String {
    KNOWN
        .iter()
        .find(|k| k.group == group && k.kind == kind)
        .map(|k| k.resource.to_string())
        .unwrap_or_else(|| guess_plural(kind))
}

/// The kind of a plural resource in a group, when the table knows it.
pub fn kind_for(group: &str, resource: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|k| k.group == group && k.resource == resource)
        .map(|k| k.kind)
}

/// True for the built-in cluster-scoped kinds (and never for unknown kinds).
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    KNOWN
        .iter()
        .any(|k| k.group == group && k.kind == kind && k.cluster)
}

/// Kubernetes' `UnsafeGuessKindToResource`: lowercase, then `s`→`ses`, `y`→`ies`, else `+s`.
pub fn guess_plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.is_empty() {
        return lower;
    }
    if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_from_table_and_guess() {
        let cases = [
            ("", "Pod", "pods"),
            ("", "Endpoints", "endpoints"),
            ("apps", "Deployment", "deployments"),
            ("networking.k8s.io", "Ingress", "ingresses"),
            ("example.com", "Widget", "widgets"),
            ("example.com", "Policy", "policies"),
            ("example.com", "Class", "classes"),
        ];
        for (g, k, want) in cases {
            assert_eq!(resource_for(g, k), want, "{g}/{k}");
        }
        assert_eq!(kind_for("batch", "cronjobs"), Some("CronJob"));
        assert!(is_cluster_scoped("", "Namespace"));
        assert!(!is_cluster_scoped("", "Pod"));
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
        assert_eq!(split_api_version("v1"), ("", "v1"));
    }
}
