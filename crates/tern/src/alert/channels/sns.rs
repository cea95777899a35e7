//! AWS SNS: `Publish` to a topic through the SDK, TLS by rustls on ring.
//!
//! - `Subject`: `[CRITICAL] <title>`, made to fit SNS's rules (at most 100 printable ASCII
//!   characters, no line breaks; used by email subscriptions).
//! - `Message`: the same plain text as the email body (at most 256 KB).
//! - `MessageAttributes` (String): `kind`, `severity`, `dedupe_key`, and `function` when set,
//!   so subscriptions can filter with a filter policy.
//!
//! The SDK's own retries are off: the outbox owns retrying, with backoff.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sns::operation::publish::PublishError;
use aws_sdk_sns::types::MessageAttributeValue;

use super::config::SnsConfig;
use super::{truncate_chars, Delivery, Notification, SendContext, SendError};

/// SNS limits.
const SUBJECT_MAX: usize = 100;
const MESSAGE_MAX_BYTES: usize = 256 * 1024 - 4 * 1024; // room for the attributes

/// An SNS-valid subject: printable ASCII (others become `?`), whitespace runs collapsed to one
/// space, at most 100 characters.
pub fn subject(n: &Notification) -> String {
    let raw = format!("[{}] {}", n.severity.as_str().to_uppercase(), n.title);
    let ascii: String = raw
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_whitespace() || c.is_control() => ' ',
            _ => '?',
        })
        .collect();
    let one_line = ascii.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = one_line.as_str();
    if trimmed.len() <= SUBJECT_MAX {
        return trimmed.to_string();
    }
    // ASCII only, so byte offsets are character offsets.
    let mut s = trimmed[..SUBJECT_MAX - 3].trim_end().to_string();
    s.push_str("...");
    s
}

/// The message text, cut to SNS's size limit on a character boundary.
pub fn message(n: &Notification) -> String {
    let text = super::email::text_body(n);
    if text.len() <= MESSAGE_MAX_BYTES {
        return text;
    }
    let mut end = MESSAGE_MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[truncated]", &text[..end])
}

async fn client(c: &SnsConfig, ctx: &SendContext) -> aws_sdk_sns::Client {
    let key = format!(
        "{}\u{0}{}\u{0}{:?}\u{0}{:?}",
        c.name, c.region, c.profile, c.endpoint_url
    );
    let mut cache = ctx.sns.lock().await;
    if let Some(client) = cache.get(&key) {
        return client.clone();
    }
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new(c.region.clone()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(ctx.timeout)
                .operation_timeout(ctx.timeout)
                .build(),
        )
        .retry_config(RetryConfig::disabled());
    if let Some(p) = &c.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &c.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    let client = aws_sdk_sns::Client::new(&loader.load().await);
    cache.insert(key, client.clone());
    client
}

fn attribute(v: &str) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(truncate_chars(v, 1024))
        .build()
        .ok()
}

pub(super) async fn send(
    c: &SnsConfig,
    n: &Notification,
    ctx: &SendContext,
) -> Result<Delivery, SendError> {
    let what = format!("sns {:?}", c.name);
    let client = client(c, ctx).await;
    let mut req = client
        .publish()
        .topic_arn(&c.topic_arn)
        .subject(subject(n))
        .message(message(n));
    let mut attrs = vec![
        ("kind", n.kind.as_str()),
        ("severity", n.severity.as_str()),
        ("dedupe_key", n.dedupe_key.as_str()),
    ];
    if let Some(f) = n.function.as_deref().filter(|f| !f.is_empty()) {
        attrs.push(("function", f));
    }
    for (k, v) in attrs {
        if let Some(a) = attribute(v) {
            req = req.message_attributes(k, a);
        }
    }
    match req.send().await {
        Ok(out) => Ok(Delivery {
            detail: format!("SNS message {}", out.message_id().unwrap_or("(no id)")),
        }),
        Err(e) => Err(classify(&what, &e)),
    }
}

/// Throttling, server errors, timeouts and network failures are retried; a missing topic,
/// invalid parameters, denied authorization and missing credentials are permanent.
fn classify(what: &str, e: &SdkError<PublishError, HttpResponse>) -> SendError {
    let msg = format!("{what}: {}", DisplayErrorContext(e));
    match e {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => SendError::Retryable(msg),
        SdkError::DispatchFailure(d) => {
            if d.is_io() || d.is_timeout() {
                SendError::Retryable(msg)
            } else {
                SendError::Permanent(msg)
            }
        }
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("");
            let status = s.raw().status().as_u16();
            if retryable_code(code) || status >= 500 || status == 429 {
                SendError::Retryable(msg)
            } else {
                SendError::Permanent(msg)
            }
        }
        // Construction failures (bad input, no credentials) won't fix themselves.
        _ => SendError::Permanent(msg),
    }
}

/// Error codes AWS documents as transient for Publish.
pub fn retryable_code(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "Throttled"
            | "ThrottledException"
            | "KMSThrottling"
            | "KMSThrottlingException"
            | "InternalError"
            | "InternalErrorException"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "RequestTimeout"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn subjects_follow_the_sns_rules() {
        let mut n = sample();
        n.title = "  Błąd\nin «checkout» ".to_string() + &"x".repeat(300);
        let s = subject(&n);
        assert!(s.len() <= SUBJECT_MAX, "{}", s.len());
        assert!(s.chars().all(|c| (' '..='~').contains(&c)), "{s}");
        assert!(s.starts_with("[CRITICAL] B?"), "{s}");
        assert!(s.ends_with("..."));
        assert_eq!(
            subject(&sample()),
            "[CRITICAL] Error rate above 1% on <checkout> & co"
        );
    }

    #[test]
    fn codes_are_classified() {
        for c in [
            "Throttling",
            "ThrottledException",
            "InternalError",
            "KMSThrottling",
        ] {
            assert!(retryable_code(c), "{c}");
        }
        for c in [
            "NotFound",
            "InvalidParameter",
            "AuthorizationError",
            "EndpointDisabled",
        ] {
            assert!(!retryable_code(c), "{c}");
        }
    }

    #[test]
    fn huge_messages_are_cut() {
        let mut n = sample();
        n.summary = "é".repeat(300_000);
        let m = message(&n);
        assert!(m.len() <= MESSAGE_MAX_BYTES + 20);
        assert!(m.ends_with("[truncated]"));
    }
}
