//! The decision: which point of the curve to recommend, or why to keep the current size.
//! The rules are listed in the module documentation of [`super`].

use super::stats::Interval;
use super::{Certainty, CurvePoint, Decision, Gain, Settings, Strategy, Support};

/// Differences on the strategy's axis smaller than this share are ties whatever the data.
const TIE_MIN: f64 = 0.002;
/// Ties never stretch past this share: a tie rule must not give up a saving worth a change.
const TIE_MAX: f64 = 0.05;

pub(super) struct Choice {
    pub index: usize,
    pub decision: Decision,
    pub gain: Gain,
    pub certainty: Certainty,
    /// A size outside the measured ones the advice depends on: measure it.
    pub to_measure: Option<u32>,
}

/// The figure the strategy minimises at `p`. Balanced weighs cost and p95 relative to the
/// current size, so the current size scores 1 and the score reads as "share of today".
fn metric(p: &CurvePoint, cur: &CurvePoint, strategy: Strategy) -> Interval {
    match strategy {
        Strategy::Cost => p.cost,
        Strategy::Speed => p.p95,
        Strategy::Balanced { weight } => {
            let w = if weight.is_finite() {
                weight.clamp(0.0, 1.0)
            } else {
                0.5
            };
            let c0 = cur.cost.value.max(f64::MIN_POSITIVE);
            let d0 = cur.p95.value.max(f64::MIN_POSITIVE);
            let (c, d) = (w * p.cost.value / c0, (1.0 - w) * p.p95.value / d0);
            // The two errors are independent: they add in quadrature.
            let down = (w * (p.cost.value - p.cost.low) / c0)
                .hypot((1.0 - w) * (p.p95.value - p.p95.low) / d0);
            let up = (w * (p.cost.high - p.cost.value) / c0)
                .hypot((1.0 - w) * (p.p95.high - p.p95.value) / d0);
            Interval::new(c + d, c + d - down, c + d + up)
        }
    }
}

/// The other axis, for ties: the upper end of its range.
fn secondary(p: &CurvePoint, strategy: Strategy) -> f64 {
    match strategy {
        Strategy::Cost => p.p95.high,
        Strategy::Speed | Strategy::Balanced { .. } => p.cost.high,
    }
}

/// The strategy that judges the other axis.
fn other(s: Strategy) -> Strategy {
    match s {
        Strategy::Cost => Strategy::Speed,
        Strategy::Speed | Strategy::Balanced { .. } => Strategy::Cost,
    }
}

/// Relative gain of `p` over `cur` on the strategy's axis, with the interval that takes both
/// sizes' uncertainty into account (positive: `p` is better).
pub(super) fn gain(p: &CurvePoint, cur: &CurvePoint, strategy: Strategy) -> Gain {
    let f = metric(p, cur, strategy);
    let f0 = metric(cur, cur, strategy);
    let axis = match strategy {
        Strategy::Cost => "cost",
        Strategy::Speed => "p95",
        Strategy::Balanced { .. } => "balanced score",
    };
    if f0.value <= 0.0 {
        return Gain {
            axis,
            value: 0.0,
            low: 0.0,
            high: 0.0,
        };
    }
    let clamp = |x: f64| {
        if x.is_finite() {
            x.clamp(-10.0, 1.0)
        } else {
            -10.0
        }
    };
    // The ratio's interval in log space, the two sizes' errors independent (quadrature).
    let ln = |x: f64| x.max(f64::MIN_POSITIVE).ln();
    let (fv, f0v) = (ln(f.value), ln(f0.value));
    let up = (ln(f.high) - fv).hypot(f0v - ln(f0.low));
    let down = (fv - ln(f.low)).hypot(ln(f0.high) - f0v);
    let ratio = (fv - f0v).exp();
    Gain {
        axis,
        value: clamp(1.0 - ratio),
        low: clamp(1.0 - ratio * up.exp()),
        high: clamp(1.0 - ratio * (-down).exp()),
    }
}

