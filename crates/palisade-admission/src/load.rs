//! Loading policy files from disk (the webhook's file mode and tools).

use std::path::PathBuf;
use std::sync::Arc;

use palisade_api::load::{Disk, LoadError, PolicyDocument, for_each_policy_document};
use palisade_engine::Exception;

use crate::set::{Entry, PolicySet, compile_cel, compile_policy};

/// Loads every YAML/JSON file under `paths` (directories recursively, hidden entries skipped,
/// files in name order, as the CLI does) into a set. The first error wins.
pub fn load_dir(paths: &[PathBuf]) -> Result<PolicySet, LoadError> {
    let mut entries = Vec::new();
    for_each_policy_document(paths, &Disk, |doc| {
        entries.push(match doc.value {
            PolicyDocument::Policy(p) => compile_policy(&doc.file, doc.line, *p)?,
            PolicyDocument::Exception(e) => Entry::Exception(Arc::new(Exception { exception: *e })),
            // The webhook leaves admission policies to the API server; files are
            // its policies only, so they are not even compiled.
            PolicyDocument::Other {
                api_version,
                kind,
                value: _,
            } if is_admission_policy(&api_version, &kind) => Entry::Ignored { api_version, kind },
            PolicyDocument::Other {
                api_version,
                kind,
                value,
            } => compile_cel(&doc.file, doc.line, &api_version, &kind, &value)?,
        });
        Ok(())
    })?;
    Ok(PolicySet::new(entries))
}

fn is_admission_policy(api_version: &str, kind: &str) -> bool {
    api_version.starts_with("admissionregistration.k8s.io/")
        && matches!(
            kind,
            "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding"
        )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

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
