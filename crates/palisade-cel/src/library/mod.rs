//! Function libraries: the CEL standard library and the Kubernetes extensions, one file per family.

pub(crate) mod core;
pub(crate) mod encoders;
pub(crate) mod format;
pub(crate) mod ip;
pub(crate) mod lists;
pub(crate) mod math;
pub(crate) mod named_format;
pub(crate) mod optional;
pub(crate) mod quantity;
pub(crate) mod regex;
pub(crate) mod regex_ext;
pub(crate) mod semver;
pub(crate) mod sets;
pub(crate) mod strings;
pub(crate) mod time;
pub(crate) mod url;

#[cfg(test)]
pub(crate) mod testutil;

use crate::registry::Registry;

/// Registers every library of the Kubernetes CEL environment.
pub(crate) fn register_all(reg: &mut Registry) {
    core::register(reg);
    time::register(reg);
    optional::register(reg);
    regex::register(reg);
    regex_ext::register(reg);
    strings::register(reg);
    format::register(reg);
    lists::register(reg);
    sets::register(reg);
    url::register(reg);
    ip::register(reg);
    quantity::register(reg);
    semver::register(reg);
    named_format::register(reg);
    math::register(reg);
    encoders::register(reg);
}
