//! Email through SMTP with lettre: STARTTLS, implicit TLS or none; optional auth; a
//! `multipart/alternative` text and HTML body.
//!
//! The `Message-ID` is derived from the dedupe key, so a retried notification carries the same
//! id and mail systems that track ids see one message. Untrusted text is HTML-escaped in the
//! HTML part; the subject is a single line.

use std::fmt::Write as _;

use lettre::message::header::ContentType;
use lettre::message::{MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};

use super::config::{EmailConfig, SmtpTls};
use super::{facts, rfc3339_ms, truncate_chars, Delivery, Notification, SendContext, SendError};

/// Subjects longer than this are cut (RFC 5322 recommends 78-character lines; folding handles
/// the rest, but a readable subject is short).
const SUBJECT_MAX: usize = 200;

/// `[Tern] [CRITICAL] Error rate above 1% on checkout`, on one line.
pub fn subject(n: &Notification) -> String {
    let s = format!(
        "[Tern] [{}] {}",
        n.severity.as_str().to_uppercase(),
        n.title
    );
    truncate_chars(&one_line(&s), SUBJECT_MAX)
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `<tern.incident-42-opened.1a2b3c4d5e6f7a8b@example.com>`: the readable part of the dedupe key
/// plus a hash of all of it (so `a:b` and `a-b` differ), at the sender's domain.
pub fn message_id(dedupe_key: &str, from_domain: &str) -> String {
    let readable: String = dedupe_key
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let hash = Sha256::digest(dedupe_key.as_bytes());
    let mut hex = String::with_capacity(16);
    for b in hash.iter().take(8) {
        let _ = write!(hex, "{b:02x}");
    }
    let domain: String = from_domain
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    let domain = if domain.is_empty() {
        "tern.invalid"
    } else {
        &domain
    };
    format!("<tern.{readable}.{hex}@{domain}>")
}

/// Escape text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub fn text_body(n: &Notification) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}", n.kind.label(), n.title);
    let _ = writeln!(s, "Severity: {}", n.severity.as_str());
    let _ = writeln!(s, "When: {}", rfc3339_ms(n.occurred_ms));
    s.push('\n');
    if !n.summary.is_empty() {
        let _ = writeln!(s, "{}\n", n.summary);
    }
    for (k, v) in facts(n) {
        let _ = writeln!(s, "{k}: {v}");
    }
    if let Some(url) = &n.dashboard_url {
        let _ = writeln!(s, "\nOpen in Tern: {url}");
    }
    let _ = write!(s, "\n-- \nSent by Tern ({})\n", n.dedupe_key);
    s
}

pub fn html_body(n: &Notification) -> String {
    let color = match (n.kind, n.severity) {
        (super::Kind::IncidentResolved, _) => "#2e7d32",
        (_, super::Severity::Critical) => "#c62828",
        (_, super::Severity::Warning) => "#ef6c00",
        (_, super::Severity::Info) => "#1565c0",
    };
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n");
    let _ = writeln!(
        s,
        "<h2 style=\"color:{color}\">{}: {}</h2>",
        escape_html(n.kind.label()),
        escape_html(&n.title)
    );
    let _ = writeln!(
        s,
        "<p><b>Severity:</b> {} &middot; <b>When:</b> {}</p>",
        escape_html(n.severity.as_str()),
        escape_html(&rfc3339_ms(n.occurred_ms))
    );
    if !n.summary.is_empty() {
        let _ = writeln!(
            s,
            "<pre style=\"white-space:pre-wrap\">{}</pre>",
            escape_html(&n.summary)
        );
    }
    let rows = facts(n);
    if !rows.is_empty() {
        s.push_str("<table cellpadding=\"4\">\n");
        for (k, v) in rows {
            let _ = writeln!(
                s,
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                escape_html(&k),
                escape_html(&v)
            );
        }
        s.push_str("</table>\n");
    }
    if let Some(url) = n
        .dashboard_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    {
        let _ = writeln!(
            s,
            "<p><a href=\"{}\">Open in Tern</a></p>",
            escape_html(url)
        );
    }
    let _ = writeln!(
        s,
        "<p style=\"color:#777;font-size:small\">Sent by Tern ({})</p>",
        escape_html(&n.dedupe_key)
    );
    s.push_str("</body></html>\n");
    s
}

