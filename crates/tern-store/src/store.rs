//! The [`Store`] trait, and the answers its default methods work out from other methods:
//! correct for any backend, overridden where a backend has something faster.

use tern_core::model::{Arch, LogLine, Outcome};

use crate::alerting::{
    ErrorGroup, ErrorOccurrence, ErrorQuery, ErrorStatus, Incident, IncidentApplied,
    IncidentChange, IncidentQuery, OccurrenceCursor, OutboxEntry, OutboxItem, OutboxMark,
};
use crate::derived::{fleet_buckets, series_buckets, summarise_environments};
use crate::types::{
    Checkpoint, DeleteStats, EnvironmentRow, EnvironmentSummary, FleetBucket, FleetRow,
    FunctionMeta, FunctionStats, IngestBatch, IngestStats, InvocationQuery, InvocationRow, Lease,
    Marker, Retention, RetentionStats, SealStats, SizeStats, TimeRange, TuningRun, ValueSeen,
};
use crate::StoreError;

/// The change points of one function (or every function), oldest first, at or after
/// `since_ms`: [`tern_core::impact::changes_of`] over [`Store::values_seen`], as
/// (function, change). Markers are not included (see [`Store::markers`]).
pub fn changes<S: Store + ?Sized>(
    store: &S,
    function: Option<&str>,
    since_ms: i64,
) -> Result<Vec<(String, tern_core::impact::Change)>, StoreError> {
    let all = store.values_seen(function)?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let name = &all[i].function;
        let end = all[i..]
            .iter()
            .position(|v| &v.function != name)
            .map_or(all.len(), |n| i + n);
        let seen: Vec<tern_core::impact::Seen> =
            all[i..end].iter().map(|v| v.seen.clone()).collect();
        out.extend(
            tern_core::impact::changes_of(&seen)
                .into_iter()
                .filter(|c| c.at_ms >= since_ms)
                .map(|c| (name.clone(), c)),
        );
        i = end;
    }
    Ok(out)
}

/// [`Store::size_stats`] from [`Store::invocations`], per function: correct for any backend,
/// and a pass over every invocation in the range. Sorted by function, version, memory size.
pub fn size_stats_by_rows<S: Store + ?Sized>(
    store: &S,
    functions: &[String],
    range: TimeRange,
) -> Result<Vec<SizeStats>, StoreError> {
    let metas = store.functions()?;
    let mut out = Vec::new();
    for meta in metas {
        if !functions.is_empty() && !functions.contains(&meta.function) {
            continue;
        }
        let rows = store.invocations(&InvocationQuery {
            functions: vec![meta.function.clone()],
            range,
            // Every row: `usize::MAX` would not fit a signed SQL LIMIT.
            limit: i64::MAX as usize,
            ..InvocationQuery::default()
        })?;
        let arch = meta.arch.unwrap_or(Arch::X86_64);
        let mut by: std::collections::BTreeMap<(Option<String>, u32), SizeStats> =
            std::collections::BTreeMap::new();
        for r in rows.iter().filter(|r| r.complete) {
            let Some(memory_mb) = r.memory_size_mb else {
                continue;
            };
            let version = r.version.clone().filter(|v| !v.is_empty());
            let e = by
                .entry((version.clone(), memory_mb))
                .or_insert_with(|| SizeStats {
                    function: meta.function.clone(),
                    version,
                    counts: tern_core::recommend::SummaryCounts {
                        memory_mb,
                        arch,
                        ..Default::default()
                    },
                    ..SizeStats::default()
                });
            let c = &mut e.counts;
            let t = r.end_ms.or(r.start_ms);
            c.invocations += 1;
            c.errors += u64::from(r.outcome != Outcome::Success);
            c.cold_starts += u64::from(r.cold_start);
            c.cold_failures += u64::from(r.cold_start && r.outcome != Outcome::Success);
            c.timeouts += u64::from(r.outcome == Outcome::Timeout);
            c.oom_kills += u64::from(r.outcome == Outcome::OutOfMemory);
            c.billed_total_ms += r
                .billed_duration_ms
                .filter(|b| b.is_finite())
                .unwrap_or(0.0);
            c.max_used_mb = c.max_used_mb.max(r.max_memory_used_mb);
            c.first_ms = match (c.first_ms, t) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            c.last_ms = c.last_ms.max(t);
            e.duration.add(r.duration_ms.unwrap_or(0.0));
            if r.cold_start {
                if let Some(i) = r.init_duration_ms {
                    e.init.add(i);
                }
            }
        }
        out.extend(by.into_values());
    }
    Ok(out)
}

