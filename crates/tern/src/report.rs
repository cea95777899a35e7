//! `tern report`: per-function performance and cost, with quick wins, as a table, JSON or CSV.
//!
//! The JSON shape is a contract used by scripts: fields are only ever added.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use anyhow::{Context, Result};
use globset::{Glob, GlobMatcher};
use serde::Serialize;
use tern_core::cost::{self, CostOptions};
use tern_core::insights::Insight;
use tern_core::model::Outcome;
use tern_core::recommend::{self, FunctionInput, SummaryAdvice};
use tern_core::report::{dist_of, quick_wins, FunctionReport, QuickWin, WinKind, WinRules};
use tern_store::{FunctionStats, Store, TimeRange};

use crate::cli::{Format, ReportArgs};
use crate::insights::InsightSettings;
pub use crate::text::{ms, usd};
use crate::timeutil::{self, rfc3339_ms};
pub use crate::views::usage::usage_of;

/// A compiled `--function` glob.
pub fn function_matcher(glob: Option<&str>) -> Result<Option<GlobMatcher>> {
    glob.map(|g| {
        Glob::new(g)
            .map(|g| g.compile_matcher())
            .with_context(|| format!("--function {g:?} is not a valid glob"))
    })
    .transpose()
}

/// Names of stored functions that match the glob (all when no glob).
pub fn select_functions(store: &dyn Store, glob: Option<&GlobMatcher>) -> Result<Vec<String>> {
    Ok(store
        .functions()?
        .into_iter()
        .map(|m| m.function)
        .filter(|f| glob.is_none_or(|g| g.is_match(f)))
        .collect())
}

/// The whole report, ready to render.
#[derive(Debug, Clone)]
pub struct Report {
    pub range: TimeRange,
    /// The span the figures cover (for monthly projection), ms.
    pub observed_ms: i64,
    pub functions: Vec<FunctionReport>,
    pub wins: Vec<QuickWin>,
    /// The insight catalogue's findings, most severe first.
    pub insights: Vec<Insight>,
    pub free_tier: bool,
    /// The newest changes in the range with their impact, when asked for
    /// ([`Options::changes`]).
    pub changes: Option<crate::compare::WireRecent>,
}

/// How a report is priced and which insights it shows.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub cost: CostOptions,
    /// `[insights]` of `tern.toml`.
    pub insights: InsightSettings,
    /// `[recommend]` of `tern.toml`: the memory advice the quick wins and insights give.
    pub recommend: recommend::Settings,
    /// Compare the newest changes in the range (reads the invocations around each).
    pub changes: bool,
}

/// Build the report from the store, as of now.
pub fn build(
    store: &dyn Store,
    functions: &[String],
    range: TimeRange,
    opts: &Options,
) -> Result<Report> {
    build_at(store, functions, range, opts, timeutil::now_ms())
}

/// Build the report from the store; `now_ms` is what insights about time (inactivity, runtime
/// deprecation) are measured against.
pub fn build_at(
    store: &dyn Store,
    functions: &[String],
    range: TimeRange,
    opts: &Options,
    now_ms: i64,
) -> Result<Report> {
    build_prefetched(store, functions, range, opts, now_ms, None)
}

/// The insights' fleet-wide reads ([`crate::insights::prefetch`] over the report's range),
/// made elsewhere and asked for once the range's statistics are read.
pub type Later = Box<dyn FnOnce() -> Result<crate::insights::Prefetch> + Send>;

