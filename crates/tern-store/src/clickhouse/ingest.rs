//! The write path: read the stored versions of a batch's invocations, merge the parts in
//! (`InvocationPart::merge`, as the SQLite backend does), and write a new version of each
//! invocation that learned something. Nothing is counted here: statistics are read from the
//! latest versions, so writing a version twice (a retried batch) changes no count.
//!
//! Cost: a batch asks which of its keys are stored with the key columns only (most
//! are new), reads whole through `FINAL` only those, and verifies with the key columns and
//! versions; each of these is one query per up to `LOOKUP_CHUNK` keys, with the request ids in
//! `PREWHERE`. Error groups, functions and stream lines are one query each per batch, never
//! one per row.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};
use tern_core::model::{InvocationPart, LogLine};

use super::rows::{self, lits, Extra, PART_COLUMNS};
use super::{errors, state, ClickHouseStore};
use crate::sqlite::ingest::{canonical, time_of};
use crate::{IngestBatch, IngestStats, StoreError, StreamLines};

type Key = (Arc<str>, Arc<str>, String);

/// Most keys looked up per query, and most bytes of key text in one query (the statement must
/// stay under the `max_query_size` the client sets, with room to spare).
const LOOKUP_CHUNK: usize = 10_000;
const LOOKUP_BYTES: usize = 2 << 20;

/// Rounds of verify-after-write before a batch gives up (each round means another writer
/// wrote one of the same invocations in between: a few at most).
const VERIFY_ROUNDS: usize = 8;

struct Entry {
    part: InvocationPart,
    extra: Extra,
    dirty: bool,
    /// Whether the version read from the store (if any) had its REPORT.
    was_complete: bool,
    /// The version read, or (once written) the version this writer wrote.
    ver: u64,
    /// The version read when this writer wrote (0: none).
    base: u64,
}

/// `WHERE` clause naming a chunk of keys (a superset: the caller keeps only its keys).
fn keys_sql(chunk: &[&Key]) -> String {
    let groups: HashSet<&str> = chunk.iter().map(|k| &*k.0).collect();
    let streams: HashSet<&str> = chunk.iter().map(|k| &*k.1).collect();
    let ids: HashSet<&str> = chunk.iter().map(|k| k.2.as_str()).collect();
    format!(
        "log_group IN ({}) AND log_stream IN ({}) AND request_id IN ({})",
        lits(groups),
        lits(streams),
        lits(ids)
    )
}

/// `PREWHERE … WHERE …` naming a chunk of keys (a superset, as `keys_sql`) for a read of key
/// columns: the primary key narrows the granules by group and stream, and only the request
/// ids of those are read before the other columns.
fn keys_prewhere(chunk: &[&Key]) -> String {
    let groups: HashSet<&str> = chunk.iter().map(|k| &*k.0).collect();
    let streams: HashSet<&str> = chunk.iter().map(|k| &*k.1).collect();
    let ids: HashSet<&str> = chunk.iter().map(|k| k.2.as_str()).collect();
    format!(
        "PREWHERE request_id IN ({}) WHERE log_group IN ({}) AND log_stream IN ({})",
        lits(ids),
        lits(groups),
        lits(streams)
    )
}

/// `keys` in chunks of at most `LOOKUP_CHUNK` keys and about `LOOKUP_BYTES` of key text.
fn chunks<'a, 'k>(keys: &'a [&'k Key]) -> Vec<&'a [&'k Key]> {
    let mut out = Vec::new();
    let (mut from, mut bytes) = (0, 0);
    for (i, k) in keys.iter().enumerate() {
        let len = k.0.len() + k.1.len() + k.2.len() + 12;
        if i > from && (i - from >= LOOKUP_CHUNK || bytes + len > LOOKUP_BYTES) {
            out.push(&keys[from..i]);
            (from, bytes) = (i, 0);
        }
        bytes += len;
    }
    if from < keys.len() {
        out.push(&keys[from..]);
    }
    out
}

