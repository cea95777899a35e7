//! Writing events to disk in the three shapes Tern reads:
//!
//! - JSON lines, one event per line: `{"logGroupName","logStreamName","timestamp","message",
//!   "eventId","ingestionTime"}` (`<fn>/<yyyy-mm-dd>.jsonl`);
//! - CloudWatch Logs subscription payloads, each a gzip member holding one `DATA_MESSAGE`
//!   for one stream, concatenated as Firehose writes them to S3
//!   (`<fn>/<yyyy-mm-dd>.subscription.json.gz`; reference/lambda-logs.md §4.1);
//! - `aws logs filter-log-events` output, pretty-printed with 4-space indents as the AWS CLI
//!   does (`<fn>/<yyyy-mm-dd>.filter-log-events.json`; §5.1).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

use super::json::escape_into;
use super::sample::splitmix64;
use super::spec::FunctionSpec;
use super::OutputFormat;

/// One CloudWatch event before it is written.
#[derive(Debug, Clone)]
pub struct Event {
    pub ts: i64,
    /// Emission order within the function: breaks timestamp ties so the lines of one
    /// invocation stay in causal order, and makes event ids unique.
    pub seq: u32,
    pub stream: u32,
    pub msg: String,
}
use tern_core::time::date_string;

/// Subscription payloads cover at most this much event time per stream...
const PAYLOAD_WINDOW_MS: i64 = 10_000;
/// ...and at most this many events.
const PAYLOAD_MAX_EVENTS: usize = 200;

pub struct Writer {
    out_dir: PathBuf,
    account: String,
    seed: u64,
    pub files: u64,
    pub events: u64,
    pub bytes: u64,
    /// Files written per function index.
    per_function_files: Vec<u64>,
    line: Vec<u8>,
}

impl Writer {
    pub fn new(out_dir: &Path, account: &str, seed: u64, functions: usize) -> Writer {
        Writer {
            out_dir: out_dir.to_path_buf(),
            account: account.to_string(),
            seed,
            files: 0,
            events: 0,
            bytes: 0,
            per_function_files: vec![0; functions],
            line: Vec::with_capacity(4096),
        }
    }

    pub fn function_files(&self, index: usize) -> u64 {
        self.per_function_files.get(index).copied().unwrap_or(0)
    }

    /// Write one function's events of one day (sorted by time) as one file.
    pub fn write_day(
        &mut self,
        spec: &FunctionSpec,
        day_start_ms: i64,
        streams: &[String],
        events: &[Event],
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let dir = self.out_dir.join(&spec.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let date = date_string(day_start_ms);
        let (name, first_of_function) = match spec.output {
            OutputFormat::JsonLines => (format!("{date}.jsonl"), false),
            OutputFormat::Subscription => (
                format!("{date}.subscription.json.gz"),
                self.function_files(spec.index) == 0,
            ),
            OutputFormat::FilterLogEvents => (format!("{date}.filter-log-events.json"), false),
        };
        let path = dir.join(name);
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = CountingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            bytes: 0,
        };
        match spec.output {
            OutputFormat::JsonLines => self.json_lines(&mut out, spec, streams, events)?,
            OutputFormat::Subscription => {
                self.subscription(&mut out, spec, streams, events, first_of_function)?
            }
            OutputFormat::FilterLogEvents => {
                self.filter_log_events(&mut out, spec, streams, events)?
            }
        }
        out.inner
            .flush()
            .with_context(|| format!("writing {}", path.display()))?;
        self.files += 1;
        if let Some(n) = self.per_function_files.get_mut(spec.index) {
            *n += 1;
        }
        self.events += events.len() as u64;
        self.bytes += out.bytes;
        Ok(())
    }

