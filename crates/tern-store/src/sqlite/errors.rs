//! Error groups at ingest: every failed, complete invocation is one occurrence of
//! the group its fingerprint names (see the `error_*` tables in `schema`).
//!
//! Only failures pay: the ingest fast path calls [`Pending::occur`] for an invocation it
//! counts with a failed outcome, and the merge path calls [`Pending::changed`] when a counted
//! invocation's outcome or error changes. Each occurrence row is written at once (later merges
//! in the same batch read it back); group and hour deltas are summed per batch and written by
//! [`Pending::flush`], once per touched group and hour.
//!
//! Split invariance: late error lines can move a counted invocation to another group (no
//! details → `KeyError`, success → error). The move takes the occurrence out of its old group
//! and hour and adds it to the new ones; a group left with no occurrences is deleted, so any
//! split and order of the same parts leaves the same groups with the same counts. What may
//! differ by order: the message sample, and `first_ms`/`last_ms` when occurrences that set them
//! moved away after raw retention deleted the rest (they are recomputed from the stored
//! occurrences otherwise).
//!
//! A moved invocation is re-fingerprinted with the grouping version of the group it was in, so
//! a new grouping version never regroups stored errors.

use rusqlite::{params, OptionalExtension, Transaction};
use tern_core::fingerprint::{fingerprint_invocation, Fingerprint, GROUPING_VERSION};
use tern_core::model::{InvocationPart, Outcome};

use super::fx::FxHashMap;
use super::rollup::{floor_to, HOUR_MS};
use super::Db;
use crate::{ErrorEvent, ErrorStatus, StoreError};

const SEQ_KEY: &str = "error_seq";

/// What a group row is made from, taken from the latest occurrence added in the batch.
struct GroupInfo {
    version: u32,
    function_id: i64,
    fp: Fingerprint,
    outcome: Outcome,
    error_type: Option<String>,
    message: Option<String>,
    /// Time of the occurrence this was taken from.
    t: i64,
}

#[derive(Default)]
struct GroupDelta {
    info: Option<GroupInfo>,
    count: i64,
    added_min: Option<i64>,
    added_max: Option<i64>,
    /// Times of occurrences moved out of the group.
    removed: Vec<i64>,
}

/// One batch's error-group changes.
#[derive(Default)]
pub(super) struct Pending {
    /// This batch's sequence number, once it stored an occurrence.
    seq: Option<i64>,
    groups: FxHashMap<i64, GroupDelta>,
    hours: FxHashMap<(i64, i64), i64>,
}

/// The group key of a fingerprint: its hash, with the same bits as an `i64`.
pub(crate) fn group_key(hash: u64) -> i64 {
    hash as i64
}

pub(crate) fn group_id_of(key: i64) -> String {
    tern_core::fingerprint::format_id(key as u64)
}

impl Pending {
    fn seq(&mut self, tx: &Transaction<'_>) -> Result<i64, StoreError> {
        if let Some(s) = self.seq {
            return Ok(s);
        }
        let stored: i64 = tx
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")
            .db()?
            .query_row([SEQ_KEY], |r| r.get(0))
            .optional()
            .db()?
            .unwrap_or(0);
        let s = stored + 1;
        self.seq = Some(s);
        Ok(s)
    }

    /// Invocation `id` was just counted with a failed outcome: store its occurrence.
    pub(super) fn occur(
        &mut self,
        tx: &Transaction<'_>,
        id: i64,
        function_id: i64,
        t: i64,
        part: &InvocationPart,
    ) -> Result<(), StoreError> {
        let Some(fp) = fingerprint_invocation(part, GROUPING_VERSION) else {
            return Ok(());
        };
        let key = group_key(fp.hash);
        self.write_occurrence(tx, id, key, t)?;
        self.add(key, function_id, t, part, fp, GROUPING_VERSION);
        Ok(())
    }

