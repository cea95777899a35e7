//! Memory recommendations from logs alone (`tern recommend`).
//!
//! Every REPORT carries the memory size, so a function that ran at several sizes within one
//! code version is a natural experiment. Measured beats modelled:
//!
//! - **Measured sizes.** A size with at least [`Settings::min_samples`] warm successful
//!   invocations (and the current size, whatever its count) is described by its own figures:
//!   p50, p95 and p99 latency (cold starts include their init time) with order-statistic
//!   intervals, and the mean billed duration over every invocation (INIT billing, failures and
//!   rounding included, as AWS reports it) with a t interval ([`stats`]).
//! - **Between measured sizes**, each figure is interpolated linearly in log(figure) against
//!   log(memory) between the two neighbours. That passes through the measurements and can
//!   follow any speed-up, super-linear ones included; the interval widens towards the middle
//!   of the gap because the curve may bend there.
//! - **Beyond the measured sizes** the duration model ([`fit`]: `a + b/CPU share`, or the
//!   single-size lean) extrapolates from the nearest measured size, labelled `estimated`, with
//!   bounds from fully I/O-bound (flat) to fully CPU-bound (duration ∝ 1 / memory, threads
//!   included) and, when two sizes were measured, the measured slope carried on. Two measured
//!   sizes at or above one vCPU where the larger is measurably faster contradict the model (the
//!   work is multi-threaded): above them the measured slope, at most proportional to memory,
//!   is the estimate. Init time is
//!   modelled as a quarter fixed and three quarters CPU work, weighted by the nearest measured
//!   cold-start rate.
//!
//! The decision rules, in order:
//!
//! 1. **Hard limits.** No size below the memory floor (most used + headroom); no size at or
//!    below one where the function ran out of memory; no smaller size for a function that
//!    times out; no size whose p99 (upper end of its range) comes within
//!    [`Settings::timeout_margin`] of the timeout. When the current size itself breaks a
//!    limit, the advice is the best larger size known to keep it, or a measurement.
//! 2. **Never worse.** A size is only considered when its figure on the strategy's axis (cost,
//!    p95, or the balanced score) is better than the current size's measured one.
//! 3. **Minimum effect.** A change needs a gain of at least [`Settings::min_gain`] whose whole
//!    interval is above zero; a gain that rests on extrapolation needs twice that. Otherwise the
//!    advice is to keep, with the reason.
//! 4. **Ties go to the other axis.** Among the sizes within the uncertainty of the best on the
//!    strategy's axis (one standard error of the difference, 0.2% to 5%), measured sizes
//!    before modelled ones, then the fastest wins for cost and the cheapest for speed and
//!    balanced, each judged at the unfavourable end of its range. A size no worse than
//!    the current one on the strategy's axis and better by the minimum effect on the other
//!    axis is a change too (as fast, and cheaper).
//! 5. **Extrapolation is labelled**: its range is given and the `tern tune` command that would
//!    measure it. A change to a measured size names that command too when an unmeasured size's
//!    estimate beats it by the bar for extrapolation but its range does not, or when it is
//!    measurably cheaper than the measured size below it (the duration fell faster than
//!    memory grew): then the middle of the gap between them, which interpolation cannot see.
//!
//! The confidence is computed from the data: whether the sizes compared were measured,
//! interpolated or extrapolated, how many invocations they rest on, and how much of the gain
//! survives its interval.
//!
//! Pure: callers hand in invocations (and optional measured points from active tuning) and
//! the monthly invocation rate; every dollar figure comes from [`crate::cost`].
//!
//! Assumptions, stated once: durations do not grow with memory (the interpolation ranges rest
//! on it); the memory a function needs does not depend on its memory size.

mod advice;
mod choose;
mod decide;
pub mod fit;
mod input;
mod measured;
mod modelled;
pub mod stats;
mod text;

use crate::cost::{self, usd};
use crate::model::Outcome;
use measured::{fit_on, groups, lean_of, summarize, usable};
use modelled::{predict, Ends, Model};
use text::{arch_advice, experiment_evidence, summary};

