//! The admission endpoints: body → AdmissionReview → bounded evaluation → AdmissionReview.
//!
//! Every request that decodes gets an AdmissionReview back. Bodies that are too large or are
//! not an AdmissionReview get a 413 or 400 with a plain message (there is no uid to answer).
//! Evaluation runs on the blocking pool under a semaphore (so the async workers keep
//! accepting and answering), within a deadline derived from the API server's `?timeout=`.
//! A request waiting for a slot holds only its body: the decode (once per request), several
//! times the body's size in memory, happens once the slot is granted, and a body that is not
//! an AdmissionReview is answered 400 then. Only a request answered without evaluation (a
//! missed deadline) has its uid read from the body separately.
//! When the deadline passes first, the answer follows the webhook's failure policy: `/…/ignore`
//! paths admit with a warning, every other path denies (Kyverno's default `Fail`).
//! `/…/fail` and `/…/ignore` evaluate only the policies of their failure policy.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use palisade_admission::{
    AdmissionRequest, AdmissionResponse, AdmissionReview, FailurePolicy, Phase, UpdateRequestSpec,
    Verdict, review_for, update_requests,
};
use tokio::time::timeout_at;

use crate::state::ServerState;

/// Which policies an endpoint evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every policy (`/validate`, `/mutate`: file mode); a deadline overrun denies.
    All,
    /// Only the policies of this failure policy (the cluster's `-fail` and `-ignore`
    /// webhooks); a deadline overrun answers as the failure policy says.
    Only(FailurePolicy),
}

impl Scope {
    fn only(self) -> Option<FailurePolicy> {
        match self {
            Scope::All => None,
            Scope::Only(f) => Some(f),
        }
    }

    fn on_timeout(self) -> FailurePolicy {
        self.only().unwrap_or(FailurePolicy::Fail)
    }
}

/// Handles one admission call.
pub async fn admit(
    state: ServerState,
    phase: Phase,
    scope: Scope,
    uri: Uri,
    body: Body,
) -> Response {
    // Cluster mode serves before the policies are loaded: a 503 until then makes the API
    // server apply the webhook's failurePolicy, so Fail policies are never bypassed at start.
    if !state.cache.is_loaded() {
        state.metrics.error("not_loaded");
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "policies are not loaded yet".into(),
        );
    }
    let start = Instant::now();
    let budget = state.limits.budget(crate::timeout::from_query(uri.query()));
    let deadline = tokio::time::Instant::from_std(start + budget);
    // A client that sends its body slowly gets no more time than its deadline.
    let bytes = match timeout_at(deadline, read_body(body, state.limits.max_body_bytes)).await {
        Ok(Ok(b)) => b,
        Ok(Err(resp)) => {
            state.metrics.error("too_large");
            return resp;
        }
        Err(_) => {
            state.metrics.error("deadline");
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive before the deadline".to_string(),
            );
        }
    };
    state.metrics.in_flight(1);
    let answer = evaluate(&state, bytes, phase, scope, start, deadline, budget).await;
    state.metrics.in_flight(-1);
    answer
}

fn bad_request(state: &ServerState, e: &palisade_admission::ReviewError) -> Response {
    state.metrics.error("bad_request");
    tracing::warn!(error = %e, "rejected a request that is not an AdmissionReview");
    plain(StatusCode::BAD_REQUEST, e.to_string())
}

/// The uid of a request answered without evaluation (a missed deadline, an internal error).
/// Only these slow paths read it from the body; an evaluated request is decoded once, on the
/// blocking pool, where its uid comes with it.
fn uid_of(state: &ServerState, bytes: &[u8]) -> Result<String, Box<Response>> {
    AdmissionReview::peek_uid(bytes).map_err(|e| Box::new(bad_request(state, &e)))
}

