//! The controller side against a real kube-apiserver and etcd (scripts/cluster.sh): CRDs,
//! policy status, the policy cache, webhook configurations and the certificate Secrets.
//!
//! One cluster for the whole binary: starting one takes seconds, so the steps run in order
//! inside one test and the cluster is stopped when it ends.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use palisade_admission::PolicyCache;
use palisade_testcluster::pods;
use serde_json::Value;
use support::{Cluster, NS, Running, WAIT, eventually, options, repo_root};

const BROKEN: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: broken
spec:
  rules:
  - name: bad-operator
    match:
      any:
      - resources:
          kinds: [ConfigMap]
    validate:
      message: never
      deny:
        conditions:
          any:
          - key: "{{ request.object.metadata.name }}"
            operator: Bogus
            value: x
"#;

const IGNORE_POLICY: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: configmap-labels
spec:
  failurePolicy: Ignore
  webhookTimeoutSeconds: 5
  validationFailureAction: Audit
  rules:
  - name: need-label
    match:
      any:
      - resources:
          kinds: [ConfigMap]
          operations: [CREATE, UPDATE]
    validate:
      message: label app is required
      pattern:
        metadata:
          labels:
            app: "?*"
"#;

const NAMESPACED: &str = r#"
apiVersion: kyverno.io/v1
kind: Policy
metadata:
  name: team-labels
  namespace: tenant-a
spec:
  rules:
  - name: team
    match:
      any:
      - resources:
          kinds: [ConfigMap]
    validate:
      message: label team is required
      pattern:
        metadata:
          labels:
            team: "?*"
---
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: allow-system-configmaps
  namespace: tenant-a
spec:
  exceptions:
  - policyName: tenant-a/team-labels
    ruleNames: [team]
  match:
    any:
    - resources:
        kinds: [ConfigMap]
        names: [kube-root-ca.crt]
"#;

const WIDGET_POLICY: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: widgets
spec:
  rules:
  - name: sized
    match:
      any:
      - resources:
          kinds: [example.com/v1/Widget]
    validate:
      message: size is required
      pattern:
        spec:
          size: "?*"
"#;

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

fn ready_condition(policy: &Value) -> Option<(String, String)> {
    let conditions = policy.pointer("/status/conditions")?.as_array()?;
    let ready = conditions.iter().find(|c| c["type"] == "Ready")?;
    Some((
        ready["status"].as_str()?.to_string(),
        ready["message"].as_str()?.to_string(),
    ))
}

fn webhook<'a>(config: &'a Value, name: &str) -> Option<&'a Value> {
    config["webhooks"]
        .as_array()?
        .iter()
        .find(|w| w["name"] == name)
}

