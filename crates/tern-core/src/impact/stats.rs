//! The tests behind change impact, each with a guarantee that needs no distributional
//! assumption beyond independent invocations:
//!
//! - [`quantile_ci`]: an exact, distribution-free confidence interval for a quantile from two
//!   order statistics (the number of samples below the true quantile is binomial).
//! - [`proportions`]: two-proportion z test (pooled), or Fisher's exact test when an expected
//!   cell count is below 5.
//! - [`means`]: Welch's test with the normal approximation (used with 30 or more per side).
//!
//! Pure and deterministic: no randomness, no clock.

/// Φ, the standard normal CDF (via erfc, fractional error below 1.2e-7).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    // Numerical Recipes `erfcc`: Chebyshev fit, fractional error < 1.2e-7 everywhere.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Two-sided p-value of a standard normal statistic.
pub fn two_sided_p(z: f64) -> f64 {
    if !z.is_finite() {
        return if z.is_nan() { 1.0 } else { 0.0 };
    }
    (2.0 * (1.0 - normal_cdf(z.abs()))).clamp(0.0, 1.0)
}

/// P(B ≤ k) for B ~ Binomial(n, q), for every k in 0..=n, computed exactly in log space.
fn binomial_cdf(n: usize, q: f64) -> Vec<f64> {
    let q = q.clamp(1e-12, 1.0 - 1e-12);
    let (lq, lr) = (q.ln(), (1.0 - q).ln());
    let mut logs = Vec::with_capacity(n + 1);
    let mut l = n as f64 * lr;
    logs.push(l);
    for k in 0..n {
        l += ((n - k) as f64).ln() - ((k + 1) as f64).ln() + lq - lr;
        logs.push(l);
    }
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = logs
        .iter()
        .map(|&l| {
            acc += (l - max).exp();
            acc
        })
        .collect();
    let total = acc.max(f64::MIN_POSITIVE);
    for c in &mut cdf {
        *c /= total;
    }
    cdf
}

/// A quantile estimate with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantileCi {
    /// The nearest-rank estimate: the ⌈n·q⌉-th smallest sample.
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The `q` quantile of `sorted` (ascending) with an exact distribution-free interval of
/// coverage at least `1 - alpha`: `[x(l), x(u)]` with ranks from the binomial(n, q) law of the
/// number of samples below the true quantile, `alpha / 2` in each tail. `None` when no such
/// ranks exist (too few samples for this quantile and confidence: "not enough data").
pub fn quantile_ci(sorted: &[f64], q: f64, alpha: f64) -> Option<QuantileCi> {
    let n = sorted.len();
    if n == 0 || !(0.0..1.0).contains(&q) || !(0.0..1.0).contains(&alpha) {
        return None;
    }
    let cdf = binomial_cdf(n, q);
    // Lower rank l (1-based): the largest with P(B ≤ l - 1) ≤ alpha/2.
    let tail = alpha / 2.0;
    let mut l = 0;
    for k in 1..=n {
        if cdf[k - 1] <= tail {
            l = k;
        } else {
            break;
        }
    }
    // Upper rank u: the smallest with P(B ≤ u - 1) ≥ 1 - alpha/2.
    let u = (1..=n).find(|&k| cdf[k - 1] >= 1.0 - tail)?;
    if l == 0 {
        return None;
    }
    let rank = ((n as f64 * q).ceil() as usize).clamp(1, n);
    Some(QuantileCi {
        estimate: sorted[rank - 1],
        lo: sorted[l - 1],
        hi: sorted[u - 1],
    })
}

/// Which test [`proportions`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProportionTest {
    TwoProportionZ,
    FisherExact,
}

impl ProportionTest {
    pub fn as_str(self) -> &'static str {
        match self {
            ProportionTest::TwoProportionZ => "two-proportion z test",
            ProportionTest::FisherExact => "Fisher's exact test",
        }
    }
}

