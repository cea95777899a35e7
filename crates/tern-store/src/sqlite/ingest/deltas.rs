//! What a batch adds to rollups, environments and values seen: summed in memory per batch,
//! then each touched row read, merged and written once.

use rusqlite::{params, Transaction};
use tern_core::impact::Attribute;
use tern_core::model::InvocationPart;

use super::{EnvDelta, Writer};
use crate::sqlite::fx::FxHashMap;
use crate::sqlite::rollup::{
    decode_sketch, encode_sketch, floor_to, Contribution, Rollup, Volume, DAY_MS, HOUR_MS,
};
use crate::sqlite::Db;
use crate::{FunctionMeta, StoreError};

/// Everything a batch changes outside invocation rows, summed before it is written.
#[derive(Default)]
pub(super) struct Deltas {
    /// (function id, hour) → delta. Day deltas are the sums of their hours, made at flush.
    hours: FxHashMap<(i64, i64), Rollup>,
    envs: FxHashMap<i64, EnvDelta>,
    /// function id → (time, Memory Size) of its latest completed invocation in the batch.
    memory: FxHashMap<i64, (i64, u32)>,
    /// function id → the change-attribute values its completed invocations carried.
    pub(super) seen: FxHashMap<i64, SeenDelta>,
    /// Per (function, hour, version, memory size): the memory advice's statistics.
    sizes: crate::sqlite::sizes::SizeDeltas,
}

/// The values of a function's change attributes seen in one batch, each with the first and
/// last time (`values_seen`). A batch sees a few values per function, so a list beats a map.
#[derive(Default)]
pub(super) struct SeenDelta {
    versions: Vec<(String, i64, i64)>,
    memory: Vec<(u32, i64, i64)>,
    runtimes: Vec<(String, i64, i64)>,
    /// From the inventory: (attribute, value, first, last).
    pub(super) inventory: Vec<(Attribute, String, i64, i64)>,
}

fn widen<T: PartialEq + ?Sized, O: std::borrow::Borrow<T>>(
    list: &mut Vec<(O, i64, i64)>,
    v: &T,
    t: i64,
    own: impl FnOnce(&T) -> O,
) {
    match list.iter_mut().find(|(x, _, _)| x.borrow() == v) {
        Some((_, f, l)) => {
            *f = (*f).min(t);
            *l = (*l).max(t);
        }
        None => list.push((own(v), t, t)),
    }
}

/// What one inventory listing of a function says was seen, as (attribute, value, first,
/// last): the architecture when the listing has it (in effect since the latest update,
/// `LastModified`, at the earliest), and `LastModified` itself (a change at that time). Both
/// backends record these.
pub(crate) fn inventory_seen(m: &FunctionMeta) -> Vec<(Attribute, String, i64, i64)> {
    let modified = m
        .last_modified
        .as_deref()
        .and_then(|s| tern_core::time::parse_exact(s.trim(), tern_core::time::Dialect::Tools));
    let mut inventory = Vec::new();
    if let (Some(arch), Some(seen_ms)) = (m.arch, m.inventory_ms) {
        let first = modified.map_or(seen_ms, |t| t.min(seen_ms));
        inventory.push((
            Attribute::Architecture,
            arch.as_str().to_string(),
            first,
            seen_ms,
        ));
    }
    if let (Some(text), Some(at)) = (&m.last_modified, modified) {
        let last = m.inventory_ms.map_or(at, |s| s.max(at));
        inventory.push((Attribute::Configuration, text.trim().to_string(), at, last));
    }
    inventory
}

impl SeenDelta {
    /// A completed invocation at `t` carried these values.
    pub(super) fn invocation(&mut self, t: i64, p: &InvocationPart) {
        if let Some(v) = &p.version {
            widen(&mut self.versions, v.as_str(), t, str::to_string);
        }
        if let Some(m) = p.report.as_ref().and_then(|r| r.memory_size_mb) {
            widen(&mut self.memory, &m, t, |m| *m);
        }
        if let Some(v) = &p.runtime_version {
            widen(&mut self.runtimes, v.as_str(), t, str::to_string);
        }
    }
}

