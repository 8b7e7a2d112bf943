//! Everything that talks to a gateway: the connector trait, its AWS implementation (SDK
//! clients per environment, the live check, pre-deploy lookups, the shared rate limiter)
//! and an in-memory fake for the service tests.

pub mod apigateway;
pub mod check;
pub mod clients;
pub mod connector;
mod discover;
pub mod error;
pub mod fake;
pub mod limiter;
pub mod managed_authorizer;
pub mod predeploy;
mod read;
