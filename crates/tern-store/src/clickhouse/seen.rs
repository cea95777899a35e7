//! Values seen per change attribute on ClickHouse: when each value of a function's
//! version, memory size, runtime version, architecture and `LastModified` was first and last
//! seen.
//!
//! Without transactions or a MIN/MAX upsert, each (function, attribute, value) is two rows of
//! a `ReplacingMergeTree(ver)`: kind 0 holds the first-seen time with `ver` = `i64::MAX -
//! first`, kind 1 the last-seen time with `ver` = `last`. The version that survives a merge (or
//! `FINAL`) is the largest, so the earliest first and the latest last win, whatever the order,
//! repetition or writer of the batches: the same answer as SQLite's upsert. Rows are not
//! touched by retention, so a change stays known after its invocations expire.

use std::collections::HashMap;

use serde_json::{Map, Value};
use tern_core::impact::{Attribute, Seen};
use tern_core::model::InvocationPart;

use super::rows::{lit, obj};
use super::ClickHouseStore;
use crate::{FunctionMeta, StoreError, ValueSeen};

/// A batch's values, widened per (function, attribute, value).
#[derive(Default)]
pub(super) struct Batch {
    seen: HashMap<(String, Attribute, String), (i64, i64)>,
}

impl Batch {
    fn widen(&mut self, function: &str, a: Attribute, value: String, first: i64, last: i64) {
        let e = self
            .seen
            .entry((function.to_string(), a, value))
            .or_insert((first, last));
        e.0 = e.0.min(first);
        e.1 = e.1.max(last);
    }

    /// A complete invocation at `t` carried these values.
    pub(super) fn invocation(&mut self, t: i64, p: &InvocationPart) {
        if p.report.is_none() {
            return;
        }
        if let Some(v) = &p.version {
            self.widen(&p.function, Attribute::Version, v.clone(), t, t);
        }
        if let Some(m) = p.report.as_ref().and_then(|r| r.memory_size_mb) {
            self.widen(&p.function, Attribute::MemorySize, m.to_string(), t, t);
        }
        if let Some(v) = &p.runtime_version {
            self.widen(&p.function, Attribute::RuntimeVersion, v.clone(), t, t);
        }
    }

    /// An inventory listing.
    pub(super) fn inventory(&mut self, m: &FunctionMeta) {
        for (a, v, first, last) in crate::sqlite::ingest::inventory_seen(m) {
            self.widen(&m.function, a, v, first, last);
        }
    }

    pub(super) fn rows(&self) -> Vec<Map<String, Value>> {
        let row = |(f, a, v): &(String, Attribute, String), kind: u8, ms: i64, ver: u64| {
            obj(vec![
                ("function", Value::from(f.as_str())),
                ("attribute", Value::from(a.as_str())),
                ("value", Value::from(v.as_str())),
                ("kind", Value::from(kind)),
                ("ms", Value::from(ms)),
                ("ver", Value::from(ver)),
            ])
        };
        let mut out = Vec::with_capacity(self.seen.len() * 2);
        for (key, &(first, last)) in &self.seen {
            out.push(row(key, 0, first, (i64::MAX - first.max(0)) as u64));
            out.push(row(key, 1, last, last.max(0) as u64));
        }
        out
    }
}

pub(super) fn values_seen(
    s: &ClickHouseStore,
    function: Option<&str>,
) -> Result<Vec<ValueSeen>, StoreError> {
    let filter = function.map_or(String::new(), |f| format!("WHERE function = {}", lit(f)));
    let rows = s.select(&format!(
        "SELECT function, attribute, value, minIf(ms, kind = 0) AS first_ms, \
         maxIf(ms, kind = 1) AS last_ms, countIf(kind = 0) AS firsts, countIf(kind = 1) AS lasts \
         FROM values_seen FINAL {filter} GROUP BY function, attribute, value \
         ORDER BY function, attribute, first_ms, value"
    ))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let name = r.str("attribute")?;
        let Some(attribute) = Attribute::parse(&name) else {
            return Err(StoreError::Corrupt(format!(
                "values_seen: unknown attribute {name:?}"
            )));
        };
        if r.i64("firsts")? == 0 || r.i64("lasts")? == 0 {
            // Half of a pair (a write cut between its two rows): complete on the retry.
            continue;
        }
        out.push(ValueSeen {
            function: r.str("function")?,
            seen: Seen {
                attribute,
                value: r.str("value")?,
                first_ms: r.i64("first_ms")?,
                last_ms: r.i64("last_ms")?,
            },
        });
    }
    Ok(out)
}
