//! The one store writer of a live process (`tern serve`, `tern pull`).
//!
//! A thread owns the store and applies jobs in arrival order, each `ingest` one transaction.
//! Producers (push handlers, pull workers, retention) talk to it through a bounded queue:
//! * [`WriterHandle::write`] waits for room, which slows a puller down to the store's pace;
//! * [`WriterHandle::try_write`] fails at once with [`WriteError::Busy`] when the queue is
//!   full, so a push endpoint can answer 503 and let the sender retry (backpressure with
//!   bounded memory: at most `queue` batches wait, plus the one being written).
//!
//! A reply comes only after the transaction committed, so "200 OK" means durably stored.
//! Pushes (`try_write`) that wait in the queue together are written in one transaction (group
//! commit, up to 64 batches or 65,536 parts): a burst of small Firehose requests pays one
//! commit and one rollup update instead of one each.
//! Dropping every handle lets the thread finish the queued jobs and exit; [`Writer::join`]
//! waits for that (graceful shutdown loses nothing that was accepted).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tern_store::{Checkpoint, IngestBatch, IngestStats, Retention, RetentionStats, Store};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// The queue is full (only from `try_write`).
    Busy,
    /// The writer has stopped (shutdown, or a panic in the store).
    Closed,
    /// The store refused the batch; nothing of it was stored.
    Store(String),
}

impl std::error::Error for WriteError {}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Busy => f.write_str("the store writer is busy; retry later"),
            WriteError::Closed => f.write_str("the store writer has stopped"),
            WriteError::Store(m) => write!(f, "storing failed: {m}"),
        }
    }
}

/// Whether an ingest job may share its transaction with others queued behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    /// Pushes: the reply only says "stored"; its stats are those of the whole group.
    Yes,
    /// Pullers and file ingest read the stats of their own batch.
    No,
}

/// Most pushes one group commit takes, and the parts after which it stops taking more.
const MAX_GROUP_JOBS: usize = 64;
const MAX_GROUP_PARTS: usize = 65_536;

type IngestReply = oneshot::Sender<Result<IngestStats, WriteError>>;

fn combine(group: Vec<(IngestBatch, IngestReply)>) -> (IngestBatch, Vec<IngestReply>) {
    let mut replies = Vec::with_capacity(group.len());
    let mut all = IngestBatch::default();
    for (b, r) in group {
        replies.push(r);
        if all.is_empty() {
            all = b;
            continue;
        }
        all.parts.extend(b.parts);
        all.stream_lines.extend(b.stream_lines);
        all.functions.extend(b.functions);
        all.checkpoints.extend(b.checkpoints);
    }
    (all, replies)
}

fn ingest<S: Store>(
    store: &mut S,
    batch: &IngestBatch,
    m: &WriterMetrics,
) -> Result<IngestStats, WriteError> {
    let started = std::time::Instant::now();
    let r = store.ingest(batch);
    m.write_micros
        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    m.batches.fetch_add(1, Ordering::Relaxed);
    match &r {
        Ok(s) => {
            m.parts
                .fetch_add(batch.parts.len() as u64, Ordering::Relaxed);
            m.inserted.fetch_add(s.inserted, Ordering::Relaxed);
        }
        Err(e) => {
            m.failed_batches.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "Failed to store a batch.");
        }
    }
    r.map_err(|e| WriteError::Store(e.to_string()))
}

enum Job {
    Ingest(IngestBatch, IngestReply, Combine),
    Retention(
        Retention,
        oneshot::Sender<Result<RetentionStats, WriteError>>,
    ),
    /// Read checkpoints (a puller resuming), in order with the writes before it.
    Checkpoints(String, oneshot::Sender<Result<Vec<Checkpoint>, WriteError>>),
    /// Any other store call (the alert engine's incidents, outbox marks, error status): the
    /// closure runs on the writer thread and sends its own reply.
    With(StoreJob),
}

/// A closure run on the writer thread with the store.
type StoreJob = Box<dyn FnOnce(&mut dyn Store) + Send>;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct WriterMetrics {
    pub batches: AtomicU64,
    pub parts: AtomicU64,
    pub inserted: AtomicU64,
    pub failed_batches: AtomicU64,
    pub busy_rejections: AtomicU64,
    /// Jobs queued or being written.
    pub queued: AtomicU64,
    /// Time spent in `ingest`, microseconds.
    pub write_micros: AtomicU64,
}

#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Job>,
    pub metrics: Arc<WriterMetrics>,
}

pub struct Writer {
    thread: JoinHandle<()>,
}

