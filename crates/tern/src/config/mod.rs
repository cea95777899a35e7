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

mod recommend;

pub use recommend::strategy;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::alert::channels::{parse_channels, RawChannel};
use crate::alert::rules::{self, AlertConfig, RawAlerts, RawErrorPolicy, RawPolicy};
use tern_core::insights::{RuleId, Thresholds};

use tern_store::{ClickHouseConfig, StoreBackend};

/// The whole validated configuration. `Config::default()` is what `tern serve` runs with when
/// there is no file: serve the database, accept pushes, pull nothing.
/// Where the database lives when neither --db nor TERN_DB says.
pub const DEFAULT_DB: &str = "tern.db";

/// The `[insights]` settings of `tern.toml`: the catalogue's thresholds and the rules turned
/// off. The default is every rule at the documented thresholds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InsightSettings {
    pub thresholds: Thresholds,
    /// Rules that never produce an insight.
    pub disabled: Vec<RuleId>,
}

impl InsightSettings {
    pub fn is_enabled(&self, rule: RuleId) -> bool {
        !self.disabled.contains(&rule)
    }
}

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

/// `[store]`, validated. `Debug` never prints the ClickHouse password.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum StoreConfig {
    /// The embedded SQLite file named by the command's `--db`, else `tern.db`.
    #[default]
    Sqlite,
    /// The embedded SQLite file at `store.path` (`--db` overrides it).
    SqlitePath(PathBuf),
    ClickHouse(ClickHouseConfig),
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreConfig::Sqlite => f.write_str("Sqlite"),
            StoreConfig::SqlitePath(p) => f.debug_tuple("SqlitePath").field(p).finish(),
            StoreConfig::ClickHouse(c) => f
                .debug_struct("ClickHouse")
                .field("url", &c.url)
                .field("database", &c.database)
                .field("user", &c.user)
                .field("password", &c.password.as_ref().map(|_| "<redacted>"))
                .field("ca_file", &c.ca_file)
                .field("cluster", &c.cluster)
                .finish(),
        }
    }
}

impl StoreConfig {
    /// The store a command opens: `--db` (or `TERN_DB`) names a SQLite file; otherwise
    /// `[store]` decides (`path`, or ClickHouse); otherwise `tern.db`. `--db` with
    /// `backend = "clickhouse"` is an error rather than a silent choice of one.
    pub fn resolve(&self, db: Option<&Path>, source: Option<&Path>) -> Result<StoreBackend> {
        match (self, db) {
            (StoreConfig::ClickHouse(_), Some(db)) => bail!(
                "--db {} (or TERN_DB) names a SQLite file, but {} sets store.backend = \"clickhouse\"; \
                 drop one of them",
                db.display(),
                source.map_or_else(|| "the config".to_string(), |p| p.display().to_string())
            ),
            (StoreConfig::ClickHouse(c), None) => Ok(StoreBackend::ClickHouse(c.clone())),
            (_, Some(db)) => Ok(StoreBackend::Sqlite(db.to_path_buf())),
            (StoreConfig::SqlitePath(p), None) => Ok(StoreBackend::Sqlite(p.clone())),
            (StoreConfig::Sqlite, None) => {
                Ok(StoreBackend::Sqlite(PathBuf::from(DEFAULT_DB)))
            }
        }
    }
}

/// `[cluster]`: several `tern serve` collectors sharing one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Every collector's id, sorted; empty: no cluster.
    pub collectors: Vec<String>,
    /// This collector's id (`cluster.self`; `--collector-id` overrides it).
    pub self_id: Option<String>,
    /// How long a collector's leases last without renewal; renewed every third of it.
    pub lease_ttl: Duration,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            collectors: Vec::new(),
            self_id: None,
            lease_ttl: Duration::from_secs(30),
        }
    }
}