/// [`Store::fleet`] from `function_stats`: the range once for every function, then each
/// reported function's buckets one by one. Correct for any backend; slow for a large fleet.
pub fn fleet_by_stats<S: Store + ?Sized>(
    store: &S,
    range: TimeRange,
    bucket_ms: Option<i64>,
) -> Result<Vec<FleetRow>, StoreError> {
    let buckets = match bucket_ms {
        Some(b) => fleet_buckets(range, b)?,
        None => Vec::new(),
    };
    let stats = store.function_stats(&[], range)?;
    let mut out = Vec::with_capacity(stats.len());
    for s in stats {
        let names = [s.function.clone()];
        let mut row = Vec::with_capacity(buckets.len());
        for &(from, to) in &buckets {
            let r = TimeRange {
                from_ms: Some(from),
                to_ms: Some(to),
            };
            let b = store.function_stats(&names, r)?.into_iter().next();
            row.push(b.map_or_else(FleetBucket::default, |b| FleetBucket {
                invocations: b.invocations,
                errors: b.errors,
                duration: b.duration,
            }));
        }
        out.push(FleetRow {
            stats: FunctionStats {
                environments: 0,
                ..s
            },
            buckets: row,
        });
    }
    Ok(out)
}

/// [`Store::environment_summaries`] from [`Store::environments`] per function: correct for any
/// backend. Functions with no environment in range and no runtime version are left out.
pub fn environment_summaries_by_rows<S: Store + ?Sized>(
    store: &S,
    range: TimeRange,
) -> Result<Vec<EnvironmentSummary>, StoreError> {
    let mut out = Vec::new();
    for m in store.functions()? {
        let envs = store.environments(&m.function)?;
        out.extend(summarise_environments(&m.function, &envs, range));
    }
    out.sort_by(|a, b| a.function.cmp(&b.function));
    Ok(out)
}

/// The storage boundary. Implementations must be safe to call from one thread at a time;
/// the binary owns one store per process.
pub trait Store: Send {
    /// Store a batch in one transaction: insert new invocations, merge parts into stored ones,
    /// update rollups, environments and function metadata. Idempotent.
    fn ingest(&mut self, batch: &IngestBatch) -> Result<IngestStats, StoreError>;

    /// All known function names, sorted.
    fn functions(&self) -> Result<Vec<FunctionMeta>, StoreError>;

    /// Per-function statistics over `range` for the named functions (empty: all functions
    /// with data in range). Sorted by function name.
    fn function_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<FunctionStats>, StoreError>;

    fn invocations(&self, q: &InvocationQuery) -> Result<Vec<InvocationRow>, StoreError>;

    /// The log lines of one invocation, in time order: its own lines, plus unattributed lines
    /// of its stream that fall between its start and end.
    fn invocation_logs(
        &self,
        log_group: &str,
        log_stream: &str,
        request_id: &str,
    ) -> Result<Vec<LogLine>, StoreError>;

    /// Execution environments of a function, most invocations first.
    fn environments(&self, function: &str) -> Result<Vec<EnvironmentRow>, StoreError>;

    /// Every function's environments last used in `range`, summarised (the reuse insight),
    /// sorted by function. Backends answer it in one pass where they can; the default asks
    /// [`Store::environments`] per function ([`environment_summaries_by_rows`]).
    fn environment_summaries(
        &self,
        range: TimeRange,
    ) -> Result<Vec<EnvironmentSummary>, StoreError> {
        environment_summaries_by_rows(self, range)
    }

