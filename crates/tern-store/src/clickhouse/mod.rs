//! The ClickHouse backend, over ClickHouse's HTTP interface.
//!
//! * `client`: HTTP, JSONEachRow in and out, errors. `schema`: the DDL (single server or
//!   cluster). `rows`: invocation rows and SQL literals.
//! * `ingest`: the write path. `stats`: statistics aggregated in SQL. `query`: statistics
//!   and listings. `state`: checkpoints,
//!   function metadata, incidents, the outbox, tuning runs and markers. `errors`: error groups.
//!   `delete`: deleting one function's data.
//!
//! How counts stay exact when a batch is retried (a Firehose retry after a failed answer, or
//! a crash between two INSERTs): nothing that counts is incremented at write time. Every
//! invocation is one versioned row keyed by (log group, stream, request id), and a stream line
//! one row keyed by (group, stream, time, event id); reads take the latest version with
//! `FINAL`, so a row written twice is read once. Statistics are aggregated from those rows when
//! asked, except for hours older than the raw-retention cutoff: raw retention first folds them
//! into hourly rollup rows keyed by (function, hour) — the same rows whatever how often it runs —
//! and only then drops raw partitions; and except for days sealed (`seal`): settled day
//! partitions recounted once into per-(function, hour) rows that reads use instead, until a
//! later write to that day makes it raw again. `Store::size_stats` (the memory advice's
//! per-size statistics) is the trait's default, computed from every invocation row in the
//! range, not from kept aggregates as on SQLite. Mutable state (error group status, incidents, the
//! outbox, checkpoints) is versioned rows whose new version is computed by the single writer.
//!
//! Version numbers (`ver`) come from the writer's clock in nanoseconds, made strictly
//! increasing within a process. Several processes may write invocations at once: each
//! verifies after writing (`ingest::verify`, ARCHITECTURE.md "Concurrent writers").

mod client;
mod delete;
mod errors;
mod ingest;
mod leases;
mod query;
mod read;
mod rows;
mod schema;
mod seal;
mod seen;
mod state;
mod stats;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::backend::ClickHouseConfig;
use crate::{
    Checkpoint, EnvironmentRow, ErrorGroup, ErrorOccurrence, ErrorQuery, ErrorStatus, FunctionMeta,
    FunctionStats, Incident, IncidentApplied, IncidentChange, IncidentQuery, IngestBatch,
    IngestStats, InvocationQuery, InvocationRow, Lease, Marker, OccurrenceCursor, OutboxEntry,
    OutboxItem, OutboxMark, Retention, RetentionStats, Store, StoreError, TimeRange, TuningRun,
    ValueSeen,
};
use tern_core::model::LogLine;

pub use schema::SCHEMA_VERSION;

use client::Client;
use schema::Layout;

/// How long one request may take before it is an error.
const TIMEOUT: Duration = Duration::from_secs(300);

/// Keys of the `meta` table.
pub(crate) const META_SCHEMA: &str = "schema_version";
pub(crate) const META_RAW_CUTOFF: &str = "raw_before_ms";
pub(crate) const META_COMPACTED: &str = "compacted_before_ms";
pub(crate) const META_ROLLUP_CUTOFF: &str = "rollups_before_ms";
pub(crate) const META_ERROR_SEQ: &str = "error_seq";

/// How many statements `open` runs before it reads the schema version (for tests that script
/// a server's answers).
#[doc(hidden)]
pub fn ddl_statement_count() -> usize {
    1 + schema::TABLES.len()
}

/// A Tern store in a ClickHouse database.
pub struct ClickHouseStore {
    client: Client,
    layout: Layout,
    last_ver: u64,
}

impl std::fmt::Debug for ClickHouseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseStore")
            .field("client", &self.client)
            .field("database", &self.layout.database)
            .finish()
    }
}

fn open_err(c: &ClickHouseConfig, message: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: format!("{} (database {})", c.url, c.database),
        message: message.to_string(),
    }
}

