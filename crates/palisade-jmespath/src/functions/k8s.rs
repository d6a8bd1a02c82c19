//! placeholder

use super::FnDef;

pub(crate) static DEFS: &[FnDef] = &[];
pub(crate) static X509_DEFS: &[FnDef] = &[];
