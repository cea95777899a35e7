//! In-process tests of every route: `router().oneshot(request)` against a real SQLite store
//! in a temporary directory (axum `examples/testing`). The real-socket and real-binary tests
//! are in `tests/serve.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use serde_json::Value;
use tern_store::{
    IngestBatch, IngestStats, InvocationQuery, SqliteStore, Store, StoreError, TimeRange,
};
use tower::ServiceExt as _;

use super::state::AppState;
use super::{router, Settings};
use crate::config::{Config, TokenHash};
use crate::writer::{Writer, WriterHandle};

const API: &str = "api-secret";
const KEY: &str = "ingest-secret";
/// 2026-11-20T00:00:00Z.
const T: i64 = 1_795_132_800_000;

struct Server {
    _dir: tempfile::TempDir,
    app: Router,
    state: AppState,
    writer: Option<Writer>,
    db: std::path::PathBuf,
}

impl Server {
    fn new() -> Server {
        Server::with(|_| {})
    }

    fn with(tweak: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let store = SqliteStore::open(&db).unwrap();
        let (writer, handle) = Writer::spawn(store, 4);
        Server::build(dir, db, writer, handle, tweak)
    }

    fn build(
        dir: tempfile::TempDir,
        db: std::path::PathBuf,
        writer: Writer,
        handle: WriterHandle,
        tweak: impl FnOnce(&mut Config),
    ) -> Server {
        let mut config = Config::default();
        config.auth.api_tokens = vec![TokenHash::of(API)];
        config.auth.ingest_keys = vec![TokenHash::of(KEY)];
        tweak(&mut config);
        let settings = Settings {
            store: tern_store::StoreBackend::Sqlite(db.clone()),
            listen: config.server.listen,
            config,
            collector_id: None,
        };
        let reads = (0..2)
            .map(|_| Box::new(SqliteStore::open_read_only(&db).unwrap()) as Box<dyn Store>)
            .collect();
        let state = super::state(&settings, handle, reads, None);
        Server {
            _dir: dir,
            app: router::router(state.clone()),
            state,
            writer: Some(writer),
            db,
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, String, Option<String>) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned(), ctype)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let req = Request::get(uri)
            .header("authorization", format!("Bearer {API}"))
            .body(Body::empty())
            .unwrap();
        let (s, body, _) = self.send(req).await;
        (
            s,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    async fn firehose(&self, body: Vec<u8>, rid: &str) -> (StatusCode, Value) {
        let req = firehose_request(body, rid, Some(KEY), false);
        let (s, body, ctype) = self.send(req).await;
        assert_eq!(ctype.as_deref(), Some("application/json"), "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["requestId"], rid, "requestId echoed: {body}");
        assert!(v["timestamp"].as_i64().unwrap() > 0, "{body}");
        (s, v)
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open_read_only(&self.db).unwrap()
    }

    fn invocation_count(&self) -> usize {
        self.store()
            .invocations(&InvocationQuery {
                limit: 1_000_000,
                ..Default::default()
            })
            .unwrap()
            .len()
    }

    /// Drop the router and state, then let the writer drain.
    fn stop(mut self) {
        let w = self.writer.take().unwrap();
        drop(self.app);
        drop(self.state);
        w.join();
    }
}

fn firehose_request(body: Vec<u8>, rid: &str, key: Option<&str>, gzip: bool) -> Request<Body> {
    let mut b = Request::post("/ingest/firehose")
        .header("content-type", "application/json")
        .header("x-amz-firehose-protocol-version", "1.0")
        .header("x-amz-firehose-request-id", rid)
        .header(
            "x-amz-firehose-source-arn",
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/tern",
        );
    if let Some(k) = key {
        b = b.header("x-amz-firehose-access-key", k);
    }
    let body = if gzip {
        b = b.header("content-encoding", "gzip");
        gz(&body)
    } else {
        body
    };
    b.body(Body::from(body)).unwrap()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A subscription DATA_MESSAGE with `n` complete invocations of `function`, ids from `first`.
fn payload(function: &str, stream: &str, first: usize, n: usize) -> String {
    let mut events = Vec::new();
    for i in first..first + n {
        let rid = format!("00000000-0000-4000-8000-{i:012}");
        let t = T + i as i64 * 1000;
        let cold = if i == first {
            "\tInit Duration: 150.00 ms"
        } else {
            ""
        };
        for (k, msg) in [
            format!("START RequestId: {rid} Version: $LATEST\n"),
            format!("{}\t{rid}\tINFO\thandling {i}\n", crate::timeutil::rfc3339_ms(t + 1)),
            format!("END RequestId: {rid}\n"),
            format!(
                "REPORT RequestId: {rid}\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB{cold}\t\n"
            ),
        ]
        .into_iter()
        .enumerate()
        {
            events.push(serde_json::json!({
                "id": format!("{:056}", i * 10 + k),
                "timestamp": t + k as i64,
                "message": msg,
            }));
        }
    }
    serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": format!("/aws/lambda/{function}"),
        "logStream": stream,
        "subscriptionFilters": ["tern"],
        "logEvents": events,
        // AWS added this field in 2025; never refuse unknown fields (vector#23262).
        "policyLevel": "ACCOUNT_LEVEL_POLICY",
    })
    .to_string()
}

const STREAM: &str = "2026/11/20/[$LATEST]0123456789abcdef0123456789abcdef";

fn control() -> String {
    r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1680683189085,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#.to_string()
}

fn body_of(records: &[String]) -> Vec<u8> {
    serde_json::json!({
        "requestId": "ignored-body-id",
        "timestamp": T,
        "records": records.iter().map(|d| serde_json::json!({"data": d})).collect::<Vec<_>>(),
    })
    .to_string()
    .into_bytes()
}

/// A record as Firehose sends a subscription payload: base64 of gzip.
fn record(payload: &str) -> String {
    b64(&gz(payload.as_bytes()))
}

fn range_all() -> &'static str {
    "from=2026-11-01&to=2026-12-01"
}

#[tokio::test]
async fn firehose_stores_answers_per_spec_and_a_replay_stores_nothing_twice() {
    let s = Server::new();
    let body = body_of(&[
        record(&control()),
        record(&payload("orders", STREAM, 0, 3)),
        record(&payload("billing", STREAM, 100, 2)),
    ]);
    let (status, v) = s.firehose(body.clone(), "req-1").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v.get("errorMessage").is_none(), "{v}");
    assert_eq!(s.invocation_count(), 5);
    let lines = |st: &SqliteStore| {
        st.invocation_logs(
            "/aws/lambda/orders",
            STREAM,
            "00000000-0000-4000-8000-000000000001",
        )
        .unwrap()
        .len()
    };
    let before = lines(&s.store());
    assert_eq!(before, 4);
    // Firehose retries with the same request id and the same records.
    let (status, _) = s.firehose(body, "req-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        s.invocation_count(),
        5,
        "a replay stores no invocation twice"
    );
    assert_eq!(lines(&s.store()), before, "a replay stores no line twice");
    let m = &s.state.metrics.firehose;
    assert_eq!(m.control_messages.load(Ordering::Relaxed), 2);
    assert_eq!(m.records.load(Ordering::Relaxed), 6);
    assert_eq!(s.state.writer.metrics.inserted.load(Ordering::Relaxed), 5);
    s.stop();
}

