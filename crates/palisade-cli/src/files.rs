//! Reading policies, resources and CLI files from paths (files, directories, `-` for stdin).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use palisade_api::load::{
    Files, LoadError, Located, PolicyDocument, for_each_policy_document, parse_values,
};
use palisade_engine::{CompiledPolicy, Exception};
use serde_json::Value;

/// Policies and exceptions loaded from some paths.
#[derive(Default)]
pub struct Loaded {
    /// Compiled classic policies.
    pub policies: Vec<CompiledPolicy>,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Documents of other policy kinds, with their file (not evaluated yet).
    pub unsupported: Vec<(String, String, String)>,
    /// CEL policy types and CEL exceptions.
    pub cel: crate::celpolicies::CelPolicies,
}

/// Every file under `path` with a YAML or JSON extension (or `path` itself if a file), hidden
/// entries skipped; `-` stands for stdin.
pub fn expand(path: &Path) -> Result<Vec<PathBuf>> {
    if path.as_os_str() == "-" {
        return Ok(vec![path.to_path_buf()]);
    }
    palisade_api::load::expand(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Reads a file, or stdin for `-`.
pub fn read(path: &Path) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        return Ok(s);
    }
    fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Policy files as the CLI takes them: `-` is stdin, and an error names the path it is about
/// before the reason (which names it again).
struct PolicyFiles;

impl Files for PolicyFiles {
    fn expand(&self, path: &Path) -> std::result::Result<Vec<PathBuf>, LoadError> {
        expand(path).map_err(|e| LoadError::file(&path.display().to_string(), e.to_string()))
    }

    fn read(&self, file: &Path) -> std::result::Result<String, LoadError> {
        read(file).map_err(|e| LoadError::file(&file.display().to_string(), e.to_string()))
    }
}

/// Loads and compiles the policies and exceptions found under `paths`.
pub fn load_policies(paths: &[PathBuf]) -> std::result::Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    for_each_policy_document(paths, &PolicyFiles, |doc| add(&mut loaded, doc))?;
    Ok(loaded)
}

fn add(loaded: &mut Loaded, doc: Located<PolicyDocument>) -> std::result::Result<(), LoadError> {
    match doc.value {
        PolicyDocument::Policy(p) => loaded.policies.push(palisade_admission::compile_located(
            &doc.file, doc.line, *p,
        )?),
        PolicyDocument::Exception(e) => loaded.exceptions.push(Exception { exception: *e }),
        PolicyDocument::Other {
            api_version,
            kind,
            value,
        } => {
            let cel = &mut loaded.cel;
            match crate::celpolicies::add(cel, &doc.file, doc.line, &api_version, &kind, &value) {
                Some(result) => result?,
                None => loaded.unsupported.push((doc.file, api_version, kind)),
            }
        }
    }
    Ok(())
}

/// Loads exceptions from separate paths.
pub fn load_exceptions(paths: &[PathBuf]) -> std::result::Result<Vec<Exception>, LoadError> {
    let loaded = load_policies(paths)?;
    Ok(loaded.exceptions)
}

/// Loads every document under `paths` as a resource.
pub fn load_resources(paths: &[PathBuf]) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for path in paths {
        for file in expand(path)? {
            let name = file.display().to_string();
            let text = read(&file)?;
            let docs: Vec<Located<Value>> =
                parse_values(&name, &text).map_err(anyhow::Error::msg)?;
            for d in docs {
                flatten_lists(d.value, &mut out);
            }
        }
    }
    Ok(out)
}

/// A `kind: List` holds its resources under `items`.
pub(crate) fn flatten_lists(v: Value, out: &mut Vec<Value>) {
    if v.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && let Some(Value::Array(items)) = v.get("items")
    {
        for item in items.clone() {
            flatten_lists(item, out);
        }
        return;
    }
    if v.is_object() {
        out.push(v);
    }
}

/// Loads a test's cluster resources. A `cli.kyverno.io` `ClusterResource` document contributes
/// its `spec.resources` and the CRDs its `spec.crds` name (paths relative to `dir`, the test's
/// directory, as Kyverno resolves them); any other document is a resource itself.
pub fn load_cluster_resources(paths: &[PathBuf], dir: &Path) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for doc in load_resources(paths)? {
        let is_bundle = doc.get("kind").and_then(Value::as_str) == Some("ClusterResource")
            && doc
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("cli.kyverno.io/"));
        if !is_bundle {
            out.push(doc);
            continue;
        }
        if let Some(items) = doc.pointer("/spec/resources").and_then(Value::as_array) {
            out.extend(items.iter().cloned());
        }
        let crds: Vec<PathBuf> = doc
            .pointer("/spec/crds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|p| dir.join(p))
            .collect();
        out.extend(load_resources(&crds)?);
    }
    Ok(out)
}

/// Reads one YAML document from a file (values, user info).
pub fn read_one(path: &Path) -> Result<Value> {
    let name = path.display().to_string();
    let text = read(path)?;
    let docs = parse_values(&name, &text).map_err(anyhow::Error::msg)?;
    match docs.into_iter().next() {
        Some(d) => Ok(d.value),
        None => bail!("{name}: empty document"),
    }
}
