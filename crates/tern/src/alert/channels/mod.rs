//! Notification channels: how an alert leaves Tern.
//!
//! - [`Notification`] is the domain message: what happened, how bad, where, with a stable
//!   `dedupe_key` per logical notification (`incident:42:opened`).
//! - [`ChannelConfig`] is a validated `[[channels]]` entry of `tern.toml` (see [`config`]).
//! - [`send`] delivers one notification to one channel and classifies failures as
//!   [`SendError::Retryable`] (the outbox retries with backoff) or [`SendError::Permanent`]
//!   (reported, never retried).
//!
//! Each transport answers one question in its own file: [`webhook`] (signed JSON, schema in its
//! doc comment and `docs/webhook.md`), [`slack`] (Block Kit), [`email`] (SMTP through lettre),
//! [`sns`] (AWS SDK Publish). Every request has a timeout.
//!
//! **Architecture Invariant:** secrets (webhook URLs, HMAC keys, SMTP passwords, custom header
//! values) only live in [`Secret`], whose `Debug` and `Display` print `<redacted>`, and no error
//! message built here contains one.
//!
//! This module only uses `super::` paths and external crates, so integration tests can compile
//! it on its own (`tests/channels.rs` includes it with `#[path]`; `tern` is a binary crate).

pub mod config;
pub mod email;
mod http;
pub mod slack;
pub mod sns;
pub mod webhook;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

pub use config::{parse_channels, ChannelConfig, RawChannel, Secret};

/// One notification, as the alert engine produces it. Transports turn it into their own wire
/// format (the webhook's versioned JSON, Slack blocks, an email, an SNS message); it is never
/// serialized as is.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Stable per logical notification (`incident:42:opened`), identical across retries:
    /// receivers drop duplicates by it (webhook `X-Tern-Delivery`, email `Message-ID`).
    pub dedupe_key: String,
    pub kind: Kind,
    pub severity: Severity,
    /// One line: "Error rate above 1% on checkout".
    pub title: String,
    /// A few lines of plain text. Untrusted: may quote error messages.
    pub summary: String,
    pub function: Option<String>,
    pub error_group: Option<String>,
    pub policy: Option<String>,
    pub metric: Option<String>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    /// When it happened, Unix milliseconds.
    pub occurred_ms: i64,
    /// Link to the function or the error group in the dashboard.
    pub dashboard_url: Option<String>,
    /// Extra labelled values, shown in order.
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    IncidentOpened,
    IncidentResolved,
    NewError,
    Regression,
    ErrorOccurrence,
    Test,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::IncidentOpened => "incident_opened",
            Kind::IncidentResolved => "incident_resolved",
            Kind::NewError => "new_error",
            Kind::Regression => "regression",
            Kind::ErrorOccurrence => "error_occurrence",
            Kind::Test => "test",
        }
    }

    /// Short human label: "Incident opened".
    pub fn label(self) -> &'static str {
        match self {
            Kind::IncidentOpened => "Incident opened",
            Kind::IncidentResolved => "Incident resolved",
            Kind::NewError => "New error",
            Kind::Regression => "Regression",
            Kind::ErrorOccurrence => "Error",
            Kind::Test => "Test notification",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What a transport reports back on success, for the outbox's log: the HTTP status, the SMTP
/// reply, the SNS message id. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub detail: String,
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying with backoff: timeouts, refused connections, HTTP 429 and 5xx, SMTP 4xx,
    /// SNS throttling.
    Retryable(String),
    /// Retrying won't help until someone changes the config or the destination: HTTP 4xx,
    /// SMTP 5xx, a missing SNS topic, denied credentials.
    Permanent(String),
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retryable(_))
    }

    pub fn message(&self) -> &str {
        match self {
            SendError::Retryable(m) | SendError::Permanent(m) => m,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Retryable(m) => write!(f, "{m} (will retry)"),
            SendError::Permanent(m) => write!(f, "{m} (permanent)"),
        }
    }
}

impl std::error::Error for SendError {}

/// Shared state for sending: one HTTP client (connection pool, TLS roots loaded once), the
/// per-request timeout, and the SNS clients built so far (loading AWS config reads files and
/// may call STS, so it happens once per channel).
pub struct SendContext {
    /// Bound on each send, connection included.
    pub timeout: Duration,
    http: http::Client,
    sns: tokio::sync::Mutex<HashMap<String, aws_sdk_sns::Client>>,
}

impl fmt::Debug for SendContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendContext")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Default bound on one send.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl SendContext {
    /// Loads the system's TLS roots (falling back to the Mozilla roots compiled in).
    pub fn new(timeout: Duration) -> anyhow::Result<SendContext> {
        Ok(SendContext {
            timeout,
            http: http::Client::new(timeout)?,
            sns: tokio::sync::Mutex::new(HashMap::new()),
        })
    }
}

