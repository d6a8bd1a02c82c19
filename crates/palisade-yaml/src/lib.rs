//! YAML 1.1 loading (as Kyverno reads it) with source positions, limits against hostile input, and a YAML emitter.
//!
//! Kyverno reads YAML with sigs.k8s.io/yaml, i.e. go-yaml v2 resolution followed by a
//! conversion to JSON. This crate reproduces that on top of saphyr-parser's events:
//!
//! - plain scalars resolve with go-yaml v2's table: `yes`/`on`/`y` are `true`, `0755` is
//!   493, `1_000` is 1000, `1e3` is 1000 (integral floats print as integers in Go's JSON);
//!   quoted and block scalars are strings; `!!str`, `!!int`, ... tags are honoured;
//! - mapping keys become JSON strings (`1` → `"1"`, `true` → `"true"`); null keys and
//!   collection keys are errors, as in sigs.k8s.io/yaml;
//! - merge keys (`<<`) work as in go-yaml v2; duplicate keys are an error (optional);
//! - `.inf`/`.nan` values are errors, because JSON cannot hold them.
//!
//! Known differences from Kyverno:
//! - duplicate keys are an error naming both lines (go-yaml v2's non-strict decoder keeps
//!   the last one; set [`Options::allow_duplicate_keys`] for that);
//! - the parser is YAML 1.2 syntax (saphyr-parser): NEL, LS and PS are not line breaks,
//!   and flow collections nest at most 255 deep;
//! - integers between 2^63 and 2^64 stay exact `u64` (Kubernetes' untyped JSON decoding
//!   would make them `float64`);
//! - Kyverno splits streams on `---` lines before parsing; a `--- value` line (content on
//!   the separator line) starts a document here but not there.
//!
//! Loading is bounded by [`Limits`] (input size, nesting depth, alias expansion), without
//! recursion, so hostile input gives an [`Error`], never a crash. [`parse_bytes`] and
//! [`fuzz_roundtrip`] are entry points for fuzzing.
//!
//! ```
//! use palisade_yaml::{parse_documents, Options, PathSegment, render_path};
//!
//! let src = "kind: Pod\nspec:\n  containers:\n  - name: app\n    privileged: yes\n";
//! let docs = parse_documents(src, &Options::with_positions()).unwrap();
//! assert_eq!(docs[0].value["spec"]["containers"][0]["privileged"], true);
//!
//! let path = ["spec".into(), "containers".into(), 0.into(), "image".into()];
//! let at = docs[0].positions.as_ref().unwrap().lookup(&path).unwrap();
//! assert_eq!((at.line, at.column), (4, 5)); // `image` is missing: the container's line
//! assert_eq!(render_path(&path), "spec.containers[0].image");
//! ```

mod emit;
mod error;
mod frame;
mod json_piece;
mod json_stream;
mod loader;
mod number;
mod options;
mod pieces;
mod positions;
mod resolve;
mod timestamp;

pub use emit::{to_yaml_stream, to_yaml_string};
pub use error::{Error, ErrorKind};
pub use options::{Limits, Options};
pub use pieces::{Pieces, pieces};
pub use positions::{Location, PathSegment, Positions, parse_path, render_path};

use serde_json::Value;

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document as JSON.
    pub value: Value,
    /// 1-based line where the document's content starts.
    pub line: usize,
    /// Node positions, when [`Options::positions`] was set.
    pub positions: Option<Positions>,
}

/// Loads every document of a YAML stream (`---`-separated) or of concatenated JSON
/// documents. Empty and null documents are skipped. A leading byte-order mark is ignored.
///
/// # Errors
/// Syntax errors, values JSON cannot hold, duplicate keys, and exceeded [`Limits`], each
/// with the line and column it was found at.
pub fn parse_documents(src: &str, opts: &Options) -> Result<Vec<Document>, Error> {
    let limit = opts.limits.max_input_bytes;
    if src.len() > limit {
        return Err(Error::new(
            1,
            1,
            ErrorKind::InputTooLarge {
                size: src.len(),
                limit,
            },
        ));
    }
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    match load(src, opts) {
        Ok(docs) => Ok(docs),
        Err(err) => match json_stream::split(src) {
            Some(chunks) => load_json_chunks(src, &chunks, opts),
            None => Err(err),
        },
    }
}

/// [`parse_documents`] on raw bytes, which must be UTF-8.
///
/// # Errors
/// As [`parse_documents`], plus [`ErrorKind::InvalidUtf8`].
pub fn parse_bytes(src: &[u8], opts: &Options) -> Result<Vec<Document>, Error> {
    let limit = opts.limits.max_input_bytes;
    if src.len() > limit {
        return Err(Error::new(
            1,
            1,
            ErrorKind::InputTooLarge {
                size: src.len(),
                limit,
            },
        ));
    }
    match std::str::from_utf8(src) {
        Ok(text) => parse_documents(text, opts),
        Err(e) => {
            let good = &src[..e.valid_up_to()];
            let line = 1 + good.iter().filter(|b| **b == b'\n').count();
            let column = 1 + good
                .rsplit(|b| *b == b'\n')
                .next()
                .map_or(0, |l| String::from_utf8_lossy(l).chars().count());
            Err(Error::new(
                line,
                column,
                ErrorKind::InvalidUtf8(e.valid_up_to()),
            ))
        }
    }
}

/// Loads one stream. Without positions, a duplicate key's first occurrence is unknown; the
/// stream is then loaded again with positions to name its line (errors are rare, loading
/// without positions is the fast path).
fn load(src: &str, opts: &Options) -> Result<Vec<Document>, Error> {
    match loader::Loader::load(src, opts) {
        Err(Error {
            kind: ErrorKind::DuplicateKey { first_line: 0, .. },
            ..
        }) if !opts.positions => {
            let with_positions = Options {
                positions: true,
                ..opts.clone()
            };
            loader::Loader::load(src, &with_positions)
        }
        other => other,
    }
}

fn load_json_chunks(
    src: &str,
    chunks: &[json_stream::Chunk],
    opts: &Options,
) -> Result<Vec<Document>, Error> {
    let mut docs = Vec::new();
    for chunk in chunks {
        let piece = load(&src[chunk.start..chunk.end], opts).map_err(|e| chunk.shift_error(e))?;
        for mut doc in piece {
            doc.line = chunk
                .shift(Location {
                    line: doc.line,
                    column: 1,
                })
                .line;
            if let Some(p) = &mut doc.positions {
                p.shift(|loc| chunk.shift(loc));
            }
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// Fuzzing entry point: loads arbitrary bytes with positions and default limits and, for
/// input that loads, checks that emitting and re-loading gives the same values. Never
/// panics; returns `false` only when that round trip changes a value (a bug).
pub fn fuzz_roundtrip(data: &[u8]) -> bool {
    let Ok(docs) = parse_bytes(data, &Options::with_positions()) else {
        return true;
    };
    let values: Vec<Value> = docs.into_iter().map(|d| d.value).collect();
    let text = to_yaml_stream(&values);
    match parse_documents(&text, &Options::default()) {
        Ok(again) => again.into_iter().map(|d| d.value).eq(values),
        Err(_) => false,
    }
}