/// A collector id: 1 to 64 letters, digits, '-', '_' or '.'.
pub fn check_collector_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        bail!("{id:?}: a collector id is 1 to 64 letters, digits, '-', '_' or '.'");
    }
    Ok(())
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
struct RawDashboard {
    #[serde(default)]
    users: Vec<RawUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: String,
    password_hash: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    backend: Option<String>,
    path: Option<PathBuf>,
    url: Option<String>,
    database: Option<String>,
    user: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    ca_file: Option<PathBuf>,
    cluster: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    #[serde(default)]
    collectors: Vec<String>,
    #[serde(rename = "self")]
    self_id: Option<String>,
    lease_ttl: Option<String>,
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

/// `[insights]`: every key optional, named as the [`Thresholds`] field (times without their
/// unit suffix, written as durations).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInsights {
    min_invocations: Option<u64>,
    over_provisioned_ratio: Option<f64>,
    memory_headroom: Option<f64>,
    under_provisioned_ratio: Option<f64>,
    near_timeout_ratio: Option<f64>,
    hang_window: Option<f64>,
    generous_timeout_factor: Option<f64>,
    generous_timeout_min: Option<String>,
    error_rate_warning: Option<f64>,
    error_rate_critical: Option<f64>,
    error_min_invocations: Option<u64>,
    cold_start_rate: Option<f64>,
    low_reuse_invocations_per_environment: Option<f64>,
    arm64_min_monthly_saving_usd: Option<f64>,
    runtime_soon: Option<String>,
    logging_cost_ratio: Option<f64>,
    spike_factor: Option<f64>,
    spike_min_invocations_per_5min: Option<u64>,
    spike_lookback: Option<String>,
    inactive: Option<String>,
    #[serde(default)]
    disable: Vec<String>,
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

/// The store a command uses, from `--db` and `--config` (read and validated whole); see
/// [`StoreConfig::resolve`].
pub fn store_backend(db: Option<&Path>, config: Option<&Path>) -> Result<StoreBackend> {
    match config {
        Some(p) => Config::load(p)?.store.resolve(db, Some(p)),
        None => StoreConfig::default().resolve(db, None),
    }
}

/// What a backend is, for messages: the SQLite path or the ClickHouse URL and database.
pub fn describe(b: &StoreBackend) -> String {
    match b {
        StoreBackend::Sqlite(p) => format!("database {}", p.display()),
        StoreBackend::ClickHouse(c) => format!("ClickHouse {} (database {})", c.url, c.database),
    }
}

/// Validate `[store]`. Every error names the key.
fn parse_store(raw: &RawStore, env: &dyn Fn(&str) -> Option<String>) -> Result<StoreConfig> {
    let clickhouse_keys = [
        ("url", raw.url.is_some()),
        ("database", raw.database.is_some()),
        ("user", raw.user.is_some()),
        ("password", raw.password.is_some()),
        ("password_env", raw.password_env.is_some()),
        ("ca_file", raw.ca_file.is_some()),
        ("cluster", raw.cluster.is_some()),
    ];
    match raw.backend.as_deref().unwrap_or("sqlite") {
        "sqlite" => {
            if let Some((k, _)) = clickhouse_keys.iter().find(|(_, set)| *set) {
                bail!(
                    "store.{k} is a ClickHouse setting, but store.backend is \"sqlite\" (the \
                     default); set backend = \"clickhouse\" or remove it"
                );
            }
            Ok(match &raw.path {
                Some(p) if p.as_os_str().is_empty() => bail!("store.path is empty"),
                Some(p) => StoreConfig::SqlitePath(p.clone()),
                None => StoreConfig::Sqlite,
            })
        }
        "clickhouse" => {
            if raw.path.is_some() {
                bail!(
                    "store.path is the SQLite file, but store.backend is \"clickhouse\"; remove \
                     it (ClickHouse is reached by store.url)"
                );
            }
            let Some(url) = &raw.url else {
                bail!(
                    "store.url is missing: backend = \"clickhouse\" needs the server's HTTP \
                     interface, e.g. \"http://127.0.0.1:8123\""
                );
            };
            let https = check_clickhouse_url(url).context("store.url")?;
            let name = |v: &Option<String>, key: &str, default: &str| -> Result<String> {
                let v = v.as_deref().unwrap_or(default);
                let ok = !v.is_empty()
                    && v.len() <= 64
                    && !v.as_bytes()[0].is_ascii_digit()
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !ok {
                    bail!("store.{key} = {v:?}: use 1 to 64 letters, digits and '_', not starting with a digit");
                }
                Ok(v.to_string())
            };
            let database = name(&raw.database, "database", "tern")?;
            let user = match raw.user.as_deref() {
                None => "default".to_string(),
                Some(u) if u.is_empty() || u.len() > 128 || u.chars().any(char::is_control) => {
                    bail!("store.user = {u:?}: use 1 to 128 characters without control characters")
                }
                Some(u) => u.to_string(),
            };
            let password = match (&raw.password, &raw.password_env) {
                (Some(_), Some(_)) => bail!(
                    "store.password and store.password_env are both set; keep one (password_env \
                     keeps the secret out of the file)"
                ),
                (Some(p), None) => Some(p.clone()),
                (None, Some(var)) => {
                    if var.is_empty() {
                        bail!("store.password_env is empty: name an environment variable");
                    }
                    match env(var) {
                        Some(p) if !p.is_empty() => Some(p),
                        Some(_) => bail!("store.password_env = {var:?}: {var} is set but empty"),
                        None => bail!(
                            "store.password_env = {var:?}: the environment variable {var} is not \
                             set (or not UTF-8)"
                        ),
                    }
                }
                (None, None) => None,
            };
            if password
                .as_deref()
                .is_some_and(|p| p.chars().any(char::is_control))
            {
                bail!("store.password contains control characters");
            }
            let ca_file = match &raw.ca_file {
                None => None,
                Some(_) if !https => {
                    bail!("store.ca_file applies to an https:// store.url only; the url is http://")
                }
                Some(p) => {
                    let meta = std::fs::metadata(p).with_context(|| {
                        format!(
                            "store.ca_file = {:?}: cannot read it",
                            p.display().to_string()
                        )
                    })?;
                    if !meta.is_file() {
                        bail!(
                            "store.ca_file = {:?} is not a file",
                            p.display().to_string()
                        );
                    }
                    Some(p.clone())
                }
            };
            let cluster = match &raw.cluster {
                None => None,
                Some(c) => Some(name(&Some(c.clone()), "cluster", "")?),
            };
            Ok(StoreConfig::ClickHouse(ClickHouseConfig {
                url: url.trim_end_matches('/').to_string(),
                database,
                user,
                password,
                ca_file,
                cluster,
            }))
        }
        other => bail!("store.backend = {other:?}: use \"sqlite\" or \"clickhouse\""),
    }
}

/// An http:// or https:// URL of a ClickHouse HTTP interface: a host, no credentials (they
/// go in store.user and store.password), no path, query or fragment. Returns whether it is
/// https.
fn check_clickhouse_url(u: &str) -> Result<bool> {
    let uri: http::Uri = u.parse().map_err(|e| anyhow!("{u:?} is not a URL: {e}"))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => bail!("{u:?}: use an http:// or https:// URL, e.g. \"http://127.0.0.1:8123\""),
    };
    let Some(authority) = uri.authority() else {
        bail!("{u:?} names no host");
    };
    if authority.as_str().contains('@') {
        bail!("{u:?} carries credentials; put them in store.user and store.password_env");
    }
    if authority.host().is_empty() {
        bail!("{u:?} names no host");
    }
    if uri
        .path_and_query()
        .is_some_and(|p| p.as_str() != "/" && !p.as_str().is_empty())
    {
        bail!("{u:?}: give the server's base URL, without a path or query");
    }
    Ok(https)
}

