//! `tern.toml`: what the user wrote, validated once into settings that cannot be invalid.
//!
//! `Raw*` structs mirror the file (unknown keys are errors, so a typo never silently turns a
//! feature off); [`Config`] is what the rest of the binary takes: parsed durations, parsed
//! addresses, compiled globs, token hashes. Secrets only ever exist here as SHA-256 hashes,
//! and [`TokenHash`]'s `Debug` does not print even those.
//!
//! ```toml
//! [store]
//! path = "/var/lib/tern/tern.db"
//!
//! [server]
//! listen = "127.0.0.1:8080"
//!
//! [auth]
//! # `tern token` makes a token and prints the line to paste here.
//! api_tokens = ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
//! ingest_keys = ["sha256:…"]
//!
//! [retention]
//! raw = "14d"
//! rollups = "400d"
//!
//! [[accounts]]
//! name = "prod"
//! profile = "prod"
//! regions = ["us-east-1", "eu-west-1"]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::alert::channels::{parse_channels, RawChannel};
use crate::alert::rules::{self, AlertConfig, RawAlerts, RawErrorPolicy, RawPolicy};

/// The whole validated configuration. `Config::default()` is what `tern serve` runs with when
/// there is no file: serve the database, accept pushes, pull nothing.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file was read from (`None`: defaults only).
    pub source: Option<PathBuf>,
    pub store_path: Option<PathBuf>,
    pub server: Server,
    pub auth: Auth,
    pub retention: Retention,
    pub inventory: Inventory,
    pub pull: Pull,
    pub accounts: Vec<Account>,
    /// `[alerts]`, `[[channels]]`, `[[policies]]`, `[[error_policies]]`.
    pub alerts: AlertConfig,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Invocations and raw log lines older than this are deleted. `None`: kept forever.
    pub raw: Option<Duration>,
    /// Rollups older than this are deleted. `None`: kept forever.
    pub rollups: Option<Duration>,
    /// How often retention runs.
    pub interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inventory {
    pub refresh: Duration,
}

#[derive(Debug, Clone)]
pub struct Pull {
    pub enabled: bool,
    /// Where a log group with no checkpoint starts: this far before now.
    pub since: Duration,
    /// Re-read this much before the checkpoint on every poll, for late-arriving events.
    pub lookback: Duration,
    /// Pause between polls of one log group with `--follow` / in `tern serve`.
    pub poll: Duration,
    /// FilterLogEvents requests per second, per account and region (AWS allows 5).
    pub requests_per_second: f64,
    pub functions: Globs,
}

/// Compiled function-name globs, with the patterns kept for messages.
#[derive(Debug, Clone)]
pub struct Globs {
    pub patterns: Vec<String>,
    set: GlobSet,
}

