//! The subcommands.

pub mod apply;
mod apply_output;
pub mod jp;
pub mod test;
mod test_output;
