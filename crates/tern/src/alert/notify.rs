//! What the engine says: [`Notification`]s for incidents and error-group events, and the form
//! they wait in the outbox ([`Envelope`], JSON, versioned).
//!
//! One logical notification has one `dedupe_key` (`incident:42:opened`), which receivers see
//! (webhook `X-Tern-Delivery`, email `Message-ID`, SNS attribute). It goes to several channels,
//! one outbox row each, keyed `<dedupe_key>@<channel>` (the outbox keys are unique).

use serde::{Deserialize, Serialize};
use tern_core::alert::{Comparison, ErrorPolicy, MetricPolicy, ResolveReason};
use tern_store::{ErrorGroup, Incident, OutboxItem};

use super::channels::{fmt_number, Kind, Notification, Severity};

/// The outbox payload format version.
const ENVELOPE_VERSION: u32 = 1;

/// A notification as stored in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    pub v: u32,
    pub dedupe_key: String,
    pub kind: String,
    pub severity: String,
    pub title: String,
    pub summary: String,
    pub function: Option<String>,
    pub error_group: Option<String>,
    pub policy: Option<String>,
    pub metric: Option<String>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub occurred_ms: i64,
    pub dashboard_url: Option<String>,
    #[serde(default)]
    pub fields: Vec<(String, String)>,
}

const KINDS: [Kind; 6] = [
    Kind::IncidentOpened,
    Kind::IncidentResolved,
    Kind::NewError,
    Kind::Regression,
    Kind::ErrorOccurrence,
    Kind::Test,
];

pub fn severity(s: tern_core::alert::Severity) -> Severity {
    match s {
        tern_core::alert::Severity::Info => Severity::Info,
        tern_core::alert::Severity::Warning => Severity::Warning,
        tern_core::alert::Severity::Critical => Severity::Critical,
    }
}

impl Envelope {
    pub fn of(n: &Notification) -> Envelope {
        Envelope {
            v: ENVELOPE_VERSION,
            dedupe_key: n.dedupe_key.clone(),
            kind: n.kind.as_str().to_string(),
            severity: n.severity.as_str().to_string(),
            title: n.title.clone(),
            summary: n.summary.clone(),
            function: n.function.clone(),
            error_group: n.error_group.clone(),
            policy: n.policy.clone(),
            metric: n.metric.clone(),
            value: n.value.filter(|v| v.is_finite()),
            threshold: n.threshold.filter(|v| v.is_finite()),
            occurred_ms: n.occurred_ms,
            dashboard_url: n.dashboard_url.clone(),
            fields: n.fields.clone(),
        }
    }

    /// Back to a notification; `Err` names what is wrong with a stored payload.
    pub fn parse(payload: &str) -> Result<Notification, String> {
        let e: Envelope =
            serde_json::from_str(payload).map_err(|e| format!("unreadable payload: {e}"))?;
        if e.v != ENVELOPE_VERSION {
            return Err(format!("payload version {} is not supported", e.v));
        }
        let kind = KINDS
            .into_iter()
            .find(|k| k.as_str() == e.kind)
            .ok_or_else(|| format!("unknown kind {:?}", e.kind))?;
        let severity = [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|s| s.as_str() == e.severity)
            .ok_or_else(|| format!("unknown severity {:?}", e.severity))?;
        Ok(Notification {
            dedupe_key: e.dedupe_key,
            kind,
            severity,
            title: e.title,
            summary: e.summary,
            function: e.function,
            error_group: e.error_group,
            policy: e.policy,
            metric: e.metric,
            value: e.value,
            threshold: e.threshold,
            occurred_ms: e.occurred_ms,
            dashboard_url: e.dashboard_url,
            fields: e.fields,
        })
    }
}

/// One outbox row per channel.
pub fn outbox_items(n: &Notification, channels: &[String]) -> Vec<OutboxItem> {
    let payload = match serde_json::to_string(&Envelope::of(n)) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, key = %n.dedupe_key, "Cannot encode a notification.");
            return Vec::new();
        }
    };
    channels
        .iter()
        .map(|c| OutboxItem {
            dedupe_key: format!("{}@{c}", n.dedupe_key),
            channel: c.clone(),
            payload: payload.clone(),
        })
        .collect()
}