impl Writer {
    /// Start the writer thread on `store`, with room for `queue` waiting jobs.
    pub fn spawn<S: Store + 'static>(mut store: S, queue: usize) -> (Writer, WriterHandle) {
        let (tx, mut rx) = mpsc::channel::<Job>(queue.max(1));
        let metrics = Arc::new(WriterMetrics::default());
        let m = metrics.clone();
        let thread = std::thread::Builder::new()
            .name("tern-writer".into())
            .spawn(move || {
                let mut next = None;
                while let Some(job) = next.take().or_else(|| rx.blocking_recv()) {
                    match job {
                        Job::Ingest(batch, reply, Combine::Yes) => {
                            // Group commit: pushes already waiting join this transaction, so
                            // a burst of small requests costs one commit, not one each.
                            let mut group = vec![(batch, reply)];
                            let mut parts = group[0].0.parts.len();
                            while group.len() < MAX_GROUP_JOBS && parts < MAX_GROUP_PARTS {
                                match rx.try_recv() {
                                    Ok(Job::Ingest(b, r, Combine::Yes)) => {
                                        parts += b.parts.len();
                                        group.push((b, r));
                                    }
                                    Ok(other) => {
                                        next = Some(other);
                                        break;
                                    }
                                    Err(_) => break,
                                }
                            }
                            let (batch, replies) = combine(group);
                            let r = ingest(&mut store, &batch, &m);
                            drop(batch);
                            for reply in replies {
                                m.queued.fetch_sub(1, Ordering::Relaxed);
                                let _ = reply.send(r.clone());
                            }
                        }
                        Job::Ingest(batch, reply, Combine::No) => {
                            let r = ingest(&mut store, &batch, &m);
                            drop(batch);
                            m.queued.fetch_sub(1, Ordering::Relaxed);
                            let _ = reply.send(r);
                        }
                        Job::Retention(r, reply) => {
                            let out = store.apply_retention(r);
                            if let Err(e) = &out {
                                tracing::error!(error = %e, "Retention failed.");
                            }
                            m.queued.fetch_sub(1, Ordering::Relaxed);
                            let _ = reply.send(out.map_err(|e| WriteError::Store(e.to_string())));
                        }
                        Job::Checkpoints(prefix, reply) => {
                            let out = store.checkpoints(&prefix);
                            m.queued.fetch_sub(1, Ordering::Relaxed);
                            let _ = reply.send(out.map_err(|e| WriteError::Store(e.to_string())));
                        }
                        Job::With(f) => {
                            f(&mut store);
                            m.queued.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                }
            })
            .unwrap_or_else(|e| panic!("cannot start the store writer thread: {e}"));
        (Writer { thread }, WriterHandle { tx, metrics })
    }

    /// Wait until every handle is dropped and the queued jobs are written.
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("The store writer thread panicked.");
        }
    }
}

impl WriterHandle {
    /// Store a batch, waiting for room in the queue. Returns once it is committed.
    pub async fn write(&self, batch: IngestBatch) -> Result<IngestStats, WriteError> {
        let (reply, done) = oneshot::channel();
        self.metrics.queued.fetch_add(1, Ordering::Relaxed);
        if self
            .tx
            .send(Job::Ingest(batch, reply, Combine::No))
            .await
            .is_err()
        {
            self.metrics.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(WriteError::Closed);
        }
        done.await.unwrap_or(Err(WriteError::Closed))
    }

