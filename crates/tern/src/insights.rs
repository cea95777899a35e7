//! `tern insights`: the insight catalogue (`tern_core::insights`) over stored data. The store
//! gives each function's [`FunctionFacts`]; the core decides. `tern report` and
//! `GET /api/v1/insights` show the same insights, in the same wire shape.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{bail, Result};
use serde::Serialize;
use tern_core::insights::{
    self, runtimes, Context, Effect, FunctionFacts, Insight, Reuse, RuleId, Severity, Spike,
    Thresholds, Value,
};
use tern_core::report::FunctionReport;
use tern_store::{FunctionStats, Store, TimeRange};

pub use crate::config::InsightSettings;
use crate::text::{ms, usd};
use crate::timeutil::rfc3339_ms;
use crate::views::usage::usage_of;

/// Spike buckets: an hour (the alert engine watches 5 minutes live; over days of history an
/// hour keeps the number of queries small).
const SPIKE_BUCKET_MS: i64 = 3_600_000;
/// The spike scan looks at most this far back from the end of the range.
const SPIKE_SCAN_MS: i64 = 14 * 86_400_000;

/// The facts of every reported function. `stats` are the range's statistics of the same
/// functions as `reports` (matched by name). `pre`: the fleet-wide reads, when they were made
/// beforehand ([`prefetch`] over the same range).
pub fn gather(
    store: &dyn Store,
    stats: &[FunctionStats],
    reports: &[FunctionReport],
    range: TimeRange,
    projection_ms: i64,
    settings: &InsightSettings,
    pre: Option<Prefetch>,
) -> Result<Vec<FunctionFacts>> {
    gather_with(
        store,
        stats,
        reports,
        range,
        projection_ms,
        settings,
        (FEW_FUNCTIONS, pre),
    )
}

/// [`gather`], reading each function's own rows up to `few` functions and the whole fleet at
/// once beyond (the answer is the same either way; tests check both), or taking the
/// fleet-wide reads from `pre`.
fn gather_with(
    store: &dyn Store,
    stats: &[FunctionStats],
    reports: &[FunctionReport],
    range: TimeRange,
    projection_ms: i64,
    settings: &InsightSettings,
    (few, mut pre): (usize, Option<Prefetch>),
) -> Result<Vec<FunctionFacts>> {
    let by_name: HashMap<&str, &FunctionStats> =
        stats.iter().map(|s| (s.function.as_str(), s)).collect();
    let bounds = store.time_bounds()?;
    let all_time = last_invocations(store, stats, range, bounds, few)?;
    // Environment reuse and runtimes: one read over the fleet, or the rows of a few functions.
    let summaries = if let Some(p) = pre.as_mut() {
        std::mem::take(&mut p.summaries)
    } else if reports.len() > few {
        store.environment_summaries(range)?
    } else {
        let mut out = Vec::new();
        for r in reports {
            let envs = store.environments(&r.function)?;
            out.extend(tern_store::summarise_environments(
                &r.function,
                &envs,
                range,
            ));
        }
        out
    };
    let envs: HashMap<&str, &tern_store::EnvironmentSummary> =
        summaries.iter().map(|e| (e.function.as_str(), e)).collect();
    let spikes = if settings.is_enabled(RuleId::InvocationSpike) {
        spikes(
            store,
            reports,
            range,
            bounds,
            &settings.thresholds,
            few,
            pre.as_ref(),
        )?
    } else {
        HashMap::new()
    };
    let mut out = Vec::with_capacity(reports.len());
    for r in reports {
        let Some(s) = by_name.get(r.function.as_str()) else {
            continue;
        };
        let env = envs.get(r.function.as_str());
        let reuse = env.filter(|e| e.environments > 0).map(|e| Reuse {
            environments: e.environments,
            invocations_per_environment: e.invocations as f64 / e.environments as f64,
            median_lifetime_ms: e.lifetimes_ms[e.lifetimes_ms.len() / 2] as f64,
        });
        let runtime = s.meta.runtime.clone().or_else(|| {
            env.into_iter()
                .flat_map(|e| e.runtime_versions.iter())
                .find_map(|v| runtimes::id_from_runtime_version(v))
        });
        out.push(FunctionFacts {
            report: r.clone(),
            usage: usage_of(s),
            projection_ms,
            duration_p999_ms: s.duration.quantile(0.999),
            completed_near_timeout: tern_core::insights::completed_near_timeout(
                &s.duration,
                r,
                &settings.thresholds,
            ),
            reuse,
            runtime,
            // Bytes of log messages stored in the range (`FunctionStats::log_bytes`). Rows
            // stored before log volume was recorded count zero, which reads as "no data".
            log_bytes: (s.log_bytes > 0).then_some(s.log_bytes),
            log_retention_days: s.meta.log_retention_days,
            listed_by_inventory: s.meta.inventory_ms.is_some(),
            last_invocation_ms: all_time
                .get(r.function.as_str())
                .copied()
                .unwrap_or(s.last_ms),
            spike: spikes.get(r.function.as_str()).copied(),
            // The report adds the memory advice ([`crate::report::memory_advice`]).
            memory: None,
        });
    }
    Ok(out)
}

