//! Loading documents from YAML/JSON text, with file, line and field path in every error, and
//! walking the policy paths a command or service is given ([`for_each_policy_document`]).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use palisade_yaml::{Document as YamlDocument, Options, PathSegment, Positions};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::exception::PolicyException;
use crate::policy::Policy;

/// A document that failed to load, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct LoadError {
    /// The file (or `-` for stdin).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Field path inside the document, e.g. `spec.rules[2].validate.pattern`.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        match &self.path {
            Some(path) if !path.is_empty() => write!(f, ": {path}: {}", self.message),
            _ => write!(f, ": {}", self.message),
        }
    }
}

impl LoadError {
    /// An error about a whole file.
    pub fn file(file: &str, message: impl Into<String>) -> Self {
        LoadError {
            file: file.to_string(),
            line: None,
            path: None,
            message: message.into(),
        }
    }
}

/// One document of a policy file, classified by apiVersion and kind.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyDocument {
    /// A `kyverno.io` ClusterPolicy or Policy.
    Policy(Box<Policy>),
    /// A `kyverno.io` PolicyException.
    Exception(Box<PolicyException>),
    /// Any other document: a CEL policy type, a resource, ...
    Other {
        /// Its apiVersion.
        api_version: String,
        /// Its kind.
        kind: String,
        /// The document.
        value: Value,
    },
}

/// A decoded document and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    /// The decoded value.
    pub value: T,
    /// Source file.
    pub file: String,
    /// First line of the document.
    pub line: usize,
    /// Where each of its nodes is, when the loader kept positions (policy files).
    pub positions: Option<Positions>,
}

/// Moves `err` to the line of the field its path names (a compile error found after decoding
/// knows its field path but only the document's first line).
pub fn relocate(mut err: LoadError, positions: Option<&Positions>) -> LoadError {
    if let (Some(path), Some(positions)) = (&err.path, positions)
        && let Some(at) = positions.lookup(&palisade_yaml::parse_path(path))
    {
        err.line = Some(at.line);
    }
    err
}

/// Parses YAML or JSON text into plain documents (empty documents are dropped).
pub fn parse_values(file: &str, src: &str) -> Result<Vec<Located<Value>>, LoadError> {
    let docs = parse(file, src, false)?;
    Ok(docs
        .into_iter()
        .map(|d| Located {
            value: d.value,
            file: file.to_string(),
            line: d.line,
            positions: None,
        })
        .collect())
}

/// Parses a policy file: ClusterPolicies, Policies and PolicyExceptions are decoded strictly;
/// other documents are returned as they are.
pub fn load_policy_documents(
    file: &str,
    src: &str,
) -> Result<Vec<Located<PolicyDocument>>, LoadError> {
    let mut out = Vec::new();
    for doc in parse(file, src, true)? {
        let line = doc.line;
        let (api_version, kind) = type_meta(&doc.value);
        let group = api_version.split('/').next().unwrap_or_default();
        let value = match (group, kind.as_str()) {
            ("kyverno.io", "ClusterPolicy" | "Policy") => {
                PolicyDocument::Policy(Box::new(decode(file, &doc)?))
            }
            ("kyverno.io", "PolicyException") => {
                PolicyDocument::Exception(Box::new(decode(file, &doc)?))
            }
            _ => PolicyDocument::Other {
                api_version,
                kind,
                value: doc.value,
            },
        };
        out.push(Located {
            value,
            file: file.to_string(),
            line,
            positions: doc.positions,
        });
    }
    Ok(out)
}

/// How a walk over policy paths lists and reads files: [`Disk`], or a caller's own (the CLI
/// adds `-` for stdin and words its errors its own way).
pub trait Files {
    /// The files `path` stands for, in load order.
    fn expand(&self, path: &Path) -> Result<Vec<PathBuf>, LoadError>;
    /// The text of one of them.
    fn read(&self, file: &Path) -> Result<String, LoadError>;
}

/// The file system: paths are [`expand`]ed, files read whole.
pub struct Disk;

impl Files for Disk {
    fn expand(&self, path: &Path) -> Result<Vec<PathBuf>, LoadError> {
        expand(path)
    }

