//! `[store]` and `[cluster]`: which backend holds the data, and the collectors sharing it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use tern_store::{ClickHouseConfig, StoreBackend};

use super::{duration_or, Config, DEFAULT_DB};

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
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
pub(super) struct RawCluster {
    #[serde(default)]
    collectors: Vec<String>,
    #[serde(rename = "self")]
    self_id: Option<String>,
    lease_ttl: Option<String>,
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
pub(super) fn parse_store(
    raw: &RawStore,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StoreConfig> {
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
pub(super) fn parse_cluster(raw: &RawCluster) -> Result<Cluster> {
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

#[cfg(test)]
mod tests;
