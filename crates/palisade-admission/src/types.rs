//! AdmissionReview `admission.k8s.io/v1` request and response types.
//!
//! Our own small serde types rather than kube's or k8s-openapi's, so this crate stays free of
//! the Kubernetes client stack. Every request field defaults when absent: the API server always
//! sends them, but a hostile or hand-written request must decode into something we can answer.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The API version of every AdmissionReview this crate reads and writes.
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// An AdmissionReview envelope: a request from the API server, or our response to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    /// `admission.k8s.io/v1`.
    #[serde(default)]
    pub api_version: String,
    /// `AdmissionReview`.
    #[serde(default)]
    pub kind: String,
    /// The request (set by the API server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<AdmissionRequest>,
    /// The response (set by the webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<AdmissionResponse>,
}

/// Why a request body is not an AdmissionReview we can answer.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The body is not JSON of the AdmissionReview shape.
    #[error("the request body is not a valid AdmissionReview: {0}")]
    Decode(#[from] serde_json::Error),
    /// Another apiVersion or kind.
    #[error(
        "expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got {api_version:?} {kind:?}"
    )]
    WrongType {
        /// The apiVersion sent.
        api_version: String,
        /// The kind sent.
        kind: String,
    },
    /// The envelope carries no request.
    #[error("the AdmissionReview has no request")]
    NoRequest,
    /// The request has no uid, so no response could be matched to it.
    #[error("the AdmissionReview request has no uid")]
    NoUid,
}

impl AdmissionReview {
    /// Decodes a request envelope and checks that it carries a request with a uid.
    pub fn from_slice(body: &[u8]) -> Result<AdmissionRequest, ReviewError> {
        let review: AdmissionReview = serde_json::from_slice(body)?;
        if review.api_version != API_VERSION || review.kind != "AdmissionReview" {
            return Err(ReviewError::WrongType {
                api_version: review.api_version,
                kind: review.kind,
            });
        }
        let request = review.request.ok_or(ReviewError::NoRequest)?;
        if request.uid.is_empty() {
            return Err(ReviewError::NoUid);
        }
        Ok(request)
    }

    /// Checks the envelope as [`AdmissionReview::from_slice`] does and returns the request's
    /// uid, without building the request: the objects are skipped, not allocated. A server
    /// can then hold only the body while a request waits for an evaluation slot, and decode it
    /// in full once it has one.
    pub fn peek_uid(body: &[u8]) -> Result<String, ReviewError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Envelope {
            #[serde(default)]
            api_version: String,
            #[serde(default)]
            kind: String,
            #[serde(default)]
            request: Option<UidOnly>,
        }
        #[derive(Deserialize)]
        struct UidOnly {
            #[serde(default)]
            uid: String,
        }
        let envelope: Envelope = serde_json::from_slice(body)?;
        if envelope.api_version != API_VERSION || envelope.kind != "AdmissionReview" {
            return Err(ReviewError::WrongType {
                api_version: envelope.api_version,
                kind: envelope.kind,
            });
        }
        let request = envelope.request.ok_or(ReviewError::NoRequest)?;
        if request.uid.is_empty() {
            return Err(ReviewError::NoUid);
        }
        Ok(request.uid)
    }

    /// The envelope for a response.
    pub fn respond(response: AdmissionResponse) -> AdmissionReview {
        AdmissionReview {
            api_version: API_VERSION.to_string(),
            kind: "AdmissionReview".to_string(),
            request: None,
            response: Some(response),
        }
    }
}

/// Group, version and kind (`request.kind`, `request.requestKind`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionKind {
    /// API group ("" for core).
    #[serde(default)]
    pub group: String,
    /// Version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
}

/// Group, version and resource (`request.resource`, `request.requestResource`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionResource {
    /// API group ("" for core).
    #[serde(default)]
    pub group: String,
    /// Version.
    #[serde(default)]
    pub version: String,
    /// Resource (plural, lower case).
    #[serde(default)]
    pub resource: String,
}