    fn read(&self, file: &Path) -> Result<String, LoadError> {
        fs::read_to_string(file)
            .map_err(|e| LoadError::file(&file.display().to_string(), format!("cannot read: {e}")))
    }
}

/// Hands every document of every file under `paths` to `each`, in order (as
/// [`load_policy_documents`] decodes them). An error from `each` is moved to the line of the
/// field it names ([`relocate`]); the first error ends the walk.
pub fn for_each_policy_document(
    paths: &[PathBuf],
    files: &impl Files,
    mut each: impl FnMut(Located<PolicyDocument>) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    for path in paths {
        for file in files.expand(path)? {
            let name = file.display().to_string();
            let text = files.read(&file)?;
            for mut doc in load_policy_documents(&name, &text)? {
                let positions = doc.positions.take();
                each(doc).map_err(|e| relocate(e, positions.as_ref()))?;
            }
        }
    }
    Ok(())
}

/// Every file under `path` with a YAML or JSON extension (or `path` itself if a file), in name
/// order: directories are walked recursively, hidden entries skipped.
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

/// The apiVersion and kind of a document (empty strings when absent).
pub fn type_meta(value: &Value) -> (String, String) {
    let get = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (get("apiVersion"), get("kind"))
}

/// Decodes one parsed document strictly into `T`, locating any error.
pub fn decode<T: DeserializeOwned>(file: &str, doc: &YamlDocument) -> Result<T, LoadError> {
    decode_value(file, &doc.value, Some(doc))
}

/// Decodes a value strictly into `T`; `doc` (when given) supplies line numbers.
pub fn decode_value<T: DeserializeOwned>(
    file: &str,
    value: &Value,
    doc: Option<&YamlDocument>,
) -> Result<T, LoadError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let mut segments = to_segments(err.path());
        let message = err.inner().to_string();
        // serde reports an unknown field at its parent; point at the field itself.
        if let Some(field) = unknown_field(&message)
            && !matches!(segments.last(), Some(PathSegment::Key(k)) if *k == field)
        {
            segments.push(PathSegment::Key(field));
        }
        let line = doc
            .and_then(|d| d.positions.as_ref())
            .and_then(|p| p.lookup(&segments));
        LoadError {
            file: file.to_string(),
            line: line.map(|l| l.line).or(doc.map(|d| d.line)),
            path: Some(palisade_yaml::render_path(&segments)),
            message,
        }
    })
}

fn parse(file: &str, src: &str, positions: bool) -> Result<Vec<YamlDocument>, LoadError> {
    let opts = Options {
        positions,
        ..Options::default()
    };
    palisade_yaml::parse_documents(src, &opts).map_err(|e| LoadError {
        file: file.to_string(),
        line: Some(e.line),
        path: None,
        message: e.message(),
    })
}

fn to_segments(path: &serde_path_to_error::Path) -> Vec<PathSegment> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(PathSegment::Index(*index)),
            Segment::Map { key } => Some(PathSegment::Key(key.clone())),
            Segment::Enum { variant } => Some(PathSegment::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  rules:
  - name: a
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      pattern:
        spec: {}
  - name: b
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      patern:
        spec: {}
";

    #[test]
    fn unknown_field_is_reported_with_line_and_path() {
        let err = load_policy_documents("p.yaml", POLICY).unwrap_err();
        assert_eq!(err.path.as_deref(), Some("spec.rules[1].validate.patern"));
        assert_eq!(err.line, Some(21));
        assert!(
            err.to_string()
                .starts_with("p.yaml:21: spec.rules[1].validate.patern: unknown field `patern`"),
            "{err}"
        );
    }

    #[test]
    fn valid_policy_loads() {
        let fixed = POLICY.replace("patern", "pattern");
        let docs = load_policy_documents("p.yaml", &fixed).unwrap();
        let PolicyDocument::Policy(p) = &docs[0].value else {
            panic!("not a policy")
        };
        assert_eq!(p.spec.rules.len(), 2);
    }

    #[test]
    fn other_documents_pass_through() {
        let docs =
            load_policy_documents("x.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
                .unwrap();
        assert!(matches!(&docs[0].value, PolicyDocument::Other { kind, .. } if kind == "Pod"));
    }
}
