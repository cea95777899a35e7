//! Alert rules as the user writes them (`[alerts]`, `[[policies]]`, `[[error_policies]]` in
//! `tern.toml`, or a `POST /api/v1/policies` body), validated once into [`AlertConfig`] and
//! [`Rules`], the policies in force.
//!
//! ```toml
//! [alerts]
//! enabled = true
//! evaluate_every = "1m"
//! disable_builtin = ["builtin.memory"]
//! default_channels = ["ops-slack"]          # unset: every channel
//! dashboard_url = "https://tern.example.com"
//! resolve_after = "5m"                      # clear period before an incident resolves
//!
//! [[policies]]
//! name = "checkout-errors"
//! functions = ["checkout-*"]                # also tags = { team = "pay" }, accounts, regions
//! metric = "error_rate"
//! comparison = ">"
//! threshold = 0.05
//! window = "5m"
//! min_invocations = 20
//! severity = "critical"
//! channels = ["pager"]
//!
//! [[policies]]                             # a change that made things worse
//! name = "bad-deploys"
//! metric = "regression"
//! p95_increase = 0.3                        # p95 duration +30% or more, significant
//! error_rate_ratio = 2.0                    # or the error rate at least doubled, significant
//! confidence = 0.95
//! max_age = "7d"                            # changes older than this are not judged
//!
//! [[error_policies]]
//! name = "payments-every-error"
//! functions = ["pay-*"]
//! on = "every"                              # new | regression | every
//! cooldown = "30m"
//! ```
//!
//! Every error names the key (`policies[1].metric: …`). Policy names are 1 to 64 letters,
//! digits, `-`, `_` or `.`; `builtin.` is reserved.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use tern_core::alert::{
    builtin_error_policies, builtin_policies, switch_off, Aggregation, Comparison, Damping,
    ErrorPolicy, ErrorTrigger, Metric, MetricPolicy, RegressionPolicy, Severity, Target,
    BUILTIN_NAMES,
};

use super::channels::ChannelConfig;

/// Where a policy comes from. Only API policies can be changed through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Builtin,
    Config,
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Builtin => "builtin",
            Source::Config => "config",
            Source::Api => "api",
        }
    }
}

/// A policy in force, with where it notifies.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule<P> {
    pub policy: P,
    /// Channel names (resolved: the policy's, else `[alerts] default_channels`, else all).
    pub channels: Vec<String>,
    pub source: Source,
}

/// The validated `[alerts]` table, the channels, and the config's own policies.
#[derive(Debug, Clone)]
pub struct AlertConfig {
    pub enabled: bool,
    pub evaluate_every: Duration,
    pub disable_builtin: Vec<String>,
    pub default_channels: Option<Vec<String>>,
    /// Without a trailing slash.
    pub dashboard_url: Option<String>,
    pub damping: Damping,
    /// First retry delay of a failed delivery; doubles per attempt, at most an hour.
    pub retry_base: Duration,
    /// Deliveries that failed this many times are given up (`failed`).
    pub max_attempts: u32,
    /// Deliveries still not sent after this long are given up.
    pub max_age: Duration,
    /// Bound on one delivery attempt.
    pub send_timeout: Duration,
    pub channels: Vec<ChannelConfig>,
    pub policies: Vec<Rule<MetricPolicy>>,
    pub error_policies: Vec<Rule<ErrorPolicy>>,
    /// `[[policies]]` with `metric = "regression"`.
    pub regression_policies: Vec<Rule<RegressionPolicy>>,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            enabled: true,
            evaluate_every: Duration::from_secs(60),
            disable_builtin: Vec::new(),
            default_channels: None,
            dashboard_url: None,
            damping: Damping::default(),
            retry_base: Duration::from_secs(30),
            max_attempts: 10,
            max_age: Duration::from_secs(24 * 3600),
            send_timeout: super::channels::DEFAULT_TIMEOUT,
            channels: Vec::new(),
            policies: Vec::new(),
            error_policies: Vec::new(),
            regression_policies: Vec::new(),
        }
    }
}

