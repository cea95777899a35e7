//! A fake Lambda on 127.0.0.1:0 that speaks the REST paths the AWS SDK uses for the calls
//! `tern tune` makes (aws-sdk-lambda `operation/*/uri_base`, restJson1):
//!
//! - GetFunctionConfiguration: `GET /2015-03-31/functions/{name}/configuration[?Qualifier=v]`
//! - UpdateFunctionConfiguration: `PUT /2015-03-31/functions/{name}/configuration`
//! - PublishVersion: `POST /2015-03-31/functions/{name}/versions`
//! - Invoke: `POST /2015-03-31/functions/{name}/invocations?Qualifier=v` with
//!   `X-Amz-Log-Type: Tail`; answers `X-Amz-Log-Result` (base64 of a log tail ending in a
//!   REPORT line), `X-Amz-Executed-Version`, and `X-Amz-Function-Error` for failures.
//! - DeleteFunction (a version): `DELETE /2015-03-31/functions/{name}?Qualifier=v`
//!
//! Durations follow a known model, `d(m) = fixed + work / cpu(m)` with `cpu(m) = m / 1769`
//! (vCPUs; 1,769 MB is one), times `1 + noise` with a deterministic noise in ±`noise`. An
//! update is `InProgress` for one poll, then `Successful`. Every call is recorded, and every
//! memory size `$LATEST` takes, so tests can check what was changed and what was restored.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Value};

/// The duration model.
#[derive(Debug, Clone)]
pub struct Model {
    pub fixed_ms: f64,
    /// Work in ms at one full vCPU.
    pub work_ms: f64,
    /// Relative noise amplitude (0.02: ±2 %).
    pub noise: f64,
    pub init_ms: f64,
    /// Every invoke at this memory size fails with `X-Amz-Function-Error: Unhandled`.
    pub fail_at_mb: Option<u32>,
    /// An update to this memory size ends with `LastUpdateStatus: Failed` (the size stays
    /// set until the next update, so the restore has to mend it).
    pub update_fail_at_mb: Option<u32>,
    /// Each invoke takes this long to answer (for interrupting a run).
    pub invoke_delay: Duration,
}

impl Model {
    /// The noiseless duration at `memory_mb`.
    pub fn duration(&self, memory_mb: u32) -> f64 {
        self.fixed_ms + self.work_ms * 1769.0 / f64::from(memory_mb)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub memory_mb: u32,
    pub env: BTreeMap<String, String>,
    pub arch: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
}

#[derive(Debug, Default)]
pub struct State {
    pub name: String,
    pub latest: Option<Config>,
    /// Polls left while an update is in progress.
    pub in_progress: u32,
    /// The last update failed.
    pub update_failed: bool,
    /// Invokes being answered now, and the most at once.
    pub in_flight: u32,
    pub max_in_flight: u32,
    pub versions: BTreeMap<u32, Config>,
    pub next_version: u32,
    pub deleted: Vec<u32>,
    /// Every MemorySize `$LATEST` had, in order (the first is the original).
    pub memory_history: Vec<u32>,
    pub calls: Vec<Call>,
    /// Invokes per version (the first of a version is a cold start).
    pub invokes: BTreeMap<u32, u32>,
    /// Invokes at each memory size.
    pub invokes_by_memory: BTreeMap<u32, u32>,
    pub payloads: Vec<String>,
    counter: u64,
}

pub struct FakeLambda {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    /// A second function (`--arch-twin`), on arm64, when started with one.
    pub twin: Option<Arc<Mutex<State>>>,
}

fn function(name: &str, memory_mb: u32, env: &[(&str, &str)], arch: &str) -> Arc<Mutex<State>> {
    Arc::new(Mutex::new(State {
        name: name.to_string(),
        latest: Some(Config {
            memory_mb,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            arch: arch.into(),
            description: String::new(),
        }),
        memory_history: vec![memory_mb],
        next_version: 1,
        ..State::default()
    }))
}

impl FakeLambda {
    pub fn start(name: &str, memory_mb: u32, env: &[(&str, &str)], model: Model) -> FakeLambda {
        Self::start_with(name, memory_mb, env, model, None)
    }

