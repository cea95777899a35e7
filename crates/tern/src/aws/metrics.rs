//! Pull health for `/metrics`: requests, events, throttles and errors per account and region,
//! and the lag of every log group (how far behind now its checkpoint is).
//!
//! Labels stay bounded: account, region and log group (one per function), never a request id
//! or a stream. Updates take a short lock; pulls make at most a few requests per second per
//! account and region, so contention is nil.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// A counter's name, help text and value.
type Counter = (&'static str, &'static str, fn(&Counts) -> u64);

/// Counters of one account and region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// AWS requests sent (FilterLogEvents, ListFunctions, ListTags), retries included.
    pub requests: u64,
    /// Log events received.
    pub events: u64,
    /// Invocations stored for the first time.
    pub invocations: u64,
    /// Requests answered with a throttling error (each was retried after a backoff).
    pub throttles: u64,
    /// Retries after a server or network error.
    pub retries: u64,
    /// Failures that were given up on (a log group skipped for this poll, an inventory failed).
    pub errors: u64,
    /// Windows restarted because the nextToken expired.
    pub token_restarts: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.events += o.events;
        self.invocations += o.invocations;
        self.throttles += o.throttles;
        self.retries += o.retries;
        self.errors += o.errors;
        self.token_restarts += o.token_restarts;
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// By (account, region).
    targets: BTreeMap<(String, String), Counts>,
    /// By (account, region, log group): the end of the last window stored (epoch ms).
    checkpoints: BTreeMap<(String, String, String), i64>,
}

/// Shared by every pull task of a process; `tern serve` renders it on `/metrics`.
#[derive(Debug, Default)]
pub struct PullMetrics {
    inner: Mutex<Inner>,
}

impl PullMetrics {
    pub fn new() -> PullMetrics {
        PullMetrics::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        // A poisoned lock only means another task panicked mid-update of plain counters.
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Add to the counters of (account, region).
    pub fn count(&self, account: &str, region: &str, f: impl FnOnce(&mut Counts)) {
        self.with(|i| {
            let c = i
                .targets
                .entry((account.to_string(), region.to_string()))
                .or_default();
            f(c)
        });
    }

    /// A log group's data is stored up to `end_ms`.
    pub fn checkpoint(&self, account: &str, region: &str, log_group: &str, end_ms: i64) {
        self.with(|i| {
            i.checkpoints.insert(
                (
                    account.to_string(),
                    region.to_string(),
                    log_group.to_string(),
                ),
                end_ms,
            );
        });
    }

    /// A log group is no longer pulled (deleted, or no longer matched).
    pub fn forget(&self, account: &str, region: &str, log_group: &str) {
        self.with(|i| {
            i.checkpoints.remove(&(
                account.to_string(),
                region.to_string(),
                log_group.to_string(),
            ));
        });
    }

    /// Totals over every account and region.
    pub fn totals(&self) -> Counts {
        self.with(|i| {
            let mut t = Counts::default();
            for c in i.targets.values() {
                t.add(c);
            }
            t
        })
    }

    /// Log groups with a checkpoint.
    pub fn log_groups(&self) -> usize {
        self.with(|i| i.checkpoints.len())
    }

    /// Prometheus text exposition (version 0.0.4) of the pull metrics, appended to `out`.
    pub fn render_prometheus(&self, out: &mut String) {
        self.render_prometheus_at(out, super::now_ms());
    }

    /// [`render_prometheus`](Self::render_prometheus) with lag measured against `now_ms`.
    pub fn render_prometheus_at(&self, out: &mut String, now_ms: i64) {
        self.with(|i| {
            let counters: [Counter; 7] = [
                (
                    "tern_pull_requests_total",
                    "AWS requests sent by the puller, retries included.",
                    |c| c.requests,
                ),
                (
                    "tern_pull_events_total",
                    "Log events received by the puller.",
                    |c| c.events,
                ),
                (
                    "tern_pull_invocations_total",
                    "Invocations stored for the first time by the puller.",
                    |c| c.invocations,
                ),
                (
                    "tern_pull_throttles_total",
                    "AWS requests answered with a throttling error (retried).",
                    |c| c.throttles,
                ),
                (
                    "tern_pull_retries_total",
                    "Retries after a server or network error.",
                    |c| c.retries,
                ),
                (
                    "tern_pull_errors_total",
                    "Pull failures given up on.",
                    |c| c.errors,
                ),
                (
                    "tern_pull_token_restarts_total",
                    "Windows restarted because the pagination token expired.",
                    |c| c.token_restarts,
                ),
            ];
            for (name, help, get) in counters {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for ((account, region), c) in &i.targets {
                    let _ = writeln!(
                        out,
                        "{name}{{account=\"{}\",region=\"{}\"}} {}",
                        escape(account),
                        escape(region),
                        get(c)
                    );
                }
            }
            let name = "tern_pull_lag_seconds";
            let _ = writeln!(
                out,
                "# HELP {name} How far behind now the stored data of a log group is.\n# TYPE {name} gauge"
            );
            for ((account, region, group), end) in &i.checkpoints {
                let lag = (now_ms - end).max(0) as f64 / 1000.0;
                let _ = writeln!(
                    out,
                    "{name}{{account=\"{}\",region=\"{}\",log_group=\"{}\"}} {lag:.3}",
                    escape(account),
                    escape(region),
                    escape(group)
                );
            }
        });
    }
}

/// A Prometheus label value: backslash, double quote and newline escaped.
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_counters_and_lag() {
        let m = PullMetrics::new();
        m.count("prod", "us-east-1", |c| {
            c.requests += 3;
            c.events += 120;
            c.throttles += 1;
        });
        m.count("prod", "us-east-1", |c| c.requests += 1);
        m.checkpoint("prod", "us-east-1", "/aws/lambda/orders", 1_000);
        m.checkpoint("prod", "us-east-1", "/aws/lambda/we\"ird", 5_000);
        let mut out = String::new();
        m.render_prometheus_at(&mut out, 11_500);
        assert!(out.contains("tern_pull_requests_total{account=\"prod\",region=\"us-east-1\"} 4\n"));
        assert!(out.contains("tern_pull_events_total{account=\"prod\",region=\"us-east-1\"} 120\n"));
        assert!(
            out.contains("tern_pull_throttles_total{account=\"prod\",region=\"us-east-1\"} 1\n")
        );
        assert!(out.contains("# TYPE tern_pull_lag_seconds gauge\n"));
        assert!(out.contains(
            "tern_pull_lag_seconds{account=\"prod\",region=\"us-east-1\",log_group=\"/aws/lambda/orders\"} 10.500\n"
        ));
        assert!(out.contains("log_group=\"/aws/lambda/we\\\"ird\"} 6.500\n"));
        assert_eq!(m.totals().requests, 4);
        assert_eq!(m.log_groups(), 2);
        m.forget("prod", "us-east-1", "/aws/lambda/orders");
        assert_eq!(m.log_groups(), 1);
        // Every sample line is `name{labels} value`.
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap_or(("", "x"));
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
