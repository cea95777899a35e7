//! `[insights]`: thresholds of the insight rules, and the rules turned off.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use tern_core::insights::{RuleId, Thresholds};

use super::{parse_duration, Config};

/// The `[insights]` settings of `tern.toml`: the catalogue's thresholds and the rules turned
/// off. The default is every rule at the documented thresholds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InsightSettings {
    pub thresholds: Thresholds,
    /// Rules that never produce an insight.
    pub disabled: Vec<RuleId>,
}

impl InsightSettings {
    pub fn is_enabled(&self, rule: RuleId) -> bool {
        !self.disabled.contains(&rule)
    }
}

/// `[insights]`: every key optional, named as the [`Thresholds`] field (times without their
/// unit suffix, written as durations).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInsights {
    min_invocations: Option<u64>,
    over_provisioned_ratio: Option<f64>,
    memory_headroom: Option<f64>,
    under_provisioned_ratio: Option<f64>,
    near_timeout_ratio: Option<f64>,
    hang_window: Option<f64>,
    generous_timeout_factor: Option<f64>,
    generous_timeout_min: Option<String>,
    error_rate_warning: Option<f64>,
    error_rate_critical: Option<f64>,
    error_min_invocations: Option<u64>,
    cold_start_rate: Option<f64>,
    low_reuse_invocations_per_environment: Option<f64>,
    arm64_min_monthly_saving_usd: Option<f64>,
    runtime_soon: Option<String>,
    logging_cost_ratio: Option<f64>,
    spike_factor: Option<f64>,
    spike_min_invocations_per_5min: Option<u64>,
    spike_lookback: Option<String>,
    inactive: Option<String>,
    #[serde(default)]
    disable: Vec<String>,
}

/// The `[insights]` settings of the file at `path` (the whole file is validated); the
/// defaults without one. For `tern report` and `tern insights`.
pub fn load_insights(path: Option<&Path>) -> Result<InsightSettings> {
    Ok(match path {
        Some(p) => Config::load(p)?.insights,
        None => InsightSettings::default(),
    })
}

