//! `GET /api/v1/fleet`: the dashboard's compact view of the whole fleet over a range. Totals,
//! quick wins and the filter choices for every function, then one page of function rows,
//! filtered and sorted on the server, each with small per-bucket arrays for sparklines. One
//! [`Store::fleet`](tern_store::Store::fleet) read answers it, however many functions there are.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tern_core::cost::CostOptions;
use tern_core::report::FunctionReport;
use tern_store::{FleetRow, TimeRange};

use super::{query, RangeQuery};
use crate::report;
use crate::serve::auth::ApiToken;
use crate::serve::error::ApiError;
use crate::serve::state::AppState;
use crate::timeutil::{now_ms, rfc3339_ms};

/// Rows per page when `limit` is not given, and the most a page may hold.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;
/// Quick wins returned (the biggest first).
const WINS: usize = 20;
/// Longest filter value accepted.
const MAX_FILTER: usize = 256;
/// Sparkline buckets aimed at: the smallest listed width that cuts the range into at most
/// this many.
const SPARK_BUCKETS: i64 = 40;
const SPARK_WIDTHS_MS: [i64; 9] = [
    60_000,
    300_000,
    900_000,
    3_600_000,
    3 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    86_400_000,
    7 * 86_400_000,
];

#[derive(Debug, Default, Deserialize)]
pub struct FleetQuery {
    #[serde(flatten)]
    range: RangeQuery,
    /// Substring of the function name, any case.
    name: Option<String>,
    runtime: Option<String>,
    architecture: Option<String>,
    region: Option<String>,
    account: Option<String>,
    /// Substring of any `key=value` tag, any case.
    tag: Option<String>,
    /// A column of [`SORTS`]; default `cost_usd`.
    sort: Option<String>,
    /// `asc` or `desc`; default descending for numbers, ascending for text.
    dir: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// The columns rows can be sorted by.
pub const SORTS: [&str; 12] = [
    "function",
    "invocations",
    "errors",
    "error_rate",
    "p50",
    "p99",
    "memory",
    "cold_starts",
    "cost_usd",
    "runtime",
    "architecture",
    "region",
];

#[derive(Serialize)]
pub struct Totals {
    functions: usize,
    invocations: u64,
    errors: u64,
    cold_starts: u64,
    cost_usd: f64,
    monthly_cost_usd: f64,
}

#[derive(Serialize)]
pub struct Win {
    kind: &'static str,
    function: String,
    detail: String,
    monthly_usd: f64,
}

#[derive(Serialize, Default)]
pub struct Facets {
    runtime: Vec<String>,
    architecture: Vec<String>,
    region: Vec<String>,
    account: Vec<String>,
}

/// Per-bucket figures of one function (`null` where a bucket has no invocation).
#[derive(Serialize)]
pub struct Spark {
    invocations: Vec<u64>,
    errors: Vec<u64>,
    p50_ms: Vec<Option<f64>>,
    p99_ms: Vec<Option<f64>>,
}

#[derive(Serialize)]
pub struct Row {
    function: String,
    invocations: u64,
    errors: u64,
    error_rate: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    memory_size_mb: Option<u32>,
    max_memory_used_mb: Option<u32>,
    cold_starts: u64,
    cost_usd: f64,
    monthly_cost_usd: f64,
    runtime: Option<String>,
    architecture: &'static str,
    region: String,
    account: Option<String>,
    tags: std::collections::BTreeMap<String, String>,
    spark: Spark,
}

#[derive(Serialize)]
pub struct Fleet {
    from: String,
    to: String,
    observed_hours: f64,
    bucket_seconds: i64,
    /// Start of each sparkline bucket (epoch ms); the first and last are cut by the range.
    bucket_starts: Vec<i64>,
    totals: Totals,
    quick_wins: Vec<Win>,
    /// Σ of every quick win's `monthly_usd` that is a saving (over-provisioned memory).
    savings_monthly_usd: f64,
    facets: Facets,
    /// Functions that match the filters (rows are a page of them).
    matched: usize,
    offset: usize,
    limit: usize,
    sort: &'static str,
    dir: &'static str,
    functions: Vec<Row>,
}

/// A filter value: trimmed, empty as none, bounded.
fn filter(v: Option<&str>, name: &str) -> Result<Option<String>, ApiError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.len() > MAX_FILTER {
        return Err(ApiError::BadRequest(format!(
            "{name} is {} bytes long; at most {MAX_FILTER}",
            v.len()
        )));
    }
    Ok(Some(v.to_string()))
}

/// The sparkline bucket for a range: the smallest width giving at most [`SPARK_BUCKETS`].
pub fn spark_bucket_ms(from: i64, to: i64) -> i64 {
    let span = (to - from).max(1);
    // Aligned buckets: up to one more than span / width.
    SPARK_WIDTHS_MS
        .into_iter()
        .find(|w| span / w < SPARK_BUCKETS)
        .unwrap_or_else(|| (span / (SPARK_BUCKETS - 2)).max(1))
}

