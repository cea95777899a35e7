//! The embedded SQLite backend (placeholder until implemented).
pub struct SqliteStore;
