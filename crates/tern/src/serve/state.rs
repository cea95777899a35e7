//! What every handler shares: limits, token hashes, the writer handle, read connections,
//! metrics.

use std::sync::mpsc::Receiver;
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
    /// `[recommend]`: the memory-advice strategy and thresholds for the recommendation route.
    pub recommend: tern_core::recommend::Settings,
    /// Dashboard sessions (cookie id → CSRF token, expiry).
    pub sessions: super::session::Sessions,
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
    /// Connections the pool still has (one goes for good when its task panics).
    size: std::sync::atomic::AtomicUsize,
}

impl ReadPool {
    pub fn new(conns: Vec<Box<dyn Store>>) -> ReadPool {
        let n = conns.len();
        ReadPool {
            conns: Mutex::new(conns),
            permits: Semaphore::new(n),
            size: std::sync::atomic::AtomicUsize::new(n),
        }
    }

    /// Run `side` and `main` at once, on two read connections and two blocking threads;
    /// `main` receives `side`'s answer through the channel when it needs it. Both
    /// connections are taken before either starts, so waiting on `side` cannot deadlock.
    /// With a one-connection pool, `side` runs first on the same connection.
    pub async fn with_pair<A, T, FA, FB>(&self, side: FA, main: FB) -> anyhow::Result<T>
    where
        A: Send + 'static,
        T: Send + 'static,
        FA: FnOnce(&dyn Store) -> anyhow::Result<A> + Send + 'static,
        FB: FnOnce(&dyn Store, Receiver<anyhow::Result<A>>) -> anyhow::Result<T> + Send + 'static,
    {
        if self.size.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            return self
                .with(move |store| {
                    let (tx, rx) = std::sync::mpsc::channel();
                    let _ = tx.send(side(store));
                    main(store, rx)
                })
                .await;
        }
        let permit = self
            .permits
            .acquire_many(2)
            .await
            .map_err(|_| anyhow::anyhow!("the read pool is closed"))?;
        let (a, b) = {
            let mut conns = self
                .conns
                .lock()
                .map_err(|_| anyhow::anyhow!("the read pool lock is poisoned"))?;
            match (conns.pop(), conns.pop()) {
                (Some(a), Some(b)) => (a, b),
                (a, b) => {
                    conns.extend(a.into_iter().chain(b));
                    anyhow::bail!("no two read connections free");
                }
            }
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let side = tokio::task::spawn_blocking(move || {
            let _ = tx.send(side(b.as_ref()));
            b
        });
        let main = tokio::task::spawn_blocking(move || {
            let r = main(a.as_ref(), rx);
            (a, r)
        });
        let (side, main) = tokio::join!(side, main);
        // Connections that went down with their task leave the pool one smaller for good.
        permit.forget();
        let mut back = Vec::new();
        back.extend(side.ok());
        let result = match main {
            Ok((conn, r)) => {
                back.push(conn);
                r
            }
            Err(e) => Err(anyhow::anyhow!("a store read failed: {e}")),
        };
        let returned = back.len();
        self.size
            .fetch_sub(2 - returned, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut c) = self.conns.lock() {
            c.extend(back);
            self.permits.add_permits(returned);
        }
        result
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
                self.size.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                Err(anyhow::anyhow!("a store read failed: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tern_store::SqliteStore;

    fn pool(n: usize) -> ReadPool {
        ReadPool::new(
            (0..n)
                .map(|_| Box::new(SqliteStore::open_in_memory().unwrap()) as Box<dyn Store>)
                .collect(),
        )
    }

    async fn pair(p: &ReadPool, side_panics: bool) -> anyhow::Result<u64> {
        p.with_pair(
            move |store| {
                assert!(!side_panics, "side went down");
                Ok(store.functions()?.len() as u64 + 41)
            },
            |store, side| {
                let mine = store.functions()?.len() as u64;
                let theirs = side
                    .recv()
                    .map_err(|_| anyhow::anyhow!("side went down"))??;
                Ok(mine + theirs + 1)
            },
        )
        .await
    }

    /// Both halves run and meet; a one-connection pool runs them in turn; a side that goes
    /// down is an error for the request, and the pool keeps serving with what is left.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pairs_meet_and_survive_a_failure() {
        let p = pool(4);
        assert_eq!(pair(&p, false).await.unwrap(), 42);
        let (a, b) = tokio::join!(pair(&p, false), pair(&p, false));
        assert_eq!((a.unwrap(), b.unwrap()), (42, 42));
        let err = pair(&p, true).await.unwrap_err();
        assert!(format!("{err:#}").contains("side went down"), "{err:#}");
        assert_eq!(p.conns.lock().unwrap().len(), 3);
        assert_eq!(pair(&p, false).await.unwrap(), 42);
        assert_eq!(p.with(|s| Ok(s.functions()?.len())).await.unwrap(), 0);

        // Down to one connection: pairs take turns on it.
        let two = pool(2);
        assert!(pair(&two, true).await.is_err());
        assert_eq!(pair(&two, false).await.unwrap(), 42);

        let one = pool(1);
        assert_eq!(pair(&one, false).await.unwrap(), 42);
    }
}
