//! The spans of a batch: the time index of stored invocations, loaded once, widened in
//! memory and written at the end.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::sqlite::rollup::{floor_to, HOUR_MS};
use crate::sqlite::Db;
use crate::StoreError;

/// One span being built: consecutive new rows of one function within one hour.
struct OpenSpan {
    function_id: i64,
    hour: i64,
    min_id: i64,
    max_id: i64,
    min_t: i64,
    max_t: i64,
}

/// The time index of invocations (see the `spans` table in `schema`).
///
/// Rows are inserted in (function, time) order, so each function's new rows of a batch have
/// consecutive ids; they are recorded as one span per function and hour. A merge that moves a
/// row's time widens the row's span. `width` is the widest span ever recorded, which bounds how
/// far before a range a span overlapping it can start.
pub(super) struct Spans {
    done: Vec<OpenSpan>,
    open: Option<OpenSpan>,
    width: i64,
    stored_width: i64,
}

impl Spans {
    pub(super) fn load(tx: &Transaction<'_>) -> Result<Spans, StoreError> {
        let width = crate::sqlite::query::span_width(tx)?;
        Ok(Spans {
            done: Vec::new(),
            open: None,
            width,
            stored_width: width,
        })
    }

    /// Record the new row `id` of `function_id` at time `t`. Ids arrive in increasing order.
    pub(super) fn add(&mut self, function_id: i64, id: i64, t: i64) {
        let hour = floor_to(t, HOUR_MS);
        if let Some(o) = &mut self.open {
            if o.function_id == function_id && o.hour == hour && o.max_id < id {
                o.max_id = id;
                o.min_t = o.min_t.min(t);
                o.max_t = o.max_t.max(t);
                return;
            }
        }
        let fresh = OpenSpan {
            function_id,
            hour,
            min_id: id,
            max_id: id,
            min_t: t,
            max_t: t,
        };
        if let Some(o) = self.open.replace(fresh) {
            self.done.push(o);
        }
    }

    /// Row `id` of `function_id` now has time `t`: make its span cover `t`.
    pub(super) fn widen(
        &mut self,
        tx: &Transaction<'_>,
        function_id: i64,
        id: i64,
        t: i64,
    ) -> Result<(), StoreError> {
        let pending = self
            .open
            .iter_mut()
            .chain(self.done.iter_mut())
            .find(|s| s.function_id == function_id && s.min_id <= id && id <= s.max_id);
        if let Some(s) = pending {
            s.min_t = s.min_t.min(t);
            s.max_t = s.max_t.max(t);
            self.width = self.width.max(s.max_t.saturating_sub(s.min_t));
            return Ok(());
        }
        let found: Option<(i64, i64, i64, i64)> = tx
            .prepare_cached(
                "SELECT min_id, max_id, min_t, max_t FROM spans \
                 WHERE function_id = ?1 AND min_id <= ?2 ORDER BY min_id DESC LIMIT 1",
            )
            .db()?
            .query_row(params![function_id, id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .db()?;
        let Some((min_id, _, min_t, max_t)) = found.filter(|f| f.1 >= id) else {
            return Err(StoreError::Corrupt(format!(
                "invocation {id} is in no span of its function"
            )));
        };
        if t < min_t || t > max_t {
            let (lo, hi) = (min_t.min(t), max_t.max(t));
            tx.prepare_cached(
                "UPDATE spans SET min_t = ?3, max_t = ?4 WHERE function_id = ?1 AND min_id = ?2",
            )
            .db()?
            .execute(params![function_id, min_id, lo, hi])
            .db()?;
            self.width = self.width.max(hi.saturating_sub(lo));
        }
        Ok(())
    }

    pub(super) fn write(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO spans (function_id, min_id, max_id, min_t, max_t) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .db()?;
        for s in self.done.drain(..).chain(self.open.take()) {
            self.width = self.width.max(s.max_t.saturating_sub(s.min_t));
            stmt.execute(params![s.function_id, s.min_id, s.max_id, s.min_t, s.max_t])
                .db()?;
        }
        if self.width > self.stored_width {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('span_width', ?1)",
            )
            .db()?
            .execute([self.width])
            .db()?;
            self.stored_width = self.width;
        }
        Ok(())
    }
}

/// The id of the row `select` finds by `key`, or, when there is none, of the row `insert`
/// adds from `values`.
pub(super) fn find_or_insert(
    tx: &Transaction<'_>,
    select: &str,
    key: impl rusqlite::Params,
    insert: &str,
    values: impl rusqlite::Params,
) -> Result<i64, StoreError> {
    let existing: Option<i64> = tx
        .prepare_cached(select)
        .db()?
        .query_row(key, |r| r.get(0))
        .optional()
        .db()?;
    match existing {
        Some(id) => Ok(id),
        None => {
            tx.prepare_cached(insert).db()?.execute(values).db()?;
            Ok(tx.last_insert_rowid())
        }
    }
}