/// [`build_at`], with the insights' fleet-wide reads made elsewhere when given.
pub fn build_prefetched(
    store: &dyn Store,
    functions: &[String],
    range: TimeRange,
    opts: &Options,
    now_ms: i64,
    pre: Option<Later>,
) -> Result<Report> {
    let stats = if functions.is_empty() {
        Vec::new()
    } else {
        store.function_stats(functions, range)?
    };
    let bounds = store.time_bounds()?;
    let observed_ms = observed_ms(range, bounds);
    let projection_ms = projection_ms(observed_ms);
    let reports = price(&stats, opts.cost, projection_ms);
    let inputs = if functions.is_empty() {
        Vec::new()
    } else {
        crate::views::memory::inputs(store, functions, range, projection_ms)?
    };
    let memory = memory_advice(&stats, &inputs, &opts.recommend);
    let wins = wins(&reports, projection_ms, opts, &memory);
    let pre = pre.map(|later| later()).transpose()?;
    let mut facts = crate::insights::gather(
        store,
        &stats,
        &reports,
        range,
        projection_ms,
        &opts.insights,
        pre,
    )?;
    for f in &mut facts {
        f.memory = memory.get(&f.report.function).cloned();
    }
    let insights = crate::insights::evaluate(&facts, now_ms, &opts.insights);
    let changes = if opts.changes {
        Some(crate::compare::recent_wire(
            store,
            Some(functions),
            range,
            crate::compare::MAX_FLEET_CHANGES,
        )?)
    } else {
        None
    };
    Ok(Report {
        range,
        observed_ms,
        functions: reports,
        wins,
        insights,
        free_tier: opts.cost.free_tier,
        changes,
    })
}

const DAY_MS: i64 = 86_400_000;

/// The span a report covers: the requested range clipped to the stored data (`bounds`).
pub fn observed_ms(range: TimeRange, bounds: Option<(i64, i64)>) -> i64 {
    match bounds {
        Some((lo, hi)) => {
            let from = range.from_ms.map_or(lo, |f| f.max(lo));
            let to = range.to_ms.map_or(hi, |t| t.min(hi + 1));
            (to - from).max(1)
        }
        None => 1,
    }
}

/// The span monthly figures extrapolate from. Below a day of data the observed rate is noise
/// (one invocation in five minutes is not 8,640 a month), so a shorter span counts as a day.
pub fn projection_ms(observed_ms: i64) -> i64 {
    observed_ms.max(DAY_MS)
}

/// Each function's report, priced together so that tiers see the aggregate per region, arch
/// and month. Functions with no invocation in the range are left out, unless the AWS
/// inventory lists them: an idle function is worth seeing (is it dead? is its logging broken?).
pub fn price(
    stats: &[FunctionStats],
    cost_opts: CostOptions,
    projection_ms: i64,
) -> Vec<FunctionReport> {
    let mut usage = Vec::new();
    let mut owner = Vec::new();
    for (i, s) in stats.iter().enumerate() {
        for u in usage_of(s) {
            usage.push(u);
            owner.push(i);
        }
    }
    let charges = cost::price_usage(&usage, cost_opts);
    let mut cost_by_fn = vec![0.0; stats.len()];
    let mut exact_by_fn = vec![true; stats.len()];
    for (c, &i) in charges.iter().zip(&owner) {
        cost_by_fn[i] += c.total();
        exact_by_fn[i] &= c.exact_region;
    }
    stats
        .iter()
        .enumerate()
        .filter(|(_, s)| s.invocations > 0 || s.meta.inventory_ms.is_some())
        .map(|(i, s)| to_report(s, cost_by_fn[i], exact_by_fn[i], projection_ms))
        .collect()
}

/// The memory engine's advice for each function with invocations in `stats`, from its
/// per-size statistics over the range (`inputs`, [`crate::views::memory::inputs`] over the
/// same range and projection): the quick wins, the insights and the dashboard all show this,
/// and it is what `tern recommend` says of the function, at one size or several.
pub fn memory_advice(
    stats: &[FunctionStats],
    inputs: &[FunctionInput],
    settings: &recommend::Settings,
) -> BTreeMap<String, SummaryAdvice> {
    let by_name: HashMap<&str, &FunctionInput> =
        inputs.iter().map(|i| (i.function.as_str(), i)).collect();
    let mut out = BTreeMap::new();
    for s in stats.iter().filter(|s| s.invocations > 0) {
        let advice = match by_name.get(s.function.as_str()) {
            Some(input) => match recommend::advise(input, settings) {
                Ok(a) => SummaryAdvice::Advice(a),
                Err(skip) => SummaryAdvice::Skipped(skip),
            },
            None => SummaryAdvice::Skipped(recommend::Skip::NoData),
        };
        out.insert(s.function.clone(), advice);
    }
    out
}

