//! Incidents and the notification outbox (alerting).
//!
//! The guarantee: an incident's transition and the notifications reporting it are written in
//! one transaction, so after a crash either both exist or neither does. The sender marks an
//! entry `sent` after delivery: a crash between delivery and the mark delivers it again, with
//! the same `dedupe_key` (at least once from the store's side; receivers deduplicate by key).

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::Db;
use crate::{
    Checkpoint, Incident, IncidentApplied, IncidentChange, IncidentQuery, IncidentState,
    OutboxEntry, OutboxItem, OutboxMark, OutboxState, StoreError,
};

const DEFAULT_LIMIT: usize = 100;

const INCIDENT_COLUMNS: &str = "id, policy, subject, state, opened_ms, last_firing_ms, \
    resolved_ms, value, threshold, detail";

fn incident_row(r: &Row<'_>) -> Result<Incident, StoreError> {
    let state: String = r.get(3).db()?;
    Ok(Incident {
        id: r.get(0).db()?,
        policy: r.get(1).db()?,
        subject: r.get(2).db()?,
        state: IncidentState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("incident state {state:?}")))?,
        opened_ms: r.get(4).db()?,
        last_firing_ms: r.get(5).db()?,
        resolved_ms: r.get(6).db()?,
        value: r.get(7).db()?,
        threshold: r.get(8).db()?,
        detail: r.get(9).db()?,
    })
}

fn incident_by_id(tx: &Transaction<'_>, id: i64) -> Result<Incident, StoreError> {
    let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1");
    let mut stmt = tx.prepare_cached(&sql).db()?;
    let mut rows = stmt.query([id]).db()?;
    match rows.next().db()? {
        Some(r) => incident_row(r),
        None => Err(StoreError::Backend(format!("incident {id} vanished"))),
    }
}

/// Queue `items`; keys already queued are skipped. How many were queued.
fn enqueue_in(tx: &Transaction<'_>, items: &[OutboxItem], now_ms: i64) -> Result<u64, StoreError> {
    let mut n = 0;
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO outbox (dedupe_key, channel, payload, created_ms, next_attempt_ms, state) \
             VALUES (?1, ?2, ?3, ?4, ?4, 'pending') ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .db()?;
    for item in items {
        if item.dedupe_key.is_empty() || item.channel.is_empty() {
            return Err(StoreError::Backend(format!(
                "notification for channel {:?} with key {:?}: channel and key must not be empty",
                item.channel, item.dedupe_key
            )));
        }
        n += stmt
            .execute(params![item.dedupe_key, item.channel, item.payload, now_ms])
            .db()? as u64;
    }
    Ok(n)
}

pub(crate) fn apply_incident(
    conn: &mut Connection,
    change: &IncidentChange,
    notify: &dyn Fn(&Incident) -> Vec<OutboxItem>,
) -> Result<IncidentApplied, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let (policy, subject) = match change {
        IncidentChange::Firing {
            policy, subject, ..
        }
        | IncidentChange::Clear {
            policy, subject, ..
        } => (policy, subject),
    };
    let open: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM incidents WHERE policy = ?1 AND subject = ?2 AND state = 'open'",
        )
        .db()?
        .query_row(params![policy, subject], |r| r.get(0))
        .optional()
        .db()?;
    let applied = match (change, open) {
        (
            IncidentChange::Firing {
                at_ms,
                value,
                threshold,
                detail,
                ..
            },
            Some(id),
        ) => {
            tx.prepare_cached(
                "UPDATE incidents SET last_firing_ms = MAX(last_firing_ms, ?2), value = ?3, \
                   threshold = ?4, detail = ?5 WHERE id = ?1",
            )
            .db()?
            .execute(params![id, at_ms, value, threshold, detail])
            .db()?;
            IncidentApplied::Refreshed(incident_by_id(&tx, id)?)
        }
        (
            IncidentChange::Firing {
                at_ms,
                value,
                threshold,
                detail,
                ..
            },
            None,
        ) => {
            tx.prepare_cached(
                "INSERT INTO incidents (policy, subject, state, opened_ms, last_firing_ms, \
                   value, threshold, detail) VALUES (?1, ?2, 'open', ?3, ?3, ?4, ?5, ?6)",
            )
            .db()?
            .execute(params![policy, subject, at_ms, value, threshold, detail])
            .db()?;
            let incident = incident_by_id(&tx, tx.last_insert_rowid())?;
            enqueue_in(&tx, &notify(&incident), *at_ms)?;
            IncidentApplied::Opened(incident)
        }
        (IncidentChange::Clear { at_ms, .. }, Some(id)) => {
            tx.prepare_cached(
                "UPDATE incidents SET state = 'resolved', resolved_ms = ?2 WHERE id = ?1",
            )
            .db()?
            .execute(params![id, at_ms])
            .db()?;
            let incident = incident_by_id(&tx, id)?;
            enqueue_in(&tx, &notify(&incident), *at_ms)?;
            IncidentApplied::Resolved(incident)
        }
        (IncidentChange::Clear { .. }, None) => IncidentApplied::NotOpen,
    };
    tx.commit().db()?;
    Ok(applied)
}

