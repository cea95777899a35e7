//! Opening a database file, recognising it as Tern's, and migrating its schema.
//!
//! The schema version lives in `PRAGMA user_version` and Tern's databases carry
//! `PRAGMA application_id = APPLICATION_ID`, so a foreign SQLite file is refused rather than
//! written into.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// `PRAGMA application_id` of a Tern database ("TERN" in ASCII).
pub(crate) const APPLICATION_ID: i64 = 0x5445_524E;

/// One script per schema version: `MIGRATIONS[i]` takes version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10];

/// The version whose migration also fills `size_hour` and `size_day` from the stored
/// invocations (sketches are built in Rust, not SQL).
const SIZES_VERSION: i64 = 10;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The columns `rollup_hour` and `rollup_day` share: one table per bucket width.
macro_rules! rollup_columns {
    () => {
        "
    function_id INTEGER NOT NULL,
    bucket_ms INTEGER NOT NULL,
    n_success INTEGER NOT NULL,
    n_error INTEGER NOT NULL,
    n_timeout INTEGER NOT NULL,
    n_out_of_memory INTEGER NOT NULL,
    n_crash INTEGER NOT NULL,
    n_init_error INTEGER NOT NULL,
    cold_starts INTEGER NOT NULL,
    over_20s INTEGER NOT NULL,
    billed_ms REAL NOT NULL,
    gb_seconds REAL NOT NULL,
    max_memory_used_mb INTEGER,
    first_ms INTEGER,
    last_ms INTEGER,
    latest_memory_mb INTEGER,
    latest_memory_ms INTEGER,
    duration BLOB,
    init BLOB,
    PRIMARY KEY (function_id, bucket_ms)
"
    };
}

/// Version 1.
///
/// * `functions`: one row per function name, with what is known about it (`memory_mb` as
///   configured, `seen_memory_*` from the latest REPORT).
/// * `environments`: one row per (log group, log stream), i.e. per execution environment. It is
///   also the stream dictionary: invocations and stream lines refer to it by id.
/// * `invocations`: one row per (environment, request id), appended in arrival order. The key
///   is enforced by a small integer index on (environment, `rid_hash`), a 62-bit hash of the
///   request id with linear probing on collision (see `codec::request_hash`), which is several
///   times cheaper to maintain at ingest than an index on the request id text. `t` is the time
///   the invocation belongs to (REPORT time, else start), frozen once the invocation is
///   complete and counted in rollups. `lines` is one LZ4 blob of all its log lines.
/// * `spans`: the time index of invocations. Rows of one function inserted together (one
///   batch, one hour) have consecutive ids; a span records that id range and the time range
///   of its rows (widened when a merge moves a row's time). It replaces an index on
///   (function, t), which cost a sixth of ingest throughput: a batch writes a few span rows
///   per function instead of one index entry per invocation. `settings.span_width` is the
///   widest span, which bounds the search for spans overlapping a time range.
/// * `stream_lines`: unattributed lines, one compressed chunk per ingest, with its time span.
/// * `rollup_hour`, `rollup_day`: per function and UTC bucket, everything `function_stats`
///   needs, including encoded duration and init sketches (NULL when empty).
const V1: &str = concat!(
    "
CREATE TABLE functions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    region TEXT,
    arch TEXT,
    timeout_ms INTEGER,
    runtime TEXT,
    memory_mb INTEGER,
    seen_memory_mb INTEGER,
    seen_memory_ms INTEGER
);

CREATE TABLE environments (
    id INTEGER PRIMARY KEY,
    function_id INTEGER NOT NULL,
    log_group TEXT NOT NULL,
    log_stream TEXT NOT NULL,
    invocations INTEGER NOT NULL DEFAULT 0,
    cold_starts INTEGER NOT NULL DEFAULT 0,
    first_ms INTEGER,
    last_ms INTEGER,
    runtime_version TEXT,
    UNIQUE (log_group, log_stream)
);
CREATE INDEX environments_function ON environments (function_id, last_ms);

