//! The ClickHouse backend: the conformance suite against a real ClickHouse 18.16 server
//! (`TERN_TEST_CLICKHOUSE_URL`, started by `.ci/clickhouse.sh`) and against current ClickHouse
//! embedded by chdb behind `.ci/chdb_server.py` (`TERN_TEST_CHDB_URL`, `.ci/chdb.sh`); and what
//! is particular to ClickHouse: schema versions, hostile server answers.
//!
//! Each test works in its own fresh database, dropped afterwards, so tests run in parallel.
//! Without the service a test says so on stderr and passes, unless `TERN_REQUIRE_SERVICES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};

use tern_store::{
    ClickHouseConfig, ClickHouseStore, IngestBatch, IngestStats, Store, StoreError, TimeRange,
};

static NEXT: AtomicU64 = AtomicU64::new(0);

fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("TERN_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("{var} is not set and TERN_REQUIRE_SERVICES=1");
            }
            eprintln!("SKIPPED: {var} is not set (run .ci/run, or see README: Testing)");
            None
        }
    }
}

fn config(url: &str, database: &str) -> ClickHouseConfig {
    ClickHouseConfig {
        url: url.to_string(),
        database: database.to_string(),
        user: "default".into(),
        password: None,
        ca_file: None,
        cluster: None,
    }
}

/// A store in a fresh database, dropped with it.
struct TempDb {
    store: ClickHouseStore,
    url: String,
    name: String,
}

fn fresh_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "tern_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    )
}

fn temp_db(url: &str) -> TempDb {
    let name = fresh_name();
    let store = ClickHouseStore::open(&config(url, &name)).unwrap();
    TempDb {
        store,
        url: url.to_string(),
        name,
    }
}

fn drop_database(url: &str, name: &str) {
    let _ = ureq::post(url).send(format!("DROP DATABASE IF EXISTS {name}"));
}

impl Drop for TempDb {
    fn drop(&mut self) {
        drop_database(&self.url, &self.name);
    }
}

impl Store for TempDb {
    fn ingest(&mut self, batch: &IngestBatch) -> Result<IngestStats, StoreError> {
        self.store.ingest(batch)
    }
    tern_store::forward_store_except_ingest!(store);
}

