//! Kyverno's CEL policy kinds in cluster mode against a real kube-apiserver and etcd: the
//! watch starts without their CRDs (classic policies are served), picks the CRDs up when they
//! are installed, loads ValidatingPolicies and NamespacedValidatingPolicies into the policy
//! set, writes their status in Kyverno's `conditionStatus` shape (a compile error names the
//! field and the position in the expression) and adds their resources to the webhooks.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::time::Duration;

use palisade_admission::PolicyCache;
use palisade_kube::watch;
use palisade_testcluster::{cel, pods};
use serde_json::Value;
use support::{Cluster, NS, Running, WAIT, eventually, options, repo_root};

fn namespaced() -> String {
    cel::configmap_nvpol(
        "configmap-color",
        "default",
        "!has(object.data) || object.data.?color.orValue('') != 'red'",
        "red is not allowed",
    )
}

fn condition_status(cluster: &Cluster, args: &[&str]) -> Option<Value> {
    let obj = cluster.get_json(args)?;
    let status = obj.pointer("/status/conditionStatus")?;
    status.get("ready")?;
    Some(status.clone())
}

fn webhook_resources(cluster: &Cluster) -> Vec<String> {
    let Some(config) = cluster.validating_webhook_config() else {
        return Vec::new();
    };
    config["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|w| w["rules"].as_array().cloned().unwrap_or_default())
        .flat_map(|r| r["resources"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cel_policies_are_watched_once_their_crds_exist() {
    let Some(cluster) = Cluster::up("kube-cel") else {
        return;
    };
    let root = repo_root();
    let crds = root.join("deploy/crds");
    let crd = |file: &str| crds.join(file).display().to_string();

    // Only the kyverno.io CRDs, as on a cluster set up before the CEL kinds existed.
    for file in [
        "kyverno.io_clusterpolicies.yaml",
        "kyverno.io_policies.yaml",
        "kyverno.io_policyexceptions.yaml",
    ] {
        cluster.kubectl(&["apply", "--server-side", "-f", &crd(file)]);
    }
    cluster.wait_crds_established();
    cluster.apply_file(pods::PSS_PRIVILEGED);

    let client = palisade_kube::client(Some(&cluster.kubeconfig))
        .await
        .unwrap();
    let running = Running::start(client, options(NS));
    // Absent CEL CRDs do not hold the classic policies back.
    running.wait_ready("ready without the CEL CRDs").await;
    let Running { cache, task, .. } = running;
    let set = cache.snapshot();
    assert_eq!(set.policies().len(), 1);
    assert!(set.validating_policies().is_empty());

    // The CRDs are installed later, then the policies (one of them broken, one namespaced and
    // written at v1beta1).
    for file in [
        "policies.kyverno.io_validatingpolicies.yaml",
        "policies.kyverno.io_namespacedvalidatingpolicies.yaml",
        "policies.kyverno.io_mutatingpolicies.yaml",
        "policies.kyverno.io_namespacedmutatingpolicies.yaml",
    ] {
        cluster.kubectl(&["apply", "--server-side", "-f", &crd(file)]);
    }
    cluster.wait_crds_established();
    cluster.apply_file(pods::VPOL_PRIVILEGED);
    cluster.apply(cel::BROKEN_VPOL);
    cluster.apply(&namespaced());

    let started = std::time::Instant::now();
    let names = eventually("the CEL policies in the set", WAIT, || {
        let set = cache.snapshot();
        let mut names: Vec<String> = set
            .validating_policies()
            .iter()
            .map(|p| p.policy.metadata.name.clone())
            .collect();
        names.sort();
        (names.len() == 2).then_some(names)
    })
    .await;
    eprintln!(
        "CEL policies loaded {:?} after they were applied",
        started.elapsed()
    );
    assert_eq!(
        names,
        vec!["configmap-color", "disallow-privileged-containers"]
    );
    assert_eq!(cache.snapshot().policies().len(), 1);

    // Status in Kyverno's shape.
    let good = eventually("the ValidatingPolicy's status", WAIT, || {
        condition_status(&cluster, &["vpol", "disallow-privileged-containers"])
    })
    .await;
    assert_eq!(good["ready"], true, "{good}");
    assert_eq!(good["conditions"][0]["type"], "PolicyCached");
    assert_eq!(good["conditions"][0]["status"], "True");
    assert_eq!(good["conditions"][0]["reason"], "Succeeded");
    let namespaced = eventually("the NamespacedValidatingPolicy's status", WAIT, || {
        condition_status(&cluster, &["-n", "default", "nvpol", "configmap-color"])
    })
    .await;
    assert_eq!(namespaced["ready"], true, "{namespaced}");
    let broken = eventually("the broken policy's status", WAIT, || {
        condition_status(&cluster, &["vpol", "broken-cel"])
    })
    .await;
    assert_eq!(broken["ready"], false, "{broken}");
    let message = broken["message"].as_str().unwrap();
    assert!(
        message.starts_with("spec.validations[0].expression: ")
            && message.contains("nope")
            && message.contains("(at 1:"),
        "{broken}"
    );
    assert_eq!(broken["conditions"][0]["status"], "False");
    assert_eq!(broken["conditions"][0]["reason"], "Failed");
    assert_eq!(broken["conditions"][0]["message"], message);
    let printed = cluster.kubectl(&["get", "vpol"]);
    assert!(
        printed.contains("broken-cel") && printed.contains("false"),
        "{printed}"
    );

    // The webhooks now also carry what the CEL policies match.
    let resources = eventually("configmaps in the webhook rules", WAIT, || {
        let all = webhook_resources(&cluster);
        all.iter().any(|r| r == "configmaps").then_some(all)
    })
    .await;
    assert!(resources.iter().any(|r| r == "pods"), "{resources:?}");

    // Fixing the broken policy loads it and flips its status; deleting one drops it.
    cluster.apply(&cel::BROKEN_VPOL.replace("c.image == nope", "c.image != ''"));
    let fixed = eventually("the fixed policy's status", WAIT, || {
        condition_status(&cluster, &["vpol", "broken-cel"]).filter(|s| s["ready"] == true)
    })
    .await;
    assert_eq!(fixed["message"], "");
    cluster.kubectl(&["-n", "default", "delete", "nvpol", "configmap-color"]);
    eventually("the set after the edit and the deletion", WAIT, || {
        let set = cache.snapshot();
        let mut names: Vec<String> = set
            .validating_policies()
            .iter()
            .map(|p| p.policy.metadata.name.clone())
            .collect();
        names.sort();
        (names == ["broken-cel", "disallow-privileged-containers"]).then_some(())
    })
    .await;

    task.abort();
}

/// With [`cel::CM_SIZE_VAP`] and a ValidatingPolicy `no-blue` on ConfigMaps: an exception for
/// that policy in `default`, and a binding of `cm-size` everywhere.
const EXEMPTED: &str = r#"
apiVersion: policies.kyverno.io/v1beta1
kind: PolicyException
metadata:
  name: blue-is-fine-here
  namespace: default
spec:
  policyRefs:
  - name: no-blue
    kind: ValidatingPolicy
  matchConditions:
  - name: in-default
    expression: object.metadata.namespace == 'default'
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: cm-size-everywhere
spec:
  policyName: cm-size
  validationActions: [Audit]
"#;

/// The controller's watch loads CEL PolicyExceptions and bound ValidatingAdmissionPolicies and
/// writes no status; the webhook's loads the exceptions, leaves the admission policies to the
/// API server, and turns ready only once the statuses of what it serves are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_admission_policies_and_one_status_writer() {
    let Some(cluster) = Cluster::up("kube-cel-status") else {
        return;
    };
    cluster.apply_crds();
    let no_blue = cel::configmap_vpol(
        "no-blue",
        "!has(object.data) || object.data.?color.orValue('') != 'blue'",
        "blue is not allowed",
    );
    cluster.apply(&format!("{no_blue}---{}---{EXEMPTED}", cel::CM_SIZE_VAP));
    let client = palisade_kube::client(Some(&cluster.kubeconfig))
        .await
        .unwrap();

    let background = Arc::new(PolicyCache::new());
    let controller = tokio::spawn(watch::run(
        client.clone(),
        background.clone(),
        watch::Options::CONTROLLER,
    ));
    let set = eventually("the controller's set", WAIT, || {
        let set = cache_set(&background)?;
        (set.validating_policies().len() == 1
            && set.cel_exceptions().len() == 1
            && set.admission_policies().first()?.bindings.len() == 1)
            .then_some(set)
    })
    .await;
    assert_eq!(set.cel_exceptions()[0].key(), "default/blue-is-fine-here");
    // The set is installed after the watch has seen every object; a status write would have
    // been queued by then. Give a stray writer time to show itself.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let vpol = cluster.get_json(&["vpol", "no-blue"]).unwrap();
    assert!(
        vpol.pointer("/status/conditionStatus").is_none(),
        "the controller's watch wrote a status: {vpol}"
    );

    let running = Running::start(client, options(NS));
    running.wait_ready("webhook ready").await;
    let Running {
        cache,
        task: webhook,
        ..
    } = running;
    // Ready implies the status of what it serves is written: read it once, no waiting.
    let status = condition_status(&cluster, &["vpol", "no-blue"]);
    assert_eq!(
        status.as_ref().map(|s| s["ready"].clone()),
        Some(Value::Bool(true)),
        "ready before the status was written: {status:?}"
    );
    let served = cache.snapshot();
    assert_eq!(served.cel_exceptions().len(), 1);
    assert!(
        served.admission_policies().is_empty(),
        "the webhook must leave admission policies to the API server"
    );

    // A binding deleted later leaves the policy unbound in the controller's set.
    cluster.kubectl(&[
        "delete",
        "validatingadmissionpolicybinding",
        "cm-size-everywhere",
    ]);
    eventually("the binding gone from the controller's set", WAIT, || {
        let set = cache_set(&background)?;
        set.admission_policies()
            .first()?
            .bindings
            .is_empty()
            .then_some(())
    })
    .await;
    webhook.abort();
    controller.abort();
}

fn cache_set(cache: &PolicyCache) -> Option<Arc<palisade_admission::PolicySet>> {
    cache.is_loaded().then(|| cache.snapshot())
}
