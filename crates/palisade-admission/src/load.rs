//! Loading policy files from disk (the webhook's file mode and tools).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use palisade_api::load::{LoadError, PolicyDocument, load_policy_documents, relocate};
use palisade_engine::Exception;

use crate::set::{Entry, PolicySet, compile_cel, compile_policy};

/// Loads every YAML/JSON file under `paths` (directories recursively, hidden entries skipped,
/// files in name order, as the CLI does) into a set. The first error wins.
pub fn load_dir(paths: &[PathBuf]) -> Result<PolicySet, LoadError> {
    let mut entries = Vec::new();
    for path in paths {
        for file in expand(path)? {
            let name = file.display().to_string();
            let text = fs::read_to_string(&file)
                .map_err(|e| LoadError::file(&name, format!("cannot read: {e}")))?;
            for mut doc in load_policy_documents(&name, &text)? {
                let positions = doc.positions.take();
                let at = |e| relocate(e, positions.as_ref());
                entries.push(match doc.value {
                    PolicyDocument::Policy(p) => {
                        compile_policy(&doc.file, doc.line, *p).map_err(at)?
                    }
                    PolicyDocument::Exception(e) => {
                        Entry::Exception(Arc::new(Exception { exception: *e }))
                    }
                    // The webhook leaves admission policies to the API server; files are
                    // its policies only, so they are not even compiled.
                    PolicyDocument::Other {
                        api_version,
                        kind,
                        value: _,
                    } if is_admission_policy(&api_version, &kind) => {
                        Entry::Ignored { api_version, kind }
                    }
                    PolicyDocument::Other {
                        api_version,
                        kind,
                        value,
                    } => {
                        compile_cel(&doc.file, doc.line, &api_version, &kind, &value).map_err(at)?
                    }
                });
            }
        }
    }
    Ok(PolicySet::new(entries))
}

fn is_admission_policy(api_version: &str, kind: &str) -> bool {
    api_version.starts_with("admissionregistration.k8s.io/")
        && matches!(
            kind,
            "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding"
        )
}

/// Every file under `path` with a YAML or JSON extension (or `path` itself if a file).
pub fn expand(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let shown = path.display().to_string();
    let meta =
        fs::metadata(path).map_err(|e| LoadError::file(&shown, format!("cannot read: {e}")))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let listing = fs::read_dir(&dir).map_err(|e| {
            LoadError::file(
                &dir.display().to_string(),
                format!("cannot list directory: {e}"),
            )
        })?;
        for entry in listing.flatten() {
            let p = entry.path();
            // Hidden entries (`.kyverno-test/`, `.git/`) are skipped, as Kyverno does.
            if p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_path(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel)
    }

    #[test]
    fn loads_the_bundled_pod_security_set() {
        let set = load_dir(&[repo_path("policies/pod-security/baseline")]).unwrap();
        assert_eq!(set.policies().len(), 12);
        assert!(
            set.policies()
                .iter()
                .any(|p| p.name() == "disallow-privileged-containers")
        );
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let err = load_dir(&[PathBuf::from("/nonexistent/palisade")]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/palisade"), "{err}");
    }
}