macro_rules! conformance_on {
    ($server:ident, $var:expr, [$($case:ident),*], [$($multi:ident),*]) => {
        mod $server {
            use super::*;
            $(
                #[test]
                fn $case() {
                    let Some(url) = service($var) else { return };
                    tern_store::conformance::$case(temp_db(&url));
                }
            )*
            $(
                #[test]
                fn $multi() {
                    let Some(url) = service($var) else { return };
                    tern_store::conformance::$multi(|| temp_db(&url));
                }
            )*
            #[test]
            fn split_invariance() {
                let Some(url) = service($var) else { return };
                for seed in 0..6u64 {
                    tern_store::conformance::split_invariance(
                        || temp_db(&url),
                        seed,
                        1 + seed as usize % 5,
                    );
                }
            }
            #[test]
            fn refuses_a_newer_schema() {
                let Some(url) = service($var) else { return };
                let db = temp_db(&url);
                let bump = format!(
                    "INSERT INTO {}.meta (key, value, ver) VALUES ('schema_version', '999', 18446744073709551615)",
                    db.name
                );
                ureq::post(&url).send(bump).unwrap();
                match ClickHouseStore::open(&config(&url, &db.name)) {
                    Err(StoreError::SchemaTooNew { found, supported }) => {
                        assert_eq!(found, 999);
                        assert_eq!(supported, tern_store::clickhouse::SCHEMA_VERSION);
                    }
                    other => panic!("expected SchemaTooNew, got {other:?}"),
                }
                assert!(matches!(
                    ClickHouseStore::open_read_only(&config(&url, &db.name)),
                    Err(StoreError::SchemaTooNew { .. })
                ));
            }
            #[test]
            fn concurrent_writers() {
                let Some(url) = service($var) else { return };
                let db = temp_db(&url);
                let second = ClickHouseStore::open(&config(&url, &db.name)).unwrap();
                let third = ClickHouseStore::open(&config(&url, &db.name)).unwrap();
                tern_store::conformance::concurrent_writers([third, second], temp_db(&url));
                drop(db);
            }
            #[test]
            fn sealing_concurrently() {
                let Some(url) = service($var) else { return };
                let db = temp_db(&url);
                let open = || ClickHouseStore::open(&config(&url, &db.name)).unwrap();
                tern_store::conformance::sealing_concurrently(
                    [open(), open(), open()],
                    temp_db(&url),
                );
                drop(db);
            }
            #[test]
            fn reingest_through_another_writer() {
                let Some(url) = service($var) else { return };
                let db = temp_db(&url);
                let other = ClickHouseStore::open(&config(&url, &db.name)).unwrap();
                let first = ClickHouseStore::open(&config(&url, &db.name)).unwrap();
                tern_store::conformance::reingest_through_another_writer(
                    [first, other],
                    temp_db(&url),
                );
                drop(db);
            }
            /// The write fails partway (the proxy refuses one of the batch's INSERTs:
            /// `values_seen`, written just before the invocations, or `stream_lines`, just
            /// after them), and the retry must read as one clean ingest.
            #[test]
            fn retried_after_a_failed_write() {
                let Some(url) = service($var) else { return };
                for refuse in ["INSERT%20INTO%20values_seen", "INSERT%20INTO%20stream_lines"] {
                    let db = temp_db(&url);
                    let proxy = failing_proxy(&url, refuse);
                    let flaky = ClickHouseStore::open(&config(&proxy, &db.name)).unwrap();
                    let healthy = ClickHouseStore::open(&config(&url, &db.name)).unwrap();
                    tern_store::conformance::retried_after_a_failed_write(
                        flaky,
                        healthy,
                        temp_db(&url),
                    );
                    drop(db);
                }
            }
            #[test]
            fn read_only_needs_a_tern_database() {
                let Some(url) = service($var) else { return };
                let name = fresh_name();
                let e = ClickHouseStore::open_read_only(&config(&url, &name)).unwrap_err();
                assert!(matches!(e, StoreError::Open { .. }), "{e}");
                assert!(e.to_string().contains(&name), "{e}");
            }
            #[test]
            fn server_errors_name_the_query() {
                let Some(url) = service($var) else { return };
                let db = temp_db(&url);
                drop_database(&url, &db.name);
                let e = db.store.functions().unwrap_err().to_string();
                assert!(e.contains("ClickHouse answered HTTP"), "{e}");
                assert!(e.contains("SELECT"), "{e}");
            }
        }
    };
}

macro_rules! both_servers {
    ($($args:tt)*) => {
        conformance_on!(clickhouse_18_16, "TERN_TEST_CLICKHOUSE_URL", $($args)*);
        conformance_on!(clickhouse_current_chdb, "TERN_TEST_CHDB_URL", $($args)*);
    };
}

both_servers!(
    [
        idempotent_reingest,
        rollups_match_rows,
        unaligned_ranges_are_exact,
        log_lines_dedupe,
        log_volume,
        incomplete_not_counted,
        environments,
        function_meta_updates,
        months,
        invocation_queries,
        cold_start_learned_after_report,
        billing_and_memory,
        inventory_meta,
        checkpoints_travel_with_data,
        series_buckets,
        retention,
        error_grouping,
        error_lifecycle,
        error_retention,
        incidents_one_open_per_subject,
        incident_and_notifications_are_atomic,
        outbox_delivery,
        fleet_matches_function_stats,
        many_functions_match_one_by_one,
        tuning_runs_round_trip,
        markers_round_trip,
        lease_expiry_and_renewal,
        lease_takeover_and_release,
        lease_never_two_holders,
        lease_bad_arguments,
        values_seen_from_inventory,
        delete_function,
        size_stats
    ],
    [split_parts_in_any_order, values_seen_at_ingest, sealing]
);

// --- Hostile servers: a local socket that answers one request with canned bytes.

