//! Tern's own health in Prometheus text format (`GET /metrics`).
//!
//! Labels are bounded: an endpoint name and a status code, never a request id, a token or a
//! function name from a request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::writer::WriterMetrics;

/// The ingest endpoints, as metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    Firehose,
    Cloudwatch,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Firehose => "firehose",
            Endpoint::Cloudwatch => "cloudwatch",
        }
    }
}

#[derive(Debug, Default)]
pub struct EndpointCounters {
    pub bytes: AtomicU64,
    pub records: AtomicU64,
    pub bad_records: AtomicU64,
    pub events: AtomicU64,
    pub control_messages: AtomicU64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(Endpoint, u16), u64>>,
    pub firehose: EndpointCounters,
    pub cloudwatch: EndpointCounters,
    pub api_requests: AtomicU64,
    pub auth_failures: AtomicU64,
    pub retention_runs: AtomicU64,
    pub retention_deleted_invocations: AtomicU64,
}

impl Metrics {
    pub fn counters(&self, e: Endpoint) -> &EndpointCounters {
        match e {
            Endpoint::Firehose => &self.firehose,
            Endpoint::Cloudwatch => &self.cloudwatch,
        }
    }

    pub fn request(&self, e: Endpoint, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((e, status)).or_default() += 1;
        }
    }

    pub fn render(&self, w: &WriterMetrics, out: &mut String) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str(
            "# HELP tern_ingest_requests_total Push requests answered, by endpoint and status.\n",
        );
        out.push_str("# TYPE tern_ingest_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((e, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "tern_ingest_requests_total{{endpoint=\"{}\",status=\"{status}\"}} {n}",
                    e.as_str()
                );
            }
        }
        type Field = fn(&EndpointCounters) -> &AtomicU64;
        let per_endpoint: [(&str, &str, Field); 5] = [
            (
                "tern_ingest_bytes_total",
                "Request body bytes received, as sent.",
                |c| &c.bytes,
            ),
            (
                "tern_ingest_records_total",
                "Firehose records (or pushed payloads) read.",
                |c| &c.records,
            ),
            (
                "tern_ingest_bad_records_total",
                "Records that could not be decoded and were dropped.",
                |c| &c.bad_records,
            ),
            (
                "tern_ingest_events_total",
                "Log events decoded from accepted requests.",
                |c| &c.events,
            ),
            (
                "tern_ingest_control_messages_total",
                "CloudWatch Logs CONTROL_MESSAGE payloads acknowledged and dropped.",
                |c| &c.control_messages,
            ),
        ];
        for (name, help, field) in per_endpoint {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for e in [Endpoint::Firehose, Endpoint::Cloudwatch] {
                let _ = writeln!(
                    out,
                    "{name}{{endpoint=\"{}\"}} {}",
                    e.as_str(),
                    get(field(self.counters(e)))
                );
            }
        }
        let simple: [(&str, &str, &str, u64); 10] = [
            (
                "tern_api_requests_total",
                "counter",
                "API requests served.",
                get(&self.api_requests),
            ),
            (
                "tern_auth_failures_total",
                "counter",
                "Requests refused for a missing or wrong token or key.",
                get(&self.auth_failures),
            ),
            (
                "tern_store_batches_total",
                "counter",
                "Batches the store writer wrote.",
                get(&w.batches),
            ),
            (
                "tern_store_failed_batches_total",
                "counter",
                "Batches the store refused.",
                get(&w.failed_batches),
            ),
            (
                "tern_store_invocations_inserted_total",
                "counter",
                "Invocations stored for the first time.",
                get(&w.inserted),
            ),
            (
                "tern_store_busy_rejections_total",
                "counter",
                "Pushes answered 503 because the writer queue was full.",
                get(&w.busy_rejections),
            ),
            (
                "tern_store_queue_depth",
                "gauge",
                "Jobs queued for or being written by the store writer.",
                get(&w.queued),
            ),
            (
                "tern_store_write_seconds_total",
                "counter",
                "Time the store writer spent writing.",
                0,
            ),
            (
                "tern_retention_runs_total",
                "counter",
                "Retention passes run.",
                get(&self.retention_runs),
            ),
            (
                "tern_retention_deleted_invocations_total",
                "counter",
                "Invocations deleted by retention.",
                get(&self.retention_deleted_invocations),
            ),
        ];
        for (name, kind, help, v) in simple {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            if name == "tern_store_write_seconds_total" {
                let _ = writeln!(out, "{name} {:.6}", get(&w.write_micros) as f64 / 1e6);
            } else {
                let _ = writeln!(out, "{name} {v}");
            }
        }
    }
}
