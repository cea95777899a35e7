//! Leases on ClickHouse, which has no transaction to make a take one
//! compare-and-set. A lease is versioned rows of `leases`, keyed by name: a take or renewal
//! writes a claim `(name, holder, expires_ms)` only after reading the lease free or its own,
//! then reads the latest version back and answers whether it names this holder. A release
//! writes a tombstone (empty holder). Two collectors whose claims race in the same instant can
//! both read themselves as winner until the next renewal re-reads (see [`Store::try_lease`]);
//! the jobs a lease guards tolerate a brief overlap.
//!
//! [`Store::try_lease`]: crate::Store::try_lease

use serde_json::Value;

use super::rows::{lit, obj};
use super::ClickHouseStore;
use crate::{check_lease_args, Lease, StoreError};

/// The latest version of one lease: (holder, expires_ms); an empty holder is released.
fn current(s: &ClickHouseStore, name: &str) -> Result<Option<(String, i64)>, StoreError> {
    let rows = s.select(&format!(
        "SELECT holder, expires_ms FROM leases FINAL WHERE name = {}",
        lit(name)
    ))?;
    match rows.first() {
        Some(r) => Ok(Some((r.str("holder")?, r.i64("expires_ms")?))),
        None => Ok(None),
    }
}

fn write(
    s: &mut ClickHouseStore,
    name: &str,
    holder: &str,
    expires: i64,
) -> Result<(), StoreError> {
    let ver = s.ver();
    let row = obj(vec![
        ("name", Value::from(name)),
        ("holder", Value::from(holder)),
        ("expires_ms", Value::from(expires)),
        ("ver", Value::from(ver)),
    ]);
    s.insert("leases", &[row])
}

pub(super) fn try_lease(
    s: &mut ClickHouseStore,
    name: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    check_lease_args(name, holder, ttl_ms)?;
    let free_or_ours = match current(s, name)? {
        None => true,
        Some((h, expires)) => h.is_empty() || h == holder || expires <= now_ms,
    };
    if !free_or_ours {
        return Ok(false);
    }
    write(s, name, holder, now_ms.saturating_add(ttl_ms))?;
    // Read back: a claim that raced ours with a later version wins.
    Ok(matches!(current(s, name)?, Some((h, _)) if h == holder))
}

pub(super) fn release(
    s: &mut ClickHouseStore,
    name: &str,
    holder: &str,
) -> Result<bool, StoreError> {
    check_lease_args(name, holder, 1)?;
    match current(s, name)? {
        Some((h, _)) if h == holder => {
            write(s, name, "", 0)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

pub(super) fn list(
    s: &ClickHouseStore,
    prefix: &str,
    now_ms: i64,
) -> Result<Vec<Lease>, StoreError> {
    let rows = s.select(&format!(
        "SELECT name, holder, expires_ms FROM leases FINAL \
         WHERE substring(name, 1, {}) = {} AND holder != '' AND expires_ms > {now_ms} \
         ORDER BY name",
        prefix.len(),
        lit(prefix)
    ))?;
    rows.iter()
        .map(|r| {
            Ok(Lease {
                name: r.str("name")?,
                holder: r.str("holder")?,
                expires_ms: r.i64("expires_ms")?,
            })
        })
        .collect()
}
