//! The alert engine's and sender's read connection.

use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context as _, Result};
use tern_store::{Store, StoreBackend};

/// A read-only connection used from blocking threads.
#[derive(Clone)]
pub struct Reader(Arc<Mutex<Box<dyn Store>>>);

impl Reader {
    pub fn open(store: &StoreBackend) -> Result<Reader> {
        let s = store.open_read_only().with_context(|| {
            format!("opening {} to read alerts", crate::config::describe(store))
        })?;
        Ok(Reader(Arc::new(Mutex::new(s))))
    }

    pub async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T> + Send + 'static,
    {
        let conn = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| anyhow!("the alert read connection is poisoned"))?;
            f(guard.as_ref())
        })
        .await
        .map_err(|e| anyhow!("an alert read failed: {e}"))?
    }
}