/// Up to this many functions, the insights read each function's own rows (environments,
/// series, all-time statistics); beyond it, one read over the whole fleet per kind.
const FEW_FUNCTIONS: usize = 8;

/// The latest invocation ever of the functions whose in-range statistics cannot tell it: all
/// of them when the range ends before the stored data does, else those with no invocation in
/// range (for the others, the range's latest is the latest ever). Functions missing from the
/// answer take their in-range latest.
fn last_invocations<'a>(
    store: &dyn Store,
    stats: &'a [FunctionStats],
    range: TimeRange,
    bounds: Option<(i64, i64)>,
    few: usize,
) -> Result<HashMap<&'a str, Option<i64>>> {
    let Some((_, hi)) = bounds else {
        return Ok(HashMap::new());
    };
    let range_holds_the_end = range.to_ms.is_none_or(|to| to > hi);
    let unknown: Vec<&'a str> = stats
        .iter()
        .filter(|s| !range_holds_the_end || s.last_ms.is_none())
        .map(|s| s.function.as_str())
        .collect();
    let mut out: HashMap<&'a str, Option<i64>> = unknown.iter().map(|f| (*f, None)).collect();
    if unknown.is_empty() {
        return Ok(out);
    }
    let found: Vec<(String, Option<i64>)> = if unknown.len() > few {
        store
            .fleet(TimeRange::all(), None)?
            .into_iter()
            .map(|r| (r.stats.function, r.stats.last_ms))
            .collect()
    } else {
        let names: Vec<String> = unknown.iter().map(|f| f.to_string()).collect();
        store
            .function_stats(&names, TimeRange::all())?
            .into_iter()
            .map(|s| (s.function, s.last_ms))
            .collect()
    };
    for (function, last) in found {
        if let Some(v) = out.get_mut(function.as_str()) {
            *v = last;
        }
    }
    Ok(out)
}

/// The hours the spike insight scans: the range's last 14 days within the stored data, from
/// a whole hour. `None` when that is empty. Where the range ends after the data, the window
/// ends at the whole hour after the last invocation: the same buckets and counts (nothing is
/// stored in between), and a store that keeps whole hours ready (ClickHouse's sealed hours)
/// need not read the last one raw.
fn spike_window(range: TimeRange, bounds: Option<(i64, i64)>) -> Option<TimeRange> {
    let (lo, hi) = bounds?;
    let end = hi.saturating_add(1);
    let to = range.to_ms.map_or(end, |t| t.min(end));
    let from = range
        .from_ms
        .map_or(lo, |f| f.max(lo))
        .max(to - SPIKE_SCAN_MS);
    let from = from - from.rem_euclid(SPIKE_BUCKET_MS);
    let to = if to == end {
        end.saturating_add((SPIKE_BUCKET_MS - end.rem_euclid(SPIKE_BUCKET_MS)) % SPIKE_BUCKET_MS)
    } else {
        to
    };
    (from < to).then_some(TimeRange {
        from_ms: Some(from),
        to_ms: Some(to),
    })
}

/// The fleet-wide reads of [`gather`] that do not need the range's statistics: made
/// beforehand, on another connection while the statistics are read (`GET /api/v1/insights`).
#[derive(Debug, Default)]
pub struct Prefetch {
    summaries: Vec<tern_store::EnvironmentSummary>,
    /// The spike window read, and every function's invocations per hour in it.
    spike_counts: Option<(TimeRange, FleetCounts)>,
}

/// Every function's invocations per bucket (`Store::fleet_counts`).
type FleetCounts = Vec<(String, Vec<u64>)>;

/// Read what [`Prefetch`] holds for `range`.
pub fn prefetch(
    store: &dyn Store,
    range: TimeRange,
    settings: &InsightSettings,
) -> Result<Prefetch> {
    let summaries = store.environment_summaries(range)?;
    let spike_counts = match spike_window(range, store.time_bounds()?) {
        Some(scan) if settings.is_enabled(RuleId::InvocationSpike) => {
            Some((scan, store.fleet_counts(scan, SPIKE_BUCKET_MS)?))
        }
        _ => None,
    };
    Ok(Prefetch {
        summaries,
        spike_counts,
    })
}

