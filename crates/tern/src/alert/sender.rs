//! The notification sender: takes due outbox entries, delivers each through its channel
//! ([`super::channels::send`], a few at a time, each bounded by `alerts.send_timeout`), and
//! records the result: `sent`; a retry with backoff for a retryable failure; `failed` for a
//! permanent one, or once `alerts.max_attempts` or `alerts.max_age` is reached.
//!
//! Delivery is at least once: an entry is marked after its delivery, so a crash in between
//! delivers it again after the restart, with the same `dedupe_key` (webhook
//! `X-Tern-Delivery`, email `Message-ID`), by which receivers drop the duplicate.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use tern_store::{OutboxEntry, OutboxMark, Store, StoreBackend};
use tokio::sync::{watch, Semaphore};

use super::channels::{send, SendContext, SendError};
use super::metrics::{AlertMetrics, Outcome};
use super::notify::Envelope;
use super::reader::Reader;
use super::rules::AlertConfig;
use crate::cluster::Duty;
use crate::writer::WriterHandle;

/// How often the outbox is polled.
const POLL: Duration = Duration::from_millis(250);
/// Entries taken per round.
const BATCH: usize = 50;
/// Deliveries in flight at once.
const CONCURRENCY: usize = 4;
/// Most outbox entries counted for the depth gauge, and how often (in rounds) it is counted.
const DEPTH_CAP: usize = 10_000;
const DEPTH_EVERY: u64 = 4;

/// The backoff before retry number `attempts` (1 after the first failure): `retry_base`
/// doubling, at most an hour. With the default base of 30 s this is `retry_delay_ms`.
pub fn backoff_ms(cfg: &AlertConfig, attempts: u32) -> i64 {
    let base = i64::try_from(cfg.retry_base.as_millis()).unwrap_or(i64::MAX);
    let exp = attempts.saturating_sub(1).min(20);
    base.saturating_mul(1i64 << exp).min(3_600_000)
}

/// What to record for an attempt of `e` that ended with `result`, at `now`.
pub fn mark_for(
    cfg: &AlertConfig,
    e: &OutboxEntry,
    result: &Result<String, SendError>,
    now: i64,
) -> OutboxMark {
    match result {
        Ok(_) => OutboxMark::Sent,
        Err(SendError::Permanent(m)) => OutboxMark::Failed { error: m.clone() },
        Err(SendError::Retryable(m)) => {
            let attempts = e.attempts.saturating_add(1);
            let age = now.saturating_sub(e.created_ms);
            let max_age = i64::try_from(cfg.max_age.as_millis()).unwrap_or(i64::MAX);
            if attempts >= cfg.max_attempts {
                OutboxMark::Failed {
                    error: format!("{m} (gave up after {attempts} attempts)"),
                }
            } else if age >= max_age {
                OutboxMark::Failed {
                    error: format!("{m} (gave up: undelivered after {} s)", age / 1000),
                }
            } else {
                OutboxMark::Retry {
                    next_attempt_ms: now.saturating_add(backoff_ms(cfg, attempts)),
                    error: m.clone(),
                }
            }
        }
    }
}

pub async fn run(
    cfg: Arc<AlertConfig>,
    db: &StoreBackend,
    writer: WriterHandle,
    metrics: Arc<AlertMetrics>,
    duty: Duty,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let reader = Reader::open(db)?;
    let ctx = Arc::new(SendContext::new(cfg.send_timeout)?);
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rounds: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
        }
        // In a cluster, only the collector holding the `alerts` lease delivers.
        if !duty.leads() {
            continue;
        }
        if rounds.is_multiple_of(DEPTH_EVERY) {
            match reader
                .with(|s| Ok(s.outbox_due(i64::MAX, DEPTH_CAP)?.len()))
                .await
            {
                Ok(n) => metrics.outbox_depth.store(n as u64, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "Cannot count the outbox."),
            }
        }
        rounds += 1;
        if let Err(e) = round(&cfg, &reader, &writer, &metrics, &ctx).await {
            metrics.engine_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %format!("{e:#}"), "Notification delivery round failed.");
        }
    }
}