/// The quick wins; they share their bounds with the insight rules of the same name, and take
/// the memory advice from `memory` ([`memory_advice`]).
pub fn wins(
    reports: &[FunctionReport],
    projection_ms: i64,
    opts: &Options,
    memory: &BTreeMap<String, SummaryAdvice>,
) -> Vec<QuickWin> {
    let t = &opts.insights.thresholds;
    let win_rules = WinRules {
        over_provisioned_ratio: t.over_provisioned_ratio,
        memory_headroom: t.memory_headroom,
        near_timeout_ratio: t.near_timeout_ratio,
        ..WinRules::default()
    };
    quick_wins(reports, projection_ms, win_rules, memory)
}

/// One function's figures on their own (priced alone, no monthly projection worth reading):
/// what an alert policy window is evaluated on.
pub fn function_report(s: &FunctionStats) -> FunctionReport {
    let charges = cost::price_usage(&usage_of(s), CostOptions::default());
    let cost_usd = charges.iter().map(|c| c.total()).sum::<f64>() + 0.0;
    let exact = charges.iter().all(|c| c.exact_region);
    to_report(s, cost_usd, exact, DAY_MS)
}

fn to_report(s: &FunctionStats, cost_usd: f64, exact: bool, projection_ms: i64) -> FunctionReport {
    let duration = dist_of(&s.duration);
    let timeouts = s.outcome(Outcome::Timeout);
    // A timed-out invocation ran until the limit: with timeouts seen, the longest duration is
    // the timeout (rounded to the nearest second, as timeouts are configured in seconds).
    let inferred_timeout_ms = (s.meta.timeout_ms.is_none() && timeouts > 0)
        .then(|| duration.map(|d| ((d.max / 1000.0).round() * 1000.0) as u64))
        .flatten()
        .filter(|t| *t > 0);
    FunctionReport {
        function: s.function.clone(),
        region: s
            .meta
            .region
            .clone()
            .unwrap_or_else(|| cost::DEFAULT_REGION.to_string()),
        arch: s.meta.arch.unwrap_or_default(),
        runtime: s.meta.runtime.clone(),
        invocations: s.invocations,
        errors: s.errors,
        timeouts,
        out_of_memory: s.outcome(Outcome::OutOfMemory),
        crashes: s.outcome(Outcome::Crash),
        init_errors: s.outcome(Outcome::InitError),
        handler_errors: s.outcome(Outcome::Error),
        cold_starts: s.cold_starts,
        environments: s.environments,
        duration_ms: duration,
        init_duration_ms: dist_of(&s.init),
        billed_duration_ms: s.billed_duration_ms,
        gb_seconds: s.gb_seconds,
        memory_size_mb: s.memory_size_mb.or(s.meta.memory_size_mb),
        max_memory_used_mb: s.max_memory_used_mb,
        over_20s: s.over_20s,
        timeout_ms: s.meta.timeout_ms,
        inferred_timeout_ms,
        cost_usd,
        monthly_cost_usd: cost::monthly(cost_usd, projection_ms),
        exact_prices: exact,
        log_lines: s.log_lines,
        log_bytes: s.log_bytes,
    }
}

// ---- JSON wire types (the script contract) ----