/// The keys of `keys` with a stored version: only the key columns, no `FINAL` (a version
/// merged away or not, the key is there), which is far cheaper than reading whole parts.
fn stored_keys<'k>(s: &ClickHouseStore, keys: &[&'k Key]) -> Result<Vec<&'k Key>, StoreError> {
    let mut found: HashSet<(&str, &str, &str)> = HashSet::new();
    let mut out = Vec::new();
    for chunk in chunks(keys) {
        let rows = s.select(&format!(
            "SELECT log_group, log_stream, request_id FROM invocations {}",
            keys_prewhere(chunk)
        ))?;
        let wanted: HashMap<(&str, &str, &str), &'k Key> = chunk
            .iter()
            .map(|k| ((&*k.0, &*k.1, k.2.as_str()), *k))
            .collect();
        for r in &rows {
            let (g, st, id) = (
                r.str("log_group")?,
                r.str("log_stream")?,
                r.str("request_id")?,
            );
            if let Some(k) = wanted.get(&(g.as_str(), st.as_str(), id.as_str())) {
                if found.insert((&*k.0, &*k.1, k.2.as_str())) {
                    out.push(*k);
                }
            }
        }
    }
    Ok(out)
}

/// The latest stored version of each of `keys` that has one. Most keys of a batch are new
/// (an invocation's START and REPORT usually travel together), so a cheap look at which keys
/// exist comes first, and only those are read whole through `FINAL`. A key written by another
/// writer after the look is found by `verify`, as it would be after a full read.
fn load(
    s: &ClickHouseStore,
    keys: &[&Key],
    out: &mut HashMap<Key, Entry>,
) -> Result<(), StoreError> {
    let keys = stored_keys(s, keys)?;
    for chunk in chunks(&keys) {
        let rows = s.select(&format!(
            "SELECT {PART_COLUMNS}, lines, ver FROM invocations FINAL WHERE {}",
            keys_sql(chunk)
        ))?;
        for r in &rows {
            let (part, extra) = rows::read_part(r, true)?;
            let key = (
                part.log_group.clone(),
                part.log_stream.clone(),
                part.request_id.clone(),
            );
            out.insert(
                key,
                Entry {
                    was_complete: part.report.is_some(),
                    part,
                    extra,
                    dirty: false,
                    ver: r.u64("ver")?,
                    base: 0,
                },
            );
        }
    }
    Ok(())
}