/// Waits for an evaluation slot, then decodes and evaluates, all within the deadline.
async fn evaluate(
    state: &ServerState,
    bytes: Bytes,
    phase: Phase,
    scope: Scope,
    start: Instant,
    deadline: tokio::time::Instant,
    budget: std::time::Duration,
) -> Response {
    let on_timeout = scope.on_timeout();
    let Ok(permit) = timeout_at(deadline, state.limits.permits.clone().acquire_owned()).await
    else {
        return match uid_of(state, &bytes) {
            Ok(uid) => deadline_passed(state, &uid, phase, on_timeout, budget),
            Err(bad) => *bad,
        };
    };
    let Ok(permit) = permit else {
        state.metrics.error("internal");
        let uid = match uid_of(state, &bytes) {
            Ok(uid) => uid,
            Err(bad) => return *bad,
        };
        return answer(AdmissionResponse::deny(
            &uid,
            500,
            "InternalError",
            "palisade is shutting down",
        ));
    };
    let job = Job {
        set: state.cache.snapshot(),
        env: state.env.clone(),
        phase,
        only: scope.only(),
        records: state.background.is_some() && phase == Phase::Validate,
        reports: state.reports.is_some() && phase == Phase::Validate,
    };
    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
    let inline = state.limits.inline.allows(bytes.len(), remaining);
    let evaluated = Instant::now();
    let outcome = if inline {
        // In place (see `crate::inline`): the slot is held until the evaluation ends, and a
        // panic still gets the answer a failed pool task gets.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&bytes)));
        drop(permit);
        Ok(ran.map_err(|_| "the evaluation panicked".to_string()))
    } else {
        // Kept for the deadline answer: the body moves into the evaluation, which may outlive it.
        let body = bytes.clone();
        let task = tokio::task::spawn_blocking(move || {
            // The permit lives as long as the evaluation, even one whose caller gave up waiting.
            let _permit = permit;
            job.run(&body)
        });
        timeout_at(deadline, task)
            .await
            .map(|joined| joined.map_err(|e| e.to_string()))
    };
    match outcome {
        Ok(Ok(Ok(Evaluated {
            verdict,
            request,
            work,
            report,
        }))) => {
            state.limits.inline.record(evaluated.elapsed());
            let mut response = verdict.response(&request.uid);
            if let Some(recorder) = state.background.as_ref().filter(|_| !work.is_empty()) {
                record(state, recorder, &work, deadline, &mut response).await;
            }
            // Written after answering; a full queue drops it (counted), which only delays the
            // rows to the object's next admission.
            if let (Some(writer), Some(report)) = (state.reports.as_ref(), report)
                && !writer.submit(report)
            {
                state.metrics.error("admission_report");
            }
            let took = start.elapsed();
            log(&request, phase, &verdict, took);
            state.metrics.observe(
                phase,
                &request.operation,
                &request.kind.kind,
                &verdict,
                took,
            );
            answer(response)
        }
        Ok(Ok(Err(e))) => bad_request(state, &e),
        Ok(Err(failure)) => {
            state.metrics.error("internal");
            let uid = match uid_of(state, &bytes) {
                Ok(uid) => uid,
                Err(bad) => return *bad,
            };
            tracing::error!(%uid, error = %failure, "evaluation failed");
            answer(AdmissionResponse::deny(
                &uid,
                500,
                "InternalError",
                "palisade could not evaluate the request",
            ))
        }
        Err(_) => {
            // The evaluation goes on without us; its time still counts towards the mean.
            state.limits.inline.record(evaluated.elapsed());
            let uid = match uid_of(state, &bytes) {
                Ok(uid) => uid,
                Err(bad) => return *bad,
            };
            state.metrics.error("deadline");
            tracing::warn!(%uid, budget_ms = budget.as_millis() as u64, "evaluation deadline exceeded");
            timeout_answer(&uid, on_timeout, budget)
        }
    }
}

/// What an evaluation needs besides the body; it runs in place or on the blocking pool.
struct Job {
    set: std::sync::Arc<palisade_admission::PolicySet>,
    env: std::sync::Arc<palisade_admission::ReviewEnv>,
    phase: Phase,
    only: Option<FailurePolicy>,
    /// Collect the background work of an admitted request (cluster mode, validation).
    records: bool,
    /// Build the admission report (cluster mode, validation).
    reports: bool,
}

