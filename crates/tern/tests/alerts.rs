//! The alert engine end to end, through the real binary and real protocols: `tern
//! serve` with a config, log data pushed to `/ingest/cloudwatch`, and local receivers on
//! 127.0.0.1 that check what arrives (the webhook's HMAC, Slack's Block Kit, mail read back
//! from the aiosmtpd sink).
//!
//! - a metric incident opens once, reaches every channel, and resolves after the clear period;
//! - error groups: one notification per new group, none inside the cooldown, a regression
//!   after the group is resolved through the API;
//! - the daemon dies between "incident committed" and "notification sent"
//!   (`TERN_FAULT=exit_after_incident_commit`), restarts, and the receiver sees it once;
//! - a 410 is given up at once, a 500 retried after the backoff and delivered once;
//! - `tern alerts test` over a simulated fleet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/firehose.rs"]
mod firehose;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use firehose::{Serve, API_TOKEN, INGEST_KEY};
use hmac::{KeyInit, Mac};
use serde_json::{json, Value};

const SECRET: &str = "whsec-test-0123456789abcdef";
const ALL_BUILTINS: &str = r#"["builtin.timeout_or_oom", "builtin.error_rate", "builtin.near_timeout", "builtin.invocation_spike", "builtin.memory", "builtin.new_error", "builtin.regression"]"#;

fn tern_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tern"))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

// ---------------------------------------------------------------------------------------------
// A recording HTTP receiver on 127.0.0.1:0 with a scripted status per request.

#[derive(Debug, Clone)]
struct Recorded {
    at: Instant,
    headers: HeaderMap,
    raw: Vec<u8>,
    body: Value,
}