pub(super) fn ingest(
    s: &mut ClickHouseStore,
    batch: &IngestBatch,
) -> Result<IngestStats, StoreError> {
    let mut stats = IngestStats::default();
    let cutoffs = s.cutoffs()?;
    // Parts older than the raw cutoff would count again: drop them.
    let mut parts: Vec<InvocationPart> = Vec::with_capacity(batch.parts.len());
    for p in &batch.parts {
        let p = canonical(p).unwrap_or_else(|| p.clone());
        if cutoffs.raw.is_some_and(|c| time_of(&p) < c) {
            stats.expired += 1;
            continue;
        }
        parts.push(p);
    }

    let mut stored: HashMap<Key, Entry> = HashMap::new();
    {
        let mut keys: Vec<Key> = parts
            .iter()
            .map(|p| {
                (
                    p.log_group.clone(),
                    p.log_stream.clone(),
                    p.request_id.clone(),
                )
            })
            .collect();
        keys.sort();
        keys.dedup();
        let refs: Vec<&Key> = keys.iter().collect();
        load(s, &refs, &mut stored)?;
    }
    let mut order: Vec<Key> = Vec::new();
    for p in parts {
        let key = (
            p.log_group.clone(),
            p.log_stream.clone(),
            p.request_id.clone(),
        );
        match stored.get_mut(&key) {
            Some(e) => {
                let before_complete = e.part.report.is_some();
                let mut merged = e.part.clone();
                merged.merge(p);
                if merged == e.part {
                    stats.unchanged += 1;
                } else {
                    stats.merged += 1;
                    if !before_complete && merged.report.is_some() {
                        stats.completed += 1;
                    }
                    e.part = merged;
                    if !e.dirty {
                        order.push(key);
                    }
                    e.dirty = true;
                }
            }
            None => {
                stats.inserted += 1;
                if p.report.is_some() {
                    stats.completed += 1;
                }
                let t = time_of(&p);
                let day_ms = rows::partition_day_ms(&p.log_stream, t);
                stored.insert(
                    key.clone(),
                    Entry {
                        part: p,
                        extra: Extra {
                            day_ms,
                            t,
                            group_key: None,
                            occ_seq: 0,
                            occ_pos: 0,
                        },
                        dirty: true,
                        was_complete: false,
                        ver: 0,
                        base: 0,
                    },
                );
                order.push(key);
            }
        }
    }

    // Error groups: what each changed invocation now belongs to.
    let mut groups = errors::Pending::load(s)?;
    let mut rows: Vec<Map<String, Value>> = Vec::with_capacity(order.len());
    let written = order.clone();
    let mut functions: HashSet<String> = HashSet::new();
    let mut seen = super::seen::Batch::default();
    for m in &batch.functions {
        seen.inventory(m);
    }
    groups.preload(
        s,
        order
            .iter()
            .filter_map(|k| stored.get(k))
            .map(|e| (&e.part, &e.extra)),
    )?;
    for key in &order {
        let Some(e) = stored.get_mut(key) else {
            continue;
        };
        e.extra.t = time_of(&e.part);
        seen.invocation(e.extra.t, &e.part);
        let _ = e.was_complete;
        groups.assign(s, &e.part, &mut e.extra)?;
        functions.insert(e.part.function.clone());
    }
    for s_lines in &batch.stream_lines {
        functions.insert(stream_function(s_lines));
    }
    for key in &order {
        if let Some(e) = stored.get_mut(key) {
            e.base = e.ver;
            e.ver = s.ver();
            rows.push(rows::part_row(&e.part, e.extra, e.ver));
        }
    }

    // Functions: metadata given, and a row for every function seen.
    let mut names: Vec<String> = functions.into_iter().collect();
    names.extend(batch.functions.iter().map(|m| m.function.clone()));
    names.sort();
    names.dedup();
    let mut fn_rows = Vec::new();
    if !names.is_empty() {
        let mut known: HashMap<String, crate::FunctionMeta> =
            state::stored_functions(s, Some(&names))?
                .into_iter()
                .map(|m| (m.function.clone(), m))
                .collect();
        for m in &batch.functions {
            let merged = state::merge_meta(known.remove(&m.function), m);
            known.insert(m.function.clone(), merged.clone());
            let ver = s.ver();
            fn_rows.push(state::function_row(&merged, ver));
        }
        for n in &names {
            if !known.contains_key(n) {
                let m = crate::FunctionMeta {
                    function: n.clone(),
                    ..Default::default()
                };
                let ver = s.ver();
                fn_rows.push(state::function_row(&m, ver));
                known.insert(n.clone(), m);
            }
        }
    }

    let line_rows = stream_rows(s, &batch.stream_lines, cutoffs.raw)?;

    // The partitions written are marked before and after (`seal.rs`: a seal older than the
    // second mark no longer counts, so what this batch adds to a sealed day is read raw).
    // The days of invocations found unchanged count too: a retry after a failure between the
    // invocations and the second mark writes none of them again, and must still make that
    // second mark.
    let mut days = super::seal::days_of(rows.iter().chain(&line_rows));
    days.extend(stored.values().map(|e| rows::date_of(e.extra.day_ms)));
    super::seal::mark(s, &days)?;
    // Group state first (new groups, regressions), then what is derived from the
    // invocations, then the invocations: a retry after a failure in between finds them
    // stored and unchanged and writes nothing of them again, so everything derived from them
    // must already be there (values_seen rows are order-free, writing them twice is
    // harmless). Checkpoints last, so a stored checkpoint always has its data.
    groups.flush(s)?;
    s.insert("functions", &fn_rows)?;
    s.insert("values_seen", &seen.rows())?;
    s.insert("invocations", &rows)?;
    verify(s, &stored, written)?;
    s.insert("stream_lines", &line_rows)?;
    super::seal::mark(s, &days)?;
    let cps = state::checkpoint_rows(s, &batch.checkpoints);
    s.insert("checkpoints", &cps)?;
    Ok(stats)
}

