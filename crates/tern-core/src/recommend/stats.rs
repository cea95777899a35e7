//! Figures with 95% intervals, computed without resampling so that the same logs always give
//! the same advice.
//!
//! - Quantiles: the exact distribution-free order-statistic interval `tern compare` uses
//!   ([`crate::impact::stats::quantile_ci`]): ranks from the binomial law bracket the true
//!   quantile with at least 95% probability whatever the shape of the distribution (long
//!   tails, two modes). With too few values for those ranks, the interval runs to the smallest
//!   or largest value seen.
//! - Means: Student's t interval, `mean ± t·s/√n` (central limit; billed means of hundreds of
//!   invocations are close to normal even when single durations are not).

use super::fit;

pub const Z95: f64 = 1.959_963_984_540_054;

/// A figure and its 95% interval; `low <= value <= high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// A figure known exactly.
    pub fn exact(value: f64) -> Interval {
        Interval {
            value,
            low: value,
            high: value,
        }
    }

    /// Put `value` inside `[low, high]` and make every part finite and non-negative.
    pub fn new(value: f64, low: f64, high: f64) -> Interval {
        let fix = |x: f64| if x.is_finite() { x.max(0.0) } else { 0.0 };
        let v = fix(value);
        Interval {
            value: v,
            low: fix(low).min(v),
            high: if high.is_finite() { high.max(v) } else { v },
        }
    }

    /// Every part times `k` (non-negative).
    pub fn scale(self, k: f64) -> Interval {
        Interval::new(self.value * k, self.low * k, self.high * k)
    }

    /// Half the width relative to the value: 0.05 is ±5%.
    pub fn relative_half_width(&self) -> f64 {
        if self.value > 0.0 {
            (self.high - self.low) / (2.0 * self.value)
        } else {
            0.0
        }
    }
}

/// The `q` quantile of sorted finite values (interpolated) with its order-statistic interval;
/// `None` when empty.
pub fn quantile_ci(sorted: &[f64], q: f64) -> Option<Interval> {
    let value = fit::quantile(sorted, q)?;
    let (first, last) = (*sorted.first()?, *sorted.last()?);
    let (low, high) = match crate::impact::stats::quantile_ci(sorted, q, 0.05) {
        Some(ci) => (ci.lo, ci.hi),
        // Not enough values for an exact interval at this quantile: the values seen are all
        // that can be said.
        None => (first, last),
    };
    Some(Interval::new(value, low, high))
}

/// The mean of finite values with its t interval; `None` when empty. One value gives an
/// interval from zero to twice the value: one invocation says little about the next.
pub fn mean_ci(values: &[f64]) -> Option<Interval> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return Some(Interval::new(mean, 0.0, 2.0 * mean));
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = t95(n - 1.0) * (var / n).sqrt();
    Some(Interval::new(mean, mean - half, mean + half))
}

/// The two-sided 95% quantile of Student's t with `dof` degrees of freedom (Cornish-Fisher
/// expansion around the normal; within 1% of the table from 5 degrees of freedom up).
pub fn t95(dof: f64) -> f64 {
    if !(dof.is_finite() && dof >= 1.0) {
        return 12.706;
    }
    let z = Z95;
    let z3 = z * z * z;
    let z5 = z3 * z * z;
    z + (z3 + z) / (4.0 * dof) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * dof * dof)
}

/// Quantile intervals for a size measured elsewhere (active tuning) that left only its
/// percentiles: the spread between p50 and p95 stands in for the sample, shrinking with
/// `√n` as the order-statistic interval does.
pub fn approximate_ci(value: f64, spread: f64, n: u64, q: f64) -> Interval {
    let n = (n.max(1)) as f64;
    // How many spreads one standard error of the quantile is, for a log-normal-like shape.
    let k = if q >= 0.9 { 2.0 } else { 1.3 };
    let half = Z95 * k * spread.abs() / n.sqrt();
    Interval::new(value, value - half, value + half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statistic_interval_brackets_the_median() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        let i = quantile_ci(&xs, 0.5).unwrap_or_else(|| panic!("empty"));
        assert!((i.value - 50.5).abs() < 1e-9);
        // The exact binomial ranks for n = 100: the 40th and 61st values.
        assert_eq!((i.low, i.high), (40.0, 61.0));
        let one = quantile_ci(&[7.0], 0.95).unwrap_or_else(|| panic!("empty"));
        assert_eq!((one.low, one.value, one.high), (7.0, 7.0, 7.0));
        assert!(quantile_ci(&[], 0.5).is_none());
    }

    #[test]
    fn mean_interval_matches_the_t_table() {
        assert!((t95(10.0) - 2.228).abs() < 0.01);
        assert!((t95(30.0) - 2.042).abs() < 0.005);
        let i = mean_ci(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0])
            .unwrap_or_else(|| panic!("empty"));
        // s = 3.317, n = 11: half width 2.228 · 1.0 = 2.23.
        assert!((i.value - 6.0).abs() < 1e-12);
        assert!((i.high - i.value - 2.228).abs() < 0.02, "{i:?}");
        assert!(mean_ci(&[]).is_none());
    }

    #[test]
    fn intervals_stay_ordered_and_finite() {
        let i = Interval::new(5.0, 7.0, f64::NAN);
        assert_eq!((i.low, i.value, i.high), (5.0, 5.0, 5.0));
        let i = Interval::new(-1.0, -2.0, 3.0);
        assert_eq!((i.low, i.value, i.high), (0.0, 0.0, 3.0));
    }
}