impl Globs {
    pub fn new(patterns: &[String], what: &str) -> Result<Globs> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            b.add(Glob::new(p).with_context(|| format!("{what}: bad glob {p:?}"))?);
        }
        Ok(Globs {
            patterns: patterns.to_vec(),
            set: b.build().with_context(|| format!("{what}: bad globs"))?,
        })
    }

    pub fn all() -> Globs {
        Globs::new(&["*".to_string()], "functions").unwrap_or_else(|_| Globs {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        self.set.is_match(name)
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    /// A short name for messages and checkpoint keys.
    pub name: String,
    /// Named profile (`~/.aws/config`), SSO and credential_process included. `None`: the
    /// default credential chain.
    pub profile: Option<String>,
    pub regions: Vec<String>,
    pub endpoint_url: Option<String>,
    /// Functions of this account to watch.
    pub functions: Globs,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            store_path: None,
            server: Server {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                max_body_bytes: 16 << 20,
                max_decompressed_bytes: 256 << 20,
                ingest_queue: 4,
            },
            auth: Auth::default(),
            retention: Retention {
                raw: Some(Duration::from_secs(30 * 86_400)),
                rollups: Some(Duration::from_secs(400 * 86_400)),
                interval: Duration::from_secs(3_600),
            },
            inventory: Inventory {
                refresh: Duration::from_secs(15 * 60),
            },
            pull: Pull {
                enabled: true,
                since: Duration::from_secs(3_600),
                lookback: Duration::from_secs(120),
                poll: Duration::from_secs(30),
                requests_per_second: 4.0,
                functions: Globs::all(),
            },
            accounts: Vec::new(),
            alerts: AlertConfig::default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The file as written.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    auth: RawAuth,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    inventory: RawInventory,
    #[serde(default)]
    pull: RawPull,
    #[serde(default)]
    accounts: Vec<RawAccount>,
    #[serde(default)]
    alerts: RawAlerts,
    #[serde(default)]
    channels: Vec<RawChannel>,
    #[serde(default)]
    policies: Vec<RawPolicy>,
    #[serde(default)]
    error_policies: Vec<RawErrorPolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    max_body_mb: Option<u64>,
    max_decompressed_mb: Option<u64>,
    ingest_queue: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    #[serde(default)]
    api_tokens: Vec<String>,
    #[serde(default)]
    ingest_keys: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    raw: Option<String>,
    rollups: Option<String>,
    interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory {
    refresh: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPull {
    enabled: Option<bool>,
    since: Option<String>,
    lookback: Option<String>,
    poll: Option<String>,
    requests_per_second: Option<f64>,
    functions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: String,
    profile: Option<String>,
    regions: Vec<String>,
    endpoint_url: Option<String>,
    functions: Option<Vec<String>>,
}

/// Largest config file read (a config is a few KB; this guards against pointing at a log).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

impl Config {
    /// Read and validate a config file. Every error names the file and the key.
    pub fn load(path: &Path) -> Result<Config> {
        let shown = path.display();
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {shown}"))?;
        if !meta.is_file() {
            bail!("{shown} is not a file");
        }
        if meta.len() > MAX_CONFIG_BYTES {
            bail!(
                "{shown} is {} bytes; a config file is at most {MAX_CONFIG_BYTES}",
                meta.len()
            );
        }
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {shown}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| anyhow!("{shown}: not UTF-8 (byte {})", e.utf8_error().valid_up_to()))?;
        let mut c = Config::parse(&text).with_context(|| format!("in {shown}"))?;
        c.source = Some(path.to_path_buf());
        Ok(c)
    }

    /// Parse and validate config text.
    pub fn parse(text: &str) -> Result<Config> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))?;
        let d = Config::default();
        let server = Server {
            listen: match &raw.server.listen {
                Some(l) => parse_listen(l).context("server.listen")?,
                None => d.server.listen,
            },
            max_body_bytes: mb(
                raw.server.max_body_mb,
                d.server.max_body_bytes,
                "server.max_body_mb",
                1024,
            )?,
            max_decompressed_bytes: mb(
                raw.server.max_decompressed_mb,
                d.server.max_decompressed_bytes,
                "server.max_decompressed_mb",
                16 * 1024,
            )?,
            ingest_queue: match raw.server.ingest_queue {
                None => d.server.ingest_queue,
                Some(n @ 1..=1024) => n as usize,
                Some(n) => bail!("server.ingest_queue = {n}: use 1 to 1024 batches"),
            },
        };
        if server.max_decompressed_bytes < server.max_body_bytes {
            bail!("server.max_decompressed_mb is smaller than server.max_body_mb");
        }
        let hashes = |list: &[String], key: &str| -> Result<Vec<TokenHash>> {
            list.iter()
                .enumerate()
                .map(|(i, s)| {
                    TokenHash::parse(s).ok_or_else(|| {
                        anyhow!(
                            "{key}[{i}] is not \"sha256:<64 hex digits>\" (run `tern token` to make one; \
                             the token itself never goes in the file)"
                        )
                    })
                })
                .collect()
        };
        let auth = Auth {
            api_tokens: hashes(&raw.auth.api_tokens, "auth.api_tokens")?,
            ingest_keys: hashes(&raw.auth.ingest_keys, "auth.ingest_keys")?,
        };
        let retention = Retention {
            raw: age(
                raw.retention.raw.as_deref(),
                d.retention.raw,
                "retention.raw",
            )?,
            rollups: age(
                raw.retention.rollups.as_deref(),
                d.retention.rollups,
                "retention.rollups",
            )?,
            interval: duration_or(
                raw.retention.interval.as_deref(),
                d.retention.interval,
                "retention.interval",
            )?,
        };
        if let (Some(r), Some(u)) = (retention.raw, retention.rollups) {
            if u < r {
                bail!(
                    "retention.rollups ({}) is shorter than retention.raw ({}): rollups must outlive \
                     the raw data they summarize",
                    humantime::format_duration(u),
                    humantime::format_duration(r)
                );
            }
        }
        min_duration(retention.interval, 60, "retention.interval")?;
        let inventory = Inventory {
            refresh: duration_or(
                raw.inventory.refresh.as_deref(),
                d.inventory.refresh,
                "inventory.refresh",
            )?,
        };
        min_duration(inventory.refresh, 10, "inventory.refresh")?;
        let pull = Pull {
            enabled: raw.pull.enabled.unwrap_or(true),
            since: duration_or(raw.pull.since.as_deref(), d.pull.since, "pull.since")?,
            lookback: duration_or(raw.pull.lookback.as_deref(), d.pull.lookback, "pull.lookback")?,
            poll: duration_or(raw.pull.poll.as_deref(), d.pull.poll, "pull.poll")?,
            requests_per_second: match raw.pull.requests_per_second {
                None => d.pull.requests_per_second,
                Some(r) if r > 0.0 && r <= 5.0 => r,
                Some(r) => bail!(
                    "pull.requests_per_second = {r}: FilterLogEvents allows at most 5 per second per \
                     account and region; use a number in (0, 5]"
                ),
            },
            functions: match &raw.pull.functions {
                Some(f) => Globs::new(f, "pull.functions")?,
                None => Globs::all(),
            },
        };
        min_duration(pull.poll, 1, "pull.poll")?;
        let mut accounts = Vec::new();
        for (i, a) in raw.accounts.into_iter().enumerate() {
            let key = format!("accounts[{i}]");
            if a.name.is_empty()
                || !a
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                bail!(
                    "{key}.name = {:?}: use letters, digits, '-' and '_'",
                    a.name
                );
            }
            if accounts.iter().any(|x: &Account| x.name == a.name) {
                bail!("{key}.name = {:?} is used twice", a.name);
            }
            if a.regions.is_empty() {
                bail!("{key}.regions is empty: name at least one region, e.g. [\"us-east-1\"]");
            }
            for r in &a.regions {
                check_region(r).with_context(|| format!("{key}.regions"))?;
            }
            if let Some(u) = &a.endpoint_url {
                check_endpoint(u).with_context(|| format!("{key}.endpoint_url"))?;
            }
            let functions = match &a.functions {
                Some(f) => Globs::new(f, &format!("{key}.functions"))?,
                None => pull.functions.clone(),
            };
            accounts.push(Account {
                name: a.name,
                profile: a.profile.filter(|p| !p.is_empty()),
                regions: a.regions,
                endpoint_url: a.endpoint_url,
                functions,
            });
        }
        let channels = parse_channels(&raw.channels)?;
        let alerts = rules::parse(&raw.alerts, channels, &raw.policies, &raw.error_policies)?;
        Ok(Config {
            source: None,
            store_path: raw.store.path,
            server,
            auth,
            retention,
            inventory,
            pull,
            accounts,
            alerts,
        })
    }
}

