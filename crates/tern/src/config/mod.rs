//! `tern.toml`: what the user wrote, validated once into settings that cannot be invalid.
//!
//! `Raw*` structs mirror the file (unknown keys are errors, so a typo never silently turns a
//! feature off); [`Config`] is what the rest of the binary takes: parsed durations, parsed
//! addresses, compiled globs, token hashes. Secrets only ever exist here as SHA-256 hashes,
//! and [`TokenHash`]'s `Debug` does not print even those.
//!
//! ```toml
//! [store]
//! path = "/var/lib/tern/tern.db"   # or backend = "clickhouse", url = "http://…:8123", …
//!
//! [cluster]
//! collectors = ["a", "b"]          # several `tern serve` sharing the store
//!
//! [server]
//! listen = "127.0.0.1:8080"
//!
//! [auth]
//! # `tern token` makes a token and prints the line to paste here.
//! api_tokens = ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
//! ingest_keys = ["sha256:…"]
//!
//! [retention]                    # nothing is deleted unless set
//! raw = "14d"
//! rollups = "400d"
//!
//! [[accounts]]
//! name = "prod"
//! profile = "prod"
//! regions = ["us-east-1", "eu-west-1"]
//!
//! [recommend]                    # see config/recommend.rs
//! strategy = "balanced"
//!
//! [insights]
//! # Any field of `tern_core::insights::Thresholds` (times as durations, without the unit
//! # suffix), and rule ids to turn off.
//! error_rate_warning = 0.05
//! inactive = "60d"
//! disable = ["memory.over_provisioned"]
//! ```

mod insights;
mod pull;
mod recommend;
mod server;
mod store;

pub use insights::*;
pub use pull::*;
pub use recommend::{load_recommend, strategy};
pub use server::*;
pub use store::*;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use crate::alert::channels::{parse_channels, RawChannel};
use crate::alert::rules::{self, AlertConfig, RawAlerts, RawErrorPolicy, RawPolicy};

use insights::{parse_insights, RawInsights};
use pull::{RawAccount, RawInventory, RawPull};
use server::{RawAuth, RawDashboard, RawServer};
use store::{parse_cluster, parse_store, RawCluster, RawStore};

/// The whole validated configuration. `Config::default()` is what `tern serve` runs with when
/// there is no file: serve the database, accept pushes, pull nothing.
/// Where the database lives when neither --db nor TERN_DB says.
pub const DEFAULT_DB: &str = "tern.db";

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file was read from (`None`: defaults only).
    pub source: Option<PathBuf>,
    /// `[store]`: which backend, and where.
    pub store: StoreConfig,
    /// `[cluster]`: the collectors sharing the store (empty: this process is alone).
    pub cluster: Cluster,
    pub server: Server,
    pub auth: Auth,
    pub retention: Retention,
    pub inventory: Inventory,
    pub pull: Pull,
    pub accounts: Vec<Account>,
    /// `[alerts]`, `[[channels]]`, `[[policies]]`, `[[error_policies]]`.
    pub alerts: AlertConfig,
    /// `[insights]`: the catalogue's thresholds and the rules turned off.
    pub insights: InsightSettings,
    /// `[recommend]`: the memory-advice engine's strategy and decision thresholds.
    pub recommend: tern_core::recommend::Settings,
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

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            store: StoreConfig::default(),
            cluster: Cluster::default(),
            server: Server {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                max_body_bytes: 16 << 20,
                max_decompressed_bytes: 256 << 20,
                ingest_queue: 4,
            },
            auth: Auth::default(),
            // Nothing is deleted unless the user asks: a database served for the first time
            // may hold months of backfill.
            retention: Retention {
                raw: None,
                rollups: None,
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
            insights: InsightSettings::default(),
            recommend: tern_core::recommend::Settings::default(),
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
    #[serde(default)]
    insights: RawInsights,
    #[serde(default)]
    recommend: recommend::RawRecommend,
    cluster: Option<RawCluster>,
    #[serde(default)]
    dashboard: RawDashboard,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    raw: Option<String>,
    rollups: Option<String>,
    interval: Option<String>,
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

    /// Parse and validate config text (`store.password_env` is read from the environment).
    pub fn parse(text: &str) -> Result<Config> {
        Config::parse_with_env(text, &|k| std::env::var(k).ok())
    }

    /// Parse and validate config text, reading environment variables through `env`.
    pub fn parse_with_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))?;
        let d = Config::default();
        let store = parse_store(&raw.store, env)?;
        let cluster = match &raw.cluster {
            None => Cluster::default(),
            Some(c) => parse_cluster(c)?,
        };
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
        let mut users: Vec<DashboardUser> = Vec::new();
        for (i, u) in raw.dashboard.users.iter().enumerate() {
            let name = u.name.trim();
            if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                bail!("dashboard.users[{i}].name must be 1 to 64 characters, without control characters");
            }
            if users.iter().any(|x| x.name == name) {
                bail!("dashboard.users[{i}].name {name:?} appears twice");
            }
            let password_hash = crate::password::PasswordHashString::parse(u.password_hash.trim())
                .ok_or_else(|| {
                    anyhow!(
                        "dashboard.users[{i}].password_hash (user {name:?}) is not an Argon2 hash \
                         (\"$argon2id$v=19$…\"): run `tern passwd {name}` to make one; the \
                         password itself never goes in the file"
                    )
                })?;
            users.push(DashboardUser {
                name: name.to_string(),
                password_hash,
            });
        }
        let auth = Auth {
            api_tokens: hashes(&raw.auth.api_tokens, "auth.api_tokens")?,
            ingest_keys: hashes(&raw.auth.ingest_keys, "auth.ingest_keys")?,
            users,
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
        let insights = parse_insights(&raw.insights)?;
        let recommend = recommend::parse(&raw.recommend)?;
        Ok(Config {
            source: None,
            store,
            cluster,
            server,
            auth,
            retention,
            inventory,
            pull,
            accounts,
            alerts,
            insights,
            recommend,
        })
    }
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
    crate::timeutil::parse_duration(s).with_context(|| format!("{key} = {s:?}"))
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
mod tests;
