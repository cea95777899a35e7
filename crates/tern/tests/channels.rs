//! Notification channels through real protocols:
//! - a local HTTP receiver that verifies the webhook HMAC the way a user would;
//! - a Slack-shaped receiver that checks the Block Kit JSON;
//! - the aiosmtpd sink, with the mail read back from its Maildir (`.ci/smtp.sh`);
//! - SNS Publish against the moto server, read back through an SQS subscription.
//!
//! Everything listens on 127.0.0.1. A test that needs aiosmtpd or moto prints `SKIPPED: …` when
//! the service is down, and fails instead when `TERN_REQUIRE_SERVICES=1` (CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{KeyInit, Mac};
use serde_json::Value;

use tern::alert::channels::{
    parse_channels, send, ChannelConfig, Kind, Notification, RawChannel, SendContext, Severity,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Sets the process environment once, before any test does anything else: no instance-metadata
/// lookups (169.254.169.254 is not loopback) and test credentials for the SDK's default chain.
fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            std::env::set_var("AWS_ACCESS_KEY_ID", "test");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        }
    });
}

/// Whether the service answers. If not: fail under `TERN_REQUIRE_SERVICES=1` (CI), else say
/// loudly that the test is skipped.
fn service_up(name: &str, addr: &str) -> bool {
    let ok = addr
        .parse::<SocketAddr>()
        .ok()
        .and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).ok())
        .is_some();
    if !ok {
        if std::env::var("TERN_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!("{name} is not running at {addr} and TERN_REQUIRE_SERVICES=1");
        }
        // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {name} is not running at {addr}; start it (see .ci/run) to run this test"
        );
    }
    ok
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn notification(dedupe_key: &str) -> Notification {
    Notification {
        dedupe_key: dedupe_key.to_string(),
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

fn ctx(timeout: Duration) -> SendContext {
    SendContext::new(timeout).unwrap()
}

fn channel(toml_entry: &str) -> ChannelConfig {
    #[derive(serde::Deserialize)]
    struct File {
        channels: Vec<RawChannel>,
    }
    let f: File = toml::from_str(&format!("[[channels]]\n{toml_entry}")).unwrap();
    parse_channels(&f.channels).unwrap().remove(0)
}

const SECRET: &str = "whsec-test-0123456789abcdef";

fn webhook_channel(url: &str) -> ChannelConfig {
    channel(&format!(
        "name = \"hook\"\ntype = \"webhook\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n\
         headers = {{ Authorization = \"Bearer header-token-secret\" }}\n"
    ))
}

#[derive(Debug, Clone)]
struct Recorded {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A tiny HTTP receiver on 127.0.0.1:0 that records every request and answers `status` after
/// `delay`.
struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Receiver {
    async fn start(status: u16, reply: &'static str, delay: Duration) -> Receiver {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let handler = move |headers: HeaderMap, body: Bytes| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push(Recorded {
                    headers,
                    body: body.to_vec(),
                });
                tokio::time::sleep(delay).await;
                (StatusCode::from_u16(status).unwrap(), reply)
            }
        };
        let app = axum::Router::new().route("/{*path}", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }
}

/// What a receiver does with a Tern webhook: check the timestamp is fresh and recompute the
/// signature over `"{timestamp}.{raw body}"`, comparing in constant time.
fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let ts = headers
        .get("x-tern-timestamp")
        .and_then(|v| v.to_str().ok())
        .ok_or("no X-Tern-Timestamp")?;
    let ts_num: i64 = ts.parse().map_err(|_| "bad timestamp")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - ts_num).abs() > 300 {
        return Err("stale timestamp".into());
    }
    let sig = headers
        .get("x-tern-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .ok_or("no X-Tern-Signature")?;
    let tag: Vec<u8> = (0..sig.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(sig.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| "signature is not hex")?;
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&tag)
        .map_err(|_| "signature mismatch".to_string())
}

// ---------------------------------------------------------------------------------------------
// Webhook

