//! placeholder

use super::FnDef;

pub(crate) static DEFS: &[FnDef] = &[];
