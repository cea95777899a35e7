//! The client-side rate limit for FilterLogEvents: one token bucket per account and region,
//! shared by every log group puller of that account and region.
//!
//! AWS allows 5 FilterLogEvents per second per account and region, and the quota cannot be
//! raised. The bucket holds at most one token and refills at `rate` per second, so no window of
//! one second ever sees more than `rate + 1` requests (5 at the default 4/s), however many log
//! groups wait. Waiters are served in arrival order: each takes a reservation under the lock
//! and sleeps until its slot, so a busy log group cannot starve the others.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    /// Seconds between two tokens.
    interval: Duration,
    /// When the next token is free. In the past: a token is waiting (at most one).
    next_free: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// `rate` requests per second (values ≤ 0 or not finite mean one per second).
    pub fn new(rate: f64) -> RateLimiter {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / rate.max(1e-3)),
            next_free: Mutex::new(None),
        }
    }

    /// Wait for a token.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next_free.lock().await;
            let now = Instant::now();
            // A bucket of one token: idle time never saves up more than one request.
            let slot = match *next {
                Some(t) if t > now => t,
                _ => now,
            };
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paces_requests_at_the_rate() {
        let l = RateLimiter::new(4.0);
        let t0 = Instant::now();
        for _ in 0..9 {
            l.acquire().await;
        }
        // The first is immediate, then one every 250 ms.
        assert_eq!(t0.elapsed(), Duration::from_millis(2000));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_does_not_save_up_a_burst() {
        let l = RateLimiter::new(4.0);
        l.acquire().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let t0 = Instant::now();
        for _ in 0..5 {
            l.acquire().await;
        }
        // One token was waiting; the other four come at the rate.
        assert_eq!(t0.elapsed(), Duration::from_millis(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn shared_by_many_tasks_never_exceeds_five_in_any_second() {
        let l = Arc::new(RateLimiter::new(4.0));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..6 {
                    l.acquire().await;
                    times.push(t0.elapsed());
                }
                times
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort();
        assert_eq!(all.len(), 60);
        for (i, t) in all.iter().enumerate() {
            let in_window = all[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(
                in_window <= 5,
                "{in_window} requests in the second after {t:?}"
            );
        }
        // 60 requests at 4/s: the last one 59 intervals after the first.
        assert_eq!(*all.last().unwrap(), Duration::from_millis(59 * 250));
    }

    #[test]
    fn odd_rates_do_not_panic() {
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-9] {
            let _ = RateLimiter::new(r);
        }
    }
}