impl ClickHouseStore {
    /// Connect, create the database and tables when missing, and check the schema version.
    pub fn open(c: &ClickHouseConfig) -> Result<ClickHouseStore, StoreError> {
        let mut store = ClickHouseStore::connect(c)?;
        store
            .client
            .exec(None, &store.layout.create_database())
            .map_err(|e| open_err(c, e))?;
        for ddl in store.layout.create_tables() {
            store.client.exec(None, &ddl).map_err(|e| open_err(c, e))?;
        }
        match store.meta_i64(META_SCHEMA).map_err(|e| open_err(c, e))? {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    found: v,
                    supported: SCHEMA_VERSION,
                })
            }
            Some(v) if v == SCHEMA_VERSION => {}
            // Older (or none): the tables above brought it up to date; seals from before
            // daily rows are taken back.
            old => {
                if old.is_some() {
                    seal::reopen_sealed(&mut store).map_err(|e| open_err(c, e))?;
                }
                store
                    .set_meta(META_SCHEMA, &SCHEMA_VERSION.to_string())
                    .map_err(|e| open_err(c, e))?
            }
        }
        Ok(store)
    }

    /// Connect for queries: the database must exist and hold a schema this build reads.
    pub fn open_read_only(c: &ClickHouseConfig) -> Result<ClickHouseStore, StoreError> {
        let store = ClickHouseStore::connect(c)?;
        match store.meta_i64(META_SCHEMA).map_err(|e| open_err(c, e))? {
            Some(v) if v > SCHEMA_VERSION => Err(StoreError::SchemaTooNew {
                found: v,
                supported: SCHEMA_VERSION,
            }),
            Some(v) if v < SCHEMA_VERSION => Err(open_err(
                c,
                format!(
                    "written by an older Tern (schema {v}); run `tern seal` (or `tern serve`) \
                     once to upgrade it"
                ),
            )),
            Some(_) => Ok(store),
            None => Err(open_err(c, "not a Tern database (no schema version)")),
        }
    }

    fn connect(c: &ClickHouseConfig) -> Result<ClickHouseStore, StoreError> {
        if c.database.is_empty() {
            return Err(open_err(c, "the database name is empty"));
        }
        let pem =
            match &c.ca_file {
                Some(p) => Some(std::fs::read(p).map_err(|e| {
                    open_err(c, format!("cannot read CA file {}: {e}", p.display()))
                })?),
                None => None,
            };
        let client = Client::new(
            &c.url,
            &c.user,
            c.password.as_deref(),
            pem.as_deref(),
            TIMEOUT,
        )
        .map_err(|e| open_err(c, e))?;
        Ok(ClickHouseStore {
            client,
            layout: Layout {
                database: c.database.clone(),
                cluster: c.cluster.clone(),
            },
            last_ver: 0,
        })
    }

    fn db(&self) -> &str {
        &self.layout.database
    }

    /// The next row version: strictly increasing within this writer.
    fn ver(&mut self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        self.last_ver = now.max(self.last_ver + 1);
        self.last_ver
    }

    fn select(&self, sql: &str) -> Result<Vec<client::Row>, StoreError> {
        self.client.select(self.db(), sql)
    }

    fn insert(
        &self,
        table: &str,
        rows: &[serde_json::Map<String, serde_json::Value>],
    ) -> Result<(), StoreError> {
        self.client.insert(self.db(), table, rows)
    }

    fn meta_all(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows = self.select("SELECT key, value FROM meta FINAL")?;
        rows.iter()
            .map(|r| Ok((r.str("key")?, r.str("value")?)))
            .collect()
    }

    fn meta_i64(&self, key: &str) -> Result<Option<i64>, StoreError> {
        match self.meta_all()?.get(key) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Corrupt(format!("meta {key} is not a number: {v:?}"))),
        }
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let ver = self.ver();
        let mut m = serde_json::Map::new();
        m.insert("key".into(), key.into());
        m.insert("value".into(), value.into());
        m.insert("ver".into(), ver.into());
        self.insert("meta", &[m])
    }

    /// The retention cutoffs in force.
    fn cutoffs(&self) -> Result<Cutoffs, StoreError> {
        let m = self.meta_all()?;
        let get = |k: &str| -> Result<Option<i64>, StoreError> {
            m.get(k)
                .map(|v| {
                    v.parse()
                        .map_err(|_| StoreError::Corrupt(format!("meta {k} is not a number")))
                })
                .transpose()
        };
        Ok(Cutoffs {
            raw: get(META_RAW_CUTOFF)?,
            compacted: get(META_COMPACTED)?,
            rollups: get(META_ROLLUP_CUTOFF)?,
        })
    }
}

/// What retention has done so far.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cutoffs {
    /// Invocations and stream lines before this are gone (hidden until their partition drops).
    pub raw: Option<i64>,
    /// Hours before this (hour-aligned) are read from `rollups`, later ones from raw rows.
    pub compacted: Option<i64>,
    /// Hourly buckets that end at or before this are gone.
    pub rollups: Option<i64>,
}

impl Store for ClickHouseStore {
    fn ingest(&mut self, batch: &IngestBatch) -> Result<IngestStats, StoreError> {
        ingest::ingest(self, batch)
    }

    fn functions(&self) -> Result<Vec<FunctionMeta>, StoreError> {
        state::functions(self)
    }

    fn function_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<FunctionStats>, StoreError> {
        query::function_stats(self, functions, range)
    }

    fn series(
        &self,
        function: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, FunctionStats)>, StoreError> {
        query::series(self, function, range, bucket_ms)
    }

    fn invocations(&self, q: &InvocationQuery) -> Result<Vec<InvocationRow>, StoreError> {
        query::invocations(self, q)
    }

