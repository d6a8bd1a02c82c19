//! The real server in-process on 127.0.0.1:0 with real TLS (rcgen CA and certificate),
//! called over HTTPS with AdmissionReviews.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use palisade_admission::{PolicySet, load_dir};
use palisade_webhook::certs::{TestPki, self_signed};
use palisade_webhook::client::{Connection, tls_config};
use palisade_webhook::inline::InlineGate;
use palisade_webhook::{Limits, RunningServer, ServerState, start};
use rustls::pki_types::pem::PemObject;
use serde_json::Value;
use tokio::sync::Semaphore;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo("crates/palisade-admission/tests/data").join(name)).unwrap()
}

fn limits(max_body_bytes: usize, concurrency: usize) -> Limits {
    Limits {
        max_body_bytes,
        permits: Arc::new(Semaphore::new(concurrency)),
        max_connections: 64,
        default_timeout: Duration::from_secs(10),
        margin: Duration::from_millis(0),
        shutdown_grace: Duration::from_secs(30),
        inline: InlineGate::default(),
    }
}

struct Harness {
    server: RunningServer,
    state: ServerState,
    pki: TestPki,
}

impl Harness {
    async fn start(set: Option<PolicySet>, limits: Limits) -> Harness {
        let pki = self_signed(&["localhost", "127.0.0.1"]).unwrap();
        let state = ServerState::new(limits);
        state.certs.install(&pki.cert_pem, &pki.key_pem).unwrap();
        if let Some(set) = set {
            state.cache.replace(set);
            state.ready.store(true, Ordering::Release);
        }
        let server = start(state.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Harness { server, state, pki }
    }

    async fn connect(&self) -> Connection {
        self.connect_trusting(&[&self.pki.ca_pem]).await
    }

    async fn connect_trusting(&self, cas: &[&str]) -> Connection {
        let bundle = cas.concat();
        Connection::open(
            self.server.addr,
            "localhost",
            tls_config(bundle.as_bytes()).unwrap(),
        )
        .await
        .unwrap()
    }
}

fn baseline() -> PolicySet {
    load_dir(&[repo("policies/pod-security/baseline")]).unwrap()
}

fn response(body: &Value) -> &Value {
    &body["response"]
}

#[tokio::test]
async fn privileged_pod_is_denied_and_compliant_pod_admitted_over_https() {
    let h = Harness::start(Some(baseline()), limits(1 << 20, 2)).await;
    let mut c = h.connect().await;
    let answer = c
        .post(
            "/validate?timeout=10s",
            fixture("privileged-pod-create.json"),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let body = answer.json().unwrap();
    assert_eq!(body["kind"], "AdmissionReview");
    assert_eq!(response(&body)["allowed"], false);
    assert_eq!(
        response(&body)["uid"],
        "11111111-0000-0000-0000-000000000001"
    );
    let message = response(&body)["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("resource Pod/tenant-a/attack was blocked due to the following policies"),
        "{message}"
    );
    assert!(
        message.contains("disallow-privileged-containers:"),
        "{message}"
    );
    // The same connection serves the next request (keep-alive).
    let body = c
        .post("/validate", fixture("compliant-pod-create.json"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], true);
}

#[tokio::test]
async fn audit_policies_admit_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let src = repo(
        "policies/pod-security/baseline/disallow-privileged-containers/disallow-privileged-containers.yaml",
    );
    let text = std::fs::read_to_string(src)
        .unwrap()
        .replace("failureAction: Enforce", "failureAction: Audit");
    std::fs::write(dir.path().join("audit.yaml"), text).unwrap();
    let h = Harness::start(
        Some(load_dir(&[dir.path().to_path_buf()]).unwrap()),
        limits(1 << 20, 2),
    )
    .await;
    let mut c = h.connect().await;
    let body = c
        .post("/validate", fixture("privileged-pod-create.json"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], true);
    let warnings = response(&body)["warnings"].as_array().unwrap();
    assert!(
        warnings[0].as_str().unwrap().starts_with(
            "policy disallow-privileged-containers.privileged-containers: validation error"
        ),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn mutation_answers_with_a_json_patch() {
    let set = load_dir(&[repo("policies/multi-tenancy/add-default-security-context")]).unwrap();
    let h = Harness::start(Some(set), limits(1 << 20, 2)).await;
    let mut c = h.connect().await;
    let answer = c
        .post("/mutate", fixture("plain-pod-create.json"))
        .await
        .unwrap();
    let review: palisade_admission::AdmissionReview = serde_json::from_slice(&answer.body).unwrap();
    let r = review.response.unwrap();
    assert!(r.allowed);
    assert_eq!(r.patch_type.as_deref(), Some("JSONPatch"));
    let patch = r.decoded_patch().unwrap();
    assert!(
        patch
            .as_array()
            .unwrap()
            .iter()
            .any(|op| op["path"] == "/spec/securityContext/runAsNonRoot"
                || op["path"] == "/spec/securityContext"),
        "{patch}"
    );
}

#[tokio::test]
async fn metrics_count_requests_results_and_the_cache() {
    let h = Harness::start(Some(baseline()), limits(1 << 20, 2)).await;
    let mut c = h.connect().await;
    c.post("/validate", fixture("privileged-pod-create.json"))
        .await
        .unwrap();
    c.post("/validate", fixture("compliant-pod-create.json"))
        .await
        .unwrap();
    let text = c.get("/metrics").await.unwrap().text();
    for want in [
        r#"palisade_admission_requests_total{resource_request_operation="CREATE",resource_kind="Pod",request_allowed="false",phase="validate"} 1"#,
        r#"palisade_admission_requests_total{resource_request_operation="CREATE",resource_kind="Pod",request_allowed="true",phase="validate"} 1"#,
        r#"palisade_policy_results_total{policy_name="disallow-privileged-containers",rule_name="privileged-containers",rule_result="fail",rule_type="validate",resource_request_operation="CREATE"} 1"#,
        "palisade_admission_review_duration_seconds_bucket{",
        "palisade_policy_cache_size 12",
    ] {
        assert!(text.contains(want), "missing {want}\n{text}");
    }
}

#[tokio::test]
async fn readiness_waits_for_policies_and_the_ready_flag() {
    let h = Harness::start(None, limits(1 << 20, 2)).await;
    let mut c = h.connect().await;
    assert_eq!(c.get("/health/liveness").await.unwrap().status, 200);
    let not_ready = c.get("/health/readiness").await.unwrap();
    assert_eq!(not_ready.status, 503);
    assert!(not_ready.text().contains("policies not loaded"));
    h.state.cache.replace(baseline());
    let waiting = c.get("/health/readiness").await.unwrap();
    assert_eq!(waiting.status, 503);
    assert!(waiting.text().contains("webhook configuration"));
    h.state.ready.store(true, Ordering::Release);
    assert_eq!(c.get("/health/readiness").await.unwrap().status, 200);
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let h = Harness::start(Some(baseline()), limits(4096, 2)).await;
    let mut c = h.connect().await;
    // (path, body, status, text in the answer)
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "/validate",
            b"not json".to_vec(),
            400,
            "not a valid AdmissionReview",
        ),
        (
            "/validate",
            b"{}".to_vec(),
            400,
            "expected apiVersion admission.k8s.io/v1",
        ),
        ("/nowhere", b"{}".to_vec(), 404, "no such endpoint"),
    ];
    for (path, body, status, text) in cases {
        let answer = c.post(path, body).await.unwrap();
        assert_eq!(answer.status, status, "{path}: {}", answer.text());
        assert!(answer.text().contains(text), "{path}: {}", answer.text());
    }
    let too_large = h
        .connect()
        .await
        .post("/validate", vec![b' '; 8192])
        .await
        .unwrap();
    assert_eq!(too_large.status, 413);
    assert!(
        too_large.text().contains("larger than 4096 bytes"),
        "{}",
        too_large.text()
    );
    let mut c = h.connect().await;
    assert_eq!(c.get("/validate").await.unwrap().status, 405);
    // A decodable request without the object it needs is answered as an AdmissionReview.
    let body = c
        .post("/validate", fixture("malformed-object.json"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], false);
    assert_eq!(response(&body)["status"]["code"], 400);
    let text = c.get("/metrics").await.unwrap().text();
    assert!(
        text.contains(r#"palisade_admission_errors_total{reason="bad_request"} 2"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_missed_deadline_follows_the_failure_policy() {
    let h = Harness::start(Some(baseline()), limits(1 << 20, 1)).await;
    // Hold the only evaluation slot so requests wait until their deadline.
    let held = h
        .state
        .limits
        .permits
        .clone()
        .acquire_owned()
        .await
        .unwrap();
    let mut c = h.connect().await;
    let body = c
        .post(
            "/validate/fail?timeout=200ms",
            fixture("compliant-pod-create.json"),
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], false);
    assert_eq!(response(&body)["status"]["reason"], "Timeout");
    let body = c
        .post(
            "/validate/ignore?timeout=200ms",
            fixture("privileged-pod-create.json"),
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], true);
    assert!(
        response(&body)["warnings"][0]
            .as_str()
            .unwrap()
            .contains("failurePolicy is Ignore")
    );
    drop(held);
    let body = c
        .post(
            "/validate?timeout=10s",
            fixture("privileged-pod-create.json"),
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], false);
    assert!(
        response(&body)["status"]["message"]
            .as_str()
            .unwrap()
            .contains("was blocked")
    );
}