impl Recorded {
    fn header(&self, k: &str) -> String {
        self.headers
            .get(k)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Receiver {
    /// Answers `script[i]` to the i-th request (the last status repeats).
    fn start(script: &[u16]) -> Receiver {
        let script = script.to_vec();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let n = Arc::new(AtomicUsize::new(0));
                let handler = move |headers: HeaderMap, body: Bytes| {
                    let (record, n, script) = (record.clone(), n.clone(), script.clone());
                    async move {
                        let i = n.fetch_add(1, Ordering::SeqCst);
                        let status = script[i.min(script.len() - 1)];
                        record.lock().unwrap().push(Recorded {
                            at: Instant::now(),
                            headers,
                            raw: body.to_vec(),
                            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        });
                        (StatusCode::from_u16(status).unwrap(), "reply")
                    }
                };
                let app = axum::Router::new().route("/{*path}", axum::routing::post(handler));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let _ = axum::serve(listener, app).await;
            });
        });
        let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Receiver { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    /// Wait until at least `n` requests arrived.
    fn wait_for(&self, n: usize, within: Duration, serve: Option<&Serve>) -> Vec<Recorded> {
        let started = Instant::now();
        loop {
            let r = self.requests();
            if r.len() >= n {
                return r;
            }
            if started.elapsed() > within {
                let log = serve
                    .map(|s| s.stderr.lock().unwrap().clone())
                    .unwrap_or_default();
                panic!(
                    "{} of {n} requests within {within:?}: {:?}\nserver log:\n{log}",
                    r.len(),
                    r.iter().map(|r| &r.body).collect::<Vec<_>>()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// What a receiver does with a Tern webhook (docs/webhook.md): a fresh timestamp and the
/// HMAC over `"{timestamp}.{raw body}"`, compared in constant time.
fn verify(headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let ts = headers
        .get("x-tern-timestamp")
        .and_then(|v| v.to_str().ok())
        .ok_or("no X-Tern-Timestamp")?;
    let ts_num: i64 = ts.parse().map_err(|_| "bad timestamp")?;
    if (now_ms() / 1000 - ts_num).abs() > 300 {
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
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&tag)
        .map_err(|_| "signature mismatch".to_string())
}

// ---------------------------------------------------------------------------------------------
// Log data: Lambda JSON-format platform events and a Node.js error line, pushed as one
// CloudWatch Logs subscription payload.

/// An error to put in an invocation: type, message, and the in-app line (the fingerprint).
#[derive(Clone, Copy)]
struct Failure(&'static str, &'static str, u32);

fn iso(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

static EVENT: AtomicUsize = AtomicUsize::new(0);

fn event(ts: i64, message: String) -> Value {
    let n = EVENT.fetch_add(1, Ordering::SeqCst);
    json!({"id": format!("{ts:020}{n:08}{:08}", std::process::id()), "timestamp": ts, "message": message})
}

fn invocation(rid: &str, t: i64, failure: Option<Failure>) -> Vec<Value> {
    let mut out = vec![event(
        t,
        json!({"time": iso(t), "type": "platform.start",
               "record": {"requestId": rid, "version": "$LATEST"}})
        .to_string(),
    )];
    if let Some(Failure(ty, msg, line)) = failure {
        out.push(event(
            t + 5,
            json!({"timestamp": iso(t + 5), "level": "ERROR", "requestId": rid,
                   "message": {"errorType": ty, "errorMessage": msg, "stackTrace": [
                       format!("{ty}: {msg}"),
                       format!("    at Runtime.handler (file:///var/task/index.mjs:{line}:31)"),
                       "    at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)"]}})
            .to_string(),
        ));
    }
    out.push(event(
        t + 10,
        json!({"time": iso(t + 10), "type": "platform.report",
               "record": {"requestId": rid,
                          "metrics": {"durationMs": 10.0, "billedDurationMs": 10, "memorySizeMB": 128, "maxMemoryUsedMB": 60},
                          "status": if failure.is_some() { "error" } else { "success" }}})
        .to_string(),
    ));
    out
}

static RID: AtomicUsize = AtomicUsize::new(0);

/// Push invocations of `function` ending now.
fn push(serve: &Serve, function: &str, failures: &[Option<Failure>]) {
    let t = now_ms() - 50;
    let mut events = Vec::new();
    for f in failures {
        let rid = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            std::process::id(),
            RID.fetch_add(1, Ordering::SeqCst)
        );
        events.extend(invocation(&rid, t, *f));
    }
    let payload = json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012",
        "logGroup": format!("/aws/lambda/{function}"),
        "logStream": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "subscriptionFilters": ["tern"], "logEvents": events,
    });
    let mut r = firehose::agent()
        .post(&serve.url("/ingest/cloudwatch"))
        .header("X-Tern-Ingest-Key", INGEST_KEY)
        .header("Content-Type", "application/json")
        .send(payload.to_string())
        .unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    assert_eq!(status, 200, "{body}");
}

fn api(serve: &Serve, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let agent = firehose::agent();
    let auth = format!("Bearer {API_TOKEN}");
    let mut r = match (method, body) {
        ("GET", _) => agent
            .get(&serve.url(path))
            .header("Authorization", &auth)
            .call(),
        (_, b) => agent
            .post(&serve.url(path))
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(b.unwrap_or("").to_string()),
    }
    .unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn metrics(serve: &Serve) -> String {
    match api(serve, "GET", "/metrics", None) {
        (200, Value::String(s)) => s,
        other => panic!("{other:?}"),
    }
}

/// Outbox rows as (key, channel, state, attempts), read with Python's sqlite3 (an
/// independent reader of the database).
fn outbox(db: &Path) -> Vec<(String, String, String, i64)> {
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sqlite3, json, sys\n\
             c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n\
             print(json.dumps(c.execute('SELECT dedupe_key, channel, state, attempts FROM outbox ORDER BY id').fetchall()))",
        ])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("tern.db")
    }

    fn config(&self, text: &str) -> PathBuf {
        let p = self.dir.path().join("tern.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn serve(&self, config: &Path, env: &[(&str, &str)]) -> Serve {
        let mut env = env.to_vec();
        env.push(("TERN_LOG", "info"));
        Serve::start_with_env(&tern_bin(), &self.db(), Some(config), &env)
    }
}

fn webhook(name: &str, url: &str) -> String {
    format!("[[channels]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n")
}

/// Whether the service answers; if not, fail under `TERN_REQUIRE_SERVICES=1`, else say loudly
/// that this part is skipped.
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
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {name} is not running at {addr}; start it (see .ci/run) to run this part"
        );
    }
    ok
}

