//! One small HTTP client for the webhook and Slack channels: hyper 1 through hyper-util, TLS by
//! rustls on ring (the stack the AWS SDK already builds), system roots with the Mozilla roots as
//! fallback. Every request is bounded in time and in response size, and failures are classified
//! for the outbox.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{Delivery, SendError};

/// Response bodies are read up to this size (an error text from Slack is a few bytes).
const MAX_RESPONSE_BYTES: usize = 64 << 10;
/// How much of a response body goes into an error message.
const MAX_SNIPPET_CHARS: usize = 200;

#[derive(Clone)]
pub(super) struct Client {
    inner: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Client {
    pub(super) fn new(connect_timeout: Duration) -> anyhow::Result<Client> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = match HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(Arc::clone(&provider))
        {
            Ok(b) => b,
            Err(_) => {
                let roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                HttpsConnectorBuilder::new().with_tls_config(tls)
            }
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Client { inner })
    }

    /// POST `body` to `url` with `headers`, within `timeout` (connecting, sending and reading
    /// the response). `what` names the channel in messages; `url` never appears in them, since
    /// it may carry a token.
    pub(super) async fn post(
        &self,
        what: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Delivery, SendError> {
        let mut req = http::Request::post(url);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| SendError::Permanent(format!("{what}: cannot build the request")))?;
        let exchange = async {
            let resp = self.inner.request(req).await?;
            let status = resp.status();
            // Read (a bounded prefix of) the body so the connection can be reused and the
            // receiver's error text reaches the report.
            let body = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            Ok::<_, hyper_util::client::legacy::Error>((status, body))
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(SendError::Retryable(format!(
                "{what}: no response within {timeout:?}"
            ))),
            Ok(Err(e)) => Err(classify_transport(what, &e)),
            Ok(Ok((status, body))) => classify_status(what, status.as_u16(), &body),
        };
        result.map_err(|e| redact(e, url))
    }
}

/// Belt and braces: no error text built from library errors or response bodies may echo the
/// URL or its path and query (where Slack and most webhook services keep the token).
fn redact(e: SendError, url: &str) -> SendError {
    let mut needles = vec![url.to_string()];
    if let Ok(uri) = url.parse::<http::Uri>() {
        if let Some(pq) = uri.path_and_query().map(|p| p.as_str()) {
            if pq.len() > 1 {
                needles.push(pq.to_string());
            }
        }
    }
    let scrub = |m: String| {
        needles
            .iter()
            .fold(m, |m, n| m.replace(n.as_str(), "<redacted>"))
    };
    match e {
        SendError::Retryable(m) => SendError::Retryable(scrub(m)),
        SendError::Permanent(m) => SendError::Permanent(scrub(m)),
    }
}

/// Connection-level failures are worth retrying (refused, reset, DNS, TLS handshake cut short):
/// the receiver may be restarting. The message is built from the error kinds only.
fn classify_transport(what: &str, e: &hyper_util::client::legacy::Error) -> SendError {
    let mut msg = if e.is_connect() {
        format!("{what}: cannot connect")
    } else {
        format!("{what}: request failed")
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    SendError::Retryable(msg)
}

/// 2xx delivered; 408, 429 and 5xx retried; every other status (4xx, and 3xx: redirects are not
/// followed, since the body is signed for one URL) permanent.
pub(super) fn classify_status(what: &str, status: u16, body: &[u8]) -> Result<Delivery, SendError> {
    let text = snippet(body);
    if (200..300).contains(&status) {
        return Ok(Delivery {
            detail: format!("HTTP {status}"),
        });
    }
    let msg = if text.is_empty() {
        format!("{what}: HTTP {status}")
    } else {
        format!("{what}: HTTP {status}: {text}")
    };
    if status == 408 || status == 429 || (500..600).contains(&status) {
        Err(SendError::Retryable(msg))
    } else {
        Err(SendError::Permanent(msg))
    }
}

/// The start of a response body as one line of printable text.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    super::truncate_chars(&one_line, MAX_SNIPPET_CHARS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_for_the_outbox() {
        assert!(classify_status("w", 200, b"ok").is_ok());
        assert!(classify_status("w", 204, b"").is_ok());
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(
                classify_status("w", s, b"").unwrap_err().is_retryable(),
                "{s}"
            );
        }
        for s in [301, 400, 401, 403, 404, 410, 413] {
            assert!(
                !classify_status("w", s, b"").unwrap_err().is_retryable(),
                "{s}"
            );
        }
    }

    #[test]
    fn echoed_urls_are_redacted() {
        let url = "https://hooks.slack.com/services/T1/B1/secret-path";
        let e = classify_status("slack", 400, b"bad request to /services/T1/B1/secret-path")
            .unwrap_err();
        let e = redact(e, url);
        assert_eq!(e.message(), "slack: HTTP 400: bad request to <redacted>");
        let e = redact(SendError::Retryable(format!("x {url}")), url);
        assert_eq!(e.message(), "x <redacted>");
    }

    #[test]
    fn error_bodies_are_quoted_short_and_on_one_line() {
        let e = classify_status("slack", 404, b"no_service\n").unwrap_err();
        assert_eq!(e.message(), "slack: HTTP 404: no_service");
        let long = "x".repeat(10_000);
        let e = classify_status("w", 500, long.as_bytes()).unwrap_err();
        assert!(e.message().chars().count() < 300);
    }
}
