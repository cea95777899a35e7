//! `tern recommend`: memory recommendations from the stored logs.
//!
//! Reads each function's per-size statistics from the store ([`crate::views::memory`]), hands
//! them to [`tern_core::recommend`], and renders the result as a table (one line per function,
//! biggest saving first) or JSON. The JSON has its own wire types below; fields are only ever
//! added.

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;
use tern_core::recommend::{self, Basis, CurvePoint, Recommendation, Settings, Skip, Strategy};
use tern_store::{Store, TimeRange};

use crate::cli::{RecommendArgs, RecommendFormat, StrategyArg};
use crate::report::{function_matcher, group};
use crate::timeutil;

const DAY_MS: i64 = 86_400_000;

pub fn run(args: RecommendArgs) -> Result<String> {
    let range = args.range.resolve(timeutil::now_ms())?;
    let glob = function_matcher(args.function.as_deref())?;
    let store = crate::ingest::open_store_read(&args.db.backend()?)?;
    crate::views::selection::matching(&store, args.function.as_deref())?;
    let mut settings = crate::config::load_recommend(args.db.config.as_deref())?;
    settings.strategy = strategy_from_args(settings.strategy, args.strategy, args.weight)?;
    let out = build(&store, glob.as_ref(), range, &settings)?;
    if let Some(note) =
        crate::views::selection::empty_range_note(&store, range, timeutil::now_ms())?
    {
        eprintln!("note: {note}");
    }
    match args.format {
        RecommendFormat::Json => {
            crate::text::json_to_stdout(&out)?;
            Ok(String::new())
        }
        RecommendFormat::Table => Ok(table(&out)),
    }
}

/// The strategy the flags ask for, over the configured one: `--weight` alone keeps the
/// balanced strategy and changes its weight.
pub fn strategy_from_args(
    configured: Strategy,
    strategy: Option<StrategyArg>,
    weight: Option<f64>,
) -> Result<Strategy> {
    if let Some(w) = weight {
        if !(0.0..=1.0).contains(&w) {
            anyhow::bail!("--weight {w} must be between 0 and 1");
        }
    }
    let configured_weight = match configured {
        Strategy::Balanced { weight } => weight,
        _ => 0.5,
    };
    let s = match strategy {
        None => match (configured, weight) {
            (Strategy::Balanced { .. }, Some(w)) => Strategy::Balanced { weight: w },
            (s, Some(_)) => anyhow::bail!(
                "--weight applies to the balanced strategy; the configured one is {}",
                s.name()
            ),
            (s, None) => s,
        },
        Some(StrategyArg::Cost) => Strategy::Cost,
        Some(StrategyArg::Speed) => Strategy::Speed,
        Some(StrategyArg::Balanced) => Strategy::Balanced {
            weight: weight.unwrap_or(configured_weight),
        },
    };
    if weight.is_some() && !matches!(s, Strategy::Balanced { .. }) {
        anyhow::bail!("--weight applies to the balanced strategy only");
    }
    Ok(s)
}

/// Every matching function's recommendation (or why there is none).
pub fn build(
    store: &dyn Store,
    glob: Option<&globset::GlobMatcher>,
    range: TimeRange,
    settings: &Settings,
) -> Result<WireOutput> {
    // The report's span and projection: the same monthly figures wherever they are shown.
    let observed_ms = crate::report::observed_ms(range, store.time_bounds()?);
    let projection_ms = crate::report::projection_ms(observed_ms);
    let names: Vec<String> = match glob {
        Some(g) => {
            let names: Vec<String> = store
                .functions()?
                .into_iter()
                .map(|m| m.function)
                .filter(|f| g.is_match(f))
                .collect();
            if names.is_empty() {
                // No function matches: asking for none would ask for all.
                return Ok(output(range, observed_ms, settings, Vec::new(), Vec::new()));
            }
            names
        }
        None => Vec::new(),
    };
    let mut recs = Vec::new();
    let mut skipped = Vec::new();
    for input in crate::views::memory::inputs(store, &names, range, projection_ms)? {
        match recommend::recommend(&input, settings) {
            Ok(r) => recs.push(r),
            Err(skip) => skipped.push(WireSkipped {
                function: input.function.clone(),
                reason: skip_reason(skip),
            }),
        }
    }
    Ok(output(range, observed_ms, settings, recs, skipped))
}