#[derive(Serialize)]
struct JsonDist {
    avg: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

#[derive(Serialize)]
struct JsonInit {
    avg: f64,
    p50: f64,
    p95: f64,
    max: f64,
}

#[derive(Serialize)]
struct JsonFunction<'a> {
    function: &'a str,
    region: &'a str,
    architecture: &'static str,
    invocations: u64,
    errors: u64,
    error_rate: f64,
    timeouts: u64,
    out_of_memory: u64,
    crashes: u64,
    init_errors: u64,
    handler_errors: u64,
    cold_starts: u64,
    cold_start_rate: f64,
    environments: u64,
    duration_ms: Option<JsonDist>,
    init_duration_ms: Option<JsonInit>,
    billed_duration_ms: f64,
    gb_seconds: f64,
    memory_size_mb: Option<u32>,
    max_memory_used_mb: Option<u32>,
    invocations_over_20s: u64,
    timeout_ms: Option<u64>,
    inferred_timeout_ms: Option<u64>,
    cost_usd: f64,
    monthly_cost_usd: f64,
    exact_prices: bool,
    /// Log lines stored in the range (of invocations by their time, unattributed stream
    /// lines by their chunk's first line), each once however often ingested.
    log_lines: u64,
    /// The UTF-8 bytes of those lines' messages.
    log_bytes: u64,
}

#[derive(Serialize)]
struct JsonWin<'a> {
    kind: &'static str,
    function: &'a str,
    detail: &'a str,
    monthly_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    suggested_memory_mb: Option<u32>,
}

#[derive(Serialize)]
struct JsonTotals {
    invocations: u64,
    errors: u64,
    cold_starts: u64,
    cost_usd: f64,
    monthly_cost_usd: f64,
    log_lines: u64,
    log_bytes: u64,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    from: Option<String>,
    to: Option<String>,
    observed_hours: f64,
    free_tier: bool,
    totals: JsonTotals,
    functions: Vec<JsonFunction<'a>>,
    quick_wins: Vec<JsonWin<'a>>,
    insights: Vec<crate::insights::JsonInsight>,
    /// The newest changes with their impact (`tern report` always has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<&'a [crate::compare::WireImpact]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes_omitted: Option<usize>,
}

fn json_fn(f: &FunctionReport) -> JsonFunction<'_> {
    JsonFunction {
        function: &f.function,
        region: &f.region,
        architecture: f.arch.as_str(),
        invocations: f.invocations,
        errors: f.errors,
        error_rate: f.error_rate(),
        timeouts: f.timeouts,
        out_of_memory: f.out_of_memory,
        crashes: f.crashes,
        init_errors: f.init_errors,
        handler_errors: f.handler_errors,
        cold_starts: f.cold_starts,
        cold_start_rate: f.cold_start_rate(),
        environments: f.environments,
        duration_ms: f.duration_ms.map(|d| JsonDist {
            avg: d.avg,
            p50: d.p50,
            p95: d.p95,
            p99: d.p99,
            max: d.max,
        }),
        init_duration_ms: f.init_duration_ms.map(|d| JsonInit {
            avg: d.avg,
            p50: d.p50,
            p95: d.p95,
            max: d.max,
        }),
        billed_duration_ms: f.billed_duration_ms,
        gb_seconds: f.gb_seconds,
        memory_size_mb: f.memory_size_mb,
        max_memory_used_mb: f.max_memory_used_mb,
        invocations_over_20s: f.over_20s,
        timeout_ms: f.timeout_ms,
        inferred_timeout_ms: f.inferred_timeout_ms,
        cost_usd: f.cost_usd,
        monthly_cost_usd: f.monthly_cost_usd,
        exact_prices: f.exact_prices,
        log_lines: f.log_lines,
        log_bytes: f.log_bytes,
    }
}

impl Report {
    fn totals(&self) -> JsonTotals {
        JsonTotals {
            invocations: self.functions.iter().map(|f| f.invocations).sum(),
            errors: self.functions.iter().map(|f| f.errors).sum(),
            cold_starts: self.functions.iter().map(|f| f.cold_starts).sum(),
            // `+ 0.0` turns the empty sum's -0.0 into 0.
            cost_usd: self.functions.iter().map(|f| f.cost_usd).sum::<f64>() + 0.0,
            monthly_cost_usd: self
                .functions
                .iter()
                .map(|f| f.monthly_cost_usd)
                .sum::<f64>()
                + 0.0,
            log_lines: self.functions.iter().map(|f| f.log_lines).sum(),
            log_bytes: self.functions.iter().map(|f| f.log_bytes).sum(),
        }
    }

