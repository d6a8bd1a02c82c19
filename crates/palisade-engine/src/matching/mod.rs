//! `match` and `exclude`: which resources and requests a rule applies to (Kyverno's
//! `MatchesResourceDescription`).

mod kinds;
mod selector;
mod userinfo;

use std::collections::BTreeMap;

use palisade_api::matching::{MatchResources, ResourceDescription, ResourceFilter};
use palisade_primitives::wildcard;
use serde_json::Value;

pub use kinds::{Gvk, kind_matches, parse_kind_selector};
pub use selector::{selector_matches, validate_selector};
pub use userinfo::RequestInfo;

/// What matching looks at.
#[derive(Debug, Clone, Copy)]
pub struct MatchInput<'a> {
    /// The resource (the new object, or the old one for DELETE).
    pub resource: &'a Value,
    /// Its group, version and kind.
    pub gvk: &'a Gvk,
    /// The subresource of the request, or "".
    pub subresource: &'a str,
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: &'a str,
    /// Labels of the resource's namespace, when known.
    pub namespace_labels: Option<&'a BTreeMap<String, String>>,
    /// The requester.
    pub request: &'a RequestInfo,
}

/// Why a rule does not apply to a resource, or `Ok` when it does. The first reason found is
/// returned without allocating: this runs for every rule on every request.
pub fn rule_matches(
    match_: &MatchResources,
    exclude: Option<&MatchResources>,
    policy_namespace: Option<&str>,
    input: &MatchInput<'_>,
) -> Result<(), &'static str> {
    if let Some(ns) = policy_namespace
        && !ns.is_empty()
        && ns != namespace_of(input.resource)
    {
        return Err("policy and resource namespaces mismatch");
    }
    matches_block(match_, input)?;
    if let Some(exclude) = exclude {
        excluded_by(exclude, input)?;
    }
    Ok(())
}