/// `[alerts]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    enabled: Option<bool>,
    evaluate_every: Option<String>,
    #[serde(default)]
    disable_builtin: Vec<String>,
    default_channels: Option<Vec<String>>,
    dashboard_url: Option<String>,
    resolve_after: Option<String>,
    resolve_after_evals: Option<u32>,
    quiet_resolve: Option<String>,
    retry_base: Option<String>,
    max_attempts: Option<u32>,
    max_age: Option<String>,
    send_timeout: Option<String>,
}

/// One `[[policies]]` entry or a metric-policy API body, as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    pub metric: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<String>,
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_invocations: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `metric = "regression"` only: smallest p95 duration increase that fires (0.3: +30%).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95_increase: Option<f64>,
    /// `metric = "regression"` only: smallest error-rate ratio that fires (2: doubled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_rate_ratio: Option<f64>,
    /// `metric = "regression"` only: confidence of the comparison (0.95).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// `metric = "regression"` only: changes older than this are not judged ("7d").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
}

/// One `[[error_policies]]` entry or an error-policy API body, as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawErrorPolicy {
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    pub on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A policy managed through the API, as stored (checkpoint `alert/policy/<name>`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ApiPolicy {
    Metric(RawPolicy),
    Error(RawErrorPolicy),
}

impl ApiPolicy {
    pub fn name(&self) -> Option<&str> {
        match self {
            ApiPolicy::Metric(p) => p.name.as_deref(),
            ApiPolicy::Error(p) => p.name.as_deref(),
        }
    }
}

/// Checkpoint key prefix of API-managed policies.
pub const API_POLICY_PREFIX: &str = "alert/policy/";

/// Smallest `evaluate_every`, `resolve_after`, `window`: small enough for tests.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

fn duration(v: Option<&str>, default: Duration, key: &str, min: Duration) -> Result<Duration> {
    let d = match v {
        None => return Ok(default),
        Some(s) => crate::timeutil::parse_duration(s).with_context(|| format!("{key} = {s:?}"))?,
    };
    if d < min {
        bail!(
            "{key} = {}: at least {min:?}",
            humantime::format_duration(d)
        );
    }
    Ok(d)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Validate `[alerts]`, the channels and the config's policies together (policies name
/// channels).
pub fn parse(
    raw: &RawAlerts,
    channels: Vec<ChannelConfig>,
    policies: &[RawPolicy],
    error_policies: &[RawErrorPolicy],
) -> Result<AlertConfig> {
    let d = AlertConfig::default();
    let mut damping = Damping::default();
    let resolve_after = duration(
        raw.resolve_after.as_deref(),
        Duration::from_millis(damping.resolve_after_ms as u64),
        "alerts.resolve_after",
        MIN_INTERVAL,
    )?;
    damping.resolve_after_ms = ms(resolve_after);
    damping.max_resolve_after_ms = damping.max_resolve_after_ms.max(damping.resolve_after_ms);
    if let Some(n) = raw.resolve_after_evals {
        if n == 0 || n > 1000 {
            bail!("alerts.resolve_after_evals = {n}: use 1 to 1000");
        }
        damping.resolve_after_evals = n;
    }
    let quiet = duration(
        raw.quiet_resolve.as_deref(),
        Duration::from_millis(damping.quiet_resolve_ms as u64),
        "alerts.quiet_resolve",
        MIN_INTERVAL,
    )?;
    damping.quiet_resolve_ms = ms(quiet);
    let mut cfg = AlertConfig {
        enabled: raw.enabled.unwrap_or(true),
        evaluate_every: duration(
            raw.evaluate_every.as_deref(),
            d.evaluate_every,
            "alerts.evaluate_every",
            MIN_INTERVAL,
        )?,
        disable_builtin: Vec::new(),
        default_channels: None,
        dashboard_url: None,
        damping,
        retry_base: duration(
            raw.retry_base.as_deref(),
            d.retry_base,
            "alerts.retry_base",
            Duration::from_millis(100),
        )?,
        max_attempts: match raw.max_attempts {
            None => d.max_attempts,
            Some(n @ 1..=100) => n,
            Some(n) => bail!("alerts.max_attempts = {n}: use 1 to 100"),
        },
        max_age: duration(
            raw.max_age.as_deref(),
            d.max_age,
            "alerts.max_age",
            MIN_INTERVAL,
        )?,
        send_timeout: duration(
            raw.send_timeout.as_deref(),
            d.send_timeout,
            "alerts.send_timeout",
            Duration::from_millis(100),
        )?,
        channels,
        policies: Vec::new(),
        error_policies: Vec::new(),
        regression_policies: Vec::new(),
    };
    for (i, name) in raw.disable_builtin.iter().enumerate() {
        if !BUILTIN_NAMES.contains(&name.as_str()) {
            bail!(
                "alerts.disable_builtin[{i}]: {name:?} is not a built-in policy (they are: {})",
                BUILTIN_NAMES.join(", ")
            );
        }
        cfg.disable_builtin.push(name.clone());
    }
    if let Some(list) = &raw.default_channels {
        for (i, c) in list.iter().enumerate() {
            check_channel(&cfg.channels, c)
                .with_context(|| format!("alerts.default_channels[{i}]"))?;
        }
        cfg.default_channels = Some(list.clone());
    }
    if let Some(u) = &raw.dashboard_url {
        let t = u.trim().trim_end_matches('/');
        if !(t.starts_with("http://") || t.starts_with("https://")) || t.len() < 10 {
            bail!("alerts.dashboard_url = {u:?}: not an http:// or https:// URL");
        }
        cfg.dashboard_url = Some(t.to_string());
    }
    let mut names: Vec<String> = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        let at = format!("policies[{i}]");
        if is_regression(p) {
            let rule = regression_policy(p, &cfg, &at, Source::Config)?;
            unique(&mut names, &rule.policy.name, &at)?;
            cfg.regression_policies.push(rule);
            continue;
        }
        let rule = metric_policy(p, &cfg, &at, Source::Config)?;
        unique(&mut names, &rule.policy.name, &at)?;
        cfg.policies.push(rule);
    }
    for (i, p) in error_policies.iter().enumerate() {
        let at = format!("error_policies[{i}]");
        let rule = error_policy(p, &cfg, &at, Source::Config)?;
        unique(&mut names, &rule.policy.name, &at)?;
        cfg.error_policies.push(rule);
    }
    Ok(cfg)
}

fn unique(names: &mut Vec<String>, name: &str, at: &str) -> Result<()> {
    if names.iter().any(|n| n == name) {
        bail!("{at}.name: {name:?} is used by an earlier policy");
    }
    names.push(name.to_string());
    Ok(())
}

fn check_channel(channels: &[ChannelConfig], name: &str) -> Result<()> {
    if channels.iter().any(|c| c.name() == name) {
        return Ok(());
    }
    let known: Vec<&str> = channels.iter().map(|c| c.name()).collect();
    if known.is_empty() {
        bail!("{name:?} is not a configured channel (there are no [[channels]])");
    }
    bail!(
        "{name:?} is not a configured channel (channels: {})",
        known.join(", ")
    )
}

/// A policy name: 1 to 64 of `[A-Za-z0-9._-]`, not `builtin.*`.
pub fn check_name(name: Option<&str>, at: &str) -> Result<String> {
    let name = name.ok_or_else(|| anyhow!("{at}.name: missing"))?;
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!("{at}.name: {name:?} is not 1 to 64 letters, digits, '-', '_' or '.'");
    }
    if name.starts_with("builtin.") {
        bail!("{at}.name: {name:?}: names starting with \"builtin.\" are reserved");
    }
    Ok(name.to_string())
}

