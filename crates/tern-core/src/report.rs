//! Per-function report figures and the quick wins derived from them. Pure: the binary fills
//! [`FunctionReport`]s from the store and renders them.

use crate::cost;
use std::collections::BTreeMap;

use crate::model::Arch;
use crate::recommend::{Advice, SummaryAdvice};

/// Summary of a distribution, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dist {
    pub avg: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Everything the report says about one function over the chosen range.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunctionReport {
    pub function: String,
    pub region: String,
    pub arch: Arch,
    pub runtime: Option<String>,
    pub invocations: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub out_of_memory: u64,
    pub crashes: u64,
    pub init_errors: u64,
    pub handler_errors: u64,
    pub cold_starts: u64,
    pub environments: u64,
    pub duration_ms: Option<Dist>,
    pub init_duration_ms: Option<Dist>,
    pub billed_duration_ms: f64,
    pub gb_seconds: f64,
    pub memory_size_mb: Option<u32>,
    pub max_memory_used_mb: Option<u32>,
    pub over_20s: u64,
    /// Configured timeout, when known (inventory or config).
    pub timeout_ms: Option<u64>,
    /// The timeout as inferred from timed-out invocations, when not known.
    pub inferred_timeout_ms: Option<u64>,
    pub cost_usd: f64,
    /// Cost projected to a 30-day month at the observed rate.
    pub monthly_cost_usd: f64,
    /// False when the region's prices were not in the table.
    pub exact_prices: bool,
    /// Log lines stored in the range (see the store's `FunctionStats::log_lines`).
    pub log_lines: u64,
    /// The UTF-8 bytes of their messages.
    pub log_bytes: u64,
}

/// The statistics of a sketch of durations; `None` when it is empty.
pub fn dist_of(s: &crate::sketch::Sketch) -> Option<Dist> {
    if s.count() == 0 {
        return None;
    }
    Some(Dist {
        avg: s.mean().unwrap_or(0.0),
        p50: s.quantile(0.5).unwrap_or(0.0),
        p95: s.quantile(0.95).unwrap_or(0.0),
        p99: s.quantile(0.99).unwrap_or(0.0),
        max: s.max().unwrap_or(0.0),
    })
}

/// `1 invocation`, `2 invocations`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl FunctionReport {
    pub fn error_rate(&self) -> f64 {
        if self.invocations == 0 {
            0.0
        } else {
            self.errors as f64 / self.invocations as f64
        }
    }

    pub fn cold_start_rate(&self) -> f64 {
        if self.invocations == 0 {
            0.0
        } else {
            self.cold_starts as f64 / self.invocations as f64
        }
    }

    /// Average cost of one invocation.
    pub fn cost_per_invocation(&self) -> f64 {
        if self.invocations == 0 {
            0.0
        } else {
            self.cost_usd / self.invocations as f64
        }
    }
}

/// What kind of quick win.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinKind {
    MostInvocations,
    MostErrors,
    OverProvisioned,
    LongInvocations,
    NearTimeout,
}

impl WinKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WinKind::MostInvocations => "most_invocations",
            WinKind::MostErrors => "most_errors",
            WinKind::OverProvisioned => "over_provisioned_memory",
            WinKind::LongInvocations => "invocations_over_20s",
            WinKind::NearTimeout => "near_timeout",
        }
    }
}

/// One quick win: a function, what to look at, and what it is worth.
#[derive(Debug, Clone, PartialEq)]
pub struct QuickWin {
    pub kind: WinKind,
    pub function: String,
    /// One sentence a person can act on.
    pub detail: String,
    /// The dollar figure that goes with it, per 30-day month at the observed rate: the
    /// function's cost (most invocations), the cost of failed invocations (most errors), the
    /// memory engine's monthly saving (over-provisioned; 0 when it keeps the size), the cost of
    /// the long invocations.
    pub monthly_usd: f64,
    /// For over-provisioned memory: the suggested size.
    pub suggested_memory_mb: Option<u32>,
}