    /// Store a batch if the queue has room, else fail at once with `Busy`. Batches waiting
    /// together may share one transaction (group commit); the stats returned are then those
    /// of the whole transaction, not of this batch alone.
    pub async fn try_write(&self, batch: IngestBatch) -> Result<IngestStats, WriteError> {
        let (reply, done) = oneshot::channel();
        self.metrics.queued.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(Job::Ingest(batch, reply, Combine::Yes)) {
            Ok(()) => done.await.unwrap_or(Err(WriteError::Closed)),
            Err(e) => {
                self.metrics.queued.fetch_sub(1, Ordering::Relaxed);
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => {
                        self.metrics.busy_rejections.fetch_add(1, Ordering::Relaxed);
                        WriteError::Busy
                    }
                    mpsc::error::TrySendError::Closed(_) => WriteError::Closed,
                })
            }
        }
    }

    /// Apply retention (queued behind the batches before it).
    pub async fn retention(&self, r: Retention) -> Result<RetentionStats, WriteError> {
        let (reply, done) = oneshot::channel();
        self.metrics.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Job::Retention(r, reply)).await.is_err() {
            self.metrics.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(WriteError::Closed);
        }
        done.await.unwrap_or(Err(WriteError::Closed))
    }

    /// Checkpoints whose key starts with `prefix` (queued behind the batches before it, so a
    /// checkpoint written through this handle is seen).
    pub async fn checkpoints(&self, prefix: &str) -> Result<Vec<Checkpoint>, WriteError> {
        let (reply, done) = oneshot::channel();
        self.metrics.queued.fetch_add(1, Ordering::Relaxed);
        if self
            .tx
            .send(Job::Checkpoints(prefix.to_string(), reply))
            .await
            .is_err()
        {
            self.metrics.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(WriteError::Closed);
        }
        done.await.unwrap_or(Err(WriteError::Closed))
    }

    /// Run `f` on the writer thread, in order with the jobs before it, and return what it
    /// returns. For store writes that are not ingest (incidents, the outbox, error status):
    /// one generic job instead of one job kind per call. Keep `f` short: ingest waits.
    pub async fn with_store<R, F>(&self, f: F) -> Result<R, WriteError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Store) -> R + Send + 'static,
    {
        let (reply, done) = oneshot::channel();
        let job = Job::With(Box::new(move |store: &mut dyn Store| {
            let _ = reply.send(f(store));
        }));
        self.metrics.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(job).await.is_err() {
            self.metrics.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(WriteError::Closed);
        }
        done.await.map_err(|_| WriteError::Closed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tern_store::conformance::{invocation, T0};
    use tern_store::{InvocationQuery, SqliteStore};

    #[tokio::test]
    async fn writes_in_order_and_drains_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let (writer, handle) = Writer::spawn(SqliteStore::open(&path).unwrap(), 2);
        let mut waits = Vec::new();
        for i in 0..20 {
            let h = handle.clone();
            waits.push(tokio::spawn(async move {
                let batch = IngestBatch {
                    parts: vec![invocation("f", 1, &format!("r{i}"), T0 + i, 5.0, 128)],
                    ..Default::default()
                };
                h.write(batch).await
            }));
        }
        for w in waits {
            assert_eq!(w.await.unwrap().unwrap().inserted, 1);
        }
        drop(handle);
        writer.join();
        let store = SqliteStore::open_read_only(&path).unwrap();
        let q = InvocationQuery {
            limit: 100,
            ..Default::default()
        };
        assert_eq!(store.invocations(&q).unwrap().len(), 20);
    }

    /// Pushes waiting together share one transaction; each gets its answer only after it.
    #[tokio::test]
    async fn waiting_pushes_share_one_transaction() {
        let (writer, handle) = Writer::spawn(SqliteStore::open_in_memory().unwrap(), 64);
        // Hold the writer busy with a pull-style write while pushes queue up behind it.
        let parts = (0..20_000)
            .map(|k| {
                invocation(
                    "slow",
                    k % 50,
                    &format!("s{k}"),
                    T0 + i64::from(k),
                    5.0,
                    128,
                )
            })
            .collect();
        let first = {
            let h = handle.clone();
            tokio::spawn(async move {
                h.write(IngestBatch {
                    parts,
                    ..Default::default()
                })
                .await
            })
        };
        let mut pushes = Vec::new();
        for i in 0..32 {
            let h = handle.clone();
            pushes.push(tokio::spawn(async move {
                h.try_write(IngestBatch {
                    parts: vec![invocation(
                        "f",
                        1,
                        &format!("p{i}"),
                        T0 + i64::from(i),
                        5.0,
                        128,
                    )],
                    ..Default::default()
                })
                .await
            }));
        }
        assert_eq!(first.await.unwrap().unwrap().inserted, 20_000);
        for p in pushes {
            assert!(p.await.unwrap().is_ok());
        }
        let m = &handle.metrics;
        assert_eq!(m.inserted.load(Ordering::Relaxed), 20_032);
        let batches = m.batches.load(Ordering::Relaxed);
        assert!(
            batches < 33,
            "32 waiting pushes took {} transactions",
            batches - 1
        );
        drop(handle);
        writer.join();
    }

    #[tokio::test]
    async fn try_write_reports_busy_when_full() {
        let (writer, handle) = Writer::spawn(SqliteStore::open_in_memory().unwrap(), 1);
        // Flood it: with a queue of one, some of many simultaneous pushes must be refused,
        // and every accepted one must be stored.
        let mut waits = Vec::new();
        for i in 0..200 {
            let h = handle.clone();
            waits.push(tokio::spawn(async move {
                let parts = (0..200)
                    .map(|k| invocation("f", k, &format!("r{i}-{k}"), T0 + i64::from(k), 5.0, 128))
                    .collect();
                h.try_write(IngestBatch {
                    parts,
                    ..Default::default()
                })
                .await
            }));
        }
        let mut busy = 0;
        let mut accepted = 0;
        for w in waits {
            match w.await.unwrap() {
                // Group commit: the stats are those of the transaction the batch shared.
                Ok(s) => {
                    assert!(s.inserted >= 200);
                    accepted += 1;
                }
                Err(WriteError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(busy > 0, "a queue of one never filled");
        assert_eq!(accepted + busy, 200);
        let m = &handle.metrics;
        assert_eq!(m.inserted.load(Ordering::Relaxed), accepted * 200);
        assert_eq!(m.busy_rejections.load(Ordering::Relaxed), busy);
        assert!(m.batches.load(Ordering::Relaxed) <= accepted);
        drop(handle);
        writer.join();
    }
}
