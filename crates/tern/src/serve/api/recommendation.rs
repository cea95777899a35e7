//! `GET /api/v1/functions/{name}/recommendation`: one function's memory recommendation (as
//! `tern recommend --format json` for that function: the curve over memory sizes, the sizes
//! observed, the floor) and its `tern tune` runs with their measured points.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tern_core::recommend::{Settings, Strategy};

use super::{query, RangeQuery};
use crate::recommend::{self, WireRecommendation};
use crate::serve::auth::ApiToken;
use crate::serve::error::ApiError;
use crate::serve::state::AppState;
use crate::timeutil::{now_ms, rfc3339_ms};

#[derive(Debug, Default, Deserialize)]
pub struct RecommendationQuery {
    #[serde(flatten)]
    range: RangeQuery,
    /// `cost`, `speed` or `balanced` (default).
    strategy: Option<String>,
}

#[derive(Serialize)]
pub struct TuningPointWire {
    memory_mb: u32,
    architecture: &'static str,
    invocations: u32,
    errors: u32,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    /// Cost of one invocation at this size.
    cost_usd: Option<f64>,
    error: Option<String>,
}

#[derive(Serialize)]
pub struct TuningRunWire {
    started_at: String,
    finished_at: String,
    complete: bool,
    original_memory_mb: u32,
    applied_memory_mb: Option<u32>,
    invocations_per_size: u32,
    points: Vec<TuningPointWire>,
}

#[derive(Serialize)]
pub struct RecommendationWire {
    function: String,
    strategy: &'static str,
    /// `null` when there is none; `skipped` says why.
    recommendation: Option<WireRecommendation>,
    skipped: Option<&'static str>,
    /// `tern tune` runs, newest first.
    tuning: Vec<TuningRunWire>,
}

pub async fn show(
    State(state): State<AppState>,
    _auth: ApiToken,
    Path(name): Path<String>,
    q: Result<Query<RecommendationQuery>, QueryRejection>,
) -> Result<Json<RecommendationWire>, ApiError> {
    let q = query(q)?;
    let range = q.range.resolve(now_ms())?;
    // `[recommend]` of tern.toml decides unless the request names a strategy.
    let configured = state.recommend;
    let weight = match configured.strategy {
        Strategy::Balanced { weight } => weight,
        _ => 0.5,
    };
    let strategy = match q.strategy.as_deref() {
        None => configured.strategy,
        Some(s) => crate::config::strategy(s, weight).ok_or_else(|| {
            ApiError::BadRequest(format!("strategy={s:?}: cost, speed or balanced"))
        })?,
    };
    let settings = Settings {
        strategy,
        ..configured
    };
    let glob = globset::Glob::new(&globset::escape(&name))
        .map_err(|e| ApiError::BadRequest(format!("function name: {e}")))?
        .compile_matcher();
    let function = name.clone();
    let found = state
        .reads
        .with(move |store| {
            if !store.functions()?.iter().any(|f| f.function == function) {
                return Ok(None);
            }
            let mut out = recommend::build(store, Some(&glob), range, &settings)?;
            let runs = store.tuning_runs(&function)?;
            Ok(Some((out.functions.pop(), out.skipped.pop(), runs)))
        })
        .await?;
    let Some((rec, skipped, runs)) = found else {
        return Err(ApiError::NotFound(format!(
            "no stored function is named {name:?}"
        )));
    };
    let skipped = match (&rec, skipped) {
        (Some(_), _) => None,
        (None, Some(s)) => Some(s.reason),
        (None, None) => Some("no invocations in this range"),
    };
    Ok(Json(RecommendationWire {
        function: name,
        strategy: strategy.name(),
        recommendation: rec,
        skipped,
        tuning: runs
            .into_iter()
            .map(|r| TuningRunWire {
                started_at: rfc3339_ms(r.started_ms),
                finished_at: rfc3339_ms(r.finished_ms),
                complete: r.complete,
                original_memory_mb: r.original_memory_mb,
                applied_memory_mb: r.applied_memory_mb,
                invocations_per_size: r.invocations_per_size,
                points: r
                    .points
                    .into_iter()
                    .map(|p| TuningPointWire {
                        memory_mb: p.memory_mb,
                        architecture: p.arch.as_str(),
                        invocations: p.invocations,
                        errors: p.errors,
                        p50_ms: p.p50_ms,
                        p95_ms: p.p95_ms,
                        cost_usd: p.cost_usd,
                        error: p.error,
                    })
                    .collect(),
            })
            .collect(),
    }))
}