    pub fn to_json(&self) -> Result<String> {
        let r = JsonReport {
            from: self.range.from_ms.map(rfc3339_ms),
            to: self.range.to_ms.map(rfc3339_ms),
            observed_hours: self.observed_ms as f64 / 3_600_000.0,
            free_tier: self.free_tier,
            totals: self.totals(),
            functions: self.functions.iter().map(json_fn).collect(),
            quick_wins: self
                .wins
                .iter()
                .map(|w| JsonWin {
                    kind: w.kind.as_str(),
                    function: &w.function,
                    detail: &w.detail,
                    monthly_usd: w.monthly_usd,
                    suggested_memory_mb: w.suggested_memory_mb,
                })
                .collect(),
            insights: self
                .insights
                .iter()
                .map(crate::insights::json_insight)
                .collect(),
            changes: self.changes.as_ref().map(|c| c.changes.as_slice()),
            changes_omitted: self.changes.as_ref().map(|c| c.omitted),
        };
        let mut s = serde_json::to_string_pretty(&r)?;
        s.push('\n');
        Ok(s)
    }

    pub fn to_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "function",
            "region",
            "architecture",
            "invocations",
            "errors",
            "timeouts",
            "out_of_memory",
            "crashes",
            "init_errors",
            "cold_starts",
            "duration_avg_ms",
            "duration_p50_ms",
            "duration_p95_ms",
            "duration_p99_ms",
            "duration_max_ms",
            "init_p50_ms",
            "init_p95_ms",
            "billed_duration_ms",
            "memory_size_mb",
            "max_memory_used_mb",
            "cost_usd",
            "monthly_cost_usd",
            // Columns are only added, at the end.
            "log_lines",
            "log_bytes",
        ])?;
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
        for f in &self.functions {
            let d = f.duration_ms;
            let i = f.init_duration_ms;
            w.write_record([
                f.function.clone(),
                f.region.clone(),
                f.arch.as_str().to_string(),
                f.invocations.to_string(),
                f.errors.to_string(),
                f.timeouts.to_string(),
                f.out_of_memory.to_string(),
                f.crashes.to_string(),
                f.init_errors.to_string(),
                f.cold_starts.to_string(),
                opt(d.map(|d| d.avg)),
                opt(d.map(|d| d.p50)),
                opt(d.map(|d| d.p95)),
                opt(d.map(|d| d.p99)),
                opt(d.map(|d| d.max)),
                opt(i.map(|d| d.p50)),
                opt(i.map(|d| d.p95)),
                format!("{:.0}", f.billed_duration_ms),
                f.memory_size_mb.map(|m| m.to_string()).unwrap_or_default(),
                f.max_memory_used_mb
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
                // Full precision: scripts sum these.
                f.cost_usd.to_string(),
                f.monthly_cost_usd.to_string(),
                f.log_lines.to_string(),
                f.log_bytes.to_string(),
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub fn to_table(&self) -> String {
        let mut out = String::new();
        if self.functions.is_empty() {
            out.push_str("No invocations in this range.\n");
            return out;
        }
        let t = self.totals();
        let _ = writeln!(
            out,
            "{} functions · {} invocations · {} errors ({:.2}%) · {} cold starts · ${:.2} (≈ ${:.2}/month{})",
            self.functions.len(),
            group(t.invocations),
            group(t.errors),
            pct(t.errors, t.invocations),
            group(t.cold_starts),
            t.cost_usd,
            t.monthly_cost_usd,
            if self.free_tier { ", after free tier" } else { "" },
        );
        out.push('\n');
        let header = [
            "FUNCTION",
            "INVOC",
            "ERRORS",
            "ERR%",
            "TIMEOUT",
            "OOM",
            "COLD%",
            "P50",
            "P95",
            "P99",
            "MAX",
            "INIT P50",
            "MEMORY USED",
            "COST",
            "$/MONTH",
        ];
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut fns: Vec<&FunctionReport> = self.functions.iter().collect();
        fns.sort_by(|a, b| {
            b.cost_usd
                .total_cmp(&a.cost_usd)
                .then_with(|| a.function.cmp(&b.function))
        });
        for f in fns {
            let d = f.duration_ms;
            rows.push(vec![
                crate::text::printable(&f.function).into_owned(),
                group(f.invocations),
                group(f.errors),
                format!("{:.2}", f.error_rate() * 100.0),
                group(f.timeouts),
                group(f.out_of_memory),
                format!("{:.1}", f.cold_start_rate() * 100.0),
                d.map_or("-".into(), |d| ms(d.p50)),
                d.map_or("-".into(), |d| ms(d.p95)),
                d.map_or("-".into(), |d| ms(d.p99)),
                d.map_or("-".into(), |d| ms(d.max)),
                f.init_duration_ms.map_or("-".into(), |d| ms(d.p50)),
                match (f.max_memory_used_mb, f.memory_size_mb) {
                    (Some(u), Some(s)) => format!("{u}/{s} MB"),
                    (None, Some(s)) => format!("?/{s} MB"),
                    _ => "-".into(),
                },
                usd(f.cost_usd),
                usd(f.monthly_cost_usd),
            ]);
        }
        let numeric = |i: usize| i > 0;
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let mut l = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = widths[i].saturating_sub(c.chars().count());
                if i > 0 {
                    l.push_str("  ");
                }
                if numeric(i) {
                    l.push_str(&" ".repeat(pad));
                    l.push_str(c);
                } else {
                    l.push_str(c);
                    l.push_str(&" ".repeat(pad));
                }
            }
            l.trim_end().to_string()
        };
        let head: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(out, "{}", line(&head));
        for r in &rows {
            let _ = writeln!(out, "{}", line(r));
        }
        if self.observed_ms < DAY_MS {
            let _ = writeln!(
                out,
                "\nnote: the data spans only {}; monthly figures count it as one day's traffic.",
                span(self.observed_ms)
            );
        }
        if self.functions.iter().any(|f| !f.exact_prices) {
            out.push_str(
                "\nnote: some regions have no confirmed US-dollar price (see `tern prices`); us-east-1 prices were used for them.\n",
            );
        }
        if !self.wins.is_empty() {
            out.push_str("\nQuick wins (dollar figures per 30-day month at the observed rate)\n");
            let mut shown_kind = None;
            let mut shown = 0usize;
            let mut hidden = 0usize;
            for w in &self.wins {
                if shown_kind != Some(w.kind) {
                    if hidden > 0 {
                        let _ = writeln!(out, "    … and {hidden} more (see --format json)");
                    }
                    shown_kind = Some(w.kind);
                    shown = 0;
                    hidden = 0;
                    let _ = writeln!(out, "  {}", win_title(w.kind));
                }
                if shown == TABLE_WINS_PER_KIND {
                    hidden += 1;
                    continue;
                }
                shown += 1;
                let _ = writeln!(
                    out,
                    "    {:<28} {:>10}/mo  {}",
                    crate::text::printable(&w.function),
                    usd(w.monthly_usd),
                    crate::text::printable(&w.detail)
                );
            }
            if hidden > 0 {
                let _ = writeln!(out, "    … and {hidden} more (see --format json)");
            }
        }
        if !self.insights.is_empty() {
            let _ = writeln!(
                out,
                "\nInsights ({}; dollar figures per 30-day month at the observed rate)",
                self.insights.len()
            );
            let all: Vec<&Insight> = self.insights.iter().collect();
            out.push_str(&crate::insights::table(&all, TABLE_INSIGHTS));
        }
        if let Some(c) = self.changes.as_ref().filter(|c| !c.changes.is_empty()) {
            let _ = writeln!(
                out,
                "\nRecent changes ({}; what each did at 95% confidence, by `tern compare`)",
                c.changes.len() + c.omitted
            );
            out.push_str(&crate::compare::recent_table(c, TABLE_CHANGES));
        }
        out
    }

    pub fn render(&self, format: Format) -> Result<String> {
        match format {
            Format::Table => Ok(self.to_table()),
            Format::Json => self.to_json(),
            Format::Csv => self.to_csv(),
        }
    }
}