#[tokio::test]
async fn certificates_rotate_without_dropping_connections() {
    let h = Harness::start(Some(baseline()), limits(1 << 20, 2)).await;
    let next = self_signed(&["localhost"]).unwrap();
    let trust = [h.pki.ca_pem.as_str(), next.ca_pem.as_str()];
    let mut before = h.connect_trusting(&trust).await;
    h.state
        .certs
        .install(&next.cert_pem, &next.key_pem)
        .unwrap();
    let mut after = h.connect_trusting(&trust).await;
    assert_ne!(before.peer_certificate, after.peer_certificate);
    let next_der =
        rustls::pki_types::CertificateDer::from_pem_slice(next.cert_pem.as_bytes()).unwrap();
    assert_eq!(after.peer_certificate, next_der.as_ref());
    // The connection made before the rotation still works.
    for c in [&mut before, &mut after] {
        let body = c
            .post("/validate", fixture("compliant-pod-create.json"))
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(response(&body)["allowed"], true);
    }
    // A client that trusts only the old CA can no longer connect.
    let old_only = tls_config(h.pki.ca_pem.as_bytes()).unwrap();
    assert!(
        Connection::open(h.server.addr, "localhost", old_only)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn certificate_files_are_reloaded_when_they_change() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let h = Harness::start(Some(baseline()), limits(1 << 20, 2)).await;
    std::fs::write(&cert, &h.pki.cert_pem).unwrap();
    std::fs::write(&key, &h.pki.key_pem).unwrap();
    tokio::spawn(palisade_webhook::tls::watch_files(
        h.state.certs.clone(),
        cert.clone(),
        key.clone(),
        Duration::from_millis(20),
    ));
    let next = self_signed(&["localhost"]).unwrap();
    std::fs::write(&cert, &next.cert_pem).unwrap();
    std::fs::write(&key, &next.key_pem).unwrap();
    let next_der =
        rustls::pki_types::CertificateDer::from_pem_slice(next.cert_pem.as_bytes()).unwrap();
    let trust = [h.pki.ca_pem.as_str(), next.ca_pem.as_str()];
    // Poll until the watcher has installed the new pair (it checks every 20 ms).
    let mut seen = Vec::new();
    for _ in 0..500 {
        seen = h.connect_trusting(&trust).await.peer_certificate;
        if seen == next_der.as_ref() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, next_der.as_ref());
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    let h = Harness::start(Some(baseline()), limits(1 << 20, 1)).await;
    let held = h
        .state
        .limits
        .permits
        .clone()
        .acquire_owned()
        .await
        .unwrap();
    let mut c = h.connect().await;
    let in_flight = tokio::spawn(async move {
        c.post(
            "/validate?timeout=30s",
            fixture("privileged-pod-create.json"),
        )
        .await
        .unwrap()
        .json()
        .unwrap()
    });
    // Wait until the request is queued on the evaluation slot.
    while h.state.metrics.in_flight_now() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    h.server.shutdown(Duration::from_secs(30));
    drop(held);
    let body = in_flight.await.unwrap();
    assert_eq!(response(&body)["allowed"], false);
    assert!(
        response(&body)["status"]["message"]
            .as_str()
            .unwrap()
            .contains("was blocked")
    );
    let addr = h.server.addr;
    h.server.wait().await.unwrap();
    let refused = Connection::open(
        addr,
        "localhost",
        tls_config(h.pki.ca_pem.as_bytes()).unwrap(),
    )
    .await;
    assert!(refused.is_err());
}

/// A ClusterPolicy on ConfigMaps whose rule requires `label`; with `erroring`, the rule
/// reads a ConfigMap that file mode cannot look up, so it ends in an error.
fn configmap_policy(
    name: &str,
    failure: &str,
    label: &str,
    erroring: bool,
) -> palisade_admission::Entry {
    let mut rule = serde_json::json!({
        "name": "needs-label",
        "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
        "validate": {
            "message": format!("label {label} is required"),
            "pattern": {"metadata": {"labels": {label: "?*"}}}
        }
    });
    if erroring {
        rule["context"] =
            serde_json::json!([{"name": "cm", "configMap": {"name": "x", "namespace": "y"}}]);
        rule["validate"] = serde_json::json!({
            "message": "lookup",
            "deny": {"conditions": {"any": [{"key": "{{ cm.data.a }}", "operator": "Equals", "value": "b"}]}}
        });
    }
    let doc = serde_json::json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": name},
        "spec": {"validationFailureAction": "Enforce", "background": false,
            "failurePolicy": failure, "rules": [rule]}
    });
    palisade_admission::compile_document(name, 0, &doc).unwrap()
}