/// Validate `[cluster]`. Every error names the key.
fn parse_cluster(raw: &RawCluster) -> Result<Cluster> {
    if raw.collectors.is_empty() {
        bail!("cluster.collectors is empty: list every collector's id, e.g. [\"a\", \"b\"]");
    }
    let mut collectors = Vec::new();
    for (i, id) in raw.collectors.iter().enumerate() {
        check_collector_id(id).with_context(|| format!("cluster.collectors[{i}]"))?;
        if collectors.contains(id) {
            bail!("cluster.collectors[{i}] = {id:?} is listed twice");
        }
        collectors.push(id.clone());
    }
    collectors.sort();
    if let Some(me) = &raw.self_id {
        check_collector_id(me).context("cluster.self")?;
        if !collectors.contains(me) {
            bail!(
                "cluster.self = {me:?} is not in cluster.collectors ({})",
                collectors.join(", ")
            );
        }
    }
    let lease_ttl = duration_or(
        raw.lease_ttl.as_deref(),
        Cluster::default().lease_ttl,
        "cluster.lease_ttl",
    )?;
    if lease_ttl < Duration::from_secs(3) || lease_ttl > Duration::from_secs(600) {
        bail!(
            "cluster.lease_ttl = {:?}: use 3s to 10m",
            raw.lease_ttl.as_deref().unwrap_or_default()
        );
    }
    Ok(Cluster {
        collectors,
        self_id: raw.self_id.clone(),
        lease_ttl,
    })
}

/// The `[insights]` settings of the file at `path` (the whole file is validated); the
/// defaults without one. For `tern report` and `tern insights`.
pub fn load_insights(path: Option<&Path>) -> Result<InsightSettings> {
    Ok(match path {
        Some(p) => Config::load(p)?.insights,
        None => InsightSettings::default(),
    })
}

/// The `[recommend]` settings of the file at `path` (the whole file is validated); the
/// engine's defaults without one.
pub fn load_recommend(path: Option<&Path>) -> Result<tern_core::recommend::Settings> {
    Ok(match path {
        Some(p) => Config::load(p)?.recommend,
        None => tern_core::recommend::Settings::default(),
    })
}