/// Serve `answers` (one per connection, in order) on 127.0.0.1; returns the URL.
fn fake_server(answers: Vec<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((mut sock, _)) = listener.accept() else {
                return;
            };
            // Read the request head and body (enough for our small queries).
            let mut buf = [0u8; 65536];
            let mut got = Vec::new();
            loop {
                let n = sock.read(&mut buf).unwrap_or(0);
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if got.len() >= end + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let _ = sock.write_all(&answer);
        }
    });
    url
}

/// Read one HTTP request (head and `Content-Length` body) from `sock`: (head, body).
fn read_request(sock: &mut std::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = [0u8; 65536];
    let mut got = Vec::new();
    loop {
        let n = sock.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_string();
        let len = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            })
            .unwrap_or(0);
        while got.len() < end + 4 + len {
            let n = sock.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            got.extend_from_slice(&buf[..n]);
        }
        return Some((head, got[end + 4..end + 4 + len].to_vec()));
    }
}

/// A proxy on 127.0.0.1 to the ClickHouse at `upstream` that answers HTTP 500 to the first
/// request whose request line or body contains `refuse` (and forwards everything else, one
/// request per connection); returns its URL.
fn failing_proxy(upstream: &str, refuse: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_end_matches('/').to_string();
    std::thread::spawn(move || {
        let mut refused = false;
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let Some((head, body)) = read_request(&mut sock) else {
                continue;
            };
            let line = head.lines().next().unwrap_or("").to_string();
            if !refused
                && (line.contains(refuse) || String::from_utf8_lossy(&body).contains(refuse))
            {
                refused = true;
                let _ = sock.write_all(&http("500 Internal Server Error", "refused by the test"));
                continue;
            }
            let path = line.split(' ').nth(1).unwrap_or("/");
            let mut req = ureq::post(format!("{upstream}{path}"));
            for h in head.lines().skip(1) {
                if let Some((k, v)) = h.split_once(':') {
                    if k.to_ascii_lowercase().starts_with("x-clickhouse") {
                        req = req.header(k.trim(), v.trim());
                    }
                }
            }
            let answer = match req
                .config()
                .http_status_as_error(false)
                .build()
                .send(&body[..])
            {
                Ok(mut r) => {
                    let status = r.status();
                    let text = r.body_mut().read_to_string().unwrap_or_default();
                    http(&status.to_string(), &text)
                }
                Err(e) => http("502 Bad Gateway", &e.to_string()),
            };
            let _ = sock.write_all(&answer);
        }
    });
    url
}

fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A server that accepts every statement of `open` (the DDL, then the schema check finds
/// this build's version) and answers the next request with `last`.
fn opened_then(last: Vec<u8>) -> ClickHouseStore {
    let ddl = tern_store::clickhouse::ddl_statement_count();
    let mut answers: Vec<Vec<u8>> = (0..ddl).map(|_| http("200 OK", "")).collect();
    answers.push(http(
        "200 OK",
        &format!(
            "{{\"key\":\"schema_version\",\"value\":\"{}\"}}\n",
            tern_store::clickhouse::SCHEMA_VERSION
        ),
    ));
    answers.push(last);
    let url = fake_server(answers);
    ClickHouseStore::open(&config(&url, "tern")).unwrap()
}

#[test]
fn connection_refused_is_a_clear_open_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e =
        ClickHouseStore::open(&config(&format!("http://127.0.0.1:{port}"), "tern")).unwrap_err();
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("unreachable"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
}

#[test]
fn an_exception_is_an_error_with_its_text() {
    let store = opened_then(http(
        "500 Internal Server Error",
        "Code: 60, e.displayText() = DB::Exception: Table tern.functions doesn't exist., e.what() = DB::Exception\n",
    ));
    let e = store.functions().unwrap_err().to_string();
    assert!(e.contains("HTTP 500"), "{e}");
    assert!(e.contains("Table tern.functions doesn't exist"), "{e}");
}

#[test]
fn a_truncated_row_is_corrupt_not_a_panic() {
    let store = opened_then(http(
        "200 OK",
        "{\"name\":\"alpha\",\"region\":null}\n{\"name\":\"be",
    ));
    let e = store.functions().unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    assert!(e.to_string().contains("row 2"), "{e}");
}

#[test]
fn an_unexpected_column_set_is_corrupt() {
    let store = opened_then(http("200 OK", "{\"surprise\":1}\n"));
    let e = store.functions().unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    assert!(e.to_string().contains("no column name"), "{e}");
}

#[test]
fn an_exception_after_streaming_began_is_an_error() {
    let store = opened_then(http(
        "200 OK",
        "{\"name\":\"alpha\"}\nCode: 241, e.displayText() = DB::Exception: Memory limit exceeded\n",
    ));
    let e = store.functions().unwrap_err().to_string();
    assert!(e.contains("Memory limit exceeded"), "{e}");
}

#[test]
fn a_bad_url_is_an_open_error() {
    let e = ClickHouseStore::open(&config("localhost:8123", "tern")).unwrap_err();
    assert!(e.to_string().contains("http://"), "{e}");
    let mut c = config("http://127.0.0.1:1", "");
    let e = ClickHouseStore::open(&c).unwrap_err();
    assert!(e.to_string().contains("database name is empty"), "{e}");
    c.database = "tern".into();
    c.ca_file = Some("/nonexistent/ca.pem".into());
    let e = ClickHouseStore::open(&c).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
}

/// A `_18_16` and a `_chdb` test of each case (`<case>::on_18_16`, `<case>::on_chdb`), each
/// failing when `TERN_REQUIRE_SERVICES` is set and its server is not configured.
macro_rules! on_both_servers {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[test]
                fn on_18_16() {
                    if let Some(url) = super::service("TERN_TEST_CLICKHOUSE_URL") {
                        super::$case(&url);
                    }
                }
                #[test]
                fn on_chdb() {
                    if let Some(url) = super::service("TERN_TEST_CHDB_URL") {
                        super::$case(&url);
                    }
                }
            }
        )*
    };
}