struct Item {
    stats: tern_store::FunctionStats,
    report: FunctionReport,
    buckets: Vec<tern_store::FleetBucket>,
}

fn number(i: &Item, key: &str) -> Option<f64> {
    let r = &i.report;
    match key {
        "invocations" => Some(r.invocations as f64),
        "errors" => Some(r.errors as f64),
        "error_rate" => Some(r.error_rate()),
        "p50" => r.duration_ms.map(|d| d.p50),
        "p99" => r.duration_ms.map(|d| d.p99),
        "memory" => match (r.max_memory_used_mb, r.memory_size_mb) {
            (Some(u), Some(s)) if s > 0 => Some(f64::from(u) / f64::from(s)),
            _ => None,
        },
        "cold_starts" => Some(r.cold_starts as f64),
        _ => Some(r.cost_usd),
    }
}

fn text<'a>(i: &'a Item, key: &str) -> Option<&'a str> {
    match key {
        "function" => Some(&i.report.function),
        "runtime" => i.report.runtime.as_deref(),
        "architecture" => Some(i.report.arch.as_str()),
        _ => Some(&i.report.region),
    }
}

/// Compare by `key`, missing values last whatever the direction, then by name.
fn compare(a: &Item, b: &Item, key: &str, desc: bool) -> Ordering {
    let dir = |o: Ordering| if desc { o.reverse() } else { o };
    let o = if matches!(key, "function" | "runtime" | "architecture" | "region") {
        match (text(a, key), text(b, key)) {
            (Some(x), Some(y)) => dir(x.cmp(y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    } else {
        match (number(a, key), number(b, key)) {
            (Some(x), Some(y)) => dir(x.total_cmp(&y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    };
    o.then_with(|| a.report.function.cmp(&b.report.function))
}

pub async fn show(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<FleetQuery>, QueryRejection>,
) -> Result<Json<Fleet>, ApiError> {
    let q = query(q)?;
    let now = now_ms();
    let range = q.range.resolve(now)?;
    let sort = match q.sort.as_deref() {
        None => "cost_usd",
        Some(s) => SORTS.into_iter().find(|k| *k == s).ok_or_else(|| {
            ApiError::BadRequest(format!("sort={s:?}: one of {}", SORTS.join(", ")))
        })?,
    };
    let textual = matches!(sort, "function" | "runtime" | "architecture" | "region");
    let desc = match q.dir.as_deref() {
        None => !textual,
        Some("desc") => true,
        Some("asc") => false,
        Some(d) => return Err(ApiError::BadRequest(format!("dir={d:?}: asc or desc"))),
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit={limit}: at most {MAX_LIMIT}"
        )));
    }
    let offset = q.offset.unwrap_or(0);
    let name = filter(q.name.as_deref(), "name")?.map(|s| s.to_lowercase());
    let tag = filter(q.tag.as_deref(), "tag")?.map(|s| s.to_lowercase());
    let runtime = filter(q.runtime.as_deref(), "runtime")?;
    let architecture = filter(q.architecture.as_deref(), "architecture")?;
    let region = filter(q.region.as_deref(), "region")?;
    let account = filter(q.account.as_deref(), "account")?;
    let opts = report::Options {
        cost: CostOptions::default(),
        insights: state.insights.clone(),
        recommend: state.recommend,
        changes: false,
    };
    let (rows, bounds, range, bucket_ms, inputs) = state
        .reads
        .with(move |store| {
            let bounds = store.time_bounds()?;
            // An open range is the stored data's span (buckets need both ends).
            let from = range.from_ms.or(bounds.map(|b| b.0)).unwrap_or(now);
            let to = range
                .to_ms
                .or(bounds.map(|b| b.1 + 1))
                .unwrap_or(now)
                .max(from + 1);
            let bucket_ms = spark_bucket_ms(from, to);
            let closed = TimeRange {
                from_ms: Some(from),
                to_ms: Some(to),
            };
            let rows: Vec<FleetRow> = store.fleet(closed, Some(bucket_ms))?;
            let projection_ms = report::projection_ms(report::observed_ms(closed, bounds));
            let inputs = crate::views::memory::inputs(store, &[], closed, projection_ms)?;
            Ok((rows, bounds, closed, bucket_ms, inputs))
        })
        .await?;
    let observed_ms = report::observed_ms(range, bounds);
    let projection_ms = report::projection_ms(observed_ms);
    let (stats, buckets): (Vec<_>, Vec<_>) = rows.into_iter().map(|r| (r.stats, r.buckets)).unzip();
    let reports = report::price(&stats, opts.cost, projection_ms);
    let memory = report::memory_advice(&stats, &inputs, &opts.recommend);
    let wins = report::wins(&reports, projection_ms, &opts, &memory);
    // `price` leaves idle functions out; pair each report with its row by name.
    let mut by_name: std::collections::HashMap<String, (tern_store::FunctionStats, Vec<_>)> = stats
        .into_iter()
        .zip(buckets)
        .map(|(s, b)| (s.function.clone(), (s, b)))
        .collect();
    let items: Vec<Item> = reports
        .into_iter()
        .filter_map(|report| {
            by_name
                .remove(&report.function)
                .map(|(stats, buckets)| Item {
                    stats,
                    report,
                    buckets,
                })
        })
        .collect();
    let mut facets = [
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    ];
    for i in &items {
        if let Some(r) = &i.report.runtime {
            facets[0].insert(r.clone());
        }
        facets[1].insert(i.report.arch.as_str().to_string());
        facets[2].insert(i.report.region.clone());
        if let Some(a) = &i.stats.meta.account {
            facets[3].insert(a.clone());
        }
    }
    let totals = Totals {
        functions: items.len(),
        invocations: items.iter().map(|i| i.report.invocations).sum(),
        errors: items.iter().map(|i| i.report.errors).sum(),
        cold_starts: items.iter().map(|i| i.report.cold_starts).sum(),
        cost_usd: items.iter().map(|i| i.report.cost_usd).sum::<f64>() + 0.0,
        monthly_cost_usd: items.iter().map(|i| i.report.monthly_cost_usd).sum::<f64>() + 0.0,
    };
    let tag_text = |i: &Item| -> String {
        i.stats
            .meta
            .tags
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}").to_lowercase())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut matched: Vec<&Item> = items
        .iter()
        .filter(|i| {
            name.as_deref()
                .is_none_or(|n| i.report.function.to_lowercase().contains(n))
                && runtime
                    .as_deref()
                    .is_none_or(|r| i.report.runtime.as_deref() == Some(r))
                && architecture
                    .as_deref()
                    .is_none_or(|a| i.report.arch.as_str() == a)
                && region.as_deref().is_none_or(|r| i.report.region == r)
                && account
                    .as_deref()
                    .is_none_or(|a| i.stats.meta.account.as_deref() == Some(a))
                && tag.as_deref().is_none_or(|t| tag_text(i).contains(t))
        })
        .collect();
    matched.sort_by(|a, b| compare(a, b, sort, desc));
    let total_matched = matched.len();
    let functions = matched
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(row)
        .collect();
    let edges = tern_store::fleet_buckets(range, bucket_ms).unwrap_or_default();
    let mut wins = wins;
    wins.sort_by(|a, b| b.monthly_usd.total_cmp(&a.monthly_usd));
    let savings_monthly_usd = wins
        .iter()
        .filter(|w| w.suggested_memory_mb.is_some())
        .map(|w| w.monthly_usd)
        .sum::<f64>()
        + 0.0;
    Ok(Json(Fleet {
        from: rfc3339_ms(range.from_ms.unwrap_or(now)),
        to: rfc3339_ms(range.to_ms.unwrap_or(now)),
        observed_hours: observed_ms as f64 / 3_600_000.0,
        bucket_seconds: bucket_ms / 1000,
        bucket_starts: edges.iter().map(|e| e.0).collect(),
        totals,
        quick_wins: wins
            .into_iter()
            .take(WINS)
            .map(|w| Win {
                kind: w.kind.as_str(),
                function: w.function,
                detail: w.detail,
                monthly_usd: w.monthly_usd,
            })
            .collect(),
        savings_monthly_usd,
        facets: {
            let [runtime, architecture, region, account] = facets.map(|f| f.into_iter().collect());
            Facets {
                runtime,
                architecture,
                region,
                account,
            }
        },
        matched: total_matched,
        offset,
        limit,
        sort,
        dir: if desc { "desc" } else { "asc" },
        functions,
    }))
}

fn row(i: &Item) -> Row {
    let r = &i.report;
    let q = |b: &tern_store::FleetBucket, p: f64| {
        (b.duration.count() > 0)
            .then(|| b.duration.quantile(p))
            .flatten()
    };
    Row {
        function: r.function.clone(),
        invocations: r.invocations,
        errors: r.errors,
        error_rate: r.error_rate(),
        p50_ms: r.duration_ms.map(|d| d.p50),
        p99_ms: r.duration_ms.map(|d| d.p99),
        memory_size_mb: r.memory_size_mb,
        max_memory_used_mb: r.max_memory_used_mb,
        cold_starts: r.cold_starts,
        cost_usd: r.cost_usd,
        monthly_cost_usd: r.monthly_cost_usd,
        runtime: r.runtime.clone(),
        architecture: r.arch.as_str(),
        region: r.region.clone(),
        account: i.stats.meta.account.clone(),
        tags: i.stats.meta.tags.iter().flatten().cloned().collect(),
        spark: Spark {
            invocations: i.buckets.iter().map(|b| b.invocations).collect(),
            errors: i.buckets.iter().map(|b| b.errors).collect(),
            p50_ms: i.buckets.iter().map(|b| q(b, 0.5)).collect(),
            p99_ms: i.buckets.iter().map(|b| q(b, 0.99)).collect(),
        },
    }
}