fn resources(hook: &Value) -> Vec<String> {
    let mut out: Vec<String> = hook["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["resources"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

fn secret_text(secret: &Value, key: &str) -> String {
    use base64::Engine as _;
    let b64 = secret["data"][key].as_str().unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

async fn start(cluster: &Cluster) -> Running {
    let client = palisade_kube::client(Some(&cluster.kubeconfig))
        .await
        .unwrap();
    let mut opts = options(NS);
    opts.exclude_namespaces = vec!["kube-public".into()];
    // The exclusion label is opt-in (a tenant could otherwise label their own objects out of
    // every policy); this run turns it on to see it published.
    opts.exclude_object_label = Some(("palisade.io/exclude".into(), "true".into()));
    Running::start(client, opts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_against_a_real_api_server() {
    let Some(cluster) = Cluster::up("kube-it") else {
        return;
    };
    let root = repo_root();

    // CRDs apply, and a Kyverno policy from the repository applies unchanged.
    cluster.kubectl(&[
        "apply",
        "--server-side",
        "-f",
        &root.join("deploy/crds").display().to_string(),
    ]);
    cluster.wait_crds_established();
    cluster.apply_file(pods::PSS_PRIVILEGED);

    // Before anything runs there is no configuration to bypass or half-publish.
    assert!(cluster.validating_webhook_config().is_none());

    let first = start(&cluster).await;
    first.wait_ready("ready").await;
    assert!(first.cache.is_loaded());
    // Its namespace did not exist: it made it for its Secrets.
    assert!(cluster.get_json(&["namespace", NS]).is_some());
    let set = first.cache.snapshot();
    assert_eq!(set.policies().len(), 1);
    assert_eq!(set.policies()[0].name(), "disallow-privileged-containers");

    // Status: Ready, with Kyverno's fields.
    let policy = eventually("Ready status", WAIT, || {
        let p = cluster.get_json(&["cpol", "disallow-privileged-containers"])?;
        (ready_condition(&p)?.0 == "True").then_some(p)
    })
    .await;
    assert_eq!(policy["status"]["ready"], true);
    assert!(policy["status"]["rulecount"]["validate"].as_u64().unwrap() >= 1);
    let printed = cluster.kubectl(&["get", "cpol", "disallow-privileged-containers"]);
    assert!(
        printed.contains("READY") && printed.contains("True"),
        "{printed}"
    );

    // Secrets: the serving pair the server got is the stored one, signed for 127.0.0.1.
    let tls = cluster
        .get_json(&["-n", NS, "secret", "palisade-tls"])
        .expect("tls secret");
    let ca = cluster
        .get_json(&["-n", NS, "secret", "palisade-ca"])
        .expect("ca secret");
    assert_eq!(tls["type"], "kubernetes.io/tls");
    let served = first.sink.certs();
    assert_eq!(served.len(), 1);
    assert_eq!(served[0], secret_text(&tls, "tls.crt"));
    let info = palisade_kube::tls::inspect(&served[0]).unwrap();
    assert_eq!(info.sans, vec!["127.0.0.1".to_string()]);
    let bundle = secret_text(&ca, "ca.crt");
    assert_eq!(
        info.issuer,
        palisade_kube::tls::inspect(&bundle).unwrap().subject
    );

    // Webhook configuration: Fail webhook for Pods and the autogen controllers.
    let vwc = cluster
        .validating_webhook_config()
        .expect("validating configuration");
    let fail = webhook(&vwc, "validate-fail.palisade.io").expect("fail webhook");
    let res = resources(fail);
    for r in [
        "pods",
        "deployments",
        "daemonsets",
        "statefulsets",
        "replicasets",
        "jobs",
        "cronjobs",
        "replicationcontrollers",
    ] {
        assert!(res.contains(&r.to_string()), "{r} missing from {res:?}");
    }
    assert!(!res.iter().any(|r| r == "*"), "{res:?}");
    assert_eq!(fail["failurePolicy"], "Fail");
    assert_eq!(fail["timeoutSeconds"], 10);
    assert_eq!(fail["sideEffects"], "None");
    assert_eq!(fail["matchPolicy"], "Equivalent");
    assert_eq!(
        fail["clientConfig"]["url"],
        "https://127.0.0.1:9443/validate/fail"
    );
    {
        use base64::Engine as _;
        let published = base64::engine::general_purpose::STANDARD
            .decode(fail["clientConfig"]["caBundle"].as_str().unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(published).unwrap(), bundle);
    }
    let excluded = &fail["namespaceSelector"]["matchExpressions"][0];
    assert_eq!(excluded["key"], "kubernetes.io/metadata.name");
    assert_eq!(excluded["operator"], "NotIn");
    assert_eq!(
        excluded["values"],
        serde_json::json!(["kube-system", NS, "kube-public"])
    );
    assert_eq!(
        fail["objectSelector"]["matchExpressions"][0]["key"],
        "palisade.io/exclude"
    );
    assert!(webhook(&vwc, "validate-ignore.palisade.io").is_none());

    // A broken policy reports its error with the field path and disturbs nothing else.
    cluster.apply(BROKEN);
    let (status, message) = eventually("broken status", WAIT, || {
        let p = cluster.get_json(&["cpol", "broken"])?;
        ready_condition(&p).filter(|(s, _)| s == "False")
    })
    .await;
    assert_eq!(status, "False");
    assert!(
        message.contains("spec.rules[0].validate.deny.conditions"),
        "{message}"
    );
    // An Ignore policy adds its own webhook; both changes reach the cache.
    cluster.apply(IGNORE_POLICY);
    eventually("two policies in the cache", WAIT, || {
        (first.cache.snapshot().policies().len() == 2).then_some(())
    })
    .await;
    let names: Vec<String> = first
        .cache
        .snapshot()
        .policies()
        .iter()
        .map(|p| p.name())
        .collect();
    assert_eq!(
        names,
        vec!["configmap-labels", "disallow-privileged-containers"]
    );
    let ignore = eventually("ignore webhook", WAIT, || {
        let vwc = cluster.validating_webhook_config()?;
        webhook(&vwc, "validate-ignore.palisade.io").cloned()
    })
    .await;
    assert_eq!(ignore["failurePolicy"], "Ignore");
    assert_eq!(ignore["timeoutSeconds"], 5);
    assert_eq!(resources(&ignore), vec!["configmaps"]);
    assert_eq!(
        ignore["rules"][0]["operations"],
        serde_json::json!(["CREATE", "UPDATE"])
    );

    // Deleting a policy removes it from the cache and its webhook from the configuration.
    cluster.kubectl(&["delete", "cpol", "configmap-labels"]);
    eventually("policy removed", WAIT, || {
        (first.cache.snapshot().policies().len() == 1).then_some(())
    })
    .await;
    eventually("ignore webhook removed", WAIT, || {
        let vwc = cluster.validating_webhook_config()?;
        webhook(&vwc, "validate-ignore.palisade.io")
            .is_none()
            .then_some(())
    })
    .await;

    // A policy for a kind the cluster does not serve yet: its rule appears once the CRD is.
    cluster.apply(WIDGET_POLICY);
    eventually("widget policy loaded", WAIT, || {
        (first.cache.snapshot().policies().len() == 2).then_some(())
    })
    .await;
    cluster.apply(WIDGET_CRD);
    eventually("widgets in the configuration", WAIT, || {
        let vwc = cluster.validating_webhook_config()?;
        let fail = webhook(&vwc, "validate-fail.palisade.io")?;
        resources(fail)
            .contains(&"widgets".to_string())
            .then_some(())
    })
    .await;
    cluster.kubectl(&["delete", "cpol", "widgets"]);

    // A namespaced Policy gets its status too, and a PolicyException reaches the set.
    cluster.apply(NAMESPACED);
    eventually("namespaced policy and exception", WAIT, || {
        let set = first.cache.snapshot();
        let names: Vec<String> = set.policies().iter().map(|p| p.name()).collect();
        (names.contains(&"tenant-a/team-labels".to_string()) && set.exceptions().len() == 1)
            .then_some(())
    })
    .await;
    eventually("namespaced policy Ready", WAIT, || {
        let p = cluster.get_json(&["-n", "tenant-a", "pol", "team-labels"])?;
        (ready_condition(&p)?.0 == "True").then_some(())
    })
    .await;
    cluster.kubectl_stdin(&["delete", "-f", "-"], NAMESPACED);
    eventually("namespaced policy and exception removed", WAIT, || {
        let set = first.cache.snapshot();
        (set.policies().len() == 1 && set.exceptions().is_empty()).then_some(())
    })
    .await;

    bundled_policies(&cluster, &first.cache).await;

    // Shutdown leaves the configurations in place (Fail policies fail closed meanwhile).
    first.task.abort();
    let _ = first.task.await;
    assert!(cluster.validating_webhook_config().is_some());

    // A restart reuses the stored certificate and becomes ready again.
    let second = start(&cluster).await;
    second.wait_ready("ready after restart").await;
    assert_eq!(second.sink.certs(), served);
    let tls_again = cluster
        .get_json(&["-n", NS, "secret", "palisade-tls"])
        .unwrap();
    assert_eq!(
        tls_again["metadata"]["resourceVersion"],
        tls["metadata"]["resourceVersion"]
    );
    second.task.abort();
    let _ = second.task.await;

    cluster_view(&cluster).await;
    rotation(&cluster).await;
}

/// Every policy the repository ships applies unchanged and loads Ready; a mutate policy gets
/// the mutating webhook, a generate policy on Namespaces the validating one.
async fn bundled_policies(cluster: &Cluster, cache: &PolicyCache) {
    let root = repo_root();
    let before: Vec<String> = cache
        .snapshot()
        .policies()
        .iter()
        .map(|p| p.name())
        .collect();
    let mut names = Vec::new();
    for dir in [
        "policies/pod-security/baseline",
        "policies/pod-security/restricted",
        "policies/multi-tenancy",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let file = path.join(format!("{name}.yaml"));
            if file.is_file() {
                cluster.kubectl(&["apply", "-f", &file.display().to_string()]);
                names.push(name);
            }
        }
    }
    assert!(names.len() >= 20, "{names:?}");
    for name in &names {
        eventually(&format!("{name} Ready"), WAIT, || {
            let p = cluster.get_json(&["cpol", name])?;
            (ready_condition(&p)?.0 == "True").then_some(())
        })
        .await;
    }
    eventually("all bundled policies in the cache", WAIT, || {
        let loaded: Vec<String> = cache
            .snapshot()
            .policies()
            .iter()
            .map(|p| p.name())
            .collect();
        names.iter().all(|n| loaded.contains(n)).then_some(())
    })
    .await;
    let mwc = eventually("mutating webhook", WAIT, || {
        let mwc = cluster.get_json(&[
            "mutatingwebhookconfiguration",
            "palisade-mutating-webhook-cfg",
        ])?;
        webhook(&mwc, "mutate-fail.palisade.io").cloned()
    })
    .await;
    assert!(resources(&mwc).contains(&"pods".to_string()), "{mwc}");
    assert_eq!(
        mwc["clientConfig"]["url"],
        "https://127.0.0.1:9443/mutate/fail"
    );
    let vwc = eventually("namespaces in the validating webhook", WAIT, || {
        let vwc = cluster.validating_webhook_config()?;
        let fail = webhook(&vwc, "validate-fail.palisade.io")?.clone();
        resources(&fail)
            .contains(&"namespaces".to_string())
            .then_some(fail)
    })
    .await;
    assert!(!resources(&vwc).iter().any(|r| r == "*"));
    // Back to the policies loaded before (the set passes through each intermediate state).
    for name in names.iter().filter(|n| !before.contains(n)) {
        cluster.kubectl(&["delete", "cpol", name]);
    }
    eventually("bundled policies removed", WAIT, || {
        let loaded: Vec<String> = cache
            .snapshot()
            .policies()
            .iter()
            .map(|p| p.name())
            .collect();
        (loaded == before).then_some(())
    })
    .await;
}

/// Namespace labels and the requester's roles come from the watch caches.
async fn cluster_view(cluster: &Cluster) {
    use palisade_admission::{ClusterView, UserInfo};
    let client = palisade_kube::client(Some(&cluster.kubeconfig))
        .await
        .unwrap();
    let view = palisade_kube::ClusterCache::start(client);
    view.wait_synced().await;
    let labels = view
        .namespace_labels("tenant-a")
        .expect("tenant-a is listed");
    assert_eq!(
        labels
            .get("kubernetes.io/metadata.name")
            .map(String::as_str),
        Some("tenant-a")
    );
    assert!(view.namespace_labels("no-such-namespace").is_none());
    assert_eq!(view.namespace("tenant-a").unwrap()["kind"], "Namespace");
    let tenant = UserInfo {
        username: "tenant-a-user".into(),
        groups: vec!["tenants".into(), "system:authenticated".into()],
        ..UserInfo::default()
    };
    let roles = view.roles(&tenant, "tenant-a");
    assert!(
        roles.cluster_roles.contains(&"edit".to_string()),
        "{roles:?}"
    );
    // A new label shows up without a restart.
    cluster.kubectl(&["label", "namespace", "tenant-a", "palisade-test=yes"]);
    eventually("label in the cache", WAIT, || {
        let labels = view.namespace_labels("tenant-a")?;
        (labels.get("palisade-test").map(String::as_str) == Some("yes")).then_some(())
    })
    .await;
}

/// Short-lived certificates: the serving certificate is renewed, the CA rotated, and while
/// the new CA's certificate is served the published bundle still trusts the old CA.
async fn rotation(cluster: &Cluster) {
    use palisade_kube::tls::{inspect, split_bundle};
    let ns = "palisade-rotation";
    cluster.kubectl(&["create", "namespace", ns]);
    let client = palisade_kube::client(Some(&cluster.kubeconfig))
        .await
        .unwrap();
    let mut opts = options(ns);
    opts.validating_name = "palisade-rotation-validating".into();
    opts.mutating_name = "palisade-rotation-mutating".into();
    if let palisade_kube::TlsMode::Generate(s) = &mut opts.tls {
        s.ca_validity_secs = 45;
        s.cert_validity_secs = 15;
    }
    let running = Running::start(client, opts);
    running.wait_ready("ready").await;
    let Running { sink, task, .. } = running;
    let first_issuer = inspect(&sink.certs()[0]).unwrap().issuer;
    let (served, published) = eventually("CA rotation", Duration::from_secs(180), || {
        let certs = sink.certs();
        let last = inspect(certs.last()?).ok()?;
        if last.issuer == first_issuer {
            return None;
        }
        let vwc = cluster.get_json(&[
            "validatingwebhookconfiguration",
            "palisade-rotation-validating",
        ])?;
        let hook = vwc["webhooks"].as_array()?.first()?.clone();
        use base64::Engine as _;
        let b64 = hook["clientConfig"]["caBundle"].as_str()?;
        let pem =
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).ok()?).ok()?;
        let subjects: Vec<Vec<u8>> = split_bundle(&pem)
            .iter()
            .filter_map(|c| inspect(c).ok())
            .map(|i| i.subject)
            .collect();
        (subjects.len() == 2).then_some((last, subjects))
    })
    .await;
    assert!(
        sink.certs().len() >= 3,
        "serving renewals before the CA rotation"
    );
    assert_eq!(published[0], served.issuer, "the new CA comes first");
    assert_eq!(published[1], first_issuer, "the old CA is still trusted");
    task.abort();
}