    /// With a twin function `twin` on arm64 (same memory and variables).
    pub fn start_with(
        name: &str,
        memory_mb: u32,
        env: &[(&str, &str)],
        model: Model,
        twin: Option<&str>,
    ) -> FakeLambda {
        let state = function(name, memory_mb, env, "x86_64");
        let twin = twin.map(|t| function(t, memory_mb, env, "arm64"));
        let functions: Arc<Vec<Arc<Mutex<State>>>> = Arc::new(
            [Some(state.clone()), twin.clone()]
                .into_iter()
                .flatten()
                .collect(),
        );
        let model = Arc::new(model);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let (functions, model) = (functions.clone(), model.clone());
                    async move { handle(functions, model, method, uri, headers, body).await }
                };
                let app = axum::Router::new().route("/{*path}", axum::routing::any(handler));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let _ = axum::serve(listener, app).await;
            });
        });
        let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        FakeLambda { addr, state, twin }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn with<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().unwrap())
    }

    /// Calls that change something (everything but GET).
    pub fn mutating_calls(&self) -> Vec<Call> {
        self.with(|s| {
            s.calls
                .iter()
                .filter(|c| c.method != "GET")
                .cloned()
                .collect()
        })
    }
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({ "message": message, "Type": "User" })),
    )
        .into_response();
    r.headers_mut()
        .insert("x-amzn-ErrorType", HeaderValue::from_str(kind).unwrap());
    r
}

fn config_json(name: &str, c: &Config, version: &str, updating: bool) -> Value {
    config_json_status(
        name,
        c,
        version,
        if updating { "InProgress" } else { "Successful" },
    )
}

fn config_json_status(name: &str, c: &Config, version: &str, status: &str) -> Value {
    json!({
        "FunctionName": name,
        "FunctionArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{name}:{version}"),
        "Runtime": "python3.13",
        "Handler": "app.handler",
        "MemorySize": c.memory_mb,
        "Timeout": 30,
        "Version": version,
        "Description": c.description,
        "Architectures": [c.arch],
        "Environment": { "Variables": c.env },
        "State": "Active",
        "LastUpdateStatus": status,
        "LastUpdateStatusReason": if status == "Failed" { "EniLimitExceeded: injected" } else { "" },
        // An unknown field, as AWS adds them: the SDK must ignore it.
        "SomethingNew": {"x": 1}
    })
}

fn qualifier(uri: &Uri) -> Option<String> {
    uri.query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("Qualifier="))
        .map(str::to_string)
}

async fn handle(
    functions: Arc<Vec<Arc<Mutex<State>>>>,
    model: Arc<Model>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_invoke = uri.path().ends_with("/invocations");
    // The function the path names (the first one when none matches: it answers 404).
    let named = uri.path().split('/').nth(3).unwrap_or("").to_string();
    let state = functions
        .iter()
        .find(|f| f.lock().unwrap().name == named)
        .unwrap_or(&functions[0]);
    let r = answer(state, &model, method, uri, headers, body);
    if is_invoke {
        {
            let mut s = state.lock().unwrap();
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
        }
        tokio::time::sleep(model.invoke_delay).await;
        state.lock().unwrap().in_flight -= 1;
    }
    r
}