#[tokio::test]
async fn webhook_delivers_a_signed_versioned_payload() {
    init();
    let rx = Receiver::start(200, "ok", Duration::ZERO).await;
    let ch = webhook_channel(&rx.url("/hooks/tern"));
    let d = send(
        &ch,
        &notification("incident:42:opened"),
        &ctx(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert_eq!(d.detail, "HTTP 200");

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    verify(SECRET, &r.headers, &r.body).unwrap();
    // A receiver with the wrong secret, or a body changed in transit, is detected.
    assert_eq!(
        verify("not-the-secret-at-all", &r.headers, &r.body),
        Err("signature mismatch".to_string())
    );
    let mut tampered = r.body.clone();
    tampered[10] ^= 1;
    assert!(verify(SECRET, &r.headers, &tampered).is_err());

    let h = |k: &str| r.headers.get(k).unwrap().to_str().unwrap().to_string();
    assert_eq!(h("x-tern-delivery"), "incident:42:opened");
    assert_eq!(h("x-tern-event"), "incident_opened");
    assert_eq!(h("content-type"), "application/json");
    assert_eq!(h("authorization"), "Bearer header-token-secret");
    assert!(h("user-agent").starts_with("tern/"));

    // The documented schema, key by key.
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["dedupe_key"], "incident:42:opened");
    assert_eq!(v["kind"], "incident_opened");
    assert_eq!(v["severity"], "critical");
    assert_eq!(v["title"], "Error rate above 1% on <checkout> & co");
    assert_eq!(v["function"], "checkout-<prod>");
    assert_eq!(v["error_group"], "eg-7f3a");
    assert_eq!(v["policy"], "error-rate");
    assert_eq!(v["metric"], "error_rate");
    assert_eq!(v["value"], 0.0375);
    assert_eq!(v["threshold"], 0.01);
    assert_eq!(v["occurred_ms"], 1_764_201_600_000_i64);
    assert_eq!(v["occurred_at"], "2025-11-27T00:00:00Z");
    assert_eq!(
        v["dashboard_url"],
        "https://tern.example.com/functions/checkout?x=1&y=2"
    );
    assert_eq!(
        v["fields"],
        serde_json::json!([{ "name": "Region", "value": "us-east-1" }])
    );
    assert_eq!(v.as_object().unwrap().len(), 16, "keys: {v}");
}

#[tokio::test]
async fn webhook_failures_are_classified_for_the_outbox() {
    init();
    let c = ctx(Duration::from_secs(5));
    let n = notification("incident:43:opened");
    for (status, retryable) in [
        (500, true),
        (503, true),
        (429, true),
        (410, false),
        (400, false),
    ] {
        let rx = Receiver::start(status, "nope", Duration::ZERO).await;
        let err = send(&webhook_channel(&rx.url("/h")), &n, &c)
            .await
            .unwrap_err();
        assert_eq!(err.is_retryable(), retryable, "HTTP {status}: {err}");
        assert!(
            err.message().contains(&format!("HTTP {status}: nope")),
            "{err}"
        );
        assert_eq!(rx.requests().len(), 1);
    }
}

#[tokio::test]
async fn webhook_connection_refused_is_retryable_and_never_shows_the_url() {
    init();
    // A port that was free a moment ago and has nothing listening now.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ch = webhook_channel(&format!(
        "http://127.0.0.1:{port}/hook?token=url-token-secret"
    ));
    let err = send(&ch, &notification("x:1"), &ctx(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.message().contains("cannot connect"), "{err}");
    for s in ["url-token-secret", SECRET, "header-token-secret"] {
        assert!(!err.to_string().contains(s), "{err}");
        assert!(!format!("{err:?}").contains(s));
        assert!(!format!("{ch:?}").contains(s), "{ch:?}");
    }
}

