//! The write path: one transaction per batch.
//!
//! Each part takes the fast path first (`INSERT … ON CONFLICT DO NOTHING`). On conflict the
//! stored invocation is read back, the part is merged into it with `InvocationPart::merge`, and
//! the row is written back only if the merge changed something. Rollup and environment deltas
//! are summed in memory per batch and each touched bucket is written once, at the end.
//!
//! An invocation is counted in rollups exactly once, when its REPORT is first stored. A later
//! part that moves the outcome or adds cold-start evidence applies the difference to the
//! buckets it was counted in. Its bucket time `t` (REPORT time, else start) is frozen once it
//! is counted, so the difference always lands in the right bucket.
//!
//! Log volume (lines and message bytes) is counted from what is stored: the fast path counts
//! all the new row's lines, the merge path the difference between the merged row's lines and
//! the stored row's (the merge deduplicates), and a stream chunk what is left after its
//! dedupe. An invocation's lines count in the hour of its `t`; when a merge moves `t`, the
//! row's lines move with it. Rows keep their own counts, which the partial hours of a query
//! read.
//!
//! Known limits, both for parts no Lambda log produces: a REPORT part without a REPORT time
//! is bucketed by its own start, whichever part came first; and an init duration that changes
//! after it was counted (a sketch cannot forget a value) keeps its first value in the init
//! sketch, while the row shows the new one.
//!
//! Speed: the work that needs no database (judging, encoding log blobs) is done first, in
//! arrival order, into one arena; rows are then inserted in (environment, request hash) order
//! so that consecutive inserts share pages of the key index.

mod deltas;
mod lines;
mod spans;

use std::sync::Arc;

use rusqlite::{params, CachedStatement, Connection, Transaction, TransactionBehavior};
use tern_core::model::{normalize_lines, InvocationPart, Outcome};

use super::codec::{self, request_hash, MAX_PROBES};
use super::errors;
use super::fx::FxHashMap;
use super::rollup::{floor_to, Contribution, Volume, HOUR_MS};
use super::row::{self, RowKeys, RowValues, PART_COLUMNS};
use super::{Db, Ids, Scratch};
use crate::{FunctionMeta, IngestBatch, IngestStats, StoreError};
pub(crate) use deltas::inventory_seen;
use deltas::Deltas;
use lines::lines_normalized;
use spans::{find_or_insert, Spans};

/// Store `batch` in one transaction. `before_write` runs after the work that needs no
/// database (encoding), just before the write transaction begins.
pub(super) fn ingest(
    conn: &mut Connection,
    ids: &mut Ids,
    scratch: &mut Scratch,
    batch: &IngestBatch,
    before_write: impl FnOnce(),
) -> Result<IngestStats, StoreError> {
    // Parts older than the retention cutoff would count again in rollups whose invocations
    // were deleted: drop them (rare, so the copy costs nothing in the common case).
    let cutoff = super::retention::raw_cutoff(conn)?;
    let expired = cutoff.map_or(0, |c| batch.parts.iter().filter(|p| time_of(p) < c).count());
    let kept;
    let parts: &[InvocationPart] = match cutoff {
        Some(c) if expired > 0 => {
            kept = batch
                .parts
                .iter()
                .filter(|p| time_of(p) >= c)
                .cloned()
                .collect::<Vec<_>>();
            &kept
        }
        _ => &batch.parts,
    };
    let prepared = prepare(parts, scratch);
    before_write();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let stats = {
        let mut w = Writer {
            insert: tx.prepare_cached(INSERT_SQL).db()?,
            tx: &tx,
            ids,
            scratch,
            deltas: Deltas::default(),
            stats: IngestStats::default(),
            env_by_addr: FxHashMap::default(),
            spans: Spans::load(&tx)?,
            last_function: None,
            errors: errors::Pending::default(),
        };
        for meta in &batch.functions {
            w.function_meta(meta)?;
        }
        for c in &batch.checkpoints {
            tx.prepare_cached(
                "INSERT INTO checkpoints (key, value, updated_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                   updated_ms = excluded.updated_ms",
            )
            .db()?
            .execute(params![c.key, c.value, c.updated_ms])
            .db()?;
        }
        w.stats.expired = expired as u64;
        w.parts(parts, prepared)?;
        for s in &batch.stream_lines {
            match cutoff {
                Some(c) if s.lines.iter().any(|l| l.timestamp_ms < c) => {
                    let mut s = s.clone();
                    s.lines.retain(|l| l.timestamp_ms >= c);
                    w.stream_lines(&s)?;
                }
                _ => w.stream_lines(s)?,
            }
        }
        w.flush()?;
        w.stats
    };
    tx.commit().db()?;
    Ok(stats)
}