fn configmap_create() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "cm-1", "operation": "CREATE",
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "resource": {"group": "", "version": "v1", "resource": "configmaps"},
            "namespace": "tenant-a", "name": "settings",
            "object": {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "tenant-a"}}}
    }))
    .unwrap()
}

#[tokio::test]
async fn each_failure_policy_endpoint_evaluates_only_its_own_policies() {
    let set = PolicySet::new([
        configmap_policy("fail-policy", "Fail", "owner", false),
        configmap_policy("ignore-policy", "Ignore", "team", false),
    ]);
    let h = Harness::start(Some(set), limits(1 << 20, 2)).await;
    let mut c = h.connect().await;
    let mut message = async |path: &str| {
        let body = c
            .post(path, configmap_create())
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(response(&body)["allowed"], false, "{path}: {body}");
        response(&body)["status"]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let fail = message("/validate/fail").await;
    assert!(
        fail.contains("fail-policy") && !fail.contains("ignore-policy"),
        "{fail}"
    );
    let ignore = message("/validate/ignore").await;
    assert!(
        ignore.contains("ignore-policy") && !ignore.contains("fail-policy"),
        "{ignore}"
    );
    // File mode's plain endpoint has no webhook split: it evaluates everything.
    let all = message("/validate").await;
    assert!(
        all.contains("ignore-policy") && all.contains("fail-policy"),
        "{all}"
    );
    let text = c.get("/metrics").await.unwrap().text();
    for policy in ["fail-policy", "ignore-policy"] {
        let want = format!(
            r#"palisade_policy_results_total{{policy_name="{policy}",rule_name="needs-label",rule_result="fail",rule_type="validate",resource_request_operation="CREATE"}} 2"#
        );
        assert!(text.contains(&want), "missing {want}\n{text}");
    }
}

#[tokio::test]
async fn an_ignore_policys_error_never_fails_a_request_closed() {
    let set = PolicySet::new([
        configmap_policy("fail-errors", "Fail", "", true),
        configmap_policy("ignore-errors", "Ignore", "", true),
    ]);
    let h = Harness::start(Some(set), limits(1 << 20, 2)).await;
    let mut c = h.connect().await;
    let body = c
        .post("/validate/ignore", configmap_create())
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], true, "{body}");
    let warnings = response(&body)["warnings"].to_string();
    assert!(warnings.contains("ignore-errors"), "{warnings}");
    assert!(!warnings.contains("fail-errors"), "{warnings}");
    let body = c
        .post("/validate/fail", configmap_create())
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], false, "{body}");
    let message = response(&body)["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("fail-errors") && !message.contains("ignore-errors"),
        "{message}"
    );
}

