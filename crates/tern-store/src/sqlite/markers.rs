//! Change impact's stored inputs: markers (an operator's or CI pipeline's note that a
//! function changed) and the values seen of each change attribute (kept by `ingest.rs`).

use rusqlite::{params, Connection};
use tern_core::impact::{Attribute, Seen};

use super::Db;
use crate::{Marker, StoreError, ValueSeen};

pub(super) fn add(conn: &Connection, m: &Marker) -> Result<Marker, StoreError> {
    if m.function.is_empty() || m.note.trim().is_empty() {
        return Err(StoreError::Backend(
            "a marker needs a function name and a note".into(),
        ));
    }
    conn.execute(
        "INSERT INTO markers (function, at_ms, note, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![m.function, m.at_ms, m.note, m.created_ms],
    )
    .db()?;
    Ok(Marker {
        id: conn.last_insert_rowid(),
        ..m.clone()
    })
}

pub(super) fn list(conn: &Connection, function: Option<&str>) -> Result<Vec<Marker>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, function, at_ms, note, created_ms FROM markers \
             WHERE ?1 IS NULL OR function = ?1 ORDER BY at_ms, id",
        )
        .db()?;
    let mut rows = stmt.query([function]).db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        out.push(Marker {
            id: r.get(0).db()?,
            function: r.get(1).db()?,
            at_ms: r.get(2).db()?,
            note: r.get(3).db()?,
            created_ms: r.get(4).db()?,
        });
    }
    Ok(out)
}

/// `Store::values_seen`: the first and last time each change-attribute value was seen.
pub(super) fn values_seen(
    conn: &Connection,
    function: Option<&str>,
) -> Result<Vec<ValueSeen>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT f.name, v.attribute, v.value, v.first_ms, v.last_ms \
             FROM values_seen v JOIN functions f ON f.id = v.function_id \
             WHERE ?1 IS NULL OR f.name = ?1 \
             ORDER BY f.name, v.attribute, v.first_ms, v.value",
        )
        .db()?;
    let mut rows = stmt.query([function]).db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        let attribute: String = r.get(1).db()?;
        let Some(attribute) = Attribute::parse(&attribute) else {
            return Err(StoreError::Corrupt(format!(
                "values_seen: unknown attribute {attribute:?}"
            )));
        };
        out.push(ValueSeen {
            function: r.get(0).db()?,
            seen: Seen {
                attribute,
                value: r.get(2).db()?,
                first_ms: r.get(3).db()?,
                last_ms: r.get(4).db()?,
            },
        });
    }
    Ok(out)
}
