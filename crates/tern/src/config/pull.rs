//! `[inventory]`, `[pull]` and `[[accounts]]`: which functions are read, from which
//! accounts and regions.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInventory {
    pub(super) refresh: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPull {
    pub(super) enabled: Option<bool>,
    pub(super) since: Option<String>,
    pub(super) lookback: Option<String>,
    pub(super) poll: Option<String>,
    pub(super) requests_per_second: Option<f64>,
    pub(super) functions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    pub(super) name: String,
    pub(super) profile: Option<String>,
    pub(super) regions: Vec<String>,
    pub(super) endpoint_url: Option<String>,
    pub(super) functions: Option<Vec<String>>,
}

/// An AWS region name: lowercase letters, digits and dashes, e.g. `us-east-1`.
/// A region name the price book knows (every commercial region, GovCloud and China): a typo
/// would otherwise reach AWS as an endpoint that does not exist, or price a fleet wrongly.
pub fn check_region(r: &str) -> Result<()> {
    let shaped = !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && r.contains('-');
    if !shaped {
        bail!(
            "{:?} is not a region name such as us-east-1",
            crate::text::printable(r)
        );
    }
    let book = tern_core::price_book::book();
    if !book.has_region(r) {
        let known = book.regions();
        bail!(
            "unknown region {r:?}{}; the known regions: {}",
            crate::text::did_you_mean(r, known.iter().copied()),
            known.join(", ")
        );
    }
    Ok(())
}

pub fn check_endpoint(u: &str) -> Result<()> {
    if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() < 10 {
        bail!("{u:?} is not an http:// or https:// URL");
    }
    Ok(())
}
