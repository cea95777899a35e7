//! Change impact over the API: `GET`/`POST /api/v1/markers` (a CI pipeline records
//! a deploy), `GET /api/v1/functions/{name}/changes` (every change point of a function with
//! what it did, as `tern compare --format json`) and `GET /api/v1/changes` (the fleet's newest
//! changes with their verdicts, as the `changes` of `tern report --format json`).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tern_core::impact::Settings;
use tern_store::{Marker, Store};

use super::{query, RangeQuery};
use crate::compare::{self, WireCompare, WireRecent};
use crate::serve::auth::ApiToken;
use crate::serve::error::ApiError;
use crate::serve::state::AppState;
use crate::timeutil::{now_ms, parse_instant, rfc3339_ms};

/// Most recent changes whose impact `GET …/changes` computes.
pub const MAX_CHANGES: usize = 20;

#[derive(Debug, Serialize)]
pub struct WireMarker {
    /// `tern compare --change marker-<id>`.
    pub id: i64,
    pub change_id: String,
    pub function: String,
    pub at: String,
    pub at_ms: i64,
    pub note: String,
    pub created: String,
}

fn wire(m: &Marker) -> WireMarker {
    WireMarker {
        id: m.id,
        change_id: format!("marker-{}", m.id),
        function: m.function.clone(),
        at: rfc3339_ms(m.at_ms),
        at_ms: m.at_ms,
        note: m.note.clone(),
        created: rfc3339_ms(m.created_ms),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MarkersQuery {
    function: Option<String>,
}

pub async fn list_markers(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<MarkersQuery>, QueryRejection>,
) -> Result<Json<Vec<WireMarker>>, ApiError> {
    let q = query(q)?;
    let list = state
        .reads
        .with(move |store| Ok(store.markers(q.function.as_deref())?))
        .await?;
    Ok(Json(list.iter().map(wire).collect()))
}

#[derive(Debug, Deserialize)]
pub struct MarkerBody {
    function: String,
    note: String,
    /// RFC 3339, a date or epoch ms (as a string). Default: now.
    at: Option<String>,
}

pub async fn create_marker(
    State(state): State<AppState>,
    _auth: ApiToken,
    body: Result<Json<MarkerBody>, JsonRejection>,
) -> Result<(StatusCode, Json<WireMarker>), ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::BadRequest(format!("bad body: {}", e.body_text())))?;
    if body.function.trim().is_empty() || body.note.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "a marker needs a non-empty \"function\" and \"note\"".into(),
        ));
    }
    let now = now_ms();
    let at_ms = match &body.at {
        None => now,
        Some(s) => parse_instant(s).map_err(|_| {
            ApiError::BadRequest(format!(
                "at={s:?}: RFC 3339 (2026-11-01T00:00:00Z), a date or epoch ms"
            ))
        })?,
    };
    let marker = Marker {
        id: 0,
        function: body.function,
        at_ms,
        note: body.note,
        created_ms: now,
    };
    let stored = state
        .writer
        .with_store(move |s: &mut dyn Store| s.add_marker(&marker))
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok((StatusCode::CREATED, Json(wire(&stored))))
}

#[derive(Debug, Serialize)]
pub struct WireChanges {
    pub function: String,
    /// The most recent changes (at most 20), newest first, each with its comparison.
    pub changes: Vec<WireCompare>,
}

pub async fn list(
    State(state): State<AppState>,
    _auth: ApiToken,
    Path(name): Path<String>,
) -> Result<Json<WireChanges>, ApiError> {
    let function = name.clone();
    let found = state
        .reads
        .with(move |store| {
            if !store.functions()?.iter().any(|m| m.function == function) {
                return Ok(None);
            }
            Ok(Some(impacts(store, &function, MAX_CHANGES)?))
        })
        .await?;
    match found {
        Some(changes) => Ok(Json(WireChanges {
            function: name,
            changes,
        })),
        None => Err(ApiError::NotFound(format!("no function {name:?}"))),
    }
}

/// The newest `limit` changes of a function with their comparisons, newest first.
pub fn impacts(
    store: &dyn Store,
    function: &str,
    limit: usize,
) -> anyhow::Result<Vec<WireCompare>> {
    let mut data = compare::load(store, function)?;
    let settings = Settings {
        arch: data.arch,
        ..Settings::default()
    };
    let newest: Vec<tern_core::impact::Change> =
        data.changes.iter().rev().take(limit).cloned().collect();
    let refs: Vec<&tern_core::impact::Change> = newest.iter().collect();
    if let Some(range) = compare::windows_range(&data, &refs) {
        data.load_samples(store, range)?;
    }
    Ok(newest
        .iter()
        .map(|c| compare::compare_change(&data, c, &settings))
        .collect())
}

#[derive(Debug, Default, Deserialize)]
pub struct FleetQuery {
    since: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// A glob of function names, as `tern report --function`.
    function: Option<String>,
    /// How many changes to compare (1 to `compare::MAX_FLEET_CHANGES`).
    limit: Option<usize>,
}

/// `GET /api/v1/changes`: the newest changes of the fleet in the range (default: all time),
/// newest first, each with its p95 duration, error rate and cost-per-invocation verdicts.
pub async fn fleet(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<FleetQuery>, QueryRejection>,
) -> Result<Json<WireRecent>, ApiError> {
    let q = query(q)?;
    let range = RangeQuery {
        since: q.since,
        from: q.from,
        to: q.to,
    }
    .resolve(now_ms())?;
    let limit = match q.limit {
        None => compare::MAX_FLEET_CHANGES,
        Some(n @ 1..=compare::MAX_FLEET_CHANGES) => n,
        Some(n) => {
            return Err(ApiError::BadRequest(format!(
                "limit={n}: use 1 to {}",
                compare::MAX_FLEET_CHANGES
            )))
        }
    };
    let glob = crate::report::function_matcher(q.function.as_deref())
        .map_err(|e| ApiError::BadRequest(format!("{e:#}").replace("--", "")))?;
    let recent = state
        .reads
        .with(move |store| {
            let functions = crate::report::select_functions(store, glob.as_ref())?;
            compare::recent_wire(store, Some(&functions), range, limit)
        })
        .await?;
    Ok(Json(recent))
}