    /// Counted invocation `id` changed (outcome or error): move its occurrence if its group
    /// changed, drop it if it no longer failed, add one if it now failed.
    pub(super) fn changed(
        &mut self,
        tx: &Transaction<'_>,
        id: i64,
        function_id: i64,
        t: i64,
        merged: &InvocationPart,
    ) -> Result<(), StoreError> {
        let stored: Option<(i64, i64)> = tx
            .prepare_cached("SELECT group_id, t FROM error_occurrences WHERE invocation_id = ?1")
            .db()?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .db()?;
        let version = match stored {
            Some((g, _)) => self.version_of(tx, g)?,
            None => GROUPING_VERSION,
        };
        let fp = if merged.outcome() == Outcome::Success {
            None
        } else {
            fingerprint_invocation(merged, version)
                .map(|f| (f, version))
                .or_else(|| {
                    fingerprint_invocation(merged, GROUPING_VERSION).map(|f| (f, GROUPING_VERSION))
                })
        };
        match (stored, fp) {
            (None, None) => {}
            (Some((g, _)), Some((fp, _))) if g == group_key(fp.hash) => {}
            (None, Some((fp, v))) => {
                let key = group_key(fp.hash);
                self.write_occurrence(tx, id, key, t)?;
                self.add(key, function_id, t, merged, fp, v);
            }
            (Some((g, old_t)), Some((fp, v))) => {
                self.remove(g, old_t);
                let key = group_key(fp.hash);
                self.write_occurrence(tx, id, key, t)?;
                self.add(key, function_id, t, merged, fp, v);
            }
            (Some((g, old_t)), None) => {
                self.seq(tx)?;
                tx.prepare_cached("DELETE FROM error_occurrences WHERE invocation_id = ?1")
                    .db()?
                    .execute([id])
                    .db()?;
                self.remove(g, old_t);
            }
        }
        Ok(())
    }

    /// The grouping version of group `key` (pending in this batch or stored).
    fn version_of(&self, tx: &Transaction<'_>, key: i64) -> Result<u32, StoreError> {
        if let Some(info) = self.groups.get(&key).and_then(|d| d.info.as_ref()) {
            return Ok(info.version);
        }
        let v: Option<i64> = tx
            .prepare_cached("SELECT version FROM error_groups WHERE id = ?1")
            .db()?
            .query_row([key], |r| r.get(0))
            .optional()
            .db()?;
        Ok(v.and_then(|v| u32::try_from(v).ok())
            .unwrap_or(GROUPING_VERSION))
    }

    fn write_occurrence(
        &mut self,
        tx: &Transaction<'_>,
        id: i64,
        key: i64,
        t: i64,
    ) -> Result<(), StoreError> {
        let seq = self.seq(tx)?;
        tx.prepare_cached(
            "INSERT INTO error_occurrences (invocation_id, group_id, t, seq) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (invocation_id) DO UPDATE SET \
             group_id = excluded.group_id, t = excluded.t, seq = excluded.seq",
        )
        .db()?
        .execute(params![id, key, t, seq])
        .db()?;
        Ok(())
    }

    fn add(
        &mut self,
        key: i64,
        function_id: i64,
        t: i64,
        part: &InvocationPart,
        fp: Fingerprint,
        version: u32,
    ) {
        *self.hours.entry((key, floor_to(t, HOUR_MS))).or_default() += 1;
        let d = self.groups.entry(key).or_default();
        d.count += 1;
        d.added_min = Some(d.added_min.map_or(t, |m| m.min(t)));
        d.added_max = Some(d.added_max.map_or(t, |m| m.max(t)));
        if d.info.as_ref().is_none_or(|i| t >= i.t) {
            let platform = part.report.as_ref().and_then(|r| r.error_type.clone());
            let error_type = part
                .error
                .as_ref()
                .map(|e| e.error_type.clone())
                .filter(|t| !t.is_empty())
                .or(platform);
            d.info = Some(GroupInfo {
                version,
                function_id,
                fp,
                outcome: part.outcome(),
                error_type,
                message: part
                    .error
                    .as_ref()
                    .map(|e| e.message.clone())
                    .filter(|m| !m.is_empty()),
                t,
            });
        }
    }

