//! named_format library.

use crate::registry::Registry;

pub(crate) fn register(_reg: &mut Registry) {}
