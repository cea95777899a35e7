//! Regression policies: a change (deploy, memory or runtime update, marker) that
//! made a function significantly slower or more error-prone opens an incident, once per change.
//!
//! The comparison is change impact's ([`crate::impact::compare`]) at the policy's confidence:
//! a policy fires when the p95 duration is significantly worse by at least `p95_increase`, or
//! the error rate is significantly worse and at least `error_rate_ratio` times what it was (a
//! rate that was zero and is now significantly above zero counts as any ratio). Which change
//! to judge, when, and the incident's life are the caller's (the engine of `tern serve`).

use super::policy::{PolicyError, Severity, Target};
use crate::impact::{Comparison, Verdict};

/// A regression rule on the latest change of each targeted function.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionPolicy {
    pub name: String,
    pub target: Target,
    /// Smallest relative p95 duration increase that fires (0.3: +30%).
    pub p95_increase: f64,
    /// Smallest error-rate ratio, after / before, that fires (2.0: doubled).
    pub error_rate_ratio: f64,
    /// Family-wise confidence of the comparison (0.95).
    pub confidence: f64,
    /// Only changes at most this old are judged; an incident whose change is older resolves.
    pub max_age_ms: i64,
    pub severity: Severity,
    pub enabled: bool,
}

impl RegressionPolicy {
    pub const DEFAULT_P95_INCREASE: f64 = 0.3;
    pub const DEFAULT_ERROR_RATE_RATIO: f64 = 2.0;
    pub const DEFAULT_CONFIDENCE: f64 = 0.95;
    pub const DEFAULT_MAX_AGE_MS: i64 = 7 * 86_400_000;

    pub fn applies_to(&self, f: &super::FunctionInfo) -> bool {
        self.enabled && self.target.matches(f)
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.name.trim().is_empty() {
            return Err(PolicyError::EmptyName);
        }
        if !(self.p95_increase.is_finite() && self.p95_increase > 0.0) {
            return Err(PolicyError::Regression(format!(
                "p95_increase must be a positive fraction (0.3 is +30%), got {}",
                self.p95_increase
            )));
        }
        if !(self.error_rate_ratio.is_finite() && self.error_rate_ratio > 1.0) {
            return Err(PolicyError::Regression(format!(
                "error_rate_ratio must be a number above 1 (2 is doubled), got {}",
                self.error_rate_ratio
            )));
        }
        if !(0.5..1.0).contains(&self.confidence) {
            return Err(PolicyError::Regression(format!(
                "confidence must be at least 0.5 and below 1, got {}",
                self.confidence
            )));
        }
        if self.max_age_ms <= 0 {
            return Err(PolicyError::Window(self.max_age_ms));
        }
        Ok(())
    }

    /// The alpha the comparison is made at.
    pub fn alpha(&self) -> f64 {
        1.0 - self.confidence
    }
}

/// What a regression policy says about one comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum RegressionVerdict {
    /// Worse past a threshold: which figure (`duration_p95`, `error_rate`), by how much
    /// (relative p95 change, or error-rate ratio; infinite when the rate was zero), and the
    /// threshold it passed.
    Regressed {
        metric: &'static str,
        value: f64,
        threshold: f64,
    },
    /// Enough data on both sides, and nothing worse past a threshold.
    Fine,
    /// Too few invocations on a side to say.
    NotEnoughData,
}