/// The biggest hourly spike of the range (its last 14 days, within the stored data) of every
/// function busy enough to have one: one series per function for a few, one bucketed read of
/// the whole fleet for more.
fn spikes<'a>(
    store: &dyn Store,
    reports: &'a [FunctionReport],
    range: TimeRange,
    bounds: Option<(i64, i64)>,
    t: &Thresholds,
    few: usize,
    pre: Option<&Prefetch>,
) -> Result<HashMap<&'a str, Spike>> {
    let mut out = HashMap::new();
    // A spike needs at least one bucket over the minimum: skip the queries otherwise.
    let min_per_bucket = t.spike_min_invocations_per_5min * (SPIKE_BUCKET_MS / 300_000) as u64;
    let busy: Vec<&'a str> = reports
        .iter()
        .filter(|r| r.invocations >= min_per_bucket)
        .map(|r| r.function.as_str())
        .collect();
    let Some(scan) = spike_window(range, bounds) else {
        return Ok(out);
    };
    if busy.is_empty() {
        return Ok(out);
    }
    let from = scan.from_ms.unwrap_or_default();
    let prefetched = pre.and_then(|p| p.spike_counts.as_ref().filter(|(w, _)| *w == scan));
    if busy.len() > few || prefetched.is_some() {
        // The fleet's buckets start at multiples of the bucket, as `from` does, so they are
        // the series' buckets.
        let busy: HashMap<&str, &'a str> = busy.iter().map(|f| (*f, *f)).collect();
        let read;
        let counts = match prefetched {
            Some((_, counts)) => counts,
            None => {
                read = store.fleet_counts(scan, SPIKE_BUCKET_MS)?;
                &read
            }
        };
        for (function, counts) in counts {
            let Some(&name) = busy.get(function.as_str()) else {
                continue;
            };
            if let Some(s) = insights::find_spike(counts, SPIKE_BUCKET_MS, from, t) {
                out.insert(name, s);
            }
        }
    } else {
        for name in busy {
            let series = store.series(name, scan, SPIKE_BUCKET_MS)?;
            let counts: Vec<u64> = series.iter().map(|(_, s)| s.invocations).collect();
            if let Some(s) = insights::find_spike(&counts, SPIKE_BUCKET_MS, from, t) {
                out.insert(name, s);
            }
        }
    }
    Ok(out)
}

/// Run the catalogue at `now_ms` with `settings`' thresholds, leaving out disabled rules.
pub fn evaluate(facts: &[FunctionFacts], now_ms: i64, settings: &InsightSettings) -> Vec<Insight> {
    let mut out = insights::evaluate(
        facts,
        &Context {
            now_ms,
            thresholds: settings.thresholds,
        },
    );
    out.retain(|i| settings.is_enabled(i.rule));
    out
}

/// Which insights to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub rules: Vec<RuleId>,
    pub min_severity: Option<Severity>,
}

impl Filter {
    /// From what the user typed: rule ids and a severity name.
    pub fn parse(rules: &[String], min_severity: Option<&str>) -> Result<Filter> {
        let mut out = Filter::default();
        for r in rules
            .iter()
            .flat_map(|r| r.split(','))
            .filter(|r| !r.trim().is_empty())
        {
            match RuleId::parse(r) {
                Some(id) => out.rules.push(id),
                None => bail!(
                    "unknown rule {r:?}; the rules are: {}",
                    RuleId::ALL.map(|r| r.as_str()).join(", ")
                ),
            }
        }
        if let Some(s) = min_severity {
            match Severity::parse(s) {
                Some(s) => out.min_severity = Some(s),
                None => bail!("unknown severity {s:?}; use info, warning or critical"),
            }
        }
        Ok(out)
    }

    pub fn keep(&self, i: &Insight) -> bool {
        (self.rules.is_empty() || self.rules.contains(&i.rule))
            && self.min_severity.is_none_or(|m| i.severity >= m)
    }
}

// ---- Wire types (report JSON, `tern insights --format json`, the API) ----

#[derive(Serialize)]
pub struct JsonEffect {
    /// `monthly_saving`, `monthly_cost` (what the finding costs), `change_monthly_cost`
    /// (what the suggested change would cost), `runaway_exposure` (per invocation),
    /// `one_off_cost` or `latency`.
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ms: Option<f64>,
}

