//! Slowing password guessing at `POST /ui/login`: every failed login is answered only after
//! [`FAIL_DELAY`], a name with [`MAX_FAILURES`] failures within [`WINDOW_MS`] is refused (429)
//! until the window ends, and at most two password checks (Argon2, deliberately costly) run
//! at once, so a flood of logins cannot take the server's cores.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Semaphore;

pub const WINDOW_MS: i64 = 60_000;
pub const MAX_FAILURES: u32 = 5;
pub const FAIL_DELAY: Duration = Duration::from_millis(500);
/// Most names tracked at once; past it, the oldest window is dropped.
const MAX_KEYS: usize = 10_000;

pub struct Throttle {
    /// Name → (failures, start of the window).
    failures: Mutex<HashMap<String, (u32, i64)>>,
    /// Password checks running at once.
    pub checks: Semaphore,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            failures: Mutex::new(HashMap::new()),
            checks: Semaphore::new(2),
        }
    }
}

/// The key a name is counted under (names are short; a long one is cut).
fn key(name: &str) -> String {
    name.chars().take(64).collect::<String>().to_lowercase()
}

impl Throttle {
    /// Seconds until `name` may try again, if it is locked out at `now_ms`.
    pub fn blocked(&self, name: &str, now_ms: i64) -> Option<i64> {
        let m = self.failures.lock().ok()?;
        let &(n, start) = m.get(&key(name))?;
        let end = start + WINDOW_MS;
        (n >= MAX_FAILURES && now_ms < end).then(|| ((end - now_ms) + 999) / 1000)
    }

    pub fn failed(&self, name: &str, now_ms: i64) {
        let Ok(mut m) = self.failures.lock() else {
            return;
        };
        if m.len() >= MAX_KEYS {
            m.retain(|_, (_, start)| *start + WINDOW_MS > now_ms);
            if m.len() >= MAX_KEYS {
                let oldest = m.iter().min_by_key(|(_, v)| v.1).map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    m.remove(&k);
                }
            }
        }
        let e = m.entry(key(name)).or_insert((0, now_ms));
        if e.1 + WINDOW_MS <= now_ms {
            *e = (0, now_ms);
        }
        e.0 += 1;
    }

    pub fn succeeded(&self, name: &str) {
        if let Ok(mut m) = self.failures.lock() {
            m.remove(&key(name));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn locks_out_after_failures_until_the_window_ends() {
        let t = Throttle::default();
        for i in 0..MAX_FAILURES {
            assert_eq!(t.blocked("Alice", 1_000 + i64::from(i)), None);
            t.failed("alice", 1_000 + i64::from(i));
        }
        assert_eq!(t.blocked("ALICE", 2_000), Some(59));
        assert_eq!(t.blocked("bob", 2_000), None);
        assert_eq!(t.blocked("alice", 1_000 + WINDOW_MS), None);
        t.failed("alice", 1_000 + WINDOW_MS);
        assert_eq!(t.blocked("alice", 1_000 + WINDOW_MS + 1), None);
        t.succeeded("alice");
        assert_eq!(t.blocked("alice", 2_000), None);
        // Many names stay bounded.
        for i in 0..(MAX_KEYS + 10) {
            t.failed(&format!("u{i}"), 5_000);
        }
        assert!(t.failures.lock().unwrap().len() <= MAX_KEYS);
    }
}
