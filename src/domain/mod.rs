//! Pure types and rules. Nothing here performs I/O.

pub mod api;
pub mod application;
pub mod authorizer;
pub mod aws;
pub mod client;
pub mod deployment;
pub mod discovery;
pub mod environment;
pub mod gateway_state;
pub mod ids;
pub mod key_manager;
pub mod lifecycle;
pub mod managed_authorizer;
pub mod merge_patch;
pub mod openapi;
pub mod plan;
pub mod predeploy;
pub mod scope;
pub mod translate;
pub mod validation;
pub mod zip;