pub fn parse_listen(s: &str) -> Result<SocketAddr> {
    s.parse::<SocketAddr>()
        .map_err(|_| anyhow!("{s:?} is not an address and port such as 127.0.0.1:8080"))
}

/// An AWS region name: lowercase letters, digits and dashes, e.g. `us-east-1`.
pub fn check_region(r: &str) -> Result<()> {
    let ok = !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && r.contains('-');
    if ok {
        Ok(())
    } else {
        bail!("{r:?} is not a region name such as us-east-1")
    }
}

pub fn check_endpoint(u: &str) -> Result<()> {
    if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() < 10 {
        bail!("{u:?} is not an http:// or https:// URL");
    }
    Ok(())
}

fn mb(v: Option<u64>, default: usize, key: &str, max_mb: u64) -> Result<usize> {
    match v {
        None => Ok(default),
        Some(n @ 1..) if n <= max_mb => Ok((n as usize) << 20),
        Some(n) => bail!("{key} = {n}: use 1 to {max_mb}"),
    }
}

/// A duration such as `14d`, `90m`, `1h 30m`.
pub fn parse_duration(s: &str, key: &str) -> Result<Duration> {
    humantime::parse_duration(s.trim())
        .map_err(|e| anyhow!("{key} = {s:?}: {e} (write durations like \"30s\", \"15m\", \"14d\")"))
}