/// Verify-after-write: several collectors may read, merge and write the same invocation at
/// once (its START in one collector's batch, its REPORT in another's), and `FINAL` keeps only
/// the highest version, so a version merged from a stale read could hide another writer's
/// part. After writing, each writer reads back every version of the keys it wrote (without
/// `FINAL`: the versions not merged away yet) and looks for versions it did not build on:
/// newer than the one it read and not its own. It merges those into its part
/// (`InvocationPart::merge` only ever adds) and writes the result above all of them, and
/// repeats until its version is the highest and nothing unseen is newer than its base. Both
/// writers do this, so the store converges on the merge of all parts whatever the
/// interleaving. See ARCHITECTURE.md for the window this leaves.
fn verify(
    s: &mut ClickHouseStore,
    stored: &HashMap<Key, Entry>,
    written: Vec<Key>,
) -> Result<(), StoreError> {
    struct Mine {
        part: InvocationPart,
        extra: Extra,
        /// The version this writer's part was built on (0: none).
        base: u64,
        /// The version this writer wrote.
        ver: u64,
    }
    let mut mine: HashMap<Key, Mine> = written
        .into_iter()
        .filter_map(|k| {
            let e = stored.get(&k)?;
            let m = Mine {
                part: e.part.clone(),
                extra: e.extra,
                base: e.base,
                ver: e.ver,
            };
            Some((k, m))
        })
        .collect();
    for _ in 0..VERIFY_ROUNDS {
        // Per key: the versions this writer has not merged.
        let keys: Vec<&Key> = mine.keys().collect();
        let mut unseen: HashMap<Key, Vec<u64>> = HashMap::new();
        for chunk in chunks(&keys) {
            let rows = s.select(&format!(
                "SELECT log_group, log_stream, request_id, ver FROM invocations {}",
                keys_prewhere(chunk)
            ))?;
            for r in &rows {
                let key: Key = (
                    Arc::from(r.str("log_group")?),
                    Arc::from(r.str("log_stream")?),
                    r.str("request_id")?,
                );
                let v = r.u64("ver")?;
                if let Some(m) = mine.get(&key) {
                    if v > m.base && v != m.ver {
                        unseen.entry(key).or_default().push(v);
                    }
                }
            }
        }
        mine.retain(|k, _| unseen.contains_key(k));
        if mine.is_empty() {
            return Ok(());
        }
        // Read those versions, merge them into ours, write above them all.
        let mut groups = errors::Pending::load(s)?;
        let mut rows = Vec::new();
        let lost: Vec<(Key, Vec<u64>)> = unseen.into_iter().collect();
        for chunk in lost.chunks(LOOKUP_CHUNK / 10) {
            let refs: Vec<&Key> = chunk.iter().map(|(k, _)| k).collect();
            let vers: Vec<String> = chunk
                .iter()
                .flat_map(|(_, v)| v.iter().map(u64::to_string))
                .collect();
            let found = s.select(&format!(
                "SELECT {PART_COLUMNS}, lines, ver FROM invocations WHERE {} AND ver IN ({})",
                keys_sql(&refs),
                vers.join(", ")
            ))?;
            for r in &found {
                let (part, _) = rows::read_part(r, true)?;
                let key = (
                    part.log_group.clone(),
                    part.log_stream.clone(),
                    part.request_id.clone(),
                );
                let v = r.u64("ver")?;
                let wanted = chunk.iter().any(|(k, vs)| *k == key && vs.contains(&v));
                if let (true, Some(m)) = (wanted, mine.get_mut(&key)) {
                    m.part.merge(part);
                    m.base = m.base.max(v);
                }
            }
        }
        for m in mine.values_mut() {
            m.extra.t = time_of(&m.part);
            groups.assign(s, &m.part, &mut m.extra)?;
            let ver = s.ver().max(m.base.saturating_add(1));
            s.last_ver = ver;
            m.base = m.base.max(m.ver);
            m.ver = ver;
            rows.push(rows::part_row(&m.part, m.extra, ver));
        }
        groups.flush(s)?;
        s.insert("invocations", &rows)?;
    }
    Err(StoreError::Backend(format!(
        "verify-after-write: {} invocations still contended after {VERIFY_ROUNDS} rounds",
        mine.len()
    )))
}

fn stream_function(s: &StreamLines) -> String {
    if s.function.is_empty() {
        tern_core::model::function_name(&s.log_group, &s.log_stream)
            .unwrap_or_else(|| "unknown".to_string())
    } else {
        s.function.clone()
    }
}

/// A line's identity within its stream and millisecond.
fn line_id(l: &LogLine) -> String {
    match &l.event_id {
        Some(id) => format!("e:{id}"),
        None => format!("m:{}", l.message),
    }
}

/// The (group, stream, time, id) of stored stream lines of `chunks`' streams between `lo` and
/// `hi` (a superset: the caller looks up only its own lines), one query for the whole batch.
/// No `FINAL`: any version of a line means it is stored.
fn stored_lines(
    s: &ClickHouseStore,
    chunks: &[(&StreamLines, Vec<&LogLine>)],
    lo: i64,
    hi: i64,
) -> Result<HashSet<LineKey>, StoreError> {
    let mut out = HashSet::new();
    let mut streams: Vec<(&str, &str)> = chunks
        .iter()
        .map(|(c, _)| (&*c.log_group, &*c.log_stream))
        .collect();
    streams.sort_unstable();
    streams.dedup();
    for part in streams.chunks(LOOKUP_CHUNK / 5) {
        let groups: HashSet<&str> = part.iter().map(|k| k.0).collect();
        let names: HashSet<&str> = part.iter().map(|k| k.1).collect();
        let rows = s.select(&format!(
            "SELECT log_group, log_stream, ts, id FROM stream_lines \
             WHERE log_group IN ({}) AND log_stream IN ({}) AND ts >= {lo} AND ts <= {hi}",
            lits(groups),
            lits(names)
        ))?;
        for r in &rows {
            out.insert((
                Arc::from(r.str("log_group")?),
                Arc::from(r.str("log_stream")?),
                r.i64("ts")?,
                r.str("id")?,
            ));
        }
    }
    Ok(out)
}

