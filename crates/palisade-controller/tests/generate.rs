//! Generate and mutate-existing rules against a real kube-apiserver, etcd and
//! kube-controller-manager (scripts/cluster.sh): the webhook (in-process, cluster mode)
//! records what admitted requests trigger, the controller binary (a child process) does it.
//!
//! One cluster for the binary, so the steps run in order in one test.
//! `PALISADE_KEEP_CLUSTER=1` keeps the cluster for a look afterwards.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Controller, eventually, free_port, get, gone, start_webhook, wait_registered};

/// The user who creates the tenant Namespace (impersonated by the admin).
const CREATOR: &str = "alice@example.com";

const CREATOR_RBAC: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: namespace-creator
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: [create, get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: namespace-creator
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: namespace-creator
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: alice@example.com
"#;

/// Synchronized, generated for Namespaces that existed before it (generateExisting).
const TEAM_CONFIG: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: team-config
spec:
  rules:
  - name: team-configmap
    match:
      any:
      - resources:
          kinds: [Namespace]
          names: [gen-*]
    generate:
      generateExisting: true
      synchronize: true
      apiVersion: v1
      kind: ConfigMap
      name: team-config
      namespace: "{{ request.object.metadata.name }}"
      data:
        data:
          owner: "{{ request.object.metadata.name }}"
"#;

/// A ConfigMap named `restart-trigger` stamps the Secrets of its namespace.
const STAMP: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: stamp-secrets
spec:
  rules:
  - name: stamp
    match:
      any:
      - resources:
          kinds: [ConfigMap]
          names: [restart-trigger]
    mutate:
      targets:
      - apiVersion: v1
        kind: Secret
        namespace: "{{ request.object.metadata.namespace }}"
      patchStrategicMerge:
        metadata:
          annotations:
            stamped-by: "{{ request.object.data.value }}"
"#;

fn label<'a>(v: &'a Value, key: &str) -> &'a str {
    v["metadata"]["labels"][key].as_str().unwrap_or_default()
}