fn find_mail(needle: &str) -> Option<String> {
    let dir = PathBuf::from(
        std::env::var("TERN_TEST_MAILDIR").unwrap_or_else(|_| "/tmp/tern-maildir".to_string()),
    )
    .join("new");
    for _ in 0..100 {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                if text.contains(needle) {
                    return Some(text);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

// ---------------------------------------------------------------------------------------------

#[test]
fn a_metric_incident_opens_once_reaches_every_channel_and_resolves() {
    let s = Setup::new();
    let hook = Receiver::start(&[200]);
    let slack = Receiver::start(&[200]);
    let smtp = std::env::var("TERN_TEST_SMTP").unwrap_or_else(|_| "127.0.0.1:2525".into());
    let mail = service_up("the SMTP sink (aiosmtpd, .ci/smtp.sh)", &smtp);
    let function = format!("checkout-{}-{}", std::process::id(), now_ms());
    let mut channels = webhook("hook", &hook.url("/tern"));
    channels.push_str(&format!(
        "[[channels]]\nname = \"ops-slack\"\ntype = \"slack\"\nwebhook_url = \"{}\"\n",
        slack.url("/services/T000/B000/slack-secret-path")
    ));
    if mail {
        let (host, port) = smtp.rsplit_once(':').unwrap();
        channels.push_str(&format!(
            "[[channels]]\nname = \"mail\"\ntype = \"email\"\nsmtp_host = \"{host}\"\nsmtp_port = {port}\n\
             tls = \"none\"\nfrom = \"Tern <tern@example.com>\"\nto = [\"oncall@example.com\"]\n"
        ));
    }
    let config = s.config(&format!(
        r#"
[alerts]
evaluate_every = "1s"
resolve_after = "2s"
resolve_after_evals = 2
disable_builtin = {ALL_BUILTINS}
dashboard_url = "https://tern.example.com/"
{channels}
[[policies]]
name = "checkout-errors"
functions = ["{function}"]
metric = "errors"
comparison = ">="
threshold = 1
window = "6s"
severity = "critical"
"#
    ));
    let serve = s.serve(&config, &[]);
    push(
        &serve,
        &function,
        &[
            Some(Failure(
                "TypeError",
                "Cannot read properties of undefined (reading 'id')",
                27,
            )),
            None,
            None,
        ],
    );
    let got = hook.wait_for(1, Duration::from_secs(20), Some(&serve));
    let opened = &got[0];
    verify(&opened.headers, &opened.raw).unwrap();
    let b = &opened.body;
    assert_eq!(b["kind"], "incident_opened", "{b}");
    assert_eq!(b["severity"], "critical");
    assert_eq!(b["function"], function.as_str());
    assert_eq!(b["policy"], "checkout-errors");
    assert_eq!(b["metric"], "errors");
    assert_eq!(b["value"], 1.0);
    assert_eq!(b["threshold"], 1.0);
    assert_eq!(
        b["dashboard_url"],
        format!("https://tern.example.com/functions/{function}").as_str()
    );
    let key = opened.header("x-tern-delivery");
    assert!(
        key.starts_with("incident:") && key.ends_with(":opened"),
        "{key}"
    );

    // The failure leaves the 6-second window; two clear evaluations over 2 s resolve it.
    let got = hook.wait_for(2, Duration::from_secs(30), Some(&serve));
    assert_eq!(got[1].body["kind"], "incident_resolved", "{}", got[1].body);
    verify(&got[1].headers, &got[1].raw).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(hook.requests().len(), 2, "opened once, resolved once");

    // Slack got the same two, as Block Kit with a link to the function.
    let sl = slack.wait_for(2, Duration::from_secs(10), Some(&serve));
    assert_eq!(sl.len(), 2);
    let blocks = sl[0].body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert!(sl[0].body["text"].as_str().unwrap().contains(&function));
    assert_eq!(
        blocks.last().unwrap()["elements"][0]["url"],
        format!("https://tern.example.com/functions/{function}").as_str()
    );
    if mail {
        let text = find_mail(&function).expect("the incident mail reached the sink");
        assert!(text.contains("checkout-errors"), "{text}");
    }

    let m = metrics(&serve);
    assert!(
        m.contains("tern_alert_notifications_total{channel=\"hook\",result=\"sent\"} 2"),
        "{m}"
    );
    assert!(m.contains("tern_alert_incidents_open 0"), "{m}");
    let (status, incidents) = api(&serve, "GET", "/api/v1/incidents?state=resolved", None);
    assert_eq!(status, 200);
    assert_eq!(incidents[0]["function"], function.as_str());
    serve.terminate();
    assert!(outbox(&s.db()).iter().all(|r| r.2 == "sent"));
}

#[test]
fn error_groups_notify_once_per_group_respect_the_cooldown_and_regress_after_resolve() {
    let s = Setup::new();
    let hook = Receiver::start(&[200]);
    let config = s.config(&format!(
        r#"
[alerts]
evaluate_every = "1s"
disable_builtin = ["builtin.timeout_or_oom", "builtin.error_rate", "builtin.near_timeout", "builtin.invocation_spike", "builtin.memory", "builtin.new_error"]
{}
[[error_policies]]
name = "every-error"
functions = ["checkout"]
on = "every"
cooldown = "1h"
"#,
        webhook("hook", &hook.url("/tern"))
    ));
    let serve = s.serve(&config, &[]);
    let a = Failure(
        "TypeError",
        "Cannot read properties of undefined (reading 'id')",
        27,
    );
    let b = Failure("RangeError", "Invalid array length 42", 40);
    push(&serve, "checkout", &[Some(a), Some(b)]);
    let got = hook.wait_for(2, Duration::from_secs(20), Some(&serve));
    let mut groups: Vec<String> = got
        .iter()
        .map(|r| {
            verify(&r.headers, &r.raw).unwrap();
            assert_eq!(r.body["kind"], "new_error", "{}", r.body);
            assert_eq!(r.body["policy"], "every-error");
            r.body["error_group"].as_str().unwrap().to_string()
        })
        .collect();
    groups.sort();
    groups.dedup();
    assert_eq!(groups.len(), 2, "one notification per group");

    // A second occurrence of A inside the cooldown: nothing.
    push(&serve, "checkout", &[Some(a)]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(hook.requests().len(), 2);

    // Resolve A through the API; the next occurrence is a regression.
    let (_, list) = api(&serve, "GET", "/api/v1/errors?function=checkout", None);
    let a_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["error_type"] == "TypeError")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, g) = api(
        &serve,
        "POST",
        &format!("/api/v1/errors/{a_id}/status"),
        Some(r#"{"status":"resolved"}"#),
    );
    assert_eq!((status, g["status"].as_str()), (200, Some("resolved")));
    std::thread::sleep(Duration::from_millis(50));
    push(&serve, "checkout", &[Some(a)]);
    let got = hook.wait_for(3, Duration::from_secs(20), Some(&serve));
    let r = &got[2].body;
    assert_eq!(r["kind"], "regression", "{r}");
    assert_eq!(r["policy"], "builtin.regression");
    assert_eq!(r["error_group"], a_id.as_str());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(hook.requests().len(), 3);
    serve.terminate();
}

#[test]
fn a_crash_between_incident_commit_and_delivery_notifies_exactly_once() {
    let s = Setup::new();
    let hook = Receiver::start(&[200]);
    let config = s.config(&format!(
        r#"
[alerts]
evaluate_every = "1s"
disable_builtin = {ALL_BUILTINS}
{}
[[policies]]
name = "any-error"
metric = "errors"
comparison = ">="
threshold = 1
window = "2m"
"#,
        webhook("hook", &hook.url("/tern"))
    ));
    let serve = s.serve(&config, &[("TERN_FAULT", "exit_after_incident_commit")]);
    push(
        &serve,
        "checkout",
        &[Some(Failure("TypeError", "boom", 27))],
    );
    let (status, log) = serve.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(137), "{log}");
    assert!(
        log.contains("TERN_FAULT: exiting after the commit"),
        "{log}"
    );
    assert!(
        hook.requests().is_empty(),
        "nothing was sent before the crash"
    );
    let rows = outbox(&s.db());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].2, "pending");

    // Restart without the fault: the queued notification goes out, once; the incident is
    // not opened (or notified) again.
    let serve = s.serve(&config, &[]);
    let got = hook.wait_for(1, Duration::from_secs(20), Some(&serve));
    assert_eq!(got[0].body["kind"], "incident_opened");
    verify(&got[0].headers, &got[0].raw).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let got = hook.requests();
    assert_eq!(
        got.len(),
        1,
        "{:?}",
        got.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let rows = outbox(&s.db());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].2.as_str(), rows[0].3), ("sent", 1));
    assert_eq!(
        rows[0].0,
        format!("{}@hook", got[0].header("x-tern-delivery"))
    );
    let (_, open) = api(&serve, "GET", "/api/v1/incidents?state=open", None);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    serve.terminate();
}

