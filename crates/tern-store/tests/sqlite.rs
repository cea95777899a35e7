//! The SQLite backend: the conformance suite on file-backed and in-memory stores, and what is
//! particular to SQLite (opening foreign or damaged files, corrupt blobs, durability).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use rusqlite::Connection;
use tern_core::model::InvocationPart;
use tern_store::conformance::{invocation, T0};
use tern_store::{
    ErrorQuery, IngestBatch, IngestStats, InvocationQuery, SqliteStore, Store, StoreError,
    TimeRange,
};

/// A file-backed store in its own temporary directory, removed on drop.
struct TempStore {
    // Declared first: the store closes before its directory is removed.
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

fn temp_store() -> TempStore {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("tern.db")).unwrap();
    TempStore { store, _dir: dir }
}

fn memory_store() -> SqliteStore {
    SqliteStore::open_in_memory().unwrap()
}

impl Store for TempStore {
    fn ingest(&mut self, batch: &IngestBatch) -> Result<IngestStats, StoreError> {
        self.store.ingest(batch)
    }
    tern_store::forward_store_except_ingest!(store);
}

tern_store::conformance_tests!(file_backed, temp_store);
tern_store::conformance_tests!(in_memory, memory_store);

fn some_parts() -> Vec<InvocationPart> {
    (0..50)
        .map(|i| {
            invocation(
                "alpha",
                i % 3,
                &format!("r{i}"),
                T0 + i64::from(i) * 1000,
                12.5,
                256,
            )
        })
        .collect()
}

fn ingest_some(path: &Path) {
    let mut store = SqliteStore::open(path).unwrap();
    store
        .ingest(&IngestBatch {
            parts: some_parts(),
            ..Default::default()
        })
        .unwrap();
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    let store = SqliteStore::open(&path).unwrap();
    let stats = store.function_stats(&[], TimeRange::all()).unwrap();
    assert_eq!(stats[0].invocations, 50);
    let mut store = store;
    let again = store
        .ingest(&IngestBatch {
            parts: some_parts(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(again.unchanged, 50, "the key survives reopen");
}

fn open_error(path: &Path) -> StoreError {
    SqliteStore::open(path).expect_err("must not open")
}

#[test]
fn refuses_a_text_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "these are not the tables you are looking for\n".repeat(100),
    )
    .unwrap();
    let e = open_error(&path);
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
    assert!(e.to_string().contains("not a SQLite database"), "{e}");
    // And leaves it alone.
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with("these are"));
}

#[test]
fn refuses_a_truncated_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8192);
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = open_error(&cut);
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    let stub = dir.path().join("stub.db");
    std::fs::write(&stub, &bytes[..60]).unwrap();
    assert!(matches!(open_error(&stub), StoreError::Open { .. }));
}

#[test]
fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA user_version = 999").unwrap();
    drop(conn);
    match open_error(&path) {
        StoreError::SchemaTooNew { found, supported } => {
            assert_eq!(found, 999);
            assert_eq!(supported, tern_store::sqlite::SCHEMA_VERSION);
        }
        e => panic!("expected SchemaTooNew, got {e}"),
    }
}

#[test]
fn refuses_another_programs_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
        .unwrap();
    drop(conn);
    let e = open_error(&path);
    assert!(e.to_string().contains("not a Tern database"), "{e}");
}

#[test]
fn opens_an_empty_file_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.functions().unwrap().is_empty());
}

#[test]
fn missing_directory_is_an_open_error() {
    let e = open_error(Path::new("/nonexistent-tern-dir/sub/tern.db"));
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
}