fn duration_or(v: Option<&str>, default: Duration, key: &str) -> Result<Duration> {
    v.map_or(Ok(default), |s| parse_duration(s, key))
}

/// An age, or `"forever"` / `"0"` for none.
fn age(v: Option<&str>, default: Option<Duration>, key: &str) -> Result<Option<Duration>> {
    match v.map(str::trim) {
        None => Ok(default),
        Some("forever") | Some("0") => Ok(None),
        Some(s) => {
            let d = parse_duration(s, key)?;
            if d < Duration::from_secs(3_600) {
                bail!("{key} = {s:?}: keep data at least an hour (or \"forever\")");
            }
            Ok(Some(d))
        }
    }
}

fn min_duration(d: Duration, secs: u64, key: &str) -> Result<()> {
    if d < Duration::from_secs(secs) {
        bail!(
            "{key} = {}: at least {secs} s",
            humantime::format_duration(d)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn err(text: &str) -> String {
        format!("{:#}", Config::parse(text).unwrap_err())
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.server.listen.to_string(), DEFAULT_LISTEN);
        assert!(c.accounts.is_empty());
        assert_eq!(c.retention.raw, Some(Duration::from_secs(30 * 86_400)));
        assert!(c.pull.functions.matches("anything"));
    }

    #[test]
    fn full_example_parses() {
        let hash = TokenHash::of("secret").render();
        let c = Config::parse(&format!(
            r#"
[store]
path = "/tmp/t.db"
[server]
listen = "0.0.0.0:9000"
max_body_mb = 8
[auth]
api_tokens = ["{hash}"]
ingest_keys = ["{hash}"]
[retention]
raw = "7d"
rollups = "forever"
[inventory]
refresh = "5m"
[pull]
since = "2h"
lookback = "1m"
requests_per_second = 2.5
functions = ["orders-*", "billing"]
[[accounts]]
name = "prod"
profile = "prod-sso"
regions = ["us-east-1", "eu-west-1"]
[[accounts]]
name = "test"
regions = ["us-east-1"]
endpoint_url = "http://127.0.0.1:5000"
functions = ["*"]
"#
        ))
        .unwrap();
        assert_eq!(c.store_path.as_deref(), Some(Path::new("/tmp/t.db")));
        assert_eq!(c.server.max_body_bytes, 8 << 20);
        assert!(TokenHash::matches_any(&c.auth.api_tokens, "secret"));
        assert!(!TokenHash::matches_any(&c.auth.api_tokens, "secreT"));
        assert_eq!(c.retention.rollups, None);
        assert_eq!(c.accounts.len(), 2);
        assert!(c.accounts[0].functions.matches("orders-api"));
        assert!(!c.accounts[0].functions.matches("payments"));
        assert!(c.accounts[1].functions.matches("payments"));
        assert_eq!(c.accounts[0].profile.as_deref(), Some("prod-sso"));
    }

    #[test]
    fn every_bad_key_is_named() {
        for (text, needle) in [
            ("[server]\nlisten = \"localhost\"", "server.listen"),
            ("[server]\nlisten = 8080", "listen"),
            ("[server]\nmax_body_mb = 0", "server.max_body_mb"),
            ("[server]\nlistne = \"x\"", "unknown field `listne`"),
            ("[auth]\napi_tokens = [\"hunter2\"]", "auth.api_tokens[0]"),
            ("[retention]\nraw = \"soon\"", "retention.raw"),
            ("[retention]\nraw = \"30d\"\nrollups = \"7d\"", "retention.rollups"),
            ("[retention]\nraw = \"5m\"", "at least an hour"),
            ("[pull]\nrequests_per_second = 10", "at most 5 per second"),
            ("[pull]\nrequests_per_second = -1", "pull.requests_per_second"),
            ("[pull]\nfunctions = [\"[\"]", "pull.functions"),
            ("[pull]\npoll = \"0s\"", "pull.poll"),
            ("[[accounts]]\nname = \"a\"\nregions = []", "accounts[0].regions"),
            ("[[accounts]]\nname = \"a\"\nregions = [\"US EAST\"]", "accounts[0].regions"),
            ("[[accounts]]\nname = \"a b\"\nregions = [\"us-east-1\"]", "accounts[0].name"),
            (
                "[[accounts]]\nname = \"a\"\nregions = [\"us-east-1\"]\n[[accounts]]\nname = \"a\"\nregions = [\"us-east-1\"]",
                "used twice",
            ),
            (
                "[[accounts]]\nname = \"a\"\nregions = [\"us-east-1\"]\nendpoint_url = \"ftp://x\"",
                "accounts[0].endpoint_url",
            ),
            ("[[accounts]]\nregions = [\"us-east-1\"]", "missing field `name`"),
            ("not toml at all [", "TOML"),
            ("[alerts]\nevaluate_every = \"0s\"", "alerts.evaluate_every"),
            ("[alerts]\nevaluate_evry = \"1m\"", "unknown field `evaluate_evry`"),
            ("[alerts]\ndisable_builtin = [\"builtin.memroy\"]", "alerts.disable_builtin[0]"),
            ("[alerts]\ndefault_channels = [\"ops\"]", "alerts.default_channels[0]"),
            ("[alerts]\ndashboard_url = \"tern.example.com\"", "alerts.dashboard_url"),
            ("[alerts]\nresolve_after = \"10ms\"", "alerts.resolve_after"),
            ("[alerts]\nmax_attempts = 0", "alerts.max_attempts"),
            ("[[channels]]\nname = \"x\"\ntype = \"pager\"", "channels[0].type"),
            ("[[policies]]\nname = \"p\"\nthreshold = 1", "policies[0].metric"),
            ("[[policies]]\nname = \"p\"\nmetric = \"latency\"\nthreshold = 1", "policies[0].metric"),
            ("[[policies]]\nname = \"p\"\nmetric = \"errors\"", "policies[0].threshold"),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\naggregation = \"p99\"",
                "policies[0]: aggregation p99",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\ncomparison = \"=\"",
                "policies[0].comparison",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\nwindow = \"soon\"",
                "policies[0].window",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\nchannels = [\"ops\"]",
                "policies[0].channels[0]",
            ),
            (
                "[[policies]]\nname = \"builtin.x\"\nmetric = \"errors\"\nthreshold = 1",
                "reserved",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\nseverity = \"huge\"",
                "policies[0].severity",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\n[[error_policies]]\nname = \"p\"\non = \"new\"",
                "error_policies[0].name",
            ),
            ("[[error_policies]]\nname = \"e\"\non = \"sometimes\"", "error_policies[0].on"),
            ("[[error_policies]]\nname = \"e\"\non = \"new\"\ncooldown = \"x\"", "error_policies[0].cooldown"),
            ("[[error_policies]]\nname = \"e\"\non = \"new\"\nfoo = 1", "unknown field `foo`"),
        ] {
            let e = err(text);
            assert!(e.contains(needle), "{text:?}: {e:?} lacks {needle:?}");
        }
    }

    #[test]
    fn alerts_example_parses() {
        let c = Config::parse(
            r#"
[alerts]
evaluate_every = "1s"
disable_builtin = ["builtin.memory"]
default_channels = ["ops-slack"]
dashboard_url = "https://tern.example.com/"
resolve_after = "2s"
resolve_after_evals = 2
retry_base = "200ms"
[[channels]]
name = "ops-slack"
type = "slack"
webhook_url = "https://hooks.slack.com/services/T/B/x"
[[channels]]
name = "pager"
type = "webhook"
url = "https://example.com/h"
secret = "0123456789abcdef0123"
[[policies]]
name = "checkout-errors"
functions = ["checkout-*"]
tags = { team = "pay" }
metric = "error_rate"
comparison = ">="
threshold = 0.05
window = "10m"
min_invocations = 20
severity = "critical"
channels = ["pager"]
[[error_policies]]
name = "every"
on = "every"
cooldown = "30m"
"#,
        )
        .unwrap();
        let a = &c.alerts;
        assert_eq!(a.evaluate_every, Duration::from_secs(1));
        assert_eq!(a.dashboard_url.as_deref(), Some("https://tern.example.com"));
        assert_eq!(a.damping.resolve_after_ms, 2000);
        assert_eq!(a.damping.resolve_after_evals, 2);
        assert_eq!(a.retry_base, Duration::from_millis(200));
        assert_eq!(a.policies[0].channels, ["pager"]);
        assert_eq!(a.policies[0].policy.window_ms, 600_000);
        assert_eq!(
            a.policies[0].policy.target.tags,
            [("team".to_string(), "pay".to_string())]
        );
        assert_eq!(a.error_policies[0].channels, ["ops-slack"]);
        assert_eq!(a.error_policies[0].policy.cooldown_ms, 1_800_000);
        let (rules, _) = crate::alert::rules::Rules::effective(a, &[]);
        let memory = rules.find_metric("builtin.memory").unwrap();
        assert!(!memory.policy.enabled);
        // Secrets stay out of Debug.
        assert!(!format!("{c:?}").contains("0123456789abcdef0123"));
        assert!(!format!("{c:?}").contains("services/T/B/x"));
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        assert!(format!("{:#}", Config::load(&missing).unwrap_err()).contains("nope.toml"));
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; (MAX_CONFIG_BYTES + 1) as usize]).unwrap();
        assert!(format!("{:#}", Config::load(&big).unwrap_err()).contains("at most"));
        let bin = dir.path().join("bin.toml");
        std::fs::write(&bin, b"a = \"\xff\"").unwrap();
        assert!(format!("{:#}", Config::load(&bin).unwrap_err()).contains("not UTF-8"));
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[server]\nlisten = \"nowhere\"\n").unwrap();
        let e = format!("{:#}", Config::load(&bad).unwrap_err());
        assert!(e.contains("bad.toml") && e.contains("server.listen"), "{e}");
        assert!(format!("{:#}", Config::load(dir.path()).unwrap_err()).contains("not a file"));
    }

    #[test]
    fn token_hashes_round_trip_and_hide() {
        let h = TokenHash::of("abc");
        assert_eq!(TokenHash::parse(&h.render()), Some(h.clone()));
        assert_eq!(format!("{h:?}"), "TokenHash(<redacted>)");
        assert!(TokenHash::parse("sha256:zz").is_none());
        assert!(TokenHash::parse(&"sha256:".repeat(2)).is_none());
        assert!(TokenHash::parse(&format!("sha256:{}", "é".repeat(32))).is_none());
        assert!(!TokenHash::matches_any(&[], "abc"));
    }
}
