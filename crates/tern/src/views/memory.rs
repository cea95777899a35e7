//! The memory engine's input for each function over a range, from the store's per-size
//! statistics (`Store::size_stats`): `tern recommend`, the report's quick wins, the insights
//! and the dashboard all read it, so a function's size and dollar figure are one answer
//! wherever they are shown.

use std::collections::HashMap;

use tern_core::cost;
use tern_core::impact::Change;
use tern_core::model::Arch;
use tern_core::recommend::{self, FunctionInput};
use tern_store::{SizeStats, Store, StoreError, TimeRange};

/// Each function with sized invocations in `range` among `functions` (empty: every
/// function), by name: its sizes as summaries, its newest complete tuning run, its change
/// points and its configuration. Monthly figures extrapolate the range's invocations over
/// `projection_ms`.
pub fn inputs(
    store: &dyn Store,
    functions: &[String],
    range: TimeRange,
    projection_ms: i64,
) -> Result<Vec<FunctionInput>, StoreError> {
    let sizes = store.size_stats(functions, range)?;
    if sizes.is_empty() {
        return Ok(Vec::new());
    }
    let metas: HashMap<String, tern_store::FunctionMeta> = store
        .functions()?
        .into_iter()
        .map(|m| (m.function.clone(), m))
        .collect();
    // One read of every function's change points, not one per function.
    let mut changes: HashMap<String, Vec<Change>> = HashMap::new();
    for (function, c) in tern_store::changes(store, None, 0)? {
        changes.entry(function).or_default().push(c);
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < sizes.len() {
        let name = &sizes[i].function;
        let end = sizes[i..]
            .iter()
            .position(|s| &s.function != name)
            .map_or(sizes.len(), |n| i + n);
        let of = &sizes[i..end];
        i = end;
        let meta = metas.get(name).cloned().unwrap_or_default();
        out.push(input(
            name,
            &meta,
            of,
            measured_points(&store.tuning_runs(name)?),
            changes.remove(name).unwrap_or_default(),
            projection_ms,
        ));
    }
    Ok(out)
}

fn input(
    function: &str,
    meta: &tern_store::FunctionMeta,
    sizes: &[SizeStats],
    measured: Vec<recommend::MeasuredPoint>,
    changes: Vec<Change>,
    projection_ms: i64,
) -> FunctionInput {
    let invocations: u64 = sizes.iter().map(|s| s.counts.invocations).sum();
    let arch = meta.arch.unwrap_or(Arch::X86_64);
    FunctionInput {
        function: function.to_string(),
        region: meta
            .region
            .clone()
            .unwrap_or_else(|| cost::DEFAULT_REGION.to_string()),
        arch,
        runtime: meta.runtime.clone(),
        monthly_invocations: cost::monthly(invocations as f64, projection_ms),
        observations: Vec::new(),
        measured,
        changes,
        timeout_ms: meta.timeout_ms.map(|t| t as f64),
        summaries: sizes.iter().map(SizeStats::summary).collect(),
    }
}

/// Active tuning results (`tern tune`) as measured evidence: the points of the newest complete
/// run that measured something. A run interrupted part-way is not used: its sizes were not all
/// measured under the same conditions.
pub fn measured_points(runs: &[tern_store::TuningRun]) -> Vec<recommend::MeasuredPoint> {
    let Some(run) = runs.iter().find(|r| r.complete) else {
        return Vec::new();
    };
    run.points
        .iter()
        .filter(|p| p.invocations > 0)
        .filter_map(|p| {
            Some(recommend::MeasuredPoint {
                memory_mb: p.memory_mb,
                arch: p.arch,
                p50: p.p50_ms?,
                p95: p.p95_ms?,
                p99: p.p99_ms?,
                mean: p.trimmed_mean_ms?,
                invocations: u64::from(p.invocations),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tern_store::{TuningPoint, TuningRun};

    fn point(memory_mb: u32, p50: Option<f64>, invocations: u32) -> TuningPoint {
        TuningPoint {
            memory_mb,
            arch: Arch::X86_64,
            invocations,
            errors: 0,
            cold_starts: 0,
            p50_ms: p50,
            p95_ms: p50.map(|v| v * 1.2),
            p99_ms: p50.map(|v| v * 1.5),
            trimmed_mean_ms: p50,
            billed_mean_ms: p50,
            init_p50_ms: None,
            max_memory_used_mb: Some(80),
            cost_usd: Some(1e-6),
            error: None,
        }
    }

    fn run(started_ms: i64, complete: bool, points: Vec<TuningPoint>) -> TuningRun {
        TuningRun {
            function: "f".into(),
            region: "us-east-1".into(),
            started_ms,
            finished_ms: started_ms + 1,
            original_memory_mb: 512,
            original_arch: Arch::X86_64,
            invocations_per_size: 10,
            cold_starts_only: false,
            payload: "none".into(),
            complete,
            applied_memory_mb: None,
            points,
        }
    }

    /// Tuning results feed `tern recommend` as measured evidence: the newest complete
    /// run, only sizes that measured something.
    #[test]
    fn the_newest_complete_tuning_run_is_measured_evidence() {
        let runs = vec![
            // Newest first, as the store returns them: an interrupted run is passed over.
            run(3, false, vec![point(128, Some(900.0), 10)]),
            run(
                2,
                true,
                vec![
                    point(256, Some(400.0), 10),
                    point(512, None, 0),
                    point(1024, Some(120.0), 10),
                ],
            ),
            run(1, true, vec![point(2048, Some(60.0), 10)]),
        ];
        let got = measured_points(&runs);
        let sizes: Vec<u32> = got.iter().map(|p| p.memory_mb).collect();
        assert_eq!(sizes, [256, 1024]);
        assert_eq!(got[0].p50, 400.0);
        assert_eq!(got[0].invocations, 10);
        assert!(measured_points(&[]).is_empty());
        assert!(measured_points(&runs[..1]).is_empty());
    }
}
