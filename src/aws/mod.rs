//! Everything that talks to AWS: SDK clients per environment and the live check.

pub mod apigateway;
pub mod check;
pub mod clients;
pub mod connector;
pub mod error;
pub mod predeploy;
