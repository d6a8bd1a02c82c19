//! Container image references, parsed the way Kyverno's `pkg/utils/image` does (on top of
//! `distribution/reference`), including the default registry and the `library/` prefix that
//! Kyverno's `images` variable and `image_normalize` show.

use thiserror::Error;

/// Longest repository name `distribution/reference` accepts.
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Why an image reference was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImageError {
    /// The reference does not follow the grammar.
    #[error(
        "bad image: {image}, defaultRegistry: {registry}, enableDefaultRegistryMutation: {mutation}: {reason}"
    )]
    Bad {
        /// The reference after the default registry was added.
        image: String,
        /// The configured default registry.
        registry: String,
        /// Whether default-registry mutation is on.
        mutation: bool,
        /// The grammar violation.
        reason: String,
    },
}

/// Kyverno's image settings (`defaultRegistry`, `enableDefaultRegistryMutation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageConfig {
    /// Registry added to references without one; `docker.io` by default.
    pub default_registry: String,
    /// Whether the default registry is shown in results; true by default.
    pub enable_default_registry_mutation: bool,
}

impl Default for ImageConfig {
    fn default() -> Self {
        ImageConfig {
            default_registry: "docker.io".to_string(),
            enable_default_registry_mutation: true,
        }
    }
}

/// The parts of an image reference, as in Kyverno's `ImageInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageInfo {
    /// Registry host (and port), e.g. `docker.io`; empty when not shown.
    pub registry: String,
    /// Last path component, e.g. `nginx`.
    pub name: String,
    /// Repository path, e.g. `library/nginx`.
    pub path: String,
    /// Tag (`latest` when neither tag nor digest is given).
    pub tag: String,
    /// Digest such as `sha256:...`, or empty.
    pub digest: String,
    /// `registry/path:tag` or `registry/path@digest`.
    pub reference: String,
    /// `registry/path:tag` before the `library/` prefix is added.
    pub reference_with_tag: String,
}

impl ImageInfo {
    /// Kyverno's `ImageInfo.String()`: the normalized reference.
    pub fn to_reference(&self) -> String {
        let image = if self.registry.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.registry, self.path)
        };
        if self.digest.is_empty() {
            format!("{image}:{}", self.tag)
        } else {
            format!("{image}@{}", self.digest)
        }
    }
}

fn add_default_registry(name: &str, cfg: &ImageConfig) -> String {
    match name.find('/') {
        Some(i) => {
            let first = &name[..i];
            if !first.contains(['.', ':']) && first != "localhost" && first.to_lowercase() == first
            {
                format!("{}/{name}", cfg.default_registry)
            } else {
                name.to_string()
            }
        }
        None => format!("{}/{name}", cfg.default_registry),
    }
}

/// Parses an image reference with Kyverno's defaults.
pub fn parse(image: &str, cfg: &ImageConfig) -> Result<ImageInfo, ImageError> {
    let full = add_default_registry(image, cfg);
    let parsed = parse_reference(&full).map_err(|reason| ImageError::Bad {
        image: full.clone(),
        registry: cfg.default_registry.clone(),
        mutation: cfg.enable_default_registry_mutation,
        reason,
    })?;
    let mut registry = parsed.domain;
    let mut path = parsed.path;
    let name = path.rsplit('/').next().unwrap_or_default().to_string();
    let mut tag = parsed.tag;
    if parsed.digest.is_empty() && tag.is_empty() {
        tag = "latest".to_string();
    }
    if full != image && !cfg.enable_default_registry_mutation {
        registry.clear();
    }
    let reference_with_tag = if registry.is_empty() {
        format!("{path}:{tag}")
    } else {
        format!("{registry}/{path}:{tag}")
    };
    if !path.contains('/') {
        path = format!("library/{path}");
    }
    let mut info = ImageInfo {
        registry,
        name,
        path,
        tag,
        digest: parsed.digest,
        reference: String::new(),
        reference_with_tag,
    };
    info.reference = info.to_reference();
    let parts: Vec<&str> = info.path.split('/').collect();
    if parts.len() > 1 && info.registry.is_empty() && parts[0].contains('_') {
        let (first, rest) = (parts[0].to_string(), parts[1..].join("/"));
        info.registry = first;
        info.path = rest;
    }
    Ok(info)
}

/// Kyverno's `image_normalize`.
pub fn normalize(image: &str, cfg: &ImageConfig) -> Result<String, ImageError> {
    parse(image, cfg).map(|i| i.to_reference())
}

struct Reference {
    domain: String,
    path: String,
    tag: String,
    digest: String,
}

const INVALID: &str = "invalid reference format";

