//! The embedded SQLite backend (rusqlite, bundled SQLite).
//!
//! * `schema`: opening, recognising and migrating the database file; the tables.
//! * `codec`: the byte encodings inside blobs (log lines, stack frames, request hashes).
//! * `rollup`: what one invocation contributes to its function's hourly and daily rollups.
//! * `sizes`: the same per (function, version, memory size), for the memory advice.
//! * `row`: invocation rows to and from `InvocationPart`.
//! * `ingest`: the write path. `query`: the read paths.
//! * `errors`: error groups at ingest; `error_query`: reading them.
//! * `alerts`: incidents and the notification outbox.
//! * `tuning`: power-tuning runs and their points (`tern tune`).
//! * `markers`: operators' change markers (`tern mark`) and the values seen of each change
//!   attribute.
//! * `checkpoint`: the background WAL checkpointer. `fx`: a fast hasher for in-memory maps.
//!
//! Durability: WAL journal with `synchronous = FULL`, and each `ingest` call is one
//! transaction, so a crash loses nothing that `ingest` reported stored.
//!
//! Answers worth knowing (the `Store` docs leave them open):
//! * `function_stats` with named functions returns an entry for every named function the store
//!   knows (zeroes when it has no data in range) and skips unknown names; with no names it
//!   returns the functions with completed invocations or stored log lines in range.
//! * `FunctionStats::log_lines`/`log_bytes` are exact for any range: whole days and hours come
//!   from the rollups, partial hours from per-row counts (no log blob is decoded). Lines count
//!   by their invocation's `t` (which moves, with its lines, until the REPORT freezes it) and
//!   stream-line chunks by their first line. Rows stored before schema 4 count no lines.
//! * `FunctionStats::environments` counts the function's environments whose first..last
//!   completed invocation overlaps the range: exact for unbounded ranges, an upper bound
//!   otherwise (an environment that served invocations only before and after the range counts).
//! * `FunctionStats::memory_size_mb` is the Memory Size of the latest completed invocation in
//!   range; `FunctionMeta::memory_size_mb` is the configured size, else the latest seen.
//! * `invocation_logs` of an unknown invocation is empty, not an error.
//! * A part with no function name gets one from its log group or stream (`unknown` if
//!   neither names it); NaN metrics are stored as absent.

mod alerts;
mod checkpoint;
pub(crate) mod codec;
mod delete;
mod error_query;
mod errors;
mod fx;
pub(crate) mod ingest;
mod leases;
mod markers;
pub(crate) mod query;
mod retention;
pub(crate) mod rollup;
mod row;
mod schema;
mod sizes;
mod tuning;

use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;

use fx::FxHashMap;

pub use schema::SCHEMA_VERSION;

use crate::{
    Checkpoint, EnvironmentRow, ErrorGroup, ErrorOccurrence, ErrorQuery, ErrorStatus, FleetRow,
    FunctionMeta, FunctionStats, Incident, IncidentApplied, IncidentChange, IncidentQuery,
    IngestBatch, IngestStats, InvocationQuery, InvocationRow, Lease, Marker, OccurrenceCursor,
    OutboxEntry, OutboxItem, OutboxMark, Retention, RetentionStats, Store, StoreError, TimeRange,
    TuningRun, ValueSeen,
};
use tern_core::model::LogLine;

/// Map rusqlite's errors into the store's.
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::DatabaseCorrupt =>
            {
                StoreError::Corrupt(e.to_string())
            }
            e => StoreError::Backend(e.to_string()),
        })
    }
}

/// Ids of functions and environments already resolved, so the ingest hot path rarely asks
/// SQLite for them. Cleared whenever a transaction fails (its ids may have been rolled back).
#[derive(Default)]
struct Ids {
    functions: FxHashMap<String, i64>,
    function_names: FxHashMap<i64, String>,
    envs: EnvIds,
}

impl Ids {
    fn clear(&mut self) {
        *self = Ids::default();
    }
}

