//! Dashboard sessions: a random id in an `HttpOnly; SameSite=Strict` cookie, looked up in a
//! server-side map with an absolute expiry, and a per-session CSRF token that every
//! state-changing request made with the cookie must echo in [`CSRF_HEADER`].
//!
//! The map is keyed by the SHA-256 of the session id, so a lookup never compares secrets
//! byte by byte and the map itself holds nothing a leaked heap dump could replay.

use std::collections::HashMap;

use axum::http::{header, HeaderMap};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const COOKIE: &str = "tern_session";
pub const CSRF_HEADER: &str = "x-tern-csrf";

/// How long a session lasts from login (absolute, not sliding).
pub const TTL_MS: i64 = 12 * 3_600_000;
/// Most sessions held at once; past it, the one closest to expiry is dropped.
const MAX_SESSIONS: usize = 10_000;

struct Session {
    csrf: String,
    expires_ms: i64,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// A new session: `(id, csrf)`.
pub struct NewSession {
    pub id: String,
    pub csrf: String,
}

impl Sessions {
    /// Open a session that expires `TTL_MS` after `now_ms`.
    pub fn create(&self, now_ms: i64) -> NewSession {
        let s = NewSession {
            id: super::new_token(),
            csrf: super::new_token(),
        };
        if let Ok(mut m) = self.map.lock() {
            m.retain(|_, v| v.expires_ms > now_ms);
            if m.len() >= MAX_SESSIONS {
                let oldest = m.iter().min_by_key(|(_, v)| v.expires_ms).map(|(k, _)| *k);
                if let Some(k) = oldest {
                    m.remove(&k);
                }
            }
            m.insert(
                key(&s.id),
                Session {
                    csrf: s.csrf.clone(),
                    expires_ms: now_ms + TTL_MS,
                },
            );
        }
        s
    }

    /// The CSRF token of a live session.
    pub fn csrf(&self, id: &str, now_ms: i64) -> Option<String> {
        let m = self.map.lock().ok()?;
        m.get(&key(id))
            .filter(|s| s.expires_ms > now_ms)
            .map(|s| s.csrf.clone())
    }

    /// Whether `id` is a live session and `csrf` its token (constant time).
    pub fn check_csrf(&self, id: &str, csrf: &str, now_ms: i64) -> bool {
        self.csrf(id, now_ms).is_some_and(|t| {
            t.len() == csrf.len() && bool::from(t.as_bytes().ct_eq(csrf.as_bytes()))
        })
    }

    pub fn remove(&self, id: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(&key(id));
        }
    }
}

/// The session id from a `Cookie` header, if any.
pub fn cookie_value(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The `Set-Cookie` value for a session (`secure`: add `Secure`).
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        TTL_MS / 1000,
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that clears the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A cross-site request: an `Origin` header naming another host than `Host`. Browsers send
/// `Origin` on every POST, so this stops cross-site form posts even where SameSite cannot
/// (login itself, before there is a cookie).
pub fn cross_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sessions_expire_and_check_csrf() {
        let s = Sessions::default();
        let n = s.create(1_000);
        assert!(s.check_csrf(&n.id, &n.csrf, 2_000));
        assert!(!s.check_csrf(&n.id, "x", 2_000));
        assert!(!s.check_csrf("other", &n.csrf, 2_000));
        assert!(!s.check_csrf(&n.id, &n.csrf, 1_000 + TTL_MS));
        s.remove(&n.id);
        assert!(s.csrf(&n.id, 2_000).is_none());
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=b; tern_session=abc; c=d".parse().unwrap(),
        );
        assert_eq!(cookie_value(&h), Some("abc"));
        assert!(set_cookie("x", true).ends_with("; Secure"));
        assert!(!set_cookie("x", false).contains("Secure"));
    }
}