    /// Per (function, version, memory size) statistics over `range` for the named functions
    /// (empty: every function), sorted by function, version and memory size: what the memory
    /// advice reads. The default computes them from every invocation row in the range
    /// ([`size_stats_by_rows`]); SQLite keeps them per hour and day at ingest.
    fn size_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<SizeStats>, StoreError> {
        size_stats_by_rows(self, functions, range)
    }

    /// Earliest and latest REPORT time stored, if any.
    fn time_bounds(&self) -> Result<Option<(i64, i64)>, StoreError>;

    /// Checkpoints whose key starts with `prefix`, sorted by key.
    fn checkpoints(&self, prefix: &str) -> Result<Vec<Checkpoint>, StoreError>;

    /// One function's statistics per bucket of `bucket_ms`, over a bounded range: one entry
    /// per bucket start (`from`, `from + bucket`, …), buckets without data included (zeroes).
    /// The last bucket is cut at `range.to_ms`.
    fn series(
        &self,
        function: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, FunctionStats)>, StoreError> {
        series_by_stats(self, function, range, bucket_ms)
    }

    /// Every function `function_stats(&[], range)` reports, with the same statistics, each
    /// with its range cut into the buckets of [`fleet_buckets`] (`bucket_ms` of `None`: no
    /// buckets). Sorted by function name. Rows carry no environment count (0), as series
    /// entries. The dashboard's one read for the whole fleet; backends answer it in one pass
    /// over their rollups where they can.
    fn fleet(&self, range: TimeRange, bucket_ms: Option<i64>) -> Result<Vec<FleetRow>, StoreError> {
        fleet_by_stats(self, range, bucket_ms)
    }

    /// Invocations per bucket over a bounded range, as [`Store::fleet`]'s buckets count them,
    /// without the statistics (the spike insight's one read). Every function with invocations
    /// in the range is there, sorted by name; one without may be left out (all zero).
    fn fleet_counts(
        &self,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        Ok(self
            .fleet(range, Some(bucket_ms))?
            .into_iter()
            .map(|r| {
                let counts = r.buckets.iter().map(|b| b.invocations).collect();
                (r.stats.function, counts)
            })
            .collect())
    }

    /// Delete data older than the cutoffs, and remember the raw cutoff so that older parts
    /// arriving later are dropped.
    fn apply_retention(&mut self, retention: Retention) -> Result<RetentionStats, StoreError>;

    /// Delete one function's data: all of it (`before_ms` of `None`), or its invocations, log
    /// lines, statistics and error occurrences before `before_ms`, which must be a UTC
    /// midnight (daily statistics cannot be split). Error groups' totals drop by what was
    /// deleted, so ingesting the same logs again restores exactly what was there. A function
    /// that is not stored deletes nothing.
    fn delete_function(
        &mut self,
        function: &str,
        before_ms: Option<i64>,
    ) -> Result<DeleteStats, StoreError>;

    /// Aggregate stored data that should no longer change (as of `now_ms`) into sealed rows
    /// that queries read instead of the raw rows; data arriving later for a sealed part makes
    /// it raw again until the next call. Results never depend on whether or when this runs:
    /// it only makes reads cheaper. Idempotent, safe to run from several processes at once.
    /// Backends that keep rollups at write time (SQLite) have nothing to do.
    fn seal(&mut self, now_ms: i64) -> Result<SealStats, StoreError> {
        let _ = now_ms;
        Ok(SealStats::default())
    }

    // --- Error groups. Ingest fills them: every failed, complete invocation is one
    // occurrence of the group its fingerprint names. `id`s are 16-hex fingerprint ids; a
    // malformed id reads as unknown.

    /// Groups matching `q`, latest occurrence first.
    fn error_groups(&self, q: &ErrorQuery) -> Result<Vec<ErrorGroup>, StoreError>;

    /// One group (its `count_in_range` is its `count`); mutes expire against `now_ms`.
    fn error_group(&self, id: &str, now_ms: Option<i64>) -> Result<Option<ErrorGroup>, StoreError>;

