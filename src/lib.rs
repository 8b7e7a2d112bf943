//! fedgate: a federated AWS API Gateway control plane.

pub mod app;
pub mod auth;
pub mod aws;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod domain;
pub mod http;
pub mod idp;
pub mod outbound;
pub mod secrets;
pub mod service;
pub mod store;
pub mod telemetry;

pub use app::Application;
pub use config::Config;
pub use service::AppState;