/// One round: deliver what is due, record the results. Returns how many were attempted.
pub async fn round(
    cfg: &Arc<AlertConfig>,
    reader: &Reader,
    writer: &WriterHandle,
    metrics: &AlertMetrics,
    ctx: &Arc<SendContext>,
) -> Result<usize> {
    let now = crate::timeutil::now_ms();
    let due = reader.with(move |s| Ok(s.outbox_due(now, BATCH)?)).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut jobs = tokio::task::JoinSet::new();
    for e in due.iter().cloned() {
        let (cfg, ctx, permits) = (cfg.clone(), ctx.clone(), permits.clone());
        jobs.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = match (cfg.channel(&e.channel), Envelope::parse(&e.payload)) {
                (None, _) => Err(SendError::Permanent(format!(
                    "channel {:?} is no longer configured",
                    e.channel
                ))),
                (_, Err(m)) => Err(SendError::Permanent(m)),
                (Some(ch), Ok(n)) => send(ch, &n, &ctx).await.map(|d| d.detail),
            };
            (e, result)
        });
    }
    let mut marks = Vec::with_capacity(due.len());
    while let Some(joined) = jobs.join_next().await {
        let (e, result) = joined.map_err(|err| anyhow!("a delivery task failed: {err}"))?;
        let now = crate::timeutil::now_ms();
        let mark = mark_for(cfg, &e, &result, now);
        match (&mark, &result) {
            (OutboxMark::Sent, Ok(detail)) => {
                metrics.delivery(&e.channel, Outcome::Sent);
                tracing::info!(channel = %e.channel, key = %e.dedupe_key, detail = %detail, "Notification sent.");
            }
            (
                OutboxMark::Retry {
                    next_attempt_ms,
                    error,
                },
                _,
            ) => {
                metrics.delivery(&e.channel, Outcome::Retried);
                tracing::warn!(channel = %e.channel, key = %e.dedupe_key, error = %error,
                    retry_in_ms = next_attempt_ms - now, "Notification not delivered; will retry.");
            }
            (OutboxMark::Failed { error }, _) => {
                metrics.delivery(&e.channel, Outcome::Failed);
                tracing::error!(channel = %e.channel, key = %e.dedupe_key, error = %error,
                    "Notification failed for good; not retried.");
            }
            _ => {}
        }
        marks.push((e.id, mark, now));
    }
    let n = marks.len();
    writer
        .with_store(
            move |s: &mut dyn Store| -> Result<(), tern_store::StoreError> {
                for (id, mark, at) in &marks {
                    s.outbox_mark(*id, mark, *at)?;
                }
                Ok(())
            },
        )
        .await
        .map_err(|e| anyhow!("{e}"))??;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_store::OutboxState;

    fn entry(attempts: u32, created_ms: i64) -> OutboxEntry {
        OutboxEntry {
            id: 1,
            dedupe_key: "k@c".into(),
            channel: "c".into(),
            payload: String::new(),
            created_ms,
            attempts,
            next_attempt_ms: 0,
            state: OutboxState::Pending,
            last_error: None,
            sent_ms: None,
        }
    }

    #[test]
    fn retries_back_off_and_give_up() {
        let cfg = AlertConfig::default();
        assert_eq!(backoff_ms(&cfg, 1), tern_store::retry_delay_ms(1));
        assert_eq!(backoff_ms(&cfg, 3), tern_store::retry_delay_ms(3));
        assert_eq!(backoff_ms(&cfg, 30), 3_600_000);
        let retry = Err(SendError::Retryable("HTTP 500".into()));
        assert_eq!(
            mark_for(&cfg, &entry(0, 0), &retry, 1000),
            OutboxMark::Retry {
                next_attempt_ms: 31_000,
                error: "HTTP 500".into()
            }
        );
        assert!(matches!(
            mark_for(&cfg, &entry(9, 0), &retry, 1000),
            OutboxMark::Failed { .. }
        ));
        assert!(matches!(
            mark_for(&cfg, &entry(1, 0), &retry, 25 * 3_600_000),
            OutboxMark::Failed { .. }
        ));
        let gone = Err(SendError::Permanent("HTTP 410".into()));
        assert_eq!(
            mark_for(&cfg, &entry(0, 0), &gone, 1),
            OutboxMark::Failed {
                error: "HTTP 410".into()
            }
        );
        assert_eq!(
            mark_for(&cfg, &entry(0, 0), &Ok("HTTP 200".into()), 1),
            OutboxMark::Sent
        );
    }
}