/// Two-sided p-value for "the rates `x1/n1` and `x2/n2` are equal": pooled two-proportion z
/// test when every expected cell count is at least 5, else Fisher's exact test.
pub fn proportions(x1: u64, n1: u64, x2: u64, n2: u64) -> (f64, ProportionTest) {
    if n1 == 0 || n2 == 0 {
        return (1.0, ProportionTest::TwoProportionZ);
    }
    let (x1, n1, x2, n2) = (x1.min(n1), n1, x2.min(n2), n2);
    let n = (n1 + n2) as f64;
    let x = (x1 + x2) as f64;
    let expected_min = [
        n1 as f64 * x / n,
        n1 as f64 * (n - x) / n,
        n2 as f64 * x / n,
        n2 as f64 * (n - x) / n,
    ]
    .into_iter()
    .fold(f64::INFINITY, f64::min);
    if expected_min < 5.0 {
        return (fisher_exact(x1, n1, x2, n2), ProportionTest::FisherExact);
    }
    let p = x / n;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se <= 0.0 {
        return (1.0, ProportionTest::TwoProportionZ);
    }
    let z = (x1 as f64 / n1 as f64 - x2 as f64 / n2 as f64) / se;
    (two_sided_p(z), ProportionTest::TwoProportionZ)
}

/// ln(k!) for k in 0..=n.
fn log_factorials(n: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(n as usize + 1);
    let mut acc = 0.0;
    out.push(0.0);
    for k in 1..=n {
        acc += (k as f64).ln();
        out.push(acc);
    }
    out
}

/// Two-sided Fisher's exact test of a 2×2 table (successes `x1` of `n1`, `x2` of `n2`): the
/// total probability, with the margins fixed, of every table no more likely than the one seen.
pub fn fisher_exact(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    let n = n1 + n2;
    let k = x1 + x2;
    let lf = log_factorials(n);
    let f = |i: u64| lf[i as usize];
    let lo = k.saturating_sub(n2);
    let hi = k.min(n1);
    let log_p = |a: u64| -> f64 {
        // Hypergeometric: C(n1, a) C(n2, k - a) / C(n, k).
        f(n1) - f(a) - f(n1 - a) + f(n2) - f(k - a) - f(n2 - (k - a)) - (f(n) - f(k) - f(n - k))
    };
    let observed = log_p(x1);
    let mut p = 0.0;
    for a in lo..=hi {
        let l = log_p(a);
        if l <= observed + 1e-7 {
            p += l.exp();
        }
    }
    p.clamp(0.0, 1.0)
}

/// Mean, variance (n - 1) and count.
pub fn moments(xs: &[f64]) -> (f64, f64, usize) {
    let n = xs.len();
    if n == 0 {
        return (0.0, 0.0, 0);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    (mean, var, n)
}

/// Two-sided p-value of Welch's test that two means are equal (normal approximation; meant
/// for 30 or more samples per side).
pub fn means(a: &[f64], b: &[f64]) -> f64 {
    let (ma, va, na) = moments(a);
    let (mb, vb, nb) = moments(b);
    if na == 0 || nb == 0 {
        return 1.0;
    }
    let se = (va / na as f64 + vb / nb as f64).sqrt();
    if se <= 0.0 {
        return if ma == mb { 1.0 } else { 0.0 };
    }
    two_sided_p((mb - ma) / se)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn normal_cdf_matches_tables() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((two_sided_p(2.575_829) - 0.01).abs() < 1e-6);
    }

    #[test]
    fn quantile_ci_ranks_are_the_textbook_ones() {
        // n = 100, median, 95%: ranks 40 and 61 (Conover's table).
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        let ci = quantile_ci(&xs, 0.5, 0.05).unwrap();
        assert_eq!((ci.lo, ci.estimate, ci.hi), (40.0, 50.0, 61.0));
        // Too few samples for a 99th percentile at 95%: no interval.
        assert!(quantile_ci(&xs[..50], 0.99, 0.05).is_none());
    }

    #[test]
    fn fisher_matches_a_known_table() {
        // The tea-tasting table (3/4 vs 1/4): two-sided p = 0.4857.
        assert!((fisher_exact(3, 4, 1, 4) - 0.485_714).abs() < 1e-5);
        let (p, test) = proportions(1, 12, 8, 12);
        assert_eq!(test, ProportionTest::FisherExact);
        assert!(p < 0.02, "{p}");
    }

    #[test]
    fn proportions_use_z_for_large_counts() {
        let (p, test) = proportions(100, 10_000, 200, 10_000);
        assert_eq!(test, ProportionTest::TwoProportionZ);
        assert!(p < 1e-6);
        let (p, _) = proportions(100, 10_000, 104, 10_000);
        assert!(p > 0.5);
    }

    #[test]
    fn welch_separates_shifted_means() {
        let a: Vec<f64> = (0..200).map(|i| f64::from(i % 10)).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 3.0).collect();
        assert!(means(&a, &b) < 1e-6);
        assert!(means(&a, &a) > 0.99);
    }
}
