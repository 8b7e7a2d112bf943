//! Everything that talks to AWS: SDK clients per environment and the live check.

pub mod check;
pub mod clients;