fn matches_block(m: &MatchResources, input: &MatchInput<'_>) -> Result<(), &'static str> {
    if let Some(any) = m.any.as_ref().filter(|a| !a.is_empty()) {
        if any.iter().any(|f| filter_mismatch(f, input).is_none()) {
            return Ok(());
        }
        return Err("no resource matched");
    }
    if let Some(all) = m.all.as_ref().filter(|a| !a.is_empty()) {
        if all.iter().all(|f| filter_mismatch(f, input).is_none()) {
            return Ok(());
        }
        return Err("not all resources matched");
    }
    let Some(filter) = m.legacy_filter() else {
        return Err("match cannot be empty");
    };
    match filter_mismatch(&filter, input) {
        None => Ok(()),
        Some(reason) => Err(reason),
    }
}

fn excluded_by(e: &MatchResources, input: &MatchInput<'_>) -> Result<(), &'static str> {
    if let Some(any) = e.any.as_ref().filter(|a| !a.is_empty()) {
        if any.iter().any(|f| filter_mismatch(f, input).is_none()) {
            return Err("resource excluded since one of the criteria excluded it");
        }
        return Ok(());
    }
    if let Some(all) = e.all.as_ref().filter(|a| !a.is_empty()) {
        if all.iter().all(|f| filter_mismatch(f, input).is_none()) {
            return Err("resource excluded since the combination of all criteria exclude it");
        }
        return Ok(());
    }
    match e.legacy_filter() {
        Some(filter) if filter_mismatch(&filter, input).is_none() => Err("resource excluded"),
        _ => Ok(()),
    }
}

/// The first reason a filter does not match; `None` when it matches.
fn filter_mismatch(filter: &ResourceFilter, input: &MatchInput<'_>) -> Option<&'static str> {
    if is_empty_description(&filter.resources) && !filter.has_user_info() {
        return Some("match cannot be empty");
    }
    description_mismatch(&filter.resources, input)
        .or_else(|| userinfo::mismatch(filter, input.request))
}

/// Plain kind names (no group, version, subresource or wildcard) one of which a resource's
/// kind must be for `m` to match it, when `m` says so; `None` when any kind may match. Found
/// once per rule when a policy is compiled: most rules of a request's policies (autogen
/// rules for controllers, say) are rejected by this check alone.
pub(crate) fn required_kinds(m: &MatchResources) -> Option<Vec<String>> {
    let plain = |d: &ResourceDescription| -> Option<Vec<String>> {
        let kinds = d.kinds.as_ref().filter(|k| !k.is_empty())?;
        kinds
            .iter()
            .all(|k| !k.bytes().any(|b| matches!(b, b'/' | b'*' | b'?')))
            .then(|| kinds.clone())
    };
    if let Some(any) = m.any.as_ref().filter(|a| !a.is_empty()) {
        // Some filter must match: the union of their kinds, if every one names kinds.
        let mut union = Vec::new();
        for f in any {
            union.extend(plain(&f.resources)?);
        }
        return Some(union);
    }
    if let Some(all) = m.all.as_ref().filter(|a| !a.is_empty()) {
        // Every filter must match: any one that names kinds will do.
        return all.iter().find_map(|f| plain(&f.resources));
    }
    plain(m.resources.as_ref()?)
}

/// True when `m` selects by plain kinds alone: an `any` list whose every filter names plain
/// kinds and nothing else (no names, namespaces, selectors, operations or user information).
/// For such a rule without `exclude`, in a cluster-wide policy, a resource whose kind is one
/// of [`required_kinds`] matches unless it is a subresource other than a Pod's ephemeral
/// containers ([`kinds_alone_match`]): the resource itself need not be read.
pub(crate) fn selects_by_kinds_alone(m: &MatchResources) -> bool {
    let Some(any) = m.any.as_ref().filter(|a| !a.is_empty()) else {
        return false;
    };
    required_kinds(m).is_some()
        && any.iter().all(|f| {
            let ResourceDescription {
                kinds,
                name,
                names,
                namespaces,
                annotations,
                selector,
                namespace_selector,
                operations,
            } = &f.resources;
            kinds.as_ref().is_some_and(|k| !k.is_empty())
                && name.is_none()
                && names.is_none()
                && namespaces.is_none()
                && annotations.is_none()
                && selector.is_none()
                && namespace_selector.is_none()
                && operations.is_none()
                && !f.has_user_info()
        })
}

/// Whether a rule that selects by kinds alone ([`selects_by_kinds_alone`]) matches a resource
/// whose kind it names: what [`kind_matches`] decides for a plain kind.
pub(crate) fn kinds_alone_match(gvk: &Gvk, subresource: &str) -> bool {
    subresource.is_empty() || (gvk.kind == "Pod" && subresource == "ephemeralcontainers")
}

/// `d == ResourceDescription::default()` without building and dropping a default (this runs
/// for every filter of every rule); the exhaustive pattern keeps it in step with the fields.
fn is_empty_description(d: &ResourceDescription) -> bool {
    let ResourceDescription {
        kinds,
        name,
        names,
        namespaces,
        annotations,
        selector,
        namespace_selector,
        operations,
    } = d;
    kinds.is_none()
        && name.is_none()
        && names.is_none()
        && namespaces.is_none()
        && annotations.is_none()
        && selector.is_none()
        && namespace_selector.is_none()
        && operations.is_none()
}

fn description_mismatch(d: &ResourceDescription, input: &MatchInput<'_>) -> Option<&'static str> {
    let resource = input.resource;
    if let Some(kinds) = d.kinds.as_ref().filter(|k| !k.is_empty())
        && !kind_matches(kinds, input.gvk, input.subresource, true)
    {
        return Some("kind does not match");
    }
    // Read only when a filter names resources.
    if let Some(pattern) = d.name.as_ref().filter(|n| !n.is_empty())
        && !wildcard::matches(pattern, name_of(resource))
    {
        return Some("name does not match");
    }
    if let Some(names) = d.names.as_ref().filter(|n| !n.is_empty())
        && !names
            .iter()
            .any(|n| wildcard::matches(n, name_of(resource)))
    {
        return Some("none of the names match");
    }
    if let Some(namespaces) = d.namespaces.as_ref().filter(|n| !n.is_empty()) {
        let ns = if input.gvk.kind == "Namespace" {
            name_of(resource)
        } else {
            namespace_of(resource)
        };
        if !namespaces.iter().any(|n| wildcard::matches(n, ns)) {
            return Some("namespace does not match");
        }
    }
    if let Some(annotations) = d.annotations.as_ref().filter(|a| !a.is_empty())
        && !annotations_match(annotations, resource)
    {
        return Some("annotations does not match");
    }
    if let Some(sel) = &d.selector
        && !selector_matches(sel, &labels_of(resource))
    {
        return Some("selector does not match");
    }
    if let Some(sel) = &d.namespace_selector {
        if input.gvk.kind == "Namespace" {
            return Some("namespace selector is not applicable for namespace resource");
        } else if !selector_matches(sel, input.namespace_labels.unwrap_or(&BTreeMap::new())) {
            return Some("namespace selector does not match");
        }
    }
    if let Some(ops) = d.operations.as_ref().filter(|o| !o.is_empty())
        && !ops.iter().any(|o| o == input.operation)
    {
        return Some("operation does not match");
    }
    None
}

fn annotations_match(expected: &BTreeMap<String, String>, resource: &Value) -> bool {
    let actual = metadata_field(resource, "annotations").and_then(Value::as_object);
    expected.iter().all(|(k, v)| {
        actual.is_some_and(|a| {
            a.iter().any(|(ak, av)| {
                wildcard::matches(k, ak) && av.as_str().is_some_and(|av| wildcard::matches(v, av))
            })
        })
    })
}

/// `metadata.name`, or `metadata.generateName` when the name is empty.
pub fn name_of(resource: &Value) -> &str {
    let name = metadata_field(resource, "name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        return metadata_field(resource, "generateName")
            .and_then(Value::as_str)
            .unwrap_or_default();
    }
    name
}

/// `metadata.<field>` (a plain lookup: `Value::pointer` allocates to unescape each segment).
fn metadata_field<'v>(resource: &'v Value, field: &str) -> Option<&'v Value> {
    resource.get("metadata")?.get(field)
}

/// `metadata.namespace`, or "".
pub fn namespace_of(resource: &Value) -> &str {
    metadata_field(resource, "namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `metadata.labels` as a string map (non-string values are ignored).
pub fn labels_of(resource: &Value) -> BTreeMap<String, String> {
    metadata_field(resource, "labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