/// Validate `[insights]` over the default thresholds. Every error names the key.
pub(super) fn parse_insights(raw: &RawInsights) -> Result<InsightSettings> {
    let d = Thresholds::default();
    // A fraction of something: (0, 1].
    let fraction = |v: Option<f64>, default: f64, key: &str| -> Result<f64> {
        match v {
            None => Ok(default),
            Some(x) if x > 0.0 && x <= 1.0 => Ok(x),
            Some(x) => bail!("insights.{key} = {x}: a fraction, use a number in (0, 1]"),
        }
    };
    // A multiplier of at least 1 (and something finite).
    let factor = |v: Option<f64>, default: f64, key: &str| -> Result<f64> {
        match v {
            None => Ok(default),
            Some(x) if (1.0..=1e6).contains(&x) => Ok(x),
            Some(x) => bail!("insights.{key} = {x}: a factor, use a number from 1 to 1000000"),
        }
    };
    let count = |v: Option<u64>, default: u64, key: &str| -> Result<u64> {
        match v {
            None => Ok(default),
            Some(n @ 1..=1_000_000_000) => Ok(n),
            Some(n) => bail!("insights.{key} = {n}: a count, use 1 to 1000000000"),
        }
    };
    // A duration between `min` and `max`, in ms.
    let time = |v: Option<&str>,
                default_ms: i64,
                key: &str,
                min: Duration,
                max: Duration|
     -> Result<i64> {
        let Some(s) = v else {
            return Ok(default_ms);
        };
        let full = format!("insights.{key}");
        let t = parse_duration(s, &full)?;
        if t < min || t > max {
            bail!(
                "{full} = {s:?}: use {} to {}",
                humantime::format_duration(min),
                humantime::format_duration(max)
            );
        }
        i64::try_from(t.as_millis()).map_err(|_| anyhow!("{full} = {s:?} is too long"))
    };
    const DAY: Duration = Duration::from_secs(86_400);
    const DAY_MS: i64 = 86_400_000;
    // A time in whole days.
    let days = |v: Option<&str>, default_days: i64, key: &str, min: Duration| -> Result<i64> {
        let ms = time(v, default_days * DAY_MS, key, min, 3_650 * DAY)?;
        if ms % DAY_MS != 0 {
            bail!(
                "insights.{key} = {:?}: use whole days, e.g. \"30d\"",
                v.unwrap_or_default()
            );
        }
        Ok(ms / DAY_MS)
    };
    let mut t = Thresholds {
        min_invocations: count(raw.min_invocations, d.min_invocations, "min_invocations")?,
        over_provisioned_ratio: fraction(
            raw.over_provisioned_ratio,
            d.over_provisioned_ratio,
            "over_provisioned_ratio",
        )?,
        memory_headroom: match raw.memory_headroom {
            None => d.memory_headroom,
            Some(x) if (0.0..=1.0).contains(&x) => x,
            Some(x) => bail!(
                "insights.memory_headroom = {x}: the share kept above the max memory used, \
                 use a number in [0, 1]"
            ),
        },
        under_provisioned_ratio: fraction(
            raw.under_provisioned_ratio,
            d.under_provisioned_ratio,
            "under_provisioned_ratio",
        )?,
        near_timeout_ratio: fraction(
            raw.near_timeout_ratio,
            d.near_timeout_ratio,
            "near_timeout_ratio",
        )?,
        hang_window: fraction(raw.hang_window, d.hang_window, "hang_window")?,
        generous_timeout_factor: factor(
            raw.generous_timeout_factor,
            d.generous_timeout_factor,
            "generous_timeout_factor",
        )?,
        generous_timeout_min_ms: time(
            raw.generous_timeout_min.as_deref(),
            d.generous_timeout_min_ms as i64,
            "generous_timeout_min",
            Duration::ZERO,
            // Lambda's longest timeout: a higher bound could never fire.
            Duration::from_secs(900),
        )? as u64,
        error_rate_warning: fraction(
            raw.error_rate_warning,
            d.error_rate_warning,
            "error_rate_warning",
        )?,
        error_rate_critical: fraction(
            raw.error_rate_critical,
            d.error_rate_critical,
            "error_rate_critical",
        )?,
        error_min_invocations: count(
            raw.error_min_invocations,
            d.error_min_invocations,
            "error_min_invocations",
        )?,
        cold_start_rate: fraction(raw.cold_start_rate, d.cold_start_rate, "cold_start_rate")?,
        low_reuse_invocations_per_environment: factor(
            raw.low_reuse_invocations_per_environment,
            d.low_reuse_invocations_per_environment,
            "low_reuse_invocations_per_environment",
        )?,
        arm64_min_monthly_saving_usd: match raw.arm64_min_monthly_saving_usd {
            None => d.arm64_min_monthly_saving_usd,
            Some(x) if (0.0..=1e9).contains(&x) => x,
            Some(x) => {
                bail!("insights.arm64_min_monthly_saving_usd = {x}: dollars a month, use 0 or more")
            }
        },
        runtime_soon_days: days(
            raw.runtime_soon.as_deref(),
            d.runtime_soon_days,
            "runtime_soon",
            Duration::ZERO,
        )?,
        logging_cost_ratio: match raw.logging_cost_ratio {
            None => d.logging_cost_ratio,
            Some(x) if x > 0.0 && x <= 1e6 => x,
            Some(x) => bail!(
                "insights.logging_cost_ratio = {x}: log ingestion as a multiple of the compute \
                 cost, use a number above 0"
            ),
        },
        spike_factor: factor(raw.spike_factor, d.spike_factor, "spike_factor")?,
        spike_min_invocations_per_5min: count(
            raw.spike_min_invocations_per_5min,
            d.spike_min_invocations_per_5min,
            "spike_min_invocations_per_5min",
        )?,
        // Spikes are found in hourly buckets over at most the last 14 days.
        spike_lookback_ms: time(
            raw.spike_lookback.as_deref(),
            d.spike_lookback_ms,
            "spike_lookback",
            Duration::from_secs(3_600),
            14 * DAY,
        )?,
        inactive_days: days(raw.inactive.as_deref(), d.inactive_days, "inactive", DAY)?,
    };
    // A warning raised above the default critical bound, with no critical bound given, lifts
    // it: every insight at or over the warning is then critical.
    if raw.error_rate_critical.is_none() {
        t.error_rate_critical = t.error_rate_critical.max(t.error_rate_warning);
    }
    if t.error_rate_critical < t.error_rate_warning {
        bail!(
            "insights.error_rate_critical ({}) is below insights.error_rate_warning ({})",
            t.error_rate_critical,
            t.error_rate_warning
        );
    }
    if t.under_provisioned_ratio <= t.over_provisioned_ratio {
        bail!(
            "insights.under_provisioned_ratio ({}) must be above insights.over_provisioned_ratio \
             ({}): a function cannot be both",
            t.under_provisioned_ratio,
            t.over_provisioned_ratio
        );
    }
    let mut disabled = Vec::new();
    for (i, id) in raw.disable.iter().enumerate() {
        match RuleId::parse(id) {
            Some(r) if !disabled.contains(&r) => disabled.push(r),
            Some(_) => {}
            None => bail!(
                "insights.disable[{i}] = {id:?} is not a rule; the rules are: {}",
                RuleId::ALL.map(|r| r.as_str()).join(", ")
            ),
        }
    }
    Ok(InsightSettings {
        thresholds: t,
        disabled,
    })
}
