//! `tern pull` end to end against the moto server (an AWS emulator on 127.0.0.1): create an
//! IAM role, Lambda functions and log groups, put the simulator's events with PutLogEvents,
//! pull them with the real binary, and check the report against the simulator's truth.
//!
//! moto's URL comes from `TERN_TEST_MOTO_URL` (default `http://127.0.0.1:5000`; start it with
//! `.ci/moto.sh`). When moto is not running, the moto tests fail if `TERN_REQUIRE_SERVICES=1`
//! (CI), and otherwise say loudly on stderr that they were skipped.
//!
//! Tests run in parallel against one moto and never reset it: every test names its functions
//! with a prefix unique to the run and the test. Nothing here talks to anything but 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/firehose.rs"]
mod firehose;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, FunctionCode, Runtime};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use serde_json::Value;

const ROLE: &str = "tern-test-lambda-role";

fn moto_url() -> String {
    std::env::var("TERN_TEST_MOTO_URL").unwrap_or_else(|_| "http://127.0.0.1:5000".into())
}

/// Whether moto answers. Absent: fail under `TERN_REQUIRE_SERVICES=1`, else skip loudly.
fn moto_or_skip(test: &str) -> Option<String> {
    let url = moto_url();
    let up = ureq::get(&format!("{url}/moto-api/")).call().is_ok();
    if up {
        return Some(url);
    }
    if std::env::var("TERN_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!(
            "moto is not running at {url} and TERN_REQUIRE_SERVICES=1: start it with .ci/moto.sh"
        );
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: moto not running at {url} ({test}); start it with .ci/moto.sh"
    );
    None
}

/// A name prefix unique to this run and test (moto is shared and never reset).
fn prefix(test: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!(
        "{test}{}x{}",
        std::process::id() % 100_000,
        t.as_millis() % 10_000_000
    )
}

/// The tern binary with test credentials and no user AWS configuration: never real AWS.
fn tern() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.env_remove("TERN_DB")
        .env_remove("TERN_CONFIG")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/tern-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/tern-test/credentials",
        );
    c
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn pull(db: &Path, url: &str, extra: &[&str]) -> Output {
    tern()
        .args(["pull", "--quiet", "--endpoint-url", url, "--db"])
        .arg(db)
        .args(extra)
        .output()
        .unwrap()
}

fn report(db: &Path, glob: &str) -> Value {
    let out = ok(
        tern()
            .args(["report", "--format", "json", "--function", glob, "--db"])
            .arg(db)
            .output()
            .unwrap(),
        "report",
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

// ---------------------------------------------------------------------------------------------
// moto setup through the SDK (the same lean, ring-based client as the binary).

struct Aws {
    rt: tokio::runtime::Runtime,
    logs: aws_sdk_cloudwatchlogs::Client,
    lambda: aws_sdk_lambda::Client,
    url: String,
}

impl Aws {
    fn new(url: &str) -> Aws {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let sdk = rt.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(http)
                .region(Region::new("us-east-1"))
                .endpoint_url(url)
                .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                    "test", "test", None, None, "test",
                ))
                .load(),
        );
        let aws = Aws {
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            rt,
            url: url.to_string(),
        };
        aws.ensure_role();
        aws
    }

    /// moto wants the execution role to exist before CreateFunction. IAM through its query
    /// API (no IAM SDK crate in the build); "already exists" is fine.
    fn ensure_role(&self) {
        let auth = "AWS4-HMAC-SHA256 Credential=test/20261127/us-east-1/iam/aws4_request, \
                    SignedHeaders=host, Signature=0";
        let body = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName={ROLE}&AssumeRolePolicyDocument={}",
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D"
        );
        let _ = ureq::post(&format!("{}/", self.url))
            .header("Authorization", auth)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body.as_str());
    }

    fn create_function(&self, name: &str, runtime: &str, arch: &str, timeout_s: i32, memory: i32) {
        // The smallest valid zip: an empty archive (moto never runs it).
        let mut zip = b"PK\x05\x06".to_vec();
        zip.extend([0u8; 18]);
        self.rt
            .block_on(
                self.lambda
                    .create_function()
                    .function_name(name)
                    .runtime(Runtime::from(runtime))
                    .role(format!("arn:aws:iam::123456789012:role/{ROLE}"))
                    .handler("index.handler")
                    .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
                    .timeout(timeout_s)
                    .memory_size(memory)
                    .architectures(Architecture::from(arch))
                    .send(),
            )
            .unwrap_or_else(|e| {
                panic!(
                    "create_function {name}: {}",
                    aws_sdk_lambda::error::DisplayErrorContext(&e)
                )
            });
    }

    fn create_log_group(&self, group: &str) {
        self.rt
            .block_on(self.logs.create_log_group().log_group_name(group).send())
            .unwrap();
    }

    fn put_retention(&self, group: &str, days: i32) {
        self.rt
            .block_on(
                self.logs
                    .put_retention_policy()
                    .log_group_name(group)
                    .retention_in_days(days)
                    .send(),
            )
            .unwrap();
    }

    fn delete_log_group(&self, group: &str) {
        self.rt
            .block_on(self.logs.delete_log_group().log_group_name(group).send())
            .unwrap();
    }

    /// Put events (timestamp, message) into a stream, creating it; chronological batches of
    /// at most 10,000 events and 1 MB, as PutLogEvents requires.
    fn put(&self, group: &str, stream: &str, mut events: Vec<(i64, String)>) {
        let _ = self.rt.block_on(
            self.logs
                .create_log_stream()
                .log_group_name(group)
                .log_stream_name(stream)
                .send(),
        );
        events.sort_by_key(|e| e.0);
        let mut batch = Vec::new();
        let mut bytes = 0;
        let flush = |batch: &mut Vec<InputLogEvent>| {
            if batch.is_empty() {
                return;
            }
            let out = self
                .rt
                .block_on(
                    self.logs
                        .put_log_events()
                        .log_group_name(group)
                        .log_stream_name(stream)
                        .set_log_events(Some(std::mem::take(batch)))
                        .send(),
                )
                .unwrap_or_else(|e| {
                    panic!(
                        "put_log_events {group}: {}",
                        aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e)
                    )
                });
            assert!(
                out.rejected_log_events_info.is_none(),
                "moto rejected events in {group}/{stream}: {:?}",
                out.rejected_log_events_info
            );
        };
        for (ts, msg) in events {
            let size = msg.len() + 26;
            if batch.len() == 10_000 || bytes + size > 1_000_000 {
                flush(&mut batch);
                bytes = 0;
            }
            bytes += size;
            batch.push(
                InputLogEvent::builder()
                    .timestamp(ts)
                    .message(msg)
                    .build()
                    .unwrap(),
            );
        }
        flush(&mut batch);
    }
}