fn output(
    range: TimeRange,
    observed_ms: i64,
    settings: &Settings,
    mut recs: Vec<Recommendation>,
    skipped: Vec<WireSkipped>,
) -> WireOutput {
    recs.sort_by(|a, b| {
        b.monthly_saving_usd
            .total_cmp(&a.monthly_saving_usd)
            .then_with(|| a.function.cmp(&b.function))
    });
    let functions: Vec<WireRecommendation> = recs.iter().map(wire).collect();
    WireOutput {
        strategy: settings.strategy.name(),
        weight: match settings.strategy {
            Strategy::Balanced { weight } => Some(weight),
            _ => None,
        },
        range: WireRange {
            from: range.from_ms.map(timeutil::rfc3339_ms),
            to: range.to_ms.map(timeutil::rfc3339_ms),
        },
        observed_days: observed_ms as f64 / DAY_MS as f64,
        total_monthly_saving_usd: recs.iter().map(|r| r.monthly_saving_usd).sum(),
        functions,
        skipped,
    }
}

fn skip_reason(s: Skip) -> &'static str {
    s.as_str()
}

// ---- wire types ----

#[derive(Debug, Serialize)]
pub struct WireOutput {
    pub strategy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    pub range: WireRange,
    pub observed_days: f64,
    pub total_monthly_saving_usd: f64,
    pub functions: Vec<WireRecommendation>,
    pub skipped: Vec<WireSkipped>,
}

#[derive(Debug, Serialize)]
pub struct WireRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WireSkipped {
    pub function: String,
    pub reason: &'static str,
}