#[tokio::test]
async fn webhook_slow_receiver_times_out_retryably() {
    init();
    let rx = Receiver::start(200, "ok", Duration::from_secs(5)).await;
    let started = Instant::now();
    let err = send(
        &webhook_channel(&rx.url("/slow")),
        &notification("x:2"),
        &ctx(Duration::from_millis(300)),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.message().contains("no response within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

// ---------------------------------------------------------------------------------------------
// Slack

#[tokio::test]
async fn slack_receives_block_kit_with_escaped_text_and_a_dashboard_button() {
    init();
    let rx = Receiver::start(200, "ok", Duration::ZERO).await;
    let ch = channel(&format!(
        "name = \"ops-slack\"\ntype = \"slack\"\nwebhook_url = \"{}\"\n",
        rx.url("/services/T000/B000/slack-path-secret")
    ));
    send(
        &ch,
        &notification("incident:44:opened"),
        &ctx(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let v: Value = serde_json::from_slice(&reqs[0].body).unwrap();

    // Fallback text for notifications and block-less clients, escaped.
    let text = v["text"].as_str().unwrap();
    assert!(text.contains("[CRITICAL] Error rate above 1% on &lt;checkout&gt; &amp; co"));
    assert!(text.contains("(checkout-&lt;prod&gt;)"));

    let blocks = v["blocks"].as_array().unwrap();
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["header", "section", "context", "actions"]);
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert!(blocks[0]["text"]["text"].as_str().unwrap().chars().count() <= 150);

    assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
    let summary = blocks[1]["text"]["text"].as_str().unwrap();
    assert_eq!(
        summary,
        "TypeError: Cannot read 'id' of &lt;undefined&gt; &amp; more\n&lt;!channel&gt;"
    );
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "mrkdwn");
            f["text"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        fields,
        [
            "*Function*\ncheckout-&lt;prod&gt;",
            "*Error group*\neg-7f3a",
            "*Policy*\nerror-rate",
            "*Metric*\nerror_rate = 0.0375 (threshold 0.01)",
            "*Region*\nus-east-1",
        ]
    );
    let ctx_text = blocks[2]["elements"][0]["text"].as_str().unwrap();
    assert!(ctx_text.contains("Incident opened") && ctx_text.contains("critical"));
    let button = &blocks[3]["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(
        button["url"],
        "https://tern.example.com/functions/checkout?x=1&y=2"
    );
    assert_eq!(button["text"]["type"], "plain_text");

    // Without a dashboard link there is no button.
    let mut n = notification("incident:44:resolved");
    n.kind = Kind::IncidentResolved;
    n.dashboard_url = None;
    send(&ch, &n, &ctx(Duration::from_secs(5))).await.unwrap();
    let v: Value = serde_json::from_slice(&rx.requests()[1].body).unwrap();
    let types: Vec<&str> = v["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["header", "section", "context"]);
}

#[tokio::test]
async fn slack_errors_keep_slacks_reason_and_hide_the_url() {
    init();
    let c = ctx(Duration::from_secs(5));
    for (status, reply, retryable) in [
        (404, "no_service", false),
        (410, "channel_is_archived", false),
        (429, "rate_limited", true),
    ] {
        let rx = Receiver::start(status, reply, Duration::ZERO).await;
        let ch = channel(&format!(
            "name = \"s\"\ntype = \"slack\"\nwebhook_url = \"{}\"\n",
            rx.url("/services/T1/B1/slack-path-secret")
        ));
        let err = send(&ch, &notification("x:3"), &c).await.unwrap_err();
        assert_eq!(err.is_retryable(), retryable, "{err}");
        assert!(err.message().contains(reply), "{err}");
        assert!(!err.to_string().contains("slack-path-secret"), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Email through the aiosmtpd sink

fn smtp_addr() -> String {
    std::env::var("TERN_TEST_SMTP").unwrap_or_else(|_| "127.0.0.1:2525".to_string())
}

fn maildir() -> std::path::PathBuf {
    std::env::var("TERN_TEST_MAILDIR")
        .unwrap_or_else(|_| "/tmp/tern-maildir".to_string())
        .into()
}

fn email_channel(tls: &str, addr: &str) -> ChannelConfig {
    let (host, port) = addr.rsplit_once(':').unwrap();
    channel(&format!(
        "name = \"mail\"\ntype = \"email\"\nsmtp_host = \"{host}\"\nsmtp_port = {port}\n\
         tls = \"{tls}\"\nfrom = \"Tern <tern@example.com>\"\n\
         to = [\"oncall@example.com\", \"Ops <ops@example.com>\"]\n"
    ))
}

/// The mail file whose text contains `needle`, waiting briefly for the sink to write it.
fn find_mail(needle: &str) -> std::path::PathBuf {
    let dir = maildir().join("new");
    for _ in 0..50 {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                if text.contains(needle) {
                    return e.path();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no mail containing {needle:?} in {}", dir.display());
}

/// Parse a mail file with Python's standard `email` package (a real MIME parser, independent of
/// lettre) into JSON: headers, and each part's type and decoded text.
fn parse_mail(path: &std::path::Path) -> Value {
    let script = r#"
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
parts = [{"type": p.get_content_type(), "text": p.get_content()} for p in m.walk() if not p.is_multipart()]
print(json.dumps({"subject": str(m["subject"]), "message_id": str(m["message-id"]),
  "from": str(m["from"]), "to": str(m["to"]), "type": m.get_content_type(), "parts": parts}))
"#;
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn email_arrives_with_text_and_escaped_html() {
    init();
    let addr = smtp_addr();
    if !service_up("the SMTP sink (aiosmtpd, .ci/smtp.sh)", &addr) {
        return;
    }
    let key = unique("incident:45:opened");
    let d = send(
        &email_channel("none", &addr),
        &notification(&key),
        &ctx(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert!(d.detail.starts_with("SMTP 250"), "{}", d.detail);

    let expected_id = tern::alert::channels::email::message_id(&key, "example.com");
    let m = parse_mail(&find_mail(&expected_id));
    assert_eq!(m["message_id"], expected_id.as_str());
    assert_eq!(
        m["subject"],
        "[Tern] [CRITICAL] Error rate above 1% on <checkout> & co"
    );
    assert_eq!(m["from"], "Tern <tern@example.com>");
    assert_eq!(m["to"], "oncall@example.com, Ops <ops@example.com>");
    assert_eq!(m["type"], "multipart/alternative");
    let parts = m["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["type"], "text/plain");
    assert_eq!(parts[1]["type"], "text/html");
    let text = parts[0]["text"].as_str().unwrap();
    assert!(
        text.contains("TypeError: Cannot read 'id' of <undefined> & more"),
        "{text}"
    );
    assert!(text.contains("Function: checkout-<prod>"));
    assert!(text.contains("Open in Tern: https://tern.example.com/functions/checkout?x=1&y=2"));
    let html = parts[1]["text"].as_str().unwrap();
    assert!(html.contains("&lt;undefined&gt; &amp; more"), "{html}");
    assert!(html.contains("<td>checkout-&lt;prod&gt;</td>"), "{html}");
    assert!(!html.contains("<undefined>") && !html.contains("<prod>"));
    assert!(html.contains("href=\"https://tern.example.com/functions/checkout?x=1&amp;y=2\""));
}

#[tokio::test]
async fn email_starttls_required_but_unsupported_is_permanent() {
    init();
    let addr = smtp_addr();
    if !service_up("the SMTP sink (aiosmtpd, .ci/smtp.sh)", &addr) {
        return;
    }
    // The sink offers no STARTTLS: with tls = "starttls" nothing may go out in clear text.
    let key = unique("incident:46:opened");
    let err = send(
        &email_channel("starttls", &addr),
        &notification(&key),
        &ctx(Duration::from_secs(10)),
    )
    .await
    .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
}

#[tokio::test]
async fn email_connection_refused_is_retryable() {
    init();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = send(
        &email_channel("none", &format!("127.0.0.1:{port}")),
        &notification("x:4"),
        &ctx(Duration::from_secs(5)),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

/// A one-line SMTP server on 127.0.0.1:0 that greets every connection with `greeting` and
/// hangs up: enough to see how SMTP reply classes are classified.
async fn smtp_refusing(greeting: &'static str) -> String {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let _ = sock.write_all(greeting.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    addr.to_string()
}

#[tokio::test]
async fn email_smtp_4xx_is_retryable_and_5xx_permanent() {
    init();
    let c = ctx(Duration::from_secs(5));
    let n = notification("x:7");
    let busy = smtp_refusing("421 4.3.2 Service not available, try later\r\n").await;
    let err = send(&email_channel("none", &busy), &n, &c)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let closed = smtp_refusing("554 5.7.1 No SMTP service here\r\n").await;
    let err = send(&email_channel("none", &closed), &n, &c)
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.message().contains("No SMTP service here"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// SNS against moto

fn moto_url() -> String {
    std::env::var("TERN_TEST_MOTO_URL").unwrap_or_else(|_| "http://127.0.0.1:5000".to_string())
}

/// One SQS call in the JSON protocol (moto does not check signatures).
fn sqs(action: &str, body: Value) -> Value {
    let resp = ureq::post(&moto_url())
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/sqs/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .header("X-Amz-Target", &format!("AmazonSQS.{action}"))
        .header("Content-Type", "application/x-amz-json-1.0")
        .send(body.to_string())
        .unwrap();
    let text = resp.into_body().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn sns_admin() -> aws_sdk_sns::Client {
    let conf = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new("us-east-1"))
        .endpoint_url(moto_url())
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    aws_sdk_sns::Client::from_conf(conf)
}

fn sns_channel(topic_arn: &str) -> ChannelConfig {
    channel(&format!(
        "name = \"sns\"\ntype = \"sns\"\ntopic_arn = \"{topic_arn}\"\nendpoint_url = \"{}\"\n",
        moto_url()
    ))
}

#[tokio::test]
async fn sns_publish_reaches_an_sqs_subscription() {
    init();
    let url = moto_url();
    if !service_up("moto", url.trim_start_matches("http://")) {
        return;
    }
    let name = unique("tern-alerts").replace(':', "-");
    let admin = sns_admin().await;
    let topic = admin.create_topic().name(&name).send().await.unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_string();
    let queue_url = sqs("CreateQueue", serde_json::json!({ "QueueName": name }))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let queue_arn = sqs(
        "GetQueueAttributes",
        serde_json::json!({ "QueueUrl": queue_url, "AttributeNames": ["QueueArn"] }),
    )["Attributes"]["QueueArn"]
        .as_str()
        .unwrap()
        .to_string();
    admin
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();

    let key = unique("incident:47:opened");
    let d = send(
        &sns_channel(&topic_arn),
        &notification(&key),
        &ctx(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert!(d.detail.starts_with("SNS message "), "{}", d.detail);

    let got = sqs(
        "ReceiveMessage",
        serde_json::json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 2 }),
    );
    let msgs = got["Messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{got}");
    // Not raw delivery: the SQS body is SNS's JSON envelope.
    let envelope: Value = serde_json::from_str(msgs[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], topic_arn.as_str());
    assert_eq!(
        envelope["Subject"],
        "[CRITICAL] Error rate above 1% on <checkout> & co"
    );
    let message = envelope["Message"].as_str().unwrap();
    assert!(message.starts_with("Incident opened: Error rate above 1% on <checkout> & co"));
    assert!(message.contains("TypeError: Cannot read 'id' of <undefined> & more"));
    assert!(message.contains(&key));
    let attrs = &envelope["MessageAttributes"];
    assert_eq!(attrs["kind"]["Type"], "String");
    assert_eq!(attrs["kind"]["Value"], "incident_opened");
    assert_eq!(attrs["severity"]["Value"], "critical");
    assert_eq!(attrs["dedupe_key"]["Value"], key.as_str());
    assert_eq!(attrs["function"]["Value"], "checkout-<prod>");
}

#[tokio::test]
async fn sns_missing_topic_is_permanent() {
    init();
    let url = moto_url();
    if !service_up("moto", url.trim_start_matches("http://")) {
        return;
    }
    let err = send(
        &sns_channel("arn:aws:sns:us-east-1:123456789012:tern-no-such-topic"),
        &notification("x:5"),
        &ctx(Duration::from_secs(10)),
    )
    .await
    .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.message().contains("NotFound"), "{err}");
}

#[tokio::test]
async fn sns_unreachable_endpoint_is_retryable() {
    init();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ch = channel(&format!(
        "name = \"sns\"\ntype = \"sns\"\n\
         topic_arn = \"arn:aws:sns:us-east-1:123456789012:t\"\n\
         endpoint_url = \"http://127.0.0.1:{port}\"\n"
    ));
    let err = send(&ch, &notification("x:6"), &ctx(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