pub use advice::*;
pub use choose::{choose, memory_floor, monthly_cost, StrategyPoint};
pub use fit::{cpu_factor, Fit, FitPoint, VCPU_MB};
pub use input::*;
pub use stats::Interval;

/// Sizes considered, MB: the console's common choices, one vCPU (1,769 MB), the old 3,008 MB
/// maximum and the vCPU steps up to the 10,240 MB maximum. The current size is always added.
pub const CANDIDATES_MB: &[u32] = &[
    128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008, 4096, 5120, 6144, 8192, 10240,
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// The cheapest predicted monthly cost (ties: faster, then smaller).
    Cost,
    /// The fastest predicted p95 (ties: cheaper).
    Speed,
    /// Minimise `weight · cost / cost now + (1 − weight) · p95 / p95 now`: Power Tuning's
    /// weighted sum, measured against the current size so that the score of a size does not
    /// depend on which other sizes are considered ([`choose`] keeps Power Tuning's
    /// normalisation by the largest value).
    Balanced { weight: f64 },
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Cost => "cost",
            Strategy::Speed => "speed",
            Strategy::Balanced { .. } => "balanced",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub strategy: Strategy,
    /// Memory kept above the most ever used (0.2 = 20%).
    pub headroom: f64,
    /// Flag functions whose most memory used is at least this share of their size.
    pub near_limit: f64,
    /// Relative speed uncertainty of the other architecture when it was never observed.
    pub arch_speed_uncertainty: f64,
    /// Warm successful invocations a size needs before its own figures are used as measured.
    pub min_samples: u64,
    /// The smallest relative gain worth a change (0.05 = 5%); twice this when the gain rests
    /// on extrapolation.
    pub min_gain: f64,
    /// A size is ruled out when its p99 comes within this share of the timeout (0.1: above
    /// 90% of it).
    pub timeout_margin: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            strategy: Strategy::Balanced { weight: 0.5 },
            headroom: 0.2,
            near_limit: 0.9,
            arch_speed_uncertainty: 0.2,
            min_samples: 20,
            min_gain: 0.05,
            timeout_margin: 0.1,
        }
    }
}

/// [`recommend`], reduced to what size and what saving: the one source of memory advice for
/// quick wins, insights and the dashboard.
pub fn advise(input: &FunctionInput, settings: &Settings) -> Result<Advice, Skip> {
    recommend(input, settings).map(|r| r.advice())
}

/// The advice for a function seen at one size over a range, from that size's summary: the
/// same decision, size and saving [`advise`] gives from the invocations.
pub fn advise_summary(
    input: &FunctionInput,
    summary: SizeSummary,
    settings: &Settings,
) -> SummaryAdvice {
    let input = FunctionInput {
        observations: Vec::new(),
        summaries: vec![summary],
        ..input.clone()
    };
    match advise(&input, settings) {
        Ok(a) => SummaryAdvice::Advice(a),
        Err(skip) => SummaryAdvice::Skipped(skip),
    }
}