CREATE TABLE invocations (
    id INTEGER PRIMARY KEY,
    env_id INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    rid_hash INTEGER NOT NULL,
    function_id INTEGER NOT NULL,
    t INTEGER NOT NULL,
    start_ms INTEGER,
    end_ms INTEGER,
    complete INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    cold INTEGER NOT NULL,
    cold_flag INTEGER NOT NULL,
    signals INTEGER NOT NULL,
    version TEXT,
    duration_ms REAL,
    billed_ms REAL,
    memory_mb INTEGER,
    max_memory_mb INTEGER,
    init_ms REAL,
    restore_ms REAL,
    billed_restore_ms REAL,
    status TEXT,
    report_error_type TEXT,
    xray_trace_id TEXT,
    report_format INTEGER,
    error_type TEXT,
    error_message TEXT,
    error_stack BLOB,
    runtime_version TEXT,
    init_report_ms REAL,
    lines BLOB NOT NULL,
    UNIQUE (env_id, rid_hash)
);

CREATE TABLE spans (
    function_id INTEGER NOT NULL,
    min_id INTEGER NOT NULL,
    max_id INTEGER NOT NULL,
    min_t INTEGER NOT NULL,
    max_t INTEGER NOT NULL,
    PRIMARY KEY (function_id, min_id)
) WITHOUT ROWID;
CREATE INDEX spans_function_min_t ON spans (function_id, min_t);
CREATE INDEX spans_function_max_t ON spans (function_id, max_t);
CREATE INDEX spans_max_t ON spans (max_t);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE stream_lines (
    id INTEGER PRIMARY KEY,
    env_id INTEGER NOT NULL,
    min_ms INTEGER NOT NULL,
    max_ms INTEGER NOT NULL,
    lines BLOB NOT NULL
);
CREATE INDEX stream_lines_env ON stream_lines (env_id, min_ms);

