//! The duration model and its fit.
//!
//! Lambda gives a function a share of CPU proportional to its memory: 1,769 MB is one vCPU.
//! A handler's time splits into a part that waits (network, disk: independent of memory) and
//! a part that computes (proportional to 1 / CPU share). Code that runs on one thread stops
//! speeding up at one vCPU, so the model caps the share there:
//!
//! ```text
//! d(m) = a + b · x(m),   x(m) = 1769 / min(m, 1769)
//! ```
//!
//! `a` is the fixed (waiting) part and `b` the CPU work at one full vCPU, both in ms and both
//! non-negative. The cap at one vCPU is an assumption: multi-threaded handlers keep speeding
//! up past it, so predictions above the largest observed size are only ever `estimated`.

/// Memory at which a function has one full vCPU (AWS Lambda documentation).
pub const VCPU_MB: f64 = 1769.0;

/// The CPU-share term `x(m)`: how many times longer a unit of CPU work takes at `m` MB than at
/// one vCPU. Sizes below 1 MB count as 1 MB, so the result is always finite.
pub fn cpu_factor(memory_mb: f64) -> f64 {
    let m = if memory_mb.is_finite() {
        memory_mb.clamp(1.0, VCPU_MB)
    } else {
        VCPU_MB
    };
    VCPU_MB / m
}

/// One point to fit: a memory size, the statistic observed there, and its weight (the number
/// of invocations behind it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitPoint {
    pub memory_mb: f64,
    pub value_ms: f64,
    pub weight: f64,
}

/// A fitted curve `d(m) = fixed_ms + cpu_ms · x(m)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// The part that does not depend on memory, ms.
    pub fixed_ms: f64,
    /// CPU work at one full vCPU, ms.
    pub cpu_ms: f64,
    /// Weighted coefficient of determination over the points; `None` when the points do not
    /// vary (nothing to explain). With two sizes the line passes through both: R² is 1 and
    /// proves nothing.
    pub r2: Option<f64>,
    /// Largest |residual| / observed value over the points.
    pub max_rel_residual: f64,
    /// Distinct CPU shares the fit saw.
    pub distinct_sizes: usize,
}

impl Fit {
    pub fn predict(&self, memory_mb: f64) -> f64 {
        self.fixed_ms + self.cpu_ms * cpu_factor(memory_mb)
    }

    /// The share of the time at `memory_mb` that is CPU work.
    pub fn cpu_share(&self, memory_mb: f64) -> f64 {
        let total = self.predict(memory_mb);
        if total > 0.0 {
            self.cpu_ms * cpu_factor(memory_mb) / total
        } else {
            0.0
        }
    }
}

