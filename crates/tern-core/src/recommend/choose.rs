//! Choices other surfaces share with the recommender: a size's monthly cost, the memory
//! floor, and the pick among a strategy's candidate points.

use super::{Strategy, CANDIDATES_MB};
use crate::cost::{self, CostOptions, Usage};
use crate::model::Arch;

/// Monthly cost of `invocations` invocations of `billed_ms` each at `memory_mb`, priced by
/// the cost engine (first-tier volume of this function alone, no free tier). The second value
/// is false when the region fell back to us-east-1 prices.
pub fn monthly_cost(
    region: &str,
    arch: Arch,
    invocations: f64,
    billed_ms: f64,
    memory_mb: u32,
) -> (f64, bool) {
    let n = if invocations.is_finite() {
        invocations.max(0.0)
    } else {
        0.0
    };
    let billed = if billed_ms.is_finite() {
        billed_ms.max(0.0)
    } else {
        0.0
    };
    let usage = Usage {
        region: region.to_string(),
        arch,
        month: 0,
        requests: n.round() as u64,
        gb_seconds: n * cost::gb_seconds(billed, f64::from(memory_mb)),
    };
    let c = cost::price_usage(&[usage], CostOptions::default());
    c.first()
        .map_or((0.0, false), |c| (c.total(), c.exact_region))
}

/// The smallest candidate size that holds `max_used_mb` plus `headroom` (10,240 MB at most).
pub fn memory_floor(max_used_mb: f64, headroom: f64) -> u32 {
    let h = if headroom.is_finite() {
        headroom.max(0.0)
    } else {
        0.0
    };
    let need = if max_used_mb.is_finite() {
        max_used_mb.max(0.0) * (1.0 + h)
    } else {
        0.0
    };
    CANDIDATES_MB
        .iter()
        .copied()
        .find(|&c| f64::from(c) >= need)
        .unwrap_or(10_240)
}

/// What a strategy compares at one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrategyPoint {
    pub memory_mb: u32,
    pub p95_ms: f64,
    pub monthly_cost_usd: f64,
    pub allowed: bool,
}

fn tie(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// The index of the size `strategy` picks among the allowed points; `None` when none is
/// allowed. Deterministic: remaining ties go to the smaller size.
pub fn choose(points: &[StrategyPoint], strategy: Strategy) -> Option<usize> {
    let ok =
        |p: &StrategyPoint| p.allowed && p.p95_ms.is_finite() && p.monthly_cost_usd.is_finite();
    let max_cost = points
        .iter()
        .filter(|p| ok(p))
        .map(|p| p.monthly_cost_usd)
        .fold(0.0, f64::max);
    let max_p95 = points
        .iter()
        .filter(|p| ok(p))
        .map(|p| p.p95_ms)
        .fold(0.0, f64::max);
    let score = |p: &StrategyPoint| -> (f64, f64) {
        match strategy {
            Strategy::Cost => (p.monthly_cost_usd, p.p95_ms),
            Strategy::Speed => (p.p95_ms, p.monthly_cost_usd),
            Strategy::Balanced { weight } => {
                let w = if weight.is_finite() {
                    weight.clamp(0.0, 1.0)
                } else {
                    0.5
                };
                let c = if max_cost > 0.0 {
                    p.monthly_cost_usd / max_cost
                } else {
                    0.0
                };
                let d = if max_p95 > 0.0 {
                    p.p95_ms / max_p95
                } else {
                    0.0
                };
                (w * c + (1.0 - w) * d, p.monthly_cost_usd)
            }
        }
    };
    let mut best: Option<(usize, (f64, f64), u32)> = None;
    for (i, p) in points.iter().enumerate() {
        if !ok(p) {
            continue;
        }
        let s = score(p);
        let better = match &best {
            None => true,
            Some((_, b, m)) => {
                if !tie(s.0, b.0) {
                    s.0 < b.0
                } else if !tie(s.1, b.1) {
                    s.1 < b.1
                } else {
                    p.memory_mb < *m
                }
            }
        };
        if better {
            best = Some((i, s, p.memory_mb));
        }
    }
    best.map(|b| b.0)
}