/// Links into the dashboard.
pub fn function_link(base: Option<&str>, function: &str) -> Option<String> {
    base.map(|b| format!("{b}/functions/{}", path_segment(function)))
}

pub fn error_link(base: Option<&str>, id: &str) -> Option<String> {
    base.map(|b| format!("{b}/errors/{}", path_segment(id)))
}

/// Percent-encode everything but unreserved characters.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn window_text(ms: i64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64)).to_string()
}

/// `error_rate 0.05 > 0.01`.
pub fn condition(metric: &str, value: f64, cmp: Comparison, threshold: f64) -> String {
    format!(
        "{metric} {} {} {}",
        fmt_number(value),
        cmp.as_str(),
        fmt_number(threshold)
    )
}

/// The notification for an incident that just opened or resolved. `policy` is `None` when
/// the policy was deleted (its incidents resolve as withdrawn).
pub fn incident(
    policy: Option<&MetricPolicy>,
    incident: &Incident,
    opened: bool,
    reason: Option<ResolveReason>,
    dashboard: Option<&str>,
) -> Notification {
    let metric = policy.map(|p| p.metric.as_str());
    let value = incident.value.unwrap_or(f64::NAN);
    let threshold = incident.threshold.unwrap_or(f64::NAN);
    let cond = match policy {
        Some(p) => condition(p.metric.as_str(), value, p.comparison, threshold),
        None => incident.detail.clone().unwrap_or_default(),
    };
    let name = &incident.policy;
    let (kind, key, title, summary, at) = if opened {
        let summary = match policy {
            Some(p) => format!(
                "{} {} of {} over {} (threshold {} {}).",
                p.aggregation.as_str(),
                p.metric.as_str(),
                incident.subject,
                window_text(p.window_ms),
                p.comparison.as_str(),
                fmt_number(threshold)
            ),
            None => cond.clone(),
        };
        (
            Kind::IncidentOpened,
            format!("incident:{}:opened", incident.id),
            format!("{name} on {}: {cond}", incident.subject),
            summary,
            incident.opened_ms,
        )
    } else {
        let at = incident.resolved_ms.unwrap_or(incident.last_firing_ms);
        let why = match reason {
            Some(ResolveReason::Quiet) => "no firing evaluation for a while (quiet)",
            Some(ResolveReason::Withdrawn) => "the policy was removed or disabled",
            _ => "the condition cleared",
        };
        (
            Kind::IncidentResolved,
            format!("incident:{}:resolved", incident.id),
            format!("Resolved: {name} on {}", incident.subject),
            format!(
                "Resolved after {}: {why}. Last firing value: {cond}.",
                window_text(at - incident.opened_ms)
            ),
            at,
        )
    };
    Notification {
        dedupe_key: key,
        kind,
        severity: severity(policy.map_or(tern_core::alert::Severity::Warning, |p| p.severity)),
        title,
        summary,
        function: Some(incident.subject.clone()),
        error_group: None,
        policy: Some(name.clone()),
        metric: metric.map(str::to_string),
        value: incident.value,
        threshold: incident.threshold,
        occurred_ms: at,
        dashboard_url: function_link(dashboard, &incident.subject),
        fields: vec![("Incident".to_string(), incident.id.to_string())],
    }
}