fn target(
    functions: &[String],
    tags: &BTreeMap<String, String>,
    accounts: &[String],
    regions: &[String],
) -> Target {
    Target {
        functions: functions.to_vec(),
        tags: tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        accounts: accounts.to_vec(),
        regions: regions.to_vec(),
    }
}

fn severity(v: Option<&str>, at: &str) -> Result<Severity> {
    match v {
        None => Ok(Severity::Warning),
        Some(s) => Severity::parse(s)
            .ok_or_else(|| anyhow!("{at}.severity: {s:?} is not info, warning or critical")),
    }
}

fn channels_of(cfg: &AlertConfig, list: Option<&[String]>, at: &str) -> Result<Vec<String>> {
    match list {
        Some(list) => {
            for (i, c) in list.iter().enumerate() {
                check_channel(&cfg.channels, c).with_context(|| format!("{at}.channels[{i}]"))?;
            }
            Ok(list.to_vec())
        }
        None => Ok(cfg.default_channel_names()),
    }
}

/// Whether a `[[policies]]` entry is a regression policy (`metric = "regression"`).
pub fn is_regression(p: &RawPolicy) -> bool {
    p.metric
        .as_deref()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(REGRESSION_METRIC))
}

/// The `metric` of regression policies.
pub const REGRESSION_METRIC: &str = "regression";

