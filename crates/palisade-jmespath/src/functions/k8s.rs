//! Kubernetes helpers: label matching, image references, external URLs.

use std::net::IpAddr;

use serde_json::Value;

use super::{Arg, Category, FnDef, Group, Ty, p, s, v};
use crate::error::Error;
use crate::interp::Interp;
use crate::value::equal;

const K8S: Category = Category::Kyverno(Group::K8s);
const STR: &[Ty] = &[Ty::String];

macro_rules! def {
    ($cat:expr, $name:literal, $sig:literal, $doc:literal, [$($param:expr),*], $imp:expr) => {
        FnDef { name: $name, sig: $sig, doc: $doc, cat: $cat, params: &[$($param),*], imp: $imp }
    };
}

pub(crate) static DEFS: &[FnDef] = &[
    def!(
        K8S,
        "label_match",
        "label_match(object, object) boolean",
        "True if every label of the first object is present, equal, in the second.",
        [p(&[Ty::Object]), p(&[Ty::Object])],
        label_match
    ),
    def!(
        K8S,
        "image_normalize",
        "image_normalize(string) string",
        "Normalizes an image reference (default registry, library/ prefix, latest tag).",
        [p(STR)],
        image_normalize
    ),
    def!(
        K8S,
        "is_external_url",
        "is_external_url(string) boolean",
        "False for URLs whose host is a loopback, private, link-local or unspecified IP address. Host names are not resolved (see crate docs).",
        [p(STR)],
        is_external_url
    ),
];

fn label_match(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let (Some(want), Some(have)) = (v(a, 0).as_object(), v(a, 1).as_object()) else {
        return Err(Error::arg_type("label_match", 0, "Object"));
    };
    Ok(Value::Bool(
        want.iter()
            .all(|(k, x)| have.get(k).is_some_and(|y| equal(x, y))),
    ))
}

fn image_normalize(a: &[Arg<'_>], interp: &mut Interp<'_>) -> Result<Value, Error> {
    palisade_primitives::image::normalize(s(a, 0), &interp.ctx.image)
        .map(Value::String)
        .map_err(|e| Error::function("image_normalize", e))
}

/// The host of a URL (`scheme://[user@]host[:port]/...`).
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    Some(hostport.rsplit_once(':').map_or(hostport, |(h, _)| h))
}

fn internal_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (seg & 0xfe00) == 0xfc00
                || (seg & 0xffc0) == 0xfe80
        }
    }
}

/// Kyverno resolves host names with DNS; Palisade does not do network I/O inside expression
/// evaluation, so only literal IPs and `localhost` are recognised as internal.
fn is_external_url(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let url = s(a, 0);
    let host = url_host(url)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::function("is_external_url", format!("parse {url:?}: invalid URL")))?;
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(Value::Bool(false));
    }
    Ok(Value::Bool(
        host.parse::<IpAddr>().map_or(true, |ip| !internal_ip(ip)),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::testutil::{check, check_err};

    #[test]
    fn table() {
        check(&[
            (
                "label_match(`{\"app\": \"web\"}`, `{\"app\": \"web\", \"x\": \"y\"}`)",
                json!(true),
            ),
            (
                "label_match(`{\"app\": \"web\"}`, `{\"app\": \"db\"}`)",
                json!(false),
            ),
            ("label_match(`{}`, `{}`)", json!(true)),
            (
                "image_normalize('nginx')",
                json!("docker.io/library/nginx:latest"),
            ),
            ("image_normalize('ghcr.io/a/b:1')", json!("ghcr.io/a/b:1")),
            ("is_external_url('https://example.com/x')", json!(true)),
            ("is_external_url('http://127.0.0.1:8080/')", json!(false)),
            ("is_external_url('http://10.1.2.3')", json!(false)),
            ("is_external_url('http://[::1]:80/')", json!(false)),
            ("is_external_url('http://localhost/')", json!(false)),
            ("is_external_url('http://8.8.8.8')", json!(true)),
        ]);
        check_err(&[
            ("image_normalize('Bad Image')", "image_normalize"),
            ("is_external_url('nota url')", "invalid URL"),
            ("label_match('a', `{}`)", "invalid type"),
        ]);
    }
}
