//! A block-style YAML emitter that writes JSON values the way kubectl (sigs.k8s.io/yaml over
//! go-yaml v2) prints them: two-space indentation, sequences inside mappings not indented
//! (`key:` then `- item` at the same column), `{}` and `[]` for empty collections, strings
//! quoted exactly when they would otherwise read back as something else.
//!
//! Long plain and quoted strings are folded at spaces past column 80, as go-yaml v2 does
//! (kubectl's long `description:` lines).
//!
//! Differences from go-yaml v2: keys keep the value's order (serde_json sorts them by
//! bytes, go-yaml sorts digit runs numerically); `<<` and text with NEL/LS/PS are always
//! quoted (see [`style::choose`]).

mod scalar;
mod style;

use serde_json::{Map, Value};

use crate::number::format_go_g;
use crate::resolve::float_value;
use scalar::{write_double, write_literal, write_plain, write_single};
use style::{Style, analyze, choose};

/// Keys longer than this (in bytes) are written as explicit `? key` entries, as libyaml does.
const MAX_SIMPLE_KEY: usize = 128;

/// Writes one value as a YAML document (no `---`), ending with a newline.
pub fn to_yaml_string(value: &Value) -> String {
    let mut out = String::new();
    write_node(&mut out, value, 0, Context::Root);
    out
}

/// Writes several documents separated by `---` lines.
pub fn to_yaml_stream(values: &[Value]) -> String {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        write_node(&mut out, value, 0, Context::Root);
    }
    out
}

/// Where a node is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// At the start of a document.
    Root,
    /// After `key:`; the node belongs to a mapping indented by `indent`.
    MapValue,
    /// After `- `; the node is an item of a sequence indented by `indent`.
    SeqItem,
}

/// Writes `value` at `indent`; the output position is just after `key:` or `- `, or at
/// the start of a line for the root. Always ends with a newline.
fn write_node(out: &mut String, value: &Value, indent: usize, ctx: Context) {
    match value {
        Value::Object(map) if !map.is_empty() => match ctx {
            Context::Root => write_map(out, map, 0, false),
            Context::MapValue => {
                out.push('\n');
                write_map(out, map, indent + 2, false);
            }
            Context::SeqItem => {
                out.push(' ');
                write_map(out, map, indent + 2, true);
            }
        },
        Value::Array(items) if !items.is_empty() => match ctx {
            Context::Root => write_seq(out, items, 0, false),
            // kubectl style: a sequence under a key is not indented.
            Context::MapValue => {
                out.push('\n');
                write_seq(out, items, indent, false);
            }
            Context::SeqItem => {
                out.push(' ');
                write_seq(out, items, indent + 2, true);
            }
        },
        scalar => {
            if ctx != Context::Root {
                out.push(' ');
            }
            write_scalar(out, scalar, indent);
            out.push('\n');
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Writes a mapping whose keys sit at `indent`; with `inline`, the first key continues the
/// current line (after `- `).
fn write_map(out: &mut String, map: &Map<String, Value>, indent: usize, inline: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline {
            push_indent(out, indent);
        }
        let a = analyze(key);
        if key.len() <= MAX_SIMPLE_KEY && !a.multiline {
            write_string(out, key, choose(key, &a), indent, false);
        } else {
            // libyaml writes long and multi-line keys as explicit `? key` / `: value`.
            out.push_str("? ");
            write_string(out, key, choose(key, &a), indent, true);
            out.push('\n');
            push_indent(out, indent);
        }
        out.push(':');
        write_node(out, value, indent, Context::MapValue);
    }
}

/// Writes a sequence whose dashes sit at `indent`; with `inline`, the first dash continues
/// the current line.
fn write_seq(out: &mut String, items: &[Value], indent: usize, inline: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline {
            push_indent(out, indent);
        }
        out.push('-');
        write_node(out, item, indent, Context::SeqItem);
    }
}

/// Writes a scalar or an empty collection on the current line. `indent` is the indentation
/// of the enclosing collection (literal block content goes two columns deeper).
fn write_scalar(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_f64(), n.is_f64()) {
            // Go's JSON prints integral floats as integers, which go-yaml then reads as ints.
            (Some(f), true) => match float_value(f) {
                Value::Number(n) if !n.is_f64() => out.push_str(&n.to_string()),
                _ => out.push_str(&format_go_g(f, false)),
            },
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_string(out, s, choose(s, &analyze(s)), indent, true),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Writes a string in `style`. Its continuation lines (literal block lines, folded long
/// lines) go two columns deeper than `indent`; `may_fold` is false for simple keys.
fn write_string(out: &mut String, s: &str, style: Style, indent: usize, may_fold: bool) {
    let fold = may_fold.then_some(indent + 2);
    match style {
        Style::Plain => write_plain(out, s, fold),
        Style::Single => write_single(out, s, fold),
        Style::Double => write_double(out, s, fold),
        Style::Literal => write_literal(out, s, indent + 2),
    }
}

#[cfg(test)]
mod tests;