/// Validate one regression policy (config entry or API body) against the channels.
pub fn regression_policy(
    p: &RawPolicy,
    cfg: &AlertConfig,
    at: &str,
    source: Source,
) -> Result<Rule<RegressionPolicy>> {
    let name = check_name(p.name.as_deref(), at)?;
    let foreign = [
        ("aggregation", p.aggregation.is_some()),
        ("comparison", p.comparison.is_some()),
        ("threshold", p.threshold.is_some()),
        ("window", p.window.is_some()),
        ("min_invocations", p.min_invocations.is_some()),
    ];
    if let Some((key, _)) = foreign.iter().find(|(_, set)| *set) {
        bail!(
            "{at}.{key}: a regression policy has no {key}; it takes p95_increase, \
             error_rate_ratio, confidence and max_age"
        );
    }
    let max_age = duration(
        p.max_age.as_deref(),
        Duration::from_millis(RegressionPolicy::DEFAULT_MAX_AGE_MS as u64),
        &format!("{at}.max_age"),
        Duration::from_secs(60),
    )?;
    let policy = RegressionPolicy {
        name,
        target: target(&p.functions, &p.tags, &p.accounts, &p.regions),
        p95_increase: p
            .p95_increase
            .unwrap_or(RegressionPolicy::DEFAULT_P95_INCREASE),
        error_rate_ratio: p
            .error_rate_ratio
            .unwrap_or(RegressionPolicy::DEFAULT_ERROR_RATE_RATIO),
        confidence: p.confidence.unwrap_or(RegressionPolicy::DEFAULT_CONFIDENCE),
        max_age_ms: ms(max_age),
        severity: severity(p.severity.as_deref(), at)?,
        enabled: p.enabled.unwrap_or(true),
    };
    policy.validate().map_err(|e| anyhow!("{at}: {e}"))?;
    Ok(Rule {
        policy,
        channels: channels_of(cfg, p.channels.as_deref(), at)?,
        source,
    })
}

