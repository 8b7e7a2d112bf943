//! Pure types and rules. Nothing here performs I/O.

pub mod api;
pub mod client;
pub mod ids;
pub mod lifecycle;
pub mod openapi;
pub mod scope;
pub mod validation;