/// Weighted least squares of `value = fixed + cpu · x(memory)` with both coefficients kept
/// non-negative. Points with a non-finite or negative value, or a weight that is not positive
/// and finite, are ignored. `None` when fewer than two distinct CPU shares remain (sizes at
/// or above one vCPU share one value): a single size cannot separate the two parts.
pub fn fit(points: &[FitPoint]) -> Option<Fit> {
    let pts: Vec<(f64, f64, f64)> = points
        .iter()
        .filter(|p| {
            p.value_ms.is_finite()
                && p.value_ms >= 0.0
                && p.weight.is_finite()
                && p.weight > 0.0
                && p.memory_mb.is_finite()
        })
        .map(|p| (cpu_factor(p.memory_mb), p.value_ms, p.weight))
        .collect();
    let mut xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * b.abs().max(1.0));
    if xs.len() < 2 {
        return None;
    }
    let w: f64 = pts.iter().map(|p| p.2).sum();
    if !(w.is_finite() && w > 0.0) {
        return None;
    }
    let xm = pts.iter().map(|p| p.2 * p.0).sum::<f64>() / w;
    let ym = pts.iter().map(|p| p.2 * p.1).sum::<f64>() / w;
    let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - xm).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - xm) * (p.1 - ym)).sum();
    if !(sxx.is_finite() && sxx > 0.0 && sxy.is_finite()) {
        return None;
    }
    let mut b = sxy / sxx;
    let mut a = ym - b * xm;
    if b < 0.0 {
        // Slower with more CPU: noise or a confounder. No CPU part.
        b = 0.0;
        a = ym;
    }
    if a < 0.0 {
        // All CPU: the line through the origin.
        a = 0.0;
        let sxx0: f64 = pts.iter().map(|p| p.2 * p.0 * p.0).sum();
        let sxy0: f64 = pts.iter().map(|p| p.2 * p.0 * p.1).sum();
        b = if sxx0 > 0.0 {
            (sxy0 / sxx0).max(0.0)
        } else {
            0.0
        };
    }
    if !(a.is_finite() && b.is_finite()) {
        return None;
    }
    let ss_res: f64 = pts
        .iter()
        .map(|p| p.2 * (p.1 - (a + b * p.0)).powi(2))
        .sum();
    let ss_tot: f64 = pts.iter().map(|p| p.2 * (p.1 - ym).powi(2)).sum();
    let r2 = if ss_tot > 1e-12 * (ym * ym * w).max(1e-300) {
        Some((1.0 - ss_res / ss_tot).clamp(-1.0, 1.0))
    } else {
        None
    };
    let max_rel_residual = pts
        .iter()
        .map(|p| {
            let r = (p.1 - (a + b * p.0)).abs();
            if p.1 > 0.0 {
                r / p.1
            } else if r > 0.0 {
                1.0
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max);
    Some(Fit {
        fixed_ms: a,
        cpu_ms: b,
        r2,
        max_rel_residual,
        distinct_sizes: xs.len(),
    })
}

/// The `q` quantile (0..=1) of sorted finite values, linearly interpolated; `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !q.is_finite() {
        return None;
    }
    let q = q.clamp(0.0, 1.0);
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (l, h) = (sorted.get(lo)?, sorted.get(hi)?);
    Some(l + (h - l) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(m: f64, v: f64, w: f64) -> FitPoint {
        FitPoint {
            memory_mb: m,
            value_ms: v,
            weight: w,
        }
    }

    #[test]
    fn recovers_an_exact_curve() {
        let truth = |m: f64| 40.0 + 300.0 * cpu_factor(m);
        let pts: Vec<FitPoint> = [256.0, 512.0, 1024.0]
            .iter()
            .map(|&m| p(m, truth(m), 10.0))
            .collect();
        let f = fit(&pts).unwrap_or_else(|| panic!("no fit"));
        assert!((f.fixed_ms - 40.0).abs() < 1e-6, "{f:?}");
        assert!((f.cpu_ms - 300.0).abs() < 1e-6, "{f:?}");
        assert!(f.r2.is_some_and(|r| r > 0.999_999));
        assert_eq!(f.distinct_sizes, 3);
    }

    #[test]
    fn sizes_above_one_vcpu_are_one_size() {
        assert!(fit(&[p(2048.0, 10.0, 1.0), p(3008.0, 9.0, 1.0)]).is_none());
        assert!(fit(&[p(512.0, 10.0, 1.0)]).is_none());
    }

    #[test]
    fn coefficients_stay_non_negative() {
        // Slower at the larger size: no CPU part.
        let f = fit(&[p(256.0, 10.0, 1.0), p(1024.0, 12.0, 1.0)]).unwrap_or_else(|| panic!());
        assert_eq!(f.cpu_ms, 0.0);
        assert!((f.fixed_ms - 11.0).abs() < 1e-9);
        // Steeper than 1 / CPU: all CPU.
        let f = fit(&[p(256.0, 100.0, 1.0), p(1024.0, 10.0, 1.0)]).unwrap_or_else(|| panic!());
        assert_eq!(f.fixed_ms, 0.0);
        assert!(f.cpu_ms > 0.0);
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[1.0, 3.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, 3.0], 2.0), Some(3.0));
    }
}