#[test]
fn a_gone_receiver_fails_at_once_and_a_flaky_one_gets_it_after_backoff() {
    let s = Setup::new();
    let gone = Receiver::start(&[410]);
    let flaky = Receiver::start(&[500, 200]);
    let config = s.config(&format!(
        r#"
[alerts]
evaluate_every = "1s"
retry_base = "500ms"
disable_builtin = {ALL_BUILTINS}
{}{}
[[policies]]
name = "any-error"
metric = "errors"
comparison = ">="
threshold = 1
window = "2m"
"#,
        webhook("gone", &gone.url("/tern")),
        webhook("flaky", &flaky.url("/tern"))
    ));
    let serve = s.serve(&config, &[]);
    push(
        &serve,
        "checkout",
        &[Some(Failure("TypeError", "boom", 27))],
    );
    let got = flaky.wait_for(2, Duration::from_secs(20), Some(&serve));
    assert_eq!(
        got[0].header("x-tern-delivery"),
        got[1].header("x-tern-delivery")
    );
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(450), "retried after {gap:?}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(flaky.requests().len(), 2, "delivered once, not again");
    assert_eq!(gone.requests().len(), 1, "410 is not retried");
    let m = metrics(&serve);
    for line in [
        "tern_alert_notifications_total{channel=\"gone\",result=\"failed\"} 1",
        "tern_alert_notifications_total{channel=\"flaky\",result=\"retried\"} 1",
        "tern_alert_notifications_total{channel=\"flaky\",result=\"sent\"} 1",
        "tern_alert_outbox_depth 0",
    ] {
        assert!(m.contains(line), "{line} not in:\n{m}");
    }
    let log = serve.terminate();
    assert!(log.contains("failed for good"), "{log}");
    let rows: HashMap<String, (String, i64)> = outbox(&s.db())
        .into_iter()
        .map(|(_, ch, st, n)| (ch, (st, n)))
        .collect();
    assert_eq!(rows["gone"], ("failed".to_string(), 1));
    assert_eq!(rows["flaky"], ("sent".to_string(), 2));
}