#[test]
fn corrupt_blobs_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE invocations SET lines = x'01ffffff7f00' WHERE request_id = 'r1';
         UPDATE invocations SET lines = x'0105000000' WHERE request_id = 'r2';
         UPDATE invocations SET error_stack = x'ff', error_type = 'E' WHERE request_id = 'r3';
         UPDATE rollup_day SET duration = x'01ff00';",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    let p = &some_parts()[1];
    let e = store
        .invocation_logs(&p.log_group, &p.log_stream, "r1")
        .unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    let p2 = &some_parts()[2];
    let e = store
        .invocation_logs(&p2.log_group, &p2.log_stream, "r2")
        .unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    let e = store
        .invocations(&InvocationQuery {
            request_id: Some("r3".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    let e = store.function_stats(&[], TimeRange::all()).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    // A merge into a corrupt row reports it too, and the batch is rolled back whole.
    let mut store = store;
    let e = store
        .ingest(&IngestBatch {
            parts: some_parts(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
}

#[test]
fn one_batch_is_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    let mut store = SqliteStore::open(&path).unwrap();
    // A reader on another connection sees either nothing or the whole batch.
    let reader = Connection::open(&path).unwrap();
    let count = || -> i64 {
        reader
            .query_row("SELECT count(*) FROM invocations", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(), 0);
    store
        .ingest(&IngestBatch {
            parts: some_parts(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(count(), 50);
    let mode: String = reader
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// Undo versions 9 and 8 (values seen, leases): a version-7 database.
const DOWN_TO_V7: &str = "DROP TABLE size_hour; DROP TABLE size_day; DROP TABLE values_seen; DROP TABLE leases; PRAGMA user_version = 7;";

/// Undo versions 9, 8 and 7 (values seen, leases, change markers): a version-6 database.
const DOWN_TO_V6: &str =
    "DROP TABLE size_hour; DROP TABLE size_day; DROP TABLE values_seen; DROP TABLE leases; DROP TABLE markers; PRAGMA user_version = 6;";

/// Undo versions 9 to 6 (values seen, leases, markers, log group retention): a version-5
/// database.
const DOWN_TO_V5: &str = "DROP TABLE size_hour; DROP TABLE size_day; DROP TABLE values_seen; DROP TABLE leases; DROP TABLE markers; \
     ALTER TABLE functions DROP COLUMN log_retention_days; PRAGMA user_version = 5;";

/// A database from before leases gains the leases table on open, and its data is
/// untouched.
#[test]
fn migrates_a_database_without_leases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(DOWN_TO_V7).unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    assert!(store.leases("", T0).unwrap().is_empty());
    assert!(store.try_lease("alerts", "a", T0, 30_000).unwrap());
    assert_eq!(store.leases("", T0).unwrap().len(), 1);
    assert_eq!(
        store.function_stats(&[], TimeRange::all()).unwrap()[0].invocations,
        50
    );
}

/// Two processes' connections to one file: a lease one holds cannot be taken through the
/// other until it expires (SQLite's write lock makes the take an exact compare-and-set).
#[test]
fn leases_hold_across_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    let mut a = SqliteStore::open(&path).unwrap();
    let mut b = SqliteStore::open(&path).unwrap();
    assert!(a.try_lease("alerts", "a", T0, 10_000).unwrap());
    assert!(!b.try_lease("alerts", "b", T0 + 5_000, 10_000).unwrap());
    assert!(b.try_lease("alerts", "b", T0 + 10_000, 10_000).unwrap());
    assert!(!a.try_lease("alerts", "a", T0 + 10_001, 10_000).unwrap());
    let reader = SqliteStore::open_read_only(&path).unwrap();
    let held = reader.leases("alerts", T0 + 10_001).unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].holder, "b");
}

/// A database from before change points were kept at ingest (version 7) is
/// backfilled from its stored invocations on open, to the same rows ingest keeps, and ingest
/// goes on from there.
#[test]
fn migration_backfills_values_seen_from_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    let history = tern_store::conformance::deploy_history();
    let (first, rest) = history.split_at(4);
    let want_after_all = {
        let mut s = SqliteStore::open_in_memory().unwrap();
        s.ingest(&IngestBatch {
            parts: history.clone(),
            ..Default::default()
        })
        .unwrap();
        s.values_seen(None).unwrap()
    };
    let want_first = {
        let mut store = SqliteStore::open(&path).unwrap();
        store
            .ingest(&IngestBatch {
                parts: first.to_vec(),
                ..Default::default()
            })
            .unwrap();
        store.values_seen(None).unwrap()
    };
    assert!(!want_first.is_empty());
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(DOWN_TO_V7).unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.values_seen(None).unwrap(), want_first);
    store
        .ingest(&IngestBatch {
            parts: rest.to_vec(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.values_seen(None).unwrap(), want_after_all);
    assert_eq!(
        tern_store::changes(&store, Some("orders"), 0)
            .unwrap()
            .len(),
        6
    );
}

/// Undo version 5 (power tuning) on a version-5 database.
const DOWN_TO_V4: &str =
    "DROP TABLE tuning_runs; DROP TABLE tuning_points; PRAGMA user_version = 4;";

/// A database from before change markers gains the markers table on open, and its
/// data is untouched.
#[test]
fn migrates_a_database_without_markers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(DOWN_TO_V6).unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    assert!(store.markers(None).unwrap().is_empty());
    let m = store
        .add_marker(&tern_store::Marker {
            id: 0,
            function: "alpha".into(),
            at_ms: T0,
            note: "deployed v2".into(),
            created_ms: T0,
        })
        .unwrap();
    assert_eq!(store.markers(Some("alpha")).unwrap(), vec![m]);
    assert_eq!(
        store.function_stats(&[], TimeRange::all()).unwrap()[0].invocations,
        50
    );
}

/// Undo version 4 (log volume) on a version-4 database.
const DOWN_TO_V3: &str = "DROP INDEX stream_lines_min;
    ALTER TABLE rollup_hour DROP COLUMN log_lines; ALTER TABLE rollup_hour DROP COLUMN log_bytes;
    ALTER TABLE rollup_day DROP COLUMN log_lines; ALTER TABLE rollup_day DROP COLUMN log_bytes;
    ALTER TABLE invocations DROP COLUMN log_lines; ALTER TABLE invocations DROP COLUMN log_bytes;
    ALTER TABLE stream_lines DROP COLUMN log_lines; ALTER TABLE stream_lines DROP COLUMN log_bytes;
    PRAGMA user_version = 3;";

/// A version-3 database (before log volume) is migrated on open. Its rows count no lines (no
/// backfill); lines stored after that count, and an old invocation that learns something
/// counts all its lines from then on, so rollups and rows keep agreeing.
#[test]
fn migrates_a_version_3_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(DOWN_TO_V5).unwrap();
    conn.execute_batch(DOWN_TO_V4).unwrap();
    conn.execute_batch(DOWN_TO_V3).unwrap();
    drop(conn);
    let mut store = SqliteStore::open(&path).unwrap();
    let volume = |store: &SqliteStore, range: TimeRange| {
        let s = store.function_stats(&[], range).unwrap();
        (s[0].invocations, s[0].log_lines)
    };
    assert_eq!(volume(&store, TimeRange::all()), (50, 0));
    let old = some_parts()[0].clone();
    let lines_of_old = old.log_lines.len() as u64;
    let mut more = old.clone();
    more.report = None;
    more.log_lines = vec![tern_core::model::LogLine {
        timestamp_ms: old.start_ms.unwrap() + 2,
        message: "one more".into(),
        event_id: Some("x-1".into()),
    }];
    let new = invocation("alpha", 1, "after-upgrade", T0 + 3_600_000, 12.5, 256);
    let lines_of_new = new.log_lines.len() as u64;
    store
        .ingest(&IngestBatch {
            parts: vec![more, new],
            ..Default::default()
        })
        .unwrap();
    let want = (51, lines_of_old + 1 + lines_of_new);
    assert_eq!(volume(&store, TimeRange::all()), want);
    // The partial hours (rows) agree with the rollups: every invocation is in one.
    let unaligned = TimeRange {
        from_ms: Some(T0 + 1),
        to_ms: Some(T0 + 3_600_000 + 14),
    };
    assert_eq!(volume(&store, unaligned), want);
}

/// A version-5 database (before log group retention) gains the column on open and
/// keeps its functions.
#[test]
fn migrates_a_version_5_database_to_log_retention() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(DOWN_TO_V5).unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let before = store.functions().unwrap();
    assert!(!before.is_empty());
    assert!(before.iter().all(|f| f.log_retention_days.is_none()));
    store
        .ingest(&IngestBatch {
            functions: vec![tern_store::FunctionMeta {
                function: before[0].function.clone(),
                log_retention_days: Some(30),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.functions().unwrap()[0].log_retention_days, Some(30));
}

/// A version-2 database (before error groups) is migrated on open and groups the
/// failures ingested after that.
#[test]
fn migrates_a_version_2_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(DOWN_TO_V5).unwrap();
        conn.execute_batch(DOWN_TO_V4).unwrap();
        conn.execute_batch(DOWN_TO_V3).unwrap();
        conn.execute_batch(
            "DROP TABLE error_groups; DROP TABLE error_occurrences; DROP TABLE error_hours;
             DROP TABLE incidents; DROP TABLE outbox; PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let mut failed = invocation("alpha", 1, "late-failure", T0 + 3_600_000, 12.5, 256);
    failed.signals.timeout_line = true;
    store
        .ingest(&IngestBatch {
            parts: vec![failed],
            ..Default::default()
        })
        .unwrap();
    let groups = store.error_groups(&ErrorQuery::default()).unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!((groups[0].count, groups[0].title.as_str()), (1, "Timeout"));
    assert_eq!(
        store.function_stats(&[], TimeRange::all()).unwrap()[0].invocations,
        51
    );
}

/// A database from before power tuning gains the tuning tables on open.
#[test]
fn migrates_a_database_without_tuning_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    ingest_some(&path);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(DOWN_TO_V5).unwrap();
        conn.execute_batch(DOWN_TO_V4).unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let run = tern_store::TuningRun {
        function: "alpha".into(),
        region: "us-east-1".into(),
        started_ms: T0,
        finished_ms: T0 + 1,
        original_memory_mb: 256,
        original_arch: tern_store::Arch::X86_64,
        invocations_per_size: 10,
        cold_starts_only: false,
        payload: "none".into(),
        complete: true,
        applied_memory_mb: None,
        points: Vec::new(),
    };
    store.store_tuning_run(&run).unwrap();
    assert_eq!(store.tuning_runs("alpha").unwrap(), vec![run]);
    assert_eq!(
        store.function_stats(&[], TimeRange::all()).unwrap()[0].invocations,
        50
    );
}

/// Three days of one function at three sizes and two versions (with cold starts, timeouts and
/// out-of-memory kills), and a second function.
fn sizes_workload() -> Vec<InvocationPart> {
    let mut x: u64 = 0x2545_f491;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    for i in 0..1500u32 {
        let f = if i % 7 == 0 { "side" } else { "main" };
        let start = T0 + (next() % (3 * 86_400_000)) as i64;
        let memory = [256, 512, 1024][(next() % 3) as usize];
        let duration = 20.0 + (next() % 40_000) as f64 / 100.0;
        let mut p = invocation(
            f,
            (next() % 5) as u32,
            &format!("s-{i:05}"),
            start,
            duration,
            memory,
        );
        // The version changed a day and a half in.
        p.version = Some(
            if start < T0 + 36 * 3_600_000 {
                "4"
            } else {
                "5"
            }
            .to_string(),
        );
        match i % 13 {
            0 => p.signals.timeout_line = true,
            1 => p.signals.oom_signature = true,
            2 => p.signals.handler_error = true,
            _ => {}
        }
        if i % 6 == 0 {
            if let Some(r) = p.report.as_mut() {
                r.init_duration_ms = Some(150.0 + f64::from(i % 300));
            }
        }
        out.push(p);
    }
    out
}

/// Compare the store's per-size statistics with the ones computed from its invocation rows.
fn assert_sizes_match_rows(store: &SqliteStore, range: TimeRange, what: &str) {
    let got = store.size_stats(&[], range).unwrap();
    let want = tern_store::size_stats_by_rows(store, &[], range).unwrap();
    let key =
        |s: &tern_store::SizeStats| (s.function.clone(), s.version.clone(), s.counts.memory_mb);
    assert_eq!(
        got.iter().map(key).collect::<Vec<_>>(),
        want.iter().map(key).collect::<Vec<_>>(),
        "{what}"
    );
    for (g, w) in got.iter().zip(&want) {
        let (a, b) = (&g.counts, &w.counts);
        let at = format!("{what}: {:?}", key(g));
        assert_eq!(
            (
                a.invocations,
                a.errors,
                a.cold_starts,
                a.cold_failures,
                a.timeouts,
                a.oom_kills
            ),
            (
                b.invocations,
                b.errors,
                b.cold_starts,
                b.cold_failures,
                b.timeouts,
                b.oom_kills
            ),
            "{at}"
        );
        assert!(
            (a.billed_total_ms - b.billed_total_ms).abs() < 1e-6 * b.billed_total_ms.max(1.0),
            "{at}"
        );
        assert_eq!(
            (a.max_used_mb, a.first_ms, a.last_ms),
            (b.max_used_mb, b.first_ms, b.last_ms),
            "{at}"
        );
        assert_eq!((a.arch, a.memory_mb), (b.arch, b.memory_mb), "{at}");
        // The same values in the same bins: equal quantiles, to the last bit of the bins.
        for q in [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0] {
            assert_eq!(
                g.duration.quantile(q),
                w.duration.quantile(q),
                "{at}: duration q{q}"
            );
            assert_eq!(g.init.quantile(q), w.init.quantile(q), "{at}: init q{q}");
        }
        assert_eq!(g.duration.count(), w.duration.count(), "{at}");
        assert_eq!(g.init.count(), w.init.count(), "{at}");
        assert_summaries_close(&g.summary(), &w.summary(), &at);
    }
}

/// Equal summaries, floats up to the order of their sums.
fn assert_summaries_close(
    a: &tern_core::recommend::SizeSummary,
    b: &tern_core::recommend::SizeSummary,
    at: &str,
) {
    let near = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
    let floats = |s: &tern_core::recommend::SizeSummary| {
        let mut v = vec![s.warm_p50_ms, s.warm_p95_ms, s.mean_ms, s.init_billed_ms];
        for i in [s.p50, s.p95, s.p99, s.billed] {
            v.extend([i.value, i.low, i.high]);
        }
        v.extend(s.init_mean_ms);
        v.extend(s.init_p50_ms);
        v.extend(s.longest_timeout_ms);
        v
    };
    let (fa, fb) = (floats(a), floats(b));
    assert_eq!(fa.len(), fb.len(), "{at}");
    assert!(
        fa.iter().zip(&fb).all(|(x, y)| near(*x, *y)),
        "{at}: {a:?} vs {b:?}"
    );
    let rest = |s: &tern_core::recommend::SizeSummary| {
        (
            s.memory_mb,
            s.arch,
            s.version.clone(),
            (
                s.invocations,
                s.warm_successful,
                s.cold_starts,
                s.timeouts,
                s.oom_kills,
            ),
            (s.max_used_mb, s.first_ms, s.last_ms),
        )
    };
    assert_eq!(rest(a), rest(b), "{at}");
}

const H: i64 = 3_600_000;

/// Ranges that cut days and hours: the aggregate answers them from days, hours and rows.
fn partial_ranges() -> Vec<TimeRange> {
    let r = |from: i64, to: i64| TimeRange {
        from_ms: Some(from),
        to_ms: Some(to),
    };
    vec![
        TimeRange::all(),
        r(
            T0 + 5 * H + 17 * 60_000,
            T0 + 2 * 24 * H + 13 * H + 41 * 60_000,
        ),
        r(T0 + 90 * 60_000, T0 + 3 * 24 * H),
        r(T0 + 24 * H, T0 + 24 * H + 10 * H + 1),
        r(T0 + 30 * H + 1, T0 + 30 * H + 59 * 60_000),
        r(T0 + 36 * H - 7, T0 + 36 * H + 7),
        TimeRange {
            from_ms: Some(T0 + 40 * H + 123),
            to_ms: None,
        },
        TimeRange {
            from_ms: None,
            to_ms: Some(T0 + 11 * H + 4321),
        },
    ]
}

/// The per-size aggregate kept at ingest answers every range, partial days and hours
/// included, exactly as the invocation rows do; split batches and re-ingest change nothing.
#[test]
fn size_stats_match_the_rows_over_partial_ranges() {
    let mut store = memory_store();
    let parts = sizes_workload();
    for chunk in parts.chunks(211).rev() {
        store
            .ingest(&IngestBatch {
                parts: chunk.to_vec(),
                ..Default::default()
            })
            .unwrap();
    }
    store
        .ingest(&IngestBatch {
            parts: parts[..400].to_vec(),
            ..Default::default()
        })
        .unwrap();
    for range in partial_ranges() {
        assert_sizes_match_rows(&store, range, &format!("{range:?}"));
    }
}

/// A database from before the per-size aggregate (version 9) is backfilled on open to what
/// ingest keeps; rollup retention and function deletion take its buckets too.
#[test]
fn migration_backfills_size_stats_and_retention_drops_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    let parts = sizes_workload();
    let want = {
        let mut s = memory_store();
        s.ingest(&IngestBatch {
            parts: parts.clone(),
            ..Default::default()
        })
        .unwrap();
        partial_ranges()
            .into_iter()
            .map(|r| s.size_stats(&[], r).unwrap())
            .collect::<Vec<_>>()
    };
    {
        let mut s = SqliteStore::open(&path).unwrap();
        s.ingest(&IngestBatch {
            parts,
            ..Default::default()
        })
        .unwrap();
    }
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("DROP TABLE size_hour; DROP TABLE size_day; PRAGMA user_version = 9;")
            .unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    for (range, want) in partial_ranges().into_iter().zip(want) {
        let got = store.size_stats(&[], range).unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_summaries_close(&g.summary(), &w.summary(), &format!("{range:?}"));
        }
        assert_sizes_match_rows(&store, range, &format!("backfilled {range:?}"));
    }
    // Rollup retention: buckets ending at or before the cutoff go.
    let cutoff = T0 + 2 * 24 * H;
    store
        .apply_retention(tern_store::Retention {
            rollups_before_ms: Some(cutoff),
            ..Default::default()
        })
        .unwrap();
    let conn = Connection::open(&path).unwrap();
    for table in ["size_hour", "size_day"] {
        let old: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE bucket_ms < ?1"),
                [cutoff],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0, "{table}");
    }
    let late = TimeRange {
        from_ms: Some(cutoff),
        to_ms: None,
    };
    assert_sizes_match_rows(&store, late, "after rollup retention");
    store.delete_function("main", None).unwrap();
    let left: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM size_hour) + (SELECT count(*) FROM size_day)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let side: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM size_hour h JOIN functions f ON f.id = h.function_id \
             WHERE f.name = 'side') + (SELECT count(*) FROM size_day d JOIN functions f \
             ON f.id = d.function_id WHERE f.name = 'side')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, side, "only the remaining function's buckets are left");
    assert!(store
        .size_stats(&["main".to_string()], TimeRange::all())
        .unwrap()
        .is_empty());
}