    fn invocation_logs(
        &self,
        log_group: &str,
        log_stream: &str,
        request_id: &str,
    ) -> Result<Vec<LogLine>, StoreError> {
        query::invocation_logs(self, log_group, log_stream, request_id)
    }

    fn environments(&self, function: &str) -> Result<Vec<EnvironmentRow>, StoreError> {
        query::environments(self, function)
    }

    fn time_bounds(&self) -> Result<Option<(i64, i64)>, StoreError> {
        query::time_bounds(self)
    }

    fn checkpoints(&self, prefix: &str) -> Result<Vec<Checkpoint>, StoreError> {
        state::checkpoints(self, prefix)
    }

    fn apply_retention(&mut self, retention: Retention) -> Result<RetentionStats, StoreError> {
        query::apply_retention(self, retention)
    }

    fn seal(&mut self, now_ms: i64) -> Result<crate::SealStats, StoreError> {
        seal::seal(self, now_ms)
    }

    fn delete_function(
        &mut self,
        function: &str,
        before_ms: Option<i64>,
    ) -> Result<crate::DeleteStats, StoreError> {
        delete::delete_function(self, function, before_ms)
    }

    fn environment_summaries(
        &self,
        range: TimeRange,
    ) -> Result<Vec<crate::EnvironmentSummary>, StoreError> {
        query::environment_summaries(self, range)
    }

    fn error_groups(&self, q: &ErrorQuery) -> Result<Vec<ErrorGroup>, StoreError> {
        errors::error_groups(self, q)
    }

    fn error_group(&self, id: &str, now_ms: Option<i64>) -> Result<Option<ErrorGroup>, StoreError> {
        errors::error_group(self, id, now_ms)
    }

    fn error_series(
        &self,
        id: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        errors::error_series(self, id, range, bucket_ms)
    }

    fn error_samples(&self, id: &str, limit: usize) -> Result<Vec<InvocationRow>, StoreError> {
        errors::error_samples(self, id, limit)
    }

    fn set_error_status(
        &mut self,
        id: &str,
        status: ErrorStatus,
        muted_until_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        errors::set_error_status(self, id, status, muted_until_ms, now_ms)
    }

    fn error_occurrences_since(
        &self,
        after: OccurrenceCursor,
        limit: usize,
    ) -> Result<Vec<ErrorOccurrence>, StoreError> {
        errors::occurrences_since(self, after, limit)
    }

    fn apply_incident(
        &mut self,
        change: &IncidentChange,
        notify: &dyn Fn(&Incident) -> Vec<OutboxItem>,
    ) -> Result<IncidentApplied, StoreError> {
        state::apply_incident(self, change, notify)
    }

    fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>, StoreError> {
        state::incidents(self, q)
    }

    fn enqueue(
        &mut self,
        items: &[OutboxItem],
        now_ms: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<u64, StoreError> {
        state::enqueue(self, items, now_ms, checkpoint)
    }

    fn outbox_due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        state::outbox_due(self, now_ms, limit)
    }

    fn fleet(
        &self,
        range: TimeRange,
        bucket_ms: Option<i64>,
    ) -> Result<Vec<crate::FleetRow>, StoreError> {
        query::fleet(self, range, bucket_ms)
    }

    fn fleet_counts(
        &self,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        query::fleet_counts(self, range, bucket_ms)
    }

    fn outbox_history(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        state::outbox_history(self, limit)
    }

    fn outbox_mark(&mut self, id: i64, mark: &OutboxMark, now_ms: i64) -> Result<bool, StoreError> {
        state::outbox_mark(self, id, mark, now_ms)
    }

    fn store_tuning_run(&mut self, run: &TuningRun) -> Result<(), StoreError> {
        state::store_tuning_run(self, run)
    }

    fn tuning_runs(&self, function: &str) -> Result<Vec<TuningRun>, StoreError> {
        state::tuning_runs(self, function)
    }

    fn add_marker(&mut self, marker: &Marker) -> Result<Marker, StoreError> {
        state::add_marker(self, marker)
    }

    fn markers(&self, function: Option<&str>) -> Result<Vec<Marker>, StoreError> {
        state::markers(self, function)
    }

    fn try_lease(
        &mut self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        leases::try_lease(self, name, holder, now_ms, ttl_ms)
    }

    fn release_lease(&mut self, name: &str, holder: &str) -> Result<bool, StoreError> {
        leases::release(self, name, holder)
    }

    fn leases(&self, prefix: &str, now_ms: i64) -> Result<Vec<Lease>, StoreError> {
        leases::list(self, prefix, now_ms)
    }

    fn values_seen(&self, function: Option<&str>) -> Result<Vec<ValueSeen>, StoreError> {
        seen::values_seen(self, function)
    }
}