fn answer(
    state: &Mutex<State>,
    model: &Model,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let q = qualifier(&uri);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (name, tail) = match parts.as_slice() {
        ["2015-03-31", "functions", name, rest @ ..] => (name.to_string(), rest.join("/")),
        _ => return error(404, "UnknownOperationException", "no such path"),
    };
    let mut guard = state.lock().unwrap();
    let s = &mut *guard;
    s.calls.push(Call {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or("").to_string(),
    });
    if name != s.name {
        return error(404, "ResourceNotFoundException", "Function not found");
    }
    match (method.as_str(), tail.as_str()) {
        ("GET", "configuration") => {
            let fname = s.name.clone();
            match q.as_deref() {
                None | Some("$LATEST") => {
                    let status = if s.in_progress > 0 {
                        "InProgress"
                    } else if s.update_failed {
                        "Failed"
                    } else {
                        "Successful"
                    };
                    s.in_progress = s.in_progress.saturating_sub(1);
                    let c = s.latest.clone().unwrap();
                    axum::Json(config_json_status(&fname, &c, "$LATEST", status)).into_response()
                }
                Some(v) => match v.parse::<u32>().ok().and_then(|v| s.versions.get(&v)) {
                    Some(c) => axum::Json(config_json(&fname, c, v, false)).into_response(),
                    None => error(404, "ResourceNotFoundException", "no such version"),
                },
            }
        }
        ("PUT", "configuration") => {
            if s.in_progress > 0 {
                return error(
                    409,
                    "ResourceConflictException",
                    "An update is in progress for resource",
                );
            }
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let c = s.latest.as_mut().unwrap();
            if let Some(m) = v.get("MemorySize").and_then(Value::as_u64) {
                c.memory_mb = m as u32;
            }
            if let Some(vars) = v.get("Environment") {
                c.env = vars
                    .get("Variables")
                    .and_then(Value::as_object)
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
            }
            let c = c.clone();
            s.memory_history.push(c.memory_mb);
            s.in_progress = 1;
            s.update_failed = model.update_fail_at_mb == Some(c.memory_mb);
            let fname = s.name.clone();
            axum::Json(config_json(&fname, &c, "$LATEST", true)).into_response()
        }
        ("POST", "versions") => {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let mut c = s.latest.clone().unwrap();
            // Like Lambda: nothing changed since the latest version → that version again.
            if let Some((n, last)) = s.versions.iter().next_back() {
                if last.memory_mb == c.memory_mb && last.env == c.env {
                    let fname = s.name.clone();
                    return axum::Json(config_json(&fname, last, &n.to_string(), false))
                        .into_response();
                }
            }
            c.description = v
                .get("Description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let n = s.next_version;
            s.next_version += 1;
            s.versions.insert(n, c.clone());
            let fname = s.name.clone();
            let mut r = axum::Json(config_json(&fname, &c, &n.to_string(), false)).into_response();
            *r.status_mut() = StatusCode::CREATED;
            r
        }
        ("DELETE", "") => match q.as_deref().and_then(|v| v.parse::<u32>().ok()) {
            Some(v) if s.versions.remove(&v).is_some() => {
                s.deleted.push(v);
                StatusCode::NO_CONTENT.into_response()
            }
            Some(_) => error(404, "ResourceNotFoundException", "no such version"),
            None => error(
                400,
                "InvalidParameterValueException",
                "tern must never delete the function",
            ),
        },
        ("POST", "invocations") => {
            let Some(version) = q.as_deref().and_then(|v| v.parse::<u32>().ok()) else {
                return error(
                    400,
                    "InvalidParameterValueException",
                    "tune invokes versions",
                );
            };
            let Some(c) = s.versions.get(&version).cloned() else {
                return error(404, "ResourceNotFoundException", "no such version");
            };
            let tail_wanted = headers
                .get("x-amz-log-type")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"Tail"));
            let count = s.invokes.entry(version).or_insert(0);
            *count += 1;
            let cold = *count == 1;
            *s.invokes_by_memory.entry(c.memory_mb).or_insert(0) += 1;
            s.payloads.push(String::from_utf8_lossy(&body).into_owned());
            s.counter += 1;
            // Deterministic noise in [-1, 1] from the invocation counter (an LCG step).
            let x = s
                .counter
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0;
            let d = model.duration(c.memory_mb) * (1.0 + model.noise * u);
            let init = cold.then_some(model.init_ms);
            let billed = (d + init.unwrap_or(0.0)).ceil();
            let rid = format!("00000000-0000-4000-8000-{:012x}", s.counter);
            let fail = model.fail_at_mb == Some(c.memory_mb);
            let mut tail = format!("START RequestId: {rid} Version: {version}\n");
            if fail {
                tail.push_str(&format!(
                    "[ERROR] MemoryError\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line 3, in handler\nEND RequestId: {rid}\n"
                ));
            } else {
                tail.push_str(&format!(
                    "2026-03-01T00:00:00.000Z\t{rid}\tINFO\tdone\nEND RequestId: {rid}\n"
                ));
            }
            tail.push_str(&format!(
                "REPORT RequestId: {rid}\tDuration: {d:.2} ms\tBilled Duration: {billed:.0} ms\tMemory Size: {} MB\tMax Memory Used: 70 MB\t",
                c.memory_mb
            ));
            if let Some(i) = init {
                tail.push_str(&format!("Init Duration: {i:.2} ms\t"));
            }
            tail.push('\n');
            let body = if fail {
                json!({"errorMessage": "", "errorType": "MemoryError"}).to_string()
            } else {
                "{\"ok\":true}".to_string()
            };
            let mut r = (StatusCode::OK, body).into_response();
            let h = r.headers_mut();
            h.insert(
                "X-Amz-Executed-Version",
                HeaderValue::from_str(&version.to_string()).unwrap(),
            );
            if tail_wanted {
                let b64 = base64::engine::general_purpose::STANDARD.encode(tail);
                h.insert("X-Amz-Log-Result", HeaderValue::from_str(&b64).unwrap());
            }
            if fail {
                h.insert(
                    "X-Amz-Function-Error",
                    HeaderValue::from_static("Unhandled"),
                );
            }
            r
        }
        _ => error(
            400,
            "UnknownOperationException",
            &format!("{method} {path}"),
        ),
    }
}