/// Environment ids held between batches. There is one per log stream, and a long ingest or
/// a daemon meets new streams without end, so the cache is two generations of at most
/// [`EnvIds::GENERATION`] entries each: when the newer fills up, the older is let go and a
/// later miss asks SQLite again. Streams write for a few hours at most, so the ones still
/// writing are nearly always in one of the two.
#[derive(Default)]
struct EnvIds {
    /// log group → log stream → environment id.
    new: FxHashMap<Arc<str>, FxHashMap<Arc<str>, i64>>,
    old: FxHashMap<Arc<str>, FxHashMap<Arc<str>, i64>>,
    /// Entries in `new`.
    len: usize,
}

impl EnvIds {
    const GENERATION: usize = 65_536;

    fn get(&mut self, log_group: &str, log_stream: &str) -> Option<i64> {
        let found = |m: &FxHashMap<Arc<str>, FxHashMap<Arc<str>, i64>>| {
            m.get(log_group)
                .and_then(|s| s.get_key_value(log_stream))
                .map(|(k, &id)| (k.clone(), id))
        };
        if let Some((_, id)) = found(&self.new) {
            return Some(id);
        }
        let (stream, id) = found(&self.old)?;
        let group = self.old.get_key_value(log_group).map(|(g, _)| g.clone())?;
        self.insert(group, stream, id);
        Some(id)
    }

    fn insert(&mut self, log_group: Arc<str>, log_stream: Arc<str>, id: i64) {
        if let Some(known) = self
            .new
            .get_mut(&log_group)
            .and_then(|s| s.get_mut(&log_stream))
        {
            *known = id;
            return;
        }
        if self.len >= Self::GENERATION {
            self.old = std::mem::take(&mut self.new);
            self.len = 0;
        }
        self.new
            .entry(log_group)
            .or_default()
            .insert(log_stream, id);
        self.len += 1;
    }
}

/// Buffers reused across parts so the hot path does not allocate per invocation.
#[derive(Default)]
struct Scratch {
    enc: codec::Encoder,
    /// Row values of the batch being written.
    arena: row::Arena,
    /// Row values of one merged invocation.
    one: row::Arena,
    blob: Vec<u8>,
}

/// The SQLite store. `Store` methods run on the caller's thread on one connection; a file
/// database also has a background checkpoint thread (see `checkpoint`).
pub struct SqliteStore {
    // Declared before `conn` so it is dropped (and joined) first.
    checkpointer: Option<checkpoint::Checkpointer>,
    conn: Connection,
    ids: Ids,
    scratch: Scratch,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.conn.path())
            .finish()
    }
}

impl SqliteStore {
    /// Open the database at `path`, creating it if absent and migrating it if older.
    ///
    /// Fails with [`StoreError::Open`] when the file is not a SQLite database, is truncated,
    /// or is another program's database, and with [`StoreError::SchemaTooNew`] when a newer
    /// Tern wrote it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = schema::open_file(path)?;
        let mut store = SqliteStore::with_connection(conn);
        store.checkpointer = Some(checkpoint::Checkpointer::start(path)?);
        Ok(store)
    }

    /// Open an existing database for reading (reports, listings): never creates or migrates it,
    /// and works on a file the user cannot write. Writing through it fails.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore::with_connection(schema::open_file_read_only(
            path,
        )?))
    }

    /// A private in-memory database (tests, `--dry-run`).
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore::with_connection(schema::open_memory()?))
    }

    fn with_connection(conn: Connection) -> SqliteStore {
        conn.set_prepared_statement_cache_capacity(64);
        // SQLite (built with STAT4) re-prepares a cached statement whenever a value bound
        // against an indexed column changes, in case the plan would differ. Tern never runs
        // ANALYZE, so it never would: the stability guarantee keeps the prepared plan. Only
        // speed is at stake, so a build without the option just does without.
        let _ = conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        );
        SqliteStore {
            checkpointer: None,
            conn,
            ids: Ids::default(),
            scratch: Scratch::default(),
        }
    }
}

