//! What `palisade apply` does with mutated and generated resources, as Kyverno's `apply`:
//! without `--output` they are printed before the summary; `--output FILE` writes them all to
//! one YAML stream; `--output DIR` (an existing directory, or a path ending in `/`) writes one
//! file per resource: `<name>-mutated.yaml` (the resource after every mutate policy) and
//! `<name>-generated.yaml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use palisade_engine::{Action, RuleStatus};
use serde_json::Value;

use crate::run::Outcome;

/// One resource to show or write.
struct Produced {
    /// What produced it, for the printed header.
    header: String,
    /// The file stem when writing to a directory.
    stem: String,
    /// The resource.
    resource: Value,
}

fn id(r: &Value) -> String {
    let text = |p: &str| r.pointer(p).and_then(Value::as_str).unwrap_or_default();
    match text("/metadata/namespace") {
        "" => format!("{}/{}", text("/kind"), text("/metadata/name")),
        ns => format!("{ns}/{}/{}", text("/kind"), text("/metadata/name")),
    }
}

fn name(r: &Value) -> String {
    r.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("resource")
        .replace(['/', '\\'], "_")
}

fn produced(outcomes: &[Outcome]) -> Vec<Produced> {
    let mut out = Vec::new();
    for o in outcomes {
        let passed = o
            .response
            .rules
            .iter()
            .any(|r| r.status == RuleStatus::Pass);
        let changed = |p: &&Value| passed && **p != o.resource;
        if let Some(patched) = o.artifacts.patched.as_ref().filter(changed) {
            out.push(Produced {
                header: format!("mutate policy {} applied to {}", o.policy, id(&o.resource)),
                stem: format!("{}-mutated", name(&o.resource)),
                resource: patched.clone(),
            });
        }
        for t in &o.artifacts.targets {
            out.push(Produced {
                header: format!(
                    "mutate policy {} (rule {}) patched target {}",
                    o.policy,
                    t.rule,
                    id(&t.original)
                ),
                stem: format!("{}-mutated", name(&t.original)),
                resource: t.patched.clone(),
            });
        }
        for g in &o.artifacts.generated {
            if g.action == Action::Unchanged {
                continue;
            }
            out.push(Produced {
                header: format!(
                    "generate policy {} (rule {}) generated {} for {}",
                    o.policy,
                    g.rule,
                    id(&g.resource),
                    id(&o.resource)
                ),
                stem: format!("{}-generated", name(&g.resource)),
                resource: g.resource.clone(),
            });
        }
    }
    out
}

/// Handles the produced resources: returns the text to print, or writes `output` and returns
/// a note saying so. Nothing produced gives an empty string.
pub fn emit(outcomes: &[Outcome], output: Option<&Path>) -> Result<String> {
    let items = produced(outcomes);
    if items.is_empty() {
        return Ok(String::new());
    }
    let Some(path) = output else {
        let mut text = String::new();
        for p in &items {
            text.push_str(&format!(
                "\n{}:\n{}---\n",
                p.header,
                palisade_yaml::to_yaml_string(&p.resource)
            ));
        }
        return Ok(text);
    };
    if is_dir(path) {
        write_dir(path, &items)?;
    } else {
        let docs: Vec<Value> = items.iter().map(|p| p.resource.clone()).collect();
        std::fs::write(path, palisade_yaml::to_yaml_stream(&docs))
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(format!(
        "\nMutated and generated resources written to {}\n",
        path.display()
    ))
}

fn is_dir(path: &Path) -> bool {
    path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/')
}

/// One file per stem; the last resource with a stem wins (the fully mutated one).
fn write_dir(dir: &Path, items: &[Produced]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut files: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for p in items {
        let docs = files.entry(p.stem.clone()).or_default();
        if p.stem.ends_with("-mutated") {
            docs.clear();
        }
        docs.push(&p.resource);
    }
    for (stem, docs) in files {
        let file: PathBuf = dir.join(format!("{stem}.yaml"));
        let docs: Vec<Value> = docs.into_iter().cloned().collect();
        std::fs::write(&file, palisade_yaml::to_yaml_stream(&docs))
            .with_context(|| format!("{}: cannot write", file.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::Artifacts;
    use palisade_api::RuleType;
    use palisade_engine::{PolicyResponse, RuleResponse};
    use serde_json::json;

    fn outcome(status: RuleStatus, patched: Value) -> Outcome {
        Outcome {
            policy: "p".into(),
            resource: json!({"kind": "Pod", "metadata": {"name": "web", "namespace": "ns"}}),
            response: PolicyResponse {
                policy: "p".into(),
                rules: vec![RuleResponse::new("r", RuleType::Mutation, status, "m")],
            },
            artifacts: Artifacts {
                patched: Some(patched),
                ..Artifacts::default()
            },
        }
    }

    #[test]
    fn prints_only_resources_a_rule_changed() {
        let changed = outcome(
            RuleStatus::Pass,
            json!({"kind": "Pod", "metadata": {"name": "web"}}),
        );
        let unchanged = outcome(RuleStatus::Pass, changed.resource.clone());
        assert_eq!(emit(&[unchanged], None).unwrap(), "");
        let text = emit(&[changed], None).unwrap();
        assert!(
            text.contains("mutate policy p applied to ns/Pod/web:"),
            "{text}"
        );
        assert!(text.contains("name: web"), "{text}");
        let skipped = outcome(RuleStatus::Skip, json!({}));
        assert_eq!(emit(&[skipped], None).unwrap(), "");
    }

    #[test]
    fn writes_a_file_or_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let o = outcome(
            RuleStatus::Pass,
            json!({"kind": "Pod", "metadata": {"name": "web"}}),
        );
        let file = tmp.path().join("out.yaml");
        emit(std::slice::from_ref(&o), Some(&file)).unwrap();
        assert!(
            std::fs::read_to_string(&file)
                .unwrap()
                .contains("name: web")
        );
        let dir = tmp.path().join("dir/");
        emit(&[o], Some(&dir)).unwrap();
        let written = std::fs::read_to_string(dir.join("web-mutated.yaml")).unwrap();
        assert!(written.contains("kind: Pod"));
    }
}
