//! Dry runs over stored data (`tern alerts test`, `tern demo`): what metric policies would
//! have done.
//!
//! The range is walked in consecutive windows of each policy's own width, aligned to the
//! clock (5-minute windows at :00, :05, …); every window is one evaluation, made at its end,
//! and the core's incident machine ([`replay`]) runs over them with the configured damping.
//! The live engine evaluates every `evaluate_every` over a sliding window, so it can fire on
//! a burst that straddles two aligned windows which a dry run splits; a dry run is an
//! estimate of the live behaviour, not a replay of it. One `function_stats` query per window
//! covers every function, so a week of 5-minute windows is about 2,000 queries.

use std::collections::HashMap;

use anyhow::{bail, Result};
use tern_core::alert::{
    evaluate, replay, Damping, DryRun, Evaluation, Metric, MetricPolicy, SpikeHistory,
    SPIKE_LOOKBACK_MS,
};
use tern_store::{FunctionMeta, Store, TimeRange};

use super::engine::{function_info, window_stats};

/// Most windows one dry run walks per policy width.
pub const MAX_WINDOWS: i64 = 50_000;

/// One (policy, function) outcome.
#[derive(Debug, Clone)]
pub struct FunctionRun {
    pub policy: usize,
    pub function: String,
    pub run: DryRun,
}

/// Dry-run `policies` over `[from, to)` for `functions` (policies' targets apply, their
/// `enabled` flag does not). Results only for (policy, function) pairs the target matches.
pub fn run(
    store: &dyn Store,
    policies: &[MetricPolicy],
    functions: &[FunctionMeta],
    from: i64,
    to: i64,
    damping: &Damping,
) -> Result<Vec<FunctionRun>> {
    let mut out = Vec::new();
    let names: Vec<String> = functions.iter().map(|f| f.function.clone()).collect();
    if names.is_empty() || to <= from {
        return Ok(out);
    }
    let infos: Vec<_> = functions.iter().map(function_info).collect();
    let mut widths: Vec<i64> = policies.iter().map(|p| p.window_ms).collect();
    widths.sort_unstable();
    widths.dedup();
    for w in widths {
        if w <= 0 {
            continue;
        }
        let start = from - from.rem_euclid(w);
        let windows = (to - start + w - 1) / w;
        if windows > MAX_WINDOWS {
            bail!(
                "{windows} windows of {} s in the range; at most {MAX_WINDOWS}: use a shorter range",
                w / 1000
            );
        }
        let group: Vec<usize> = (0..policies.len())
            .filter(|&i| policies[i].window_ms == w)
            .collect();
        // (policy, function) → evaluations in time order.
        let mut evals: HashMap<(usize, usize), Vec<(i64, Evaluation)>> = HashMap::new();
        // Per function: invocation counts of past windows, for the spike history.
        let mut counts: Vec<Vec<u64>> = vec![Vec::new(); names.len()];
        let look_back = usize::try_from(SPIKE_LOOKBACK_MS / w).unwrap_or(usize::MAX);
        let mut t = start;
        while t < to {
            let range = TimeRange {
                from_ms: Some(t),
                to_ms: Some(t + w),
            };
            let stats: HashMap<String, tern_store::FunctionStats> = store
                .function_stats(&names, range)?
                .into_iter()
                .map(|s| (s.function.clone(), s))
                .collect();
            for (fi, info) in infos.iter().enumerate() {
                let mut ws = window_stats(stats.get(&info.name), info);
                let past = &counts[fi];
                let from_idx = past.len().saturating_sub(look_back);
                // History starts at the function's first seen window (before it, Tern was
                // not watching it).
                let first_seen = past
                    .iter()
                    .position(|&c| c > 0)
                    .unwrap_or(past.len())
                    .max(from_idx);
                let history = SpikeHistory::from_counts(&past[first_seen..], w);
                for &pi in &group {
                    let p = &policies[pi];
                    if !p.target.matches(info) {
                        continue;
                    }
                    if p.metric == Metric::InvocationSpike {
                        ws.history = Some(history);
                    }
                    evals
                        .entry((pi, fi))
                        .or_default()
                        .push((t + w, evaluate(p, &ws)));
                }
                counts[fi].push(ws.invocations);
            }
            t += w;
        }
        let mut keys: Vec<_> = evals.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let Some(e) = evals.remove(&key) else {
                continue;
            };
            let (pi, fi) = key;
            out.push(FunctionRun {
                policy: pi,
                function: names[fi].clone(),
                run: replay(policies[pi].comparison, e, damping),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tern_core::alert::builtin_policies;
    use tern_store::conformance::invocation;
    use tern_store::{IngestBatch, SqliteStore};

    #[test]
    fn a_burst_of_timeouts_is_one_would_be_incident() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let t0 = 1_790_000_100_000; // a multiple of 5 minutes
        let mut parts = Vec::new();
        for i in 0..60 {
            let mut p = invocation("f", 1, &format!("r{i}"), t0 + i * 60_000, 100.0, 256);
            // Timeouts between minutes 20 and 24.
            p.signals.timeout_line = (20..25).contains(&i);
            parts.push(p);
        }
        store
            .ingest(&IngestBatch {
                parts,
                ..IngestBatch::default()
            })
            .unwrap();
        let policies: Vec<_> = builtin_policies()
            .into_iter()
            .filter(|p| p.name == tern_core::alert::TIMEOUT_OR_OOM)
            .collect();
        let runs = run(
            &store,
            &policies,
            &store.functions().unwrap(),
            t0,
            t0 + 3_600_000,
            &Damping::default(),
        )
        .unwrap();
        assert_eq!(runs.len(), 1);
        let r = &runs[0].run;
        assert_eq!(r.incidents.len(), 1, "{r:?}");
        assert_eq!(r.incidents[0].opened_at_ms, t0 + 25 * 60_000);
        assert!(r.incidents[0].resolved_at_ms.is_some());
        assert_eq!(r.firing, 1);
    }
}
