//! Generic webhook: a signed JSON POST.
//!
//! # Payload, version 1
//!
//! `Content-Type: application/json`, UTF-8. Every key is always present (`null` when unset);
//! new keys may be added within version 1, so receivers must ignore unknown keys. A change that
//! removes or retypes a key bumps `version`.
//!
//! ```json
//! {
//!   "version": 1,
//!   "dedupe_key": "incident:42:opened",
//!   "kind": "incident_opened",
//!   "severity": "critical",
//!   "title": "Error rate above 1% on checkout",
//!   "summary": "error_rate 3.75% over 5 min (threshold 1%)",
//!   "function": "checkout",
//!   "error_group": null,
//!   "policy": "error-rate",
//!   "metric": "error_rate",
//!   "value": 0.0375,
//!   "threshold": 0.01,
//!   "occurred_ms": 1764201600000,
//!   "occurred_at": "2025-11-27T00:00:00Z",
//!   "dashboard_url": "https://tern.example.com/functions/checkout",
//!   "fields": [{ "name": "Region", "value": "us-east-1" }]
//! }
//! ```
//!
//! - `kind`: `incident_opened`, `incident_resolved`, `new_error`, `regression`,
//!   `error_occurrence`, `test`.
//! - `severity`: `critical`, `warning`, `info`.
//! - `value`/`threshold`: numbers or `null`; `occurred_ms`: Unix milliseconds.
//!
//! # Headers
//!
//! - `X-Tern-Delivery: <dedupe_key>`: identical on every retry of the same notification;
//!   receivers drop duplicates by it (Tern delivers at least once).
//! - `X-Tern-Event: <kind>`.
//! - `X-Tern-Timestamp: <unix seconds>` when this attempt was signed.
//! - `X-Tern-Signature: sha256=<hex>`: lowercase hex HMAC-SHA256, keyed with the channel's
//!   `secret`, of the bytes `"{X-Tern-Timestamp}.{raw body}"`.
//!
//! # Verifying
//!
//! Recompute the HMAC over the timestamp header, a `.`, and the raw body bytes exactly as
//! received (before any JSON parsing), compare in constant time, and reject timestamps more
//! than 5 minutes from your clock, which stops replays. `docs/webhook.md` has the recipe.

use hmac::{KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::config::WebhookConfig;
use super::{rfc3339_ms, Delivery, Notification, SendContext, SendError};

/// The payload schema version in `"version"`.
pub const PAYLOAD_VERSION: u32 = 1;

/// The wire form of a notification (see the module docs).
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    pub version: u32,
    pub dedupe_key: &'a str,
    pub kind: &'static str,
    pub severity: &'static str,
    pub title: &'a str,
    pub summary: &'a str,
    pub function: Option<&'a str>,
    pub error_group: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub metric: Option<&'a str>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub occurred_ms: i64,
    pub occurred_at: String,
    pub dashboard_url: Option<&'a str>,
    pub fields: Vec<Field<'a>>,
}

#[derive(Debug, Serialize)]
pub struct Field<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

impl<'a> Payload<'a> {
    pub fn new(n: &'a Notification) -> Payload<'a> {
        Payload {
            version: PAYLOAD_VERSION,
            dedupe_key: &n.dedupe_key,
            kind: n.kind.as_str(),
            severity: n.severity.as_str(),
            title: &n.title,
            summary: &n.summary,
            function: n.function.as_deref(),
            error_group: n.error_group.as_deref(),
            policy: n.policy.as_deref(),
            metric: n.metric.as_deref(),
            // JSON has no NaN or infinity: those become null.
            value: n.value.filter(|v| v.is_finite()),
            threshold: n.threshold.filter(|v| v.is_finite()),
            occurred_ms: n.occurred_ms,
            occurred_at: rfc3339_ms(n.occurred_ms),
            dashboard_url: n.dashboard_url.as_deref(),
            fields: n
                .fields
                .iter()
                .map(|(name, value)| Field { name, value })
                .collect(),
        }
    }
}

/// `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length; the error arm is unreachable for Hmac<Sha256>.
    let mut mac = match <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in tag.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A header value that is always valid: visible ASCII kept, anything else replaced by `_`.
/// Dedupe keys are ASCII in practice; this keeps a stray byte from failing the delivery.
pub(crate) fn header_safe(s: &str) -> String {
    s.chars()
        .take(256)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect()
}

pub(super) async fn send(
    c: &WebhookConfig,
    n: &Notification,
    ctx: &SendContext,
) -> Result<Delivery, SendError> {
    let what = format!("webhook {:?}", c.name);
    let body = serde_json::to_vec(&Payload::new(n))
        .map_err(|e| SendError::Permanent(format!("{what}: cannot encode the payload: {e}")))?;
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("user-agent".to_string(), user_agent()),
        ("x-tern-delivery".to_string(), header_safe(&n.dedupe_key)),
        ("x-tern-event".to_string(), n.kind.as_str().to_string()),
        ("x-tern-timestamp".to_string(), ts.to_string()),
        (
            "x-tern-signature".to_string(),
            signature(c.secret.expose().as_bytes(), ts, &body),
        ),
    ];
    headers.extend(
        c.headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string())),
    );
    ctx.http
        .post(&what, c.url.expose(), &headers, body, ctx.timeout)
        .await
}

pub(crate) fn user_agent() -> String {
    format!("tern/{}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // Computed independently:
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'it-is-a-secret-key'
        assert_eq!(
            signature(b"it-is-a-secret-key", 1_700_000_000, br#"{"a":1}"#),
            "sha256=714dcaf7abed5b1aa62c38d6fe97432497fd1d8292a31dba7dbeffeb69cb6aef"
        );
    }

    #[test]
    fn payload_has_every_key_and_version_1() {
        let n = sample();
        let v = serde_json::to_value(Payload::new(&n)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "version",
            "dedupe_key",
            "kind",
            "severity",
            "title",
            "summary",
            "function",
            "error_group",
            "policy",
            "metric",
            "value",
            "threshold",
            "occurred_ms",
            "occurred_at",
            "dashboard_url",
            "fields",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        assert_eq!(v["version"], 1);
        assert_eq!(v["kind"], "incident_opened");
        assert_eq!(v["occurred_at"], "2025-11-27T00:00:00Z");
        assert_eq!(v["fields"][0]["name"], "Region");
        let mut bare = n.clone();
        bare.function = None;
        bare.value = Some(f64::NAN);
        let v = serde_json::to_value(Payload::new(&bare)).unwrap();
        assert!(v["function"].is_null() && v["value"].is_null());
    }

    #[test]
    fn header_values_stay_valid() {
        assert_eq!(header_safe("incident:42:opened"), "incident:42:opened");
        assert_eq!(header_safe("a b\nc\u{e9}"), "a_b_c_");
    }
}
