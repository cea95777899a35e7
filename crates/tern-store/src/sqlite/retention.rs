//! Deleting old data.
//!
//! Invocations are found through `spans` (id ranges with their time range), so deleting a
//! day of a large table is a few rowid range deletes, not a scan. A span wholly before the
//! cutoff goes with its rows; a span that straddles it keeps its newer rows and its entry
//! (its `min_t` then understates, which only widens searches, never misses a row).
//!
//! Error occurrences go with their invocations (same row ids, same `t`); error groups keep
//! their totals and lifecycle, and their hourly counts go with the rollups.
//!
//! Environments keep their counters: they describe the environment's whole life, and an
//! environment row costs little.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::rollup::{floor_to, DAY_MS, HOUR_MS};
use super::Db;
use crate::{Retention, RetentionStats, StoreError};

const RAW_CUTOFF_KEY: &str = "retention_raw_before_ms";

/// The raw-data cutoff in force (parts older than this are dropped on ingest).
pub(crate) fn raw_cutoff(conn: &Connection) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT value FROM settings WHERE key = ?1")
        .db()?
        .query_row([RAW_CUTOFF_KEY], |r| r.get(0))
        .optional()
        .db()
}

pub(crate) fn apply(conn: &mut Connection, r: Retention) -> Result<RetentionStats, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let mut stats = RetentionStats::default();
    if let Some(cutoff) = r.raw_before_ms {
        let spans: Vec<(i64, i64, i64, i64)> = {
            let mut stmt = tx
                .prepare("SELECT function_id, min_id, max_id, max_t FROM spans WHERE min_t < ?1")
                .db()?;
            let rows = stmt
                .query_map([cutoff], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .db()?;
            rows.collect::<Result<_, _>>().db()?
        };
        for (function_id, min_id, max_id, max_t) in spans {
            if max_t < cutoff {
                stats.invocations += tx
                    .prepare_cached("DELETE FROM invocations WHERE id BETWEEN ?1 AND ?2")
                    .db()?
                    .execute([min_id, max_id])
                    .db()? as u64;
                tx.prepare_cached(
                    "DELETE FROM error_occurrences WHERE invocation_id BETWEEN ?1 AND ?2",
                )
                .db()?
                .execute([min_id, max_id])
                .db()?;
                tx.prepare_cached("DELETE FROM spans WHERE function_id = ?1 AND min_id = ?2")
                    .db()?
                    .execute([function_id, min_id])
                    .db()?;
            } else {
                stats.invocations += tx
                    .prepare_cached("DELETE FROM invocations WHERE id BETWEEN ?1 AND ?2 AND t < ?3")
                    .db()?
                    .execute([min_id, max_id, cutoff])
                    .db()? as u64;
                tx.prepare_cached(
                    "DELETE FROM error_occurrences \
                     WHERE invocation_id BETWEEN ?1 AND ?2 AND t < ?3",
                )
                .db()?
                .execute([min_id, max_id, cutoff])
                .db()?;
            }
        }
        stats.stream_chunks = tx
            .execute("DELETE FROM stream_lines WHERE max_ms < ?1", [cutoff])
            .db()? as u64;
        let current = raw_cutoff(&tx)?;
        if current.is_none_or(|c| c < cutoff) {
            tx.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
                params![RAW_CUTOFF_KEY, cutoff],
            )
            .db()?;
        }
    }
    if let Some(cutoff) = r.rollups_before_ms {
        // A bucket goes when it ends at or before the cutoff.
        stats.rollup_rows += tx
            .execute(
                "DELETE FROM rollup_hour WHERE bucket_ms <= ?1",
                [floor_to(cutoff, HOUR_MS) - HOUR_MS],
            )
            .db()? as u64;
        stats.rollup_rows += tx
            .execute(
                "DELETE FROM rollup_day WHERE bucket_ms <= ?1",
                [floor_to(cutoff, DAY_MS) - DAY_MS],
            )
            .db()? as u64;
        stats.rollup_rows += tx
            .execute(
                "DELETE FROM size_hour WHERE bucket_ms <= ?1",
                [floor_to(cutoff, HOUR_MS) - HOUR_MS],
            )
            .db()? as u64;
        stats.rollup_rows += tx
            .execute(
                "DELETE FROM size_day WHERE bucket_ms <= ?1",
                [floor_to(cutoff, DAY_MS) - DAY_MS],
            )
            .db()? as u64;
        // Error groups stay (their lifecycle and totals); their old hours go with the rollups.
        stats.rollup_rows += tx
            .execute(
                "DELETE FROM error_hours WHERE bucket_ms <= ?1",
                [floor_to(cutoff, HOUR_MS) - HOUR_MS],
            )
            .db()? as u64;
    }
    tx.commit().db()?;
    Ok(stats)
}