/// Thresholds for the quick wins. The defaults follow the peers (peers-and-pricing.md):
/// memory is over-provisioned when the most ever used is under half of what is provisioned
/// (and the function is not tiny), durations within 10% of the timeout are "near".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WinRules {
    pub over_provisioned_ratio: f64,
    /// Headroom kept above the max memory used when suggesting a size.
    pub memory_headroom: f64,
    pub near_timeout_ratio: f64,
    pub long_invocation_ms: f64,
    /// How many functions each ranking lists.
    pub top: usize,
}

impl Default for WinRules {
    fn default() -> Self {
        WinRules {
            over_provisioned_ratio: 0.5,
            memory_headroom: 0.2,
            near_timeout_ratio: 0.9,
            long_invocation_ms: 20_000.0,
            top: 3,
        }
    }
}

/// The memory engine's advice in words: its summary sentence, and the `tern tune` command
/// unless the sentence already gives it.
pub fn advice_text(a: &Advice) -> String {
    if a.summary.contains(&a.tune_command) {
        a.summary.clone()
    } else {
        format!("{}; measure it: {}", a.summary, a.tune_command)
    }
}

/// The smallest memory size worth suggesting, given the most memory used.
pub fn suggested_memory_mb(max_used_mb: u32, headroom: f64) -> u32 {
    let want = (max_used_mb as f64 * (1.0 + headroom)).ceil();
    // Lambda accepts 1 MB steps from 128 MB; round up to a 64 MB step for a tidy number.
    let stepped = (want / 64.0).ceil() * 64.0;
    (stepped as u32).clamp(128, 10_240)
}

