//! Clone sources of synchronized `clone` and `cloneList` rules against a real kube-apiserver
//! (scripts/cluster.sh; the controller binary as a child process): an edited source reaches
//! its copies, a deleted source takes its copies with it, as Kyverno does.
//!
//! The rules generate for existing Namespaces (generateExisting), so no webhook is needed.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Cluster, Controller, eventually, get, gone};

const SOURCE_NS: &str = "clone-src";
const TARGETS: [&str; 2] = ["clone-a", "clone-b"];

const SOURCES: &str = r#"
apiVersion: v1
kind: Secret
metadata:
  name: regcred
  namespace: clone-src
stringData:
  token: one
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared-1
  namespace: clone-src
  labels:
    allowedToBeCloned: "true"
data:
  value: one
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared-2
  namespace: clone-src
  labels:
    allowedToBeCloned: "true"
data:
  value: two
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: private
  namespace: clone-src
data:
  value: never copied
"#;

const POLICY: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: clone-sync
spec:
  rules:
  - name: clone-secret
    match:
      any:
      - resources:
          kinds: [Namespace]
          names: [clone-a, clone-b]
    generate:
      generateExisting: true
      synchronize: true
      apiVersion: v1
      kind: Secret
      name: regcred
      namespace: "{{ request.object.metadata.name }}"
      clone:
        namespace: clone-src
        name: regcred
  - name: clone-configs
    match:
      any:
      - resources:
          kinds: [Namespace]
          names: [clone-a, clone-b]
    generate:
      generateExisting: true
      synchronize: true
      namespace: "{{ request.object.metadata.name }}"
      cloneList:
        namespace: clone-src
        kinds: [v1/ConfigMap]
        selector:
          matchLabels:
            allowedToBeCloned: "true"
"#;

/// Waits until every target namespace's copy of `kind/name` passes `ok`; returns how long.
fn copies(cluster: &Cluster, kind: &str, name: &str, ok: impl Fn(&Value) -> bool) -> Duration {
    let start = Instant::now();
    for ns in TARGETS {
        eventually(&format!("{kind} {ns}/{name}"), || {
            get(cluster, kind, name, ns).filter(|v| ok(v))
        });
    }
    start.elapsed()
}

fn all_gone(cluster: &Cluster, kind: &str, name: &str) -> Duration {
    let start = Instant::now();
    for ns in TARGETS {
        gone(cluster, kind, name, ns);
    }
    start.elapsed()
}

fn token(secret: &Value) -> String {
    // base64 of the stringData value.
    secret["data"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn clone_sources_are_followed() {
    let Some(cluster) = support::cluster("clone") else {
        return;
    };
    for ns in [SOURCE_NS, TARGETS[0], TARGETS[1]] {
        cluster.namespace(ns);
    }
    cluster.apply(SOURCES);
    let controller = Controller::start_ready(&cluster, "clone", &["--rescan-interval", "1h"]);
    cluster.apply(POLICY);

    copies(&cluster, "secret", "regcred", |s| token(s) == "b25l");
    copies(&cluster, "configmap", "shared-1", |c| {
        c["data"]["value"] == "one"
    });
    copies(&cluster, "configmap", "shared-2", |c| {
        c["data"]["value"] == "two"
    });
    for ns in TARGETS {
        assert!(get(&cluster, "configmap", "private", ns).is_none());
    }

    // An edited source reaches its copies.
    cluster.kubectl(&[
        "patch",
        "secret",
        "regcred",
        "-n",
        SOURCE_NS,
        "--type=merge",
        "-p",
        r#"{"stringData":{"token":"two"}}"#,
    ]);
    let took = copies(&cluster, "secret", "regcred", |s| token(s) == "dHdv");
    eprintln!("clone source edited -> both copies updated in {took:?}");
    cluster.kubectl(&[
        "patch",
        "configmap",
        "shared-1",
        "-n",
        SOURCE_NS,
        "--type=merge",
        "-p",
        r#"{"data":{"value":"uno"}}"#,
    ]);
    let took = copies(&cluster, "configmap", "shared-1", |c| {
        c["data"]["value"] == "uno"
    });
    eprintln!("cloneList source edited -> both copies updated in {took:?}");

    // A deleted source takes its copies with it; the other sources' copies stay.
    cluster.kubectl(&["delete", "secret", "regcred", "-n", SOURCE_NS]);
    let took = all_gone(&cluster, "secret", "regcred");
    eprintln!("clone source deleted -> both copies deleted in {took:?}");
    cluster.kubectl(&["delete", "configmap", "shared-2", "-n", SOURCE_NS]);
    let took = all_gone(&cluster, "configmap", "shared-2");
    eprintln!("cloneList source deleted -> both copies deleted in {took:?}");
    for ns in TARGETS {
        let kept = get(&cluster, "configmap", "shared-1", ns).unwrap();
        assert_eq!(kept["data"]["value"], "uno", "{kept}");
    }
    // A source added to the list is copied too.
    cluster.apply(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared-3\n  namespace: clone-src\n  labels:\n    allowedToBeCloned: \"true\"\ndata:\n  value: three\n",
    );
    copies(&cluster, "configmap", "shared-3", |c| {
        c["data"]["value"] == "three"
    });

    let log = controller.log_text();
    assert!(!log.contains("panicked"), "{log}");
}