    fn remove(&mut self, key: i64, t: i64) {
        *self.hours.entry((key, floor_to(t, HOUR_MS))).or_default() -= 1;
        let d = self.groups.entry(key).or_default();
        d.count -= 1;
        d.removed.push(t);
    }

    /// Write the batch's group and hour deltas, and its sequence number.
    pub(super) fn flush(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        let Some(seq) = self.seq.take() else {
            return Ok(());
        };
        tx.prepare_cached("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)")
            .db()?
            .execute(params![SEQ_KEY, seq])
            .db()?;
        // Groups that do not exist after this batch: their hours are not written.
        let mut gone: Vec<i64> = Vec::new();
        for (key, d) in std::mem::take(&mut self.groups) {
            if !write_group(tx, key, d, seq)? {
                gone.push(key);
            }
        }
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO error_hours (group_id, bucket_ms, count) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (group_id, bucket_ms) DO UPDATE SET count = count + excluded.count",
            )
            .db()?;
        let mut prune = tx
            .prepare_cached(
                "DELETE FROM error_hours WHERE group_id = ?1 AND bucket_ms = ?2 AND count <= 0",
            )
            .db()?;
        for ((key, hour), n) in std::mem::take(&mut self.hours) {
            if n == 0 || gone.contains(&key) {
                continue;
            }
            upsert.execute(params![key, hour, n]).db()?;
            if n < 0 {
                prune.execute(params![key, hour]).db()?;
            }
        }
        Ok(())
    }
}

