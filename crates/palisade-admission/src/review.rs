//! [`review`]: one AdmissionRequest against one policy set, without I/O.
//!
//! Request handling, following Kyverno's resource webhooks:
//! - Requests are checked first: an unknown operation, or a request without the object it
//!   needs (CREATE/UPDATE/CONNECT need `object`, DELETE needs `oldObject`), or an object that
//!   is not a JSON object, is denied with code 400 (Kyverno answers an unparsable resource
//!   with a failure response too).
//! - DELETE: the mutate phase admits unchanged; the validate phase evaluates the old object
//!   (rules see `request.object` as null and match `request.oldObject`).
//! - Dry-run requests are evaluated exactly like others; the verdict is marked so that
//!   reports can skip them, as Kyverno skips admission reports for dry runs.
//! - Subresources (`pods/status`, `pods/ephemeralcontainers`, `deployments/scale`,
//!   `pods/exec`): as in Kyverno, matching uses the kind of the request's resource (`Pod` for
//!   `pods/…`) with the subresource, so only rules whose kinds name it (`Pod/status`,
//!   `Pod/exec`, or `Pod` for ephemeralcontainers) apply, whatever object the request carries.
//!   A CONNECT (`kubectl exec`, `attach`, `port-forward`) carries the options object
//!   (`PodExecOptions`): rules see it as `request.object`, with the request's namespace, and
//!   read the Pod's name from `request.name`.
//! - Policies with `spec.admission: false` are skipped.
//! - [`review_for`] evaluates only the policies of one failure policy: the `/…/fail` and
//!   `/…/ignore` webhooks each serve their own policies (as Kyverno's per-failurePolicy
//!   webhooks do), so every policy is evaluated once per request and an `Ignore` policy's
//!   trouble never fails a request closed, nor a `Fail` policy's open.

use crate::env::ReviewEnv;
use crate::failure::FailurePolicy;
use crate::request::Shared;
use crate::set::PolicySet;
use crate::types::AdmissionRequest;
use crate::verdict::{Phase, Verdict};
use crate::{mutate, validate};

/// Reviews one request in one phase. Never panics and never blocks on I/O: cluster data comes
/// from `env`'s ports, which answer from memory. The request's objects are lent to the
/// evaluation (moved, not copied) and are back in place when it returns.
pub fn review(
    set: &PolicySet,
    req: &mut AdmissionRequest,
    phase: Phase,
    env: &ReviewEnv,
) -> Verdict {
    review_for(set, req, phase, None, env)
}

/// As [`review`], evaluating only the policies whose failure policy is `only` (every policy
/// when `None`).
pub fn review_for(
    set: &PolicySet,
    req: &mut AdmissionRequest,
    phase: Phase,
    only: Option<FailurePolicy>,
    env: &ReviewEnv,
) -> Verdict {
    if let Err(message) = check(req) {
        return Verdict::bad_request(message);
    }
    let mut verdict = Verdict::allow();
    verdict.dry_run = req.is_dry_run();
    let shared = Shared::asking_roles(req, env.cluster.as_ref(), set.needs_roles());
    match phase {
        Phase::Mutate => mutate::run(set, req, only, env, &shared, &mut verdict),
        Phase::Validate => validate::run(set, req, only, env, &shared, &mut verdict),
    }
    verdict
}

fn check(req: &AdmissionRequest) -> Result<(), String> {
    let needs_object = match req.operation.as_str() {
        "CREATE" | "UPDATE" | "CONNECT" => true,
        "DELETE" => false,
        other => return Err(format!("unsupported admission operation {other:?}")),
    };
    for (field, value) in [("object", &req.object), ("oldObject", &req.old_object)] {
        if !value.is_null() && !value.is_object() {
            return Err(format!(
                "failed to parse resource: request.{field} is not an object"
            ));
        }
    }
    if needs_object && !req.object.is_object() {
        return Err(format!(
            "failed to parse resource: a {} request must carry request.object",
            req.operation
        ));
    }
    if !needs_object && !req.old_object.is_object() && !req.object.is_object() {
        return Err(
            "failed to parse resource: a DELETE request must carry request.oldObject".into(),
        );
    }
    if req.operation == "UPDATE" && !req.old_object.is_object() {
        return Err(
            "failed to parse resource: an UPDATE request must carry request.oldObject".into(),
        );
    }
    Ok(())
}
