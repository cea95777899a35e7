//! Environments from sealed rows: each partition's `sealed_envs`, and the raw rows of the
//! partitions not sealed.

use std::collections::BTreeMap;

use serde_json::Value;

use super::read::{fn_sql, valid_sql};
use super::write::raw_env_sql;
use super::{days_sql, Seals};
use crate::clickhouse::ClickHouseStore;
use crate::{EnvironmentRow, StoreError};

/// Per (function, log group, log stream), over sealed and open partitions: `n`, `cold`,
/// `first_ms`, `last_ms`, `runtime_version` (the latest reported).
fn env_sql(seals: &Seals, functions: Option<&[String]>) -> Option<String> {
    let mut inner = Vec::new();
    if !seals.valid.is_empty() {
        inner.push(format!(
            "SELECT function, log_group, log_stream, n AS pn, cold AS pc, first_ms AS pf, \
             last_ms AS pl, runtime_version AS prv, rv_t AS prt FROM sealed_envs \
             WHERE {} AND {}",
            valid_sql(seals),
            fn_sql(functions)
        ));
    }
    if !seals.open.is_empty() {
        inner.push(raw_env_sql(&format!(
            "day IN ({}) AND {}",
            days_sql(&seals.open),
            fn_sql(functions)
        )));
    }
    if inner.is_empty() {
        return None;
    }
    Some(format!(
        "SELECT function, log_group, log_stream, sum(pn) AS n, sum(pc) AS cold, \
         if(n > 0, toNullable(minIf(assumeNotNull(pf), pf IS NOT NULL)), NULL) AS first_ms, \
         if(n > 0, toNullable(maxIf(assumeNotNull(pl), pl IS NOT NULL)), NULL) AS last_ms, \
         if(countIf(prt IS NOT NULL) > 0, \
            toNullable(argMaxIf(assumeNotNull(prv), tuple(assumeNotNull(prt), assumeNotNull(prv)), \
                                prt IS NOT NULL)), NULL) AS runtime_version \
         FROM ({}) GROUP BY function, log_group, log_stream",
        inner.join(" UNION ALL ")
    ))
}

/// Execution environments (of one function, or all), each function's most invocations first.
pub(in crate::clickhouse) fn env_rows(
    s: &ClickHouseStore,
    seals: &Seals,
    function: Option<&str>,
) -> Result<Vec<EnvironmentRow>, StoreError> {
    let names = function.map(|f| vec![f.to_string()]);
    let Some(sql) = env_sql(seals, names.as_deref()) else {
        return Ok(Vec::new());
    };
    let rows = s.select(&format!(
        "SELECT * FROM ({sql}) ORDER BY function, n DESC, log_stream, log_group"
    ))?;
    rows.iter()
        .map(|r| {
            Ok(EnvironmentRow {
                function: r.str("function")?,
                log_stream: r.str("log_stream")?,
                invocations: r.u64("n")?,
                cold_starts: r.u64("cold")?,
                first_ms: r.opt_i64("first_ms")?,
                last_ms: r.opt_i64("last_ms")?,
                runtime_version: r.opt_str("runtime_version")?,
            })
        })
        .collect()
}

/// `Store::environment_summaries` summed in ClickHouse (what `crate::summarise_environments`
/// makes of `env_rows`): one row per function, its lifetimes and per-version invocations as
/// arrays, instead of every environment (750,000 of them at 10 M invocations).
pub(in crate::clickhouse) fn env_summaries(
    s: &ClickHouseStore,
    seals: &Seals,
    range: crate::TimeRange,
) -> Result<Vec<crate::EnvironmentSummary>, StoreError> {
    let Some(sql) = env_sql(seals, None) else {
        return Ok(Vec::new());
    };
    let mut inside = vec!["n > 0".to_string(), "last_ms IS NOT NULL".to_string()];
    if let Some(f) = range.from_ms {
        inside.push(format!("assumeNotNull(last_ms) >= {f}"));
    }
    if let Some(t) = range.to_ms {
        inside.push(format!("assumeNotNull(last_ms) < {t}"));
    }
    let rows = s.select(&format!(
        "SELECT function, sum(e) AS envs, sum(i) AS inv, arraySort(groupArrayArray(l)) AS lives, \
         groupArrayIf(v, has_v) AS vs, groupArrayIf(vn, has_v) AS vns FROM ( \
           SELECT function, has_v, v, toInt64(countIf(inside)) AS e, \
           toInt64(sumIf(n, inside)) AS i, groupArrayIf(life, inside) AS l, \
           toInt64(sum(n)) AS vn FROM ( \
             SELECT function, n, {inside} AS inside, \
             if(first_ms IS NOT NULL AND last_ms IS NOT NULL, \
                greatest(assumeNotNull(last_ms) - assumeNotNull(first_ms), 0), 0) AS life, \
             runtime_version IS NOT NULL AS has_v, ifNull(runtime_version, '') AS v \
             FROM ({sql})) \
           GROUP BY function, has_v, v) \
         GROUP BY function ORDER BY function",
        inside = inside.join(" AND "),
    ))?;
    let mut out = Vec::new();
    for r in &rows {
        let function = r.str("function")?;
        let bad = |what: &str| {
            StoreError::Corrupt(format!("environment summary of {function:?}: {what}"))
        };
        let ints = |col: &str| -> Result<Vec<i64>, StoreError> {
            match r.map().get(col) {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_i64().ok_or_else(|| bad(&format!("{col} holds {v}"))))
                    .collect(),
                _ => Err(bad(&format!("{col} is not an array"))),
            }
        };
        let lifetimes_ms = ints("lives")?;
        let counts = ints("vns")?;
        let names = match r.map().get("vs") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad("vs holds a non-string"))
                })
                .collect::<Result<Vec<String>, StoreError>>()?,
            _ => return Err(bad("vs is not an array")),
        };
        if names.len() != counts.len() {
            return Err(bad("versions and their counts differ in length"));
        }
        let mut versions: Vec<(String, i64)> = names.into_iter().zip(counts).collect();
        versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let sum = crate::EnvironmentSummary {
            environments: r.u64("envs")?,
            invocations: r.u64("inv")?,
            lifetimes_ms,
            runtime_versions: versions.into_iter().map(|(v, _)| v).collect(),
            function,
        };
        if sum.environments > 0 || !sum.runtime_versions.is_empty() {
            out.push(sum);
        }
    }
    Ok(out)
}

/// Per function: its environments (distinct stream names) with a completed invocation whose
/// first..last completed invocation overlaps `[from, to)` (as on SQLite).
pub(in crate::clickhouse) fn env_counts(
    s: &ClickHouseStore,
    seals: &Seals,
    functions: Option<&[String]>,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<BTreeMap<String, u64>, StoreError> {
    let Some(sql) = env_sql(seals, functions) else {
        return Ok(BTreeMap::new());
    };
    let rows = s.select(&format!(
        "SELECT function, uniqExactIf(log_stream, n > 0 AND assumeNotNull(first_ms) < {} \
         AND assumeNotNull(last_ms) >= {}) AS envs FROM ({sql}) GROUP BY function",
        to.unwrap_or(i64::MAX),
        from.unwrap_or(i64::MIN)
    ))?;
    rows.iter()
        .map(|r| Ok((r.str("function")?, r.u64("envs")?)))
        .collect()
}