/// An evaluated request.
struct Evaluated {
    verdict: Verdict,
    request: AdmissionRequest,
    work: Vec<UpdateRequestSpec>,
    report: Option<palisade_kube::admissionreport::AdmissionReportSpec>,
}

impl Job {
    /// Decodes the body (once per request) and reviews it.
    fn run(self, body: &[u8]) -> Result<Evaluated, palisade_admission::ReviewError> {
        let mut request = AdmissionReview::from_slice(body)?;
        let verdict = review_for(&self.set, &mut request, self.phase, self.only, &self.env);
        // Background work is recorded by the endpoint that serves its policy, so a request
        // sent to both the Fail and the Ignore webhook records it once.
        let work = if self.records && verdict.allowed {
            update_requests(&self.set, &request, self.only, &self.env)
        } else {
            Vec::new()
        };
        let report = self
            .reports
            .then(|| crate::reports::admission_report(&self.set, &request, &verdict))
            .flatten();
        Ok(Evaluated {
            verdict,
            request,
            work,
            report,
        })
    }
}

/// Persists the background work of an admitted request before answering, so that it survives
/// a restart of the webhook or the controller. A failure does not deny the request (the
/// policies admitted it); it is logged, counted and returned as a warning.
async fn record(
    state: &ServerState,
    recorder: &palisade_kube::updaterequest::Recorder,
    work: &[UpdateRequestSpec],
    deadline: tokio::time::Instant,
    response: &mut AdmissionResponse,
) {
    let error = match timeout_at(deadline, recorder.record(work)).await {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e,
        Err(_) => "the deadline passed".to_string(),
    };
    state.metrics.error("update_request");
    tracing::error!(uid = %response.uid, error = %error, "cannot record background work (generate, mutate-existing)");
    response.warnings.push(format!(
        "palisade could not record the generate or mutate-existing work of this request: {error}"
    ));
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {limit} bytes"),
            )
        } else {
            plain(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {e}"),
            )
        }
    })
}

fn deadline_passed(
    state: &ServerState,
    uid: &str,
    phase: Phase,
    on_timeout: FailurePolicy,
    budget: std::time::Duration,
) -> Response {
    state.metrics.error("deadline");
    tracing::warn!(
        %uid,
        phase = phase.as_str(),
        "no evaluation slot before the deadline"
    );
    timeout_answer(uid, on_timeout, budget)
}

fn timeout_answer(uid: &str, on_timeout: FailurePolicy, budget: std::time::Duration) -> Response {
    let secs = budget.as_secs_f64();
    match on_timeout {
        FailurePolicy::Ignore => {
            let mut r = AdmissionResponse::allow(uid);
            r.warnings.push(format!(
                "palisade could not evaluate the request within {secs:.1}s; admitted because the webhook's failurePolicy is Ignore"
            ));
            answer(r)
        }
        FailurePolicy::Fail => answer(AdmissionResponse::deny(
            uid,
            504,
            "Timeout",
            format!(
                "palisade could not evaluate the request within {secs:.1}s; denied because the webhook's failurePolicy is Fail"
            ),
        )),
    }
}

fn log(request: &AdmissionRequest, phase: Phase, verdict: &Verdict, took: std::time::Duration) {
    let r = request.resource();
    let name = r
        .pointer("/metadata/name")
        .and_then(|v| v.as_str())
        .unwrap_or(&request.name);
    macro_rules! event {
        ($level:expr) => {
            tracing::event!(
                $level,
                uid = %request.uid,
                kind = %request.kind.kind,
                namespace = %request.namespace,
                name = %name,
                operation = %request.operation,
                phase = phase.as_str(),
                allowed = verdict.allowed,
                duration_us = took.as_micros() as u64,
                "admission review"
            )
        };
    }
    // Denials are rare and interesting; admissions are logged only when debugging.
    if verdict.allowed {
        event!(tracing::Level::DEBUG);
    } else {
        event!(tracing::Level::INFO);
    }
}

fn answer(response: AdmissionResponse) -> Response {
    match serde_json::to_vec(&AdmissionReview::respond(response)) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn plain(code: StatusCode, message: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message + "\n",
    )
        .into_response()
}
