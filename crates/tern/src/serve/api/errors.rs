//! Error groups: `GET /api/v1/errors` (as `tern errors --format json`),
//! `GET /api/v1/errors/{id}` (as `tern errors show --format json`: timeline and samples) and
//! `POST /api/v1/errors/{id}/status` (resolve, mute, reopen).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tern_store::{ErrorQuery, ErrorStatus, Store};

use super::{query, RangeQuery};
use crate::errors::{check_id, group_json, groups_json, show_json};
use crate::report;
use crate::serve::auth::ApiToken;
use crate::serve::error::ApiError;
use crate::serve::state::AppState;
use crate::timeutil::now_ms;

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    range: RangeQuery,
    /// A glob over function names.
    function: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    /// `true`: each group also gets `spark`, its occurrences per bucket over the range (a
    /// sparkline; the buckets are in `spark_starts` of the first group).
    spark: Option<String>,
}

fn status_param(s: &str) -> Result<ErrorStatus, ApiError> {
    ErrorStatus::parse(s.trim())
        .ok_or_else(|| ApiError::BadRequest(format!("status={s:?}: use open, resolved or muted")))
}

pub async fn list(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let now = now_ms();
    let range = q.range.resolve(now)?;
    let status = q.status.as_deref().map(status_param).transpose()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit={limit}: use 1 to 1000"
        )));
    }
    let glob = report::function_matcher(q.function.as_deref())
        .map_err(|e| ApiError::BadRequest(format!("{e:#}").replace("--", "")))?;
    let spark = match q.spark.as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(o) => return Err(ApiError::BadRequest(format!("spark={o:?}: true or false"))),
    };
    let body = state
        .reads
        .with(move |store| {
            let functions = match &glob {
                Some(g) => {
                    let f = report::select_functions(store, Some(g))?;
                    if f.is_empty() {
                        return groups_json(&[]);
                    }
                    f
                }
                None => Vec::new(),
            };
            let groups = store.error_groups(&ErrorQuery {
                functions,
                status,
                range,
                since_seq: None,
                now_ms: Some(now),
                limit,
            })?;
            let body = groups_json(&groups)?;
            if !spark || groups.is_empty() {
                return Ok(body);
            }
            // Sparklines over the range (an open range: the stored data's span).
            let bounds = store.time_bounds()?;
            let from = range.from_ms.or(bounds.map(|b| b.0)).unwrap_or(now);
            let to = range
                .to_ms
                .or(bounds.map(|b| b.1 + 1))
                .unwrap_or(now)
                .max(from + 1);
            let bucket = super::fleet::spark_bucket_ms(from, to).max(3_600_000);
            let r = tern_store::TimeRange {
                from_ms: Some(from),
                to_ms: Some(to),
            };
            let mut v: serde_json::Value = serde_json::from_str(&body)?;
            if let Some(list) = v.as_array_mut() {
                for (g, out) in groups.iter().zip(list.iter_mut()) {
                    let series = store.error_series(&g.id, r, bucket)?;
                    out["spark"] = series.iter().map(|(_, n)| *n).collect();
                    out["spark_starts"] = series.iter().map(|(t, _)| *t).collect();
                }
            }
            Ok(v.to_string())
        })
        .await?;
    Ok(json(body))
}

fn id_param(id: &str) -> Result<String, ApiError> {
    check_id(id).map_err(|e| ApiError::BadRequest(format!("{e:#}")))
}

pub async fn show(
    State(state): State<AppState>,
    _auth: ApiToken,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id_param(&id)?;
    let shown = id.clone();
    let body = state
        .reads
        .with(move |store| match store.error_group(&id, Some(now_ms()))? {
            Some(g) => show_json(store, &g, 5).map(Some),
            None => Ok(None),
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no error group {shown}")))?;
    Ok(json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
    /// Only with `muted`: how long, e.g. `7d` (default: until reopened).
    muted_for: Option<String>,
}

pub async fn set_status(
    State(state): State<AppState>,
    _auth: ApiToken,
    Path(id): Path<String>,
    body: Result<Json<StatusBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let id = id_param(&id)?;
    let Json(body) =
        body.map_err(|e| ApiError::BadRequest(format!("bad body: {}", e.body_text())))?;
    let status = status_param(&body.status)?;
    let now = now_ms();
    let until = match (&body.muted_for, status) {
        (None, _) => None,
        (Some(d), ErrorStatus::Muted) => {
            let ms = crate::timeutil::parse_duration(d)
                .ok()
                .and_then(|d| i64::try_from(d.as_millis()).ok())
                .filter(|&ms| ms > 0)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "muted_for={d:?}: expected {}, more than zero",
                        crate::timeutil::DURATION_FORMS
                    ))
                })?;
            Some(now.saturating_add(ms))
        }
        (Some(_), _) => {
            return Err(ApiError::BadRequest(
                "muted_for only goes with \"status\": \"muted\"".into(),
            ))
        }
    };
    let key = id.clone();
    let found = state
        .writer
        .with_store(move |s: &mut dyn Store| s.set_error_status(&key, status, until, now))
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !found {
        return Err(ApiError::NotFound(format!("no error group {id}")));
    }
    let shown = id.clone();
    let body = state
        .reads
        .with(move |store| {
            store
                .error_group(&id, Some(now_ms()))?
                .map(|g| group_json(&g))
                .transpose()
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no error group {shown}")))?;
    Ok(json(body))
}
