//! Shared pieces of the checks: container visiting, the upstream wording helpers, and the
//! `Violations` accumulator (data strings plus field errors).

use crate::field::{BadValue, FieldError};
use crate::model::{Container, Pod, PodSecurityContext, SecurityContext, Spec};

/// What a failing check version returns: upstream's `ForbiddenReason`, `ForbiddenDetail` and
/// `ErrList`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Violation {
    pub(crate) reason: &'static str,
    pub(crate) detail: String,
    pub(crate) errors: Vec<FieldError>,
}

/// Where a visited container sits, for field paths.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContainerPath {
    list: &'static str,
    index: usize,
}

impl ContainerPath {
    /// `spec.<list>[<index>].<suffix>`.
    pub(crate) fn field(self, suffix: &str) -> String {
        format!("spec.{}[{}].{}", self.list, self.index, suffix)
    }
}

/// Visits init containers, containers, then ephemeral containers (upstream `visitContainers`).
pub(crate) fn visit_containers<'s, 'a>(
    spec: &'s Spec<'a>,
    mut visit: impl FnMut(&'s Container<'a>, ContainerPath),
) {
    let lists = [
        ("initContainers", &spec.init_containers),
        ("containers", &spec.containers),
        ("ephemeralContainers", &spec.ephemeral_containers),
    ];
    for (list, containers) in lists {
        for (index, container) in containers.iter().enumerate() {
            visit(container, ContainerPath { list, index });
        }
    }
}

/// Upstream `pluralize`.
pub(crate) fn pluralize(
    singular: &'static str,
    plural: &'static str,
    count: usize,
) -> &'static str {
    if count == 1 { singular } else { plural }
}

/// Upstream `joinQuote`: `"a", "b"`.
pub(crate) fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let joined: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("\"{}\"", joined.join("\", \""))
}

/// `<container|containers> "a", "b"`.
pub(crate) fn containers_phrase<S: AsRef<str>>(names: &[S]) -> String {
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

/// Go's `%q` of a string (`strconv.Quote`).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Upstream `Violations`: a list of data strings and the field errors that go with them.
#[derive(Debug, Default)]
pub(crate) struct Violations {
    pub(crate) data: Vec<String>,
    pub(crate) errors: Vec<FieldError>,
}

impl Violations {
    pub(crate) fn add(
        &mut self,
        data: impl Into<String>,
        errors: impl IntoIterator<Item = FieldError>,
    ) {
        self.data.push(data.into());
        self.errors.extend(errors);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }
}

/// A profile field (`seccompProfile`, `appArmorProfile`) set to a forbidden `type` on the Pod
/// and on its containers: the setters (`pod`, then the containers' phrase) with their field
/// errors, and the forbidden types sorted, as upstream's seccomp and AppArmor checks word them.
pub(crate) fn forbidden_profile_types<'a>(
    pod: &Pod<'a>,
    profile: &str,
    pod_type: impl Fn(&PodSecurityContext<'a>) -> Option<&'a str>,
    container_type: impl Fn(&SecurityContext<'a>) -> Option<&'a str>,
    allowed: impl Fn(&str) -> bool,
) -> (Violations, Vec<String>) {
    let mut setters = Violations::default();
    let mut bad_values = Vec::new();
    if let Some(t) = pod.spec.security_context.as_ref().and_then(&pod_type)
        && !allowed(t)
    {
        let field = format!("spec.securityContext.{profile}.type");
        setters.add(
            "pod",
            [FieldError::forbidden(field, BadValue::Str(t.into()))],
        );
        insert_sorted(&mut bad_values, t);
    }
    let mut containers = Vec::new();
    let mut errors = Vec::new();
    visit_containers(&pod.spec, |c, path| {
        if let Some(t) = c.security_context.as_ref().and_then(&container_type)
            && !allowed(t)
        {
            containers.push(c.name);
            let field = path.field(&format!("securityContext.{profile}.type"));
            errors.push(FieldError::forbidden(field, BadValue::Str(t.into())));
            insert_sorted(&mut bad_values, t);
        }
    });
    if !containers.is_empty() {
        setters.add(containers_phrase(&containers), errors);
    }
    (setters, bad_values)
}

/// Inserts into a sorted, de-duplicated list (upstream `sets.String` + `List()`).
pub(crate) fn insert_sorted(set: &mut Vec<String>, value: &str) {
    if let Err(at) = set.binary_search_by(|probe| probe.as_str().cmp(value)) {
        set.insert(at, value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_helpers_match_upstream() {
        assert_eq!(join_quote::<&str>(&[]), "");
        assert_eq!(join_quote(&["a", "b"]), r#""a", "b""#);
        assert_eq!(containers_phrase(&["a"]), r#"container "a""#);
        assert_eq!(containers_phrase(&["a", "b"]), r#"containers "a", "b""#);
        assert_eq!(go_quote("un\"conf\\ined\n"), r#""un\"conf\\ined\n""#);
        assert_eq!(go_quote("\u{1}é"), "\"\\x01é\"");
    }

    #[test]
    fn insert_sorted_dedups_in_byte_order() {
        let mut set = Vec::new();
        for v in ["b", "a", "B", "a"] {
            insert_sorted(&mut set, v);
        }
        assert_eq!(set, ["B", "a", "b"]);
    }
}
