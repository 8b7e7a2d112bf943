//! Integration tests: one binary (each extra one would link the AWS SDK again), one
//! module per area. Every test spawns the real app on port 0 with a fresh database.

mod auth;
mod authorizer;
mod aws_errors;
mod aws_plumbing;
mod clients;
mod common;
mod core_jobs;
mod core_races;
mod core_service;
mod deploy_lifecycle;
mod deploy_localstack;
mod deployments;
mod devportal_applications;
mod devportal_catalog;
mod devportal_external;
mod devportal_keys;
mod discovery;
mod drift;
mod edge;
mod embedded_postgres;
mod end_to_end;
mod environments;
mod errors;
mod health;
mod key_managers;
mod managed_authorizer;
mod managed_policies;
mod managed_policy_writes;
mod operator;
mod publisher_apis;
mod publisher_import;
mod publisher_lifecycle;
mod publisher_revisions;
mod secrets;
mod security;