/// Changes shown in the report table; JSON has every one compared.
const TABLE_CHANGES: usize = 10;

/// Insights shown in the report table; `tern insights` and JSON have them all.
const TABLE_INSIGHTS: usize = 15;

/// Quick wins of one kind shown in the table; JSON has them all.
const TABLE_WINS_PER_KIND: usize = 5;

fn win_title(k: WinKind) -> &'static str {
    match k {
        WinKind::MostInvocations => "Most invocations",
        WinKind::MostErrors => "Most errors",
        WinKind::OverProvisioned => "Over-provisioned memory (estimated saving)",
        WinKind::LongInvocations => "Invocations over 20 s",
        WinKind::NearTimeout => "Durations near the timeout (cost of timeouts)",
    }
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

/// 1234567 → "1,234,567".
pub fn group(n: u64) -> String {
    crate::text::count(n)
}

/// A span of time for prose: "45 s", "12 min", "5.5 h".
fn span(ms: i64) -> String {
    let s = ms as f64 / 1000.0;
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// `tern report`.
pub fn run(args: ReportArgs) -> Result<String> {
    let range = args.range.resolve(timeutil::now_ms())?;
    let glob = function_matcher(args.function.as_deref())?;
    let opts = Options {
        cost: CostOptions {
            free_tier: args.free_tier,
        },
        insights: crate::config::load_insights(args.db.config.as_deref())?,
        recommend: crate::config::load_recommend(args.db.config.as_deref())?,
        changes: true,
    };
    let store = crate::ingest::open_store_read(&args.db.backend()?)?;
    crate::views::selection::matching(&store, args.function.as_deref())?;
    if let Some(note) =
        crate::views::selection::empty_range_note(&store, range, timeutil::now_ms())?
    {
        eprintln!("note: {note}");
    }
    let functions = select_functions(&store, glob.as_ref())?;
    let report = build(&store, &functions, range, &opts)?;
    report.render(args.format)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        assert_eq!(group(0), "0");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(123), "123");
        assert_eq!(ms(12.345), "12.3ms");
        assert_eq!(ms(1234.0), "1234ms");
        assert_eq!(ms(25_000.0), "25.0s");
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(0.001), "$0.0010");
        assert_eq!(usd(12.345), "$12.35");
    }

    /// Functions the inventory lists are reported even with no invocations; functions
    /// only ever seen in old logs are not.
    #[test]
    fn inventory_functions_without_invocations_are_listed() {
        use tern_store::conformance::{invocation, T0};
        use tern_store::{FunctionMeta, IngestBatch, SqliteStore};
        let mut store = SqliteStore::open_in_memory().unwrap();
        store
            .ingest(&IngestBatch {
                parts: vec![
                    invocation("busy", 1, "a", T0, 10.0, 128),
                    invocation("old", 1, "b", T0 - 86_400_000, 10.0, 128),
                ],
                functions: vec![FunctionMeta {
                    function: "idle".into(),
                    timeout_ms: Some(3_000),
                    memory_size_mb: Some(256),
                    inventory_ms: Some(T0),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .unwrap();
        let names = select_functions(&store, None).unwrap();
        let range = TimeRange {
            from_ms: Some(T0 - 1000),
            to_ms: Some(T0 + 1000),
        };
        let report = build(&store, &names, range, &Options::default()).unwrap();
        let listed: Vec<(&str, u64)> = report
            .functions
            .iter()
            .map(|f| (f.function.as_str(), f.invocations))
            .collect();
        assert_eq!(listed, [("busy", 1), ("idle", 0)]);
        let idle = &report.functions[1];
        assert_eq!(
            (idle.timeout_ms, idle.memory_size_mb),
            (Some(3_000), Some(256))
        );
        // Every format renders the idle function without dividing by zero.
        let table = report.to_table();
        assert!(table.contains("idle"), "{table}");
        let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(json["functions"][1]["invocations"], 0);
        assert_eq!(json["functions"][1]["error_rate"], 0.0);
        assert!(report.to_csv().unwrap().contains("idle"));
        // The inventory lists "idle" and it was never invoked.
        let inactive = json["insights"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["rule"] == "function.inactive")
            .unwrap();
        assert_eq!(inactive["function"], "idle");
        assert_eq!(inactive["severity"], "info");
        assert!(table.contains("function.inactive"), "{table}");
    }

    /// The report JSON is a contract: fields are only ever added. These are the fields from
    /// before `insights` was added.
    #[test]
    fn report_json_keeps_every_field() {
        use tern_store::conformance::{invocation, T0};
        use tern_store::{IngestBatch, SqliteStore};
        let mut store = SqliteStore::open_in_memory().unwrap();
        let mut parts: Vec<_> = (0..60)
            .map(|i| invocation("busy", 1, &format!("r{i}"), T0 + i, 10.0, 1024))
            .collect();
        let mut oom = invocation("crashy", 2, "oom", T0, 10.0, 256);
        oom.signals.oom_signature = true;
        parts.push(oom);
        store
            .ingest(&IngestBatch {
                parts,
                ..Default::default()
            })
            .unwrap();
        let names = select_functions(&store, None).unwrap();
        let report = build(&store, &names, TimeRange::all(), &Options::default()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let top = keys(&json);
        for k in [
            "from",
            "to",
            "observed_hours",
            "free_tier",
            "totals",
            "functions",
            "quick_wins",
            "insights",
        ] {
            assert!(top.contains(&k.to_string()), "{k} missing: {top:?}");
        }
        let f = keys(&json["functions"][0]);
        for k in [
            "function",
            "region",
            "architecture",
            "invocations",
            "errors",
            "error_rate",
            "timeouts",
            "out_of_memory",
            "crashes",
            "init_errors",
            "handler_errors",
            "cold_starts",
            "cold_start_rate",
            "environments",
            "duration_ms",
            "init_duration_ms",
            "billed_duration_ms",
            "gb_seconds",
            "memory_size_mb",
            "max_memory_used_mb",
            "invocations_over_20s",
            "timeout_ms",
            "inferred_timeout_ms",
            "cost_usd",
            "monthly_cost_usd",
            "exact_prices",
        ] {
            assert!(f.contains(&k.to_string()), "{k} missing: {f:?}");
        }
        for k in [
            "invocations",
            "errors",
            "cold_starts",
            "cost_usd",
            "monthly_cost_usd",
        ] {
            assert!(json["totals"].get(k).is_some(), "totals.{k}");
        }
        let w = keys(&json["quick_wins"][0]);
        for k in ["kind", "function", "detail", "monthly_usd"] {
            assert!(w.contains(&k.to_string()), "{k} missing: {w:?}");
        }
        // The OOM and the over-provisioned memory (at most 262 MB of 1024 MB) are insights,
        // with the wire shape of `tern insights`.
        let insights = json["insights"].as_array().unwrap();
        let oom = insights
            .iter()
            .find(|i| i["rule"] == "memory.out_of_memory")
            .unwrap();
        assert_eq!(
            keys(oom),
            [
                "effects",
                "evidence",
                "function",
                "monthly_saving_usd",
                "rule",
                "severity",
                "suggestion",
                "summary",
                "title"
            ]
        );
        assert_eq!(oom["effects"][0]["kind"], "monthly_cost");
        let over = insights
            .iter()
            .find(|i| i["rule"] == "memory.over_provisioned")
            .unwrap();
        // The figure is the memory engine's: one size cannot show a smaller one is cheaper.
        assert_eq!(over["monthly_saving_usd"].as_f64(), Some(0.0), "{over}");
        assert_eq!(over["evidence"]["decision"], "keep", "{over}");
        let said = over["suggestion"].as_str().unwrap();
        assert!(
            said.contains("1024 MB → keep") && said.contains("tern tune "),
            "{over}"
        );
        assert!(!said.contains("same duration"), "{over}");
    }
}