fn tern() -> Command {
    let mut c = Command::new(tern_bin());
    c.env_remove("TERN_DB").env_remove("TERN_CONFIG");
    c
}

#[test]
fn alerts_test_dry_runs_a_builtin_over_a_simulated_fleet() {
    let s = Setup::new();
    let logs = s.dir.path().join("logs");
    let out = tern()
        .args(["simulate", "--out"])
        .arg(&logs)
        .args([
            "--functions",
            "12",
            "--days",
            "2",
            "--seed",
            "5",
            "--start",
            "3d",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    let out = tern()
        .arg("ingest")
        .arg("--db")
        .arg(s.db())
        .arg(&logs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = tern()
        .args([
            "alerts",
            "test",
            "builtin.error_rate",
            "--format",
            "json",
            "--db",
        ])
        .arg(s.db())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["policy"]["name"], "builtin.error_rate");
    let incidents = v["incidents"].as_array().unwrap();
    assert!(!incidents.is_empty(), "{v}");
    for i in incidents {
        let name = i["function"].as_str().unwrap();
        let t = truth["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap();
        assert!(
            t["errors"].as_u64().unwrap() > 0,
            "{name} never failed: {i}"
        );
        assert!(i["worst_value"].as_f64().unwrap() > 0.01, "{i}");
        assert_eq!(i["threshold"], 0.01);
    }
    let table = tern()
        .args(["alerts", "test", "builtin.error_rate", "--db"])
        .arg(s.db())
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains(&format!("{} would-be incident(s)", incidents.len())),
        "{text}"
    );

    let out = tern()
        .args(["alerts", "test", "builtin.eror_rate", "--db"])
        .arg(s.db())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no metric policy named \"builtin.eror_rate\"")
            && err.contains("builtin.error_rate"),
        "{err}"
    );
}

