//! Tern's pure core: everything that turns Lambda log events into knowledge.
//!
//! **Architecture Invariant:** this crate does no IO (no files, network, database, clock or
//! environment) and never panics on input. Callers hand it bytes and events; it hands back
//! values plus diagnostics.

pub mod alert;
pub mod assemble;
pub mod cost;
pub mod fingerprint;
pub mod impact;
pub mod input;
pub mod insights;
pub mod model;
pub mod parse;
pub mod price_book;
pub mod recommend;
pub mod report;
pub mod sketch;
pub mod time;
