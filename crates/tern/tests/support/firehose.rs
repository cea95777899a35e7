//! Shared by `tests/serve.rs` and `examples/firehose_load.rs`: Firehose request bodies built
//! from `tern simulate --format subscription` output, a `tern serve` child process, and a
//! small HTTP client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// Split concatenated gzip members (as the simulator writes subscription files).
pub fn split_members(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let before = bytes.len();
        let mut d = flate2::bufread::GzDecoder::new(bytes);
        let mut sink = Vec::new();
        d.read_to_end(&mut sink).unwrap();
        let rest = d.into_inner();
        let used = before - rest.len();
        out.push(bytes[..used].to_vec());
        bytes = rest;
    }
    out
}

/// Every subscription payload of a simulated corpus, as Firehose records (base64 of gzip),
/// in file order.
pub fn corpus_records(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    collect(dir, &mut files);
    files.sort();
    let mut records = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for m in split_members(&bytes) {
            records.push(base64::engine::general_purpose::STANDARD.encode(&m));
        }
    }
    records
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.to_string_lossy().ends_with(".subscription.json.gz") {
            out.push(p);
        }
    }
}

/// Group records into Firehose request bodies of at most `per_request` records and about
/// `max_bytes` of JSON.
pub fn bodies(records: &[String], per_request: usize, max_bytes: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut size = 0;
    let flush = |cur: &mut Vec<&str>, out: &mut Vec<Vec<u8>>| {
        if cur.is_empty() {
            return;
        }
        let mut s = String::from("{\"requestId\":\"r\",\"timestamp\":1793491200000,\"records\":[");
        for (i, r) in cur.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str("{\"data\":\"");
            s.push_str(r);
            s.push_str("\"}");
        }
        s.push_str("]}");
        out.push(s.into_bytes());
        cur.clear();
    };
    for r in records {
        if !cur.is_empty() && (cur.len() >= per_request || size + r.len() > max_bytes) {
            flush(&mut cur, &mut out);
            size = 0;
        }
        size += r.len() + 12;
        cur.push(r);
    }
    flush(&mut cur, &mut out);
    out
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn gzip_best(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub const API_TOKEN: &str = "test-api-token";
pub const INGEST_KEY: &str = "test-ingest-key";

/// A running `tern serve`.
pub struct Serve {
    pub child: Child,
    pub addr: String,
    pub stderr: Arc<Mutex<String>>,
}

impl Serve {
    /// Start `tern serve` on a free loopback port with the test token and key.
    pub fn start(tern: &Path, db: &Path, config: Option<&Path>) -> Serve {
        Serve::start_with_env(tern, db, config, &[])
    }

    /// As [`Serve::start`], with extra environment variables (test hooks such as
    /// `TERN_FAULT`).
    pub fn start_with_env(
        tern: &Path,
        db: &Path,
        config: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Serve {
        let mut c = Command::new(tern);
        c.envs(env.iter().copied());
        c.arg("serve")
            .arg("--db")
            .arg(db)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("TERN_DB")
            .env_remove("TERN_CONFIG")
            .env("TERN_API_TOKEN", API_TOKEN)
            .env("TERN_INGEST_KEY", INGEST_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(cfg) = config {
            c.arg("--config").arg(cfg);
        }
        Serve::spawn(c)
    }

    /// Start a prepared `tern serve` command (its arguments and environment set by the
    /// caller; it must listen on port 0) and wait for its `listening on ADDR` line.
    pub fn spawn(mut c: Command) -> Serve {
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.trim().to_string());
                    }
                }
                let mut l = log2.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "tern serve did not print its address; stderr:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        Serve {
            child,
            addr,
            stderr: log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> String {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let started = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                let log = self.stderr.lock().unwrap().clone();
                assert!(st.success(), "tern serve exited with {st}; stderr:\n{log}");
                return log;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "tern serve did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for the process to exit by itself; its status and stderr.
    pub fn wait_exit(mut self, within: Duration) -> (std::process::ExitStatus, String) {
        let started = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (st, self.stderr.lock().unwrap().clone());
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!(
                    "tern serve did not exit within {within:?}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// POST one Firehose request. `Ok(status, body)`, or `Err` when the connection failed.
pub fn post_firehose(
    agent: &ureq::Agent,
    url: &str,
    body: &[u8],
    request_id: &str,
    key: &str,
    gzip_body: bool,
) -> Result<(u16, String), String> {
    let mut req = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Amz-Firehose-Protocol-Version", "1.0")
        .header("X-Amz-Firehose-Request-Id", request_id)
        .header("X-Amz-Firehose-Access-Key", key);
    let sent;
    let data = if gzip_body {
        req = req.header("Content-Encoding", "gzip");
        sent = gzip(body);
        &sent[..]
    } else {
        body
    };
    match req.send(data) {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
            Ok((status, text))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// POST until 200, retrying 503 (and connection errors) as Firehose does.
pub fn post_until_ok(agent: &ureq::Agent, url: &str, body: &[u8], rid: &str, gzip_body: bool) {
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match post_firehose(agent, url, body, rid, INGEST_KEY, gzip_body) {
            Ok((200, _)) => return,
            Ok((503, _)) | Err(_) => {}
            Ok((s, text)) => panic!("request {rid}: {s} {text}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "request {rid} never accepted"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Peak and current resident memory of a process, kB (Linux).
pub fn rss_kb(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}
