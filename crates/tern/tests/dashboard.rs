//! The web dashboard in a real headless Chromium, driven through chromedriver's
//! WebDriver HTTP API, against a real `tern serve` over a simulated, ingested fleet.
//!
//! It checks that login works with a `tern passwd` user and refuses a wrong password or token,
//! that the pages render the API's numbers, that sorting and filtering (on the server) work,
//! that the duration and occurrence sparklines and the memory recommendation curve (with tune
//! points) are drawn and show values with units on hover, that drill-down overview → function
//! → invocation logs works, that resolving, muting and reopening an error group works (and the
//! API sees it), that search jumps to a request id, that the notification history is listed,
//! that the pages fit a phone's width, and that the browser logged no console error (a CSP
//! violation would be one). Screenshots of every page go to `target/dashboard-screenshots/`.
//!
//! Needs `chromium` and `chromedriver` (`.ci/chromium.sh`). When they are missing the test
//! fails under `TERN_REQUIRE_SERVICES=1` (CI) and otherwise says loudly that it was skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/firehose.rs"]
mod firehose;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use firehose::{Serve, API_TOKEN};

/// The dashboard user the test's config holds (its hash made by `tern passwd`).
const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";
use serde_json::{json, Value};

fn tern() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.env_remove("TERN_DB").env_remove("TERN_CONFIG");
    c
}

fn run(c: &mut Command, what: &str) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Chromium and chromedriver, or `None` (after failing under `TERN_REQUIRE_SERVICES=1`).
fn browser_or_skip(test: &str) -> Option<(PathBuf, PathBuf)> {
    let found =
        which(&["chromium", "chromium-browser", "google-chrome"]).zip(which(&["chromedriver"]));
    if found.is_some() {
        return found;
    }
    if std::env::var("TERN_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!(
            "chromium or chromedriver is missing and TERN_REQUIRE_SERVICES=1: run .ci/chromium.sh"
        );
    }
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: chromium/chromedriver not installed ({test}); install them with .ci/chromium.sh"
    );
    None
}

/// Kills what it holds when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `tern serve` child that is killed if the test panics.
struct Server(Option<Serve>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            s.kill();
        }
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        self.0.as_ref().unwrap().url(path)
    }
}

