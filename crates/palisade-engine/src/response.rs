//! Rule outcomes as data: what the CLI prints, the webhook enforces and reports record.

use std::sync::Arc;

use palisade_api::{FailureAction, RuleType};
use serde::Serialize;

/// The outcome of one rule on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    /// The resource satisfies the rule.
    Pass,
    /// The resource violates the rule.
    Fail,
    /// A violation reported as a warning.
    Warn,
    /// The rule could not be evaluated; the message says why.
    Error,
    /// The rule does not apply (preconditions, anchors, exceptions).
    Skip,
}

impl RuleStatus {
    /// The lower-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleStatus::Pass => "pass",
            RuleStatus::Fail => "fail",
            RuleStatus::Warn => "warn",
            RuleStatus::Error => "error",
            RuleStatus::Skip => "skip",
        }
    }

    /// Parses a report result name.
    pub fn parse(s: &str) -> Option<RuleStatus> {
        Some(match s {
            "pass" => RuleStatus::Pass,
            "fail" => RuleStatus::Fail,
            "warn" => RuleStatus::Warn,
            "error" => RuleStatus::Error,
            "skip" => RuleStatus::Skip,
            _ => return None,
        })
    }
}

/// One rule's response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResponse {
    /// Rule name (autogen rules carry their `autogen-` name); shared with the compiled
    /// policy, so a response does not copy it.
    pub name: Arc<str>,
    /// The kind of rule.
    #[serde(skip)]
    pub rule_type: RuleType,
    /// The outcome.
    pub status: RuleStatus,
    /// A message a person can act on.
    pub message: Message,
    /// The failure action that applies to this rule for this resource (validate rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_action: Option<FailureAction>,
    /// Policy exceptions that caused a skip (`namespace/name`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<String>,
    /// Report properties of the rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<(String, String)>,
}

impl RuleResponse {
    /// A response with the given status and message.
    pub fn new(
        name: &str,
        rule_type: RuleType,
        status: RuleStatus,
        message: impl Into<String>,
    ) -> Self {
        RuleResponse::named(Arc::from(name), rule_type, status, message)
    }

    /// [`RuleResponse::new`] with a shared name.
    pub fn named(
        name: Arc<str>,
        rule_type: RuleType,
        status: RuleStatus,
        message: impl Into<String>,
    ) -> Self {
        RuleResponse::with_message(name, rule_type, status, Message::from(message.into()))
    }

    /// [`RuleResponse::named`] with a [`Message`], which may be shared.
    pub fn with_message(
        name: Arc<str>,
        rule_type: RuleType,
        status: RuleStatus,
        message: Message,
    ) -> Self {
        RuleResponse {
            name,
            rule_type,
            status,
            message,
            failure_action: None,
            exceptions: Vec::new(),
            properties: Vec::new(),
        }
    }
}

/// A rule response's message: made for this response, or shared with the compiled policy
/// (a passing rule's message is the same for every resource, so responses share one copy
/// instead of allocating it each time). Reads as a `str`; prints, compares and serializes
/// as one, whichever it holds.
#[derive(Clone)]
pub struct Message(MessageRepr);

#[derive(Clone)]
enum MessageRepr {
    Owned(String),
    Shared(Arc<str>),
}

impl Message {
    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            MessageRepr::Owned(s) => s,
            MessageRepr::Shared(s) => s,
        }
    }
}

impl std::ops::Deref for Message {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Message {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Message {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Default for Message {
    fn default() -> Self {
        Message(MessageRepr::Owned(String::new()))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message(MessageRepr::Owned(s))
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message(MessageRepr::Owned(s.to_owned()))
    }
}

impl From<&String> for Message {
    fn from(s: &String) -> Self {
        Message(MessageRepr::Owned(s.clone()))
    }
}

impl From<Arc<str>> for Message {
    fn from(s: Arc<str>) -> Self {
        Message(MessageRepr::Shared(s))
    }
}

impl From<Message> for String {
    fn from(m: Message) -> Self {
        match m.0 {
            MessageRepr::Owned(s) => s,
            MessageRepr::Shared(s) => s.to_string(),
        }
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Message {}

impl PartialEq<str> for Message {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Message {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Message {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// All rule responses of one policy on one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResponse {
    /// The policy name as reports show it (`namespace/name` for a namespaced Policy); shared
    /// with the compiled policy.
    pub policy: Arc<str>,
    /// Responses, in rule order; rules that do not match the resource have none.
    pub rules: Vec<RuleResponse>,
}

impl PolicyResponse {
    /// True when some rule failed.
    pub fn has_failures(&self) -> bool {
        self.rules.iter().any(|r| r.status == RuleStatus::Fail)
    }
}