impl Deltas {
    /// Count a completed invocation, with `volume`: lines stored with it in its hour (one
    /// lookup for both).
    pub(super) fn count(
        &mut self,
        function_id: i64,
        env_id: i64,
        c: &Contribution,
        volume: Volume,
    ) {
        let hour = self
            .hours
            .entry((function_id, floor_to(c.t, HOUR_MS)))
            .or_default();
        hour.add(c);
        hour.add_volume(volume);
        self.sizes.count(function_id, c);
        let env = self.envs.entry(env_id).or_default();
        env.invocations += 1;
        env.cold_starts += i64::from(c.cold);
        env.first_ms = Some(env.first_ms.map_or(c.t, |f| f.min(c.t)));
        env.last_ms = Some(env.last_ms.map_or(c.t, |l| l.max(c.t)));
        if let Some(m) = c.memory_mb {
            let e = self.memory.entry(function_id).or_insert((c.t, m));
            if (c.t, m) > *e {
                *e = (c.t, m);
            }
        }
    }

    pub(super) fn change(
        &mut self,
        function_id: i64,
        env_id: i64,
        old: &Contribution,
        new: &Contribution,
    ) {
        self.hours
            .entry((function_id, floor_to(old.t, HOUR_MS)))
            .or_default()
            .change(old, new);
        self.sizes.change(function_id, old, new);
        let env = self.envs.entry(env_id).or_default();
        env.cold_starts += i64::from(new.cold) - i64::from(old.cold);
    }

    /// Lines stored (negative: taken out) in the hour of `t`.
    pub(super) fn volume(&mut self, function_id: i64, t: i64, v: Volume) {
        if !v.is_zero() {
            self.hours
                .entry((function_id, floor_to(t, HOUR_MS)))
                .or_default()
                .add_volume(v);
        }
    }

    /// A stored invocation's lines went from `old` in the hour of `old_t` to `new` in the hour
    /// of `new_t` (its time moves until it is counted).
    pub(super) fn move_volume(
        &mut self,
        function_id: i64,
        (old_t, old): (i64, Volume),
        (new_t, new): (i64, Volume),
    ) {
        if floor_to(old_t, HOUR_MS) == floor_to(new_t, HOUR_MS) {
            let diff = Volume {
                lines: new.lines - old.lines,
                bytes: new.bytes - old.bytes,
            };
            self.volume(function_id, new_t, diff);
        } else {
            self.volume(
                function_id,
                old_t,
                Volume {
                    lines: -old.lines,
                    bytes: -old.bytes,
                },
            );
            self.volume(function_id, new_t, new);
        }
    }

    pub(super) fn runtime_version(&mut self, env_id: i64, v: &str) {
        let env = self.envs.entry(env_id).or_default();
        if env.runtime_version.is_none() {
            env.runtime_version = Some(v.to_string());
        }
    }
}

/// Read–merge–write one rollup bucket. Sketches are decoded only when the delta adds to them.
fn write_rollup(
    tx: &Transaction<'_>,
    table: &str,
    function_id: i64,
    bucket: i64,
    delta: &Rollup,
) -> Result<(), StoreError> {
    let select = format!(
        "SELECT n_success, n_error, n_timeout, n_out_of_memory, n_crash, n_init_error, \
         cold_starts, over_20s, billed_ms, gb_seconds, max_memory_used_mb, first_ms, last_ms, \
         latest_memory_mb, latest_memory_ms, log_lines, log_bytes, duration, init \
         FROM {table} WHERE function_id = ?1 AND bucket_ms = ?2"
    );
    let mut stmt = tx.prepare_cached(&select).db()?;
    let mut rows = stmt.query(params![function_id, bucket]).db()?;
    let (merged, duration, init) = match rows.next().db()? {
        None => (
            delta.clone(),
            encode_sketch(&delta.duration),
            encode_sketch(&delta.init),
        ),
        Some(r) => {
            let mut stored = crate::sqlite::query::read_rollup_scalars(r, 0)?;
            let sketch = |i: usize, d: &tern_core::sketch::Sketch, what: &str| {
                let bytes = crate::sqlite::query::blob(r, i, what)?;
                if d.count() == 0 {
                    return Ok::<_, StoreError>(bytes.map(<[u8]>::to_vec));
                }
                let mut s = decode_sketch(bytes, what)?;
                s.merge(d)
                    .map_err(|e| StoreError::Corrupt(format!("{what} sketch: {e}")))?;
                Ok(encode_sketch(&s))
            };
            let duration = sketch(17, &delta.duration, "duration")?;
            let init = sketch(18, &delta.init, "init")?;
            stored.merge_scalars(delta);
            (stored, duration, init)
        }
    };
    drop(rows);
    drop(stmt);
    let upsert = format!(
        "INSERT OR REPLACE INTO {table} (function_id, bucket_ms, n_success, n_error, n_timeout, \
         n_out_of_memory, n_crash, n_init_error, cold_starts, over_20s, billed_ms, gb_seconds, \
         max_memory_used_mb, first_ms, last_ms, latest_memory_mb, latest_memory_ms, duration, \
         init, log_lines, log_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
         ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
    );
    let o = &merged.outcomes;
    tx.prepare_cached(&upsert)
        .db()?
        .execute(params![
            function_id,
            bucket,
            o[0],
            o[1],
            o[2],
            o[3],
            o[4],
            o[5],
            merged.cold_starts,
            merged.over_20s,
            merged.billed_ms,
            merged.gb_seconds,
            merged.max_memory_used_mb,
            merged.first_ms,
            merged.last_ms,
            merged.latest_memory.map(|m| m.1),
            merged.latest_memory.map(|m| m.0),
            duration,
            init,
            merged.log_lines,
            merged.log_bytes,
        ])
        .db()?;
    Ok(())
}