/// A batch's parts made ready to write (see `prepare`).
struct PreparedParts {
    parts: Vec<Prepared>,
    /// Canonical copies of the parts that needed one.
    fixed: Vec<InvocationPart>,
}

impl PreparedParts {
    fn part<'a>(&'a self, parts: &'a [InvocationPart], p: &Prepared) -> &'a InvocationPart {
        p.fixed
            .and_then(|f| self.fixed.get(f))
            .unwrap_or(&parts[p.index])
    }
}

/// Pass one, in arrival order (the order the parts' memory was written in) and before the
/// write transaction: canonicalize, judge, encode log blobs and copy row values into one
/// arena. Function and environment ids are filled in by `Writer::parts`.
fn prepare(parts: &[InvocationPart], scratch: &mut Scratch) -> PreparedParts {
    let Scratch { enc, arena, .. } = scratch;
    arena.clear();
    let mut out = PreparedParts {
        parts: Vec::with_capacity(parts.len()),
        fixed: Vec::new(),
    };
    for (index, given) in parts.iter().enumerate() {
        let slot = canonical(given).map(|p| {
            out.fixed.push(p);
            out.fixed.len() - 1
        });
        let p = slot.and_then(|f| out.fixed.get(f)).unwrap_or(given);
        let t = time_of(p);
        let contribution = Contribution::of(p, t);
        let judged = contribution
            .as_ref()
            .map_or_else(|| (p.outcome(), p.is_cold()), |c| (c.outcome, c.cold));
        let keys = RowKeys {
            env_id: 0,
            rid_hash: request_hash(&p.request_id),
            function_id: 0,
            t,
        };
        out.parts.push(Prepared {
            row: RowValues::new(p, keys, judged, arena, enc),
            contribution,
            index,
            fixed: slot,
        });
    }
    out
}

/// Bound by `RowValues::bind` (`?1`…`?32`).
const INSERT_SQL: &str = "INSERT INTO invocations (env_id, request_id, function_id, t, start_ms, \
    end_ms, complete, outcome, cold, cold_flag, signals, version, duration_ms, billed_ms, \
    memory_mb, max_memory_mb, init_ms, restore_ms, billed_restore_ms, status, report_error_type, \
    xray_trace_id, report_format, error_type, error_message, error_stack, runtime_version, \
    init_report_ms, lines, rid_hash, log_lines, log_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
    ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, \
    ?27, ?28, ?29, ?30, ?31, ?32) ON CONFLICT (env_id, rid_hash) DO NOTHING";
/// Bound by `RowValues::bind` (`?1`…`?32`), plus the row id as `?33`.
const UPDATE_SQL: &str = "UPDATE invocations SET function_id = ?3, t = ?4, start_ms = ?5, \
    end_ms = ?6, complete = ?7, outcome = ?8, cold = ?9, cold_flag = ?10, signals = ?11, \
    version = ?12, duration_ms = ?13, billed_ms = ?14, memory_mb = ?15, max_memory_mb = ?16, \
    init_ms = ?17, restore_ms = ?18, billed_restore_ms = ?19, status = ?20, \
    report_error_type = ?21, xray_trace_id = ?22, report_format = ?23, error_type = ?24, \
    error_message = ?25, error_stack = ?26, runtime_version = ?27, init_report_ms = ?28, \
    lines = ?29, log_lines = ?31, log_bytes = ?32 \
    WHERE id = ?33 AND env_id = ?1 AND request_id = ?2 AND rid_hash = ?30";

