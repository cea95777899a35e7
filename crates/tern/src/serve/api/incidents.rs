//! `GET /api/v1/incidents`: alert incidents, newest first.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tern_store::{Incident, IncidentQuery, IncidentState};

use super::query;
use crate::serve::auth::ApiToken;
use crate::serve::error::ApiError;
use crate::serve::state::AppState;
use crate::timeutil::rfc3339_ms;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    policy: Option<String>,
    limit: Option<usize>,
}

/// The wire form of an incident (also `tern alerts incidents --format json`).
#[derive(Debug, Serialize)]
pub struct JsonIncident {
    pub id: i64,
    pub policy: String,
    pub function: String,
    pub state: &'static str,
    pub opened_at: String,
    pub last_firing_at: String,
    pub resolved_at: Option<String>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub detail: Option<String>,
}

impl JsonIncident {
    pub fn of(i: &Incident) -> JsonIncident {
        JsonIncident {
            id: i.id,
            policy: i.policy.clone(),
            function: i.subject.clone(),
            state: i.state.as_str(),
            opened_at: rfc3339_ms(i.opened_ms),
            last_firing_at: rfc3339_ms(i.last_firing_ms),
            resolved_at: i.resolved_ms.map(rfc3339_ms),
            value: i.value.filter(|v| v.is_finite()),
            threshold: i.threshold.filter(|v| v.is_finite()),
            detail: i.detail.clone(),
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<JsonIncident>>, ApiError> {
    let q = query(q)?;
    let st =
        match q.state.as_deref() {
            None => None,
            Some(s) => Some(IncidentState::parse(s.trim()).ok_or_else(|| {
                ApiError::BadRequest(format!("state={s:?}: use open or resolved"))
            })?),
        };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit={limit}: use 1 to 1000"
        )));
    }
    let iq = IncidentQuery {
        state: st,
        policy: q.policy,
        limit,
    };
    let rows = state.reads.with(move |s| Ok(s.incidents(&iq)?)).await?;
    Ok(Json(rows.iter().map(JsonIncident::of).collect()))
}