#[test]
fn generate_and_mutate_existing_in_a_cluster() {
    let Some(cluster) = support::cluster("generate") else {
        return;
    };
    let _ = cluster.try_kubectl(&["create", "namespace", "palisade"], "");
    cluster.apply(CREATOR_RBAC);
    // A Namespace that exists before team-config (generateExisting).
    cluster.namespace("gen-existing");

    let port = free_port();
    start_webhook(&cluster.kubeconfig, port);
    let controller = Controller::start_ready(&cluster, "generate", &["--namespace", "palisade"]);

    // namespace-defaults: a Namespace created by alice gets the default-deny NetworkPolicy
    // (synchronized) and a RoleBinding naming alice (created once).
    cluster.apply_file("policies/multi-tenancy/namespace-defaults");
    wait_registered(&cluster, "namespaces");
    let created = Instant::now();
    cluster.kubectl(&["--as", CREATOR, "create", "namespace", "gen-team"]);
    let netpol = eventually("default-deny NetworkPolicy in gen-team", || {
        get(&cluster, "networkpolicy", "default-deny", "gen-team")
    });
    let took = created.elapsed();
    eprintln!("NetworkPolicy generated {took:?} after the Namespace was created");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(
        label(&netpol, "generate.kyverno.io/policy-name"),
        "namespace-defaults"
    );
    assert_eq!(
        label(&netpol, "generate.kyverno.io/rule-name"),
        "default-deny-network-policy"
    );
    assert_eq!(
        label(&netpol, "generate.kyverno.io/trigger-kind"),
        "Namespace"
    );
    assert_eq!(
        netpol["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
    let binding = eventually("creator RoleBinding in gen-team", || {
        get(
            &cluster,
            "rolebinding",
            "namespace-creator-edit",
            "gen-team",
        )
    });
    assert_eq!(binding["subjects"][0]["name"], CREATOR);
    assert_eq!(binding["roleRef"]["name"], "edit");
    assert_eq!(
        binding["metadata"]["annotations"]["multi-tenancy.palisade.dev/created-by"],
        CREATOR
    );
    // The work is done once: its UpdateRequests are gone.
    eventually("UpdateRequests done", || {
        let list = cluster.get_json(&["updaterequests.palisade.dev", "-n", "palisade"])?;
        list["items"].as_array()?.is_empty().then_some(())
    });

    // synchronize: true brings a deleted NetworkPolicy back within a few seconds.
    cluster.kubectl(&["delete", "networkpolicy", "default-deny", "-n", "gen-team"]);
    let deleted = Instant::now();
    eventually("default-deny restored", || {
        get(&cluster, "networkpolicy", "default-deny", "gen-team")
            .filter(|n| n["metadata"]["uid"] != netpol["metadata"]["uid"])
    });
    let took = deleted.elapsed();
    eprintln!("NetworkPolicy restored {took:?} after its deletion");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // ... and an edited one is put back.
    cluster.kubectl(&[
        "patch",
        "networkpolicy",
        "default-deny",
        "-n",
        "gen-team",
        "--type=merge",
        "-p",
        r#"{"spec":{"policyTypes":["Ingress"]}}"#,
    ]);
    eventually("default-deny spec restored", || {
        get(&cluster, "networkpolicy", "default-deny", "gen-team")
            .filter(|n| n["spec"]["policyTypes"] == serde_json::json!(["Ingress", "Egress"]))
    });
    // synchronize: false: a deleted RoleBinding stays deleted.
    cluster.kubectl(&[
        "delete",
        "rolebinding",
        "namespace-creator-edit",
        "-n",
        "gen-team",
    ]);

    // generateExisting: the policy appears after the Namespace; its ConfigMap follows.
    cluster.apply(TEAM_CONFIG);
    let cm = eventually("team-config in gen-existing", || {
        get(&cluster, "configmap", "team-config", "gen-existing")
    });
    assert_eq!(cm["data"]["owner"], "gen-existing");
    eventually("team-config in gen-team", || {
        get(&cluster, "configmap", "team-config", "gen-team")
    });

    // Deleting a synchronized policy removes its downstream resources.
    cluster.kubectl(&["delete", "clusterpolicy", "team-config"]);
    gone(&cluster, "configmap", "team-config", "gen-existing");
    gone(&cluster, "configmap", "team-config", "gen-team");

    // mutateExisting: a trigger ConfigMap stamps the existing Secrets of its namespace.
    cluster.kubectl(&[
        "create",
        "secret",
        "generic",
        "target",
        "-n",
        "gen-team",
        "--from-literal=k=v",
    ]);
    cluster.apply(STAMP);
    wait_registered(&cluster, "configmaps");
    cluster.kubectl(&[
        "create",
        "configmap",
        "restart-trigger",
        "-n",
        "gen-team",
        "--from-literal=value=v1",
    ]);
    eventually("Secret stamped", || {
        get(&cluster, "secret", "target", "gen-team")
            .filter(|s| s["metadata"]["annotations"]["stamped-by"] == "v1")
    });
    // An update of the trigger stamps again.
    cluster.kubectl(&[
        "patch",
        "configmap",
        "restart-trigger",
        "-n",
        "gen-team",
        "--type=merge",
        "-p",
        r#"{"data":{"value":"v2"}}"#,
    ]);
    eventually("Secret stamped again", || {
        get(&cluster, "secret", "target", "gen-team")
            .filter(|s| s["metadata"]["annotations"]["stamped-by"] == "v2")
    });

    // synchronize: false: the RoleBinding deleted long ago was not recreated.
    assert!(
        get(
            &cluster,
            "rolebinding",
            "namespace-creator-edit",
            "gen-team"
        )
        .is_none()
    );

    // Deleting namespace-defaults removes the synchronized NetworkPolicy.
    cluster.kubectl(&["delete", "clusterpolicy", "namespace-defaults"]);
    gone(&cluster, "networkpolicy", "default-deny", "gen-team");

    let log = controller.log_text();
    assert!(!log.contains("panicked"), "{log}");
}
