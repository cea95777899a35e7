//! Tern: monitoring, error tracking, alerting and cost/performance advice for AWS Lambda,
//! from the functions' logs alone. The `tern` binary is [`commands::run`] behind a thin
//! `main`; tests and benchmarks use the same library.

pub mod alert;
pub mod alerts;
pub mod aws;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod compare;
pub mod config;
pub mod demo;
pub mod errors;
pub mod ingest;
pub mod insights;
pub mod invocations;
pub mod password;
pub mod pull;
pub mod recommend;
pub mod report;
pub mod serve;
pub mod simulate;
pub mod source;
pub mod text;
pub mod timeutil;
pub mod tune;
pub mod views;
pub mod writer;