/// "23% cheaper and 2.0x faster at p95 than 1024 MB": `a` against `b` (a difference under
/// half a percent in cost or 5% in p95 reads as "as cheap", "about as fast").
pub(super) fn compare(a: &CurvePoint, b: &CurvePoint) -> String {
    let cost = (b.monthly_cost_usd > 0.0)
        .then(|| 1.0 - a.monthly_cost_usd / b.monthly_cost_usd)
        .filter(|r| r.abs() >= 0.005)
        .map(|r| {
            if r > 0.0 {
                format!("{:.0}% cheaper", r * 100.0)
            } else {
                format!("{:.0}% dearer", -r * 100.0)
            }
        });
    let speed = (a.p95_ms > 0.0 && b.p95_ms > 0.0)
        .then(|| b.p95_ms / a.p95_ms)
        .filter(|r| (r - 1.0).abs() >= 0.05)
        .map(|r| {
            if r > 1.0 {
                format!("{r:.1}x faster at p95")
            } else {
                format!("{:.1}x slower at p95", 1.0 / r)
            }
        });
    let than = b.memory_mb;
    match (cost, speed) {
        (Some(c), Some(d)) => format!("{c} and {d} than {than} MB"),
        (Some(c), None) => format!("{c} than {than} MB and about as fast at p95"),
        (None, Some(d)) => format!("as cheap as {than} MB and {d}"),
        (None, None) => format!("as cheap and about as fast at p95 as {than} MB"),
    }
}

fn support_rank(s: Support) -> u8 {
    match s {
        Support::Measured => 0,
        Support::Interpolated => 1,
        Support::Extrapolated => 2,
    }
}

/// The best of `options` (indices into `curve`): the lowest figure on the strategy's axis;
/// among those within the uncertainty of the best (one standard error of the difference, at
/// least 0.2%, at most 5%), the measured ones if any, then the best on the other axis, then
/// the smaller size.
fn best_of(
    curve: &[CurvePoint],
    cur: &CurvePoint,
    options: &[usize],
    s: Strategy,
) -> Option<usize> {
    let best = options.iter().copied().min_by(|&a, &b| {
        metric(&curve[a], cur, s)
            .value
            .total_cmp(&metric(&curve[b], cur, s).value)
    })?;
    let m = metric(&curve[best], cur, s);
    let near: Vec<usize> = options
        .iter()
        .copied()
        .filter(|&i| {
            let f = metric(&curve[i], cur, s);
            // Within noise: one standard error of the difference (the two intervals combined).
            let tol = (f.relative_half_width().hypot(m.relative_half_width()) / 1.96)
                .clamp(TIE_MIN, TIE_MAX);
            f.value <= m.value * (1.0 + tol)
        })
        .collect();
    // Measured beats modelled: a tie that includes a measured size is decided among the
    // measured ones.
    let firm = near
        .iter()
        .map(|&i| support_rank(curve[i].support))
        .min()
        .unwrap_or(0);
    let near: Vec<usize> = near
        .into_iter()
        .filter(|&i| support_rank(curve[i].support) == firm)
        .collect();
    // The other axis judged at the unfavourable end of each range: a modelled size does not
    // win a tie on a speed-up nobody measured.
    let fastest = near
        .iter()
        .map(|&i| secondary(&curve[i], s))
        .fold(f64::INFINITY, f64::min);
    near.into_iter()
        .filter(|&i| secondary(&curve[i], s) <= fastest * (1.0 + TIE_MIN))
        .min_by_key(|&i| (support_rank(curve[i].support), curve[i].memory_mb))
}