/// Judge a comparison made at `policy.alpha()`. The p95 duration is looked at first.
pub fn judge(policy: &RegressionPolicy, c: &Comparison) -> RegressionVerdict {
    if !c.enough_data {
        return RegressionVerdict::NotEnoughData;
    }
    if let Some(m) = c.metric("duration_p95") {
        if let (Verdict::Worse, Some(change)) = (m.verdict, m.change) {
            if change >= policy.p95_increase {
                return RegressionVerdict::Regressed {
                    metric: "duration_p95",
                    value: change,
                    threshold: policy.p95_increase,
                };
            }
        }
    }
    if let Some(m) = c.metric("error_rate") {
        if m.verdict == Verdict::Worse {
            let ratio = match (m.before, m.after) {
                (Some(b), Some(a)) if b > 0.0 => a / b,
                _ => f64::INFINITY,
            };
            if ratio >= policy.error_rate_ratio {
                return RegressionVerdict::Regressed {
                    metric: "error_rate",
                    value: ratio,
                    threshold: policy.error_rate_ratio,
                };
            }
        }
    }
    RegressionVerdict::Fine
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::impact::{compare, Sample, Settings};

    fn policy() -> RegressionPolicy {
        RegressionPolicy {
            name: "deploys".into(),
            target: Target::all(),
            p95_increase: 0.3,
            error_rate_ratio: 2.0,
            confidence: 0.95,
            max_age_ms: RegressionPolicy::DEFAULT_MAX_AGE_MS,
            severity: Severity::Warning,
            enabled: true,
        }
    }

    /// `n` invocations over every hour of a day, with durations spread around `median` and
    /// every `fail_every`-th one failed (0: none).
    fn side(n: usize, from: i64, median: f64, fail_every: usize) -> Vec<Sample> {
        (0..n)
            .map(|i| {
                let spread = 0.8 + 0.4 * ((i * 7919) % 1000) as f64 / 1000.0;
                Sample {
                    at_ms: from + (i as i64 * 86_400_000) / n as i64,
                    duration_ms: median * spread,
                    billed_ms: (median * spread).ceil(),
                    memory_mb: Some(512),
                    failed: fail_every > 0 && i % fail_every == 0,
                    ..Sample::default()
                }
            })
            .collect()
    }

    fn judged(b: &[Sample], a: &[Sample], p: &RegressionPolicy) -> RegressionVerdict {
        let s = Settings {
            alpha: p.alpha(),
            ..Settings::default()
        };
        let rb: Vec<&Sample> = b.iter().collect();
        let ra: Vec<&Sample> = a.iter().collect();
        judge(p, &compare(&rb, &ra, 1000.0, "us-east-1", &s))
    }

    #[test]
    fn a_slower_deploy_fires_and_a_steady_one_does_not() {
        let p = policy();
        let before = side(2000, 0, 100.0, 200);
        let slower = side(2000, 86_400_000, 150.0, 200);
        match judged(&before, &slower, &p) {
            RegressionVerdict::Regressed {
                metric, threshold, ..
            } => {
                assert_eq!(metric, "duration_p95");
                assert_eq!(threshold, 0.3);
            }
            other => panic!("{other:?}"),
        }
        let same = side(2000, 86_400_000, 100.0, 200);
        assert_eq!(judged(&before, &same, &p), RegressionVerdict::Fine);
        // +20% is significant but below the policy's +30%.
        let bit_slower = side(2000, 86_400_000, 120.0, 200);
        assert_eq!(judged(&before, &bit_slower, &p), RegressionVerdict::Fine);
    }

    #[test]
    fn an_error_rate_that_doubles_fires() {
        let p = policy();
        let before = side(3000, 0, 100.0, 100);
        let worse = side(3000, 86_400_000, 100.0, 20);
        match judged(&before, &worse, &p) {
            RegressionVerdict::Regressed { metric, value, .. } => {
                assert_eq!(metric, "error_rate");
                assert!((value - 5.0).abs() < 0.5, "{value}");
            }
            other => panic!("{other:?}"),
        }
        // From no errors at all to some: any ratio.
        let clean = side(3000, 0, 100.0, 0);
        match judged(&clean, &worse, &p) {
            RegressionVerdict::Regressed { metric, value, .. } => {
                assert_eq!(metric, "error_rate");
                assert!(value.is_infinite());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn few_invocations_are_not_enough_data() {
        let p = policy();
        let before = side(10, 0, 100.0, 0);
        let after = side(10, 86_400_000, 500.0, 2);
        assert_eq!(
            judged(&before, &after, &p),
            RegressionVerdict::NotEnoughData
        );
    }

    #[test]
    fn bad_definitions_are_refused() {
        let ok = policy();
        assert!(ok.validate().is_ok());
        for bad in [
            RegressionPolicy {
                p95_increase: 0.0,
                ..policy()
            },
            RegressionPolicy {
                p95_increase: f64::NAN,
                ..policy()
            },
            RegressionPolicy {
                error_rate_ratio: 1.0,
                ..policy()
            },
            RegressionPolicy {
                confidence: 1.0,
                ..policy()
            },
            RegressionPolicy {
                confidence: 0.2,
                ..policy()
            },
            RegressionPolicy {
                max_age_ms: 0,
                ..policy()
            },
            RegressionPolicy {
                name: " ".into(),
                ..policy()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