/// Deliver `n` to `channel`. Never panics, never logs a secret; bounded by `ctx.timeout` (each
/// transport also sets its own request timeouts).
pub async fn send(
    channel: &ChannelConfig,
    n: &Notification,
    ctx: &SendContext,
) -> Result<Delivery, SendError> {
    let work = async {
        match channel {
            ChannelConfig::Webhook(c) => webhook::send(c, n, ctx).await,
            ChannelConfig::Slack(c) => slack::send(c, n, ctx).await,
            ChannelConfig::Email(c) => email::send(c, n, ctx).await,
            ChannelConfig::Sns(c) => sns::send(c, n, ctx).await,
        }
    };
    // The transports' own timeouts fire first; this one is the backstop (AWS config loading,
    // a stalled TLS handshake), with a little slack so their clearer messages win.
    let bound = ctx.timeout.saturating_mul(2);
    match tokio::time::timeout(bound, work).await {
        Ok(r) => r,
        Err(_) => Err(SendError::Retryable(format!(
            "channel {:?}: timed out after {:?}",
            channel.name(),
            bound
        ))),
    }
}

/// Cut `s` to at most `max` characters, ending with `…` when cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// RFC 3339 UTC for a Unix-milliseconds instant; the raw number if it is out of range. (Its
/// own copy of `timeutil::rfc3339_ms`: `tests/channels.rs` compiles this module on its own.)
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    let fmt = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// "12.5" for a metric value: no trailing noise, at most 4 decimals.
pub(crate) fn fmt_number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

/// The labelled facts every transport shows: function, error group, policy, metric, then the
/// notification's own fields.
pub(crate) fn facts(n: &Notification) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(f) = &n.function {
        out.push(("Function".to_string(), f.clone()));
    }
    if let Some(g) = &n.error_group {
        out.push(("Error group".to_string(), g.clone()));
    }
    if let Some(p) = &n.policy {
        out.push(("Policy".to_string(), p.clone()));
    }
    if let Some(m) = &n.metric {
        let mut v = m.clone();
        if let Some(x) = n.value {
            v.push_str(&format!(" = {}", fmt_number(x)));
        }
        if let Some(t) = n.threshold {
            v.push_str(&format!(" (threshold {})", fmt_number(t)));
        }
        out.push(("Metric".to_string(), v));
    }
    out.extend(n.fields.iter().cloned());
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;

    /// A notification with every optional part set and hostile text in the untrusted fields.
    pub(crate) fn sample() -> Notification {
        Notification {
            dedupe_key: "incident:42:opened".to_string(),
            kind: Kind::IncidentOpened,
            severity: Severity::Critical,
            title: "Error rate above 1% on <checkout> & co".to_string(),
            summary: "TypeError: Cannot read 'id' of <undefined> & more\n<!channel>".to_string(),
            function: Some("checkout-<prod>".to_string()),
            error_group: Some("eg-7f3a".to_string()),
            policy: Some("error-rate".to_string()),
            metric: Some("error_rate".to_string()),
            value: Some(0.0375),
            threshold: Some(0.01),
            occurred_ms: 1_764_201_600_000,
            dashboard_url: Some("https://tern.example.com/functions/checkout?x=1&y=2".to_string()),
            fields: vec![("Region".to_string(), "us-east-1".to_string())],
        }
    }

    #[test]
    fn numbers_render_short() {
        assert_eq!(fmt_number(3.0), "3");
        assert_eq!(fmt_number(0.0375), "0.0375");
        assert_eq!(fmt_number(0.1), "0.1");
        assert_eq!(fmt_number(f64::NAN), "NaN");
    }

    #[test]
    fn truncation_counts_chars_and_marks_the_cut() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
        assert_eq!(truncate_chars("ééééé", 3).chars().count(), 3);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339_ms(1_764_201_600_000), "2025-11-27T00:00:00Z");
        assert_eq!(rfc3339_ms(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn facts_are_ordered() {
        let f = facts(&sample());
        let labels: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            labels,
            ["Function", "Error group", "Policy", "Metric", "Region"]
        );
        assert_eq!(f[3].1, "error_rate = 0.0375 (threshold 0.01)");
    }

    #[test]
    fn send_error_classification_is_visible() {
        assert!(SendError::Retryable("x".into()).is_retryable());
        assert!(!SendError::Permanent("x".into()).is_retryable());
        assert_eq!(
            SendError::Permanent("HTTP 410".into()).to_string(),
            "HTTP 410 (permanent)"
        );
    }
}
