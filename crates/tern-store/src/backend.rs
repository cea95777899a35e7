//! Which store a process uses, chosen by `[store]` in tern.toml.
//!
//! The embedded SQLite file is the zero-setup default. ClickHouse is for fleets that outgrow
//! one machine; several stateless `tern serve` collectors can share one ClickHouse.

use std::path::PathBuf;

use crate::{ClickHouseStore, SqliteStore, Store, StoreError};

/// How to reach a ClickHouse server over its HTTP interface.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickHouseConfig {
    /// Base URL of the HTTP interface, `http://host:8123` or `https://host:8443`.
    pub url: String,
    /// Database holding Tern's tables; created when missing.
    pub database: String,
    /// User name (ClickHouse's default user is `default`).
    pub user: String,
    /// Password, if the user has one. Never logged.
    pub password: Option<String>,
    /// Extra PEM CA certificates for an `https` URL with a private CA.
    pub ca_file: Option<PathBuf>,
    /// Cluster name: DDL runs `ON CLUSTER`, tables are Replicated with Distributed fronts.
    /// `None` is a single server.
    pub cluster: Option<String>,
}

impl std::fmt::Debug for ClickHouseConfig {
    /// Everything but the password, which shows only whether there is one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .field("cluster", &self.cluster)
            .finish()
    }
}

/// The store a process opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// The embedded SQLite database at this path.
    Sqlite(PathBuf),
    /// A ClickHouse server.
    ClickHouse(ClickHouseConfig),
}

impl StoreBackend {
    /// Open the store for reading and writing; creates or migrates the schema.
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        match self {
            StoreBackend::Sqlite(path) => Ok(Box::new(SqliteStore::open(path)?)),
            StoreBackend::ClickHouse(c) => Ok(Box::new(ClickHouseStore::open(c)?)),
        }
    }

    /// Open a handle for queries only (SQLite: a read-only connection; ClickHouse: the same
    /// client, since the server handles concurrency).
    pub fn open_read_only(&self) -> Result<Box<dyn Store>, StoreError> {
        match self {
            StoreBackend::Sqlite(path) => Ok(Box::new(SqliteStore::open_read_only(path)?)),
            StoreBackend::ClickHouse(c) => Ok(Box::new(ClickHouseStore::open_read_only(c)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let c = ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            database: "tern".into(),
            user: "default".into(),
            password: Some("s3cret-pw".into()),
            ca_file: None,
            cluster: None,
        };
        let shown = format!("{c:?} {:?}", StoreBackend::ClickHouse(c.clone()));
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(shown.contains("127.0.0.1:8123"), "{shown}");
    }
}