/// Apply one group's delta. `false` when the group does not exist afterwards.
fn write_group(
    tx: &Transaction<'_>,
    key: i64,
    d: GroupDelta,
    seq: i64,
) -> Result<bool, StoreError> {
    type Row = (i64, i64, i64, String, Option<i64>, Option<i64>);
    let stored: Option<Row> = tx
        .prepare_cached(
            "SELECT count, first_ms, last_ms, status, resolved_ms, muted_until_ms \
             FROM error_groups WHERE id = ?1",
        )
        .db()?
        .query_row([key], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()
        .db()?;
    // Occurrences moved out: this batch's added times may include them, so the bounds come
    // from the occurrences stored now (this batch's included).
    let present = if d.removed.is_empty() {
        None
    } else {
        let b: (Option<i64>, Option<i64>) = tx
            .prepare_cached("SELECT min(t), max(t) FROM error_occurrences WHERE group_id = ?1")
            .db()?
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
            .db()?;
        Some(b)
    };
    let Some((count, first, last, status, resolved_ms, muted_until)) = stored else {
        let (Some(info), Some(mut lo), Some(mut hi)) = (&d.info, d.added_min, d.added_max) else {
            return Ok(false);
        };
        if d.count <= 0 {
            return Ok(false);
        }
        if let Some((p_lo, p_hi)) = present {
            lo = p_lo.unwrap_or(lo);
            hi = p_hi.unwrap_or(hi);
        }
        let fp = &info.fp;
        tx.prepare_cached(
            "INSERT INTO error_groups (id, version, function_id, basis, outcome, error_type, \
               title, message, culprit, frames, first_ms, last_ms, count, status, event_seq, \
               event) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'open', ?14, ?15)",
        )
        .db()?
        .execute(params![
            key,
            info.version,
            info.function_id,
            fp.kind.as_str(),
            info.outcome.code(),
            info.error_type,
            fp.title,
            info.message,
            fp.culprit,
            (!fp.frames.is_empty()).then(|| fp.frames.join("\n")),
            lo,
            hi,
            d.count,
            seq,
            ErrorEvent::New.as_str(),
        ])
        .db()?;
        return Ok(true);
    };
    let count = count + d.count;
    if count <= 0 {
        tx.prepare_cached("DELETE FROM error_groups WHERE id = ?1")
            .db()?
            .execute([key])
            .db()?;
        tx.prepare_cached("DELETE FROM error_hours WHERE group_id = ?1")
            .db()?
            .execute([key])
            .db()?;
        return Ok(false);
    }
    let (first_ms, last_ms) = match present {
        // A stored bound that was not moved out still holds (its occurrence may be gone to
        // raw retention); one that was is replaced by what is stored now.
        Some((lo, hi)) => {
            let f = match (d.removed.contains(&first), lo) {
                (false, Some(lo)) => first.min(lo),
                (true, Some(lo)) => lo,
                (_, None) => first,
            };
            let l = match (d.removed.contains(&last), hi) {
                (false, Some(hi)) => last.max(hi),
                (true, Some(hi)) => hi,
                (_, None) => last,
            };
            (f, l)
        }
        None => (
            d.added_min.map_or(first, |lo| first.min(lo)),
            d.added_max.map_or(last, |hi| last.max(hi)),
        ),
    };
    // Lifecycle: a resolved group that recurs after it was resolved is a regression; a mute
    // that expired before an occurrence ends.
    let status = ErrorStatus::parse(&status).unwrap_or(ErrorStatus::Open);
    let newest = d.added_max;
    let regressed = status == ErrorStatus::Resolved
        && newest.is_some_and(|t| resolved_ms.is_none_or(|r| t > r));
    let unmuted =
        status == ErrorStatus::Muted && newest.is_some_and(|t| muted_until.is_some_and(|u| t >= u));
    tx.prepare_cached(
        "UPDATE error_groups SET count = ?2, first_ms = ?3, last_ms = ?4 WHERE id = ?1",
    )
    .db()?
    .execute(params![key, count, first_ms, last_ms])
    .db()?;
    if let Some(info) = d.info.as_ref().filter(|i| i.t >= last) {
        tx.prepare_cached("UPDATE error_groups SET error_type = ?2, message = ?3 WHERE id = ?1")
            .db()?
            .execute(params![key, info.error_type, info.message])
            .db()?;
    }
    if regressed {
        tx.prepare_cached(
            "UPDATE error_groups SET status = 'open', status_ms = ?2, regressions = regressions + 1, \
               regressed_ms = ?2, event = ?3, event_seq = ?4 WHERE id = ?1",
        )
        .db()?
        .execute(params![key, newest, ErrorEvent::Regression.as_str(), seq])
        .db()?;
    } else if unmuted {
        tx.prepare_cached(
            "UPDATE error_groups SET status = 'open', status_ms = muted_until_ms, \
               muted_until_ms = NULL WHERE id = ?1",
        )
        .db()?
        .execute([key])
        .db()?;
    }
    Ok(true)
}

/// Set a group's status (see `Store::set_error_status`).
pub(super) fn set_status(
    conn: &rusqlite::Connection,
    id: &str,
    status: ErrorStatus,
    muted_until_ms: Option<i64>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let Some(hash) = tern_core::fingerprint::parse_id(id) else {
        return Ok(false);
    };
    let key = group_key(hash);
    let n = match status {
        ErrorStatus::Open => conn
            .prepare_cached(
                "UPDATE error_groups SET status = 'open', status_ms = ?2, muted_until_ms = NULL \
                 WHERE id = ?1",
            )
            .db()?
            .execute(params![key, now_ms]),
        ErrorStatus::Resolved => conn
            .prepare_cached(
                "UPDATE error_groups SET status = 'resolved', status_ms = ?2, resolved_ms = ?2, \
                   muted_until_ms = NULL WHERE id = ?1",
            )
            .db()?
            .execute(params![key, now_ms]),
        ErrorStatus::Muted => conn
            .prepare_cached(
                "UPDATE error_groups SET status = 'muted', status_ms = ?2, muted_until_ms = ?3 \
                 WHERE id = ?1",
            )
            .db()?
            .execute(params![key, now_ms, muted_until_ms]),
    }
    .db()?;
    Ok(n > 0)
}