// ---------------------------------------------------------------------------------------------
// Simulated fleets, renamed with the test's prefix.

struct Sim {
    truth: Value,
    /// log group → stream → events.
    events: BTreeMap<String, BTreeMap<String, Vec<(i64, String)>>>,
}

fn simulate(dir: &Path, pfx: &str, functions: usize, seed: u64, start: &str) -> Sim {
    let out = dir.join(format!("sim{seed}"));
    ok(
        tern()
            .args(["simulate", "--out"])
            .arg(&out)
            .args(["--functions", &functions.to_string(), "--days", "1"])
            .args(["--seed", &seed.to_string(), "--start", start])
            .args(["--invocations-per-day", "40"])
            .output()
            .unwrap(),
        "simulate",
    );
    let mut truth: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(".truth.json")).unwrap()).unwrap();
    for f in truth["functions"].as_array_mut().unwrap() {
        let name = format!("{pfx}-{}", f["name"].as_str().unwrap());
        f["name"] = name.into();
    }
    let mut events: BTreeMap<String, BTreeMap<String, Vec<(i64, String)>>> = BTreeMap::new();
    for file in files(&out) {
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let group = v["logGroupName"].as_str().unwrap();
            let name = group
                .strip_prefix("/aws/lambda/")
                .expect("default log group");
            events
                .entry(format!("/aws/lambda/{pfx}-{name}"))
                .or_default()
                .entry(v["logStreamName"].as_str().unwrap().to_string())
                .or_default()
                .push((
                    v["timestamp"].as_i64().unwrap(),
                    v["message"].as_str().unwrap().to_string(),
                ));
        }
    }
    Sim { truth, events }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.extension().is_some_and(|x| x == "jsonl") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn put_sim(aws: &Aws, sim: &Sim, create: bool) {
    if create {
        for f in sim.truth["functions"].as_array().unwrap() {
            let sizes = f["memory_sizes_mb"].as_array().unwrap();
            aws.create_function(
                f["name"].as_str().unwrap(),
                f["runtime"].as_str().unwrap(),
                f["architecture"].as_str().unwrap(),
                f["timeout_s"].as_i64().unwrap() as i32,
                sizes.last().and_then(Value::as_i64).unwrap_or(128) as i32,
            );
            aws.create_log_group(&format!("/aws/lambda/{}", f["name"].as_str().unwrap()));
        }
    }
    for (group, streams) in &sim.events {
        for (stream, events) in streams {
            aws.put(group, stream, events.clone());
        }
    }
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn x(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-9)
}