#[derive(Serialize)]
pub struct JsonInsight {
    rule: &'static str,
    title: &'static str,
    severity: &'static str,
    function: String,
    summary: String,
    suggestion: String,
    evidence: serde_json::Map<String, serde_json::Value>,
    effects: Vec<JsonEffect>,
    /// The monthly saving, when acting on it saves money.
    monthly_saving_usd: Option<f64>,
}

pub fn json_insight(i: &Insight) -> JsonInsight {
    let evidence = i
        .evidence
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Count(n) => serde_json::Value::from(*n),
                Value::Number(x) => serde_json::Value::from(*x),
                Value::Text(s) => serde_json::Value::from(s.as_str()),
                Value::Flag(b) => serde_json::Value::from(*b),
            };
            ((*k).to_string(), v)
        })
        .collect();
    let effects = i
        .effects
        .iter()
        .map(|e| {
            let (kind, usd, ms) = match *e {
                Effect::MonthlySaving(v) => ("monthly_saving", Some(v), None),
                Effect::MonthlyCost(v) => ("monthly_cost", Some(v), None),
                Effect::ChangeMonthlyCost(v) => ("change_monthly_cost", Some(v), None),
                Effect::RunawayExposure(v) => ("runaway_exposure", Some(v), None),
                Effect::OneOffCost(v) => ("one_off_cost", Some(v), None),
                Effect::LatencyMs(v) => ("latency", None, Some(v)),
            };
            JsonEffect { kind, usd, ms }
        })
        .collect();
    JsonInsight {
        rule: i.rule.as_str(),
        title: i.rule.title(),
        severity: i.severity.as_str(),
        function: i.function.clone(),
        summary: i.summary.clone(),
        suggestion: i.suggestion.clone(),
        evidence,
        effects,
        monthly_saving_usd: i.monthly_saving(),
    }
}

#[derive(Serialize)]
struct JsonInsights {
    from: Option<String>,
    to: Option<String>,
    /// Insights that matched, before any `limit`.
    total: usize,
    insights: Vec<JsonInsight>,
}

/// The `tern insights --format json` document (and the API's): the first `limit` insights
/// (all without one), most severe first, and how many matched.
pub fn to_json(range: TimeRange, insights: &[&Insight], limit: Option<usize>) -> Result<String> {
    let doc = JsonInsights {
        from: range.from_ms.map(rfc3339_ms),
        to: range.to_ms.map(rfc3339_ms),
        total: insights.len(),
        insights: insights
            .iter()
            .take(limit.unwrap_or(usize::MAX))
            .map(|i| json_insight(i))
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc)?;
    s.push('\n');
    Ok(s)
}

/// One line per insight: severity, rule, function, the dollar or latency effect, the summary.
pub fn table(insights: &[&Insight], limit: usize) -> String {
    let mut out = String::new();
    for i in insights.iter().take(limit) {
        let _ = writeln!(
            out,
            "  {:<8}  {:<24}  {:<28}  {:>16}  {}",
            i.severity.as_str(),
            i.rule.as_str(),
            crate::text::printable(&i.function),
            effect_label(i),
            crate::text::printable(&i.summary)
        );
    }
    if insights.len() > limit {
        let _ = writeln!(
            out,
            "  … and {} more (see `tern insights`)",
            insights.len() - limit
        );
    }
    out
}