on_both_servers!(
    corrupt_sealed_row,
    schema_2_seals_are_redone,
    a_refused_merge_still_seals,
    merged_edges_count_each_invocation_once,
    sealed_rows_are_read,
);

/// The body of a query's answer, for checks behind the store's back.
fn sql(url: &str, q: String) -> String {
    ureq::post(url)
        .send(q)
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

/// A sealed row whose sketch bins are no sketch's: reads fail with an error that names the
/// table, the function and what is wrong, instead of a wrong percentile.
fn corrupt_sealed_row(url: &str) {
    let mut db = temp_db(url);
    let t0 = tern_store::conformance::T0;
    let p = tern_store::conformance::invocation("alpha", 1, "r-1", t0 + 60_000, 42.0, 128);
    db.ingest(&IngestBatch {
        parts: vec![p],
        ..Default::default()
    })
    .unwrap();
    let sealed = db.store.seal(t0 + 40 * 86_400_000).unwrap();
    assert_eq!(sealed.partitions, 1);
    let gen = ureq::post(url)
        .send(format!(
            "SELECT max(ver) FROM {}.seal_state WHERE kind = 1",
            db.name
        ))
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let gen = gen.trim();
    // Daily rows serve whole days, hourly rows the rest: each is checked where it is read.
    let hour = tern_store::TimeRange {
        from_ms: Some(t0),
        to_ms: Some(t0 + 3_600_000),
    };
    for (table, range) in [
        ("sealed_days", tern_store::TimeRange::all()),
        ("sealed_hours", hour),
    ] {
        ureq::post(url)
            .send(format!(
                "INSERT INTO {}.{table} (part, seal, function, hour, d_keys, d_counts, ver) \
                 VALUES ('2026-03-01', {gen}, 'alpha', {t0}, [2147483647], [1], {gen})",
                db.name
            ))
            .unwrap();
        let e = db.store.function_stats(&[], range).unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        let msg = e.to_string();
        assert!(msg.contains(table), "{msg}");
        assert!(msg.contains("alpha"), "{msg}");
        assert!(msg.contains("2147483647"), "{msg}");
    }
}

/// Sealing seals the settled partitions only, and reads then come from the sealed rows: with
/// the raw partition of a sealed day dropped behind the store's back, the statistics stay.
fn sealed_rows_are_read(url: &str) {
    let mut db = temp_db(url);
    let t0 = tern_store::conformance::T0;
    let day = 86_400_000;
    let mut parts = Vec::new();
    for (i, t) in [t0 + 60_000, t0 + 5 * 3_600_000, t0 + 3 * day + 60_000]
        .into_iter()
        .enumerate()
    {
        parts.push(tern_store::conformance::invocation(
            "alpha",
            1,
            &format!("r-{i}"),
            t,
            42.0,
            128,
        ));
    }
    db.ingest(&IngestBatch {
        parts,
        ..Default::default()
    })
    .unwrap();
    let all = tern_store::TimeRange::all();
    let before = db.store.function_stats(&[], all).unwrap();
    assert_eq!(before[0].invocations, 3);
    // Only 2026-03-01 has settled two days and an hour later.
    let first = db.store.seal(t0 + 2 * day + 2 * 3_600_000).unwrap();
    assert_eq!(first.partitions, 1, "{first:?}");
    assert_eq!(
        db.store
            .seal(t0 + 2 * day + 2 * 3_600_000)
            .unwrap()
            .partitions,
        0
    );
    ureq::post(url)
        .send(format!(
            "ALTER TABLE {}.invocations DROP PARTITION 20260301",
            db.name
        ))
        .unwrap();
    let after = db.store.function_stats(&[], all).unwrap();
    assert_eq!(
        after[0].invocations, 3,
        "the sealed day is read from sealed rows"
    );
    assert_eq!(after[0].duration.count(), 3);
    assert_eq!(after[0].environments, 1);
    assert_eq!(db.store.environments("alpha").unwrap()[0].invocations, 3);
    // The rest seals later.
    assert_eq!(db.store.seal(t0 + 40 * day).unwrap().partitions, 1);
    assert_eq!(db.store.function_stats(&[], all).unwrap()[0].invocations, 3);
}

/// A database sealed by schema 2 (hourly rows only) is taken back on open: its sealed
/// partitions read raw (same answers) until sealed again, now with daily rows.
fn schema_2_seals_are_redone(url: &str) {
    let mut db = temp_db(url);
    let t0 = tern_store::conformance::T0;
    let day = 86_400_000;
    let parts = (0..3)
        .map(|i| {
            tern_store::conformance::invocation(
                "alpha",
                1,
                &format!("r-{i}"),
                t0 + i * 3_600_000,
                40.0 + i as f64,
                128,
            )
        })
        .collect();
    db.ingest(&IngestBatch {
        parts,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(db.store.seal(t0 + 40 * day).unwrap().partitions, 1);
    let want = db.store.function_stats(&[], TimeRange::all()).unwrap();
    // What schema 2 left: no daily rows, version 2 (newer than the version 3 row).
    sql(
        url,
        format!(
            "ALTER TABLE {}.sealed_days DROP PARTITION 20260301",
            db.name
        ),
    );
    let ver: u64 = sql(url, format!("SELECT max(ver) FROM {}.meta", db.name))
        .trim()
        .parse()
        .unwrap();
    sql(
        url,
        format!(
            "INSERT INTO {}.meta (key, value, ver) VALUES ('schema_version', '2', {})",
            db.name,
            ver + 1
        ),
    );
    // Readers refuse it (they would read daily rows that are not there); a writer upgrades.
    let e = ClickHouseStore::open_read_only(&config(url, &db.name)).unwrap_err();
    assert!(e.to_string().contains("older Tern (schema 2)"), "{e}");
    let mut store = ClickHouseStore::open(&config(url, &db.name)).unwrap();
    let version = sql(
        url,
        format!(
            "SELECT value FROM {}.meta FINAL WHERE key = 'schema_version'",
            db.name
        ),
    );
    assert_eq!(
        version.trim(),
        tern_store::clickhouse::SCHEMA_VERSION.to_string()
    );
    tern_store::conformance::assert_stats_eq(
        &store.function_stats(&[], TimeRange::all()).unwrap(),
        &want,
        "schema 2 database",
    );
    let again = store.seal(t0 + 40 * day).unwrap();
    assert_eq!(
        again.partitions, 1,
        "the old seal was taken back: {again:?}"
    );
    let days = sql(url, format!("SELECT count() FROM {}.sealed_days", db.name));
    assert_eq!(days.trim(), "1", "one daily row for one function and day");
    tern_store::conformance::assert_stats_eq(
        &store.function_stats(&[], TimeRange::all()).unwrap(),
        &want,
        "schema 2 database",
    );
}

/// A sealed partition is merged into one part, so the partial hours of an unaligned range
/// are read from it without `FINAL`; a row that lands there after the seal (a write racing
/// the read, before its mark) still counts its invocation once.
fn merged_edges_count_each_invocation_once(url: &str) {
    let mut db = temp_db(url);
    let t0 = tern_store::conformance::T0;
    let min = 60_000;
    let parts = [10 * min, 20 * min, 300 * min]
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            tern_store::conformance::invocation("alpha", 1, &format!("r-{i}"), t0 + t, 42.0, 128)
        })
        .collect();
    db.ingest(&IngestBatch {
        parts,
        ..Default::default()
    })
    .unwrap();
    // Two parts first, so the seal has something to merge.
    db.ingest(&IngestBatch {
        parts: vec![tern_store::conformance::invocation(
            "alpha",
            1,
            "r-3",
            t0 + 30 * min,
            42.0,
            128,
        )],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(db.store.seal(t0 + 40 * 86_400_000).unwrap().partitions, 1);
    let merged = sql(
        url,
        format!("SELECT count() FROM {}.seal_state WHERE kind = 2", db.name),
    );
    assert_eq!(merged.trim(), "1", "the sealed partition was merged");
    let parts = sql(
        url,
        format!(
            "SELECT count() FROM system.parts WHERE database = '{}' AND table = 'invocations' \
         AND active",
            db.name
        ),
    );
    assert_eq!(parts.trim(), "1");
    // The first hour is partial: read raw, without FINAL.
    let range = TimeRange {
        from_ms: Some(t0 + 5 * min),
        to_ms: Some(t0 + 3 * 3_600_000),
    };
    let count = |db: &TempDb| db.store.function_stats(&[], range).unwrap()[0].invocations;
    assert_eq!(count(&db), 3);
    sql(
        url,
        format!(
            "INSERT INTO {0}.invocations SELECT * FROM {0}.invocations WHERE request_id = 'r-0'",
            db.name
        ),
    );
    assert_eq!(count(&db), 3, "a second row of r-0 counts once");
    let counts = db.store.fleet_counts(range, 3_600_000).unwrap();
    assert_eq!(counts, vec![("alpha".to_string(), vec![3, 0, 0])]);
}

/// A merge the server refuses (no right to `OPTIMIZE`, say) does not stop the seal: the
/// partition is sealed without the merged mark, and its edges are read through `FINAL`.
fn a_refused_merge_still_seals(url: &str) {
    let mut db = temp_db(url);
    let t0 = tern_store::conformance::T0;
    let min = 60_000;
    for (i, t) in [10 * min, 20 * min].into_iter().enumerate() {
        db.ingest(&IngestBatch {
            parts: vec![tern_store::conformance::invocation(
                "alpha",
                1,
                &format!("r-{i}"),
                t0 + t,
                42.0,
                128,
            )],
            ..Default::default()
        })
        .unwrap();
    }
    let proxy = failing_proxy(url, "OPTIMIZE TABLE");
    let mut flaky = ClickHouseStore::open(&config(&proxy, &db.name)).unwrap();
    assert_eq!(flaky.seal(t0 + 40 * 86_400_000).unwrap().partitions, 1);
    let state = ureq::post(url)
        .send(format!(
            "SELECT kind, count() FROM {}.seal_state GROUP BY kind ORDER BY kind FORMAT TSV",
            db.name
        ))
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let kinds: Vec<&str> = state.lines().filter_map(|l| l.split('\t').next()).collect();
    assert!(kinds.contains(&"1"), "sealed: {state}");
    assert!(!kinds.contains(&"2"), "no merged mark: {state}");
    let range = TimeRange {
        from_ms: Some(t0 + 5 * min),
        to_ms: Some(t0 + 3 * 3_600_000),
    };
    assert_eq!(
        db.store.function_stats(&[], range).unwrap()[0].invocations,
        2
    );
}