/// The report agrees with the sum of the truths, function by function.
fn check_against_truth(report: &Value, truths: &[&Value]) {
    let functions = report["functions"].as_array().unwrap();
    let mut expected: BTreeMap<String, [f64; 6]> = BTreeMap::new();
    let mut meta: BTreeMap<String, (Value, u64)> = BTreeMap::new();
    for t in truths {
        for f in t["functions"].as_array().unwrap() {
            let e = expected
                .entry(f["name"].as_str().unwrap().into())
                .or_default();
            e[0] += x(&f["invocations"]);
            e[1] += x(&f["errors"]);
            e[2] += x(&f["cold_starts"]);
            e[3] += x(&f["environments"]);
            e[4] += x(&f["billed_ms"]) + x(&f["billed_restore_ms"]);
            e[5] += x(&f["gb_seconds"]) + x(&f["restore_gb_seconds"]);
            meta.insert(
                f["name"].as_str().unwrap().into(),
                (f["architecture"].clone(), n(&f["timeout_s"]) * 1000),
            );
        }
    }
    for (name, e) in &expected {
        let f = functions
            .iter()
            .find(|f| f["function"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} missing from the report: {report:#}"));
        assert_eq!(n(&f["invocations"]), e[0] as u64, "{name} invocations");
        assert_eq!(n(&f["errors"]), e[1] as u64, "{name} errors");
        assert_eq!(n(&f["cold_starts"]), e[2] as u64, "{name} cold starts");
        assert_eq!(n(&f["environments"]), e[3] as u64, "{name} environments");
        assert!(
            close(x(&f["billed_duration_ms"]), e[4]),
            "{name} billed {} vs {}",
            f["billed_duration_ms"],
            e[4]
        );
        assert!(close(x(&f["gb_seconds"]), e[5]), "{name} GB-s");
        // From the inventory, not the logs.
        let (arch, timeout_ms) = &meta[name];
        assert_eq!(&f["architecture"], arch, "{name} architecture");
        assert_eq!(n(&f["timeout_ms"]), *timeout_ms, "{name} timeout");
    }
}

fn stored_line(o: &Output) -> u64 {
    // "… in 1.2 s: 123 invocations stored, …"
    let s = stderr(o);
    let before = s
        .split(" invocations stored")
        .next()
        .unwrap_or_else(|| panic!("no summary line: {s}"));
    before
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no count in the summary line: {s}"))
}

#[test]
fn pull_matches_truth_resumes_without_duplicates_and_lists_idle_functions() {
    let Some(url) = moto_or_skip("pull_matches_truth") else {
        return;
    };
    let aws = Aws::new(&url);
    let pfx = prefix("p");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    // Re-read three days on every pull, so events put late (with older timestamps) are found.
    let config = dir.path().join("tern.toml");
    std::fs::write(&config, "[pull]\nlookback = \"3d\"\n").unwrap();
    let config = config.to_str().unwrap();
    let glob = format!("{pfx}-*");

    // A day of traffic, two to three days ago; and a function that never ran.
    let first = simulate(dir.path(), &pfx, 4, 11, "3d");
    put_sim(&aws, &first, true);
    let idle = format!("{pfx}-idle");
    aws.create_function(&idle, "python3.12", "arm64", 42, 256);
    // One log group keeps 14 days; the others never expire.
    let groups: Vec<(String, String)> = first.truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let name = f["name"].as_str().unwrap().to_string();
            let group = format!("/aws/lambda/{name}");
            (name, group)
        })
        .collect();
    aws.put_retention(&groups[0].1, 14);

    let out = ok(
        pull(
            &db,
            &url,
            &["--config", config, "--since", "4d", "--function", &glob],
        ),
        "first pull",
    );
    let stored = stored_line(&out);
    assert_eq!(
        stored,
        n(&first.truth["totals"]["invocations"]),
        "{}",
        stderr(&out)
    );
    let r1 = report(&db, &glob);
    check_against_truth(&r1, &[&first.truth]);
    let idle_row = r1["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == idle.as_str())
        .unwrap_or_else(|| panic!("the idle function is not in the report: {r1:#}"));
    assert_eq!(n(&idle_row["invocations"]), 0);
    assert_eq!(idle_row["architecture"], "arm64");
    assert_eq!(n(&idle_row["timeout_ms"]), 42_000);
    assert!(
        stderr(&out).contains("do not exist"),
        "the idle function has no log group: {}",
        stderr(&out)
    );

    // The inventory read the retention: insights name the groups that never expire, and the
    // function that never ran.
    let out = ok(
        tern()
            .args(["insights", "--format", "json", "--function", &glob, "--db"])
            .arg(&db)
            .args(["--rule", "logs.no_retention,function.inactive"])
            .output()
            .unwrap(),
        "insights",
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let named = |rule: &str| -> Vec<String> {
        let mut f: Vec<String> = v["insights"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["rule"] == rule)
            .map(|i| i["function"].as_str().unwrap().to_string())
            .collect();
        f.sort();
        f
    };
    let mut never: Vec<String> = groups[1..].iter().map(|(f, _)| f.clone()).collect();
    never.sort();
    assert_eq!(named("logs.no_retention"), never, "{v:#}");
    assert_eq!(
        named("function.inactive"),
        std::slice::from_ref(&idle),
        "{v:#}"
    );

    // Pulling again stores nothing new and changes nothing.
    let again = ok(
        pull(&db, &url, &["--config", config, "--function", &glob]),
        "second pull",
    );
    assert_eq!(stored_line(&again), 0, "{}", stderr(&again));
    assert_eq!(report(&db, &glob), r1);

    // More traffic arrives (a later day, new streams): the next pull adds exactly it.
    let second = simulate(dir.path(), &pfx, 4, 12, "30h");
    put_sim(&aws, &second, false);
    let third = ok(
        pull(&db, &url, &["--config", config, "--function", &glob]),
        "third pull",
    );
    assert_eq!(
        stored_line(&third),
        n(&second.truth["totals"]["invocations"]),
        "{}",
        stderr(&third)
    );
    check_against_truth(&report(&db, &glob), &[&first.truth, &second.truth]);
}

/// START, END and REPORT lines of `count` invocations, a minute apart, from `t0`.
fn invocations(t0: i64, count: usize) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for i in 0..count {
        let rid = format!("00000000-0000-4000-8000-{i:012}");
        let t = t0 + i as i64 * 60_000;
        out.push((t, format!("START RequestId: {rid} Version: $LATEST\n")));
        out.push((t + 5, format!("END RequestId: {rid}\n")));
        out.push((
            t + 6,
            format!(
                "REPORT RequestId: {rid}\tDuration: 4.20 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n"
            ),
        ));
    }
    out
}

#[test]
fn a_deleted_log_group_is_warned_about_and_the_others_are_pulled() {
    let Some(url) = moto_or_skip("a_deleted_log_group") else {
        return;
    };
    let aws = Aws::new(&url);
    let pfx = prefix("d");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    for (name, count) in [("kept", 5), ("gone", 3)] {
        let f = format!("{pfx}-{name}");
        aws.create_function(&f, "nodejs22.x", "x86_64", 10, 128);
        let g = format!("/aws/lambda/{f}");
        aws.create_log_group(&g);
        aws.put(
            &g,
            "2026/11/27/[$LATEST]00112233445566778899aabbccddeeff",
            invocations(t0, count),
        );
    }
    aws.delete_log_group(&format!("/aws/lambda/{pfx}-gone"));

    let glob = format!("{pfx}-*");
    let out = ok(
        pull(&db, &url, &["--since", "2h", "--function", &glob]),
        "pull",
    );
    let err = stderr(&out);
    assert!(
        err.contains("Log group not found") && err.contains(&format!("/aws/lambda/{pfx}-gone")),
        "{err}"
    );
    assert_eq!(stored_line(&out), 5, "{err}");
    let r = report(&db, &glob);
    let row = |name: &str| {
        r["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["function"] == format!("{pfx}-{name}").as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in {r:#}"))
    };
    assert_eq!(n(&row("kept")["invocations"]), 5);
    assert_eq!(n(&row("gone")["invocations"]), 0);
}

