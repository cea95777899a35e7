//! `GET /api/v1/invocations` (filtered list, newest first) and
//! `GET /api/v1/invocations/logs?log_group=&log_stream=&request_id=` (one invocation with its
//! log lines). The log view takes query parameters, not path segments: log groups contain
//! slashes (`/aws/lambda/f`) and streams contain `[$LATEST]`, which path segments would need
//! double-encoded; query parameters carry them with ordinary URL encoding.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tern_core::model::Outcome;
use tern_store::InvocationQuery;

use super::{query, RangeQuery};
use crate::invocations::{json_row, JsonLine};
use crate::report;
use crate::serve::auth::ApiToken;
use crate::serve::error::ApiError;
use crate::serve::state::AppState;
use crate::timeutil::{now_ms, rfc3339_ms};

/// Default and largest `limit`.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    range: RangeQuery,
    /// A glob over function names.
    function: Option<String>,
    outcome: Option<String>,
    cold: Option<String>,
    request_id: Option<String>,
    limit: Option<String>,
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub async fn list(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let range = q.range.resolve(now_ms())?;
    let outcome = q
        .outcome
        .as_deref()
        .map(|o| {
            Outcome::parse(o).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "outcome={o:?}: use success, error, timeout, out_of_memory, crash or init_error"
                ))
            })
        })
        .transpose()?;
    let cold = match q.cold.as_deref() {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "cold={other:?}: use true or false"
            )))
        }
    };
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<usize>() {
            Ok(n @ 1..=MAX_LIMIT) => n,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "limit={l:?}: use a number from 1 to {MAX_LIMIT}"
                )))
            }
        },
    };
    let glob = report::function_matcher(q.function.as_deref())
        .map_err(|e| ApiError::BadRequest(format!("{e:#}").replace("--", "")))?;
    let request_id = q.request_id.clone();
    let body = state
        .reads
        .with(move |store| {
            let functions = match &glob {
                Some(g) => {
                    let f = report::select_functions(store, Some(g))?;
                    if f.is_empty() {
                        // No function matches: nothing to list (an empty filter means all).
                        return Ok("[]\n".to_string());
                    }
                    f
                }
                None => Vec::new(),
            };
            let rows = store.invocations(&InvocationQuery {
                functions,
                outcome,
                cold,
                request_id,
                range,
                limit,
            })?;
            let v: Vec<_> = rows.iter().map(|r| json_row(r, None)).collect();
            Ok(serde_json::to_string_pretty(&v)? + "\n")
        })
        .await?;
    Ok(json_response(body))
}

#[derive(Debug, Default, Deserialize)]
pub struct LogsQuery {
    log_group: Option<String>,
    log_stream: Option<String>,
    request_id: Option<String>,
}

pub async fn logs(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<LogsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let need = |v: Option<String>, name: &str| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::BadRequest(format!("missing query parameter `{name}`")))
    };
    let group = need(q.log_group, "log_group")?;
    let stream = need(q.log_stream, "log_stream")?;
    let request_id = need(q.request_id, "request_id")?;
    let (g, s, r) = (group.clone(), stream.clone(), request_id.clone());
    let body = state
        .reads
        .with(move |store| {
            let rows = store.invocations(&InvocationQuery {
                request_id: Some(r.clone()),
                limit: 1000,
                ..InvocationQuery::default()
            })?;
            let Some(row) = rows
                .iter()
                .find(|row| row.log_group == g && row.log_stream == s)
            else {
                return Ok(None);
            };
            let lines = store.invocation_logs(&g, &s, &r)?;
            let logs = lines
                .iter()
                .map(|l| JsonLine {
                    timestamp: rfc3339_ms(l.timestamp_ms),
                    message: &l.message,
                })
                .collect();
            Ok(Some(
                serde_json::to_string_pretty(&json_row(row, Some(logs)))? + "\n",
            ))
        })
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no stored invocation {request_id:?} in log group {group:?}, stream {stream:?}"
            ))
        })?;
    Ok(json_response(body))
}
