//! What every handler shares: limits, token hashes, the writer handle, read connections,
//! metrics.

use std::sync::{Arc, Mutex};

use tern_store::Store;
use tokio::sync::Semaphore;

use super::metrics::Metrics;
use crate::config::TokenHash;
use crate::writer::WriterHandle;

/// Extra Prometheus text appended to `/metrics` (the pull loop's figures).
pub type ExtraMetrics = Arc<dyn Fn(&mut String) + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body on the ingest endpoints, as sent.
    pub max_body_bytes: usize,
    /// Largest size one ingest request may inflate to, all layers together.
    pub max_decompressed_bytes: usize,
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub limits: Limits,
    pub api_tokens: Vec<TokenHash>,
    pub ingest_keys: Vec<TokenHash>,
    pub writer: WriterHandle,
    pub reads: ReadPool,
    /// Ingest requests decoded at once. A request waits for a permit *before* its body is
    /// read, so memory is bounded by permits × (body + inflated) whatever the load.
    pub decoding: Semaphore,
    pub metrics: Metrics,
    pub extra_metrics: Option<ExtraMetrics>,
    /// Channels and policies, for the alerting API.
    pub alerts: Arc<crate::alert::rules::AlertConfig>,
    /// `[insights]`: thresholds and disabled rules for the report and insights routes.
    pub insights: crate::insights::InsightSettings,
    /// Dashboard sessions (cookie id → CSRF token, expiry).
    pub sessions: super::ui::session::Sessions,
    /// Mark session cookies `Secure` (the server listens beyond loopback).
    pub secure_cookies: bool,
    /// `[[dashboard.users]]`: names and password hashes for the dashboard's login.
    pub users: Vec<crate::config::DashboardUser>,
    /// Failed password logins, for slowing guessing.
    pub logins: super::ui::throttle::Throttle,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// A few read-only store handles, used on the blocking thread pool. SQLite in WAL mode lets
/// them read while the writer writes; ClickHouse serves concurrent queries itself.
pub struct ReadPool {
    conns: Mutex<Vec<Box<dyn Store>>>,
    permits: Semaphore,
}

impl ReadPool {
    pub fn new(conns: Vec<Box<dyn Store>>) -> ReadPool {
        let n = conns.len();
        ReadPool {
            conns: Mutex::new(conns),
            permits: Semaphore::new(n),
        }
    }

    /// Run `f` with a read connection on a blocking thread.
    pub async fn with<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> anyhow::Result<T> + Send + 'static,
    {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| anyhow::anyhow!("the read pool is closed"))?;
        let conn = self
            .conns
            .lock()
            .map_err(|_| anyhow::anyhow!("the read pool lock is poisoned"))?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no read connection free"))?;
        let joined = tokio::task::spawn_blocking(move || {
            let r = f(conn.as_ref());
            (conn, r)
        })
        .await;
        match joined {
            Ok((conn, r)) => {
                if let Ok(mut c) = self.conns.lock() {
                    c.push(conn);
                }
                drop(permit);
                r
            }
            Err(e) => {
                // The connection went down with the task: the pool is one smaller for good.
                permit.forget();
                Err(anyhow::anyhow!("a store read failed: {e}"))
            }
        }
    }
}