#[test]
fn bad_flags_and_unreachable_endpoints_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let fails = |args: &[&str], env_region: Option<&str>, needle: &str| {
        let mut c = tern();
        c.args(["pull", "--quiet", "--db"]).arg(&db).args(args);
        match env_region {
            Some(r) => c.env("AWS_REGION", r),
            None => c.env_remove("AWS_REGION").env_remove("AWS_DEFAULT_REGION"),
        };
        let out = c.output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    };
    fails(
        &["--endpoint-url", "ftp://127.0.0.1:5000"],
        Some("us-east-1"),
        "--endpoint-url",
    );
    fails(
        &[
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--region",
            "US EAST",
        ],
        Some("us-east-1"),
        "--region",
    );
    fails(
        &["--endpoint-url", "http://127.0.0.1:9"],
        None,
        "no AWS region",
    );
    // Nothing listens on port 9 (discard) here: connection refused, retried, then a clear error.
    fails(
        &["--endpoint-url", "http://127.0.0.1:9"],
        Some("us-east-1"),
        "ListFunctions in default/us-east-1 failed",
    );
    fails(
        &["--config", "/nonexistent/tern.toml"],
        Some("us-east-1"),
        "/nonexistent/tern.toml",
    );
}

fn filters(aws: &Aws, group: &str) -> Vec<(String, String)> {
    let out = aws
        .rt
        .block_on(
            aws.logs
                .describe_subscription_filters()
                .log_group_name(group)
                .send(),
        )
        .unwrap();
    let mut v: Vec<_> = out
        .subscription_filters()
        .iter()
        .map(|f| {
            (
                f.filter_name().unwrap_or("").to_string(),
                f.destination_arn().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn setup_subscriptions_plans_applies_and_leaves_other_filters_alone() {
    let Some(url) = moto_or_skip("setup_subscriptions") else {
        return;
    };
    let aws = Aws::new(&url);
    let pfx = prefix("s");
    let arn = |f: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:{pfx}-{f}");
    for f in ["dest", "old", "a", "b", "never"] {
        aws.create_function(&format!("{pfx}-{f}"), "python3.12", "x86_64", 3, 128);
    }
    let (ga, gb) = (
        format!("/aws/lambda/{pfx}-a"),
        format!("/aws/lambda/{pfx}-b"),
    );
    aws.create_log_group(&ga);
    aws.create_log_group(&gb);
    let put = |group: &str, name: &str, dest: &str| {
        aws.rt
            .block_on(
                aws.logs
                    .put_subscription_filter()
                    .log_group_name(group)
                    .filter_name(name)
                    .filter_pattern("")
                    .destination_arn(dest)
                    .send(),
            )
            .unwrap();
    };
    put(&ga, "theirs", &arn("old"));
    put(&gb, "tern", &arn("old"));

    let glob = format!("{pfx}-*");
    let dest = arn("dest");
    let setup = |apply: bool| {
        let mut c = tern();
        c.args(["setup", "subscriptions", "--endpoint-url", &url])
            .args(["--destination-arn", &dest, "--function", &glob]);
        if apply {
            c.arg("--apply");
        }
        let out = ok(c.output().unwrap(), "setup subscriptions");
        String::from_utf8(out.stdout).unwrap()
    };
    let line = |plan: &str, group: &str| -> String {
        plan.lines()
            .find(|l| l.starts_with(&format!("{group} ")))
            .unwrap_or_else(|| panic!("{group} not in the plan:\n{plan}"))
            .to_string()
    };

    let plan = setup(false);
    let a = line(&plan, &ga);
    assert!(
        a.contains("create") && a.contains("other filters left as they are: theirs"),
        "{a}"
    );
    let b = line(&plan, &gb);
    assert!(
        b.contains("update") && b.contains(&format!("destination {}", arn("old"))),
        "{b}"
    );
    assert!(
        line(&plan, &format!("/aws/lambda/{pfx}-never")).contains("skip"),
        "{plan}"
    );
    assert!(plan.contains("plan only: nothing was changed"), "{plan}");
    assert_eq!(filters(&aws, &ga), [("theirs".to_string(), arn("old"))]);

    let applied = setup(true);
    assert!(line(&applied, &ga).contains("→ done"), "{applied}");
    assert!(line(&applied, &gb).contains("→ done"), "{applied}");
    assert_eq!(
        filters(&aws, &ga),
        [
            ("tern".to_string(), dest.clone()),
            ("theirs".to_string(), arn("old"))
        ]
    );
    assert_eq!(filters(&aws, &gb), [("tern".to_string(), dest.clone())]);

    let again = setup(false);
    assert!(line(&again, &ga).contains("unchanged"), "{again}");
    assert!(line(&again, &gb).contains("unchanged"), "{again}");
}

#[test]
fn setup_subscriptions_validates_arns_and_prints_the_account_policy() {
    let run = |args: &[&str]| {
        tern()
            .args([
                "setup",
                "subscriptions",
                "--endpoint-url",
                "http://127.0.0.1:9",
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--destination-arn", "arn:aws:s3:::bucket"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--destination-arn"),
        "{}",
        stderr(&out)
    );
    let firehose = "arn:aws:firehose:us-east-1:123456789012:deliverystream/tern";
    let out = run(&["--destination-arn", firehose]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("needs --role-arn"),
        "{}",
        stderr(&out)
    );
    // The account policy plan needs no AWS call.
    let out = ok(
        run(&[
            "--destination-arn",
            firehose,
            "--role-arn",
            "arn:aws:iam::123456789012:role/cwl",
            "--account-policy",
        ]),
        "account policy plan",
    );
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("SUBSCRIPTION_FILTER_POLICY"), "{s}");
    assert!(s.contains(r#""DestinationArn":"arn:aws:firehose"#), "{s}");
    assert!(s.contains("plan only"), "{s}");
}

#[test]
fn follow_keeps_polling_and_sigterm_stops_it_cleanly() {
    let Some(url) = moto_or_skip("follow_sigterm") else {
        return;
    };
    let aws = Aws::new(&url);
    let pfx = prefix("f");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let f = format!("{pfx}-live");
    aws.create_function(&f, "python3.12", "x86_64", 10, 128);
    let g = format!("/aws/lambda/{f}");
    aws.create_log_group(&g);
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    aws.put(
        &g,
        "2026/11/27/[$LATEST]ffeeddccbbaa99887766554433221100",
        invocations(t0, 4),
    );

    let glob = format!("{pfx}-*");
    let child = tern()
        .args(["pull", "--follow", "--since", "2h", "--endpoint-url", &url])
        .args(["--function", &glob, "--db"])
        .arg(&db)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first poll is stored (the report reads the database while pull runs).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let stored = |db: &Path| -> u64 {
        if !db.exists() {
            return 0;
        }
        let out = tern()
            .args(["report", "--format", "json", "--function", &glob, "--db"])
            .arg(db)
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|r| r["totals"]["invocations"].as_u64())
            .unwrap_or(0)
    };
    while stored(&db) < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing pulled within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{}: {err}", out.status);
    assert!(err.contains("stopping after the batch in hand"), "{err}");
    assert_eq!(stored(&db), 4);
}

/// `tern serve` with `[[accounts]]` runs the inventory and the pull loop itself, and
/// what it pulls is served by the API; its pull figures are on `/metrics`.
#[test]
fn serve_pulls_configured_accounts_and_serves_the_data() {
    use std::io::BufRead as _;
    let Some(url) = moto_or_skip("serve_pulls") else {
        return;
    };
    let aws = Aws::new(&url);
    let pfx = prefix("s");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let f = format!("{pfx}-served");
    aws.create_function(&f, "nodejs22.x", "arm64", 15, 512);
    let g = format!("/aws/lambda/{f}");
    aws.create_log_group(&g);
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 1_800_000;
    aws.put(
        &g,
        "2026/11/27/[$LATEST]00112233445566778899aabbccddeeff",
        invocations(t0, 5),
    );
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "[pull]\nsince = \"2h\"\npoll = \"1s\"\n\n[inventory]\nrefresh = \"10s\"\n\n\
             [[accounts]]\nname = \"moto\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{url}\"\n\
             functions = [\"{pfx}-*\"]\n"
        ),
    )
    .unwrap();
    let mut child = tern()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .env("TERN_API_TOKEN", "pull-test-token")
        .env("TERN_INGEST_KEY", "pull-test-key")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("tern serve exited before listening")
            .unwrap();
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.trim().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let get = |path: &str| -> Value {
        let body = ureq::get(&format!("http://{addr}{path}"))
            .header("Authorization", "Bearer pull-test-token")
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap();
        serde_json::from_str(&body).unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let served = loop {
        let v = get(&format!("/api/v1/functions?since=1d&function={pfx}-*"));
        let row = v["functions"]
            .as_array()
            .and_then(|fs| fs.iter().find(|r| r["function"] == f.as_str()).cloned());
        if let Some(row) = row.filter(|r| r["invocations"] == 5) {
            break row;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not pull 5 invocations within 40 s: {v:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    // The inventory ran first: architecture and timeout come from ListFunctions.
    assert_eq!(served["architecture"], "arm64");
    assert_eq!(n(&served["timeout_ms"]), 15_000);
    let metrics = ureq::get(&format!("http://{addr}/metrics"))
        .header("Authorization", "Bearer pull-test-token")
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("tern_pull_requests_total{account=\"moto\",region=\"us-east-1\"}"),
        "{metrics}"
    );
    assert!(metrics.contains(&format!("log_group=\"{g}\"")), "{metrics}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let log = rest.join().unwrap().join("\n");
    assert!(exit.success(), "{exit}: {log}");
}

// ---------------------------------------------------------------------------------------------
// Stateless collectors sharing one store.

/// A `tern serve` collector of the two-collector test.
fn collector(config: &Path, id: &str) -> firehose::Serve {
    let mut c = tern();
    c.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--collector-id",
        id,
        "--config",
    ])
    .arg(config)
    .env("TERN_API_TOKEN", firehose::API_TOKEN)
    .env("TERN_INGEST_KEY", firehose::INGEST_KEY);
    firehose::Serve::spawn(c)
}

/// The value of the one `/metrics` line that starts with `series` (name and labels).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l[series.len()..].trim().parse().ok())
}

fn metrics_of(s: &firehose::Serve) -> String {
    let mut r = firehose::agent()
        .get(&s.url("/metrics"))
        .header("Authorization", &format!("Bearer {}", firehose::API_TOKEN))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.body_mut().read_to_string().unwrap()
}

/// Poll `cond` for up to `within`; the last value it saw is in the panic message.
fn wait_until(within: std::time::Duration, what: &str, mut cond: impl FnMut() -> (bool, String)) {
    let started = std::time::Instant::now();
    loop {
        let (done, state) = cond();
        if done {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{what} within {within:?}; last: {state}"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// Two `tern serve` processes on loopback share one store, pushing (Firehose, some
/// requests delivered to both) and pulling (moto) at the same time. Every event is stored
/// exactly once, each log group is pulled by exactly one collector, the alert evaluator runs
/// in one collector only, and when that one stops the other takes over its log groups and
/// the evaluator.
///
/// Run over every backend the environment offers: SQLite (one file shared by both
/// processes) always; ClickHouse when `TERN_TEST_CLICKHOUSE_URL` is set, and skipped with a
/// message on stderr otherwise.
#[test]
fn two_collectors_share_one_store() {
    let Some(url) = moto_or_skip("two_collectors_share_one_store") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    two_collectors(
        &url,
        dir.path(),
        &format!("[store]\npath = {:?}\n", db.display().to_string()),
    );
    match std::env::var("TERN_TEST_CLICKHOUSE_URL") {
        Ok(ch) if !ch.is_empty() => {
            let database = format!("tern_test_{}", prefix("c"));
            let dir = tempfile::tempdir().unwrap();
            two_collectors(
                &url,
                dir.path(),
                &format!(
                    "[store]\nbackend = \"clickhouse\"\nurl = {ch:?}\ndatabase = {database:?}\n"
                ),
            );
        }
        _ => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: the ClickHouse run of two_collectors_share_one_store \
                 (set TERN_TEST_CLICKHOUSE_URL to a ClickHouse HTTP interface on 127.0.0.1)"
            );
        }
    }
}

fn two_collectors(moto: &str, dir: &Path, store: &str) {
    use std::time::Duration;
    let aws = Aws::new(moto);
    let pfx = prefix("c");
    // Pulled: six functions in moto, a day of traffic two to three days ago.
    let pulled = simulate(dir, &pfx, 6, 21, "3d");
    put_sim(&aws, &pulled, true);
    let groups = pulled.truth["functions"].as_array().unwrap().len() as f64;
    // Pushed: four other functions as Firehose delivers them.
    let logs = dir.join("pushed");
    ok(
        tern()
            .args(["simulate", "--format", "subscription", "--out"])
            .arg(&logs)
            .args(["--functions", "4", "--days", "1", "--seed", "22"])
            .args(["--invocations-per-day", "60", "--start", "3d"])
            .output()
            .unwrap(),
        "simulate pushed",
    );
    let pushed_truth: Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    let bodies = firehose::bodies(&firehose::corpus_records(&logs), 20, 1 << 20);
    assert!(
        bodies.len() >= 6,
        "enough requests to spread: {}",
        bodies.len()
    );

    let config = dir.join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "{store}\
             [cluster]\ncollectors = [\"a\", \"b\"]\nlease_ttl = \"9s\"\n\
             [retention]\nraw = \"forever\"\nrollups = \"forever\"\n\
             [pull]\nsince = \"4d\"\npoll = \"1s\"\n\
             [inventory]\nrefresh = \"10s\"\n\
             [alerts]\nevaluate_every = \"1s\"\n\
             [[accounts]]\nname = \"moto\"\nregions = [\"us-east-1\"]\nendpoint_url = {moto:?}\n\
             functions = [\"{pfx}-*\"]\n"
        ),
    )
    .unwrap();
    let a = collector(&config, "a");
    let b = collector(&config, "b");

    // Push while both pull: request i goes to collector i % 2, every third to both (a
    // Firehose retry that landed on the other collector behind the load balancer).
    std::thread::scope(|s| {
        for (t, chunk) in bodies.chunks(bodies.len().div_ceil(3)).enumerate() {
            let (a, b) = (&a, &b);
            s.spawn(move || {
                let agent = firehose::agent();
                for (i, body) in chunk.iter().enumerate() {
                    let rid = format!("t{t}-{i}");
                    let targets: Vec<&firehose::Serve> = match i % 3 {
                        0 => vec![a, b],
                        1 => vec![a],
                        _ => vec![b],
                    };
                    for c in targets {
                        firehose::post_until_ok(
                            &agent,
                            &c.url("/ingest/firehose"),
                            body,
                            &rid,
                            i % 2 == 0,
                        );
                    }
                }
            });
        }
    });

    let range = ["--from", "2000-01-01", "--to", "2100-01-01"];
    let report_of = |glob: &str| -> Value {
        let out = ok(
            tern()
                .args(["report", "--format", "json", "--function", glob])
                .args(range)
                .arg("--config")
                .arg(&config)
                .output()
                .unwrap(),
            "report",
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let total = |r: &Value| -> u64 {
        r["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| n(&f["invocations"]))
            .sum()
    };
    let want_pulled = n(&pulled.truth["totals"]["invocations"]);
    wait_until(Duration::from_secs(180), "the pull caught up", || {
        let got = total(&report_of(&format!("{pfx}-*")));
        (
            got >= want_pulled,
            format!("{got} of {want_pulled} invocations"),
        )
    });

    // Every event exactly once: the pulled functions match the truth (inventory included),
    // the pushed ones too, and the store holds exactly as many invocations as both truths.
    check_against_truth(&report_of(&format!("{pfx}-*")), &[&pulled.truth]);
    let everything = report_of("*");
    for t in pushed_truth["functions"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let f = everything["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["function"] == name)
            .unwrap_or_else(|| panic!("pushed {name} missing"));
        for k in ["invocations", "errors", "cold_starts", "environments"] {
            assert_eq!(f[k], t[k], "pushed {name} {k}");
        }
    }
    let rows = ok(
        tern()
            .args(["invocations", "--format", "json", "--limit", "100000000"])
            .args(range)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap(),
        "invocations",
    );
    let rows: Vec<Value> = serde_json::from_slice(&rows.stdout).unwrap();
    let mut keys: Vec<String> = rows
        .iter()
        .map(|r| format!("{}|{}|{}", r["log_group"], r["log_stream"], r["request_id"]))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), rows.len(), "no invocation stored twice");
    assert_eq!(
        rows.len() as u64,
        want_pulled + n(&pushed_truth["totals"]["invocations"]),
        "every invocation stored once"
    );

    // Each log group has exactly one puller once both collectors have seen each other (a
    // collector learns of another at its next lease renewal; until then both may pull a
    // group, which the checks above show is harmless). One collector evaluated alerts, the
    // other never did.
    let own = "tern_cluster_log_groups{owner=\"self\"}";
    let other = "tern_cluster_log_groups{owner=\"other\"}";
    wait_until(
        Duration::from_secs(30),
        "the collectors split the log groups",
        || {
            let (ma, mb) = (metrics_of(&a), metrics_of(&b));
            let split = metric(&ma, own).unwrap_or(-1.0) + metric(&mb, own).unwrap_or(-1.0);
            (split == groups, format!("a:\n{ma}\nb:\n{mb}"))
        },
    );
    let (ma, mb) = (metrics_of(&a), metrics_of(&b));
    let m = |t: &str, k: &str| metric(t, k).unwrap_or_else(|| panic!("no {k} in:\n{t}"));
    assert_eq!(m(&ma, own), m(&mb, other));
    assert_eq!(m(&ma, "tern_cluster_collectors{state=\"live\"}"), 2.0);
    let leads_a = m(
        &ma,
        "tern_cluster_lease_held{collector=\"a\",lease=\"alerts\"}",
    );
    let leads_b = m(
        &mb,
        "tern_cluster_lease_held{collector=\"b\",lease=\"alerts\"}",
    );
    assert_eq!(leads_a + leads_b, 1.0, "exactly one leader:\n{ma}\n{mb}");
    let (leader, follower, ml, mf, follower_id) = if leads_a == 1.0 {
        (a, b, ma, mb, "b")
    } else {
        (b, a, mb, ma, "a")
    };
    let evaluations = "tern_alert_evaluations_total";
    assert!(m(&ml, evaluations) > 0.0, "the leader evaluates:\n{ml}");
    assert_eq!(
        m(&mf, evaluations),
        0.0,
        "the follower never evaluated:\n{mf}"
    );

    // The leader stops (releasing its leases): the follower takes over its log groups and
    // the evaluator.
    leader.terminate();
    let lease = format!("tern_cluster_lease_held{{collector=\"{follower_id}\",lease=\"alerts\"}}");
    wait_until(Duration::from_secs(60), "the follower took over", || {
        let t = metrics_of(&follower);
        let done = metric(&t, &lease) == Some(1.0)
            && metric(&t, evaluations).unwrap_or(0.0) > 0.0
            && metric(&t, own) == Some(groups);
        (done, t)
    });
    follower.terminate();
}
