//! Deleting one function's data on request (`tern delete`), to undo an ingest that filed logs
//! under the wrong name.
//!
//! Whole: every row of the function goes, its name included. Before a cutoff: its
//! invocations, unattributed lines, statistics and error occurrences before the cutoff go, and
//! its error groups' totals drop by the occurrences deleted, so ingesting the same logs again
//! restores exactly what was there. The cutoff is a UTC midnight, since daily statistics
//! cannot be split.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::Db;
use crate::{DeleteStats, StoreError};

pub(crate) fn delete_function(
    conn: &mut Connection,
    function: &str,
    before_ms: Option<i64>,
) -> Result<DeleteStats, StoreError> {
    crate::check_delete_before(before_ms)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let Some(fid): Option<i64> = tx
        .query_row(
            "SELECT id FROM functions WHERE name = ?1",
            [function],
            |r| r.get(0),
        )
        .optional()
        .db()?
    else {
        return Ok(DeleteStats::default());
    };
    let cut = before_ms.unwrap_or(i64::MAX);
    let mut stats = DeleteStats::default();
    // Error totals first, while the occurrences to be deleted are still there.
    tx.execute(
        "UPDATE error_groups SET count = count - (SELECT COUNT(*) FROM error_occurrences o \
         WHERE o.group_id = error_groups.id AND o.t < ?2) WHERE function_id = ?1",
        params![fid, cut],
    )
    .db()?;
    tx.execute(
        "DELETE FROM error_occurrences WHERE t < ?2 AND group_id IN \
         (SELECT id FROM error_groups WHERE function_id = ?1)",
        params![fid, cut],
    )
    .db()?;
    tx.execute(
        "DELETE FROM error_hours WHERE bucket_ms < ?2 AND group_id IN \
         (SELECT id FROM error_groups WHERE function_id = ?1)",
        params![fid, cut],
    )
    .db()?;
    // Invocations through the function's spans: rowid ranges, as retention does.
    let spans: Vec<(i64, i64, i64)> = {
        let mut stmt = tx
            .prepare(
                "SELECT min_id, max_id, max_t FROM spans WHERE function_id = ?1 AND min_t < ?2",
            )
            .db()?;
        let rows = stmt
            .query_map(params![fid, cut], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .db()?;
        rows.collect::<Result<_, _>>().db()?
    };
    for (min_id, max_id, max_t) in spans {
        // Environments count completed invocations (and their cold starts) as ingest adds
        // them: lowered by the ones deleted, so a re-ingest counts them once again.
        if before_ms.is_some() {
            tx.prepare_cached(
                "UPDATE environments SET invocations = invocations - d.n, \
                 cold_starts = cold_starts - d.c FROM (SELECT env_id, COUNT(*) AS n, \
                 SUM(cold) AS c FROM invocations WHERE id BETWEEN ?1 AND ?2 \
                 AND function_id = ?3 AND t < ?4 AND complete = 1 GROUP BY env_id) AS d \
                 WHERE environments.id = d.env_id",
            )
            .db()?
            .execute(params![min_id, max_id, fid, cut])
            .db()?;
        }
        stats.invocations += tx
            .prepare_cached(
                "DELETE FROM invocations WHERE id BETWEEN ?1 AND ?2 AND function_id = ?3 AND t < ?4",
            )
            .db()?
            .execute(params![min_id, max_id, fid, cut])
            .db()? as u64;
        if max_t < cut {
            tx.prepare_cached("DELETE FROM spans WHERE function_id = ?1 AND min_id = ?2")
                .db()?
                .execute([fid, min_id])
                .db()?;
        }
    }
    stats.stream_chunks = tx
        .execute(
            "DELETE FROM stream_lines WHERE max_ms < ?2 AND env_id IN \
             (SELECT id FROM environments WHERE function_id = ?1)",
            params![fid, cut],
        )
        .db()? as u64;
    for table in ["rollup_hour", "rollup_day", "size_hour", "size_day"] {
        stats.rollup_rows += tx
            .execute(
                &format!("DELETE FROM {table} WHERE function_id = ?1 AND bucket_ms < ?2"),
                params![fid, cut],
            )
            .db()? as u64;
    }
    if before_ms.is_none() {
        stats.error_groups = tx
            .execute("DELETE FROM error_groups WHERE function_id = ?1", [fid])
            .db()? as u64;
        stats.environments = tx
            .execute("DELETE FROM environments WHERE function_id = ?1", [fid])
            .db()? as u64;
        tx.execute("DELETE FROM values_seen WHERE function_id = ?1", [fid])
            .db()?;
        tx.execute("DELETE FROM markers WHERE function = ?1", [function])
            .db()?;
        tx.execute(
            "DELETE FROM tuning_points WHERE run_id IN (SELECT id FROM tuning_runs WHERE function = ?1)",
            [function],
        )
        .db()?;
        tx.execute("DELETE FROM tuning_runs WHERE function = ?1", [function])
            .db()?;
        tx.execute("DELETE FROM functions WHERE id = ?1", [fid])
            .db()?;
        stats.function = true;
    }
    tx.commit().db()?;
    Ok(stats)
}