#[derive(Default)]
struct EnvDelta {
    invocations: i64,
    cold_starts: i64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    runtime_version: Option<String>,
}

struct Writer<'a> {
    tx: &'a Transaction<'a>,
    insert: CachedStatement<'a>,
    ids: &'a mut Ids,
    scratch: &'a mut Scratch,
    deltas: Deltas,
    stats: IngestStats,
    /// Environment ids by the addresses of the batch's log group and stream `Arc`s.
    env_by_addr: FxHashMap<(usize, usize), i64>,
    spans: Spans,
    last_function: Option<(String, i64)>,
    /// Error-group changes of the batch (failed invocations only).
    errors: errors::Pending,
}

/// The time an invocation belongs to: its REPORT, else its start, else its first line.
pub(crate) fn time_of(p: &InvocationPart) -> i64 {
    p.end_ms
        .or(p.start_ms)
        .or_else(|| p.log_lines.iter().map(|l| l.timestamp_ms).min())
        .unwrap_or(0)
}

/// The function of lines whose assembler did not name one: from the log group or stream.
fn derived_function(log_group: &str, log_stream: &str) -> String {
    tern_core::model::function_name(log_group, log_stream).unwrap_or_else(|| "unknown".to_string())
}

fn has_nan(p: &InvocationPart) -> bool {
    let nan = |v: Option<f64>| v.is_some_and(f64::is_nan);
    nan(p.init_report_ms)
        || p.report.as_ref().is_some_and(|r| {
            r.duration_ms.is_nan()
                || nan(r.billed_duration_ms)
                || nan(r.init_duration_ms)
                || nan(r.restore_duration_ms)
                || nan(r.billed_restore_duration_ms)
        })
}

/// The part as it will be stored, when that differs from the part given: with a function
/// name, normalized lines, and no NaN (which SQLite stores as NULL, so the part would not
/// read back equal and re-ingest would look like news).
pub(crate) fn canonical(p: &InvocationPart) -> Option<InvocationPart> {
    if !p.function.is_empty() && !has_nan(p) && lines_normalized(&p.log_lines) {
        return None;
    }
    let mut p = p.clone();
    if p.function.is_empty() {
        p.function = derived_function(&p.log_group, &p.log_stream);
    }
    normalize_lines(&mut p.log_lines);
    let fix = |v: &mut Option<f64>| {
        if v.is_some_and(f64::is_nan) {
            *v = None;
        }
    };
    fix(&mut p.init_report_ms);
    if let Some(r) = p.report.as_mut() {
        if r.duration_ms.is_nan() {
            r.duration_ms = 0.0;
        }
        fix(&mut r.billed_duration_ms);
        fix(&mut r.init_duration_ms);
        fix(&mut r.restore_duration_ms);
        fix(&mut r.billed_restore_duration_ms);
    }
    Some(p)
}

/// A part made ready to write: its row values (in `Scratch::arena`) and its contribution to
/// rollups, computed in arrival order before the batch is written in key order.
#[derive(Clone)]
struct Prepared {
    row: RowValues,
    contribution: Option<Contribution>,
    /// Index in the batch.
    index: usize,
    /// Index in the batch's canonicalized copies, when the part needed one.
    fixed: Option<usize>,
}

/// A stored invocation read back for merging.
struct Stored {
    id: i64,
    function_id: i64,
    t: i64,
    part: InvocationPart,
    /// The volume counted for it in the rollups (its row's; zero for rows stored before log
    /// volume was recorded, whose lines then count in full on their next change).
    volume: Volume,
}