fn needed(p: &CurvePoint, settings: &Settings) -> f64 {
    let g = if settings.min_gain.is_finite() {
        settings.min_gain.max(0.0)
    } else {
        0.05
    };
    if p.support == Support::Extrapolated {
        2.0 * g
    } else {
        g
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn certainty(rec: &CurvePoint, cur: &CurvePoint, gain: &Gain, change: bool) -> Certainty {
    let support = |p: &CurvePoint| -> f64 {
        match p.support {
            Support::Measured => 1.0,
            Support::Interpolated => 0.8,
            Support::Extrapolated => 0.45,
        }
    };
    let n = rec.samples.min(cur.samples) as f64;
    let samples = 0.4 + 0.6 * (1.0 - (-n / 150.0).exp());
    let width = if change {
        if gain.value > 0.0 {
            0.5 + 0.5 * (gain.low / gain.value).clamp(0.0, 1.0)
        } else {
            0.5
        }
    } else {
        // Keeping is sure when no alternative could reach the minimum gain.
        1.0
    };
    let score = (support(rec).min(support(cur)) * samples * width).clamp(0.0, 1.0);
    Certainty::from_score(score)
}

/// A measured size measurably cheaper than the measured size below it with allowed sizes
/// between them: more memory cost less, so the duration fell faster than memory grew (a
/// working set that starts to fit, say). Interpolation cannot see where in the gap that
/// happens, and a size there may be cheaper still: the one nearest the middle (in log
/// memory), to measure.
fn sweet_spot_gap(curve: &[CurvePoint], i: usize) -> Option<u32> {
    let p = curve.get(i)?;
    if p.support != Support::Measured {
        return None;
    }
    let below = curve[..i]
        .iter()
        .rposition(|q| q.support == Support::Measured)?;
    let q = &curve[below];
    if p.cost.high >= q.cost.low {
        return None;
    }
    let middle = 0.5 * (f64::from(q.memory_mb).ln() + f64::from(p.memory_mb).ln());
    curve[below + 1..i]
        .iter()
        .filter(|g| g.allowed)
        .min_by(|a, b| {
            let off = |g: &CurvePoint| (f64::from(g.memory_mb).ln() - middle).abs();
            off(a).total_cmp(&off(b))
        })
        .map(|g| g.memory_mb)
}

/// Apply the decision rules to `curve`, whose `cur` is the current size.
pub(super) fn decide(curve: &[CurvePoint], cur: usize, settings: &Settings) -> Option<Choice> {
    let c = curve.get(cur)?;
    let s = settings.strategy;
    let others: Vec<usize> = (0..curve.len())
        .filter(|&i| i != cur && curve[i].allowed)
        .collect();

    if !c.allowed {
        // The current size breaks a hard limit: move up to a size known to keep it, whatever
        // that costs; the gain rules only apply between sizes that are safe.
        let up: Vec<usize> = others
            .iter()
            .copied()
            .filter(|&i| curve[i].memory_mb > c.memory_mb)
            .collect();
        let why = c.limit.clone().unwrap_or_default();
        // Sizes with measurements first; otherwise the smallest step up, not a model's
        // favourite far away.
        let known: Vec<usize> = up
            .iter()
            .copied()
            .filter(|&i| curve[i].support != Support::Extrapolated)
            .collect();
        let step = if known.is_empty() {
            up.iter().copied().min_by_key(|&i| curve[i].memory_mb)
        } else {
            best_of(curve, c, &known, s)
        };
        if let Some(i) = step {
            let g = gain(&curve[i], c, s);
            let p = &curve[i];
            return Some(Choice {
                index: i,
                decision: Decision::Change,
                gain: g,
                certainty: certainty(p, c, &g, true),
                to_measure: (p.support != Support::Measured).then_some(p.memory_mb),
            });
        }
        let probe = curve
            .iter()
            .filter(|p| p.memory_mb > c.memory_mb)
            .map(|p| p.memory_mb)
            .find(|&m| m >= c.memory_mb.saturating_mul(2))
            .or_else(|| curve.iter().map(|p| p.memory_mb).max());
        return Some(Choice {
            index: cur,
            decision: Decision::Keep {
                reason: format!(
                    "{why}; no larger size is known to fix it (more memory helps only if the \
                     time is CPU work)"
                ),
            },
            gain: gain(c, c, s),
            // Unsure by nature: the fix is known only after a measurement.
            certainty: Certainty::from_score(certainty(c, c, &gain(c, c, s), false).score * 0.5),
            to_measure: probe.filter(|&m| m != c.memory_mb),
        });
    }

    let qualified: Vec<usize> = others
        .iter()
        .copied()
        .filter(|&i| {
            let p = &curve[i];
            let need = needed(p, settings);
            let g = gain(p, c, s);
            // Or no worse on the strategy's axis and clearly better on the other one.
            let o = gain(p, c, other(s));
            (g.value >= need && g.low > 0.0) || (g.value >= 0.0 && o.value >= need && o.low > 0.0)
        })
        .collect();
    // What rests on extrapolation alone must also beat the best size with measurements by
    // twice the minimum: otherwise the measured size gives the same advice without the risk.
    let known: Vec<usize> = qualified
        .iter()
        .copied()
        .filter(|&i| curve[i].support != Support::Extrapolated)
        .collect();
    let qualified: Vec<usize> = match best_of(curve, c, &known, s) {
        None => qualified,
        Some(k) => qualified
            .into_iter()
            .filter(|&i| {
                let p = &curve[i];
                if p.support != Support::Extrapolated {
                    return true;
                }
                let g = gain(p, &curve[k], s);
                g.value >= needed(p, settings) && g.low > 0.0
            })
            .collect(),
    };
    if let Some(i) = best_of(curve, c, &qualified, s) {
        let g = gain(&curve[i], c, s);
        let p = &curve[i];
        let to_measure = if p.support == Support::Extrapolated {
            Some(p.memory_mb)
        } else {
            // The model's estimate beyond the measured sizes beats this advice by the bar for
            // extrapolation, but its range does not: a measurement would tell.
            others
                .iter()
                .copied()
                .filter(|&j| {
                    let q = &curve[j];
                    q.support == Support::Extrapolated && gain(q, p, s).value >= needed(q, settings)
                })
                .min_by(|&a, &b| {
                    metric(&curve[a], c, s)
                        .value
                        .total_cmp(&metric(&curve[b], c, s).value)
                })
                .map(|j| curve[j].memory_mb)
                .or_else(|| sweet_spot_gap(curve, i))
        };
        return Some(Choice {
            index: i,
            decision: Decision::Change,
            gain: g,
            certainty: certainty(p, c, &g, true),
            to_measure,
        });
    }

    // Keep: say why, from the most promising alternative.
    let best_among = |measured_only: bool| {
        others
            .iter()
            .copied()
            .filter(|&i| !measured_only || curve[i].support == Support::Measured)
            .min_by(|&a, &b| {
                metric(&curve[a], c, s)
                    .value
                    .total_cmp(&metric(&curve[b], c, s).value)
            })
    };
    let alternative = best_among(false);
    let measured_alternative = best_among(true);
    let (reason, to_measure, sure) = match alternative {
        None => (
            "no other size passes the limits (memory floor, out-of-memory kills, timeout)"
                .to_string(),
            None,
            true,
        ),
        Some(i) => {
            let p = &curve[i];
            let g = gain(p, c, s);
            let need = needed(p, settings);
            let what = match p.support {
                Support::Measured => "measured",
                Support::Interpolated => "interpolated between measured sizes",
                Support::Extrapolated => "estimated outside the measured sizes",
            };
            let reason = if g.value <= 0.0 && (p.support == Support::Measured || g.high < need) {
                match measured_alternative.and_then(|k| curve.get(k)) {
                    // The decision in the measurements' own words.
                    Some(q) if c.support == Support::Measured => format!(
                        "measured {} ({} and {} warm invocations)",
                        compare(c, q),
                        c.samples,
                        q.samples
                    ),
                    _ => format!(
                        "{} MB already has the best {} of the sizes considered",
                        c.memory_mb, g.axis
                    ),
                }
            } else if g.value <= 0.0 {
                format!(
                    "{} MB has the best predicted {}; {} MB ({what}) could improve it by up to \
                     {}, which only a measurement can tell",
                    c.memory_mb,
                    g.axis,
                    p.memory_mb,
                    pct(g.high)
                )
            } else if g.value < need {
                format!(
                    "the best alternative, {} MB ({what}), improves the {} by only {} (a change \
                     needs {})",
                    p.memory_mb,
                    g.axis,
                    pct(g.value),
                    pct(need)
                )
            } else {
                format!(
                    "{} MB ({what}) may improve the {} by {}, but the range ({} to {}) \
                     includes no gain",
                    p.memory_mb,
                    g.axis,
                    pct(g.value),
                    pct(g.low),
                    pct(g.high)
                )
            };
            let probe = (p.support != Support::Measured && g.high >= need).then_some(p.memory_mb);
            (reason, probe, g.high < need)
        }
    };
    let g = gain(c, c, s);
    let mut cert = certainty(c, c, &g, false);
    if !sure {
        cert = Certainty::from_score(cert.score * 0.7);
    }
    Some(Choice {
        index: cur,
        decision: Decision::Keep { reason },
        gain: g,
        certainty: cert,
        to_measure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::Confidence;

    /// A point with p95 and cost known to ± `rel`.
    fn point(memory_mb: u32, p95: f64, cost: f64, rel: f64, support: Support) -> CurvePoint {
        let iv = |v: f64| Interval::new(v, v * (1.0 - rel), v * (1.0 + rel));
        CurvePoint {
            memory_mb,
            p50_ms: p95 / 2.0,
            p95_ms: p95,
            billed_ms: p95 / 2.0,
            monthly_cost_usd: cost,
            bounds: None,
            confidence: if support == Support::Extrapolated {
                Confidence::Estimated
            } else {
                Confidence::Measured
            },
            support,
            current: false,
            allowed: true,
            limit: None,
            p50: iv(p95 / 2.0),
            p95: iv(p95),
            p99: iv(p95 * 1.2),
            billed: iv(p95 / 2.0),
            cost: iv(cost),
            samples: 1000,
        }
    }

    fn settings(strategy: Strategy) -> Settings {
        Settings {
            strategy,
            ..Settings::default()
        }
    }

    fn pick(curve: &[CurvePoint], cur: usize, s: Strategy) -> (u32, Decision) {
        let c = decide(curve, cur, &settings(s)).unwrap_or_else(|| panic!("no choice"));
        (curve[c.index].memory_mb, c.decision)
    }

    #[test]
    fn a_gain_below_the_minimum_keeps_the_current_size() {
        let curve = [
            point(512, 100.0, 9.7, 0.001, Support::Measured),
            point(1024, 100.0, 10.0, 0.001, Support::Measured),
        ];
        let (m, d) = pick(&curve, 1, Strategy::Cost);
        assert_eq!(m, 1024);
        assert!(d.reason().is_some_and(|r| r.contains("only 3.0%")), "{d:?}");
    }

    #[test]
    fn a_gain_whose_interval_reaches_zero_keeps_the_current_size() {
        let curve = [
            point(512, 100.0, 9.0, 0.08, Support::Measured),
            point(1024, 100.0, 10.0, 0.08, Support::Measured),
        ];
        let (m, d) = pick(&curve, 1, Strategy::Cost);
        assert_eq!(m, 1024);
        assert!(
            d.reason().is_some_and(|r| r.contains("includes no gain")),
            "{d:?}"
        );
    }

    /// A measured change stands, and names the unmeasured size whose estimate beats it by the
    /// extrapolation bar though its range does not; one short of the bar is not named.
    #[test]
    fn a_measured_change_names_a_promising_unmeasured_size() {
        for (p95, named) in [(80.0, Some(10_240)), (95.0, None)] {
            let curve = [
                point(1769, 200.0, 10.0, 0.01, Support::Measured),
                point(3008, 100.0, 10.0, 0.01, Support::Measured),
                point(10_240, p95, 10.0, 0.3, Support::Extrapolated),
            ];
            let c = decide(&curve, 0, &settings(Strategy::Speed))
                .unwrap_or_else(|| panic!("no choice"));
            assert_eq!(curve[c.index].memory_mb, 3008);
            assert_eq!(c.decision, Decision::Change);
            assert_eq!(c.to_measure, named, "p95 {p95}");
        }
    }

    /// More memory measured cheaper across a gap: the size in the middle of the gap is named
    /// for measurement; a gap the cost rose across is not.
    #[test]
    fn a_cheaper_size_across_a_gap_names_the_middle_of_it() {
        for (cost, named) in [(8.5, Some(1536)), (10.5, None)] {
            let curve = [
                point(1024, 200.0, 10.0, 0.01, Support::Measured),
                point(1536, 150.0, 9.5, 0.05, Support::Interpolated),
                point(1769, 120.0, 9.2, 0.05, Support::Interpolated),
                point(2048, 80.0, cost, 0.01, Support::Measured),
            ];
            let s = if cost < 10.0 {
                Strategy::Cost
            } else {
                Strategy::Speed
            };
            let c = decide(&curve, 0, &settings(s)).unwrap_or_else(|| panic!("no choice"));
            assert_eq!(curve[c.index].memory_mb, 2048);
            assert_eq!(c.to_measure, named, "cost {cost}");
        }
    }

    #[test]
    fn an_extrapolated_gain_needs_twice_the_minimum() {
        for (cost, want) in [(9.3, 1024), (8.8, 512)] {
            let curve = [
                point(512, 100.0, cost, 0.001, Support::Extrapolated),
                point(1024, 100.0, 10.0, 0.001, Support::Measured),
            ];
            assert_eq!(pick(&curve, 1, Strategy::Cost).0, want, "{cost}");
        }
        // The same 7% gain, measured, is enough.
        let curve = [
            point(512, 100.0, 9.3, 0.001, Support::Measured),
            point(1024, 100.0, 10.0, 0.001, Support::Measured),
        ];
        assert_eq!(pick(&curve, 1, Strategy::Cost), (512, Decision::Change));
    }

    #[test]
    fn ties_go_to_the_other_axis() {
        // 256 and 1024 cost the same, 1024 is four times faster: cost takes 1024.
        let curve = [
            point(256, 800.0, 8.0, 0.005, Support::Measured),
            point(512, 400.0, 10.0, 0.005, Support::Measured),
            point(1024, 200.0, 8.0, 0.005, Support::Measured),
        ];
        assert_eq!(pick(&curve, 1, Strategy::Cost), (1024, Decision::Change));
        // 256 and 512 equally fast, 1769 0.1% faster at 3.3 times the cost: speed never takes
        // 1769; it may take 256 (as fast, cheaper).
        let curve = [
            point(256, 100.0, 5.0, 0.005, Support::Measured),
            point(512, 100.0, 10.0, 0.005, Support::Measured),
            point(1769, 99.9, 33.0, 0.005, Support::Extrapolated),
        ];
        assert_eq!(pick(&curve, 1, Strategy::Speed), (256, Decision::Change));
        // The current size as cheap as the cheapest and faster: keep.
        let curve = [
            point(256, 800.0, 8.0, 0.005, Support::Measured),
            point(1024, 200.0, 8.0, 0.005, Support::Measured),
        ];
        assert_eq!(pick(&curve, 1, Strategy::Cost).0, 1024);
    }

    #[test]
    fn never_worse_than_the_current_size() {
        let curve = [
            point(256, 100.0, 12.0, 0.001, Support::Measured),
            point(512, 110.0, 10.0, 0.001, Support::Measured),
            point(1024, 50.0, 30.0, 0.001, Support::Measured),
        ];
        for s in [
            Strategy::Cost,
            Strategy::Speed,
            Strategy::Balanced { weight: 0.5 },
        ] {
            let c = decide(&curve, 1, &settings(s)).unwrap_or_else(|| panic!("no choice"));
            assert!(c.gain.value >= 0.0, "{s:?}: {:?}", c.gain);
        }
        // Balanced: 1024 is 2.2 times faster at 3 times the cost: score 0.5·3 + 0.5·0.45 > 1.
        assert_eq!(pick(&curve, 1, Strategy::Balanced { weight: 0.5 }).0, 512);
    }

    #[test]
    fn comparisons_read_as_sentences() {
        let m = Support::Measured;
        let (a, b) = (
            point(1536, 100.0, 7.6, 0.01, m),
            point(1024, 200.0, 10.0, 0.01, m),
        );
        assert_eq!(
            compare(&a, &b),
            "24% cheaper and 2.0x faster at p95 than 1024 MB"
        );
        assert_eq!(
            compare(&b, &a),
            "32% dearer and 2.0x slower at p95 than 1536 MB"
        );
        let (c, d) = (
            point(512, 102.0, 5.0, 0.01, m),
            point(1024, 100.0, 10.0, 0.01, m),
        );
        assert_eq!(
            compare(&c, &d),
            "50% cheaper than 1024 MB and about as fast at p95"
        );
        let e = point(2048, 50.0, 10.0, 0.01, m);
        assert_eq!(
            compare(&e, &d),
            "as cheap as 1024 MB and 2.0x faster at p95"
        );
        assert_eq!(
            compare(&d, &d),
            "as cheap and about as fast at p95 as 1024 MB"
        );
    }

    #[test]
    fn a_current_size_over_a_limit_moves_up() {
        let mut curve = [
            point(512, 100.0, 5.0, 0.001, Support::Measured),
            point(1024, 100.0, 10.0, 0.001, Support::Measured),
            point(1536, 90.0, 15.0, 0.01, Support::Extrapolated),
        ];
        curve[0].allowed = false;
        curve[1].allowed = false;
        curve[1].limit = Some("ran out of memory at 1024 MB".into());
        let c = decide(&curve, 1, &settings(Strategy::Cost)).unwrap_or_else(|| panic!());
        assert_eq!((c.index, &c.decision), (2, &Decision::Change));
        assert_eq!(c.to_measure, Some(1536));
        // Nothing above passes: keep, and say so.
        curve[2].allowed = false;
        let c = decide(&curve, 1, &settings(Strategy::Cost)).unwrap_or_else(|| panic!());
        assert!(c
            .decision
            .reason()
            .is_some_and(|r| r.contains("ran out of memory")));
    }
}