impl Writer<'_> {
    /// Write the batch's spans and its rollup, environment and function deltas, each row once.
    pub(super) fn flush(&mut self) -> Result<(), StoreError> {
        self.spans.write(self.tx)?;
        self.errors.flush(self.tx)?;
        let hours = std::mem::take(&mut self.deltas.hours);
        let mut days: FxHashMap<(i64, i64), Rollup> = FxHashMap::default();
        for ((function_id, hour), delta) in hours {
            days.entry((function_id, floor_to(hour, DAY_MS)))
                .or_default()
                .merge(&delta)?;
            write_rollup(self.tx, "rollup_hour", function_id, hour, &delta)?;
        }
        for ((function_id, day), delta) in days {
            write_rollup(self.tx, "rollup_day", function_id, day, &delta)?;
        }
        self.deltas.sizes.flush(self.tx)?;
        let mut stmt = self
            .tx
            .prepare_cached(
                "UPDATE environments SET invocations = invocations + ?1, \
                   cold_starts = cold_starts + ?2, \
                   first_ms = COALESCE(MIN(first_ms, ?3), first_ms, ?3), \
                   last_ms = COALESCE(MAX(last_ms, ?4), last_ms, ?4), \
                   runtime_version = COALESCE(runtime_version, ?5) \
                 WHERE id = ?6",
            )
            .db()?;
        for (env_id, d) in std::mem::take(&mut self.deltas.envs) {
            stmt.execute(params![
                d.invocations,
                d.cold_starts,
                d.first_ms,
                d.last_ms,
                d.runtime_version,
                env_id
            ])
            .db()?;
        }
        let mut stmt = self
            .tx
            .prepare_cached(
                "UPDATE functions SET seen_memory_mb = ?1, seen_memory_ms = ?2 \
                 WHERE id = ?3 AND (seen_memory_ms IS NULL OR seen_memory_ms <= ?2)",
            )
            .db()?;
        for (function_id, (t, mb)) in std::mem::take(&mut self.deltas.memory) {
            stmt.execute(params![mb, t, function_id]).db()?;
        }
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO values_seen (function_id, attribute, value, first_ms, last_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (function_id, attribute, value) DO UPDATE SET \
                   first_ms = MIN(first_ms, excluded.first_ms), \
                   last_ms = MAX(last_ms, excluded.last_ms) \
                 WHERE excluded.first_ms < first_ms OR excluded.last_ms > last_ms",
            )
            .db()?;
        for (function_id, d) in std::mem::take(&mut self.deltas.seen) {
            let attr = |a: Attribute| a.as_str();
            for (v, f, l) in &d.versions {
                stmt.execute(params![function_id, attr(Attribute::Version), v, f, l])
                    .db()?;
            }
            for (m, f, l) in &d.memory {
                stmt.execute(params![
                    function_id,
                    attr(Attribute::MemorySize),
                    m.to_string(),
                    f,
                    l
                ])
                .db()?;
            }
            for (v, f, l) in &d.runtimes {
                stmt.execute(params![
                    function_id,
                    attr(Attribute::RuntimeVersion),
                    v,
                    f,
                    l
                ])
                .db()?;
            }
            for (a, v, f, l) in &d.inventory {
                stmt.execute(params![function_id, attr(*a), v, f, l]).db()?;
            }
        }
        Ok(())
    }
}