/// A chromedriver process with one headless Chromium session.
struct Driver {
    agent: ureq::Agent,
    base: String,
    session: String,
    shots: PathBuf,
    _child: Killed,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    fn start(chromium: &Path, chromedriver: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Killed(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let agent = firehose::agent();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = agent
                .get(&format!("{base}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|b| serde_json::from_str::<Value>(&b).ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--no-first-run",
                         "--disable-sync", "--disable-quic", "--window-size=1400,1000",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let v = post(&agent, &format!("{base}/session"), &caps);
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        let shots =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Driver {
            agent,
            base,
            session,
            shots,
            _child: child,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn cmd(&self, path: &str, body: Value) -> Value {
        let v = post(&self.agent, &self.url(path), &body);
        assert!(
            v["value"].get("error").is_none(),
            "WebDriver {path} {body}: {v}"
        );
        v["value"].clone()
    }

    /// Open `url`, waiting until the dashboard rendered a page (`data-ready` is set by the app
    /// after every render; it is marked stale first so the previous page cannot count).
    fn open(&self, url: &str, page: &str) {
        let _ = self.js("document.documentElement.dataset.ready = 'stale'");
        self.cmd("/url", json!({ "url": url }));
        self.wait_page(page);
    }

    fn wait_page(&self, page: &str) {
        self.wait(
            &format!(
                "return document.documentElement.dataset.ready === '1' && document.documentElement.dataset.page === '{page}'"
            ),
            &format!("the {page} page"),
        );
    }

    fn js(&self, script: &str) -> Value {
        self.cmd("/execute/sync", json!({"script": script, "args": []}))
    }

    fn wait(&self, script: &str, what: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self.js(script);
            if v.as_bool() != Some(false) && !v.is_null() {
                return v;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let text = self.js("return document.body.innerText");
                panic!("timed out waiting for {what}; page text:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd("/element", json!({"using": "css selector", "value": css}));
        v[ELEMENT].as_str().unwrap().to_string()
    }

    /// Click like a user: scrolled to the middle of the window (not under the sticky header).
    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd(
            "/execute/sync",
            json!({"script": "arguments[0].scrollIntoView({block: 'center'})", "args": [{ELEMENT: e}]}),
        );
        self.cmd(&format!("/element/{e}/click"), json!({}));
    }

    fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd(&format!("/element/{e}/clear"), json!({}));
        self.cmd(&format!("/element/{e}/value"), json!({ "text": text }));
    }

    fn text(&self, css: &str) -> String {
        self.js(&format!(
            "const e = document.querySelector({}); return e ? e.innerText : null",
            serde_json::to_string(css).unwrap()
        ))
        .as_str()
        .unwrap_or_else(|| panic!("no element {css}"))
        .to_string()
    }

    /// The text of column `col` (0-based) of every body row of the table `css`.
    fn column(&self, css: &str, col: usize) -> Vec<String> {
        let v = self.js(&format!(
            "return Array.from(document.querySelectorAll({} + ' tbody tr')).map(r => r.cells[{col}] ? r.cells[{col}].innerText : '')",
            serde_json::to_string(css).unwrap()
        ));
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    /// The top of the page as a PNG in `target/dashboard-screenshots/NAME.png`.
    fn screenshot(&self, name: &str) {
        self.screenshot_at(name, None);
    }

    /// As `screenshot`, scrolled to the element `css` when given.
    fn screenshot_at(&self, name: &str, css: Option<&str>) {
        use base64::Engine as _;
        let _ = match css {
            Some(css) => self.js(&format!(
                "document.querySelector({}).scrollIntoView()",
                serde_json::to_string(css).unwrap()
            )),
            None => self.js("window.scrollTo(0, 0)"),
        };
        let v = self.agent.get(&self.url("/screenshot")).call().unwrap();
        let body: Value = serde_json::from_str(
            &v.into_body()
                .with_config()
                .limit(64 << 20)
                .read_to_string()
                .unwrap(),
        )
        .unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(body["value"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Browser console entries at level SEVERE (errors, CSP violations, failed loads).
    fn console_errors(&self) -> Vec<String> {
        let v = self.cmd("/se/log", json!({"type": "browser"}));
        v.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
    }
}

fn post(agent: &ureq::Agent, url: &str, body: &Value) -> Value {
    let mut r = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    let text = r
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{url}: not JSON: {text}"))
}

fn api(server: &Server, path: &str) -> Value {
    let mut r = firehose::agent()
        .get(&server.url(path))
        .header("Authorization", &format!("Bearer {API_TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{path}");
    serde_json::from_str(
        &r.body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .unwrap(),
    )
    .unwrap()
}

/// 1234567 → "1,234,567" (the page's `toLocaleString('en-US')`).
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn number(s: &str) -> f64 {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    t.parse().unwrap_or(f64::NAN)
}

/// A simulated fleet, ingested; a server over it that keeps everything.
fn fleet(dir: &Path) -> Server {
    let logs = dir.join("logs");
    let db = dir.join("tern.db");
    run(
        tern().args(["simulate", "--out"]).arg(&logs).args([
            "--functions",
            "24",
            "--days",
            "2",
            "--seed",
            "6",
        ]),
        "simulate",
    );
    run(
        tern().arg("ingest").arg("--db").arg(&db).arg(&logs),
        "ingest",
    );
    // A dashboard user, hashed by `tern passwd` (the password comes on standard input).
    let mut passwd = tern()
        .args(["passwd", USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = passwd.stdin.take().unwrap();
        writeln!(stdin, "{PASSWORD}").unwrap();
    }
    let out = passwd.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user = String::from_utf8(out.stdout).unwrap();
    assert!(
        user.contains("[[dashboard.users]]") && !user.contains(PASSWORD),
        "{user}"
    );
    // Two notifications in the outbox: one delivered, one given up (the history shows both).
    {
        use tern_store::{OutboxItem, OutboxMark, Store as _};
        let mut store = tern_store::SqliteStore::open(&db).unwrap();
        let item = |k: &str| OutboxItem {
            dedupe_key: k.into(),
            channel: "ops-webhook".into(),
            payload: "{}".into(),
        };
        let now = 1_795_000_000_000;
        store
            .enqueue(
                &[item("incident-1-opened"), item("incident-1-resolved")],
                now,
                None,
            )
            .unwrap();
        // A `tern tune` run for every function: the function page draws its points.
        for f in store.functions().unwrap() {
            let point = |memory_mb: u32, p50: f64| tern_store::TuningPoint {
                memory_mb,
                arch: tern_store::Arch::X86_64,
                invocations: 10,
                errors: 0,
                cold_starts: 1,
                p50_ms: Some(p50),
                p95_ms: Some(p50 * 1.3),
                p99_ms: Some(p50 * 1.5),
                trimmed_mean_ms: Some(p50),
                billed_mean_ms: Some(p50.ceil()),
                init_p50_ms: None,
                max_memory_used_mb: Some(90),
                cost_usd: Some(
                    p50.ceil() / 1000.0 * f64::from(memory_mb) / 1024.0 * 0.0000166667 + 2e-7,
                ),
                error: None,
            };
            store
                .store_tuning_run(&tern_store::TuningRun {
                    function: f.function.clone(),
                    region: "us-east-1".into(),
                    started_ms: now - 3_600_000,
                    finished_ms: now - 3_000_000,
                    original_memory_mb: 512,
                    original_arch: tern_store::Arch::X86_64,
                    invocations_per_size: 10,
                    cold_starts_only: false,
                    payload: "none".into(),
                    complete: true,
                    applied_memory_mb: None,
                    points: vec![point(256, 400.0), point(512, 210.0), point(1024, 120.0)],
                })
                .unwrap();
        }
        let due = store.outbox_due(now, 10).unwrap();
        store
            .outbox_mark(due[0].id, &OutboxMark::Sent, now + 1)
            .unwrap();
        store
            .outbox_mark(
                due[1].id,
                &OutboxMark::Failed {
                    error: "HTTP 410 from the webhook".into(),
                },
                now + 2,
            )
            .unwrap();
    }
    let cfg = dir.join("tern.toml");
    std::fs::write(
        &cfg,
        format!("[retention]\nraw = \"forever\"\nrollups = \"forever\"\n\n{user}"),
    )
    .unwrap();
    Server(Some(Serve::start(
        Path::new(env!("CARGO_BIN_EXE_tern")),
        &db,
        Some(&cfg),
    )))
}

#[test]
fn dashboard_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_or_skip("dashboard_in_headless_chromium") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = fleet(dir.path());
    let d = Driver::start(&chromium, &chromedriver);
    let all = "?since=all";

    // Login: a wrong token is refused on the page, the right one opens the overview.
    d.open(&server.url("/"), "login");
    d.screenshot("login");
    d.type_in("#login-token", "not-the-token");
    d.click("#login-submit");
    d.wait(
        "return document.getElementById('login-error').innerText.includes('not valid')",
        "the login error",
    );
    // A user name with a wrong password is refused; the right one (from `tern passwd`) logs in.
    d.type_in("#login-user", USER);
    d.type_in("#login-token", "not the password");
    d.click("#login-submit");
    d.wait(
        "return document.getElementById('login-error').innerText.includes('user name or password is not valid')",
        "the password login error",
    );
    d.type_in("#login-token", PASSWORD);
    let _ = d.js("document.documentElement.dataset.ready = 'stale'");
    d.click("#login-submit");
    d.wait_page("overview");

    // Overview: the totals are the API's.
    d.open(&server.url(&format!("/#/{all}")), "overview");
    let report = api(&server, "/api/v1/functions");
    let totals = &report["totals"];
    assert_eq!(
        d.text("[data-stat=invocations] .v"),
        thousands(totals["invocations"].as_u64().unwrap())
    );
    assert!(d
        .text("[data-stat=errors] .v")
        .starts_with(&thousands(totals["errors"].as_u64().unwrap())));
    assert_eq!(
        d.text("[data-stat=cold_starts] .v"),
        thousands(totals["cold_starts"].as_u64().unwrap())
    );
    let functions = report["functions"].as_array().unwrap();
    assert_eq!(
        d.text("[data-stat=functions] .v"),
        functions.len().to_string()
    );
    let wins = report["quick_wins"].as_array().unwrap().len().min(15);
    assert_eq!(d.column("#wins", 0).len(), wins.max(1));
    // Top insights arrive after the page: the API's, at most ten.
    let insights = report["insights"].as_array().unwrap().len();
    assert!(insights > 0);
    d.wait(
        &format!(
            "return document.querySelectorAll('#insights tbody tr').length === {}",
            insights.min(10)
        ),
        "the top insights",
    );
    // Ten rows come over the wire, and the count is of them all.
    let count = d.text("#top-insights p.muted");
    assert!(
        count.starts_with(&format!("{} insights", insights)),
        "{count} (the report has {insights})"
    );
    d.screenshot("overview");

    // The time range lives in the URL: a custom range shows that range's totals.
    let (from, to) = ("2026-11-01T00:00:00.000Z", "2026-11-01T12:00:00.000Z");
    d.open(
        &server.url(&format!("/#/?since=custom&from={from}&to={to}")),
        "overview",
    );
    let part = api(&server, &format!("/api/v1/functions?from={from}&to={to}"));
    assert_eq!(
        d.text("[data-stat=invocations] .v"),
        thousands(part["totals"]["invocations"].as_u64().unwrap())
    );
    assert_eq!(
        d.js("return document.getElementById('range').value"),
        "custom"
    );

    // Functions table: every function, sortable, filterable.
    d.open(&server.url(&format!("/#/functions{all}")), "functions");
    assert_eq!(d.column("#fn-table", 0).len(), functions.len());
    // Sparklines: one duration trend per row, with p50 and p99 lines, values on hover.
    assert_eq!(
        d.js("return document.querySelectorAll('#fn-table tbody svg.spark polyline').length"),
        json!(2 * functions.len())
    );
    let _ = d.js("const s = document.querySelector('#fn-table tbody svg.spark'); const r = s.getBoundingClientRect(); s.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: r.right - 2, clientY: r.top + 5}));");
    let tip = d.text("#tip");
    let with_unit = |l: &str| [" ms", " s", " min"].iter().any(|u| l.ends_with(u));
    assert!(
        tip.lines()
            .filter(|l| l.starts_with("p50: ") || l.starts_with("p99: "))
            .count()
            == 2
            && tip.lines().skip(1).all(with_unit),
        "{tip}"
    );
    // Sorting happens on the server: wait for the header to show the answer's order.
    let sorted_by = |key: &str, dir: &str| {
        d.wait(
            &format!(
                "return !!document.querySelector('#fn-table th.sorted.{dir}[data-sort={key}]')"
            ),
            "the sorted table",
        );
    };
    d.click("#fn-table th[data-sort=invocations]");
    sorted_by("invocations", "desc");
    let inv: Vec<f64> = d.column("#fn-table", 1).iter().map(|s| number(s)).collect();
    assert!(inv.windows(2).all(|w| w[0] >= w[1]), "descending: {inv:?}");
    let busiest = functions
        .iter()
        .max_by_key(|f| f["invocations"].as_u64().unwrap())
        .unwrap();
    assert_eq!(inv[0], busiest["invocations"].as_u64().unwrap() as f64);
    d.click("#fn-table th[data-sort=invocations]");
    sorted_by("invocations", "asc");
    let inv: Vec<f64> = d.column("#fn-table", 1).iter().map(|s| number(s)).collect();
    assert!(inv.windows(2).all(|w| w[0] <= w[1]), "ascending: {inv:?}");
    assert!(d
        .js("return location.hash")
        .as_str()
        .unwrap()
        .contains("sort=invocations"));
    d.click("#fn-table th[data-sort=function]");
    sorted_by("function", "asc");
    let names = d.column("#fn-table", 0);
    let mut sorted = names.clone();
    sorted.sort_by_key(|s| s.to_lowercase());
    assert_eq!(names, sorted);
    // Filter by a piece of a name.
    let needle = "api";
    let expect = functions
        .iter()
        .filter(|f| f["function"].as_str().unwrap().contains(needle))
        .count();
    assert!(
        expect > 0 && expect < functions.len(),
        "pick another needle"
    );
    d.type_in("#f-name", needle);
    d.wait(
        &format!("return document.querySelectorAll('#fn-table tbody tr').length === {expect}"),
        "the name filter",
    );
    assert!(d.column("#fn-table", 0).iter().all(|n| n.contains(needle)));
    d.screenshot("functions-filtered");
    // Filter by architecture.
    d.type_in("#f-name", " ");
    let arch = functions[0]["architecture"].as_str().unwrap();
    let same = functions
        .iter()
        .filter(|f| f["architecture"] == arch)
        .count();
    let _ = d.js(&format!("const s = document.getElementById('f-arch'); s.value = '{arch}'; s.dispatchEvent(new Event('change', {{bubbles: true}}));"));
    d.wait(
        &format!("return document.querySelectorAll('#fn-table tbody tr').length === {same}"),
        "the architecture filter",
    );
    assert!(d.column("#fn-table", 11).iter().all(|a| a == arch));
    d.screenshot("functions");

    // Drill-down: overview → function → invocation with its logs.
    d.open(&server.url(&format!("/#/{all}")), "overview");
    let top = d.text("#top-cost tbody tr td a");
    let _ = d.js("document.documentElement.dataset.ready = 'stale'");
    d.click("#top-cost tbody tr td a");
    d.wait_page("function");
    assert_eq!(d.text("h1"), top);
    assert_eq!(
        d.js("return document.querySelectorAll('#main > .grid2:not(#rec-curve) svg[data-chart] polyline').length")
            .as_u64()
            .unwrap(),
        9,
        "5 time charts, 9 lines"
    );
    // The memory recommendation: the API's, drawn as a curve over memory sizes (two lines of
    // duration, one of cost) with the tuning run's three sizes as points on both charts.
    let rec = api(&server, &format!("/api/v1/functions/{top}/recommendation"));
    let r = &rec["recommendation"];
    assert!(r.is_object(), "{rec}");
    assert!(d.text("#rec-summary").contains(&format!(
        "→ {} MB",
        thousands(r["recommended_memory_mb"].as_u64().unwrap())
    )));
    assert_eq!(
        d.js("return document.querySelectorAll('#rec-curve svg[data-chart] polyline').length"),
        json!(3)
    );
    assert_eq!(
        d.js("return document.querySelectorAll('#rec-curve circle.dot').length"),
        json!(6)
    );
    let _ = d.js("const s = document.querySelector('#rec-curve svg[data-chart]'); const r = s.getBoundingClientRect(); s.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: r.left + r.width / 2, clientY: r.top + 40}));");
    let tip = d.text("#tip");
    assert!(
        tip.lines().next().unwrap().ends_with(" MB") && tip.contains("p50 predicted: "),
        "{tip}"
    );
    // Hover shows values with units.
    let _ = d.js("const s = document.querySelectorAll('svg[data-chart]')[1]; const r = s.getBoundingClientRect(); s.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: r.left + r.width / 2, clientY: r.top + 40}));");
    let tip = d.text("#tip");
    assert!(tip.contains("p50: ") && tip.contains("p99: "), "{tip}");
    assert!(
        tip.contains(" ms") || tip.contains(" s") || tip.contains('—'),
        "{tip}"
    );
    d.screenshot("function");
    d.screenshot_at("function-memory", Some("#rec-summary"));
    let rid = d.text("#fn-invocations tbody tr td a");
    let _ = d.js("document.documentElement.dataset.ready = 'stale'");
    d.click("#fn-invocations tbody tr td a");
    d.wait_page("invocation");
    assert_eq!(d.text("h1"), rid);
    let logs = d.text("#inv-logs");
    assert!(logs.contains(&format!("RequestId: {rid}")), "{logs}");
    let one = api(&server, &format!("/api/v1/invocations?request_id={rid}"));
    assert_eq!(one[0]["function"], top.as_str());
    d.screenshot("invocation");

    // Search: a request id jumps to its invocation; a group id to its group.
    d.open(&server.url(&format!("/#/{all}")), "overview");
    let _ = d.js("document.documentElement.dataset.ready = 'stale'");
    d.type_in("#search", &format!("{rid}\u{E007}"));
    d.wait_page("invocation");
    assert_eq!(d.text("h1"), rid);

    // Errors: the list is the API's; resolve, mute and reopen a group.
    let groups = api(&server, "/api/v1/errors?limit=500");
    let groups = groups.as_array().unwrap();
    assert!(!groups.is_empty());
    d.open(&server.url(&format!("/#/errors{all}")), "errors");
    assert_eq!(d.column("#error-groups", 0).len(), groups.len());
    // One occurrence sparkline per group.
    assert_eq!(
        d.js("return document.querySelectorAll('#error-groups tbody svg.spark polyline').length"),
        json!(groups.len())
    );
    d.screenshot("errors");
    let id = groups[0]["id"].as_str().unwrap();
    d.open(&server.url(&format!("/#/error/{id}{all}")), "error");
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        squash(&d.text("h1")),
        squash(groups[0]["title"].as_str().unwrap())
    );
    for (button, status) in [
        ("resolved", "resolved"),
        ("muted", "muted"),
        ("open", "open"),
    ] {
        d.click(&format!("button[data-status={button}]"));
        d.wait(
            &format!("return document.getElementById('group-msg').innerText === 'Status is now {status}.'"),
            status,
        );
        let g = api(&server, &format!("/api/v1/errors/{id}"));
        assert_eq!(g["status"], status);
        if status == "resolved" {
            d.screenshot("error-group");
        }
    }
    let _ = d.js("document.documentElement.dataset.ready = 'stale'");
    d.type_in("#search", &format!("{id}\u{E007}"));
    d.wait_page("error");

    // Alerts: the policies in force.
    d.open(&server.url(&format!("/#/alerts{all}")), "alerts");
    let policies = api(&server, "/api/v1/policies");
    assert_eq!(
        d.column("#policies", 0),
        policies
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    // Notification history: newest first, what, where, state and the last error.
    assert_eq!(
        d.column("#notifications", 1),
        vec!["incident-1-resolved", "incident-1-opened"]
    );
    assert_eq!(d.column("#notifications", 2)[0], "ops-webhook");
    assert_eq!(d.column("#notifications", 3), vec!["failed", "sent"]);
    assert_eq!(
        d.column("#notifications", 7)[0],
        "HTTP 410 from the webhook"
    );
    d.screenshot("alerts");

    // Phone-sized: the page fits the width (wide tables scroll inside their frame).
    let _ = d.cmd("/window/rect", json!({"width": 390, "height": 844}));
    for page in ["", "functions", "errors"] {
        d.open(
            &server.url(&format!("/#/{page}{all}")),
            if page.is_empty() { "overview" } else { page },
        );
        assert_eq!(
            d.js("return document.documentElement.scrollWidth <= window.innerWidth + 1"),
            json!(true),
            "{page} overflows a phone's width"
        );
        d.screenshot(&format!(
            "{}-phone",
            if page.is_empty() { "overview" } else { page }
        ));
    }
    let _ = d.cmd("/window/rect", json!({"width": 1400, "height": 900}));

    // The ones expected: the 401s of the wrong-token and wrong-password logins above.
    let errors: Vec<String> = d
        .console_errors()
        .into_iter()
        .filter(|e| !(e.contains("/ui/login") && e.contains("401")))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // Logout ends the session: the next page asks to log in again.
    d.click("#logout");
    d.wait(
        "return document.documentElement.dataset.page === 'login'",
        "the login page after logout",
    );
    d.open(&server.url(&format!("/#/functions{all}")), "login");
}

/// `tern demo` says how to see the dashboard; `tern demo --serve` serves it over days that
/// end now (so "last 24 hours" has data), with a token it prints, until SIGTERM.
#[test]
fn demo_prints_and_serves_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let out = tern()
        .args(["demo", "--functions", "6", "--days", "1", "--db"])
        .arg(dir.path().join("a.db"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Dashboard: `tern demo --serve`"), "{text}");
    assert!(text.contains("http://127.0.0.1:8080/"), "{text}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Killed(
        tern()
            .args(["demo", "--serve", "--functions", "6", "--days", "1"])
            .args(["--listen", &format!("127.0.0.1:{port}"), "--db"])
            .arg(dir.path().join("b.db"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    use std::io::BufRead as _;
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut token = None;
    let mut url = None;
    while let Some(Ok(line)) = lines.next() {
        if let Some(u) = line.strip_prefix("Dashboard: http://") {
            url = Some(format!("http://{}", u.trim()));
        }
        if line.contains("Log in with this API token") {
            token = lines
                .next()
                .and_then(|l| l.ok())
                .map(|l| l.trim().to_string());
            break;
        }
    }
    let (url, token) = (url.expect("a URL"), token.expect("a token"));
    assert_eq!(url, format!("http://127.0.0.1:{port}/"));
    let agent = firehose::agent();
    let started = Instant::now();
    let cookie = loop {
        let r = agent
            .post(&format!("{url}ui/login"))
            .header("Content-Type", "application/json")
            .send(json!({ "token": token }).to_string().as_bytes());
        if let Ok(r) = r {
            assert_eq!(r.status().as_u16(), 200);
            let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
            break set.split(';').next().unwrap().to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "demo never served"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut r = agent
        .get(&format!("{url}api/v1/functions?since=24h"))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert!(v["totals"]["invocations"].as_u64().unwrap() > 0, "{v}");
    let ok = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let st = child.0.wait().unwrap();
    assert!(st.success(), "demo --serve exited with {st}");
}