    fn json_lines(
        &mut self,
        out: &mut CountingWriter,
        spec: &FunctionSpec,
        streams: &[String],
        events: &[Event],
    ) -> Result<()> {
        let mut line = std::mem::take(&mut self.line);
        let mut group = Vec::new();
        escape_into(&mut group, &spec.log_group);
        for e in events {
            line.clear();
            line.extend_from_slice(b"{\"logGroupName\":\"");
            line.extend_from_slice(&group);
            line.extend_from_slice(b"\",\"logStreamName\":\"");
            escape_into(&mut line, &streams[e.stream as usize]);
            line.extend_from_slice(b"\",\"timestamp\":");
            push_i64(&mut line, e.ts);
            line.extend_from_slice(b",\"message\":\"");
            escape_into(&mut line, &e.msg);
            line.extend_from_slice(b"\",\"eventId\":\"");
            self.push_event_id(&mut line, spec.index, e);
            line.extend_from_slice(b"\",\"ingestionTime\":");
            push_i64(&mut line, self.ingestion_time(spec.index, e));
            line.extend_from_slice(b"}\n");
            out.write(&line)?;
        }
        self.line = line;
        Ok(())
    }

    fn subscription(
        &mut self,
        out: &mut CountingWriter,
        spec: &FunctionSpec,
        streams: &[String],
        events: &[Event],
        control_message: bool,
    ) -> Result<()> {
        if control_message {
            // CloudWatch checks the destination before the first data (§4.1).
            let ctl = format!(
                "{{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\",\"logGroup\":\"\",\"logStream\":\"\",\"subscriptionFilters\":[],\"logEvents\":[{{\"id\":\"\",\"timestamp\":{},\"message\":\"CWL CONTROL MESSAGE: Checking health of destination Firehose.\"}}]}}",
                events[0].ts.saturating_sub(60_000)
            );
            out.write(&gzip(ctl.as_bytes())?)?;
        }
        // Account-level subscription policies add a field; readers must ignore it.
        let policy_level = spec.index % 2 == 1;
        let mut i = 0;
        while i < events.len() {
            // One window of event time; within it, one payload per stream in order of first
            // appearance.
            let window_end = events[i].ts + PAYLOAD_WINDOW_MS;
            let mut j = i;
            while j < events.len() && events[j].ts < window_end && j - i < PAYLOAD_MAX_EVENTS {
                j += 1;
            }
            let batch = &events[i..j];
            let mut order: Vec<u32> = Vec::new();
            for e in batch {
                if !order.contains(&e.stream) {
                    order.push(e.stream);
                }
            }
            for &stream in &order {
                let mut payload = std::mem::take(&mut self.line);
                payload.clear();
                payload.extend_from_slice(b"{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"");
                payload.extend_from_slice(self.account.as_bytes());
                payload.extend_from_slice(b"\",\"logGroup\":\"");
                escape_into(&mut payload, &spec.log_group);
                payload.extend_from_slice(b"\",\"logStream\":\"");
                escape_into(&mut payload, &streams[stream as usize]);
                payload.extend_from_slice(
                    b"\",\"subscriptionFilters\":[\"tern-ingest\"],\"logEvents\":[",
                );
                let mut first = true;
                for e in batch.iter().filter(|e| e.stream == stream) {
                    if !first {
                        payload.push(b',');
                    }
                    first = false;
                    payload.extend_from_slice(b"{\"id\":\"");
                    self.push_event_id(&mut payload, spec.index, e);
                    payload.extend_from_slice(b"\",\"timestamp\":");
                    push_i64(&mut payload, e.ts);
                    payload.extend_from_slice(b",\"message\":\"");
                    escape_into(&mut payload, &e.msg);
                    payload.extend_from_slice(b"\"}");
                }
                payload.push(b']');
                if policy_level {
                    payload.extend_from_slice(b",\"policyLevel\":\"ACCOUNT_LEVEL_POLICY\"");
                }
                payload.push(b'}');
                out.write(&gzip(&payload)?)?;
                self.line = payload;
            }
            i = j;
        }
        Ok(())
    }

    fn filter_log_events(
        &mut self,
        out: &mut CountingWriter,
        spec: &FunctionSpec,
        streams: &[String],
        events: &[Event],
    ) -> Result<()> {
        let mut buf = std::mem::take(&mut self.line);
        buf.clear();
        buf.extend_from_slice(b"{\n    \"events\": [\n");
        for (n, e) in events.iter().enumerate() {
            buf.extend_from_slice(b"        {\n            \"logStreamName\": \"");
            escape_into(&mut buf, &streams[e.stream as usize]);
            buf.extend_from_slice(b"\",\n            \"timestamp\": ");
            push_i64(&mut buf, e.ts);
            buf.extend_from_slice(b",\n            \"message\": \"");
            escape_into(&mut buf, &e.msg);
            buf.extend_from_slice(b"\",\n            \"ingestionTime\": ");
            push_i64(&mut buf, self.ingestion_time(spec.index, e));
            buf.extend_from_slice(b",\n            \"eventId\": \"");
            self.push_event_id(&mut buf, spec.index, e);
            buf.extend_from_slice(if n + 1 < events.len() {
                b"\"\n        },\n"
            } else {
                b"\"\n        }\n"
            });
            if buf.len() > 1 << 20 {
                out.write(&buf)?;
                buf.clear();
            }
        }
        buf.extend_from_slice(b"    ],\n    \"searchedLogStreams\": []\n}\n");
        out.write(&buf)?;
        self.line = buf;
        Ok(())
    }

    /// CloudWatch event ids are 56-digit decimals: the timestamp in the bits above 144,
    /// opaque bits below. Ours put (function, sequence, hash) in the low bits, so ids are
    /// unique across the corpus and stable across output formats.
    fn push_event_id(&self, out: &mut Vec<u8>, function: usize, e: &Event) {
        let h = splitmix64(self.seed ^ ((function as u64) << 32) ^ u64::from(e.seq));
        let h2 = splitmix64(h);
        let hi = ((e.ts.max(0) as u64) << 16) | (function as u64 & 0xffff);
        let lo = (u128::from(e.seq) << 96) | (u128::from(h) << 32) | u128::from(h2 >> 32);
        push_decimal_192(out, hi, lo);
    }

    fn ingestion_time(&self, function: usize, e: &Event) -> i64 {
        let h =
            splitmix64(self.seed.rotate_left(17) ^ ((function as u64) << 40) ^ u64::from(e.seq));
        e.ts + 180 + (h % 2400) as i64
    }
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 4 + 64), Compression::fast());
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

