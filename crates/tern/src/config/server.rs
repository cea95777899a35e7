//! `[server]`, `[auth]` and `[dashboard]`: where `tern serve` listens and who may use it.

use std::net::SocketAddr;

use anyhow::{anyhow, Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct Server {
    pub listen: SocketAddr,
    /// Largest request body accepted on the ingest endpoints, as sent (compressed).
    pub max_body_bytes: usize,
    /// Largest size one request may inflate to, all gzip layers together.
    pub max_decompressed_bytes: usize,
    /// Ingest batches waiting for the store writer before pushes are answered 503.
    pub ingest_queue: usize,
}

/// Token hashes. Requests carry the token; the server hashes it and compares in constant time.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub api_tokens: Vec<TokenHash>,
    pub ingest_keys: Vec<TokenHash>,
    /// `[[dashboard.users]]`: who may log in to the dashboard with a name and password.
    pub users: Vec<DashboardUser>,
}

/// A dashboard login: a name and the Argon2 hash of its password (`tern passwd`).
#[derive(Debug, Clone)]
pub struct DashboardUser {
    pub name: String,
    pub password_hash: crate::password::PasswordHashString,
}

/// A SHA-256 hash of a secret token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// `sha256:<64 hex digits>`.
    pub fn parse(s: &str) -> Option<TokenHash> {
        let hex = s.strip_prefix("sha256:")?;
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(TokenHash(out))
    }

    pub fn render(&self) -> String {
        let mut s = String::from("sha256:");
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// Whether `token` hashes to one of `hashes`. Every hash is compared, each in constant
    /// time, so timing tells nothing about which one (or how much of one) matched.
    pub fn matches_any(hashes: &[TokenHash], token: &str) -> bool {
        use subtle::ConstantTimeEq;
        let h = TokenHash::of(token);
        let mut ok = subtle::Choice::from(0);
        for known in hashes {
            ok |= known.0.ct_eq(&h.0);
        }
        ok.into()
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDashboard {
    #[serde(default)]
    pub(super) users: Vec<RawUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUser {
    pub(super) name: String,
    pub(super) password_hash: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<String>,
    pub(super) max_body_mb: Option<u64>,
    pub(super) max_decompressed_mb: Option<u64>,
    pub(super) ingest_queue: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    #[serde(default)]
    pub(super) api_tokens: Vec<String>,
    #[serde(default)]
    pub(super) ingest_keys: Vec<String>,
}

pub fn parse_listen(s: &str) -> Result<SocketAddr> {
    let bad =
        || anyhow!("{s:?} is not an address and port such as 127.0.0.1:8080 or localhost:8080");
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.eq_ignore_ascii_case("localhost") {
        // The loopback address, whatever the resolver would say: never a public interface.
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(bad());
    }
    use std::net::ToSocketAddrs as _;
    let mut addrs = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("{s:?}: cannot resolve the host name {host:?}"))?;
    addrs
        .next()
        .ok_or_else(|| anyhow!("{s:?}: the host name {host:?} has no address"))
}
