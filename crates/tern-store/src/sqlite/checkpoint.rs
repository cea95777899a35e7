//! A background WAL checkpointer.
//!
//! In WAL mode every committed page is written twice: to the WAL at commit, and into the
//! database by a checkpoint. SQLite's automatic checkpoint runs on the committing thread and
//! was a fifth of ingest time; here a second connection on its own thread runs a PASSIVE
//! checkpoint after each commit (it never blocks the writer), so the copy and the database
//! fsync overlap the encoding of the next batch. The writer waits for it before its next write
//! transaction, so the WAL restarts from its beginning each batch instead of growing, and it
//! keeps a large `wal_autocheckpoint` as a safety net should this thread fail.

use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

pub(crate) struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Whether a requested checkpoint has not finished yet.
    busy: Arc<(Mutex<bool>, Condvar)>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let open_err = |e: &dyn std::fmt::Display| StoreError::Open {
            path: path.display().to_string(),
            message: format!("checkpoint connection: {e}"),
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_err(&e))?;
        conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;")
            .map_err(|e| open_err(&e))?;
        // One pending wake-up is enough: a checkpoint copies everything committed so far.
        let (wake, woken) = sync_channel::<()>(1);
        let busy = Arc::new((Mutex::new(false), Condvar::new()));
        let done = busy.clone();
        let thread = std::thread::Builder::new()
            .name("tern-checkpoint".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    // Failure (busy, I/O) leaves the frames in the WAL for the next attempt
                    // or for the writer's own automatic checkpoint.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    let (flag, cv) = &*done;
                    if let Ok(mut b) = flag.lock() {
                        *b = false;
                    }
                    cv.notify_all();
                }
            })
            .map_err(|e| open_err(&e))?;
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
            busy,
        })
    }

    /// Ask for a checkpoint of everything committed so far.
    pub(crate) fn poke(&self) {
        if let Some(w) = &self.wake {
            if let Ok(mut b) = self.busy.0.lock() {
                *b = true;
            }
            let _ = w.try_send(());
        }
    }

    /// Wait (at most a few seconds) until the requested checkpoint has finished.
    pub(crate) fn wait_idle(&self) {
        let (flag, cv) = &*self.busy;
        if let Ok(b) = flag.lock() {
            let _ = cv.wait_timeout_while(b, std::time::Duration::from_secs(5), |busy| *busy);
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