/// The notification for a regression policy's incident that just opened or
/// resolved. `change` is the id of the change an opening is about: the opening's dedupe key
/// carries it, so one change is announced once.
pub fn regression(
    policy: &tern_core::alert::RegressionPolicy,
    change: &str,
    incident: &Incident,
    opened: bool,
    dashboard: Option<&str>,
) -> Notification {
    let detail = incident.detail.clone().unwrap_or_default();
    let name = &incident.policy;
    let (kind, key, title, summary, at) = if opened {
        (
            Kind::IncidentOpened,
            format!("incident:{}:opened:{change}", incident.id),
            format!("{name} on {}: a change made it worse", incident.subject),
            format!(
                "{detail}. `tern compare {}` shows every figure.",
                incident.subject
            ),
            incident.opened_ms,
        )
    } else {
        let at = incident.resolved_ms.unwrap_or(incident.last_firing_ms);
        (
            Kind::IncidentResolved,
            format!("incident:{}:resolved", incident.id),
            format!("Resolved: {name} on {}", incident.subject),
            format!(
                "Resolved after {}: a newer change was judged, or the change grew older than \
                 the policy's max_age. It was: {detail}.",
                window_text(at - incident.opened_ms)
            ),
            at,
        )
    };
    Notification {
        dedupe_key: key,
        kind,
        severity: severity(policy.severity),
        title,
        summary,
        function: Some(incident.subject.clone()),
        error_group: None,
        policy: Some(name.clone()),
        metric: Some("regression".to_string()),
        value: incident.value,
        threshold: incident.threshold,
        occurred_ms: at,
        dashboard_url: function_link(dashboard, &incident.subject),
        fields: vec![("Incident".to_string(), incident.id.to_string())],
    }
}

/// What happened to an error group, for a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupNews {
    New,
    /// With the sequence number of the reopening.
    Regression(i64),
    /// With the occurrence's cursor.
    Occurrence(i64, i64),
}

pub fn error_group(
    policy: &ErrorPolicy,
    g: &ErrorGroup,
    news: GroupNews,
    at_ms: i64,
    dashboard: Option<&str>,
) -> Notification {
    let (kind, key, label) = match news {
        GroupNews::New => (
            Kind::NewError,
            format!("error:{}:new:{}", g.id, policy.name),
            "New error",
        ),
        GroupNews::Regression(seq) => (
            Kind::Regression,
            format!("error:{}:regression:{seq}:{}", g.id, policy.name),
            "Regression",
        ),
        GroupNews::Occurrence(seq, pos) => (
            Kind::ErrorOccurrence,
            format!("error:{}:occurrence:{seq}.{pos}:{}", g.id, policy.name),
            "Error",
        ),
    };
    let mut summary = g.message.clone().unwrap_or_else(|| g.title.clone());
    if let Some(c) = &g.culprit {
        summary.push_str(&format!("\nat {c}"));
    }
    Notification {
        dedupe_key: key,
        kind,
        severity: severity(policy.severity),
        title: format!("{label} in {}: {}", g.function, g.title),
        summary,
        function: Some(g.function.clone()),
        error_group: Some(g.id.clone()),
        policy: Some(policy.name.clone()),
        metric: None,
        value: None,
        threshold: None,
        occurred_ms: at_ms,
        dashboard_url: error_link(dashboard, &g.id),
        fields: vec![
            ("Occurrences".to_string(), g.count.to_string()),
            ("Outcome".to_string(), g.outcome.as_str().to_string()),
        ],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn envelope_round_trips_and_keys_name_the_channel() {
        let n = Notification {
            dedupe_key: "incident:1:opened".into(),
            kind: Kind::IncidentOpened,
            severity: Severity::Critical,
            title: "t".into(),
            summary: "s".into(),
            function: Some("f".into()),
            error_group: None,
            policy: Some("p".into()),
            metric: Some("errors".into()),
            value: Some(3.0),
            threshold: Some(1.0),
            occurred_ms: 5,
            dashboard_url: function_link(Some("https://t.example"), "a b/c"),
            fields: vec![("k".into(), "v".into())],
        };
        assert_eq!(
            n.dashboard_url.as_deref(),
            Some("https://t.example/functions/a%20b%2Fc")
        );
        let items = outbox_items(&n, &["a".into(), "b".into()]);
        assert_eq!(items[1].dedupe_key, "incident:1:opened@b");
        assert_eq!(Envelope::parse(&items[0].payload).unwrap(), n);
        assert!(Envelope::parse("{}").is_err());
    }
}