/// Derive the quick wins from the per-function reports. `observed_ms` is the span of the data
/// the reports cover (for monthly projection). `memory` is the memory engine's advice per
/// function ([`crate::recommend::advise_summary`]): the over-provisioned finding takes its size
/// and saving from it.
pub fn quick_wins(
    functions: &[FunctionReport],
    observed_ms: i64,
    rules: WinRules,
    memory: &BTreeMap<String, SummaryAdvice>,
) -> Vec<QuickWin> {
    let mut wins = Vec::new();
    let monthly = |usd: f64| cost::monthly(usd, observed_ms);

    let mut by_inv: Vec<&FunctionReport> = functions.iter().filter(|f| f.invocations > 0).collect();
    by_inv.sort_by(|a, b| {
        b.invocations
            .cmp(&a.invocations)
            .then(a.function.cmp(&b.function))
    });
    for f in by_inv.iter().take(rules.top) {
        wins.push(QuickWin {
            kind: WinKind::MostInvocations,
            function: f.function.clone(),
            detail: format!(
                "{}, ${:.6} each on average: shaving its duration pays most here",
                count(f.invocations, "invocation"),
                f.cost_per_invocation()
            ),
            monthly_usd: f.monthly_cost_usd,
            suggested_memory_mb: None,
        });
    }

    let mut by_err: Vec<&FunctionReport> = functions.iter().filter(|f| f.errors > 0).collect();
    by_err.sort_by(|a, b| b.errors.cmp(&a.errors).then(a.function.cmp(&b.function)));
    for f in by_err.iter().take(rules.top) {
        let mut kinds = Vec::new();
        for (n, label) in [
            (f.handler_errors, "handler errors"),
            (f.timeouts, "timeouts"),
            (f.out_of_memory, "out-of-memory"),
            (f.crashes, "crashes"),
            (f.init_errors, "init errors"),
        ] {
            if n > 0 {
                kinds.push(format!("{n} {label}"));
            }
        }
        wins.push(QuickWin {
            kind: WinKind::MostErrors,
            function: f.function.clone(),
            detail: format!(
                "{} ({:.1}%): {}; the figure is what they cost",
                count(f.errors, "failed invocation"),
                f.error_rate() * 100.0,
                kinds.join(", ")
            ),
            monthly_usd: monthly(f.cost_per_invocation() * f.errors as f64),
            suggested_memory_mb: None,
        });
    }

    for f in functions {
        let (Some(size), Some(used)) = (f.memory_size_mb, f.max_memory_used_mb) else {
            continue;
        };
        if f.invocations == 0 || size <= 128 {
            continue;
        }
        if (used as f64) >= size as f64 * rules.over_provisioned_ratio {
            continue;
        }
        if suggested_memory_mb(used, rules.memory_headroom) >= size {
            continue;
        }
        let finding = format!(
            "uses at most {used} MB of {size} MB ({:.0}%)",
            used as f64 * 100.0 / size as f64
        );
        let (detail, monthly_usd, suggested) = match memory.get(&f.function) {
            Some(SummaryAdvice::Advice(a)) => (
                format!("{finding}: {}", advice_text(a)),
                a.monthly_saving_usd,
                Some(a.memory_mb),
            ),
            Some(other) => (
                format!(
                    "{finding}; {}",
                    other.why_none(&f.function).unwrap_or_default()
                ),
                0.0,
                None,
            ),
            None => (
                format!("{finding}; `tern recommend` tells whether a smaller size pays"),
                0.0,
                None,
            ),
        };
        wins.push(QuickWin {
            kind: WinKind::OverProvisioned,
            function: f.function.clone(),
            detail,
            monthly_usd,
            suggested_memory_mb: suggested,
        });
    }

    for f in functions {
        if f.over_20s == 0 {
            continue;
        }
        // Each long invocation bills at least the threshold's worth of GB-seconds.
        let (prices, _) = cost::price_list(&f.region, f.arch);
        let at_least = f.over_20s as f64
            * cost::gb_seconds(
                rules.long_invocation_ms,
                f.memory_size_mb.unwrap_or(128) as f64,
            )
            * prices.base_gb_s();
        wins.push(QuickWin {
            kind: WinKind::LongInvocations,
            function: f.function.clone(),
            detail: format!(
                "{} ran over {:.0} s (max {:.1} s), costing at least the figure \
                 shown: consider splitting the work, Step Functions, or async processing",
                count(f.over_20s, "invocation"),
                rules.long_invocation_ms / 1000.0,
                f.duration_ms.map_or(0.0, |d| d.max) / 1000.0
            ),
            monthly_usd: monthly(at_least),
            suggested_memory_mb: None,
        });
    }

    for f in functions {
        let (timeout, inferred) = match (f.timeout_ms, f.inferred_timeout_ms) {
            (Some(t), _) => (t, false),
            (None, Some(t)) => (t, true),
            _ => continue,
        };
        let Some(d) = f.duration_ms else { continue };
        if timeout == 0 || d.p99 < timeout as f64 * rules.near_timeout_ratio {
            continue;
        }
        wins.push(QuickWin {
            kind: WinKind::NearTimeout,
            function: f.function.clone(),
            detail: format!(
                "p99 duration {:.1} s is {:.0}% of the {}timeout {:.1} s ({} timed out)",
                d.p99 / 1000.0,
                d.p99 * 100.0 / timeout as f64,
                if inferred { "inferred " } else { "" },
                timeout as f64 / 1000.0,
                f.timeouts
            ),
            monthly_usd: monthly(f.cost_per_invocation() * f.timeouts as f64),
            suggested_memory_mb: None,
        });
    }
    // Findings (not rankings) are listed biggest dollar effect first within their kind.
    wins.sort_by(|a, b| {
        let rank = |k: WinKind| k as u8;
        rank(a.kind).cmp(&rank(b.kind)).then_with(|| {
            if matches!(a.kind, WinKind::MostInvocations | WinKind::MostErrors) {
                std::cmp::Ordering::Equal
            } else {
                b.monthly_usd
                    .total_cmp(&a.monthly_usd)
                    .then_with(|| a.function.cmp(&b.function))
            }
        })
    });
    wins
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str) -> FunctionReport {
        FunctionReport {
            function: name.into(),
            region: "us-east-1".into(),
            invocations: 100,
            cost_usd: 1.0,
            monthly_cost_usd: 30.0,
            exact_prices: true,
            ..Default::default()
        }
    }

    #[test]
    fn suggested_memory_rounds_up_with_headroom() {
        assert_eq!(suggested_memory_mb(50, 0.2), 128);
        assert_eq!(suggested_memory_mb(200, 0.2), 256);
        assert_eq!(suggested_memory_mb(10_000, 0.2), 10_240);
    }

    /// The engine's advice for one size of 2,000 invocations of about 200 ms.
    fn one_size_advice(function: &str, memory_mb: u32, max_used_mb: u32) -> SummaryAdvice {
        use crate::recommend::{self, FunctionInput, SizeSummary, SummaryCounts};
        let mut d = crate::sketch::Sketch::new();
        for i in 0..2000 {
            d.add(180.0 + f64::from(i % 40));
        }
        let summary = SizeSummary::from_sketches(
            SummaryCounts {
                memory_mb,
                invocations: 2000,
                billed_total_ms: d.sum() + 2000.0,
                max_used_mb: Some(max_used_mb),
                ..SummaryCounts::default()
            },
            &d,
            &crate::sketch::Sketch::new(),
        );
        let input = FunctionInput {
            function: function.into(),
            region: "us-east-1".into(),
            monthly_invocations: 1_000_000.0,
            ..FunctionInput::default()
        };
        recommend::advise_summary(&input, summary, &recommend::Settings::default())
    }

    #[test]
    fn over_provisioned_win_takes_the_engines_size_and_saving() {
        let mut a = f("a");
        a.memory_size_mb = Some(1024);
        a.max_memory_used_mb = Some(100);
        let advice = one_size_advice("a", 1024, 100);
        let Some(want) = advice.advice().cloned() else {
            panic!("no advice: {advice:?}");
        };
        let memory = BTreeMap::from([("a".to_string(), advice)]);
        let wins = quick_wins(&[a], 86_400_000, WinRules::default(), &memory);
        let w = wins
            .iter()
            .find(|w| w.kind == WinKind::OverProvisioned)
            .cloned();
        let w = w.unwrap_or_else(|| panic!("no over-provisioned win in {wins:?}"));
        // One size cannot show a smaller one is cheaper (a CPU-bound function costs the same):
        // the engine keeps, and the win says so with no saving.
        assert_eq!(w.suggested_memory_mb, Some(want.memory_mb));
        assert_eq!(w.monthly_usd, want.monthly_saving_usd);
        assert_eq!(want.decision.as_str(), "keep", "{want:?}");
        assert_eq!(w.monthly_usd, 0.0);
        assert!(
            w.detail.starts_with("uses at most 100 MB of 1024 MB (10%)"),
            "{}",
            w.detail
        );
        assert!(w.detail.contains(&want.summary), "{}", w.detail);
        assert!(w.detail.contains("tern tune a --memory "), "{}", w.detail);
        assert!(!w.detail.contains("same duration"), "{}", w.detail);
    }

    #[test]
    fn over_provisioned_win_at_several_sizes_points_to_recommend() {
        let mut a = f("a");
        a.memory_size_mb = Some(1024);
        a.max_memory_used_mb = Some(100);
        let memory = BTreeMap::from([(
            "a".to_string(),
            SummaryAdvice::SeveralSizes {
                sizes: vec![512, 1024],
            },
        )]);
        let wins = quick_wins(&[a], 86_400_000, WinRules::default(), &memory);
        let w = wins
            .iter()
            .find(|w| w.kind == WinKind::OverProvisioned)
            .cloned();
        let w = w.unwrap_or_else(|| panic!("no over-provisioned win in {wins:?}"));
        assert_eq!((w.suggested_memory_mb, w.monthly_usd), (None, 0.0));
        assert!(
            w.detail
                .contains("(512, 1024 MB): `tern recommend --function a`"),
            "{}",
            w.detail
        );
    }

    #[test]
    fn near_timeout_uses_known_or_inferred_timeout() {
        let mut a = f("a");
        a.duration_ms = Some(Dist {
            p99: 2900.0,
            ..Default::default()
        });
        a.inferred_timeout_ms = Some(3000);
        let wins = quick_wins(&[a.clone()], 1, WinRules::default(), &BTreeMap::new());
        assert!(wins.iter().any(|w| w.kind == WinKind::NearTimeout));
        a.inferred_timeout_ms = None;
        let wins = quick_wins(&[a], 1, WinRules::default(), &BTreeMap::new());
        assert!(!wins.iter().any(|w| w.kind == WinKind::NearTimeout));
    }
}