#[derive(Debug, Serialize)]
pub struct WireRecommendation {
    pub function: String,
    pub region: String,
    pub architecture_now: &'static str,
    pub version: Option<String>,
    pub current_memory_mb: u32,
    pub recommended_memory_mb: u32,
    pub strategy: &'static str,
    pub current: WireFigures,
    pub recommended: WireFigures,
    pub monthly_saving_usd: f64,
    pub monthly_invocations: f64,
    pub confidence: &'static str,
    /// `natural_experiment` (fitted on several sizes) or `single_size` (bounds).
    pub method: &'static str,
    /// Single size: which end the evidence favours (`cpu_bound`, `io_bound`, `unclear`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lean: Option<&'static str>,
    pub fit: Option<WireFit>,
    pub observed: Vec<WireObserved>,
    pub floor: WireFloor,
    pub evidence: Vec<WireEvidence>,
    pub curve: Vec<WireCurvePoint>,
    pub architecture: WireArch,
    pub exact_prices: bool,
    /// `change` or `keep`.
    pub decision: &'static str,
    /// Why the current size is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The decision in one sentence.
    pub summary: String,
    /// Relative gain on the strategy's axis: value and 95% interval.
    pub gain: WireGain,
    pub monthly_saving_range_usd: [f64; 2],
    /// From 0 to 1, from the data (sizes measured or modelled, invocations, interval widths).
    pub certainty: f64,
    /// `high`, `medium` or `low`.
    pub certainty_label: &'static str,
    /// The smallest and largest measured size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_range_mb: Option<[u32; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<f64>,
    /// The command that would measure the size the advice depends on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tune_command: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WireGain {
    /// `cost`, `p95` or `balanced score`.
    pub axis: &'static str,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Serialize)]
pub struct WireFigures {
    pub duration_p50_ms: f64,
    pub duration_p95_ms: f64,
    pub billed_ms: f64,
    pub monthly_cost_usd: f64,
    pub confidence: &'static str,
}

#[derive(Debug, Serialize)]
pub struct WireFit {
    /// `d(m) = fixed_ms + cpu_ms × 1769 / min(m, 1769)`, per statistic.
    pub p50: WireFitLine,
    pub p95: WireFitLine,
    pub mean: WireFitLine,
    pub measured_from_mb: u32,
    pub measured_to_mb: u32,
}

#[derive(Debug, Serialize)]
pub struct WireFitLine {
    pub fixed_ms: f64,
    pub cpu_ms: f64,
    pub r2: Option<f64>,
    pub max_rel_residual: f64,
    pub sizes: usize,
}

#[derive(Debug, Serialize)]
pub struct WireObserved {
    pub memory_mb: u32,
    pub architecture: &'static str,
    pub source: &'static str,
    pub invocations: u64,
    pub warm_successful: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub mean_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct WireFloor {
    pub memory_mb: u32,
    pub max_used_mb: u32,
    pub p999_used_mb: f64,
    pub headroom: f64,
    pub oom_kills: u64,
    pub near_limit: bool,
    /// The largest size that ran out of memory: only larger sizes are recommended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_mb: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct WireEvidence {
    pub kind: &'static str,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct WireCurvePoint {
    pub memory_mb: u32,
    pub p50: f64,
    pub p95: f64,
    pub monthly_cost_usd: f64,
    pub current: bool,
    pub allowed: bool,
    pub confidence: &'static str,
    /// `measured`, `interpolated` (between measured sizes) or `estimated`.
    pub support: &'static str,
    /// The hard limit the size breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// 95% ranges.
    pub p95_range_ms: [f64; 2],
    pub monthly_cost_range_usd: [f64; 2],
    /// Estimated sizes: the fully CPU-bound and fully I/O-bound ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounds: Option<WireBounds>,
}

#[derive(Debug, Serialize)]
pub struct WireBounds {
    pub p50_ms: [f64; 2],
    pub p95_ms: [f64; 2],
    pub monthly_cost_usd: [f64; 2],
}

#[derive(Debug, Serialize)]
pub struct WireArch {
    pub current: &'static str,
    pub alternative: &'static str,
    pub memory_mb: u32,
    pub current_monthly_cost_usd: f64,
    pub alternative_monthly_cost_usd: f64,
    pub alternative_monthly_cost_range_usd: [f64; 2],
    /// Duration on the alternative / duration now: [low, central, high].
    pub duration_ratio: [f64; 3],
    pub price_ratio: f64,
    pub monthly_saving_usd: f64,
    pub confidence: &'static str,
}

fn figures(p: &CurvePoint) -> WireFigures {
    WireFigures {
        duration_p50_ms: round3(p.p50_ms),
        duration_p95_ms: round3(p.p95_ms),
        billed_ms: round3(p.billed_ms),
        monthly_cost_usd: p.monthly_cost_usd,
        confidence: p.confidence.as_str(),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn wire(r: &Recommendation) -> WireRecommendation {
    let line = |f: &tern_core::recommend::Fit| WireFitLine {
        fixed_ms: round3(f.fixed_ms),
        cpu_ms: round3(f.cpu_ms),
        r2: f.r2,
        max_rel_residual: f.max_rel_residual,
        sizes: f.distinct_sizes,
    };
    let (method, lean, fit) = match &r.basis {
        Basis::Fitted {
            p50,
            p95,
            mean,
            min_mb,
            max_mb,
        } => (
            "natural_experiment",
            None,
            Some(WireFit {
                p50: line(p50),
                p95: line(p95),
                mean: line(mean),
                measured_from_mb: *min_mb,
                measured_to_mb: *max_mb,
            }),
        ),
        Basis::SingleSize { lean } => ("single_size", Some(lean.as_str()), None),
    };
    let a = &r.architecture;
    WireRecommendation {
        function: r.function.clone(),
        region: r.region.clone(),
        architecture_now: r.arch.as_str(),
        version: r.version.clone(),
        current_memory_mb: r.current_memory_mb,
        recommended_memory_mb: r.recommended_memory_mb,
        strategy: r.strategy.name(),
        current: figures(&r.current),
        recommended: figures(&r.recommended),
        monthly_saving_usd: r.monthly_saving_usd,
        monthly_invocations: r.monthly_invocations.round(),
        confidence: r.confidence.as_str(),
        method,
        lean,
        fit,
        observed: r
            .observed
            .iter()
            .map(|g| WireObserved {
                memory_mb: g.memory_mb,
                architecture: g.arch.as_str(),
                source: match g.source {
                    recommend::Source::Logs => "logs",
                    recommend::Source::Tuning => "tuning",
                },
                invocations: g.invocations,
                warm_successful: g.samples,
                p50_ms: round3(g.p50_ms),
                p95_ms: round3(g.p95_ms),
                mean_ms: round3(g.mean_ms),
            })
            .collect(),
        floor: WireFloor {
            memory_mb: r.floor.memory_mb,
            max_used_mb: r.floor.max_used_mb,
            p999_used_mb: r.floor.p999_used_mb,
            headroom: r.floor.headroom,
            oom_kills: r.floor.oom_kills,
            near_limit: r.floor.near_limit,
            oom_mb: r.floor.oom_mb,
        },
        evidence: r
            .evidence
            .iter()
            .map(|e| WireEvidence {
                kind: e.kind,
                text: e.text.clone(),
            })
            .collect(),
        curve: r
            .curve
            .iter()
            .map(|p| WireCurvePoint {
                memory_mb: p.memory_mb,
                p50: round3(p.p50_ms),
                p95: round3(p.p95_ms),
                monthly_cost_usd: p.monthly_cost_usd,
                current: p.current,
                allowed: p.allowed,
                confidence: p.confidence.as_str(),
                support: p.support.as_str(),
                limit: p.limit.clone(),
                p95_range_ms: [round3(p.p95.low), round3(p.p95.high)],
                monthly_cost_range_usd: [p.cost.low, p.cost.high],
                bounds: p.bounds.map(|b| {
                    let (p50l, p50h) = b.p50_range();
                    let (p95l, p95h) = b.p95_range();
                    let (cl, ch) = b.cost_range();
                    WireBounds {
                        p50_ms: [round3(p50l), round3(p50h)],
                        p95_ms: [round3(p95l), round3(p95h)],
                        monthly_cost_usd: [cl, ch],
                    }
                }),
            })
            .collect(),
        architecture: WireArch {
            current: a.current.as_str(),
            alternative: a.alternative.as_str(),
            memory_mb: a.memory_mb,
            current_monthly_cost_usd: a.current_monthly_cost_usd,
            alternative_monthly_cost_usd: a.alternative_monthly_cost_usd,
            alternative_monthly_cost_range_usd: [
                a.alternative_cost_range_usd.0,
                a.alternative_cost_range_usd.1,
            ],
            duration_ratio: [a.speed_ratio.0, a.speed_ratio.1, a.speed_ratio.2],
            price_ratio: a.price_ratio,
            monthly_saving_usd: a.current_monthly_cost_usd - a.alternative_monthly_cost_usd,
            confidence: a.confidence.as_str(),
        },
        exact_prices: r.exact_prices,
        decision: r.decision.as_str(),
        reason: r.decision.reason().map(str::to_string),
        summary: r.summary.clone(),
        gain: WireGain {
            axis: r.gain.axis,
            value: r.gain.value,
            low: r.gain.low,
            high: r.gain.high,
        },
        monthly_saving_range_usd: [r.monthly_saving_range_usd.0, r.monthly_saving_range_usd.1],
        certainty: r.certainty.score,
        certainty_label: r.certainty.label,
        measured_range_mb: r.measured_range.map(|(a, b)| [a, b]),
        timeout_ms: r.timeout_ms,
        tune_command: r.tune_command.clone(),
    }
}

use crate::text::usd;

fn table(out: &WireOutput) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Memory recommendations ({}{}), {:.1} days of logs; monthly figures at the observed rate",
        out.strategy,
        out.weight
            .map_or(String::new(), |w| format!(", weight {w}")),
        out.observed_days
    );
    let _ = writeln!(
        s,
        "{:<32} {:>7} {:>7} {:>10} {:>10} {:>11} {:>11} {:>10}  {:<11} {:<18} NOTE",
        "FUNCTION",
        "NOW MB",
        "REC MB",
        "P95 NOW",
        "P95 REC",
        "$/MO NOW",
        "$/MO REC",
        "SAVING",
        "CONF",
        "METHOD"
    );
    for f in &out.functions {
        let mut note = Vec::new();
        if f.floor.near_limit {
            note.push(format!(
                "near memory limit (floor {} MB)",
                f.floor.memory_mb
            ));
        }
        if f.floor.oom_kills > 0 {
            note.push(format!(
                "{} OOM kill{}",
                f.floor.oom_kills,
                if f.floor.oom_kills == 1 { "" } else { "s" }
            ));
        }
        let count = |what: &str| f.curve.iter().filter(|p| p.support == what).count();
        note.push(format!(
            "sizes: {} measured, {} interpolated, {} estimated",
            count("measured"),
            count("interpolated"),
            count("estimated")
        ));
        if let Some(l) = f.lean {
            note.push(format!("evidence: {}", l.replace('_', "-")));
        }
        if f.architecture.confidence == "estimated" && f.architecture.alternative == "arm64" {
            note.push(format!(
                "arm64 ≈ {} /mo (±20% speed, estimated)",
                usd(f.architecture.alternative_monthly_cost_usd)
            ));
        }
        let name: String = f.function.chars().take(32).collect();
        let _ = writeln!(
            s,
            "{:<32} {:>7} {:>7} {:>10} {:>10} {:>11} {:>11} {:>10}  {:<11} {:<18} {}",
            name,
            f.current_memory_mb,
            f.recommended_memory_mb,
            format!("{:.1}ms", f.current.duration_p95_ms),
            format!("{:.1}ms", f.recommended.duration_p95_ms),
            usd(f.current.monthly_cost_usd),
            usd(f.recommended.monthly_cost_usd),
            usd(f.monthly_saving_usd),
            format!("{} {:.2}", f.certainty_label, f.certainty),
            f.method,
            note.join("; ")
        );
        let _ = writeln!(s, "  {}", f.summary);
    }
    let changes = out
        .functions
        .iter()
        .filter(|f| f.decision == "change")
        .count() as u64;
    let kept = out.functions.len() as u64 - changes;
    let total = out.total_monthly_saving_usd;
    let effect = if changes == 0 {
        "no change advised".to_string()
    } else if total >= 0.005 {
        format!("saves {} a month", usd(total))
    } else if total <= -0.005 {
        format!("costs {} a month more, for speed", usd(-total))
    } else {
        "about the same cost".to_string()
    };
    if changes == 0 {
        let _ = writeln!(s, "total: {effect}; {} kept", group(kept));
    } else {
        let _ = writeln!(
            s,
            "total: {} advised ({effect}); {} kept",
            crate::text::counted(changes, "change", "changes"),
            group(kept)
        );
    }
    for k in &out.skipped {
        let _ = writeln!(s, "skipped {}: {}", k.function, k.reason);
    }
    s
}
