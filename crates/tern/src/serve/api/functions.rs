//! `GET /api/v1/functions` (the `tern report --format json` document) and
//! `GET /api/v1/functions/{name}/series` (one function per time bucket).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tern_core::cost::{self, CostOptions};
use tern_store::{FunctionStats, TimeRange, MAX_SERIES_BUCKETS};

use super::{query, RangeQuery};
use crate::report;
use crate::serve::auth::ApiToken;
use crate::serve::error::ApiError;
use crate::serve::state::AppState;
use crate::timeutil::{now_ms, rfc3339_ms};

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    range: RangeQuery,
    /// A glob over function names, as `tern report --function`.
    function: Option<String>,
    /// `true`: subtract the monthly free tier.
    free_tier: Option<String>,
}

fn flag(v: Option<&str>, name: &str) -> Result<bool, ApiError> {
    match v {
        None => Ok(false),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(ApiError::BadRequest(format!(
            "{name}={other:?}: use true or false"
        ))),
    }
}

/// The report: same JSON as `tern report --format json`.
pub async fn list(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let range = q.range.resolve(now_ms())?;
    let free_tier = flag(q.free_tier.as_deref(), "free_tier")?;
    let glob = report::function_matcher(q.function.as_deref())
        .map_err(|e| ApiError::BadRequest(format!("{e:#}").replace("--", "")))?;
    let opts = report::Options {
        cost: CostOptions { free_tier },
        insights: state.insights.clone(),
        recommend: state.recommend,
        changes: false,
    };
    let json = state
        .reads
        .with(move |store| {
            let functions = report::select_functions(store, glob.as_ref())?;
            report::build(store, &functions, range, &opts)?.to_json()
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct SeriesQuery {
    #[serde(flatten)]
    range: RangeQuery,
    /// Bucket width: `5m`, `1h`, `1d`. Default 1h.
    bucket: Option<String>,
}

#[derive(Serialize)]
pub struct Percentiles {
    p50: f64,
    p95: f64,
    p99: f64,
}

#[derive(Serialize)]
pub struct Point {
    start: String,
    start_ms: i64,
    invocations: u64,
    errors: u64,
    cold_starts: u64,
    duration_ms: Option<Percentiles>,
    max_memory_used_mb: Option<u32>,
    memory_size_mb: Option<u32>,
    billed_duration_ms: f64,
    gb_seconds: f64,
    cost_usd: f64,
    log_lines: u64,
    log_bytes: u64,
}

#[derive(Serialize)]
pub struct Series {
    function: String,
    from: String,
    to: String,
    bucket_seconds: i64,
    points: Vec<Point>,
}

/// Smallest bucket: a minute.
const MIN_BUCKET_MS: i64 = 60_000;

pub async fn series(
    State(state): State<AppState>,
    _auth: ApiToken,
    Path(name): Path<String>,
    q: Result<Query<SeriesQuery>, QueryRejection>,
) -> Result<Json<Series>, ApiError> {
    let q = query(q)?;
    let now = now_ms();
    let range = q.range.resolve(now)?;
    let from = range.from_ms.ok_or_else(|| {
        ApiError::BadRequest("a series needs a start: give `since` (e.g. 24h) or `from`".into())
    })?;
    let to = range.to_ms.unwrap_or(now);
    if to <= from {
        return Err(ApiError::BadRequest(
            "the range is empty (`to` is not after `from`)".into(),
        ));
    }
    let bucket = q.bucket.as_deref().unwrap_or("1h");
    let bucket_ms = crate::timeutil::parse_duration(bucket)
        .map(|d| d.as_millis() as i64)
        .map_err(|e| ApiError::BadRequest(format!("bucket={bucket:?}: {e}")))?;
    if bucket_ms < MIN_BUCKET_MS {
        return Err(ApiError::BadRequest(format!(
            "bucket={bucket:?}: at least 1m"
        )));
    }
    let buckets = (to - from - 1) / bucket_ms + 1;
    if buckets > MAX_SERIES_BUCKETS {
        return Err(ApiError::BadRequest(format!(
            "{buckets} buckets of {bucket} requested; at most {MAX_SERIES_BUCKETS}: use a wider bucket or a shorter range"
        )));
    }
    let range = TimeRange {
        from_ms: Some(from),
        to_ms: Some(to),
    };
    let function = name.clone();
    let rows = state
        .reads
        .with(move |store| {
            if !store.functions()?.iter().any(|f| f.function == function) {
                return Ok(None);
            }
            Ok(Some(store.series(&function, range, bucket_ms)?))
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no stored function is named {name:?}")))?;
    Ok(Json(Series {
        function: name,
        from: rfc3339_ms(from),
        to: rfc3339_ms(to),
        bucket_seconds: bucket_ms / 1000,
        points: rows.iter().map(|(start, s)| point(*start, s)).collect(),
    }))
}

fn point(start: i64, s: &FunctionStats) -> Point {
    let usage = crate::report::usage_of(s);
    let cost_usd = cost::price_usage(&usage, CostOptions::default())
        .iter()
        .map(|c| c.total())
        .sum::<f64>()
        + 0.0;
    let duration_ms = (s.duration.count() > 0).then(|| Percentiles {
        p50: s.duration.quantile(0.5).unwrap_or(0.0),
        p95: s.duration.quantile(0.95).unwrap_or(0.0),
        p99: s.duration.quantile(0.99).unwrap_or(0.0),
    });
    Point {
        start: rfc3339_ms(start),
        start_ms: start,
        invocations: s.invocations,
        errors: s.errors,
        cold_starts: s.cold_starts,
        duration_ms,
        max_memory_used_mb: s.max_memory_used_mb,
        memory_size_mb: s.memory_size_mb,
        billed_duration_ms: s.billed_duration_ms,
        gb_seconds: s.gb_seconds,
        cost_usd,
        log_lines: s.log_lines,
        log_bytes: s.log_bytes,
    }
}

/// One function's stored metadata (from logs and, when pulled, the AWS inventory).
#[derive(Serialize)]
pub struct JsonMeta {
    function: String,
    region: Option<String>,
    account: Option<String>,
    architecture: Option<&'static str>,
    runtime: Option<String>,
    memory_size_mb: Option<u32>,
    timeout_ms: Option<u64>,
    tags: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize)]
pub struct Inventory {
    /// The first and last stored event (null when the store is empty).
    data_from: Option<String>,
    data_to: Option<String>,
    data_from_ms: Option<i64>,
    data_to_ms: Option<i64>,
    functions: Vec<JsonMeta>,
}

/// `GET /api/v1/inventory`: every stored function's metadata (runtime, account, tags …, for
/// filtering the dashboard's table) and the time span of the stored data.
pub async fn inventory(
    State(state): State<AppState>,
    _auth: ApiToken,
) -> Result<Json<Inventory>, ApiError> {
    let (bounds, metas) = state
        .reads
        .with(|store| Ok((store.time_bounds()?, store.functions()?)))
        .await?;
    Ok(Json(Inventory {
        data_from: bounds.map(|(lo, _)| rfc3339_ms(lo)),
        data_to: bounds.map(|(_, hi)| rfc3339_ms(hi)),
        data_from_ms: bounds.map(|(lo, _)| lo),
        data_to_ms: bounds.map(|(_, hi)| hi),
        functions: metas
            .into_iter()
            .map(|m| JsonMeta {
                function: m.function,
                region: m.region,
                account: m.account,
                architecture: m.arch.map(|a| a.as_str()),
                runtime: m.runtime,
                memory_size_mb: m.memory_size_mb,
                timeout_ms: m.timeout_ms,
                tags: m.tags.unwrap_or_default().into_iter().collect(),
            })
            .collect(),
    }))
}