struct CountingWriter {
    inner: BufWriter<File>,
    bytes: u64,
}

impl CountingWriter {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.inner.write_all(data)?;
        self.bytes += data.len() as u64;
        Ok(())
    }
}

fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut x = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Decimal digits of `hi · 2^128 + lo`.
fn push_decimal_192(out: &mut Vec<u8>, hi: u64, lo: u128) {
    const CHUNK: u128 = 10_000_000_000_000_000_000; // 10^19
    let mut limbs = [u128::from(hi), lo >> 64, lo & u128::from(u64::MAX)];
    let mut chunks = [0u64; 4];
    let mut n = 0;
    loop {
        let mut rem: u128 = 0;
        for limb in limbs.iter_mut() {
            let cur = (rem << 64) | *limb;
            *limb = cur / CHUNK;
            rem = cur % CHUNK;
        }
        chunks[n] = rem as u64;
        n += 1;
        if limbs.iter().all(|&l| l == 0) || n == chunks.len() {
            break;
        }
    }
    let mut first = true;
    for &c in chunks[..n].iter().rev() {
        let mut digits = [b'0'; 19];
        let mut x = c;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (x % 10) as u8;
            x /= 10;
        }
        if first {
            let skip = digits.iter().take_while(|&&d| d == b'0').count().min(18);
            out.extend_from_slice(&digits[skip..]);
            first = false;
        } else {
            out.extend_from_slice(&digits);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn event_id_decimal_matches_cloudwatch_layout() {
        // The documented example id is 1432826855000 << 144 | low.
        let low: u128 = 1_732_181_997_039_426_805_772_632_275_426_541_568;
        let mut out = Vec::new();
        push_decimal_192(&mut out, 1_432_826_855_000u64 << 16, low);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "31953106606966983378809025079804211143289615424298221568"
        );
        let mut small = Vec::new();
        push_decimal_192(&mut small, 0, 42);
        assert_eq!(small, b"42");
    }
}
