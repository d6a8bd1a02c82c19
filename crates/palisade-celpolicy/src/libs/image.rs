//! Kyverno's image library: `image(ref)` / `parseImageReference(ref)` give a `kyverno.image`
//! with `registry()`, `repository()`, `identifier()`, `tag()`, `digest()` and
//! `containsDigest()`; `isImage(ref)` tests a reference. References parse as
//! go-containerregistry does: Docker Hub is `index.docker.io` and its single-name
//! repositories get `library/`.

use std::any::Any;

use palisade_cel::{EnvBuilder, Opaque, Overload, Type, Value};
use palisade_primitives::image::{ImageConfig, parse};

const IMAGE: &str = "kyverno.image";

/// A method reading one part of an image reference.
type Accessor = fn(&ImageRef) -> Value;
const DOCKER_HUB: &str = "index.docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: String,
    digest: String,
}

impl ImageRef {
    /// Parses a reference; a digest makes it a digest reference (its tag is not reported).
    pub fn parse(reference: &str) -> Result<ImageRef, String> {
        let cfg = ImageConfig {
            default_registry: DOCKER_HUB.to_string(),
            enable_default_registry_mutation: true,
        };
        let info = parse(reference, &cfg).map_err(|e| e.to_string())?;
        let registry = if info.registry == "docker.io" {
            DOCKER_HUB.to_string()
        } else {
            info.registry
        };
        let mut repository = info.path;
        if registry != DOCKER_HUB
            && let Some(rest) = repository.strip_prefix("library/")
            && !reference.contains("library/")
        {
            repository = rest.to_string();
        }
        let (tag, digest) = if info.digest.is_empty() {
            (info.tag, String::new())
        } else {
            (String::new(), info.digest)
        };
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    fn identifier(&self) -> &str {
        if self.digest.is_empty() {
            &self.tag
        } else {
            &self.digest
        }
    }
}

impl Opaque for ImageRef {
    fn type_name(&self) -> &str {
        IMAGE
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other.as_any().downcast_ref::<ImageRef>() == Some(self)
    }
    fn to_json(&self) -> serde_json::Value {
        let base = format!("{}/{}", self.registry, self.repository);
        if self.digest.is_empty() {
            serde_json::Value::String(format!("{base}:{}", self.tag))
        } else {
            serde_json::Value::String(format!("{base}@{}", self.digest))
        }
    }
}

fn image_of(args: &[Value]) -> Result<&ImageRef, String> {
    args.first()
        .and_then(Value::downcast::<ImageRef>)
        .ok_or_else(|| "receiver is not an image".to_string())
}

fn parse_arg(args: &[Value]) -> Result<Value, String> {
    let s = args
        .first()
        .and_then(Value::as_str)
        .ok_or("expected an image reference string")?;
    ImageRef::parse(s).map(Value::opaque)
}

pub(super) fn register(mut env: EnvBuilder) -> EnvBuilder {
    let to_image = || vec![Overload::new(vec![Type::String], Type::Opaque(IMAGE))];
    env = env
        .function("image", to_image(), parse_arg)
        .function("parseImageReference", to_image(), parse_arg)
        .function(
            "isImage",
            vec![Overload::new(vec![Type::String], Type::Bool)],
            |args| {
                let s = args
                    .first()
                    .and_then(Value::as_str)
                    .ok_or("expected a string")?;
                Ok(Value::Bool(ImageRef::parse(s).is_ok()))
            },
        );
    let accessors: [(&str, Accessor); 6] = [
        ("registry", |i| Value::from(i.registry.as_str())),
        ("repository", |i| Value::from(i.repository.as_str())),
        ("identifier", |i| Value::from(i.identifier())),
        ("tag", |i| Value::from(i.tag.as_str())),
        ("digest", |i| Value::from(i.digest.as_str())),
        ("containsDigest", |i| Value::Bool(!i.digest.is_empty())),
    ];
    for (name, f) in accessors {
        let result = if name == "containsDigest" {
            Type::Bool
        } else {
            Type::String
        };
        env = env.method(
            name,
            vec![Overload::new(vec![Type::Opaque(IMAGE)], result)],
            move |args| image_of(args).map(f),
        );
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_like_go_containerregistry() {
        let cases = [
            ("nginx", DOCKER_HUB, "library/nginx", "latest", ""),
            ("nginx:1.2", DOCKER_HUB, "library/nginx", "1.2", ""),
            (
                "ghcr.io/kyverno/kyverno:v1",
                "ghcr.io",
                "kyverno/kyverno",
                "v1",
                "",
            ),
            ("ghcr.io/busybox", "ghcr.io", "busybox", "latest", ""),
            ("localhost:5000/app", "localhost:5000", "app", "latest", ""),
        ];
        for (r, reg, repo, tag, digest) in cases {
            let i = ImageRef::parse(r).unwrap();
            assert_eq!(
                (
                    i.registry.as_str(),
                    i.repository.as_str(),
                    i.tag.as_str(),
                    i.digest.as_str()
                ),
                (reg, repo, tag, digest),
                "{r}"
            );
        }
        let d = ImageRef::parse(
            "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        )
        .unwrap();
        assert!(d.tag.is_empty());
        assert_eq!(d.identifier(), d.digest);
        assert!(ImageRef::parse("NOT VALID").is_err());
    }
}