    /// Occurrences per bucket over a bounded range, one entry per bucket start, empty buckets
    /// included. Hour granularity: an hour's occurrences land in the bucket holding its start.
    fn error_series(
        &self,
        id: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError>;

    /// The group's latest stored occurrences, newest first (fetch logs with
    /// [`Store::invocation_logs`]).
    fn error_samples(&self, id: &str, limit: usize) -> Result<Vec<InvocationRow>, StoreError>;

    /// Set a group's status at `now_ms`. `muted_until_ms` applies to `Muted` only (`None`:
    /// until unmuted). Resolving records `resolved_ms = now_ms`. `false` if there is no such
    /// group.
    fn set_error_status(
        &mut self,
        id: &str,
        status: ErrorStatus,
        muted_until_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Occurrences stored after `after`, in storage order, at most `limit` (0 means 100). An
    /// occurrence whose invocation moves to another group (late error lines) is reported again
    /// under its new group.
    fn error_occurrences_since(
        &self,
        after: OccurrenceCursor,
        limit: usize,
    ) -> Result<Vec<ErrorOccurrence>, StoreError>;

    // --- Incidents and the notification outbox (alerting).

    /// Apply an evaluation's finding in one transaction: open, refresh or resolve the
    /// (policy, subject) incident and, when it opened or resolved, queue the notifications
    /// `notify` makes for the incident as it now is. Either both are stored or neither: a crash
    /// between "incident opened" and "notification queued" cannot happen.
    fn apply_incident(
        &mut self,
        change: &IncidentChange,
        notify: &dyn Fn(&Incident) -> Vec<OutboxItem>,
    ) -> Result<IncidentApplied, StoreError>;

    fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>, StoreError>;

    /// Queue notifications that belong to no incident (error-group alerts), with the alert
    /// reader's checkpoint (its cursor) in the same transaction. Keys already queued are
    /// skipped. Returns how many were queued.
    fn enqueue(
        &mut self,
        items: &[OutboxItem],
        now_ms: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<u64, StoreError>;

    /// Pending notifications due at `now_ms`, oldest due first, at most `limit` (0 means 100).
    fn outbox_due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Every notification in any state (the delivery history), newest first, at most
    /// `limit` (0 means 100).
    fn outbox_history(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Record a delivery attempt of entry `id` at `now_ms`. `false` if there is no such
    /// pending entry (already sent or failed: a second sender's mark is ignored).
    fn outbox_mark(&mut self, id: i64, mark: &OutboxMark, now_ms: i64) -> Result<bool, StoreError>;
    // --- Power tuning (`tern tune`).

    /// Store a tuning run with its points in one transaction; a run with the same
    /// (function, started_ms) is replaced.
    fn store_tuning_run(&mut self, run: &TuningRun) -> Result<(), StoreError>;

    /// The function's tuning runs, newest first, each with its points sorted by (arch, memory).
    fn tuning_runs(&self, function: &str) -> Result<Vec<TuningRun>, StoreError>;

    // --- Change markers.

    /// Store a marker (its `id` is ignored) and return it with the id assigned. The function
    /// and note must not be empty.
    fn add_marker(&mut self, marker: &Marker) -> Result<Marker, StoreError>;

    /// Markers of one function (`None`: of every function), by time, then id.
    fn markers(&self, function: Option<&str>) -> Result<Vec<Marker>, StoreError>;

    // --- Leases: several `tern serve` collectors share one store; a lease says
    // which of them does a once-per-fleet job (`alerts`: the evaluator, the outbox sender and
    // retention) and which are alive (`collector/<id>`). Times are the caller's clock (epoch
    // ms), so collectors' clocks must agree to well within a lease's time to live.

    /// Take or renew the lease `name` for `holder` until `now_ms + ttl_ms`, if it is free at
    /// `now_ms` (never taken, released, or expired: `expires_ms <= now_ms`) or already held
    /// by `holder`; `true` then. `false` and no change when another holder's lease is live.
    /// A renewal sets the expiry to `now_ms + ttl_ms` (it may move it earlier).
    ///
    /// Exclusivity: two holders never both get `true` for overlapping terms. A backend with
    /// transactions makes the take one compare-and-set (SQLite: a conditional upsert). A
    /// backend without them (ClickHouse) appends a claim row `(name, holder, expires_ms)`
    /// only after seeing the lease free or its own, then reads back the winner: among the
    /// claims live at `now_ms` for the term, the one with the smallest `(expires_ms,
    /// holder)`, and answers whether that is `holder`. Claims that race in the same instant
    /// can then both read themselves as winner until the next renewal re-reads; so the jobs
    /// guarded by a lease must be safe to overlap briefly (they are: incidents are keyed by
    /// policy and subject, notifications by key, and delivery is at least once).
    ///
    /// Errors: an empty or over-long name or holder, or `ttl_ms <= 0`
    /// ([`check_lease_args`](crate::check_lease_args)).
    fn try_lease(
        &mut self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Give the lease up if `holder` holds it (live or expired): it is free at once. `false`
    /// (and no change) when another holder has it or nobody does.
    fn release_lease(&mut self, name: &str, holder: &str) -> Result<bool, StoreError>;

    /// The leases live at `now_ms` (`expires_ms > now_ms`) whose name starts with `prefix`
    /// (empty: all), sorted by name, one per name (its current holder).
    fn leases(&self, prefix: &str, now_ms: i64) -> Result<Vec<Lease>, StoreError>;

    /// Every value seen of every change attribute of `function` (all functions when `None`),
    /// sorted by function name, then attribute, then first-seen time. [`changes`] turns them
    /// into change points.
    fn values_seen(&self, function: Option<&str>) -> Result<Vec<ValueSeen>, StoreError>;
}

/// A boxed store is a store, so code generic over `S: Store` (the writer thread, the
/// report) takes what [`StoreBackend::open`](crate::StoreBackend::open) returns.
impl<S: Store + ?Sized> Store for Box<S> {
    fn ingest(&mut self, batch: &IngestBatch) -> Result<IngestStats, StoreError> {
        (**self).ingest(batch)
    }
    fn functions(&self) -> Result<Vec<FunctionMeta>, StoreError> {
        (**self).functions()
    }
    fn function_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<FunctionStats>, StoreError> {
        (**self).function_stats(functions, range)
    }
    fn invocations(&self, q: &InvocationQuery) -> Result<Vec<InvocationRow>, StoreError> {
        (**self).invocations(q)
    }
    fn invocation_logs(
        &self,
        log_group: &str,
        log_stream: &str,
        request_id: &str,
    ) -> Result<Vec<tern_core::model::LogLine>, StoreError> {
        (**self).invocation_logs(log_group, log_stream, request_id)
    }
    fn environments(&self, function: &str) -> Result<Vec<EnvironmentRow>, StoreError> {
        (**self).environments(function)
    }
    fn size_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<SizeStats>, StoreError> {
        (**self).size_stats(functions, range)
    }
    fn time_bounds(&self) -> Result<Option<(i64, i64)>, StoreError> {
        (**self).time_bounds()
    }
    fn checkpoints(&self, prefix: &str) -> Result<Vec<Checkpoint>, StoreError> {
        (**self).checkpoints(prefix)
    }
    fn series(
        &self,
        function: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, FunctionStats)>, StoreError> {
        (**self).series(function, range, bucket_ms)
    }
    fn apply_retention(&mut self, r: Retention) -> Result<RetentionStats, StoreError> {
        (**self).apply_retention(r)
    }
    fn delete_function(
        &mut self,
        function: &str,
        before_ms: Option<i64>,
    ) -> Result<DeleteStats, StoreError> {
        (**self).delete_function(function, before_ms)
    }
    fn seal(&mut self, now_ms: i64) -> Result<SealStats, StoreError> {
        (**self).seal(now_ms)
    }
    fn error_groups(&self, q: &ErrorQuery) -> Result<Vec<ErrorGroup>, StoreError> {
        (**self).error_groups(q)
    }
    fn error_group(&self, id: &str, now_ms: Option<i64>) -> Result<Option<ErrorGroup>, StoreError> {
        (**self).error_group(id, now_ms)
    }
    fn error_series(
        &self,
        id: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        (**self).error_series(id, range, bucket_ms)
    }
    fn error_samples(&self, id: &str, limit: usize) -> Result<Vec<InvocationRow>, StoreError> {
        (**self).error_samples(id, limit)
    }
    fn set_error_status(
        &mut self,
        id: &str,
        status: ErrorStatus,
        muted_until_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        (**self).set_error_status(id, status, muted_until_ms, now_ms)
    }
    fn error_occurrences_since(
        &self,
        after: OccurrenceCursor,
        limit: usize,
    ) -> Result<Vec<ErrorOccurrence>, StoreError> {
        (**self).error_occurrences_since(after, limit)
    }
    fn apply_incident(
        &mut self,
        change: &IncidentChange,
        notify: &dyn Fn(&Incident) -> Vec<OutboxItem>,
    ) -> Result<IncidentApplied, StoreError> {
        (**self).apply_incident(change, notify)
    }
    fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>, StoreError> {
        (**self).incidents(q)
    }
    fn enqueue(
        &mut self,
        items: &[OutboxItem],
        now_ms: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<u64, StoreError> {
        (**self).enqueue(items, now_ms, checkpoint)
    }
    fn outbox_due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        (**self).outbox_due(now_ms, limit)
    }
    fn outbox_mark(&mut self, id: i64, mark: &OutboxMark, now_ms: i64) -> Result<bool, StoreError> {
        (**self).outbox_mark(id, mark, now_ms)
    }
    fn store_tuning_run(&mut self, run: &TuningRun) -> Result<(), StoreError> {
        (**self).store_tuning_run(run)
    }
    fn tuning_runs(&self, function: &str) -> Result<Vec<TuningRun>, StoreError> {
        (**self).tuning_runs(function)
    }
    fn add_marker(&mut self, marker: &Marker) -> Result<Marker, StoreError> {
        (**self).add_marker(marker)
    }
    fn markers(&self, function: Option<&str>) -> Result<Vec<Marker>, StoreError> {
        (**self).markers(function)
    }
    fn try_lease(
        &mut self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        (**self).try_lease(name, holder, now_ms, ttl_ms)
    }
    fn release_lease(&mut self, name: &str, holder: &str) -> Result<bool, StoreError> {
        (**self).release_lease(name, holder)
    }
    fn leases(&self, prefix: &str, now_ms: i64) -> Result<Vec<Lease>, StoreError> {
        (**self).leases(prefix, now_ms)
    }
    fn values_seen(&self, function: Option<&str>) -> Result<Vec<ValueSeen>, StoreError> {
        (**self).values_seen(function)
    }
    fn fleet(&self, range: TimeRange, bucket_ms: Option<i64>) -> Result<Vec<FleetRow>, StoreError> {
        (**self).fleet(range, bucket_ms)
    }
    fn fleet_counts(
        &self,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        (**self).fleet_counts(range, bucket_ms)
    }
    fn outbox_history(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        (**self).outbox_history(limit)
    }
    fn environment_summaries(
        &self,
        range: TimeRange,
    ) -> Result<Vec<EnvironmentSummary>, StoreError> {
        (**self).environment_summaries(range)
    }
}

/// [`Store::series`] by asking `function_stats` for every bucket: correct for any backend and
/// any alignment; backends override `series` with something faster where they can.
pub fn series_by_stats<S: Store + ?Sized>(
    store: &S,
    function: &str,
    range: TimeRange,
    bucket_ms: i64,
) -> Result<Vec<(i64, FunctionStats)>, StoreError> {
    let (from, to, buckets) = series_buckets(range, bucket_ms)?;
    let names = [function.to_string()];
    let mut out = Vec::with_capacity(buckets as usize);
    let mut start = from;
    while start < to {
        let end = start.saturating_add(bucket_ms).min(to);
        let r = TimeRange {
            from_ms: Some(start),
            to_ms: Some(end),
        };
        let stats = store
            .function_stats(&names, r)?
            .into_iter()
            .next()
            .unwrap_or_else(|| FunctionStats {
                function: function.to_string(),
                ..FunctionStats::default()
            });
        out.push((start, stats));
        start = end;
    }
    Ok(out)
}