#[tokio::test]
async fn firehose_gzip_body_plain_json_records_and_control_only() {
    let s = Server::new();
    let req = firehose_request(
        body_of(&[record(&payload("f", STREAM, 0, 2))]),
        "gz",
        Some(KEY),
        true,
    );
    let (status, body, _) = s.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Firehose's decompression processor delivers payloads already inflated.
    let (status, v) = s
        .firehose(
            body_of(&[b64(payload("f", STREAM, 10, 1).as_bytes())]),
            "plain",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = s.firehose(body_of(&[record(&control())]), "ctl").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "control messages are acknowledged: {v}"
    );
    let (status, v) = s.firehose(body_of(&[]), "empty").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(s.invocation_count(), 3);
    s.stop();
}

#[tokio::test]
async fn firehose_refuses_missing_and_wrong_keys() {
    let s = Server::new();
    let body = body_of(&[record(&payload("f", STREAM, 0, 1))]);
    for (key, status, needle) in [
        (
            None,
            StatusCode::UNAUTHORIZED,
            "missing X-Amz-Firehose-Access-Key",
        ),
        (
            Some("wrong"),
            StatusCode::FORBIDDEN,
            "not a valid ingest key",
        ),
        (Some(API), StatusCode::FORBIDDEN, "not a valid ingest key"),
        (Some(""), StatusCode::FORBIDDEN, "not a valid ingest key"),
    ] {
        let (got, body, _) = s
            .send(firehose_request(body.clone(), "r", key, false))
            .await;
        assert_eq!(got, status, "{key:?}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["requestId"], "r");
        assert!(
            v["errorMessage"].as_str().unwrap().contains(needle),
            "{body}"
        );
    }
    assert_eq!(s.invocation_count(), 0);
    s.stop();
}

#[tokio::test]
async fn firehose_malformed_requests_get_400_naming_the_problem() {
    let s = Server::new();
    let good = record(&payload("f", STREAM, 0, 1));
    let gzipped = gz(payload("f", STREAM, 5, 3).as_bytes());
    let truncated = b64(&gzipped[..gzipped.len() / 2]);
    let mut corrupt = gzipped.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0xff;
    corrupt[mid + 1] ^= 0x55;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "not a Firehose request"),
        (b"{\"records\": \"x\"}".to_vec(), "not a Firehose request"),
        (
            b"{\"records\": [{\"data\": 5}]}".to_vec(),
            "not a Firehose request",
        ),
        (
            b"{\"requestId\": \"x\"}".to_vec(),
            "missing field `records`",
        ),
        (b"{\"records\": [".to_vec(), "not a Firehose request"),
        (
            body_of(&["@@@not base64@@@".into()]),
            "records[0]: `data` is not base64",
        ),
        (
            body_of(&[b64(b"\x1f\x8bnot really gzip")]),
            "records[0]: gzip stream is corrupt",
        ),
        (
            body_of(&[truncated]),
            "records[0]: gzip stream is truncated",
        ),
        (body_of(&[b64(&corrupt)]), "records[0]"),
        (body_of(&[record("{\"logEvents\": 5}")]), "records[0]"),
        (
            body_of(&[record("hello")]),
            "records[0]: not a recognized Lambda log format",
        ),
        (
            body_of(&[String::new()]),
            "records[0]: the payload is empty",
        ),
    ];
    for (body, needle) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        let (status, v) = s.firehose(body, "bad").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{shown}: {v}");
        let msg = v["errorMessage"].as_str().unwrap();
        assert!(msg.contains(needle), "{shown}: {msg:?} lacks {needle:?}");
    }
    // Firehose always sends a request id; without one the request is refused.
    let mut req = firehose_request(body_of(&[good]), "x", Some(KEY), false);
    req.headers_mut().remove("x-amz-firehose-request-id");
    let (status, body, _) = s.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("missing X-Amz-Firehose-Request-Id"), "{body}");
    // Other protocol versions and encodings.
    let mut req = firehose_request(body_of(&[]), "v", Some(KEY), false);
    req.headers_mut()
        .insert("x-amz-firehose-protocol-version", "2.0".parse().unwrap());
    assert_eq!(s.send(req).await.0, StatusCode::BAD_REQUEST);
    let mut req = firehose_request(body_of(&[]), "e", Some(KEY), false);
    req.headers_mut()
        .insert("content-encoding", "br".parse().unwrap());
    let (status, body, _) = s.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Content-Encoding"), "{body}");
    // A body claiming gzip that is not.
    let mut req = firehose_request(b"{}".to_vec(), "g", Some(KEY), false);
    req.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    let (status, body, _) = s.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(s.invocation_count(), 0);
    s.stop();
}

#[tokio::test]
async fn firehose_stores_good_records_around_bad_ones() {
    let s = Server::new();
    let body = body_of(&[
        record(&payload("f", STREAM, 0, 2)),
        "!!!".into(),
        record("{\"oops\": true"),
        record(&payload("f", STREAM, 10, 2)),
    ]);
    let (status, v) = s.firehose(body, "mixed").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        s.invocation_count(),
        4,
        "good records around bad ones are kept"
    );
    assert_eq!(
        s.state.metrics.firehose.bad_records.load(Ordering::Relaxed),
        2
    );
    s.stop();
}

/// Deflate `zeros` bytes of zeros once and repeat the member: a few hundred KB of body that
/// inflates to `zeros * copies`.
fn bomb(zeros: usize, copies: usize) -> Vec<u8> {
    let member = gz(&vec![0u8; zeros]);
    member.repeat(copies)
}

#[tokio::test]
async fn gzip_bombs_get_413_and_the_server_lives_on() {
    let s = Server::with(|c| {
        c.server.max_body_bytes = 1 << 20;
        c.server.max_decompressed_bytes = 8 << 20;
    });
    // In a record: 64 MB of zeros in a 64 KB record.
    let (status, v) = s
        .firehose(body_of(&[b64(&bomb(1 << 20, 64))]), "bomb")
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        v["errorMessage"].as_str().unwrap().contains("records[0]"),
        "{v}"
    );
    // Many small records that together exceed the request budget.
    let each = b64(&gz(&vec![b' '; 1 << 20]));
    let (status, _) = s.firehose(body_of(&vec![each; 12]), "many").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // As the body's Content-Encoding.
    let mut req = firehose_request(Vec::new(), "body-bomb", Some(KEY), false);
    req.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    *req.body_mut() = Body::from(bomb(1 << 20, 64));
    let (status, body, _) = s.send(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // Over the body limit as sent.
    let (status, v) = s.firehose(vec![b' '; 2 << 20], "big").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        v["errorMessage"]
            .as_str()
            .unwrap()
            .contains("over the limit"),
        "{v}"
    );
    // A bomb on the raw CloudWatch endpoint.
    let req = Request::post("/ingest/cloudwatch")
        .header("x-tern-ingest-key", KEY)
        .body(Body::from(bomb(1 << 20, 64)))
        .unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    // Still serving.
    let (status, v) = s
        .firehose(body_of(&[record(&payload("f", STREAM, 0, 1))]), "after")
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(s.invocation_count(), 1);
    s.stop();
}

#[tokio::test]
async fn ten_thousand_records_are_accepted_and_more_refused() {
    let s = Server::new();
    let records: Vec<String> = (0..10_000)
        .map(|i| record(&payload("f", STREAM, i, 1)))
        .collect();
    let (status, v) = s.firehose(body_of(&records), "10k").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(s.invocation_count(), 10_000);
    let mut more = records;
    more.push(record(&control()));
    let (status, v) = s.firehose(body_of(&more), "10k+1").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(v["errorMessage"]
        .as_str()
        .unwrap()
        .contains("at most 10000"));
    s.stop();
}