/// The requester, as the API server authenticated it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Extra attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// One admission request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Identifies this request; the response must echo it.
    #[serde(default)]
    pub uid: String,
    /// Kind of the object sent (e.g. `PodExecOptions` for `pods/exec`).
    #[serde(default)]
    pub kind: GroupVersionKind,
    /// The resource being accessed.
    #[serde(default)]
    pub resource: GroupVersionResource,
    /// The subresource, or "".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub_resource: String,
    /// Kind of the original request, before conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_kind: Option<GroupVersionKind>,
    /// Resource of the original request, before conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_resource: Option<GroupVersionResource>,
    /// Subresource of the original request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_sub_resource: Option<String>,
    /// Object name ("" for a CREATE with generateName).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace ("" for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// CREATE, UPDATE, DELETE or CONNECT.
    #[serde(default)]
    pub operation: String,
    /// The requester.
    #[serde(default)]
    pub user_info: UserInfo,
    /// The new object (absent for DELETE).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub object: Value,
    /// The existing object (UPDATE and DELETE).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub old_object: Value,
    /// True when the request will not be persisted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// The operation's options (CreateOptions, UpdateOptions, DeleteOptions).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub options: Value,
}

impl AdmissionRequest {
    /// True for a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    /// The object the request is about: the new object, or the old one for DELETE.
    pub fn resource(&self) -> &Value {
        if self.object.is_object() {
            &self.object
        } else {
            &self.old_object
        }
    }
}

/// The failure details of a denied request (`metav1.Status`, the fields webhooks set).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// HTTP-like code: 403 for a policy denial, 400 for a bad request, 500 for an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// The message the user sees (kubectl prints it after the webhook name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// A machine-readable reason (`Forbidden`, `BadRequest`, `InternalError`, `Timeout`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// `Failure` for a denial.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
}

/// The webhook's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid.
    pub uid: String,
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Why not (denials and errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Warnings kubectl shows to the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `JSONPatch` when a patch is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    /// The base64 RFC 6902 patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Annotations the API server adds to its audit event.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
}

impl AdmissionResponse {
    /// Admits the request.
    pub fn allow(uid: &str) -> AdmissionResponse {
        AdmissionResponse {
            uid: uid.to_string(),
            allowed: true,
            ..AdmissionResponse::default()
        }
    }

    /// Denies the request with a code, a reason and a message.
    pub fn deny(
        uid: &str,
        code: u16,
        reason: &str,
        message: impl Into<String>,
    ) -> AdmissionResponse {
        AdmissionResponse {
            uid: uid.to_string(),
            allowed: false,
            status: Some(Status {
                code: Some(code),
                message: message.into(),
                reason: reason.to_string(),
                status: "Failure".to_string(),
            }),
            ..AdmissionResponse::default()
        }
    }

    /// Adds an RFC 6902 patch (a JSON array of operations), base64-encoded as the API expects.
    pub fn with_patch(mut self, patch_json: &[u8]) -> AdmissionResponse {
        self.patch_type = Some("JSONPatch".to_string());
        self.patch = Some(base64::engine::general_purpose::STANDARD.encode(patch_json));
        self
    }

    /// The decoded patch, if any (tests and tools).
    pub fn decoded_patch(&self) -> Option<Value> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(self.patch.as_deref()?)
            .ok()?;
        serde_json::from_slice(&raw).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_checks_the_envelope() {
        let cases: &[(&str, &str)] = &[
            ("not json", "not a valid AdmissionReview"),
            (r#"{"apiVersion":"v1","kind":"Pod"}"#, "expected apiVersion"),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
                "has no request",
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}"#,
                "has no uid",
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}"#,
                "not a valid AdmissionReview",
            ),
        ];
        for (body, want) in cases {
            let err = AdmissionReview::from_slice(body.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(want), "{body}: {err}");
            let err = AdmissionReview::peek_uid(body.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(want), "peek {body}: {err}");
        }
    }

    #[test]
    fn a_minimal_request_decodes_with_defaults() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
            "request":{"uid":"u1","operation":"DELETE","oldObject":{"kind":"Pod"}}}"#;
        let req = AdmissionReview::from_slice(body).unwrap();
        assert_eq!(req.uid, "u1");
        assert_eq!(AdmissionReview::peek_uid(body).unwrap(), "u1");
        assert_eq!(req.resource()["kind"], "Pod");
        assert!(!req.is_dry_run());
    }

    #[test]
    fn responses_serialize_like_the_api() {
        let r = AdmissionResponse::allow("u").with_patch(b"[]");
        let v = serde_json::to_value(AdmissionReview::respond(r)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": "u", "allowed": true, "patchType": "JSONPatch", "patch": "W10="}})
        );
        let d = AdmissionResponse::deny("u", 403, "Forbidden", "no");
        assert_eq!(d.status.unwrap().code, Some(403));
    }
}
