//! `GET /api/v1/insights`: the insight catalogue over a range (as `tern insights --format
//! json`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tern_core::cost::CostOptions;
use tern_core::insights::Insight;

use super::{query, RangeQuery};
use crate::insights::{self, Filter};
use crate::report;
use crate::serve::auth::ApiToken;
use crate::serve::error::ApiError;
use crate::serve::state::AppState;
use crate::timeutil::now_ms;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    range: RangeQuery,
    /// A glob over function names.
    function: Option<String>,
    /// Rule ids, comma-separated.
    rule: Option<String>,
    /// `info`, `warning` or `critical`.
    min_severity: Option<String>,
    /// At most this many insights, most severe first (`total` still counts them all).
    limit: Option<usize>,
}

pub async fn list(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let now = now_ms();
    let range = q.range.resolve(now)?;
    let rules: Vec<String> = q.rule.into_iter().collect();
    let filter = Filter::parse(&rules, q.min_severity.as_deref())
        .map_err(|e| ApiError::BadRequest(format!("{e:#}")))?;
    if q.limit == Some(0) {
        return Err(ApiError::BadRequest("limit must be at least 1".into()));
    }
    let limit = q.limit;
    let glob = report::function_matcher(q.function.as_deref())
        .map_err(|e| ApiError::BadRequest(format!("{e:#}").replace("--", "")))?;
    let opts = report::Options {
        cost: CostOptions::default(),
        insights: state.insights.clone(),
        recommend: state.recommend,
        changes: false,
    };
    // The fleet-wide reads of the insights (environments, hourly counts) on a second
    // connection while the first reads the range's statistics.
    let side_settings = state.insights.clone();
    let json = state
        .reads
        .with_pair(
            move |store| insights::prefetch(store, range, &side_settings),
            move |store, pre| {
                let functions = report::select_functions(store, glob.as_ref())?;
                let later: report::Later = Box::new(move || {
                    pre.recv()
                        .map_err(|_| anyhow::anyhow!("the insights' fleet-wide read went down"))?
                });
                let rep =
                    report::build_prefetched(store, &functions, range, &opts, now, Some(later))?;
                let shown: Vec<&Insight> = rep.insights.iter().filter(|i| filter.keep(i)).collect();
                insights::to_json(range, &shown, limit)
            },
        )
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}