impl Writer<'_> {
    fn function_id(&mut self, name: &str) -> Result<i64, StoreError> {
        if let Some((n, id)) = &self.last_function {
            if n == name {
                return Ok(*id);
            }
        }
        let id = match self.ids.functions.get(name) {
            Some(&id) => id,
            None => self.resolve_function(name)?,
        };
        self.last_function = Some((name.to_string(), id));
        Ok(id)
    }

    fn resolve_function(&mut self, name: &str) -> Result<i64, StoreError> {
        let id = find_or_insert(
            self.tx,
            "SELECT id FROM functions WHERE name = ?1",
            [name],
            "INSERT INTO functions (name) VALUES (?1)",
            [name],
        )?;
        self.ids.functions.insert(name.to_string(), id);
        self.ids.function_names.insert(id, name.to_string());
        Ok(id)
    }

    fn function_name_of(&mut self, id: i64) -> Result<String, StoreError> {
        if let Some(n) = self.ids.function_names.get(&id) {
            return Ok(n.clone());
        }
        let name: String = self
            .tx
            .prepare_cached("SELECT name FROM functions WHERE id = ?1")
            .db()?
            .query_row([id], |r| r.get(0))
            .db()?;
        self.ids.function_names.insert(id, name.clone());
        self.ids.functions.insert(name.clone(), id);
        Ok(name)
    }

    fn env_id(
        &mut self,
        log_group: &Arc<str>,
        log_stream: &Arc<str>,
        function_id: i64,
    ) -> Result<i64, StoreError> {
        // The batch holds its Arcs for the whole call, so their addresses identify them; most
        // parts of a stream share one Arc.
        let addr = (
            Arc::as_ptr(log_group) as *const u8 as usize,
            Arc::as_ptr(log_stream) as *const u8 as usize,
        );
        if let Some(&id) = self.env_by_addr.get(&addr) {
            return Ok(id);
        }
        let cached = self.ids.envs.get(log_group, log_stream);
        let id = match cached {
            Some(id) => id,
            None => self.resolve_env(log_group, log_stream, function_id)?,
        };
        self.env_by_addr.insert(addr, id);
        Ok(id)
    }

    fn resolve_env(
        &mut self,
        log_group: &Arc<str>,
        log_stream: &Arc<str>,
        function_id: i64,
    ) -> Result<i64, StoreError> {
        let id = find_or_insert(
            self.tx,
            "SELECT id FROM environments WHERE log_group = ?1 AND log_stream = ?2",
            [&**log_group, &**log_stream],
            "INSERT INTO environments (function_id, log_group, log_stream) VALUES (?1, ?2, ?3)",
            params![function_id, &**log_group, &**log_stream],
        )?;
        self.ids
            .envs
            .insert(log_group.clone(), log_stream.clone(), id);
        Ok(id)
    }

    fn function_meta(&mut self, m: &FunctionMeta) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO functions (name, region, arch, timeout_ms, runtime, memory_mb, \
                   account, function_arn, ephemeral_mb, log_group, log_format, last_modified, \
                   tags, inventory_ms, log_retention_days) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
                 ON CONFLICT (name) DO UPDATE SET \
                   region = COALESCE(excluded.region, region), \
                   arch = COALESCE(excluded.arch, arch), \
                   timeout_ms = COALESCE(excluded.timeout_ms, timeout_ms), \
                   runtime = COALESCE(excluded.runtime, runtime), \
                   memory_mb = COALESCE(excluded.memory_mb, memory_mb), \
                   account = COALESCE(excluded.account, account), \
                   function_arn = COALESCE(excluded.function_arn, function_arn), \
                   ephemeral_mb = COALESCE(excluded.ephemeral_mb, ephemeral_mb), \
                   log_group = COALESCE(excluded.log_group, log_group), \
                   log_format = COALESCE(excluded.log_format, log_format), \
                   last_modified = COALESCE(excluded.last_modified, last_modified), \
                   tags = COALESCE(excluded.tags, tags), \
                   log_retention_days = COALESCE(excluded.log_retention_days, log_retention_days), \
                   inventory_ms = MAX(COALESCE(excluded.inventory_ms, inventory_ms), \
                                      COALESCE(inventory_ms, excluded.inventory_ms))",
            )
            .db()?
            .execute(params![
                m.function,
                m.region,
                m.arch.map(|a| a.as_str()),
                m.timeout_ms.map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
                m.runtime,
                m.memory_size_mb,
                m.account,
                m.function_arn,
                m.ephemeral_storage_mb,
                m.log_group,
                m.log_format,
                m.last_modified,
                m.tags.as_deref().map(codec::encode_tags),
                m.inventory_ms,
                m.log_retention_days,
            ])
            .db()?;
        let inventory = inventory_seen(m);
        if !inventory.is_empty() {
            let function_id = self.function_id(&m.function)?;
            let d = self.deltas.seen.entry(function_id).or_default();
            for (a, v, f, l) in inventory {
                match d.inventory.iter_mut().find(|x| x.0 == a && x.1 == v) {
                    Some(x) => {
                        x.2 = x.2.min(f);
                        x.3 = x.3.max(l);
                    }
                    None => d.inventory.push((a, v, f, l)),
                }
            }
        }
        Ok(())
    }

    /// Write a batch's prepared parts: resolve ids in arrival order, then insert in
    /// (environment, request hash) order, so consecutive inserts land on the same pages of the
    /// key index. Ties keep arrival order: parts of one invocation merge in the order given.
    fn parts(
        &mut self,
        parts: &[InvocationPart],
        mut prep: PreparedParts,
    ) -> Result<(), StoreError> {
        for i in 0..prep.parts.len() {
            let (function_id, env_id, runtime_version) = {
                let p = prep.part(parts, &prep.parts[i]);
                let function_id = self.function_id(&p.function)?;
                let env_id = self.env_id(&p.log_group, &p.log_stream, function_id)?;
                (function_id, env_id, p.runtime_version.as_deref())
            };
            if let Some(v) = runtime_version {
                self.deltas.runtime_version(env_id, v);
            }
            let row = &mut prep.parts[i].row;
            row.function_id = function_id;
            row.env_id = env_id;
        }
        // Insert in (function, hour, environment, request hash) order: each function's new rows
        // of an hour get consecutive ids (one span), and consecutive inserts share pages of the
        // key index. Sort small keys, not the (large) prepared rows; ties keep arrival order.
        let mut order: Vec<(i64, i64, i64, i64, usize)> = prep
            .parts
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let r = &o.row;
                (
                    r.function_id,
                    floor_to(r.t, HOUR_MS),
                    r.env_id,
                    r.rid_hash,
                    i,
                )
            })
            .collect();
        order.sort_unstable();
        for (_, _, _, _, i) in order {
            let mut o = prep.parts[i].clone();
            let p = prep.part(parts, &o);
            if let Some(id) = self.write_part(&mut o, p)? {
                self.spans.add(o.row.function_id, id, o.row.t);
            }
        }
        Ok(())
    }

    /// Insert one part, or merge it into its stored invocation. The new row's id when inserted.
    fn write_part(
        &mut self,
        o: &mut Prepared,
        p: &InvocationPart,
    ) -> Result<Option<i64>, StoreError> {
        let (env_id, function_id, hash) = (o.row.env_id, o.row.function_id, o.row.rid_hash);
        // Linear probing: a slot taken by another request id with the same hash moves on.
        for slot in hash..hash + MAX_PROBES {
            o.row.rid_hash = slot;
            o.row.bind(&mut self.insert, &self.scratch.arena)?;
            if self.insert.raw_execute().db()? == 1 {
                self.stats.inserted += 1;
                let id = self.tx.last_insert_rowid();
                // The new row's lines count in the hour of its time (`c.t` is `row.t`).
                if let Some(c) = &o.contribution {
                    self.stats.completed += 1;
                    self.deltas.count(function_id, env_id, c, o.row.volume);
                    self.deltas
                        .seen
                        .entry(function_id)
                        .or_default()
                        .invocation(c.t, p);
                    if c.outcome != Outcome::Success {
                        self.errors.occur(self.tx, id, function_id, c.t, p)?;
                    }
                } else {
                    self.deltas.volume(function_id, o.row.t, o.row.volume);
                }
                return Ok(Some(id));
            }
            if let Some(stored) = self.stored(env_id, slot, p)? {
                self.merge_into(env_id, slot, stored, p)?;
                return Ok(None);
            }
        }
        Err(StoreError::Backend(format!(
            "request id {} collides with {MAX_PROBES} others in its stream",
            p.request_id
        )))
    }

    /// The invocation in slot (`env_id`, `slot`), if it is `p`'s.
    fn stored(
        &mut self,
        env_id: i64,
        slot: i64,
        p: &InvocationPart,
    ) -> Result<Option<Stored>, StoreError> {
        let sql = format!(
            "SELECT i.id, i.function_id, i.t, i.request_id, {PART_COLUMNS}, i.lines, \
             i.log_lines, i.log_bytes FROM invocations i WHERE i.env_id = ?1 AND i.rid_hash = ?2"
        );
        let mut stmt = self.tx.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params![env_id, slot]).db()?;
        let Some(r) = rows.next().db()? else {
            return Err(StoreError::Backend(format!(
                "invocation {} conflicted but is not stored",
                p.request_id
            )));
        };
        let request_id: String = r.get(3).db()?;
        if request_id != p.request_id {
            return Ok(None);
        }
        let mut part = row::read_part(
            r,
            4,
            String::new(),
            p.log_group.clone(),
            p.log_stream.clone(),
            request_id,
        )?;
        part.log_lines = row::read_lines(r, 4 + row::PART_COLUMN_COUNT)?;
        Ok(Some(Stored {
            id: r.get(0).db()?,
            function_id: r.get(1).db()?,
            t: r.get(2).db()?,
            part,
            volume: Volume {
                lines: r.get(5 + row::PART_COLUMN_COUNT).db()?,
                bytes: r.get(6 + row::PART_COLUMN_COUNT).db()?,
            },
        }))
    }

    /// The slow path: merge `p` into the stored invocation and write back what changed.
    fn merge_into(
        &mut self,
        env_id: i64,
        slot: i64,
        stored: Stored,
        p: &InvocationPart,
    ) -> Result<(), StoreError> {
        let Stored {
            id,
            function_id,
            t: stored_t,
            part: mut old_part,
            volume: old_volume,
        } = stored;
        old_part.function = self.function_name_of(function_id)?;
        let mut merged = old_part.clone();
        merged.merge(p.clone());
        if merged == old_part {
            self.stats.unchanged += 1;
            return Ok(());
        }
        let old = Contribution::of(&old_part, stored_t);
        // Once counted, an invocation stays in the buckets it was counted in.
        let t = if old.is_some() {
            stored_t
        } else {
            time_of(&merged)
        };
        let new = Contribution::of(&merged, t);
        let volume = {
            let Scratch { enc, one, .. } = &mut *self.scratch;
            one.clear();
            let keys = RowKeys {
                env_id,
                rid_hash: slot,
                function_id,
                t,
            };
            let judged = (merged.outcome(), merged.is_cold());
            let values = RowValues::new(&merged, keys, judged, one, enc);
            let mut stmt = self.tx.prepare_cached(UPDATE_SQL).db()?;
            values.bind(&mut stmt, one)?;
            stmt.raw_bind_parameter(33, id).db()?;
            stmt.raw_execute().db()?;
            values.volume
        };
        // Only the lines the merge added are new (the merge deduplicates lines already stored).
        self.deltas
            .move_volume(function_id, (stored_t, old_volume), (t, volume));
        self.stats.merged += 1;
        if t != stored_t {
            self.spans.widen(self.tx, function_id, id, t)?;
        }
        if new.is_some() {
            // A late part can bring a value (START's version after the REPORT): record what
            // the complete row now carries, at its frozen time.
            self.deltas
                .seen
                .entry(function_id)
                .or_default()
                .invocation(t, &merged);
        }
        match (old, new) {
            (None, Some(new)) => {
                self.stats.completed += 1;
                self.deltas
                    .count(function_id, env_id, &new, Volume::default());
                if new.outcome != Outcome::Success {
                    self.errors.occur(self.tx, id, function_id, t, &merged)?;
                }
            }
            (Some(old), Some(new)) => {
                // The fingerprint depends on the outcome and the error (the REPORT and the
                // function are fixed once counted).
                let failed = old.outcome != Outcome::Success || new.outcome != Outcome::Success;
                if failed && (old.outcome != new.outcome || old_part.error != merged.error) {
                    self.errors.changed(self.tx, id, function_id, t, &merged)?;
                }
                if old != new {
                    self.deltas.change(function_id, env_id, &old, &new);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
