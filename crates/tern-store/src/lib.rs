//! Tern's storage boundary.
//!
//! [`Store`] speaks in domain terms (invocation parts in, function statistics out), never in
//! SQL strings, so the SQLite and ClickHouse backends answer the same questions. Every backend runs the one conformance suite in `conformance` (feature `conformance`, for tests).
//!
//! **Architecture Invariant:** ingest is idempotent. Storing the same parts twice changes
//! nothing: invocations are keyed by (log group, log stream, request id), log lines are
//! deduplicated by event id (or time and text), and rollups only count an invocation once, when
//! its REPORT is first stored.

mod alerting;
pub mod backend;
pub mod clickhouse;
#[cfg(feature = "conformance")]
pub mod conformance;
mod derived;
mod forward;
pub mod sqlite;
mod store;
mod types;

pub use alerting::*;
pub use backend::{ClickHouseConfig, StoreBackend};
pub use clickhouse::ClickHouseStore;
pub use derived::*;
pub use sqlite::SqliteStore;
pub use store::*;
pub use types::*;

/// The errors a caller can act on. Backend-specific detail is in the message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or is not a Tern database.
    #[error("cannot open store at {path}: {message}")]
    Open { path: String, message: String },
    /// The database was written by a newer Tern (schema version too high).
    #[error("store schema version {found} is newer than this Tern supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    /// Stored data could not be decoded (corrupt blob, bad sketch).
    #[error("corrupt data in store: {0}")]
    Corrupt(String),
    #[error("store error: {0}")]
    Backend(String),
}

pub use tern_core::model::Arch;