/// Validate one metric policy (config entry or API body) against the channels.
pub fn metric_policy(
    p: &RawPolicy,
    cfg: &AlertConfig,
    at: &str,
    source: Source,
) -> Result<Rule<MetricPolicy>> {
    let name = check_name(p.name.as_deref(), at)?;
    let only_regression = [
        ("p95_increase", p.p95_increase.is_some()),
        ("error_rate_ratio", p.error_rate_ratio.is_some()),
        ("confidence", p.confidence.is_some()),
        ("max_age", p.max_age.is_some()),
    ];
    if let Some((key, _)) = only_regression.iter().find(|(_, set)| *set) {
        bail!("{at}.{key}: only for metric = \"regression\"");
    }
    let metric_s = p
        .metric
        .as_deref()
        .ok_or_else(|| anyhow!("{at}.metric: missing (one of {})", metric_names()))?;
    let metric = Metric::parse(metric_s).ok_or_else(|| {
        anyhow!(
            "{at}.metric: {metric_s:?} is not a metric (one of {})",
            metric_names()
        )
    })?;
    let aggregation = match p.aggregation.as_deref() {
        None => metric.default_aggregation(),
        Some(a) => Aggregation::parse(a).ok_or_else(|| {
            anyhow!("{at}.aggregation: {a:?} is not sum, avg, max, p50, p95 or p99")
        })?,
    };
    let comparison = match p.comparison.as_deref() {
        None => Comparison::Gt,
        Some(c) => Comparison::parse(c)
            .ok_or_else(|| anyhow!("{at}.comparison: {c:?} is not >, >=, < or <="))?,
    };
    let threshold = p
        .threshold
        .ok_or_else(|| anyhow!("{at}.threshold: missing"))?;
    let window = duration(
        p.window.as_deref(),
        Duration::from_secs(300),
        &format!("{at}.window"),
        MIN_INTERVAL,
    )?;
    if window > Duration::from_secs(7 * 86_400) {
        bail!("{at}.window: at most 7 days");
    }
    let policy = MetricPolicy {
        name,
        target: target(&p.functions, &p.tags, &p.accounts, &p.regions),
        metric,
        aggregation,
        comparison,
        threshold,
        window_ms: ms(window),
        min_invocations: p.min_invocations.unwrap_or(0),
        severity: severity(p.severity.as_deref(), at)?,
        enabled: p.enabled.unwrap_or(true),
    };
    policy.validate().map_err(|e| anyhow!("{at}: {e}"))?;
    Ok(Rule {
        policy,
        channels: channels_of(cfg, p.channels.as_deref(), at)?,
        source,
    })
}

/// Validate one error policy (config entry or API body) against the channels.
pub fn error_policy(
    p: &RawErrorPolicy,
    cfg: &AlertConfig,
    at: &str,
    source: Source,
) -> Result<Rule<ErrorPolicy>> {
    let name = check_name(p.name.as_deref(), at)?;
    let on = match p.on.as_deref().map(str::trim) {
        None => bail!("{at}.on: missing (new, regression or every)"),
        Some("new") => ErrorTrigger::NewGroup,
        Some("every") => ErrorTrigger::EveryOccurrence,
        Some(s) => ErrorTrigger::parse(s)
            .ok_or_else(|| anyhow!("{at}.on: {s:?} is not new, regression or every"))?,
    };
    let cooldown = match p.cooldown.as_deref() {
        None => Duration::ZERO,
        Some(s) => {
            crate::timeutil::parse_duration(s).with_context(|| format!("{at}.cooldown = {s:?}"))?
        }
    };
    let policy = ErrorPolicy {
        name,
        target: target(&p.functions, &p.tags, &p.accounts, &p.regions),
        on,
        cooldown_ms: ms(cooldown),
        severity: severity(p.severity.as_deref(), at)?,
        enabled: p.enabled.unwrap_or(true),
    };
    policy.validate().map_err(|e| anyhow!("{at}: {e}"))?;
    Ok(Rule {
        policy,
        channels: channels_of(cfg, p.channels.as_deref(), at)?,
        source,
    })
}

fn metric_names() -> String {
    Metric::ALL
        .iter()
        .map(|m| m.as_str())
        .chain([REGRESSION_METRIC])
        .collect::<Vec<_>>()
        .join(", ")
}

impl AlertConfig {
    /// Where a policy without its own `channels` notifies.
    pub fn default_channel_names(&self) -> Vec<String> {
        match &self.default_channels {
            Some(list) => list.clone(),
            None => self.channels.iter().map(|c| c.name().to_string()).collect(),
        }
    }

    pub fn channel(&self, name: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.name() == name)
    }

    /// Validate an API policy body; its name must not be taken by a built-in or config policy.
    pub fn api_policy(&self, p: &ApiPolicy) -> Result<Rules> {
        let mut rules = Rules::default();
        let at = "policy";
        match p {
            ApiPolicy::Metric(m) if is_regression(m) => {
                rules
                    .regression
                    .push(regression_policy(m, self, at, Source::Api)?)
            }
            ApiPolicy::Metric(m) => rules.metric.push(metric_policy(m, self, at, Source::Api)?),
            ApiPolicy::Error(e) => rules.error.push(error_policy(e, self, at, Source::Api)?),
        }
        Ok(rules)
    }

    /// Whether a built-in or config policy has this name (read-only through the API).
    pub fn fixed_policy(&self, name: &str) -> Option<Source> {
        if BUILTIN_NAMES.contains(&name) {
            return Some(Source::Builtin);
        }
        let in_config = self.policies.iter().any(|r| r.policy.name == name)
            || self.error_policies.iter().any(|r| r.policy.name == name)
            || self
                .regression_policies
                .iter()
                .any(|r| r.policy.name == name);
        in_config.then_some(Source::Config)
    }
}