/// The full message (public for tests and previews).
pub fn build(c: &EmailConfig, n: &Notification) -> Result<Message, SendError> {
    let what = format!("email {:?}", c.name);
    let mut b = Message::builder()
        .from(c.from.clone())
        .subject(subject(n))
        .message_id(Some(message_id(&n.dedupe_key, c.from.email.domain())))
        .user_agent(super::webhook::user_agent());
    for to in &c.to {
        b = b.to(to.clone());
    }
    let parts = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text_body(n)),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html_body(n)),
        );
    b.multipart(parts)
        .map_err(|e| SendError::Permanent(format!("{what}: cannot build the message: {e}")))
}

fn transport(
    c: &EmailConfig,
    ctx: &SendContext,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    let what = format!("email {:?}", c.name);
    let tls_params = || {
        TlsParameters::new(c.smtp_host.clone())
            .map_err(|e| SendError::Permanent(format!("{what}: TLS setup: {e}")))
    };
    let tls = match c.tls {
        SmtpTls::StartTls => Tls::Required(tls_params()?),
        SmtpTls::Tls => Tls::Wrapper(tls_params()?),
        SmtpTls::None => Tls::None,
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.smtp_host.as_str())
        .port(c.smtp_port)
        .tls(tls)
        .timeout(Some(ctx.timeout));
    if let (Some(user), Some(pass)) = (&c.username, &c.password) {
        b = b.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
    }
    Ok(b.build())
}

/// SMTP replies: 4xx transient (retry), 5xx permanent; timeouts and connection failures are
/// retried; TLS and client-side errors are permanent (they need a config change).
fn classify(what: &str, e: &lettre::transport::smtp::Error) -> SendError {
    let msg = format!("{what}: {e}");
    if e.is_transient() || e.is_timeout() {
        SendError::Retryable(msg)
    } else if e.is_permanent() || e.is_tls() || e.is_client() {
        SendError::Permanent(msg)
    } else {
        // Connection refused or reset, unexpected reply, closed transport: try again later.
        SendError::Retryable(msg)
    }
}

pub(super) async fn send(
    c: &EmailConfig,
    n: &Notification,
    ctx: &SendContext,
) -> Result<Delivery, SendError> {
    let what = format!("email {:?}", c.name);
    let msg = build(c, n)?;
    let mailer = transport(c, ctx)?;
    match mailer.send(msg).await {
        Ok(resp) => Ok(Delivery {
            detail: format!(
                "SMTP {} {}",
                resp.code(),
                one_line(&resp.message().collect::<Vec<_>>().join(" "))
            ),
        }),
        Err(e) => Err(classify(&what, &e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn message_ids_are_stable_valid_and_distinct() {
        let a = message_id("incident:42:opened", "example.com");
        assert_eq!(a, message_id("incident:42:opened", "example.com"));
        assert!(a.starts_with("<tern.incident-42-opened."), "{a}");
        assert!(a.ends_with("@example.com>"));
        assert_ne!(a, message_id("incident-42-opened", "example.com"));
        assert!(message_id("x y <z>", "").ends_with("@tern.invalid>"));
    }

    #[test]
    fn html_escapes_untrusted_text() {
        let h = html_body(&sample());
        assert!(h.contains("&lt;undefined&gt; &amp; more"));
        assert!(h.contains("checkout-&lt;prod&gt;"));
        assert!(!h.contains("<undefined>"));
        assert!(h.contains("href=\"https://tern.example.com/functions/checkout?x=1&amp;y=2\""));
    }

    #[test]
    fn subject_is_one_short_line() {
        let mut n = sample();
        n.title = "line one\r\nBcc: victim@example.com".to_string() + &"x".repeat(500);
        let s = subject(&n);
        assert!(!s.contains('\n') && !s.contains('\r'));
        assert_eq!(s.chars().count(), SUBJECT_MAX);
    }
}
