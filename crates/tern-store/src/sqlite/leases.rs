//! Leases: which collector does a once-per-fleet job. One row per lease name; a
//! take is one conditional upsert, so SQLite's write lock makes it an exact compare-and-set
//! across processes sharing the file.

use rusqlite::{params, Connection};

use super::Db;
use crate::{check_lease_args, Lease, StoreError};

pub(super) fn try_lease(
    conn: &Connection,
    name: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    check_lease_args(name, holder, ttl_ms)?;
    let expires = now_ms.saturating_add(ttl_ms);
    // Taken when free (no row, or expired at `now_ms`) or already ours; otherwise the
    // WHERE leaves the row alone and no row changes.
    let changed = conn
        .execute(
            "INSERT INTO leases (name, holder, expires_ms) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_ms = excluded.expires_ms \
             WHERE leases.holder = excluded.holder OR leases.expires_ms <= ?4",
            params![name, holder, expires, now_ms],
        )
        .db()?;
    Ok(changed == 1)
}

pub(super) fn release(conn: &Connection, name: &str, holder: &str) -> Result<bool, StoreError> {
    check_lease_args(name, holder, 1)?;
    let n = conn
        .execute(
            "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
            params![name, holder],
        )
        .db()?;
    Ok(n == 1)
}

pub(super) fn list(conn: &Connection, prefix: &str, now_ms: i64) -> Result<Vec<Lease>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT name, holder, expires_ms FROM leases \
             WHERE substr(name, 1, length(?1)) = ?1 AND expires_ms > ?2 ORDER BY name",
        )
        .db()?;
    let mut rows = stmt.query(params![prefix, now_ms]).db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        out.push(Lease {
            name: r.get(0).db()?,
            holder: r.get(1).db()?,
            expires_ms: r.get(2).db()?,
        });
    }
    Ok(out)
}