impl Store for SqliteStore {
    fn ingest(&mut self, batch: &IngestBatch) -> Result<IngestStats, StoreError> {
        let checkpointer = self.checkpointer.as_ref();
        // Let the checkpoint of the previous batch finish before writing, so the WAL restarts
        // from its beginning instead of growing.
        let wait = || {
            if let Some(c) = checkpointer {
                c.wait_idle();
            }
        };
        let result = ingest::ingest(
            &mut self.conn,
            &mut self.ids,
            &mut self.scratch,
            batch,
            wait,
        );
        match &result {
            Ok(_) => {
                if let Some(c) = &self.checkpointer {
                    c.poke();
                }
            }
            Err(_) => self.ids.clear(),
        }
        result
    }

    fn functions(&self) -> Result<Vec<FunctionMeta>, StoreError> {
        query::functions(&self.conn)
    }

    fn function_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<FunctionStats>, StoreError> {
        query::function_stats(&self.conn, functions, range)
    }

    fn invocations(&self, q: &InvocationQuery) -> Result<Vec<InvocationRow>, StoreError> {
        query::invocations(&self.conn, q)
    }

    fn invocation_logs(
        &self,
        log_group: &str,
        log_stream: &str,
        request_id: &str,
    ) -> Result<Vec<LogLine>, StoreError> {
        query::invocation_logs(&self.conn, log_group, log_stream, request_id)
    }

    fn environments(&self, function: &str) -> Result<Vec<EnvironmentRow>, StoreError> {
        query::environments(&self.conn, function)
    }

    fn environment_summaries(
        &self,
        range: TimeRange,
    ) -> Result<Vec<crate::EnvironmentSummary>, StoreError> {
        query::environment_summaries(&self.conn, range)
    }

    fn size_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<crate::SizeStats>, StoreError> {
        sizes::size_stats(&self.conn, functions, range)
    }

    fn time_bounds(&self) -> Result<Option<(i64, i64)>, StoreError> {
        query::time_bounds(&self.conn)
    }

    fn checkpoints(&self, prefix: &str) -> Result<Vec<Checkpoint>, StoreError> {
        query::checkpoints(&self.conn, prefix)
    }

    fn series(
        &self,
        function: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, FunctionStats)>, StoreError> {
        match query::series(&self.conn, function, range, bucket_ms)? {
            Some(s) => Ok(s),
            None => crate::series_by_stats(self, function, range, bucket_ms),
        }
    }

    fn fleet(&self, range: TimeRange, bucket_ms: Option<i64>) -> Result<Vec<FleetRow>, StoreError> {
        query::fleet(&self.conn, range, bucket_ms)
    }

    fn fleet_counts(
        &self,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        query::fleet_counts(&self.conn, range, bucket_ms)
    }

    fn apply_retention(&mut self, r: Retention) -> Result<RetentionStats, StoreError> {
        let result = retention::apply(&mut self.conn, r);
        // Deleted rows may have been the only users of cached ids; ids stay valid (functions
        // and environments are never deleted), so the cache is kept.
        result
    }

    fn delete_function(
        &mut self,
        function: &str,
        before_ms: Option<i64>,
    ) -> Result<crate::DeleteStats, StoreError> {
        let result = delete::delete_function(&mut self.conn, function, before_ms);
        // The function's id and its environments' ids may be gone.
        self.ids.clear();
        result
    }

    fn error_groups(&self, q: &ErrorQuery) -> Result<Vec<ErrorGroup>, StoreError> {
        error_query::error_groups(&self.conn, q)
    }

    fn error_group(&self, id: &str, now_ms: Option<i64>) -> Result<Option<ErrorGroup>, StoreError> {
        error_query::error_group(&self.conn, id, now_ms)
    }

    fn error_series(
        &self,
        id: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        error_query::error_series(&self.conn, id, range, bucket_ms)
    }

    fn error_samples(&self, id: &str, limit: usize) -> Result<Vec<InvocationRow>, StoreError> {
        error_query::error_samples(&self.conn, id, limit)
    }

    fn set_error_status(
        &mut self,
        id: &str,
        status: ErrorStatus,
        muted_until_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        errors::set_status(&self.conn, id, status, muted_until_ms, now_ms)
    }