type LineKey = (Arc<str>, Arc<str>, i64, String);

/// Rows for stream lines not stored yet (a line keeps the chunk time it was first stored with).
fn stream_rows(
    s: &mut ClickHouseStore,
    chunks: &[StreamLines],
    cutoff: Option<i64>,
) -> Result<Vec<Map<String, Value>>, StoreError> {
    let kept: Vec<(&StreamLines, Vec<&LogLine>)> = chunks
        .iter()
        .map(|c| {
            let lines: Vec<&LogLine> = c
                .lines
                .iter()
                .filter(|l| cutoff.is_none_or(|x| l.timestamp_ms >= x))
                .collect();
            (c, lines)
        })
        .filter(|(_, lines)| !lines.is_empty())
        .collect();
    let times = kept
        .iter()
        .flat_map(|(_, ls)| ls.iter().map(|l| l.timestamp_ms));
    let (Some(lo), Some(hi)) = (times.clone().min(), times.max()) else {
        return Ok(Vec::new());
    };
    let mut seen = stored_lines(s, &kept, lo, hi)?;
    let mut out = Vec::new();
    for (c, lines) in kept {
        let function = stream_function(c);
        let new: Vec<(&LogLine, String)> = lines
            .into_iter()
            .map(|l| (l, line_id(l)))
            .filter(|(l, id)| {
                seen.insert((
                    c.log_group.clone(),
                    c.log_stream.clone(),
                    l.timestamp_ms,
                    id.clone(),
                ))
            })
            .collect();
        // The lines stored now are one chunk: it counts at its first line.
        let Some(chunk_t) = new.iter().map(|(l, _)| l.timestamp_ms).min() else {
            continue;
        };
        for (l, id) in new {
            let ver = s.ver();
            let mut m = Map::new();
            m.insert("log_group".into(), Value::from(&*c.log_group));
            m.insert("log_stream".into(), Value::from(&*c.log_stream));
            m.insert("function".into(), Value::from(function.as_str()));
            m.insert("day".into(), Value::from(rows::date_of(l.timestamp_ms)));
            m.insert("ts".into(), Value::from(l.timestamp_ms));
            m.insert("id".into(), Value::from(id));
            m.insert("message".into(), Value::from(l.message.as_str()));
            m.insert("chunk_t".into(), Value::from(chunk_t));
            m.insert("ver".into(), Value::from(ver));
            out.push(m);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn key(group: &str, stream: &str, id: usize) -> Key {
        (Arc::from(group), Arc::from(stream), format!("req-{id}"))
    }

    /// Lookups are cut by count and by text size, in order, none empty, and a key
    /// longer than the budget still goes (alone), so a batch of long names is never refused.
    #[test]
    fn lookups_are_chunked_by_count_and_size() {
        let keys: Vec<Key> = (0..LOOKUP_CHUNK * 2 + 5)
            .map(|i| key("g", "s", i))
            .collect();
        let refs: Vec<&Key> = keys.iter().collect();
        let cut = chunks(&refs);
        assert_eq!(
            cut.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [LOOKUP_CHUNK, LOOKUP_CHUNK, 5]
        );
        let long = "x".repeat(LOOKUP_BYTES / 3);
        let keys: Vec<Key> = (0..7).map(|i| key(&long, "s", i)).collect();
        let refs: Vec<&Key> = keys.iter().collect();
        let cut = chunks(&refs);
        assert!(
            cut.iter().all(|c| !c.is_empty() && c.len() <= 2),
            "{:?}",
            cut.len()
        );
        let flat: Vec<&Key> = cut.concat();
        assert_eq!(flat, refs, "every key once, in order");
        let huge = "y".repeat(LOOKUP_BYTES * 2);
        let keys = [key(&huge, "s", 1), key("g", "s", 2)];
        let refs: Vec<&Key> = keys.iter().collect();
        assert_eq!(chunks(&refs).len(), 2);
        assert!(chunks(&[]).is_empty());
    }
}
