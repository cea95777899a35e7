//! Deleting one function's data on request (`tern delete`), with the semantics of the SQLite
//! backend (`sqlite/delete.rs`): whole, or everything before a UTC midnight.
//!
//! Rows go by `ALTER TABLE … DELETE` mutations, which remove every version of a row at once
//! (a tombstone version would not do for invocations: ingest would take a re-ingested one
//! for a change of the deleted row). Mutations run in the background, so the delete waits for
//! them in `system.mutations` before it answers: once it has, reads and ingest see the data
//! gone. Error totals need no rewrite here: a group's count is aggregated from its
//! invocations and `error_hours` when asked, so deleting those lowers it by exactly what was
//! deleted, and ingesting the same logs again counts them again.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::rows::{date_of, lit};
use super::schema::ident;
use super::{errors, seal, ClickHouseStore};
use crate::sqlite::rollup::DAY_MS;
use crate::{DeleteStats, StoreError};

/// How long the delete waits for its mutations before it reports them as still running.
const MUTATION_TIMEOUT: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(50);

pub(super) fn delete_function(
    s: &mut ClickHouseStore,
    function: &str,
    before_ms: Option<i64>,
) -> Result<DeleteStats, StoreError> {
    crate::check_delete_before(before_ms)?;
    // On a cluster the data is in `<table>_local` on every shard, and waiting for a mutation
    // means asking every replica's `system.mutations`, which 18.16 cannot do in one query.
    if let Some(c) = &s.layout.cluster {
        return Err(StoreError::Backend(format!(
            "deleting a function's data ({function}) is not available on a ClickHouse cluster \
             ({c}); on a single server it is"
        )));
    }
    let f = lit(function);
    let stored = s.select(&format!(
        "SELECT count() AS n FROM functions FINAL WHERE name = {f}"
    ))?;
    if count(&stored)? == 0 {
        return Ok(DeleteStats::default());
    }
    // The time condition of each table (none for a whole delete).
    let before = |col: &str| before_ms.map_or(String::new(), |t| format!(" AND {col} < {t}"));
    let mut stats = DeleteStats {
        invocations: count(&s.select(&format!(
            "SELECT count() AS n FROM invocations FINAL WHERE function = {f}{}",
            before("t")
        ))?)?,
        // Chunks as retention counts them: the lines one read of a stream delivered.
        stream_chunks: count(&s.select(&format!(
            "SELECT count() AS n FROM (SELECT DISTINCT log_group, log_stream, chunk_t FROM \
             stream_lines FINAL WHERE function = {f}{})",
            before("ts")
        ))?)?,
        // Sealed rows are derived copies of raw rows, so only compacted hours count here.
        rollup_rows: count(&s.select(&format!(
            "SELECT count() AS n FROM rollups FINAL WHERE function = {f}{}",
            before("hour")
        ))?)?,
        ..DeleteStats::default()
    };
    if before_ms.is_none() {
        stats.environments = super::query::environments(s, function)?.len() as u64;
    }
    let keys = errors::function_keys(s, function)?;

    let mut deletes: Vec<(&str, String)> = vec![
        ("invocations", format!("function = {f}{}", before("t"))),
        ("stream_lines", format!("function = {f}{}", before("ts"))),
        ("rollups", format!("function = {f}{}", before("hour"))),
        // A cutoff at midnight splits neither an hour nor a day, so these stay exact.
        ("sealed_hours", format!("function = {f}{}", before("hour"))),
        ("sealed_days", format!("function = {f}{}", before("hour"))),
    ];
    match before_ms {
        // Environment summaries are per partition day, and a partition may hold invocations
        // of the day after it (a stream's day is the day its environment started), so those
        // of the partition before the cut cannot be cut at midnight. Partitions before it
        // hold only what goes; that one is marked as written to instead, so it reads from its
        // raw rows (exact) until it is sealed again.
        Some(t) => {
            let edge = t.saturating_sub(DAY_MS);
            if seal::state(s)?.valid.contains_key(&edge) {
                seal::mark(s, &BTreeSet::from([date_of(edge)]))?;
            }
            deletes.push((
                "sealed_envs",
                format!("function = {f} AND part < toDate({})", lit(&date_of(edge))),
            ));
        }
        None => deletes.push(("sealed_envs", format!("function = {f}"))),
    }
    if !keys.is_empty() {
        let list: Vec<String> = keys.iter().map(i64::to_string).collect();
        deletes.push((
            "error_hours",
            format!("key IN ({}){}", list.join(", "), before("hour")),
        ));
    }
    if before_ms.is_none() {
        // Tombstones first: should a mutation below fail, the groups are already gone from
        // reads, and running the delete again finishes the rest.
        stats.error_groups = errors::tombstone_function(s, function)?;
        for table in ["values_seen", "markers", "tuning_runs"] {
            deletes.push((table, format!("function = {f}")));
        }
        deletes.push(("functions", format!("name = {f}")));
        stats.function = true;
    }
    for (table, filter) in &deletes {
        s.client.exec(
            None,
            &format!(
                "ALTER TABLE {}.{table} DELETE WHERE {filter}",
                ident(s.db())
            ),
        )?;
    }
    let tables: Vec<&str> = deletes.iter().map(|(t, _)| *t).collect();
    wait_for_mutations(s, &tables, function)?;
    Ok(stats)
}

fn count(rows: &[super::client::Row]) -> Result<u64, StoreError> {
    rows.first()
        .map(|r| r.u64("n"))
        .transpose()
        .map(|n| n.unwrap_or(0))
}

/// Wait until no mutation of `tables` is left to do, or fail after `MUTATION_TIMEOUT`.
fn wait_for_mutations(
    s: &ClickHouseStore,
    tables: &[&str],
    function: &str,
) -> Result<(), StoreError> {
    let list: Vec<String> = tables.iter().map(|t| lit(t)).collect();
    let sql = format!(
        "SELECT count() AS n FROM system.mutations WHERE database = {} AND table IN ({}) \
         AND is_done = 0",
        lit(s.db()),
        list.join(", ")
    );
    let start = Instant::now();
    loop {
        if count(&s.select(&sql)?)? == 0 {
            return Ok(());
        }
        if start.elapsed() >= MUTATION_TIMEOUT {
            return Err(StoreError::Backend(format!(
                "deleting {function}'s data: ClickHouse has not finished its mutations after \
                 {} s (see system.mutations of database {}); the rows go once they finish, \
                 until then some may still be read",
                MUTATION_TIMEOUT.as_secs(),
                s.db()
            )));
        }
        std::thread::sleep(POLL);
    }
}