    fn error_occurrences_since(
        &self,
        after: OccurrenceCursor,
        limit: usize,
    ) -> Result<Vec<ErrorOccurrence>, StoreError> {
        error_query::occurrences_since(&self.conn, after, limit)
    }

    fn apply_incident(
        &mut self,
        change: &IncidentChange,
        notify: &dyn Fn(&Incident) -> Vec<OutboxItem>,
    ) -> Result<IncidentApplied, StoreError> {
        alerts::apply_incident(&mut self.conn, change, notify)
    }

    fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>, StoreError> {
        alerts::incidents(&self.conn, q)
    }

    fn enqueue(
        &mut self,
        items: &[OutboxItem],
        now_ms: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<u64, StoreError> {
        alerts::enqueue(&mut self.conn, items, now_ms, checkpoint)
    }

    fn outbox_due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        alerts::outbox_due(&self.conn, now_ms, limit)
    }

    fn outbox_history(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        alerts::outbox_history(&self.conn, limit)
    }

    fn outbox_mark(&mut self, id: i64, mark: &OutboxMark, now_ms: i64) -> Result<bool, StoreError> {
        alerts::outbox_mark(&self.conn, id, mark, now_ms)
    }

    fn store_tuning_run(&mut self, run: &TuningRun) -> Result<(), StoreError> {
        tuning::store_run(&mut self.conn, run)
    }

    fn tuning_runs(&self, function: &str) -> Result<Vec<TuningRun>, StoreError> {
        tuning::runs(&self.conn, function)
    }

    fn add_marker(&mut self, marker: &Marker) -> Result<Marker, StoreError> {
        markers::add(&self.conn, marker)
    }

    fn markers(&self, function: Option<&str>) -> Result<Vec<Marker>, StoreError> {
        markers::list(&self.conn, function)
    }

    fn try_lease(
        &mut self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        leases::try_lease(&self.conn, name, holder, now_ms, ttl_ms)
    }

    fn release_lease(&mut self, name: &str, holder: &str) -> Result<bool, StoreError> {
        leases::release(&self.conn, name, holder)
    }

    fn leases(&self, prefix: &str, now_ms: i64) -> Result<Vec<Lease>, StoreError> {
        leases::list(&self.conn, prefix, now_ms)
    }

    fn values_seen(&self, function: Option<&str>) -> Result<Vec<ValueSeen>, StoreError> {
        markers::values_seen(&self.conn, function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(prefix: &str, i: usize) -> Arc<str> {
        Arc::from(format!("{prefix}{i}"))
    }

    #[test]
    fn env_ids_keep_two_generations_and_forget_older_ones() {
        let mut ids = EnvIds::default();
        let group: Arc<str> = Arc::from("/aws/lambda/f");
        let n = EnvIds::GENERATION;
        for i in 0..n {
            ids.insert(group.clone(), name("s", i), i as i64);
        }
        // A repeat does not count twice.
        ids.insert(group.clone(), name("s", 0), 0);
        assert_eq!(ids.len, n);
        // The next one starts a generation; the first ones are still found (in the older).
        ids.insert(group.clone(), name("s", n), n as i64);
        assert_eq!(ids.len, 1);
        assert_eq!(ids.get("/aws/lambda/f", "s5"), Some(5));
        // Found in the older generation, it moved to the newer.
        assert_eq!(ids.len, 2);
        // A third generation lets the first go, except what was used since.
        for i in n + 1..2 * n + 1 {
            ids.insert(group.clone(), name("s", i), i as i64);
        }
        assert_eq!(ids.get("/aws/lambda/f", "s5"), Some(5));
        assert_eq!(ids.get("/aws/lambda/f", "s6"), None);
        assert_eq!(
            ids.get("/aws/lambda/f", &format!("s{}", 2 * n)),
            Some(2 * n as i64)
        );
        assert_eq!(ids.get("/aws/lambda/other", "s5"), None);
        let held: usize = ids
            .new
            .values()
            .chain(ids.old.values())
            .map(|s| s.len())
            .sum();
        assert!(held <= 2 * n, "{held} entries held");
    }
}