/// `distribution/reference.Parse`.
fn parse_reference(s: &str) -> Result<Reference, String> {
    if s.is_empty() {
        return Err("repository name must have at least one component".into());
    }
    let (rest, digest) = match s.split_once('@') {
        Some((a, d)) => (a, validate_digest(d)?),
        None => (s, String::new()),
    };
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], &rest[i + 1..]),
        _ => (rest, ""),
    };
    if !tag.is_empty() || rest.ends_with(':') {
        let ok = tag.chars().next().is_some_and(is_word)
            && tag.len() <= 128
            && tag.chars().all(|c| is_word(c) || c == '.' || c == '-');
        if !ok {
            return Err(INVALID.into());
        }
    }
    let (domain, path) =
        split_name(name).ok_or_else(|| match split_name(&name.to_lowercase()) {
            Some(_) => "repository name must be lowercase".to_string(),
            None => INVALID.to_string(),
        })?;
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(format!(
            "repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        ));
    }
    Ok(Reference {
        domain,
        path,
        tag: tag.to_string(),
        digest,
    })
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn split_name(name: &str) -> Option<(String, String)> {
    if let Some((first, rest)) = name.split_once('/')
        && is_domain(first)
        && is_path(rest)
    {
        return Some((first.to_string(), rest.to_string()));
    }
    is_path(name).then(|| (String::new(), name.to_string()))
}

fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        match inner.split_once(']') {
            Some((v6, tail)) => {
                if v6.is_empty() || !v6.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
                    return false;
                }
                (
                    "",
                    tail.strip_prefix(':')
                        .map(Some)
                        .unwrap_or(if tail.is_empty() { None } else { Some("x") }),
                )
            }
            None => return false,
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    if s.starts_with('[') {
        return true;
    }
    !host.is_empty() && host.split('.').all(is_domain_component)
}

fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

fn is_path(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() {
        return false;
    }
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep_start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == sep_start {
            return false;
        }
    }
}

/// `go-digest` validation: known algorithm and lowercase hex of the right length.
fn validate_digest(d: &str) -> Result<String, String> {
    let (alg, hex) = d.split_once(':').ok_or_else(|| INVALID.to_string())?;
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|p| {
        p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && p.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if !alg_ok || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(INVALID.into());
    }
    let want = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err("unsupported digest algorithm".into()),
    };
    if hex.len() != want || hex.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("invalid checksum digest length".into());
    }
    Ok(d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:128c6e3534b842a2eec139999b8ce8aa9a2af9907e2b9269550809d18cd832a3";

    fn info(s: &str) -> ImageInfo {
        parse(s, &ImageConfig::default()).unwrap()
    }

    #[test]
    fn parse_table() {
        let i = info("nginx");
        assert_eq!(
            (
                i.registry.as_str(),
                i.path.as_str(),
                i.name.as_str(),
                i.tag.as_str()
            ),
            ("docker.io", "library/nginx", "nginx", "latest")
        );
        assert_eq!(i.reference, "docker.io/library/nginx:latest");
        assert_eq!(i.reference_with_tag, "docker.io/nginx:latest");

        let i = info("ghcr.io/org/app:v1.2");
        assert_eq!(
            (i.registry.as_str(), i.path.as_str(), i.name.as_str()),
            ("ghcr.io", "org/app", "app")
        );
        assert_eq!(i.reference, "ghcr.io/org/app:v1.2");

        let i = info(&format!("localhost:5000/app:1@{D}"));
        assert_eq!(i.registry, "localhost:5000");
        assert_eq!(i.tag, "1");
        assert_eq!(i.digest, D);
        assert_eq!(i.reference, format!("localhost:5000/library/app@{D}"));
        assert_eq!(i.reference_with_tag, "localhost:5000/app:1");

        let i = info("bitnami/redis:7");
        assert_eq!(
            (i.registry.as_str(), i.path.as_str()),
            ("docker.io", "bitnami/redis")
        );

        let i = info(&format!("busybox@{D}"));
        assert_eq!(i.tag, "");
        assert_eq!(i.reference, format!("docker.io/library/busybox@{D}"));
    }

    #[test]
    fn without_mutation() {
        let cfg = ImageConfig {
            enable_default_registry_mutation: false,
            ..ImageConfig::default()
        };
        let i = parse("nginx:1", &cfg).unwrap();
        assert_eq!(i.registry, "");
        assert_eq!(i.reference, "library/nginx:1");
        let i = parse("my_reg/app", &cfg).unwrap();
        assert_eq!((i.registry.as_str(), i.path.as_str()), ("my_reg", "app"));
    }

    #[test]
    fn normalize_table() {
        let cfg = ImageConfig::default();
        assert_eq!(
            normalize("nginx", &cfg).unwrap(),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(
            normalize("docker.io/nginx:1.2", &cfg).unwrap(),
            "docker.io/library/nginx:1.2"
        );
        assert_eq!(
            normalize("[::1]:5000/a/b:c", &cfg).unwrap(),
            "[::1]:5000/a/b:c"
        );
    }

    #[test]
    fn rejects() {
        let cfg = ImageConfig::default();
        for bad in [
            "",
            "nginx:",
            "Nginx",
            "a//b",
            "nginx:-bad",
            "nginx@sha256:abc",
            "docker.io/UP/x",
            "a/b:c:d",
        ] {
            assert!(parse(bad, &cfg).is_err(), "{bad}");
        }
        assert!(parse(&"a".repeat(300), &cfg).is_err());
    }
}
