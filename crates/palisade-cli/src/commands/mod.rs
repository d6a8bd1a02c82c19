//! The subcommands.

pub mod apply;
mod apply_output;
mod apply_report;
pub mod jp;
pub mod test;
mod test_output;