CREATE TABLE rollup_hour (",
    rollup_columns!(),
    ") WITHOUT ROWID;

CREATE TABLE rollup_day (",
    rollup_columns!(),
    ") WITHOUT ROWID;
"
);

/// Version 2: what the AWS inventory knows of a function, and live-source checkpoints.
///
/// * `functions.tags`: `key\u{1f}value` pairs joined by `\u{1e}` (unit and record separators,
///   which tag keys and values cannot contain).
/// * `checkpoints`: a live source's position, written in the transaction of its data.
const V2: &str = "
ALTER TABLE functions ADD COLUMN account TEXT;
ALTER TABLE functions ADD COLUMN function_arn TEXT;
ALTER TABLE functions ADD COLUMN ephemeral_mb INTEGER;
ALTER TABLE functions ADD COLUMN log_group TEXT;
ALTER TABLE functions ADD COLUMN log_format TEXT;
ALTER TABLE functions ADD COLUMN last_modified TEXT;
ALTER TABLE functions ADD COLUMN tags TEXT;
ALTER TABLE functions ADD COLUMN inventory_ms INTEGER;

CREATE TABLE checkpoints (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Version 6: the retention of a function's log group, from the
/// inventory's DescribeLogGroups. `0` is a group that never expires; NULL is unknown.
const V6: &str = "
ALTER TABLE functions ADD COLUMN log_retention_days INTEGER;
";

/// Version 3: error groups, alert incidents and the notification outbox.
///
/// * `error_groups`: one row per fingerprint. `id` *is* the fingerprint hash (the `u64` of
///   `tern_core::fingerprint`, stored as the `i64` with the same bits), so ingest knows a
///   group's key without a lookup and needs no second unique index. `outcome` is
///   `Outcome::code` of the first occurrence; `message` and `error_type` are the latest
///   occurrence's; `frames` are the hashed frames joined by `\n`. `count` is every occurrence
///   ever stored (raw retention does not lower it). `status` is `open`, `resolved` or `muted`
///   as last set (an expired mute is read as open). `event_seq`/`event` are the ingest
///   sequence and kind (`new`, `regression`) of the group's latest alertable event.
/// * `error_occurrences`: one row per failed, complete invocation (keyed by its row id) and
///   the group it counts in; `t` is the invocation's `t`; `seq` the ingest sequence that
///   stored or last moved it. Deleted with its invocation by raw retention.
/// * `error_hours`: occurrences per group and UTC hour (the timeline); rollup retention
///   deletes old hours.
/// * `settings.error_seq`: the ingest sequence, bumped by each batch that stores occurrences.
/// * `incidents`: alert incidents; the partial unique index allows one open incident per
///   (policy, subject).
/// * `outbox`: notifications to send, queued in the transaction of the change they report.
const V3: &str = "
CREATE TABLE error_groups (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    function_id INTEGER NOT NULL,
    basis TEXT NOT NULL,
    outcome INTEGER NOT NULL,
    error_type TEXT,
    title TEXT NOT NULL,
    message TEXT,
    culprit TEXT,
    frames TEXT,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    status_ms INTEGER,
    muted_until_ms INTEGER,
    resolved_ms INTEGER,
    regressions INTEGER NOT NULL DEFAULT 0,
    regressed_ms INTEGER,
    event_seq INTEGER NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX error_groups_function ON error_groups (function_id, last_ms);
CREATE INDEX error_groups_event ON error_groups (event_seq);

CREATE TABLE error_occurrences (
    invocation_id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL,
    t INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX error_occurrences_group ON error_occurrences (group_id, t);
CREATE INDEX error_occurrences_seq ON error_occurrences (seq);

CREATE TABLE error_hours (
    group_id INTEGER NOT NULL,
    bucket_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (group_id, bucket_ms)
) WITHOUT ROWID;

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    policy TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL,
    opened_ms INTEGER NOT NULL,
    last_firing_ms INTEGER NOT NULL,
    resolved_ms INTEGER,
    value REAL,
    threshold REAL,
    detail TEXT
);
CREATE UNIQUE INDEX incidents_open ON incidents (policy, subject) WHERE state = 'open';
CREATE INDEX incidents_opened ON incidents (opened_ms);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    last_error TEXT,
    sent_ms INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
";

/// Version 4: log volume (the log-volume alert metric).
///
/// * `rollup_hour`, `rollup_day`: `log_lines` and `log_bytes` (UTF-8 bytes of the messages)
///   of the log lines stored in the bucket. An invocation's lines count in the bucket of its
///   time `t`, stream lines in the bucket of their chunk's first line.
/// * `invocations`, `stream_lines`: the same two figures per row, so that the partial hours
///   at a range's edges are counted exactly without decoding log blobs.
/// * `stream_lines_min`: finds the chunks of those partial hours by time.
///
/// Rows stored before version 4 count zero lines: log volume is recorded from the upgrade on
/// (there is no backfill, so rollups and rows agree).
const V4: &str = "
ALTER TABLE rollup_hour ADD COLUMN log_lines INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_day ADD COLUMN log_lines INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_day ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invocations ADD COLUMN log_lines INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invocations ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stream_lines ADD COLUMN log_lines INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stream_lines ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX stream_lines_min ON stream_lines (min_ms);
";

/// Version 5: power-tuning results (`tern tune`).
///
/// * `tuning_runs`: one row per run, unique by (function, started_ms). The function is named
///   by text, not `functions.id`: a function can be tuned before any of its logs arrive.
/// * `tuning_points`: one row per (run, arch, memory); NULL durations when nothing succeeded.
const V5: &str = "
CREATE TABLE tuning_runs (
    id INTEGER PRIMARY KEY,
    function TEXT NOT NULL,
    region TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL,
    original_memory_mb INTEGER NOT NULL,
    original_arch TEXT NOT NULL,
    invocations_per_size INTEGER NOT NULL,
    cold_starts_only INTEGER NOT NULL,
    payload TEXT NOT NULL,
    complete INTEGER NOT NULL,
    applied_memory_mb INTEGER,
    UNIQUE (function, started_ms)
);

CREATE TABLE tuning_points (
    run_id INTEGER NOT NULL,
    arch TEXT NOT NULL,
    memory_mb INTEGER NOT NULL,
    invocations INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    cold_starts INTEGER NOT NULL,
    p50_ms REAL,
    p95_ms REAL,
    p99_ms REAL,
    trimmed_mean_ms REAL,
    billed_mean_ms REAL,
    init_p50_ms REAL,
    max_memory_used_mb INTEGER,
    cost_usd REAL,
    error TEXT,
    PRIMARY KEY (run_id, arch, memory_mb)
) WITHOUT ROWID;
";

fn open_err(path: &str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// Cheap sanity check of an existing file before SQLite touches it: a SQLite header, and a
/// file at least as long as the page count the header claims (catches truncated copies,
/// which SQLite itself only notices when it reads a missing page).
fn check_file(path: &Path, shown: &str) -> Result<(), StoreError> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(open_err(shown, e)),
    };
    let len = f.metadata().map_err(|e| open_err(shown, e))?.len();
    if len == 0 {
        return Ok(());
    }
    let mut header = [0u8; 100];
    if len < 100 || f.read_exact(&mut header).is_err() || &header[..16] != b"SQLite format 3\0" {
        return Err(open_err(shown, "not a SQLite database"));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536u64,
        n => u64::from(n),
    };
    let change_counter = &header[24..28];
    let valid_for = &header[92..96];
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    // While a WAL has frames, a checkpoint may be copying them into the main file: page 1
    // (with the new page count) is written before the pages that extend the file, so a
    // reader opening alongside a live writer would see a "truncated" file that is not.
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_active = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    if !wal_active && change_counter == valid_for && pages > 0 && len < pages * page_size {
        return Err(open_err(
            shown,
            format!(
                "database file is truncated ({len} bytes, header says {} bytes)",
                pages * page_size
            ),
        ));
    }
    Ok(())
}

const PAGE_SIZE: i64 = 8192;
/// SQLite's page cache of a writing connection, in KiB. Ingest at 44.5 M events ran as fast
/// with 32 MiB as with 128 MiB and peaked 90 MB lower (BENCHMARKS.md, "Memory"); pages it
/// misses come from the operating system's file cache.
const WRITER_CACHE_KIB: i64 = 32 << 10;

/// Open (creating if absent) and migrate a file database.
pub(crate) fn open_file(path: &Path) -> Result<Connection, StoreError> {
    let shown = path.display().to_string();
    check_file(path, &shown)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(&shown, e))?;
    // page_size only takes effect on a new database (before the first write).
    let setup = format!(
        "PRAGMA busy_timeout = 5000;
         PRAGMA page_size = {PAGE_SIZE};
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA wal_autocheckpoint = 65536;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA cache_size = -{WRITER_CACHE_KIB};
         PRAGMA temp_store = MEMORY;"
    );
    // Switching a new file to WAL needs the file to itself; another process opening it at the
    // same moment makes SQLite answer "busy" at once, without waiting. Retry for a while.
    let mut tries = 0;
    loop {
        match conn.execute_batch(&setup) {
            Ok(()) => break,
            Err(e) if is_busy(&e) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(open_err(&shown, e)),
        }
    }
    init(&conn, &shown)?;
    Ok(conn)
}

/// Version 7: change markers (`tern mark`, `POST /api/v1/markers`).
///
/// * `markers`: one row per marker. The function is named by text, not `functions.id`: a
///   CI pipeline can mark a deploy before any of the function's logs arrive.
/// * `markers_function`: a function's markers by time.
const V7: &str = "
CREATE TABLE markers (
    id INTEGER PRIMARY KEY,
    function TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    note TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX markers_function ON markers (function, at_ms);
";

/// Version 8: leases, which collector of several sharing the store does a
/// once-per-fleet job (alert evaluation, the outbox, retention) or is alive.
///
/// * `leases`: one row per lease name: its holder and when it expires (epoch ms). A released
///   lease has no row; an expired one keeps its row until someone takes it.
const V8: &str = "
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Version 9: change points kept at ingest: when each value of each change attribute of
/// a function was first and last seen.
///
/// * `values_seen`: one row per (function, attribute, value). `attribute` is
///   `tern_core::impact::Attribute::as_str` (`version`, `memory_size`, `runtime_version`,
///   `architecture`, `configuration`); `value` is the value as text (memory in MB). Ingest
///   lowers `first_ms` and raises `last_ms`, never the other way, so batches in any order and
///   repeated batches give the same rows. Raw retention does not delete rows: a change stays
///   known after its invocations expire.
/// * The backfill fills it from the invocations already stored (complete ones, by `t`, as
///   ingest does). The inventory's architecture and `LastModified` are recorded from the next
///   inventory on: before this version only the latest of each was kept, which alone is never
///   a change.
const V9: &str = "
CREATE TABLE values_seen (
    function_id INTEGER NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (function_id, attribute, value)
) WITHOUT ROWID;
INSERT INTO values_seen (function_id, attribute, value, first_ms, last_ms)
    SELECT function_id, 'version', version, MIN(t), MAX(t) FROM invocations
    WHERE complete = 1 AND version IS NOT NULL GROUP BY function_id, version;
INSERT INTO values_seen (function_id, attribute, value, first_ms, last_ms)
    SELECT function_id, 'memory_size', CAST(memory_mb AS TEXT), MIN(t), MAX(t) FROM invocations
    WHERE complete = 1 AND memory_mb IS NOT NULL GROUP BY function_id, memory_mb;
INSERT INTO values_seen (function_id, attribute, value, first_ms, last_ms)
    SELECT function_id, 'runtime_version', runtime_version, MIN(t), MAX(t) FROM invocations
    WHERE complete = 1 AND runtime_version IS NOT NULL GROUP BY function_id, runtime_version;
";

/// The columns `size_hour` and `size_day` share.
macro_rules! size_columns {
    () => {
        "
    function_id INTEGER NOT NULL,
    bucket_ms INTEGER NOT NULL,
    version TEXT NOT NULL,
    memory_mb INTEGER NOT NULL,
    n_success INTEGER NOT NULL,
    n_error INTEGER NOT NULL,
    n_timeout INTEGER NOT NULL,
    n_out_of_memory INTEGER NOT NULL,
    n_crash INTEGER NOT NULL,
    n_init_error INTEGER NOT NULL,
    cold_starts INTEGER NOT NULL,
    cold_failures INTEGER NOT NULL,
    billed_ms REAL NOT NULL,
    max_memory_used_mb INTEGER,
    first_ms INTEGER,
    last_ms INTEGER,
    duration BLOB,
    init BLOB,
    PRIMARY KEY (function_id, bucket_ms, version, memory_mb)
"
    };
}

/// Version 10: the memory advice's statistics, kept at ingest.
///
/// * `size_hour`, `size_day`: per function, UTC bucket, version (`''` when the logs did not
///   say) and Memory Size, the counts and sketches of the complete invocations
///   (`sqlite/sizes.rs`). Retention and `delete_function` drop them with the rollups.
/// * The migration fills them from the complete invocations already stored, by `t`, as ingest
///   does (`sizes::backfill`, run after this script in the same transaction).
const V10: &str = concat!(
    "
CREATE TABLE size_hour (",
    size_columns!(),
    ") WITHOUT ROWID;

CREATE TABLE size_day (",
    size_columns!(),
    ") WITHOUT ROWID;
"
);

/// Apply the missing migrations under one write lock. The version is read again once the lock
/// is held: two processes opening a new database at once must not both create the schema.
fn migrate(conn: &Connection, shown: &str) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| open_err(shown, format!("cannot lock the database to set it up: {e}")))?;
    let run = || -> Result<(), String> {
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        for (v, script) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let next = v as i64 + 1;
            conn.execute_batch(&format!(
                "{script}
                 PRAGMA application_id = {APPLICATION_ID};
                 PRAGMA user_version = {next};"
            ))
            .map_err(|e| format!("migration to version {next} failed: {e}"))?;
            if next == SIZES_VERSION {
                super::sizes::backfill(conn)
                    .map_err(|e| format!("migration to version {next} failed: {e}"))?;
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => conn
            .execute_batch("COMMIT")
            .map_err(|e| open_err(shown, format!("setting up the database failed: {e}"))),
        Err(message) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(open_err(shown, message))
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Open an existing database for reading only: never creates, never migrates, and works on a
/// file the user may not write.
pub(crate) fn open_file_read_only(path: &Path) -> Result<Connection, StoreError> {
    match open_read_only_with(path, false) {
        // A WAL database in a directory the user cannot write has no shared-memory file to
        // coordinate through: read it as an immutable snapshot instead.
        Err(StoreError::Open { message, .. }) if message.contains("readonly") => {
            open_read_only_with(path, true)
        }
        other => other,
    }
}

fn open_read_only_with(path: &Path, immutable: bool) -> Result<Connection, StoreError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return Err(open_err(&shown, "is a directory, not a database file"));
    }
    if !path.exists() {
        return Err(open_err(
            &shown,
            "no such database (create it with `tern ingest --db PATH …`)",
        ));
    }
    check_file(path, &shown)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if immutable {
        let uri = format!(
            "file:{}?immutable=1",
            path.display()
                .to_string()
                .replace('%', "%25")
                .replace('?', "%3f")
                .replace('#', "%23")
        );
        Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
    } else {
        Connection::open_with_flags(path, flags)
    }
    .map_err(|e| open_err(&shown, e))?;
    conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -131072;")
        .map_err(|e| open_err(&shown, e))?;
    let read = |sql: &str| -> Result<i64, StoreError> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| open_err(&shown, e))
    };
    let app_id = read("PRAGMA application_id")?;
    let version = read("PRAGMA user_version")?;
    if app_id != APPLICATION_ID {
        return Err(open_err(&shown, "not a Tern database"));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < SCHEMA_VERSION {
        return Err(open_err(
            &shown,
            format!(
                "written by an older Tern (schema {version}); run `tern ingest` once to upgrade it"
            ),
        ));
    }
    Ok(conn)
}

pub(crate) fn open_memory() -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory().map_err(|e| open_err(":memory:", e))?;
    init(&conn, ":memory:")?;
    Ok(conn)
}

fn init(conn: &Connection, shown: &str) -> Result<(), StoreError> {
    let read = |sql: &str| -> Result<i64, StoreError> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| open_err(shown, e))
    };
    let app_id = read("PRAGMA application_id")?;
    let version = read("PRAGMA user_version")?;
    let tables = read("SELECT count(*) FROM sqlite_schema")?;
    if app_id != APPLICATION_ID && (app_id != 0 || tables > 0 || version != 0) {
        return Err(open_err(shown, "not a Tern database"));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 0 {
        return Err(open_err(shown, format!("bad schema version {version}")));
    }
    if (version as usize) < MIGRATIONS.len() {
        migrate(conn, shown)?;
    }
    // Reading the schema catches a damaged file early, with a clear message.
    conn.query_row("SELECT count(*) FROM functions", [], |r| r.get::<_, i64>(0))
        .map_err(|e| open_err(shown, format!("damaged database: {e}")))?;
    Ok(())
}
