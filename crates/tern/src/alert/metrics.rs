//! The alert engine's figures on `/metrics`. Labels are bounded: a channel name comes from
//! the config, never from a request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Delivery outcomes of one channel.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChannelCounts {
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
}

#[derive(Debug, Default)]
pub struct AlertMetrics {
    /// (policy, function) evaluations.
    pub evaluations: AtomicU64,
    /// Error occurrences read by the error-policy reader.
    pub error_events: AtomicU64,
    pub incidents_open: AtomicU64,
    /// Notifications waiting in the outbox (due or backing off).
    pub outbox_depth: AtomicU64,
    pub engine_errors: AtomicU64,
    channels: Mutex<BTreeMap<String, ChannelCounts>>,
}

pub enum Outcome {
    Sent,
    Retried,
    Failed,
}

impl AlertMetrics {
    pub fn delivery(&self, channel: &str, outcome: Outcome) {
        if let Ok(mut m) = self.channels.lock() {
            let c = m.entry(channel.to_string()).or_default();
            match outcome {
                Outcome::Sent => c.sent += 1,
                Outcome::Retried => c.retried += 1,
                Outcome::Failed => c.failed += 1,
            }
        }
    }

    pub fn render(&self, out: &mut String) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for (name, kind, help, v) in [
            (
                "tern_alert_evaluations_total",
                "counter",
                "Metric-policy evaluations (one per policy and function per tick).",
                get(&self.evaluations),
            ),
            (
                "tern_alert_error_events_total",
                "counter",
                "Error occurrences read by the error-policy reader.",
                get(&self.error_events),
            ),
            (
                "tern_alert_incidents_open",
                "gauge",
                "Incidents open now.",
                get(&self.incidents_open),
            ),
            (
                "tern_alert_outbox_depth",
                "gauge",
                "Notifications waiting in the outbox (due or backing off).",
                get(&self.outbox_depth),
            ),
            (
                "tern_alert_engine_errors_total",
                "counter",
                "Evaluation or delivery rounds that failed (see the log).",
                get(&self.engine_errors),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tern_alert_notifications_total Delivery attempts by channel and result \
             (sent, retried: will be tried again, failed: given up).\n\
             # TYPE tern_alert_notifications_total counter"
        );
        if let Ok(m) = self.channels.lock() {
            for (ch, c) in m.iter() {
                for (result, n) in [
                    ("sent", c.sent),
                    ("retried", c.retried),
                    ("failed", c.failed),
                ] {
                    let _ = writeln!(
                        out,
                        "tern_alert_notifications_total{{channel=\"{ch}\",result=\"{result}\"}} {n}"
                    );
                }
            }
        }
    }
}