pub(crate) fn incidents(conn: &Connection, q: &IncidentQuery) -> Result<Vec<Incident>, StoreError> {
    let limit = if q.limit == 0 { DEFAULT_LIMIT } else { q.limit };
    let sql = format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents \
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR policy = ?2) \
         ORDER BY opened_ms DESC, id DESC LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt
        .query(params![
            q.state.map(IncidentState::as_str),
            q.policy,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ])
        .db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        out.push(incident_row(r)?);
    }
    Ok(out)
}

pub(crate) fn enqueue(
    conn: &mut Connection,
    items: &[OutboxItem],
    now_ms: i64,
    checkpoint: Option<&Checkpoint>,
) -> Result<u64, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let n = enqueue_in(&tx, items, now_ms)?;
    if let Some(c) = checkpoint {
        tx.prepare_cached(
            "INSERT INTO checkpoints (key, value, updated_ms) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
               updated_ms = excluded.updated_ms",
        )
        .db()?
        .execute(params![c.key, c.value, c.updated_ms])
        .db()?;
    }
    tx.commit().db()?;
    Ok(n)
}

pub(crate) fn outbox_due(
    conn: &Connection,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, dedupe_key, channel, payload, created_ms, attempts, next_attempt_ms, \
               state, last_error, sent_ms FROM outbox \
             WHERE state = 'pending' AND next_attempt_ms <= ?1 \
             ORDER BY next_attempt_ms, id LIMIT ?2",
        )
        .db()?;
    let mut rows = stmt
        .query(params![now_ms, i64::try_from(limit).unwrap_or(i64::MAX)])
        .db()?;
    outbox_rows(&mut rows)
}

/// Every entry, newest first.
pub(crate) fn outbox_history(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, dedupe_key, channel, payload, created_ms, attempts, next_attempt_ms, \
               state, last_error, sent_ms FROM outbox ORDER BY id DESC LIMIT ?1",
        )
        .db()?;
    let mut rows = stmt
        .query(params![i64::try_from(limit).unwrap_or(i64::MAX)])
        .db()?;
    outbox_rows(&mut rows)
}

fn outbox_rows(rows: &mut rusqlite::Rows<'_>) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        let state: String = r.get(7).db()?;
        let attempts: i64 = r.get(5).db()?;
        out.push(OutboxEntry {
            id: r.get(0).db()?,
            dedupe_key: r.get(1).db()?,
            channel: r.get(2).db()?,
            payload: r.get(3).db()?,
            created_ms: r.get(4).db()?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            next_attempt_ms: r.get(6).db()?,
            state: OutboxState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("outbox state {state:?}")))?,
            last_error: r.get(8).db()?,
            sent_ms: r.get(9).db()?,
        });
    }
    Ok(out)
}

pub(crate) fn outbox_mark(
    conn: &Connection,
    id: i64,
    mark: &OutboxMark,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let n = match mark {
        OutboxMark::Sent => conn
            .prepare_cached(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_ms = ?2 \
                 WHERE id = ?1 AND state = 'pending'",
            )
            .db()?
            .execute(params![id, now_ms]),
        OutboxMark::Retry {
            next_attempt_ms,
            error,
        } => conn
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, \
                   last_error = ?3 WHERE id = ?1 AND state = 'pending'",
            )
            .db()?
            .execute(params![id, next_attempt_ms, error]),
        OutboxMark::Failed { error } => conn
            .prepare_cached(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2 \
                 WHERE id = ?1 AND state = 'pending'",
            )
            .db()?
            .execute(params![id, error]),
    }
    .db()?;
    Ok(n > 0)
}
