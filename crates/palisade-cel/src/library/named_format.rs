//! Kubernetes' named formats: `format.dns1123Label().validate(s)`, `format.named("uuid")`, ...
//! Messages follow k8s.io/apimachinery's validation helpers.

use std::any::Any;
use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;

use crate::error::{RtError, no_match};
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::{Opaque, Value};

/// CEL type name of named formats.
pub(crate) const FORMAT_TYPE: &str = "kubernetes.NamedFormat";

const LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const SUBDOMAIN_FMT: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1035_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const QUALIFIED_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const UUID_FMT: &str =
    "(?i)(^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$)|(^[0-9a-f]{32}$)";

/// The format names Kubernetes defines (`NAMES`) and, for each, the builtin `format.<name>()`
/// (`constant_for`): builtins are plain function pointers, so each constant gets its own small
/// function.
macro_rules! formats {
    ($($n:literal),*) => {
        const NAMES: &[&str] = &[$($n),*];

        fn constant_for(name: &str) -> crate::registry::Builtin {
            match name {
                $($n => |_, a: &[Value]| -> Result<Value, RtError> {
                    if a.is_empty() { Ok(Value::opaque(NamedFormat($n))) } else { no_match() }
                },)*
                _ => |_, _: &[Value]| no_match(),
            }
        }
    };
}

formats!(
    "dns1123Label",
    "dns1123Subdomain",
    "dns1035Label",
    "qualifiedName",
    "dns1123LabelPrefix",
    "dns1123SubdomainPrefix",
    "dns1035LabelPrefix",
    "labelValue",
    "uri",
    "uuid",
    "byte",
    "date",
    "datetime"
);

/// A named string format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedFormat(&'static str);

impl Opaque for NamedFormat {
    fn type_name(&self) -> &str {
        FORMAT_TYPE
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other.as_any().downcast_ref::<NamedFormat>() == Some(self)
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.0.to_string())
    }
}

fn full(pattern: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{pattern})$")).ok()
}

static LABEL: LazyLock<Option<Regex>> = LazyLock::new(|| full(LABEL_FMT));
static SUBDOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| full(SUBDOMAIN_FMT));
static DNS1035: LazyLock<Option<Regex>> = LazyLock::new(|| full(DNS1035_FMT));
static QUALIFIED: LazyLock<Option<Regex>> = LazyLock::new(|| full(QUALIFIED_FMT));
static LABEL_VALUE: LazyLock<Option<Regex>> = LazyLock::new(|| full(LABEL_VALUE_FMT));
static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(UUID_FMT).ok());

fn is_match(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

/// apimachinery's `RegexError` text (its double space after the first example included).
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let ex: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        ex.join(" or ")
    )
}

fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !is_match(&LABEL, s) {
        let msg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
        errs.push(regex_error(msg, LABEL_FMT, &["my-name", "123-abc"]));
    }
    errs
}

fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push(max_len(253));
    }
    if !is_match(&SUBDOMAIN, s) {
        let msg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
        errs.push(regex_error(msg, SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !is_match(&DNS1035, s) {
        let msg = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
        errs.push(regex_error(msg, DNS1035_FMT, &["my-name", "abc-123"]));
    }
    errs
}

const QUALIFIED_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

fn qualified_name(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            let re = regex_error(
                QUALIFIED_MSG,
                QUALIFIED_FMT,
                &["MyName", "my.name", "123-abc"],
            );
            return vec![format!(
                "a qualified name {re} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len(63)));
    }
    if !is_match(&QUALIFIED, name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_MSG,
                QUALIFIED_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

fn label_value(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !is_match(&LABEL_VALUE, s) {
        let msg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
        errs.push(regex_error(
            msg,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// Prefix formats accept a trailing dash (apimachinery's maskTrailingDash).
fn mask_trailing_dash(s: &str) -> String {
    match s.strip_suffix('-') {
        Some(head) if s.len() > 1 => format!("{head}a"),
        _ => s.to_string(),
    }
}

fn validate(name: &str, s: &str) -> Vec<String> {
    let one = |ok: bool, msg: &str| if ok { vec![] } else { vec![msg.to_string()] };
    match name {
        "dns1123Label" => dns1123_label(s),
        "dns1123Subdomain" => dns1123_subdomain(s),
        "dns1035Label" => dns1035_label(s),
        "qualifiedName" => qualified_name(s),
        "dns1123LabelPrefix" => dns1123_label(&mask_trailing_dash(s)),
        "dns1123SubdomainPrefix" => dns1123_subdomain(&mask_trailing_dash(s)),
        "dns1035LabelPrefix" => dns1035_label(&mask_trailing_dash(s)),
        "labelValue" => label_value(s),
        "uri" => super::url::parse_request_uri(s).err().into_iter().collect(),
        "uuid" => one(is_match(&UUID, s), "does not match the UUID format"),
        "byte" => one(
            base64::engine::general_purpose::STANDARD.decode(s).is_ok(),
            "invalid base64",
        ),
        "date" => one(
            jiff::civil::Date::strptime("%Y-%m-%d", s).is_ok() && s.len() == 10,
            "invalid date",
        ),
        "datetime" => one(super::time::parse_timestamp(s).is_ok(), "invalid datetime"),
        _ => vec![format!("unknown format {name}")],
    }
}

pub(crate) fn register(reg: &mut Registry) {
    let f = || T::Opaque(FORMAT_TYPE);
    reg.global(
        "format.named",
        vec![sig(&[T::String], T::optional(f()))],
        |_, a| match a {
            [Value::String(s)] => Ok(NAMES
                .iter()
                .find(|n| **n == s.as_ref())
                .map_or(Value::none(), |n| {
                    Value::some(Value::opaque(NamedFormat(n)))
                })),
            _ => no_match(),
        },
    );
    for name in NAMES {
        reg.global(
            &format!("format.{name}"),
            vec![sig(&[], f())],
            constant_for(name),
        );
    }
    reg.method(
        "validate",
        vec![sig(&[f(), T::String], T::optional(T::list(T::String)))],
        |c, a| {
            let [fmt, Value::String(s)] = a else {
                return no_match();
            };
            let Some(NamedFormat(name)) = fmt.downcast::<NamedFormat>() else {
                return no_match();
            };
            c.charge_size(s.len())?;
            let errs = validate(name, s);
            Ok(if errs.is_empty() {
                Value::none()
            } else {
                Value::some(Value::list(errs.into_iter().map(Value::from).collect()))
            })
        },
    );
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_true, eval};
    use crate::value::Value;

    #[test]
    fn named_formats() {
        assert_true(&[
            "!format.dns1123Label().validate('my-name').hasValue()",
            "format.dns1123Label().validate('My_Name').hasValue()",
            "!format.dns1123Subdomain().validate('apiextensions.k8s.io').hasValue()",
            "format.dns1035Label().validate('1abc').hasValue()",
            "!format.qualifiedName().validate('apiextensions.k8s.io/v1beta1').hasValue()",
            "format.qualifiedName().validate('a/b/c').hasValue()",
            "!format.dns1123LabelPrefix().validate('my-label-prefix-').hasValue()",
            "!format.dns1123SubdomainPrefix().validate('mysubdomain.prefix.-').hasValue()",
            "!format.labelValue().validate('').hasValue()",
            "format.labelValue().validate('-bad').hasValue()",
            "!format.uri().validate('http://example.com').hasValue()",
            "format.uri().validate('not a uri').hasValue()",
            "!format.uuid().validate('123e4567-e89b-12d3-a456-426614174000').hasValue()",
            "format.uuid().validate('123').hasValue()",
            "!format.byte().validate('aGVsbG8=').hasValue()",
            "!format.date().validate('2021-01-01').hasValue() && format.date().validate('2021-13-01').hasValue()",
            "!format.datetime().validate('2021-01-01T00:00:00Z').hasValue()",
            "format.named('uuid').hasValue() && !format.named('nope').hasValue()",
            "!format.named('dns1123Label').value().validate('ok').hasValue()",
            "format.dns1123Label().validate('a'.substring(0, 0) + 'x' + '-').value().size() == 1",
        ]);
        let msg = eval("format.dns1123Label().validate('Bad').value()[0]").unwrap();
        let want = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
        assert_eq!(msg, Value::from(want));
    }
}