/// A store whose writes wait until the test lets them through, to fill the writer queue
/// deterministically.
struct Gated {
    inner: SqliteStore,
    gate: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Store for Gated {
    fn ingest(&mut self, b: &IngestBatch) -> Result<IngestStats, StoreError> {
        let _ = self.gate.lock().unwrap().recv();
        self.inner.ingest(b)
    }
    tern_store::forward_store_except_ingest!(inner);
}

#[tokio::test]
async fn a_full_writer_queue_answers_503_and_accepted_requests_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (open, gate) = std::sync::mpsc::channel();
    let store = Gated {
        inner: SqliteStore::open(&db).unwrap(),
        gate: Mutex::new(gate),
    };
    let (writer, handle) = Writer::spawn(store, 1);
    let metrics = handle.metrics.clone();
    let s = std::sync::Arc::new(Server::build(dir, db, writer, handle, |_| {}));
    let wait_queued = |n: u64| {
        let m = metrics.clone();
        async move {
            while m.queued.load(Ordering::Relaxed) < n {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    };
    let mut accepted = Vec::new();
    for i in 0..2 {
        let s2 = s.clone();
        accepted.push(tokio::spawn(async move {
            s2.firehose(body_of(&[record(&payload("f", STREAM, i * 10, 2))]), "a")
                .await
        }));
        // The first is taken by the (blocked) writer, the second fills the queue of one.
        wait_queued(i as u64 + 1).await;
    }
    let (status, v) = s
        .firehose(body_of(&[record(&payload("f", STREAM, 50, 2))]), "busy")
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(v["errorMessage"].as_str().unwrap().contains("retry"), "{v}");
    open.send(()).unwrap();
    open.send(()).unwrap();
    for a in accepted {
        assert_eq!(a.await.unwrap().0, StatusCode::OK);
    }
    assert_eq!(s.invocation_count(), 4);
    let text = s.get("/metrics").await.1;
    let text = text.as_str().unwrap();
    assert!(
        text.contains("tern_ingest_requests_total{endpoint=\"firehose\",status=\"503\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("tern_store_busy_rejections_total 1"),
        "{text}"
    );
}

#[tokio::test]
async fn cloudwatch_endpoint_takes_every_payload_shape() {
    let s = Server::new();
    let p = |i| payload("cw", STREAM, i, 1);
    let awslogs = serde_json::json!({"awslogs": {"data": record(&p(3))}}).to_string();
    let bodies: Vec<(Vec<u8>, Option<&str>)> = vec![
        (p(0).into_bytes(), None),
        (gz(p(1).as_bytes()), None),
        (record(&p(2)).into_bytes(), None),
        (awslogs.into_bytes(), None),
        (p(4).into_bytes(), Some("gzip")),
    ];
    for (i, (body, enc)) in bodies.into_iter().enumerate() {
        let mut b = Request::post("/ingest/cloudwatch");
        b = if i % 2 == 0 {
            b.header("x-tern-ingest-key", KEY)
        } else {
            b.header("authorization", format!("Bearer {KEY}"))
        };
        let body = if let Some(e) = enc {
            b = b.header("content-encoding", e);
            gz(&body)
        } else {
            body
        };
        let (status, text, _) = s.send(b.body(Body::from(body)).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "shape {i}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["events"], 4, "shape {i}: {text}");
        assert_eq!(v["invocations_new"], 1, "shape {i}: {text}");
    }
    assert_eq!(s.invocation_count(), 5);
    let send = |key: Option<&str>, body: &str| {
        let mut b = Request::post("/ingest/cloudwatch");
        if let Some(k) = key {
            b = b.header("x-tern-ingest-key", k);
        }
        b.body(Body::from(body.to_string())).unwrap()
    };
    let (status, text, _) = s.send(send(None, &p(9))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert!(text.contains("missing ingest key"), "{text}");
    let (status, _, _) = s.send(send(Some(API), &p(9))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an API token is not an ingest key"
    );
    let (status, text, _) = s.send(send(Some(KEY), "garbage")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("not a subscription payload"), "{text}");
    let (status, text, _) = s.send(send(Some(KEY), &control())).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("\"control_messages\":1"), "{text}");
    s.stop();
}

async fn seeded() -> Server {
    seeded_with(|_| {}).await
}

async fn seeded_with(tweak: impl FnOnce(&mut Config)) -> Server {
    let s = Server::with(tweak);
    let mut errpayload: Value = serde_json::from_str(&payload("billing", STREAM, 200, 1)).unwrap();
    // Make billing's one invocation a timeout.
    let ev = &mut errpayload["logEvents"][3]["message"];
    *ev = Value::String(ev.as_str().unwrap().replace("\t\n", "\tStatus: timeout\n"));
    let body = body_of(&[
        record(&payload("orders", STREAM, 0, 30)),
        record(&errpayload.to_string()),
    ]);
    assert_eq!(s.firehose(body, "seed").await.0, StatusCode::OK);
    s
}

#[tokio::test]
async fn functions_answer_what_the_report_answers() {
    let s = seeded().await;
    let (status, v) = s.get(&format!("/api/v1/functions?{}", range_all())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // The same document `tern report --format json` prints for this range.
    let store = s.store();
    let names = crate::report::select_functions(&store, None).unwrap();
    let range = TimeRange {
        from_ms: Some(crate::timeutil::parse_instant("2026-11-01").unwrap()),
        to_ms: Some(crate::timeutil::parse_instant("2026-12-01").unwrap()),
    };
    let cli: Value = serde_json::from_str(
        &crate::report::build(&store, &names, range, &Default::default())
            .unwrap()
            .to_json()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(v, cli);
    let orders = v["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "orders")
        .unwrap();
    assert_eq!(orders["invocations"], 30);
    assert_eq!(orders["cold_starts"], 1);
    // Four log events per invocation, each stored once.
    assert_eq!(orders["log_lines"], 120);
    assert!(orders["log_bytes"].as_u64().unwrap() > 120 * 10);
    let lines: u64 = v["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["log_lines"].as_u64().unwrap())
        .sum();
    assert_eq!(v["totals"]["log_lines"], lines);
    assert!(orders["cost_usd"].as_f64().unwrap() > 0.0);
    let (_, v) = s
        .get(&format!("/api/v1/functions?{}&function=bill*", range_all()))
        .await;
    assert_eq!(v["functions"].as_array().unwrap().len(), 1);
    assert_eq!(v["functions"][0]["timeouts"], 1);
    for (q, needle) in [
        ("since=soon", "since \"soon\""),
        ("since=1d&from=2026-11-01", "not both"),
        ("from=yesterday", "from \"yesterday\""),
        ("from=2026-11-02&to=2026-11-01", "after"),
        ("function=[", "not a valid glob"),
        ("free_tier=maybe", "free_tier"),
    ] {
        let (status, v) = s.get(&format!("/api/v1/functions?{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {v}");
        let e = v["error"].as_str().unwrap();
        assert!(e.contains(needle), "{q}: {e:?} lacks {needle:?}");
    }
    s.stop();
}

/// The dashboard's fleet read agrees with the report, sorts, filters and pages on
/// the server, returns sparkline buckets that add up, and refuses bad parameters clearly.
#[tokio::test]
async fn fleet_agrees_with_the_report_and_pages() {
    let s = seeded().await;
    let (status, v) = s.get(&format!("/api/v1/fleet?{}", range_all())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, rep) = s.get(&format!("/api/v1/functions?{}", range_all())).await;
    for k in ["invocations", "errors", "cold_starts"] {
        assert_eq!(v["totals"][k], rep["totals"][k], "{k}");
    }
    let close = |a: &Value, b: &Value| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9;
    assert!(close(&v["totals"]["cost_usd"], &rep["totals"]["cost_usd"]));
    assert_eq!(v["matched"], 2);
    // Default sort: cost, most first; every row's sparkline adds up to its invocations.
    let rows = v["functions"].as_array().unwrap();
    assert!(rows[0]["cost_usd"].as_f64() >= rows[1]["cost_usd"].as_f64());
    let buckets = v["bucket_starts"].as_array().unwrap().len();
    assert!(buckets > 0 && buckets <= 40, "{buckets}");
    for r in rows {
        let spark = r["spark"]["invocations"].as_array().unwrap();
        assert_eq!(spark.len(), buckets);
        let sum: u64 = spark.iter().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(Value::from(sum), r["invocations"]);
        assert_eq!(r["spark"]["p99_ms"].as_array().unwrap().len(), buckets);
        let f = rep["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["function"] == r["function"])
            .unwrap();
        assert_eq!(r["p50_ms"], f["duration_ms"]["p50"]);
        assert_eq!(r["errors"], f["errors"]);
    }
    // Sort by name, filter by a name substring in any case, page.
    let (_, v) = s
        .get(&format!("/api/v1/fleet?{}&sort=function", range_all()))
        .await;
    assert_eq!(v["functions"][0]["function"], "billing");
    assert_eq!(v["dir"], "asc");
    let (_, v) = s
        .get(&format!("/api/v1/fleet?{}&name=ORD", range_all()))
        .await;
    assert_eq!(v["matched"], 1);
    assert_eq!(v["functions"][0]["function"], "orders");
    let (_, v) = s
        .get(&format!(
            "/api/v1/fleet?{}&sort=function&offset=1&limit=1",
            range_all()
        ))
        .await;
    assert_eq!(v["functions"].as_array().unwrap().len(), 1);
    assert_eq!(v["functions"][0]["function"], "orders");
    assert_eq!(v["totals"]["functions"], 2);
    let (_, v) = s
        .get(&format!("/api/v1/fleet?{}&offset=999999999", range_all()))
        .await;
    assert_eq!(v["functions"].as_array().unwrap().len(), 0);
    // Bytes that are not UTF-8 are read lossily and match nothing.
    let (status, v) = s.get("/api/v1/fleet?tag=%FF%FE&name=%00").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["matched"], 0);
    // An open range is the stored data's span; it still gets buckets.
    let (status, v) = s.get("/api/v1/fleet").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(!v["bucket_starts"].as_array().unwrap().is_empty());
    let long = "x".repeat(10_000);
    for (q, needle) in [
        ("sort=nope", "sort=\"nope\""),
        ("dir=up", "asc or desc"),
        ("limit=1001", "at most 1000"),
        ("limit=-1", "bad query parameters"),
        ("offset=x", "bad query parameters"),
        ("since=soon", "since \"soon\""),
        (&format!("name={long}") as &str, "at most 256"),
    ] {
        let (status, v) = s.get(&format!("/api/v1/fleet?{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {v}");
        let e = v["error"].as_str().unwrap();
        assert!(e.contains(needle), "{q}: {e:?} lacks {needle:?}");
    }
    // Error groups with sparklines: one count per bucket, adding up to the range's count.
    let (status, v) = s
        .get(&format!("/api/v1/errors?{}&spark=true", range_all()))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let g = &v[0];
    let sum: u64 = g["spark"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(Value::from(sum), g["count_in_range"]);
    assert_eq!(
        g["spark"].as_array().unwrap().len(),
        g["spark_starts"].as_array().unwrap().len()
    );
    let (status, _) = s.get("/api/v1/errors?spark=perhaps").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop();
}

#[tokio::test]
async fn series_buckets_a_function() {
    let s = seeded().await;
    // Invocations are one second apart from T; hour buckets over the day of T.
    let (status, v) = s
        .get("/api/v1/functions/orders/series?from=2026-11-20&to=2026-11-21&bucket=1h")
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 24);
    assert_eq!(v["bucket_seconds"], 3600);
    let total: u64 = points
        .iter()
        .map(|p| p["invocations"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 30);
    let first = &points[0];
    assert_eq!(first["invocations"], 30);
    assert_eq!(first["cold_starts"], 1);
    assert_eq!(first["max_memory_used_mb"], 40);
    assert_eq!(first["log_lines"], 120);
    assert!(first["log_bytes"].as_u64().unwrap() > 0);
    assert_eq!(points[1]["log_lines"], 0);
    assert!(first["duration_ms"]["p99"].as_f64().unwrap() >= 12.0);
    assert!(first["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(points[1]["duration_ms"].is_null());
    assert_eq!(points[1]["invocations"], 0);
    for (q, status, needle) in [
        (
            "nope/series?since=1d",
            StatusCode::NOT_FOUND,
            "no stored function",
        ),
        (
            "orders/series?since=1d&bucket=fast",
            StatusCode::BAD_REQUEST,
            "bucket=\"fast\"",
        ),
        (
            "orders/series?since=1d&bucket=10s",
            StatusCode::BAD_REQUEST,
            "at least 1m",
        ),
        (
            "orders/series?since=365d&bucket=1m",
            StatusCode::BAD_REQUEST,
            "at most 10000",
        ),
        ("orders/series", StatusCode::BAD_REQUEST, "needs a start"),
    ] {
        let (got, v) = s.get(&format!("/api/v1/functions/{q}")).await;
        assert_eq!(got, status, "{q}: {v}");
        let e = v["error"].as_str().unwrap();
        assert!(e.contains(needle), "{q}: {e:?} lacks {needle:?}");
    }
    s.stop();
}

#[tokio::test]
async fn invocations_filter_and_logs_by_query_parameters() {
    let s = seeded().await;
    let (status, v) = s
        .get(&format!("/api/v1/invocations?{}&limit=5", range_all()))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 5);
    let (_, v) = s.get("/api/v1/invocations?outcome=timeout").await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["function"], "billing");
    let (_, v) = s.get("/api/v1/invocations?cold=true&function=orders").await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = s.get("/api/v1/invocations?function=nomatch*").await;
    assert_eq!(v, serde_json::json!([]));
    let rid = "00000000-0000-4000-8000-000000000007";
    let (_, v) = s
        .get(&format!("/api/v1/invocations?request_id={rid}"))
        .await;
    assert_eq!(v[0]["request_id"], rid);
    for (q, needle) in [
        ("outcome=bad", "outcome=\"bad\""),
        ("limit=0", "limit=\"0\""),
        ("limit=many", "limit"),
        ("cold=yes", "cold=\"yes\""),
        ("since=x", "since"),
    ] {
        let (status, v) = s.get(&format!("/api/v1/invocations?{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{q}: {v}");
    }
    // Log groups have slashes and streams have brackets and dollars: query parameters.
    let enc = |x: &str| {
        x.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let uri = format!(
        "/api/v1/invocations/logs?log_group={}&log_stream={}&request_id={rid}",
        enc("/aws/lambda/orders"),
        enc(STREAM)
    );
    let (status, v) = s.get(&uri).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let logs = v["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 4);
    assert!(logs[1]["message"].as_str().unwrap().contains("handling 7"));
    let (status, v) = s.get(&uri.replace("000000000007", "999999999999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, v) = s.get("/api/v1/invocations/logs?log_group=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().unwrap().contains("log_stream"), "{v}");
    s.stop();
}

#[tokio::test]
async fn api_needs_a_token_healthz_does_not() {
    let s = Server::new();
    for uri in [
        "/api/v1/functions",
        "/api/v1/functions/f/series?since=1d",
        "/api/v1/invocations",
        "/api/v1/invocations/logs?log_group=a&log_stream=b&request_id=c",
        "/metrics",
    ] {
        for auth in [
            None,
            Some("Bearer wrong"),
            Some(&format!("Bearer {KEY}")[..]),
            Some("Basic abc"),
        ] {
            let mut b = Request::get(uri);
            if let Some(a) = auth {
                b = b.header("authorization", a);
            }
            let (status, body, ctype) = s.send(b.body(Body::empty()).unwrap()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} {auth:?}: {body}");
            assert_eq!(ctype.as_deref(), Some("application/json"));
            let v: Value = serde_json::from_str(&body).unwrap();
            assert!(v["error"].as_str().unwrap().contains("token"), "{body}");
        }
    }
    let (status, body, _) = s
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("ok"));
    let (status, v) = s.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = v.as_str().unwrap();
    assert!(text.contains("tern_auth_failures_total 20"), "{text}");
    assert!(
        text.contains("# TYPE tern_store_queue_depth gauge"),
        "{text}"
    );
    s.stop();
}

#[tokio::test]
async fn extra_metrics_are_appended() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (writer, handle) = Writer::spawn(SqliteStore::open(&db).unwrap(), 2);
    let mut config = Config::default();
    config.auth.api_tokens = vec![TokenHash::of(API)];
    let settings = Settings {
        store: tern_store::StoreBackend::Sqlite(db.clone()),
        listen: config.server.listen,
        config,
        collector_id: None,
    };
    let extra: super::state::ExtraMetrics = std::sync::Arc::new(|out: &mut String| {
        out.push_str("tern_pull_lag_seconds{log_group=\"/aws/lambda/f\"} 3\n");
    });
    let state = super::state(
        &settings,
        handle,
        vec![Box::new(SqliteStore::open_read_only(&db).unwrap())],
        Some(extra),
    );
    let app = router::router(state);
    let resp = app
        .oneshot(
            Request::get("/metrics")
                .header("authorization", format!("Bearer {API}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains("tern_pull_lag_seconds"));
    writer.join();
}

#[tokio::test]
async fn openapi_lists_exactly_the_routes() {
    let s = Server::new();
    let (status, body, _) = s
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    let mut routed: Vec<(String, String)> = router::routes()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    documented.sort();
    routed.sort();
    assert_eq!(documented, routed);
    // And each documented path answers (not 404/405) with its method.
    for (method, path) in routed {
        let uri = path
            .replace("{name}", "f")
            .replace("{id}", "0123456789abcdef");
        let req = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let status = s.send(req).await.0;
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}: {status}"
        );
    }
    s.stop();
}

#[test]
fn token_files_are_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let a = super::token_file(&db, "api-token", "API token").unwrap();
    let path = dir.path().join("x.db.api-token");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim().len(), 64);
    assert_eq!(TokenHash::of(text.trim()), a);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let b = super::token_file(&db, "api-token", "API token").unwrap();
    assert_eq!(a, b, "reused on restart");
    let out = super::token_command();
    let token = out
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("token:")
        .trim();
    assert!(out.contains(&TokenHash::of(token).render()), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Alerting API: errors, incidents, policies.

fn alerting_config(c: &mut Config) {
    c.alerts = Config::parse(
        r#"
[[channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "0123456789abcdef0123"
[[policies]]
name = "from-config"
metric = "errors"
threshold = 1
"#,
    )
    .unwrap()
    .alerts;
}

async fn send_json(s: &Server, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {API}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, body, _) = s.send(req).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// The insights route answers what `tern insights --format json` answers, filters by
/// rule and severity, and needs a token.
#[tokio::test]
async fn insights_answer_what_the_cli_answers() {
    let s = seeded().await;
    // One out-of-memory invocation, and an inventory function whose log group never expires.
    let mut p = tern_store::conformance::invocation("resizer", 1, "oom-1", T, 900.0, 256);
    p.signals.oom_signature = true;
    s.state
        .writer
        .write(IngestBatch {
            parts: vec![p],
            functions: vec![tern_store::FunctionMeta {
                function: "idle".into(),
                inventory_ms: Some(T),
                log_retention_days: Some(0),
                ..Default::default()
            }],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    let req = Request::get(format!("/api/v1/insights?{}", range_all()))
        .body(Body::empty())
        .unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::UNAUTHORIZED);
    let (status, v) = s.get(&format!("/api/v1/insights?{}", range_all())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let all = v["insights"].as_array().unwrap();
    let has = |rule: &str, function: &str| {
        all.iter()
            .any(|i| i["rule"] == rule && i["function"] == function)
    };
    assert!(has("memory.out_of_memory", "resizer"), "{v}");
    assert!(has("logs.no_retention", "idle"), "{v}");
    assert!(has("function.inactive", "idle"), "{v}");
    let (_, report) = s.get(&format!("/api/v1/functions?{}", range_all())).await;
    assert_eq!(report["insights"], v["insights"]);
    let (_, only) = s
        .get(&format!(
            "/api/v1/insights?{}&rule=memory.out_of_memory,logs.no_retention&min_severity=critical",
            range_all()
        ))
        .await;
    let only = only["insights"].as_array().unwrap();
    assert_eq!(only.len(), 1, "{only:?}");
    assert_eq!(only[0]["rule"], "memory.out_of_memory");
    assert_eq!(only[0]["severity"], "critical");
    // A limit keeps the most severe first and still counts them all.
    assert_eq!(v["total"].as_u64().unwrap() as usize, all.len(), "{v}");
    assert!(all.len() >= 3, "{v}");
    let (status, first) = s
        .get(&format!("/api/v1/insights?{}&limit=2", range_all()))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["total"], v["total"]);
    assert_eq!(first["insights"].as_array().unwrap()[..], all[..2]);
    for (q, needle) in [
        ("rule=memory.nope", "unknown rule"),
        ("min_severity=loud", "unknown severity"),
        ("function=[", "not a valid glob"),
        ("limit=0", "at least 1"),
        ("limit=-3", "limit"),
        ("limit=lots", "limit"),
        ("limit=99999999999999999999999", "limit"),
    ] {
        let (status, v) = s.get(&format!("/api/v1/insights?{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{q}: {v}");
    }
    s.stop();
}

/// `[insights]` of the serve config sets the thresholds and disabled rules of
/// `/api/v1/insights` and `/api/v1/functions`.
#[tokio::test]
async fn insights_follow_the_serve_config() {
    async fn run(s: &Server) -> (Vec<Value>, Value) {
        s.state
            .writer
            .write(IngestBatch {
                functions: vec![tern_store::FunctionMeta {
                    function: "idle".into(),
                    inventory_ms: Some(T),
                    log_retention_days: Some(0),
                    ..Default::default()
                }],
                ..IngestBatch::default()
            })
            .await
            .unwrap();
        let (status, v) = s.get(&format!("/api/v1/insights?{}", range_all())).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let (status, report) = s.get(&format!("/api/v1/functions?{}", range_all())).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["insights"], v["insights"]);
        (v["insights"].as_array().unwrap().clone(), report)
    }
    let has = |all: &[Value], rule: &str, function: &str| {
        all.iter()
            .any(|i| i["rule"] == rule && i["function"] == function)
    };

    // Defaults: billing's one failed invocation is under the 10 invocations an error rate
    // needs; the idle function's log group never expires.
    let s = seeded().await;
    let (all, _) = run(&s).await;
    assert!(!has(&all, "errors.rate_high", "billing"), "{all:?}");
    assert!(has(&all, "logs.no_retention", "idle"), "{all:?}");
    assert!(has(&all, "function.inactive", "idle"), "{all:?}");
    s.stop();

    let s = seeded_with(|c| {
        c.insights = Config::parse(
            "[insights]\nerror_min_invocations = 1\ndisable = [\"logs.no_retention\"]",
        )
        .unwrap()
        .insights;
    })
    .await;
    let (all, report) = run(&s).await;
    assert!(has(&all, "errors.rate_high", "billing"), "{all:?}");
    assert!(
        all.iter().all(|i| i["rule"] != "logs.no_retention"),
        "{all:?}"
    );
    assert!(has(&all, "function.inactive", "idle"), "{all:?}");
    // Filtering by a disabled rule finds nothing (it is not an error: the rule exists).
    let (status, only) = s
        .get(&format!(
            "/api/v1/insights?{}&rule=logs.no_retention",
            range_all()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{only}");
    assert_eq!(only["insights"], Value::Array(Vec::new()));
    assert!(report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["function"] == "billing"));
    s.stop();
}

#[tokio::test]
async fn every_alerting_route_needs_a_token() {
    let s = Server::with(alerting_config);
    for (method, path, _) in router::routes() {
        if !path.starts_with("/api/v1/") || path.ends_with("openapi.json") {
            continue;
        }
        let uri = path
            .replace("{name}", "f")
            .replace("{id}", "0123456789abcdef");
        let req = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&uri)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, body, _) = s.send(req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {body}");
    }
    s.stop();
}

#[tokio::test]
async fn errors_list_show_and_change_status() {
    let s = Server::with(alerting_config);
    let mut p = tern_store::conformance::invocation("checkout", 1, "e-1", T, 12.0, 256);
    p.signals.handler_error = true;
    p.error = Some(tern_core::model::ErrorInfo {
        error_type: "TypeError".into(),
        message: "Cannot read properties of undefined (reading 'id')".into(),
        stack: vec!["    at Runtime.handler (file:///var/task/index.mjs:27:31)".into()],
    });
    s.state
        .writer
        .write(IngestBatch {
            parts: vec![p],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    let (st, list) = s.get(&format!("/api/v1/errors?{}", range_all())).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["function"], "checkout");
    assert_eq!(list[0]["status"], "open");
    let (st, none) = s.get("/api/v1/errors?function=nothing*").await;
    assert_eq!((st, none.as_array().unwrap().len()), (StatusCode::OK, 0));
    let (st, e) = s.get("/api/v1/errors?status=gone").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");

    let (st, one) = s.get(&format!("/api/v1/errors/{id}")).await;
    assert_eq!(st, StatusCode::OK, "{one}");
    assert_eq!(one["id"], id.as_str());
    assert_eq!(one["samples"][0]["request_id"], "e-1");
    assert!(!one["timeline"].as_array().unwrap().is_empty());
    assert_eq!(s.get("/api/v1/errors/xyz").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        s.get("/api/v1/errors/0123456789abcdef").await.0,
        StatusCode::NOT_FOUND
    );

    let uri = format!("/api/v1/errors/{id}/status");
    let (st, g) = send_json(&s, "POST", &uri, r#"{"status":"resolved"}"#).await;
    assert_eq!(
        (st, g["status"].as_str()),
        (StatusCode::OK, Some("resolved"))
    );
    let (st, g) = send_json(&s, "POST", &uri, r#"{"status":"muted","muted_for":"7d"}"#).await;
    assert_eq!((st, g["status"].as_str()), (StatusCode::OK, Some("muted")));
    assert!(g["muted_until"].is_string(), "{g}");
    for (body, needle) in [
        (r#"{"status":"closed"}"#, "status"),
        (r#"{"status":"open","muted_for":"1d"}"#, "muted_for"),
        (r#"{"status":"muted","muted_for":"soon"}"#, "muted_for"),
        (r#"{"state":"open"}"#, "bad body"),
    ] {
        let (st, e) = send_json(&s, "POST", &uri, body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {e}");
        assert!(e["error"].as_str().unwrap().contains(needle), "{body}: {e}");
    }
    let (st, _) = send_json(
        &s,
        "POST",
        "/api/v1/errors/0123456789abcdef/status",
        r#"{"status":"open"}"#,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    s.stop();
}

#[tokio::test]
async fn incidents_are_listed_by_state() {
    let s = Server::with(alerting_config);
    s.state
        .writer
        .with_store(|store: &mut dyn Store| {
            store.apply_incident(
                &tern_store::IncidentChange::Firing {
                    policy: "from-config".into(),
                    subject: "checkout".into(),
                    at_ms: T,
                    value: Some(3.0),
                    threshold: Some(1.0),
                    detail: None,
                },
                &|_| Vec::new(),
            )
        })
        .await
        .unwrap()
        .unwrap();
    let (st, open) = s.get("/api/v1/incidents?state=open").await;
    assert_eq!(st, StatusCode::OK, "{open}");
    assert_eq!(open[0]["function"], "checkout");
    assert_eq!(open[0]["policy"], "from-config");
    assert_eq!(open[0]["value"], 3.0);
    let (_, resolved) = s.get("/api/v1/incidents?state=resolved").await;
    assert!(resolved.as_array().unwrap().is_empty());
    assert_eq!(
        s.get("/api/v1/incidents?state=maybe").await.0,
        StatusCode::BAD_REQUEST
    );
    s.stop();
}

#[tokio::test]
async fn policies_crud_validates_like_the_config() {
    let s = Server::with(alerting_config);
    let (st, all) = s.get("/api/v1/policies").await;
    assert_eq!(st, StatusCode::OK);
    let source_of = |all: &Value, name: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["source"].as_str().unwrap().to_string())
    };
    assert_eq!(
        source_of(&all, "builtin.error_rate").as_deref(),
        Some("builtin")
    );
    assert_eq!(source_of(&all, "from-config").as_deref(), Some("config"));

    let body = r#"{"type":"metric","name":"slow-checkout","functions":["checkout"],"metric":"duration","aggregation":"p95","threshold":800,"window":"10m","channels":["hook"]}"#;
    let (st, p) = send_json(&s, "POST", "/api/v1/policies", body).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(
        (p["source"].as_str(), p["window_seconds"].as_f64()),
        (Some("api"), Some(600.0))
    );
    let (st, _) = send_json(&s, "POST", "/api/v1/policies", body).await;
    assert_eq!(st, StatusCode::OK, "replaced");
    let err_body = r#"{"type":"error","name":"pay-errors","functions":["pay-*"],"on":"every","cooldown":"30m"}"#;
    assert_eq!(
        send_json(&s, "POST", "/api/v1/policies", err_body).await.0,
        StatusCode::CREATED
    );
    let (_, all) = s.get("/api/v1/policies").await;
    assert_eq!(source_of(&all, "slow-checkout").as_deref(), Some("api"));
    assert_eq!(source_of(&all, "pay-errors").as_deref(), Some("api"));

    for (body, status, needle) in [
        (
            r#"{"type":"metric","name":"x","metric":"errors","threshold":1,"channels":["nope"]}"#,
            StatusCode::BAD_REQUEST,
            "policy.channels[0]",
        ),
        (
            r#"{"type":"metric","name":"x","metric":"latency","threshold":1}"#,
            StatusCode::BAD_REQUEST,
            "policy.metric",
        ),
        (
            r#"{"type":"metric","name":"x","metric":"errors","threshold":1,"aggregation":"p99"}"#,
            StatusCode::BAD_REQUEST,
            "aggregation p99",
        ),
        (
            r#"{"type":"metric","name":"x","metric":"errors","threshold":1,"windw":"5m"}"#,
            StatusCode::BAD_REQUEST,
            "windw",
        ),
        (
            r#"{"type":"error","name":"x","on":"sometimes"}"#,
            StatusCode::BAD_REQUEST,
            "policy.on",
        ),
        (
            r#"{"type":"metric","name":"builtin.error_rate","metric":"errors","threshold":1}"#,
            StatusCode::BAD_REQUEST,
            "reserved",
        ),
        (
            r#"{"type":"metric","name":"from-config","metric":"errors","threshold":2}"#,
            StatusCode::CONFLICT,
            "read-only",
        ),
    ] {
        let (st, e) = send_json(&s, "POST", "/api/v1/policies", body).await;
        assert_eq!(st, status, "{body}: {e}");
        assert!(e["error"].as_str().unwrap().contains(needle), "{body}: {e}");
    }

    let (st, _) = send_json(&s, "DELETE", "/api/v1/policies/slow-checkout", "").await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = send_json(&s, "DELETE", "/api/v1/policies/slow-checkout", "").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, e) = send_json(&s, "DELETE", "/api/v1/policies/builtin.memory", "").await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    let (st, _) = send_json(&s, "DELETE", "/api/v1/policies/from-config", "").await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (_, all) = s.get("/api/v1/policies").await;
    assert_eq!(source_of(&all, "slow-checkout"), None);
    s.stop();
}

/// Markers round trip over the API, bad bodies are 400, and a function's changes
/// come with their comparison ("not enough data" for a handful of invocations).
#[tokio::test]
async fn markers_and_changes() {
    let s = seeded().await;
    let body = format!(
        r#"{{"function": "orders", "note": "deployed v42", "at": "{}"}}"#,
        T + 60_000
    );
    let (status, m) = send_json(&s, "POST", "/api/v1/markers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!(
        (m["id"].as_i64(), m["change_id"].as_str()),
        (Some(1), Some("marker-1"))
    );
    assert_eq!(m["at_ms"].as_i64(), Some(T + 60_000));
    let (status, _) = send_json(
        &s,
        "POST",
        "/api/v1/markers",
        r#"{"function": "billing", "note": "flag"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for bad in [
        r#"{"function": "orders"}"#,
        r#"{"function": "", "note": "x"}"#,
        r#"{"function": "orders", "note": "x", "at": "yesterday-ish"}"#,
        "not json",
    ] {
        let (status, err) = send_json(&s, "POST", "/api/v1/markers", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
        assert!(err["error"].is_string(), "{err}");
    }
    let (status, list) = s.get("/api/v1/markers?function=orders").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["note"], "deployed v42");
    let (_, all) = s.get("/api/v1/markers").await;
    assert_eq!(all.as_array().unwrap().len(), 2);

    let (status, changes) = s.get("/api/v1/functions/orders/changes").await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    let c = &changes["changes"][0];
    assert_eq!(c["change"]["id"], "marker-1");
    assert_eq!(c["grouping"], "by_time");
    assert_eq!(c["enough_data"], false);
    assert!(c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["verdict"] == "not enough data"));
    let (status, _) = s.get("/api/v1/functions/nope/changes").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The fleet's changes: both markers, newest first, with their three verdicts.
    let (status, fleet) = s.get("/api/v1/changes").await;
    assert_eq!(status, StatusCode::OK, "{fleet}");
    let list = fleet["changes"].as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&"marker-1") && ids.contains(&"marker-2"),
        "{fleet}"
    );
    let orders = list.iter().find(|c| c["function"] == "orders").unwrap();
    assert_eq!(orders["attribute"], "marker");
    assert_eq!(orders["rollback"], false);
    assert_eq!(orders["duration_p95"]["verdict"], "not enough data");
    assert_eq!(orders["error_rate"]["verdict"], "not enough data");
    assert_eq!(orders["cost_per_invocation"]["verdict"], "not enough data");
    assert_eq!(fleet["omitted"], 0);
    let (_, one) = s.get("/api/v1/changes?function=ord*&limit=1").await;
    assert_eq!(one["changes"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["changes"][0]["function"], "orders");
    let (_, none) = s.get("/api/v1/changes?since=1m").await;
    assert!(
        none["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["function"] == "billing"),
        "{none}"
    );
    for bad in [
        "/api/v1/changes?limit=0",
        "/api/v1/changes?limit=51",
        "/api/v1/changes?limit=many",
        "/api/v1/changes?since=forever",
        "/api/v1/changes?since=1d&from=2026-01-01",
        "/api/v1/changes?function=%5B",
    ] {
        let (status, err) = s.get(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
        assert!(err["error"].is_string(), "{err}");
    }
    s.stop();
}

// ---------------------------------------------------------------------------------------------
// Dashboard: assets, sessions, CSRF.

/// Status, headers and body of one request.
async fn exchange(s: &Server, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = s.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn login_request(token: &str) -> Request<Body> {
    Request::post("/ui/login")
        .header("content-type", "application/json")
        .header("host", "tern.test")
        .body(Body::from(
            serde_json::json!({ "token": token }).to_string(),
        ))
        .unwrap()
}

/// Log in; the `Cookie` header value and the CSRF token.
async fn dashboard_login(s: &Server) -> (String, String, String) {
    let (status, headers, body) = exchange(s, login_request(API)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set = headers["set-cookie"].to_str().unwrap().to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let csrf = serde_json::from_str::<Value>(&body).unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    (cookie, csrf, set)
}

#[tokio::test]
async fn dashboard_assets_are_embedded_with_a_strict_csp() {
    let s = Server::new();
    for (path, ctype) in [
        ("/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
    ] {
        let (status, headers, body) =
            exchange(&s, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(headers["content-type"].to_str().unwrap().starts_with(ctype));
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        // Nothing is fetched from another origin (the CSP would block it anyway).
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} names another origin"
        );
        // Unchanged assets revalidate to 304.
        let etag = headers["etag"].clone();
        let (status, _, _) = exchange(
            &s,
            Request::get(path)
                .header("if-none-match", etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
    }
    // No inline script or style in the page.
    let html = super::ui::INDEX;
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count()
    );
    assert!(!html.contains("style=") && !html.contains("<style"));
    assert!(!super::ui::APP_JS.contains("style=\""));
    s.stop();
}

#[tokio::test]
async fn dashboard_sessions_need_csrf_for_changes() {
    let s = Server::new();
    // A wrong token opens nothing.
    let (status, headers, _) = exchange(&s, login_request("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get("set-cookie").is_none());
    // Cross-site login is refused.
    let mut req = login_request(API);
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert_eq!(exchange(&s, req).await.0, StatusCode::FORBIDDEN);

    let (cookie, csrf, set) = dashboard_login(&s).await;
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "loopback: no Secure flag: {set}");
    assert_eq!(cookie.len(), "tern_session=".len() + 64);

    // Reads with the cookie alone.
    let get = |uri: &str| {
        Request::get(uri)
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        exchange(&s, get("/api/v1/functions")).await.0,
        StatusCode::OK
    );
    let (_, _, body) = exchange(&s, get("/ui/session")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["csrf"], csrf);

    // Changes need the CSRF token, from the same origin.
    let change = |csrf: Option<&str>, origin: Option<&str>| {
        let mut b = Request::post("/api/v1/errors/0123456789abcdef/status")
            .header("cookie", &cookie)
            .header("host", "tern.test")
            .header("content-type", "application/json");
        if let Some(c) = csrf {
            b = b.header("x-tern-csrf", c);
        }
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        b.body(Body::from(r#"{"status":"resolved"}"#)).unwrap()
    };
    assert_eq!(
        exchange(&s, change(None, None)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        exchange(&s, change(Some("0".repeat(64).as_str()), None))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        exchange(&s, change(Some(&csrf), Some("http://evil.example")))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // Past auth: the group does not exist.
    assert_eq!(
        exchange(&s, change(Some(&csrf), Some("http://tern.test")))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Logout needs the token too, then the cookie is dead.
    let logout = |csrf: Option<&str>| {
        let mut b = Request::post("/ui/logout").header("cookie", &cookie);
        if let Some(c) = csrf {
            b = b.header("x-tern-csrf", c);
        }
        b.body(Body::empty()).unwrap()
    };
    assert_eq!(exchange(&s, logout(None)).await.0, StatusCode::FORBIDDEN);
    let (status, headers, _) = exchange(&s, logout(Some(&csrf))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        exchange(&s, get("/api/v1/functions")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, _, body) = exchange(&s, get("/ui/session")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["csrf"],
        Value::Null
    );
    s.stop();
}

#[tokio::test]
async fn dashboard_cookie_is_secure_off_loopback() {
    let s = Server::with(|c| c.server.listen = "0.0.0.0:8080".parse().unwrap());
    let (_, _, set) = dashboard_login(&s).await;
    assert!(set.ends_with("; Secure"), "{set}");
    s.stop();
}

fn password_login(name: &str, password: &str) -> Request<Body> {
    Request::post("/ui/login")
        .header("content-type", "application/json")
        .header("host", "tern.test")
        .body(Body::from(
            serde_json::json!({ "username": name, "password": password }).to_string(),
        ))
        .unwrap()
}

/// `[[dashboard.users]]` log in with a name and password (Argon2); wrong, unknown and
/// hostile attempts are refused alike, slowly, and a name is locked out after repeated
/// failures (while the right password of another user still works).
#[tokio::test]
async fn dashboard_password_login() {
    let hash = |p: &str| {
        crate::password::PasswordHashString::parse(&crate::password::hash(p).unwrap()).unwrap()
    };
    let (alice, bob) = (
        hash("alice's long passphrase"),
        hash("bob's long passphrase"),
    );
    let s = Server::with(|c| {
        c.auth.users = vec![
            crate::config::DashboardUser {
                name: "alice".into(),
                password_hash: alice,
            },
            crate::config::DashboardUser {
                name: "bob".into(),
                password_hash: bob,
            },
        ];
    });
    let (status, headers, body) =
        exchange(&s, password_login("alice", "alice's long passphrase")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("tern_session=") && cookie.contains("HttpOnly"));
    // The session reads the API.
    let cookie = cookie.split(';').next().unwrap().to_string();
    let (status, _, _) = exchange(
        &s,
        Request::get("/api/v1/policies")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Wrong password and unknown user: the same 401, after a delay.
    let started = std::time::Instant::now();
    let (status, _, wrong) = exchange(&s, password_login("alice", "not it at all")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() >= super::ui::throttle::FAIL_DELAY);
    let (status, _, unknown) = exchange(&s, password_login("mallory", "not it at all")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);
    assert!(!wrong.contains("not it at all"));
    // Hostile bodies: a huge password, a huge name, both kinds of credentials, neither,
    // a field too many, the wrong types.
    let huge = "x".repeat(1 << 20);
    for (body, needle) in [
        (
            serde_json::json!({"username": "alice", "password": huge}).to_string(),
            "longer than 1024 bytes",
        ),
        (
            serde_json::json!({"username": huge, "password": "p"}).to_string(),
            "longer than 256 bytes",
        ),
        (
            serde_json::json!({"token": API, "username": "alice", "password": "p"}).to_string(),
            "either",
        ),
        ("{}".to_string(), "either"),
        (
            serde_json::json!({"username": "alice"}).to_string(),
            "either",
        ),
        (
            serde_json::json!({"username": "alice", "password": "p", "admin": true}).to_string(),
            "unknown field",
        ),
        (
            serde_json::json!({"username": 1, "password": ["p"]}).to_string(),
            "bad body",
        ),
    ] {
        let req = Request::post("/ui/login")
            .header("content-type", "application/json")
            .header("host", "tern.test")
            .body(Body::from(body))
            .unwrap();
        let (status, _, text) = exchange(&s, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
    // Repeated failures lock the name out (429), not other users.
    for _ in 0..super::ui::throttle::MAX_FAILURES {
        let _ = exchange(&s, password_login("bob", "guess")).await;
    }
    let (status, _, text) = exchange(&s, password_login("bob", "bob's long passphrase")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
    assert!(text.contains("try again in"), "{text}");
    let (status, _, _) = exchange(&s, password_login("alice", "alice's long passphrase")).await;
    assert_eq!(status, StatusCode::OK);
    // API tokens still log in.
    let (status, _, _) = exchange(&s, login_request(API)).await;
    assert_eq!(status, StatusCode::OK);
    s.stop();
}

/// A function's memory recommendation (with its tuning runs) and the notification
/// history answer, and refuse bad parameters clearly.
#[tokio::test]
async fn recommendation_and_notifications() {
    let s = seeded().await;
    let (status, v) = s
        .get(&format!(
            "/api/v1/functions/orders/recommendation?{}",
            range_all()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["function"], "orders");
    assert_eq!(v["strategy"], "balanced");
    let rec = &v["recommendation"];
    assert!(
        rec["curve"].as_array().is_some_and(|c| !c.is_empty()),
        "{v}"
    );
    assert!(rec["recommended_memory_mb"].as_u64().is_some());
    assert_eq!(v["tuning"], serde_json::json!([]));
    let (status, v) = s
        .get("/api/v1/functions/orders/recommendation?strategy=cost")
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["strategy"], "cost");
    for (uri, code, needle) in [
        (
            "/api/v1/functions/nope/recommendation".to_string(),
            StatusCode::NOT_FOUND,
            "no stored function",
        ),
        (
            "/api/v1/functions/orders/recommendation?strategy=cheap".to_string(),
            StatusCode::BAD_REQUEST,
            "cost, speed or balanced",
        ),
        (
            "/api/v1/functions/orders/recommendation?since=soon".to_string(),
            StatusCode::BAD_REQUEST,
            "since",
        ),
        (
            format!("/api/v1/functions/{}/recommendation", "%5B".repeat(300)),
            StatusCode::NOT_FOUND,
            "no stored function",
        ),
        (
            "/api/v1/notifications?limit=0".to_string(),
            StatusCode::BAD_REQUEST,
            "use 1 to 1000",
        ),
        (
            "/api/v1/notifications?limit=x".to_string(),
            StatusCode::BAD_REQUEST,
            "bad query parameters",
        ),
    ] {
        let (status, v) = s.get(&uri).await;
        assert_eq!(status, code, "{uri}: {v}");
        let e = v["error"].as_str().unwrap();
        assert!(e.contains(needle), "{uri}: {e:?} lacks {needle:?}");
    }
    // Notifications: the outbox, newest first.
    {
        use tern_store::Store as _;
        let mut store = SqliteStore::open(&s.db).unwrap();
        let item = |k: &str| tern_store::OutboxItem {
            dedupe_key: k.into(),
            channel: "ops".into(),
            payload: "{}".into(),
        };
        store
            .enqueue(
                &[item("incident-1-opened"), item("incident-2-opened")],
                1_000,
                None,
            )
            .unwrap();
    }
    let (status, v) = s.get("/api/v1/notifications").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let keys: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["incident-2-opened", "incident-1-opened"]);
    assert_eq!(v[0]["state"], "pending");
    assert_eq!(v[0]["next_attempt_at"], "1970-01-01T00:00:01Z");
    let (_, v) = s.get("/api/v1/notifications?limit=1").await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    s.stop();
}