/// The headline effect: a saving, else a cost, else latency.
pub fn effect_label(i: &Insight) -> String {
    let pick = |f: fn(&Effect) -> Option<String>| i.effects.iter().find_map(f);
    pick(|e| match e {
        Effect::MonthlySaving(v) => Some(format!("save {}/mo", usd(*v))),
        _ => None,
    })
    .or_else(|| {
        pick(|e| match e {
            Effect::MonthlyCost(v) => Some(format!("{}/mo", usd(*v))),
            Effect::RunawayExposure(v) => Some(format!("≤ {}/runaway", usd(*v))),
            Effect::OneOffCost(v) => Some(format!("{} once", usd(*v))),
            _ => None,
        })
    })
    .or_else(|| {
        pick(|e| match e {
            Effect::LatencyMs(v) => Some(format!("{} latency", ms(*v))),
            _ => None,
        })
    })
    .or_else(|| {
        pick(|e| match e {
            Effect::ChangeMonthlyCost(v) => Some(format!("fix +{}/mo", usd(*v))),
            _ => None,
        })
    })
    .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::simulate::{self, SimOptions};
    use tern_store::{SqliteStore, StoreBackend};

    /// The spike window ends on a whole hour when the range runs past the data (the hours
    /// are the same), and where the range ends when that is inside the data.
    #[test]
    fn spike_window_ends_on_the_hour_after_the_data() {
        const H: i64 = SPIKE_BUCKET_MS;
        let day = 86_400_000;
        let bounds = Some((0, 20 * day + 5 * H + 17));
        let all = spike_window(TimeRange::all(), bounds).unwrap();
        assert_eq!(all.to_ms, Some(20 * day + 6 * H));
        // From the hour that held `to - 14 days` before the end moved: 14 days and one hour.
        assert_eq!(all.from_ms, Some(6 * day + 5 * H));
        let past = TimeRange {
            from_ms: None,
            to_ms: Some(30 * day + 1),
        };
        assert_eq!(spike_window(past, bounds), Some(all));
        let inside = TimeRange {
            from_ms: Some(day),
            to_ms: Some(10 * day + 7),
        };
        assert_eq!(
            spike_window(inside, bounds),
            Some(TimeRange {
                from_ms: Some(day),
                to_ms: Some(10 * day + 7),
            })
        );
        // Data ending on an hour's last millisecond: already whole.
        let whole = spike_window(TimeRange::all(), Some((0, 3 * H - 1))).unwrap();
        assert_eq!((whole.from_ms, whole.to_ms), (Some(0), Some(3 * H)));
    }

    /// Reading the whole fleet at once gives the same facts as reading function by function:
    /// environments, runtimes, the latest invocation ever and spikes, over ranges that end
    /// before the data does, cut days, and hold functions without data.
    #[test]
    fn fleet_wide_reads_match_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SimOptions {
            functions: 20,
            days: 3,
            seed: 5,
            invocations_per_day: Some(400),
            ..SimOptions::default()
        };
        simulate::simulate(&opts, &dir.path().join("logs")).unwrap();
        let db = dir.path().join("tern.db");
        crate::ingest::run(&crate::ingest::Settings::new(
            StoreBackend::Sqlite(db.clone()),
            vec![dir.path().join("logs")],
        ))
        .unwrap();
        let store = SqliteStore::open(&db).unwrap();
        let names: Vec<String> = store
            .functions()
            .unwrap()
            .into_iter()
            .map(|m| m.function)
            .collect();
        let mut settings = InsightSettings::default();
        // Busy enough for a spike scan: most functions.
        settings.thresholds.spike_min_invocations_per_5min = 1;
        settings.thresholds.spike_factor = 1.5;
        let (lo, hi) = store.time_bounds().unwrap().unwrap();
        let day = 86_400_000;
        let mut seen_spike = false;
        let mut seen_earlier_end = false;
        for range in [
            TimeRange::all(),
            TimeRange {
                from_ms: Some(lo + day / 3),
                to_ms: Some(hi - day / 2),
            },
            TimeRange {
                from_ms: Some(lo),
                to_ms: Some(lo + 7 * 3_600_000),
            },
            TimeRange {
                from_ms: Some(hi - 3_600_000),
                to_ms: Some(hi + day),
            },
        ] {
            let stats = store.function_stats(&names, range).unwrap();
            let reports =
                crate::report::price(&stats, tern_core::cost::CostOptions::default(), day);
            let gather = |few, pre| {
                gather_with(&store, &stats, &reports, range, day, &settings, (few, pre)).unwrap()
            };
            let one_by_one = gather(usize::MAX, None);
            let at_once = gather(0, None);
            assert_eq!(at_once, one_by_one, "{range:?}");
            let pre = prefetch(&store, range, &settings).unwrap();
            assert_eq!(
                gather(usize::MAX, Some(pre)),
                one_by_one,
                "{range:?}, prefetched"
            );
            assert_eq!(at_once.len(), reports.len());
            assert!(reports.len() > 10, "{range:?}: {} reported", reports.len());
            let ever = store.function_stats(&names, TimeRange::all()).unwrap();
            for f in &at_once {
                let e = ever
                    .iter()
                    .find(|e| e.function == f.report.function)
                    .unwrap();
                assert_eq!(f.last_invocation_ms, e.last_ms, "{range:?}");
            }
            seen_spike |= at_once.iter().any(|f| f.spike.is_some());
            seen_earlier_end |= at_once
                .iter()
                .zip(&stats)
                .any(|(f, s)| f.last_invocation_ms > s.last_ms);
            assert!(at_once.iter().any(|f| f.reuse.is_some()), "{range:?}");
        }
        assert!(
            seen_spike,
            "no range had a spike: the test would prove little"
        );
        assert!(
            seen_earlier_end,
            "no range ended before a function's latest invocation"
        );
    }
}