#[test]
fn send_test_reports_the_delivery_or_the_classified_error() {
    let s = Setup::new();
    let ok = Receiver::start(&[200]);
    let gone = Receiver::start(&[410]);
    let config = s.config(&format!(
        "{}{}",
        webhook("hook", &ok.url("/tern")),
        webhook("gone", &gone.url("/tern"))
    ));
    let out = tern()
        .args(["alerts", "send-test", "--channel", "hook", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "delivered to hook (webhook): HTTP 200\n"
    );
    let r = ok.wait_for(1, Duration::from_secs(5), None);
    verify(&r[0].headers, &r[0].raw).unwrap();
    assert_eq!(r[0].body["kind"], "test");
    let out = tern()
        .args(["alerts", "send-test", "--channel", "gone", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HTTP 410") && err.contains("permanent"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
    let out = tern()
        .args(["alerts", "send-test", "--channel", "nope", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("channels: hook, gone"));
}

#[test]
fn demo_shows_grouped_errors_and_would_be_alerts() {
    let s = Setup::new();
    let out = tern()
        .args([
            "demo",
            "--functions",
            "12",
            "--days",
            "1",
            "--seed",
            "2",
            "--db",
        ])
        .arg(s.db())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let errors = text.find("Errors: ").expect("an error section");
    let alerts = text.find("Would-be alerts").expect("an alerts section");
    assert!(errors < alerts, "{text}");
    // Every built-in metric policy has a line, and something would have fired.
    for p in [
        "builtin.timeout_or_oom",
        "builtin.error_rate",
        "builtin.near_timeout",
        "builtin.invocation_spike",
        "builtin.memory",
    ] {
        assert!(text[alerts..].contains(p), "{p}: {text}");
    }
    assert!(text[alerts..].contains("incident(s) on"), "{text}");
    let group_lines = text[errors..alerts]
        .lines()
        .filter(|l| l.trim_end().ends_with(')'))
        .count();
    assert!(group_lines >= 3, "{text}");
}