/// Validate `[insights]` over the default thresholds. Every error names the key.
fn parse_insights(raw: &RawInsights) -> Result<InsightSettings> {
    let d = Thresholds::default();
    // A fraction of something: (0, 1].
    let fraction = |v: Option<f64>, default: f64, key: &str| -> Result<f64> {
        match v {
            None => Ok(default),
            Some(x) if x > 0.0 && x <= 1.0 => Ok(x),
            Some(x) => bail!("insights.{key} = {x}: a fraction, use a number in (0, 1]"),
        }
    };
    // A multiplier of at least 1 (and something finite).
    let factor = |v: Option<f64>, default: f64, key: &str| -> Result<f64> {
        match v {
            None => Ok(default),
            Some(x) if (1.0..=1e6).contains(&x) => Ok(x),
            Some(x) => bail!("insights.{key} = {x}: a factor, use a number from 1 to 1000000"),
        }
    };
    let count = |v: Option<u64>, default: u64, key: &str| -> Result<u64> {
        match v {
            None => Ok(default),
            Some(n @ 1..=1_000_000_000) => Ok(n),
            Some(n) => bail!("insights.{key} = {n}: a count, use 1 to 1000000000"),
        }
    };
    // A duration between `min` and `max`, in ms.
    let time = |v: Option<&str>,
                default_ms: i64,
                key: &str,
                min: Duration,
                max: Duration|
     -> Result<i64> {
        let Some(s) = v else {
            return Ok(default_ms);
        };
        let full = format!("insights.{key}");
        let t = parse_duration(s, &full)?;
        if t < min || t > max {
            bail!(
                "{full} = {s:?}: use {} to {}",
                humantime::format_duration(min),
                humantime::format_duration(max)
            );
        }
        i64::try_from(t.as_millis()).map_err(|_| anyhow!("{full} = {s:?} is too long"))
    };
    const DAY: Duration = Duration::from_secs(86_400);
    const DAY_MS: i64 = 86_400_000;
    // A time in whole days.
    let days = |v: Option<&str>, default_days: i64, key: &str, min: Duration| -> Result<i64> {
        let ms = time(v, default_days * DAY_MS, key, min, 3_650 * DAY)?;
        if ms % DAY_MS != 0 {
            bail!(
                "insights.{key} = {:?}: use whole days, e.g. \"30d\"",
                v.unwrap_or_default()
            );
        }
        Ok(ms / DAY_MS)
    };
    let mut t = Thresholds {
        min_invocations: count(raw.min_invocations, d.min_invocations, "min_invocations")?,
        over_provisioned_ratio: fraction(
            raw.over_provisioned_ratio,
            d.over_provisioned_ratio,
            "over_provisioned_ratio",
        )?,
        memory_headroom: match raw.memory_headroom {
            None => d.memory_headroom,
            Some(x) if (0.0..=1.0).contains(&x) => x,
            Some(x) => bail!(
                "insights.memory_headroom = {x}: the share kept above the max memory used, \
                 use a number in [0, 1]"
            ),
        },
        under_provisioned_ratio: fraction(
            raw.under_provisioned_ratio,
            d.under_provisioned_ratio,
            "under_provisioned_ratio",
        )?,
        near_timeout_ratio: fraction(
            raw.near_timeout_ratio,
            d.near_timeout_ratio,
            "near_timeout_ratio",
        )?,
        hang_window: fraction(raw.hang_window, d.hang_window, "hang_window")?,
        generous_timeout_factor: factor(
            raw.generous_timeout_factor,
            d.generous_timeout_factor,
            "generous_timeout_factor",
        )?,
        generous_timeout_min_ms: time(
            raw.generous_timeout_min.as_deref(),
            d.generous_timeout_min_ms as i64,
            "generous_timeout_min",
            Duration::ZERO,
            // Lambda's longest timeout: a higher bound could never fire.
            Duration::from_secs(900),
        )? as u64,
        error_rate_warning: fraction(
            raw.error_rate_warning,
            d.error_rate_warning,
            "error_rate_warning",
        )?,
        error_rate_critical: fraction(
            raw.error_rate_critical,
            d.error_rate_critical,
            "error_rate_critical",
        )?,
        error_min_invocations: count(
            raw.error_min_invocations,
            d.error_min_invocations,
            "error_min_invocations",
        )?,
        cold_start_rate: fraction(raw.cold_start_rate, d.cold_start_rate, "cold_start_rate")?,
        low_reuse_invocations_per_environment: factor(
            raw.low_reuse_invocations_per_environment,
            d.low_reuse_invocations_per_environment,
            "low_reuse_invocations_per_environment",
        )?,
        arm64_min_monthly_saving_usd: match raw.arm64_min_monthly_saving_usd {
            None => d.arm64_min_monthly_saving_usd,
            Some(x) if (0.0..=1e9).contains(&x) => x,
            Some(x) => {
                bail!("insights.arm64_min_monthly_saving_usd = {x}: dollars a month, use 0 or more")
            }
        },
        runtime_soon_days: days(
            raw.runtime_soon.as_deref(),
            d.runtime_soon_days,
            "runtime_soon",
            Duration::ZERO,
        )?,
        logging_cost_ratio: match raw.logging_cost_ratio {
            None => d.logging_cost_ratio,
            Some(x) if x > 0.0 && x <= 1e6 => x,
            Some(x) => bail!(
                "insights.logging_cost_ratio = {x}: log ingestion as a multiple of the compute \
                 cost, use a number above 0"
            ),
        },
        spike_factor: factor(raw.spike_factor, d.spike_factor, "spike_factor")?,
        spike_min_invocations_per_5min: count(
            raw.spike_min_invocations_per_5min,
            d.spike_min_invocations_per_5min,
            "spike_min_invocations_per_5min",
        )?,
        // Spikes are found in hourly buckets over at most the last 14 days.
        spike_lookback_ms: time(
            raw.spike_lookback.as_deref(),
            d.spike_lookback_ms,
            "spike_lookback",
            Duration::from_secs(3_600),
            14 * DAY,
        )?,
        inactive_days: days(raw.inactive.as_deref(), d.inactive_days, "inactive", DAY)?,
    };
    // A warning raised above the default critical bound, with no critical bound given, lifts
    // it: every insight at or over the warning is then critical.
    if raw.error_rate_critical.is_none() {
        t.error_rate_critical = t.error_rate_critical.max(t.error_rate_warning);
    }
    if t.error_rate_critical < t.error_rate_warning {
        bail!(
            "insights.error_rate_critical ({}) is below insights.error_rate_warning ({})",
            t.error_rate_critical,
            t.error_rate_warning
        );
    }
    if t.under_provisioned_ratio <= t.over_provisioned_ratio {
        bail!(
            "insights.under_provisioned_ratio ({}) must be above insights.over_provisioned_ratio \
             ({}): a function cannot be both",
            t.under_provisioned_ratio,
            t.over_provisioned_ratio
        );
    }
    let mut disabled = Vec::new();
    for (i, id) in raw.disable.iter().enumerate() {
        match RuleId::parse(id) {
            Some(r) if !disabled.contains(&r) => disabled.push(r),
            Some(_) => {}
            None => bail!(
                "insights.disable[{i}] = {id:?} is not a rule; the rules are: {}",
                RuleId::ALL.map(|r| r.as_str()).join(", ")
            ),
        }
    }
    Ok(InsightSettings {
        thresholds: t,
        disabled,
    })
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
        assert_eq!(
            c.retention.raw, None,
            "nothing is deleted unless configured"
        );
        assert_eq!(c.retention.rollups, None);
        assert!(c.pull.functions.matches("anything"));
    }

    #[test]
    fn full_example_parses() {
        let hash = TokenHash::of("secret").render();
        let pw = crate::password::hash("a long dashboard passphrase").unwrap();
        let c = Config::parse(&format!(
            r#"
[[dashboard.users]]
name = "alice"
password_hash = "{pw}"

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
        assert_eq!(c.store, StoreConfig::SqlitePath(PathBuf::from("/tmp/t.db")));
        assert_eq!(c.server.max_body_bytes, 8 << 20);
        assert!(TokenHash::matches_any(&c.auth.api_tokens, "secret"));
        assert!(!TokenHash::matches_any(&c.auth.api_tokens, "secreT"));
        assert_eq!(c.auth.users.len(), 1);
        assert_eq!(c.auth.users[0].name, "alice");
        assert!(c.auth.users[0]
            .password_hash
            .verify("a long dashboard passphrase"));
        assert!(!format!("{c:?}").contains(&pw), "the hash never prints");
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
            // A password (not a hash), a token hash, a typo'd PHC string, a bad name.
            (
                "[[dashboard.users]]\nname = \"alice\"\npassword_hash = \"hunter2\"",
                "dashboard.users[0].password_hash (user \"alice\") is not an Argon2 hash",
            ),
            (
                "[[dashboard.users]]\nname = \"alice\"\npassword_hash = \"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
                "run `tern passwd alice`",
            ),
            (
                "[[dashboard.users]]\nname = \"alice\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$\"",
                "dashboard.users[0].password_hash",
            ),
            (
                "[[dashboard.users]]\nname = \"\"\npassword_hash = \"x\"",
                "dashboard.users[0].name",
            ),
            (
                "[[dashboard.users]]\nname = \"alice\"",
                "missing field `password_hash`",
            ),
            (
                "[[dashboard.users]]\nname = \"alice\"\npassword = \"hunter2\"",
                "unknown field `password`",
            ),
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
            ("[insights]\nerror_rate_warning = 1.5", "insights.error_rate_warning"),
            ("[insights]\nerror_rate_warning = 0", "insights.error_rate_warning"),
            ("[insights]\nerror_rate_warning = nan", "insights.error_rate_warning"),
            ("[insights]\ncold_start_rate = -0.01", "insights.cold_start_rate"),
            ("[insights]\nover_provisioned_ratio = 2", "insights.over_provisioned_ratio"),
            ("[insights]\nnear_timeout_ratio = 0", "insights.near_timeout_ratio"),
            ("[insights]\nhang_window = 1.1", "insights.hang_window"),
            ("[insights]\ninit_repeated_ratio = 0.8", "unknown field `init_repeated_ratio`"),
            ("[insights]\nspike_factor = 0.5", "insights.spike_factor"),
            ("[insights]\ngenerous_timeout_factor = inf", "insights.generous_timeout_factor"),
            (
                "[insights]\nlow_reuse_invocations_per_environment = 0.5",
                "insights.low_reuse_invocations_per_environment",
            ),
            ("[insights]\nmin_invocations = 0", "insights.min_invocations"),
            ("[insights]\nerror_min_invocations = 0", "insights.error_min_invocations"),
            (
                "[insights]\nspike_min_invocations_per_5min = 0",
                "insights.spike_min_invocations_per_5min",
            ),
            ("[insights]\nmemory_headroom = -0.1", "insights.memory_headroom"),
            ("[insights]\nlogging_cost_ratio = 0", "insights.logging_cost_ratio"),
            (
                "[insights]\narm64_min_monthly_saving_usd = -1",
                "insights.arm64_min_monthly_saving_usd",
            ),
            ("[insights]\ninactive = \"12h\"", "insights.inactive"),
            ("[insights]\ninactive = \"36h\"", "whole days"),
            ("[insights]\nruntime_soon = \"soon\"", "insights.runtime_soon"),
            ("[insights]\nspike_lookback = \"10m\"", "insights.spike_lookback"),
            ("[insights]\nspike_lookback = \"30d\"", "insights.spike_lookback"),
            ("[insights]\ngenerous_timeout_min = \"1h\"", "insights.generous_timeout_min"),
            (
                "[insights]\nerror_rate_warning = 0.2\nerror_rate_critical = 0.1",
                "insights.error_rate_critical",
            ),
            ("[insights]\nunder_provisioned_ratio = 0.4", "insights.under_provisioned_ratio"),
            (
                "[insights]\ndisable = [\"memory.over_provisioned\", \"memroy.out_of_memory\"]",
                "insights.disable[1]",
            ),
            ("[insights]\nerror_rate = 0.5", "unknown field `error_rate`"),
            ("[insights]\ninactive_days = 30", "unknown field `inactive_days`"),
            ("[insights]\ninactive = 30", "inactive"),
        ] {
            let e = err(text);
            assert!(e.contains(needle), "{text:?}: {e:?} lacks {needle:?}");
        }
    }

    #[test]
    fn insights_section_parses() {
        assert_eq!(
            Config::parse("").unwrap().insights,
            InsightSettings::default()
        );
        assert_eq!(
            Config::parse("[insights]").unwrap().insights,
            InsightSettings::default()
        );
        let c = Config::parse(
            r#"
[insights]
min_invocations = 20
over_provisioned_ratio = 0.4
memory_headroom = 0
under_provisioned_ratio = 0.9
near_timeout_ratio = 0.8
hang_window = 0.7
generous_timeout_factor = 5
generous_timeout_min = "1m"
error_rate_warning = 0.05
error_rate_critical = 0.05
error_min_invocations = 100
cold_start_rate = 0.02
low_reuse_invocations_per_environment = 3
arm64_min_monthly_saving_usd = 0
runtime_soon = "90d"
logging_cost_ratio = 0.5
spike_factor = 2
spike_min_invocations_per_5min = 50
spike_lookback = "24h"
inactive = "14d"
disable = ["memory.over_provisioned", "logs.no_retention", "memory.over_provisioned"]
"#,
        )
        .unwrap();
        let t = c.insights.thresholds;
        assert_eq!(
            t,
            Thresholds {
                min_invocations: 20,
                over_provisioned_ratio: 0.4,
                memory_headroom: 0.0,
                under_provisioned_ratio: 0.9,
                near_timeout_ratio: 0.8,
                hang_window: 0.7,
                generous_timeout_factor: 5.0,
                generous_timeout_min_ms: 60_000,
                error_rate_warning: 0.05,
                error_rate_critical: 0.05,
                error_min_invocations: 100,
                cold_start_rate: 0.02,
                low_reuse_invocations_per_environment: 3.0,
                arm64_min_monthly_saving_usd: 0.0,
                runtime_soon_days: 90,
                logging_cost_ratio: 0.5,
                spike_factor: 2.0,
                spike_min_invocations_per_5min: 50,
                spike_lookback_ms: 86_400_000,
                inactive_days: 14,
            }
        );
        assert_eq!(
            c.insights.disabled,
            [RuleId::MemoryOverProvisioned, RuleId::LogsNoRetention]
        );
        assert!(!c.insights.is_enabled(RuleId::LogsNoRetention));
        assert!(c.insights.is_enabled(RuleId::ErrorRateHigh));
        // One key leaves the others at their defaults.
        let one = Config::parse("[insights]\nerror_rate_warning = 0.5")
            .unwrap()
            .insights;
        assert_eq!(one.thresholds.error_rate_warning, 0.5);
        // … except the critical bound, lifted to the warning one.
        assert_eq!(one.thresholds.error_rate_critical, 0.5);
        assert_eq!(
            Thresholds {
                error_rate_warning: Thresholds::default().error_rate_warning,
                error_rate_critical: Thresholds::default().error_rate_critical,
                ..one.thresholds
            },
            Thresholds::default()
        );
        assert!(one.disabled.is_empty());
        // Bounds are inclusive: 1 is a valid fraction and factor.
        let edge = Config::parse(
            "[insights]\nerror_rate_warning = 1\nerror_rate_critical = 1\nspike_factor = 1",
        )
        .unwrap()
        .insights;
        assert_eq!(edge.thresholds.error_rate_critical, 1.0);
        assert_eq!(edge.thresholds.spike_factor, 1.0);
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

/// `[store]` and `[cluster]`.
#[cfg(test)]
mod store_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "CH_PASS" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Config> {
        Config::parse_with_env(text, &env)
    }

    fn err(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn clickhouse_defaults_and_full() {
        let c =
            parse("[store]\nbackend = \"clickhouse\"\nurl = \"http://127.0.0.1:8123/\"").unwrap();
        assert_eq!(
            c.store,
            StoreConfig::ClickHouse(ClickHouseConfig {
                url: "http://127.0.0.1:8123".into(),
                database: "tern".into(),
                user: "default".into(),
                password: None,
                ca_file: None,
                cluster: None,
            })
        );
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let c = parse(&format!(
            "[store]\nbackend = \"clickhouse\"\nurl = \"https://ch.internal:8443\"\n\
             database = \"lambda_2\"\nuser = \"tern\"\npassword_env = \"CH_PASS\"\n\
             ca_file = {:?}\ncluster = \"main\"",
            ca.display().to_string()
        ))
        .unwrap();
        let StoreConfig::ClickHouse(ch) = &c.store else {
            panic!("not ClickHouse: {:?}", c.store);
        };
        assert_eq!(ch.password.as_deref(), Some("s3cret"));
        assert_eq!(ch.database, "lambda_2");
        assert_eq!(ch.cluster.as_deref(), Some("main"));
        assert_eq!(ch.ca_file.as_deref(), Some(ca.as_path()));
        // The password never prints.
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        let c =
            parse("[store]\nbackend = \"clickhouse\"\nurl = \"http://h:8123\"\npassword = \"p\"")
                .unwrap();
        assert!(!format!("{c:?}").contains("\"p\""));
    }

    #[test]
    fn sqlite_is_the_default() {
        assert_eq!(parse("").unwrap().store, StoreConfig::Sqlite);
        assert_eq!(
            parse("[store]\nbackend = \"sqlite\"\npath = \"/x/t.db\"")
                .unwrap()
                .store,
            StoreConfig::SqlitePath(PathBuf::from("/x/t.db"))
        );
    }

    #[test]
    fn every_bad_store_key_is_named() {
        let ch = "[store]\nbackend = \"clickhouse\"\n";
        for (text, needle) in [
            (
                "[store]\nbackend = \"postgres\"".to_string(),
                "store.backend = \"postgres\"",
            ),
            ("[store]\nbackend = 1".to_string(), "backend"),
            (
                "[store]\nurl = \"http://h:8123\"".to_string(),
                "store.url is a ClickHouse setting",
            ),
            (
                "[store]\npassword_env = \"X\"".to_string(),
                "store.password_env is a ClickHouse",
            ),
            ("[store]\npath = \"\"".to_string(), "store.path is empty"),
            ("[store]\nhost = \"h\"".to_string(), "unknown field `host`"),
            (ch.to_string(), "store.url is missing"),
            (format!("{ch}url = \"h:8123\""), "store.url"),
            (format!("{ch}url = \"ftp://h\""), "http:// or https://"),
            (format!("{ch}url = \"http://\""), "store.url"),
            (format!("{ch}url = \"http://u:p@h:8123\""), "credentials"),
            (
                format!("{ch}url = \"http://h:8123/db?x=1\""),
                "without a path",
            ),
            (
                format!("{ch}url = \"http://h\"\npath = \"t.db\""),
                "store.path is the SQLite file",
            ),
            (
                format!("{ch}url = \"http://h\"\ndatabase = \"te-rn\""),
                "store.database",
            ),
            (
                format!("{ch}url = \"http://h\"\ndatabase = \"\""),
                "store.database",
            ),
            (
                format!("{ch}url = \"http://h\"\ndatabase = \"1x\""),
                "store.database",
            ),
            (format!("{ch}url = \"http://h\"\nuser = \"\""), "store.user"),
            (
                format!("{ch}url = \"http://h\"\npassword = \"a\"\npassword_env = \"CH_PASS\""),
                "both set",
            ),
            (
                format!("{ch}url = \"http://h\"\npassword_env = \"NOPE\""),
                "NOPE is not set",
            ),
            (
                format!("{ch}url = \"http://h\"\npassword_env = \"EMPTY\""),
                "EMPTY is set but empty",
            ),
            (
                format!("{ch}url = \"http://h\"\npassword_env = \"\""),
                "store.password_env is empty",
            ),
            (
                format!("{ch}url = \"http://h\"\ncluster = \"a b\""),
                "store.cluster",
            ),
            (
                format!("{ch}url = \"http://h\"\nca_file = \"/x.pem\""),
                "store.ca_file applies",
            ),
            (
                format!("{ch}url = \"https://h\"\nca_file = \"/nonexistent/ca.pem\""),
                "store.ca_file",
            ),
            (
                format!("{ch}url = \"https://h\"\nca_file = \"/\""),
                "not a file",
            ),
        ] {
            let e = err(&text);
            assert!(
                e.contains(needle),
                "{text:?}: {e:?} does not contain {needle:?}"
            );
        }
    }

    #[test]
    fn resolve_picks_one_store() {
        let ch = parse("[store]\nbackend = \"clickhouse\"\nurl = \"http://h:8123\"").unwrap();
        assert!(matches!(
            ch.store.resolve(None, None).unwrap(),
            StoreBackend::ClickHouse(_)
        ));
        let e = ch
            .store
            .resolve(Some(Path::new("x.db")), Some(Path::new("tern.toml")))
            .unwrap_err();
        assert!(format!("{e:#}").contains("drop one"), "{e:#}");
        let at = StoreConfig::SqlitePath(PathBuf::from("/a.db"));
        assert_eq!(
            at.resolve(None, None).unwrap(),
            StoreBackend::Sqlite(PathBuf::from("/a.db"))
        );
        assert_eq!(
            at.resolve(Some(Path::new("/b.db")), None).unwrap(),
            StoreBackend::Sqlite(PathBuf::from("/b.db"))
        );
        assert_eq!(
            StoreConfig::Sqlite.resolve(None, None).unwrap(),
            StoreBackend::Sqlite(PathBuf::from(DEFAULT_DB))
        );
    }

    #[test]
    fn cluster_parses_and_every_bad_key_is_named() {
        let c = parse("[cluster]\ncollectors = [\"b\", \"a\"]\nself = \"a\"\nlease_ttl = \"15s\"")
            .unwrap();
        assert_eq!(c.cluster.collectors, ["a", "b"]);
        assert_eq!(c.cluster.self_id.as_deref(), Some("a"));
        assert_eq!(c.cluster.lease_ttl, Duration::from_secs(15));
        assert!(parse("").unwrap().cluster.collectors.is_empty());
        for (text, needle) in [
            ("[cluster]", "cluster.collectors is empty"),
            ("[cluster]\ncollectors = []", "cluster.collectors is empty"),
            (
                "[cluster]\ncollectors = [\"a\", \"a\"]",
                "cluster.collectors[1]",
            ),
            ("[cluster]\ncollectors = [\"a/b\"]", "cluster.collectors[0]"),
            ("[cluster]\ncollectors = [\"\"]", "cluster.collectors[0]"),
            (
                "[cluster]\ncollectors = [\"a\"]\nself = \"c\"",
                "cluster.self = \"c\" is not in",
            ),
            (
                "[cluster]\ncollectors = [\"a\"]\nself = \"a b\"",
                "cluster.self",
            ),
            (
                "[cluster]\ncollectors = [\"a\"]\nlease_ttl = \"1s\"",
                "cluster.lease_ttl",
            ),
            (
                "[cluster]\ncollectors = [\"a\"]\nlease_ttl = \"1h\"",
                "cluster.lease_ttl",
            ),
            (
                "[cluster]\ncollectors = [\"a\"]\nlease_ttl = \"soon\"",
                "cluster.lease_ttl",
            ),
            (
                "[cluster]\ncollectors = [\"a\"]\nmembers = 2",
                "unknown field `members`",
            ),
        ] {
            let e = err(text);
            assert!(
                e.contains(needle),
                "{text:?}: {e:?} does not contain {needle:?}"
            );
        }
    }
}
