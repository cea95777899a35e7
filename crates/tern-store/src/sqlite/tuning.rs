//! Power-tuning results: one run row and its points, written in one transaction.

use rusqlite::{params, Connection, Row, TransactionBehavior};

use super::Db;
use crate::{Arch, StoreError, TuningPoint, TuningRun};

fn arch(s: &str) -> Result<Arch, StoreError> {
    Arch::parse(s).ok_or_else(|| StoreError::Corrupt(format!("architecture {s:?}")))
}

/// NaN and infinities are stored as absent (SQLite would store NaN as NULL anyway, and an
/// infinite duration is not a measurement).
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

pub(super) fn store_run(conn: &mut Connection, run: &TuningRun) -> Result<(), StoreError> {
    if run.function.is_empty() {
        return Err(StoreError::Backend(
            "a tuning run needs a function name".into(),
        ));
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    // Replacing a run deletes its old points with it.
    let old: Option<i64> = tx
        .query_row(
            "SELECT id FROM tuning_runs WHERE function = ?1 AND started_ms = ?2",
            params![run.function, run.started_ms],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .db()?;
    if let Some(id) = old {
        tx.execute("DELETE FROM tuning_points WHERE run_id = ?1", [id])
            .db()?;
        tx.execute("DELETE FROM tuning_runs WHERE id = ?1", [id])
            .db()?;
    }
    tx.execute(
        "INSERT INTO tuning_runs (function, region, started_ms, finished_ms, original_memory_mb, \
         original_arch, invocations_per_size, cold_starts_only, payload, complete, \
         applied_memory_mb) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            run.function,
            run.region,
            run.started_ms,
            run.finished_ms,
            run.original_memory_mb,
            run.original_arch.as_str(),
            run.invocations_per_size,
            run.cold_starts_only,
            run.payload,
            run.complete,
            run.applied_memory_mb,
        ],
    )
    .db()?;
    let id = tx.last_insert_rowid();
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO tuning_points (run_id, arch, memory_mb, invocations, errors, \
                 cold_starts, p50_ms, p95_ms, p99_ms, trimmed_mean_ms, billed_mean_ms, \
                 init_p50_ms, max_memory_used_mb, cost_usd, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
                 ON CONFLICT (run_id, arch, memory_mb) DO UPDATE SET \
                 invocations = excluded.invocations, errors = excluded.errors, \
                 cold_starts = excluded.cold_starts, p50_ms = excluded.p50_ms, \
                 p95_ms = excluded.p95_ms, p99_ms = excluded.p99_ms, \
                 trimmed_mean_ms = excluded.trimmed_mean_ms, \
                 billed_mean_ms = excluded.billed_mean_ms, init_p50_ms = excluded.init_p50_ms, \
                 max_memory_used_mb = excluded.max_memory_used_mb, \
                 cost_usd = excluded.cost_usd, error = excluded.error",
            )
            .db()?;
        for p in &run.points {
            stmt.execute(params![
                id,
                p.arch.as_str(),
                p.memory_mb,
                p.invocations,
                p.errors,
                p.cold_starts,
                finite(p.p50_ms),
                finite(p.p95_ms),
                finite(p.p99_ms),
                finite(p.trimmed_mean_ms),
                finite(p.billed_mean_ms),
                finite(p.init_p50_ms),
                p.max_memory_used_mb,
                finite(p.cost_usd),
                p.error,
            ])
            .db()?;
        }
    }
    tx.commit().db()
}

fn point(r: &Row<'_>) -> Result<TuningPoint, StoreError> {
    let a: String = r.get(0).db()?;
    Ok(TuningPoint {
        arch: arch(&a)?,
        memory_mb: r.get(1).db()?,
        invocations: r.get(2).db()?,
        errors: r.get(3).db()?,
        cold_starts: r.get(4).db()?,
        p50_ms: r.get(5).db()?,
        p95_ms: r.get(6).db()?,
        p99_ms: r.get(7).db()?,
        trimmed_mean_ms: r.get(8).db()?,
        billed_mean_ms: r.get(9).db()?,
        init_p50_ms: r.get(10).db()?,
        max_memory_used_mb: r.get(11).db()?,
        cost_usd: r.get(12).db()?,
        error: r.get(13).db()?,
    })
}

pub(super) fn runs(conn: &Connection, function: &str) -> Result<Vec<TuningRun>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, function, region, started_ms, finished_ms, original_memory_mb, \
             original_arch, invocations_per_size, cold_starts_only, payload, complete, \
             applied_memory_mb FROM tuning_runs WHERE function = ?1 \
             ORDER BY started_ms DESC, id DESC",
        )
        .db()?;
    let mut rows = stmt.query([function]).db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        let id: i64 = r.get(0).db()?;
        let a: String = r.get(6).db()?;
        out.push((
            id,
            TuningRun {
                function: r.get(1).db()?,
                region: r.get(2).db()?,
                started_ms: r.get(3).db()?,
                finished_ms: r.get(4).db()?,
                original_memory_mb: r.get(5).db()?,
                original_arch: arch(&a)?,
                invocations_per_size: r.get(7).db()?,
                cold_starts_only: r.get(8).db()?,
                payload: r.get(9).db()?,
                complete: r.get(10).db()?,
                applied_memory_mb: r.get(11).db()?,
                points: Vec::new(),
            },
        ));
    }
    let mut pstmt = conn
        .prepare_cached(
            "SELECT arch, memory_mb, invocations, errors, cold_starts, p50_ms, p95_ms, p99_ms, \
             trimmed_mean_ms, billed_mean_ms, init_p50_ms, max_memory_used_mb, cost_usd, error \
             FROM tuning_points WHERE run_id = ?1 ORDER BY arch, memory_mb",
        )
        .db()?;
    let mut result = Vec::with_capacity(out.len());
    for (id, mut run) in out {
        let mut rows = pstmt.query([id]).db()?;
        while let Some(r) = rows.next().db()? {
            run.points.push(point(r)?);
        }
        run.points.sort_by_key(|p| (p.arch, p.memory_mb));
        result.push(run);
    }
    Ok(result)
}