/// Every policy in force: built-ins (some switched off), the config's, and the API's.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub metric: Vec<Rule<MetricPolicy>>,
    pub error: Vec<Rule<ErrorPolicy>>,
    pub regression: Vec<Rule<RegressionPolicy>>,
}

impl Rules {
    /// The built-ins and the config's policies, plus the API policies stored as `(name,
    /// JSON)`. An API policy that no longer validates (its channel was removed from the
    /// config, say) or whose name a config policy now takes is skipped, with a warning.
    pub fn effective(cfg: &AlertConfig, api: &[(String, String)]) -> (Rules, Vec<String>) {
        let default_channels = cfg.default_channel_names();
        let mut metric = builtin_policies();
        let mut error = builtin_error_policies();
        let _ = switch_off(&mut metric, &mut error, &cfg.disable_builtin);
        let mut rules = Rules {
            metric: metric
                .into_iter()
                .map(|policy| Rule {
                    policy,
                    channels: default_channels.clone(),
                    source: Source::Builtin,
                })
                .collect(),
            error: error
                .into_iter()
                .map(|policy| Rule {
                    policy,
                    channels: default_channels.clone(),
                    source: Source::Builtin,
                })
                .collect(),
            regression: Vec::new(),
        };
        rules.metric.extend(cfg.policies.iter().cloned());
        rules.error.extend(cfg.error_policies.iter().cloned());
        rules
            .regression
            .extend(cfg.regression_policies.iter().cloned());
        let mut warnings = Vec::new();
        for (name, json) in api {
            if json.is_empty() {
                continue; // deleted
            }
            if cfg.fixed_policy(name).is_some() {
                warnings.push(format!(
                    "API policy {name:?} is shadowed by a built-in or config policy; ignored"
                ));
                continue;
            }
            let parsed = serde_json::from_str::<ApiPolicy>(json)
                .map_err(anyhow::Error::from)
                .and_then(|p| cfg.api_policy(&p));
            match parsed {
                Ok(r) => {
                    rules.metric.extend(r.metric);
                    rules.error.extend(r.error);
                    rules.regression.extend(r.regression);
                }
                Err(e) => warnings.push(format!("API policy {name:?} is invalid, skipped: {e:#}")),
            }
        }
        (rules, warnings)
    }

