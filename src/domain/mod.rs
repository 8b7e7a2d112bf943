//! Pure types and rules. Nothing here performs I/O.

pub mod client;
pub mod ids;
pub mod scope;
pub mod validation;