/// Recommend a memory size for one function.
pub fn recommend(input: &FunctionInput, settings: &Settings) -> Result<Recommendation, Skip> {
    let mut obs: Vec<&Observation> = input.observations.iter().filter(|o| usable(o)).collect();
    let summaries: Vec<&SizeSummary> = input
        .summaries
        .iter()
        .filter(|s| s.memory_mb > 0 && s.invocations > 0)
        .collect();
    if obs.is_empty() && input.measured.is_empty() && summaries.is_empty() {
        return Err(Skip::NoData);
    }
    obs.sort_by_key(|o| o.at_ms);
    let latest = obs.last().copied();
    // Without observations the summary seen last stands for the latest invocation.
    let latest_summary = summaries.iter().copied().max_by_key(|s| s.last_ms);
    let version = match latest {
        Some(o) => o.version.clone(),
        None => latest_summary.and_then(|s| s.version.clone()),
    };
    let current_mb = latest
        .map(|o| o.memory_mb)
        .or_else(|| latest_summary.map(|s| s.memory_mb))
        .unwrap_or_else(|| input.measured.first().map_or(128, |m| m.memory_mb));
    let arch = input.arch;
    let region = input.region.clone();
    let rate = if input.monthly_invocations.is_finite() {
        input.monthly_invocations.max(0.0)
    } else {
        0.0
    };
    let mut evidence = Vec::new();

    // The version analysed: the latest. Configuration changes within it are the experiment.
    let in_version: Vec<&Observation> = obs
        .iter()
        .copied()
        .filter(|o| o.version == version)
        .collect();
    // Summaries of the floor's evidence are every version's, as observations are; the rest
    // reads the analysed version's only.
    let all_summaries = summaries;
    let summaries: Vec<&SizeSummary> = all_summaries
        .iter()
        .copied()
        .filter(|s| s.version == version)
        .collect();
    let older = obs.len() - in_version.len()
        + all_summaries
            .iter()
            .filter(|s| s.version != version)
            .map(|s| usize::try_from(s.invocations).unwrap_or(usize::MAX))
            .fold(0usize, usize::saturating_add);
    if older > 0 {
        evidence.push(ev(
            "version",
            format!(
                "analysing version {} only; {older} invocations of other versions left out (code changes confound sizes)",
                version.as_deref().unwrap_or("(unknown)")
            ),
        ));
    }
    let owned: Vec<SizeSummary> = summaries.iter().map(|s| (*s).clone()).collect();
    let all_groups = groups(&in_version, &input.measured, &owned);
    let mine: Vec<&SizeGroup> = all_groups.iter().filter(|g| g.arch == arch).collect();
    let current_group = mine
        .iter()
        .copied()
        .find(|g| g.memory_mb == current_mb && g.source == Source::Logs)
        .or_else(|| mine.iter().copied().find(|g| g.memory_mb == current_mb))
        .or_else(|| mine.last().copied());
    let Some(cur) = current_group else {
        return Err(Skip::NoWarmSuccess);
    };
    for g in &all_groups {
        evidence.push(ev(
            "size",
            format!(
                "{} MB {} ({}): {} invocations, {} warm successful: p50 {:.1} ms, p95 {:.1} ms, mean {:.1} ms",
                g.memory_mb,
                g.arch.as_str(),
                match g.source {
                    Source::Logs => "logs",
                    Source::Tuning => "tuning",
                },
                g.invocations,
                g.samples,
                g.p50_ms,
                g.p95_ms,
                g.mean_ms
            ),
        ));
    }
    for g in all_groups.iter().filter(|g| g.samples < 30) {
        evidence.push(ev(
            "few_samples",
            format!(
                "only {} warm successful invocations at {} MB: its percentiles are rough",
                g.samples, g.memory_mb
            ),
        ));
    }
    experiment_evidence(input, &in_version, version.as_deref(), &mut evidence);

    // Memory floor: the most used by invocations that finished, plus headroom, and above every
    // size that ran out of memory (a kill's Max Memory Used is the limit, not the need).
    // A summary's most used includes its kills' (the limit): the out-of-memory floor stands
    // in for it then.
    let used: Vec<f64> = obs
        .iter()
        .filter(|o| o.outcome != Outcome::OutOfMemory)
        .filter_map(|o| o.max_memory_used_mb.map(f64::from))
        .chain(
            all_summaries
                .iter()
                .filter(|s| s.oom_kills == 0)
                .filter_map(|s| s.max_used_mb.map(f64::from)),
        )
        .collect();
    let oom_kills = obs
        .iter()
        .filter(|o| o.outcome == Outcome::OutOfMemory)
        .count() as u64
        + all_summaries.iter().map(|s| s.oom_kills).sum::<u64>();
    let oom_mb = obs
        .iter()
        .filter(|o| o.outcome == Outcome::OutOfMemory)
        .map(|o| o.memory_mb)
        .chain(
            all_summaries
                .iter()
                .filter(|s| s.oom_kills > 0)
                .map(|s| s.memory_mb),
        )
        .max();
    let mut used_sorted = used.clone();
    used_sorted.sort_by(f64::total_cmp);
    let max_used = used_sorted.last().copied().unwrap_or(0.0);
    let p999 = fit::quantile(&used_sorted, 0.999).unwrap_or(0.0);
    let max_any = obs
        .iter()
        .filter(|o| o.memory_mb == current_mb)
        .filter_map(|o| o.max_memory_used_mb)
        .chain(
            all_summaries
                .iter()
                .filter(|s| s.memory_mb == current_mb)
                .filter_map(|s| s.max_used_mb),
        )
        .max()
        .unwrap_or(0);
    let used_floor = memory_floor(max_used.max(p999), settings.headroom);
    let oom_floor = oom_mb.map(|m| {
        CANDIDATES_MB
            .iter()
            .copied()
            .find(|&c| c > m)
            .unwrap_or(10_240)
    });
    let floor_mb = used_floor.max(oom_floor.unwrap_or(0));
    let near_limit = f64::from(max_any) >= settings.near_limit * f64::from(current_mb);
    let floor = Floor {
        memory_mb: floor_mb,
        max_used_mb: max_used as u32,
        p999_used_mb: p999,
        headroom: settings.headroom,
        oom_kills,
        near_limit,
        oom_mb,
    };
    evidence.push(ev(
        "floor",
        format!(
            "memory floor {floor_mb} MB: most used {max_used:.0} MB (p99.9 {p999:.0} MB) + {:.0}% headroom, rounded up to a candidate size{}",
            settings.headroom * 100.0,
            oom_mb.map_or(String::new(), |m| format!(", and above {m} MB where it ran out of memory"))
        ),
    ));
    if let Some(m) = oom_mb {
        evidence.push(ev(
            "out_of_memory",
            format!(
                "{oom_kills} out-of-memory kills, at up to {m} MB: no size at or below {m} MB is recommended"
            ),
        ));
    }
    if near_limit {
        evidence.push(ev(
            "near_limit",
            format!(
                "uses up to {max_any} MB of {current_mb} MB ({:.0}%): at the limit",
                f64::from(max_any) * 100.0 / f64::from(current_mb.max(1))
            ),
        ));
    }

    // Timeout: given, or the longest timed-out invocation (it ran until the timeout).
    let timed_out: Vec<f64> = in_version
        .iter()
        .filter(|o| o.outcome == Outcome::Timeout)
        .map(|o| o.duration_ms)
        .chain(summaries.iter().filter_map(|s| s.longest_timeout_ms))
        .collect();
    let timeouts = in_version
        .iter()
        .filter(|o| o.outcome == Outcome::Timeout)
        .count() as u64
        + summaries.iter().map(|s| s.timeouts).sum::<u64>();
    let timeout_ms = input
        .timeout_ms
        .filter(|t| t.is_finite() && *t > 0.0)
        .or_else(|| {
            timed_out
                .iter()
                .copied()
                .filter(|d| d.is_finite() && *d > 0.0)
                .reduce(f64::max)
        });
    let margin = if settings.timeout_margin.is_finite() {
        settings.timeout_margin.clamp(0.0, 0.9)
    } else {
        0.1
    };
    if timeouts > 0 {
        evidence.push(ev(
            "timeouts",
            format!(
                "{timeouts} invocations timed out{}: no smaller size is recommended",
                timeout_ms.map_or(String::new(), |t| format!(" (timeout {t:.0} ms)"))
            ),
        ));
    }

    // The model, for sizes beyond the measured ones.
    let fitted: Option<(Fit, Fit, Fit)> = match (
        fit_on(&mine, |g| g.p50_ms),
        fit_on(&mine, |g| g.p95_ms),
        fit_on(&mine, |g| g.mean_ms),
    ) {
        (Some(a), Some(b), Some(c)) => Some((a, b, c)),
        _ => None,
    };
    let init: Vec<f64> = in_version
        .iter()
        .filter(|o| o.memory_mb == cur.memory_mb && o.arch == arch)
        .filter_map(|o| o.init_ms)
        .collect();
    let init_p50 = summarize(init).map(|s| s.p50).or_else(|| {
        summaries
            .iter()
            .rev()
            .find(|s| s.memory_mb == cur.memory_mb && s.arch == arch)
            .and_then(|s| s.init_p50_ms)
    });
    let (lean, reasons) = lean_of(cur, init_p50, input.runtime.as_deref());
    let basis = match fitted {
        Some((f50, f95, fmean)) => {
            for (name, f) in [("p50", &f50), ("p95", &f95), ("mean", &fmean)] {
                evidence.push(ev(
                    "fit",
                    format!(
                        "{name}: d(m) = {:.1} ms + {:.1} ms × 1769/min(m, 1769) over {} sizes; R² {}; largest residual {:.1}%{}",
                        f.fixed_ms,
                        f.cpu_ms,
                        f.distinct_sizes,
                        f.r2.map_or("n/a".to_string(), |r| format!("{r:.3}")),
                        f.max_rel_residual * 100.0,
                        if f.distinct_sizes == 2 {
                            " (two sizes: the curve passes through both, R² proves nothing)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            Basis::Fitted {
                p50: f50,
                p95: f95,
                mean: fmean,
                min_mb: mine.iter().map(|g| g.memory_mb).min().unwrap_or(current_mb),
                max_mb: mine.iter().map(|g| g.memory_mb).max().unwrap_or(current_mb),
            }
        }
        None => {
            evidence.push(ev(
                "single_size",
                format!(
                    "no two CPU shares seen for this version: beyond {} MB the estimate assumes {}",
                    cur.memory_mb,
                    match lean {
                        Lean::CpuBound => "CPU-bound work",
                        Lean::IoBound => "I/O-bound work",
                        Lean::Unclear => "half the time scales with CPU",
                    }
                ),
            ));
            for r in reasons {
                evidence.push(ev("lean", r));
            }
            Basis::SingleSize { lean }
        }
    };

    // Measured sizes: enough warm successful invocations, or the current size. One group per
    // size: the one with more invocations behind it.
    let min_n = settings.min_samples.max(1);
    let mut anchors: Vec<&SizeGroup> = mine
        .iter()
        .copied()
        .filter(|g| g.samples >= min_n || std::ptr::eq(*g, cur))
        .collect();
    anchors.sort_by_key(|g| (g.memory_mb, std::cmp::Reverse(g.samples)));
    anchors.dedup_by_key(|g| g.memory_mb);
    let measured_range = anchors
        .first()
        .zip(anchors.last())
        .map(|(a, b)| (a.memory_mb, b.memory_mb));
    let model = Model {
        fits: fitted,
        share: lean.cpu_share(),
    };

    let mut sizes: Vec<u32> = CANDIDATES_MB.to_vec();
    sizes.push(current_mb);
    sizes.extend(anchors.iter().map(|g| g.memory_mb));
    sizes.retain(|&m| m > 0 && m <= 10_240);
    sizes.sort_unstable();
    sizes.dedup();
    let mut exact = true;
    let mut curve: Vec<CurvePoint> = Vec::with_capacity(sizes.len());
    for &m in &sizes {
        let Some(f) = predict(m, &anchors, &model) else {
            continue;
        };
        let cost_of = |billed: f64, exact: &mut bool| {
            let (c, e) = monthly_cost(&region, arch, rate, billed, m);
            *exact &= e;
            c
        };
        let cost = Interval::new(
            cost_of(f.billed.value, &mut exact),
            cost_of(f.billed.low, &mut exact),
            cost_of(f.billed.high, &mut exact),
        );
        let bounds = f.ends.map(|(cpu, io)| {
            let mut figures = |k: &Ends| Figures {
                p50_ms: k.p50,
                p95_ms: k.p95,
                billed_ms: k.billed,
                monthly_cost_usd: cost_of(k.billed, &mut exact),
            };
            Bounds {
                cpu_bound: figures(&cpu),
                io_bound: figures(&io),
            }
        });
        let limit = if m < used_floor {
            Some(format!("below the memory floor of {used_floor} MB"))
        } else if let Some(o) = oom_mb.filter(|&o| m <= o) {
            Some(format!("ran out of memory at {o} MB"))
        } else if timeouts > 0 && m < current_mb {
            Some(format!(
                "times out at {current_mb} MB ({timeouts} timeouts): no smaller size"
            ))
        } else {
            timeout_ms
                .filter(|t| f.p99.high >= (1.0 - margin) * t)
                .map(|t| {
                    format!(
                        "p99 up to {:.0} ms is within {:.0}% of the {t:.0} ms timeout",
                        f.p99.high,
                        margin * 100.0
                    )
                })
        };
        curve.push(CurvePoint {
            memory_mb: m,
            p50_ms: f.p50.value,
            p95_ms: f.p95.value,
            billed_ms: f.billed.value,
            monthly_cost_usd: cost.value,
            bounds,
            confidence: if f.support == Support::Extrapolated {
                Confidence::Estimated
            } else {
                Confidence::Measured
            },
            support: f.support,
            current: m == current_mb,
            allowed: limit.is_none(),
            limit,
            p50: f.p50,
            p95: f.p95,
            p99: f.p99,
            billed: f.billed,
            cost,
            samples: f.samples,
        });
    }
    let Some(cur_idx) = curve.iter().position(|p| p.current) else {
        return Err(Skip::NoData);
    };
    let Some(choice) = decide::decide(&curve, cur_idx, settings) else {
        return Err(Skip::NoData);
    };
    let (Some(current), Some(recommended)) = (curve.get(cur_idx), curve.get(choice.index)) else {
        return Err(Skip::NoData);
    };
    let (current, recommended) = (current.clone(), recommended.clone());
    let change = choice.decision == Decision::Change;
    let tune_command = choice
        .to_measure
        .map(|m| tune_command(&input.function, &[current_mb, m]));
    let summary = summary(&current, &recommended, &choice, tune_command.as_deref());
    evidence.push(ev("decision", summary.clone()));
    if recommended.support == Support::Extrapolated && change {
        evidence.push(ev(
            "extrapolation",
            format!(
                "{} MB was not measured: p95 {:.0} to {:.0} ms, {} to {} a month",
                recommended.memory_mb,
                recommended.p95.low,
                recommended.p95.high,
                usd(recommended.cost.low),
                usd(recommended.cost.high)
            ),
        ));
    }
    let architecture = arch_advice(
        &all_groups,
        arch,
        &recommended,
        &region,
        rate,
        settings.arch_speed_uncertainty,
    );
    let (_, exact_alt) = cost::price_list(&region, architecture.alternative);
    Ok(Recommendation {
        function: input.function.clone(),
        region: region.clone(),
        arch,
        strategy: settings.strategy,
        version,
        current_memory_mb: current_mb,
        recommended_memory_mb: recommended.memory_mb,
        monthly_saving_usd: if change {
            current.monthly_cost_usd - recommended.monthly_cost_usd
        } else {
            0.0
        },
        monthly_saving_range_usd: if change {
            (
                current.cost.low - recommended.cost.high,
                current.cost.high - recommended.cost.low,
            )
        } else {
            (0.0, 0.0)
        },
        confidence: recommended.confidence,
        current,
        recommended,
        monthly_invocations: rate,
        basis,
        observed: all_groups,
        floor,
        curve,
        architecture,
        evidence,
        exact_prices: exact && exact_alt,
        decision: choice.decision,
        gain: choice.gain,
        certainty: choice.certainty,
        measured_range,
        timeout_ms,
        tune_command,
        summary,
    })
}
