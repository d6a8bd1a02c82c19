//! Rendering results for people (tables, colour, progress) and for tools (JUnit, markdown).

pub mod junit;
pub mod markdown;
pub mod progress;
pub mod style;
pub mod table;
