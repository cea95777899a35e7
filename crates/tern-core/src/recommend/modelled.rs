//! Unmeasured sizes: figures interpolated between measured neighbours or extrapolated with
//! the duration model, with their bounds.

use super::advice::{SizeGroup, Support};
use super::fit::{cpu_factor, Fit, VCPU_MB};
use super::stats::Interval;

/// The duration model used beyond the measured sizes.
pub(super) struct Model {
    pub(super) fits: Option<(Fit, Fit, Fit)>,
    /// Without a fit: the share of the time assumed to scale with CPU.
    pub(super) share: f64,
}

/// Figures at one end of an extrapolation.
#[derive(Clone, Copy)]
pub(super) struct Ends {
    pub(super) p50: f64,
    pub(super) p95: f64,
    pub(super) billed: f64,
}

pub(super) struct Predicted {
    pub(super) support: Support,
    pub(super) p50: Interval,
    pub(super) p95: Interval,
    pub(super) p99: Interval,
    pub(super) billed: Interval,
    pub(super) samples: u64,
    /// Extrapolated: the (CPU-bound, I/O-bound) ends.
    pub(super) ends: Option<(Ends, Ends)>,
}

/// Log-log interpolation between two measured figures, `t` of the way from `a` to `b` in
/// log(memory). The interval carries the neighbours' intervals and widens towards the middle
/// by up to a quarter of the step between them: the curve may bend between measurements.
fn interpolate(a: Interval, b: Interval, t: f64) -> Interval {
    let ln = |x: f64| x.max(1e-9).ln();
    let g = |x: f64, y: f64| ((1.0 - t) * ln(x) + t * ln(y)).exp();
    let w = 0.5 * t.min(1.0 - t) * (ln(a.value) - ln(b.value)).abs();
    Interval::new(
        g(a.value, b.value),
        g(a.low, b.low) * (-w).exp(),
        g(a.high, b.high) * w.exp(),
    )
}

/// The figures at `m`: measured, interpolated between the measured neighbours, or
/// extrapolated from the nearest measured size.
pub(super) fn predict(m: u32, anchors: &[&SizeGroup], model: &Model) -> Option<Predicted> {
    let first = anchors.first()?;
    let last = anchors.last()?;
    if let Some(g) = anchors.iter().find(|g| g.memory_mb == m) {
        return Some(Predicted {
            support: Support::Measured,
            p50: g.latency_p50,
            p95: g.latency_p95,
            p99: g.latency_p99,
            billed: g.billed,
            samples: g.samples,
            ends: None,
        });
    }
    if m > first.memory_mb && m < last.memory_mb {
        let b = anchors.iter().position(|g| g.memory_mb > m)?;
        let (lo, hi) = (anchors.get(b.checked_sub(1)?)?, anchors.get(b)?);
        let t = (f64::from(m) / f64::from(lo.memory_mb)).ln()
            / (f64::from(hi.memory_mb) / f64::from(lo.memory_mb)).ln();
        return Some(Predicted {
            support: Support::Interpolated,
            p50: interpolate(lo.latency_p50, hi.latency_p50, t),
            p95: interpolate(lo.latency_p95, hi.latency_p95, t),
            p99: interpolate(lo.latency_p99, hi.latency_p99, t),
            billed: interpolate(lo.billed, hi.billed, t),
            samples: lo.samples.min(hi.samples),
            ends: None,
        });
    }
    // Beyond: from the nearest measured size, with the slope to its neighbour when known.
    let below = m < first.memory_mb;
    let (r, next) = if below {
        (first, anchors.get(1))
    } else {
        (
            last,
            anchors.len().checked_sub(2).and_then(|i| anchors.get(i)),
        )
    };
    let (mf, rf) = (f64::from(m), f64::from(r.memory_mb));
    let slope = next.and_then(|n| {
        let s = (r.latency_p50.value.max(1e-9) / n.latency_p50.value.max(1e-9)).ln()
            / (f64::from(n.memory_mb) / rf).ln();
        (s.is_finite() && s > 0.0).then_some(s.min(3.0))
    });
    let cap = cpu_factor(mf) / cpu_factor(rf);
    let parallel = rf / mf;
    let mut ends = vec![1.0, cap, parallel];
    ends.extend(slope.map(|s| (rf / mf).powf(s)));
    let k_low = ends.iter().copied().fold(f64::INFINITY, f64::min);
    let k_high = ends.iter().copied().fold(0.0, f64::max);
    // Two measured sizes at or above one vCPU where the larger is measurably faster: the
    // work uses more than one vCPU, which the model (no speed-up past one vCPU) cannot see.
    // Above them, carry the measured slope on instead, at most proportionally to memory
    // (all of the time parallel work).
    let threaded = next
        .filter(|n| {
            !below && f64::from(n.memory_mb) >= VCPU_MB && r.latency_p50.high < n.latency_p50.low
        })
        .and(slope)
        .map(|s| (rf / mf).powf(s.min(1.0)));
    let central = |f: Option<&Fit>| -> f64 {
        let k = match (threaded, f) {
            (Some(k), _) => k,
            (None, Some(f)) if f.predict(rf) > 0.0 => f.predict(mf) / f.predict(rf),
            _ => 1.0 - model.share + model.share * cap,
        };
        if k.is_finite() {
            k.clamp(k_low, k_high)
        } else {
            1.0
        }
    };
    let (f50, f95, fmean) = match &model.fits {
        Some((a, b, c)) => (Some(a), Some(b), Some(c)),
        None => (None, None, None),
    };
    let scale = |i: Interval, k: f64| Interval::new(i.value * k, i.low * k_low, i.high * k_high);
    let (k50, k95, kmean) = (central(f50), central(f95), central(fmean));
    // Billed: the init part scales like init (a quarter fixed), the rest like the duration.
    let ip = r.init_billed_ms.max(0.0);
    let init_k = |k: f64| 0.25 + 0.75 * k;
    let (ki, ki_low, ki_high) = (init_k(cap), init_k(k_low).min(1.0), init_k(k_high).max(1.0));
    let rest = |x: f64| (x - ip).max(0.0);
    let billed = Interval::new(
        rest(r.billed.value) * kmean + ip * ki,
        rest(r.billed.low) * k_low + ip * ki_low,
        rest(r.billed.high) * k_high + ip * ki_high,
    );
    let cpu_k = if below { k_high } else { k_low };
    let at = |k: f64, ki: f64| Ends {
        p50: r.latency_p50.value * k,
        p95: r.latency_p95.value * k,
        billed: rest(r.billed.value) * k + ip * ki,
    };
    Some(Predicted {
        support: Support::Extrapolated,
        p50: scale(r.latency_p50, k50),
        p95: scale(r.latency_p95, k95),
        p99: scale(r.latency_p99, k95),
        billed,
        samples: r.samples,
        ends: Some((at(cpu_k, init_k(cpu_k)), at(1.0, 1.0))),
    })
}