#[tokio::test]
async fn a_pod_exec_policy_denies_kubectl_exec() {
    let doc = serde_json::json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "deny-exec"},
        "spec": {"validationFailureAction": "Enforce", "background": false, "rules": [{
            "name": "no-shells",
            "match": {"any": [{"resources": {"kinds": ["Pod/exec"], "operations": ["CONNECT"],
                "namespaces": ["tenant-a"]}}]},
            "validate": {
                "message": "exec into {{ request.name }} is not allowed",
                "deny": {"conditions": {"all": [
                    {"key": "{{ request.object.container }}", "operator": "Equals", "value": "app"}
                ]}}
            }
        }]}
    });
    let set = PolicySet::new([palisade_admission::compile_document("p", 0, &doc).unwrap()]);
    let h = Harness::start(Some(set), limits(1 << 20, 2)).await;
    let mut c = h.connect().await;
    let body = c
        .post("/validate/fail", fixture("pod-exec-connect.json"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], false, "{body}");
    let message = response(&body)["status"]["message"].as_str().unwrap();
    assert!(message.contains("deny-exec:"), "{message}");
    assert!(
        message.contains("exec into web is not allowed"),
        "{message}"
    );
    // The same policy leaves Pod creation alone.
    let body = c
        .post("/validate/fail", fixture("privileged-pod-create.json"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(response(&body)["allowed"], true, "{body}");
}

#[tokio::test]
async fn mutating_policies_patch_at_admission() {
    let mpol = |name: &str, failure: &str, expression: &str| {
        let doc = serde_json::json!({
            "apiVersion": "policies.kyverno.io/v1", "kind": "MutatingPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": failure,
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["pods"]}]},
                "mutations": [{"patchType": "ApplyConfiguration",
                    "applyConfiguration": {"expression": expression}}]
            }
        });
        palisade_admission::compile_document(name, 0, &doc).unwrap()
    };
    let set = PolicySet::new([
        mpol(
            "add-team-label",
            "Fail",
            "Object{metadata: Object.metadata{labels: {'team': 'a'}}}",
        ),
        // Runs on the first one's result.
        mpol(
            "copy-team-label",
            "Ignore",
            "Object{metadata: Object.metadata{annotations: {'team': object.metadata.labels['team']}}}",
        ),
    ]);
    let h = Harness::start(Some(set), limits(1 << 20, 2)).await;
    let mut c = h.connect().await;
    let patched = async |c: &mut Connection, path: &str| {
        let answer = c
            .post(path, fixture("plain-pod-create.json"))
            .await
            .unwrap();
        let review: palisade_admission::AdmissionReview =
            serde_json::from_slice(&answer.body).unwrap();
        let r = review.response.unwrap();
        assert!(r.allowed, "{path}: {r:?}");
        let mut pod: Value = serde_json::from_slice::<Value>(&fixture("plain-pod-create.json"))
            .unwrap()["request"]["object"]
            .clone();
        if let Some(patch) = r.decoded_patch() {
            let patch = palisade_patch::json6902::Patch::from_value(&patch).unwrap();
            pod = patch.apply(&pod).unwrap();
        }
        pod
    };
    let pod = patched(&mut c, "/mutate").await;
    assert_eq!(pod["metadata"]["labels"]["team"], "a", "{pod}");
    assert_eq!(pod["metadata"]["annotations"]["team"], "a", "{pod}");
    // Behind the cluster's webhooks each applies only its own failure policy's.
    let pod = patched(&mut c, "/mutate/fail").await;
    assert_eq!(pod["metadata"]["labels"]["team"], "a", "{pod}");
    assert!(
        pod["metadata"]["annotations"].get("team").is_none(),
        "{pod}"
    );
    let text = c.get("/metrics").await.unwrap().text();
    assert!(
        text.contains(
            r#"policy_name="add-team-label",rule_name="",rule_result="pass",rule_type="mutate""#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn connections_past_the_bound_wait_for_a_free_slot() {
    let mut bounded = limits(1 << 20, 2);
    bounded.max_connections = 1;
    let h = Harness::start(Some(baseline()), bounded).await;
    let mut first = h.connect().await;
    assert_eq!(first.get("/health/liveness").await.unwrap().status, 200);
    let addr = h.server.addr;
    let config = tls_config(h.pki.ca_pem.as_bytes()).unwrap();
    let second = tokio::spawn(async move {
        let mut c = Connection::open(addr, "localhost", config).await.unwrap();
        c.post("/validate", fixture("compliant-pod-create.json"))
            .await
            .unwrap()
            .json()
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second connection was served past the bound"
    );
    // The first keeps being served meanwhile; closing it lets the second through.
    assert_eq!(first.get("/health/liveness").await.unwrap().status, 200);
    drop(first);
    let body = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response(&body)["allowed"], true);
}

#[tokio::test]
async fn evaluations_in_place_and_on_the_pool_answer_alike() {
    let pool = Limits {
        inline: InlineGate::never(),
        ..limits(1 << 20, 2)
    };
    let in_place = Harness::start(Some(baseline()), limits(1 << 20, 2)).await;
    let on_pool = Harness::start(Some(baseline()), pool).await;
    let (mut a, mut b) = (in_place.connect().await, on_pool.connect().await);
    let cases = [
        ("/validate?timeout=10s", "privileged-pod-create.json"),
        ("/validate?timeout=10s", "compliant-pod-create.json"),
        ("/validate/ignore?timeout=10s", "privileged-pod-update.json"),
        ("/mutate?timeout=10s", "compliant-pod-create.json"),
        // Too close to its deadline to run in place: the gate sends it to the pool.
        ("/validate?timeout=50ms", "privileged-pod-create.json"),
        ("/validate", "malformed-object.json"),
    ];
    for (path, name) in cases {
        let x = a.post(path, fixture(name)).await.unwrap();
        let y = b.post(path, fixture(name)).await.unwrap();
        assert_eq!((x.status, &x.body), (y.status, &y.body), "{path} {name}");
    }
    let not_a_review = a.post("/validate", "{}").await.unwrap();
    assert_eq!(not_a_review.status, 400);
    assert!(in_place.state.limits.inline.mean() > Duration::ZERO);
}