    pub fn find_metric(&self, name: &str) -> Option<&Rule<MetricPolicy>> {
        self.metric.iter().find(|r| r.policy.name == name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::alert::channels::{parse_channels, RawChannel};

    fn hook() -> Vec<ChannelConfig> {
        parse_channels(&[RawChannel {
            name: Some("hook".into()),
            kind: Some("webhook".into()),
            url: Some(super::super::channels::Secret::new("http://127.0.0.1:9/x")),
            secret: Some(super::super::channels::Secret::new("0123456789abcdef0")),
            ..RawChannel::default()
        }])
        .unwrap()
    }

    #[test]
    fn defaults_and_channels_resolve() {
        let raw = RawPolicy {
            name: Some("p".into()),
            metric: Some("errors".into()),
            threshold: Some(1.0),
            ..RawPolicy::default()
        };
        let cfg = parse(&RawAlerts::default(), hook(), &[raw], &[]).unwrap();
        let r = &cfg.policies[0];
        assert_eq!(r.channels, ["hook"]);
        assert_eq!(r.policy.window_ms, 300_000);
        assert_eq!(r.policy.comparison, Comparison::Gt);
        let (rules, warnings) = Rules::effective(&cfg, &[]);
        assert!(warnings.is_empty());
        assert_eq!(rules.metric.len(), 6);
        assert_eq!(rules.error.len(), 2);
    }

    /// `metric = "regression"` makes a regression policy with its own keys; the keys
    /// of one kind are refused on the other, each error naming the key.
    #[test]
    fn regression_policies_parse_with_their_own_keys() {
        let raw = RawPolicy {
            name: Some("bad-deploys".into()),
            metric: Some("regression".into()),
            p95_increase: Some(0.5),
            max_age: Some("2d".into()),
            severity: Some("critical".into()),
            ..RawPolicy::default()
        };
        let cfg = parse(
            &RawAlerts::default(),
            hook(),
            std::slice::from_ref(&raw),
            &[],
        )
        .unwrap();
        assert!(cfg.policies.is_empty());
        let r = &cfg.regression_policies[0].policy;
        assert_eq!(r.p95_increase, 0.5);
        assert_eq!(r.error_rate_ratio, 2.0);
        assert_eq!(r.confidence, 0.95);
        assert_eq!(r.max_age_ms, 2 * 86_400_000);
        assert_eq!(r.severity, Severity::Critical);
        let (rules, _) = Rules::effective(&cfg, &[]);
        assert_eq!(rules.regression.len(), 1);
        assert_eq!(cfg.fixed_policy("bad-deploys"), Some(Source::Config));
        let cases: Vec<(RawPolicy, &str)> = vec![
            (
                RawPolicy {
                    threshold: Some(1.0),
                    ..raw.clone()
                },
                "policies[0].threshold",
            ),
            (
                RawPolicy {
                    window: Some("5m".into()),
                    ..raw.clone()
                },
                "policies[0].window",
            ),
            (
                RawPolicy {
                    error_rate_ratio: Some(0.5),
                    ..raw.clone()
                },
                "error_rate_ratio",
            ),
            (
                RawPolicy {
                    confidence: Some(1.5),
                    ..raw.clone()
                },
                "confidence",
            ),
            (
                RawPolicy {
                    max_age: Some("soon".into()),
                    ..raw.clone()
                },
                "policies[0].max_age",
            ),
            (
                RawPolicy {
                    p95_increase: Some(-1.0),
                    ..raw.clone()
                },
                "p95_increase",
            ),
            (
                RawPolicy {
                    metric: Some("error_rate".into()),
                    threshold: Some(0.1),
                    ..raw.clone()
                },
                "policies[0].p95_increase: only for metric = \"regression\"",
            ),
        ];
        for (bad, want) in cases {
            let e = parse(&RawAlerts::default(), hook(), &[bad], &[]).unwrap_err();
            assert!(format!("{e:#}").contains(want), "{e:#} lacks {want}");
        }
        // Through the API too.
        let json = r#"{"type":"metric","name":"r","metric":"regression","error_rate_ratio":3}"#;
        let (rules, warnings) = Rules::effective(&cfg, &[("r".into(), json.into())]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(rules.regression.len(), 2);
        assert_eq!(rules.regression[1].source, Source::Api);
        assert_eq!(rules.regression[1].policy.error_rate_ratio, 3.0);
    }

    #[test]
    fn api_policies_are_checked_like_config_ones() {
        let cfg = parse(&RawAlerts::default(), hook(), &[], &[]).unwrap();
        let good = r#"{"type":"error","name":"e","on":"every","cooldown":"1h"}"#;
        let bad =
            r#"{"type":"metric","name":"m","metric":"errors","threshold":1,"channels":["nope"]}"#;
        let (rules, warnings) = Rules::effective(
            &cfg,
            &[
                ("e".into(), good.into()),
                ("m".into(), bad.into()),
                ("gone".into(), String::new()),
            ],
        );
        assert_eq!(rules.error.len(), 3);
        assert_eq!(rules.error[2].source, Source::Api);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("nope"), "{warnings:?}");
        let unknown: std::result::Result<ApiPolicy, _> =
            serde_json::from_str(r#"{"type":"error","name":"e","on":"every","cooldwn":"1h"}"#);
        assert!(unknown.is_err());
    }
}
