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

#[derive(Debug, Default, Deserialize)]
pub struct NotificationsQuery {
    limit: Option<usize>,
}

/// One notification of the outbox: what was sent (its key names the incident or error
/// group and the event), where, when, and how delivery went.
#[derive(Debug, Serialize)]
pub struct JsonNotification {
    id: i64,
    /// `incident-<id>-opened`, `incident-<id>-resolved`, `error-<group>-new`, …
    key: String,
    channel: String,
    /// `pending`, `sent` or `failed` (given up).
    state: &'static str,
    attempts: u32,
    created_at: String,
    /// The next attempt, while pending.
    next_attempt_at: Option<String>,
    sent_at: Option<String>,
    last_error: Option<String>,
    /// The message as queued for the channel (JSON).
    payload: String,
}

/// `GET /api/v1/notifications`: the notification history (the outbox), newest first.
pub async fn notifications(
    State(state): State<AppState>,
    _auth: ApiToken,
    q: Result<Query<NotificationsQuery>, QueryRejection>,
) -> Result<Json<Vec<JsonNotification>>, ApiError> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit={limit}: use 1 to 1000"
        )));
    }
    let rows = state
        .reads
        .with(move |s| Ok(s.outbox_history(limit)?))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|e| JsonNotification {
                id: e.id,
                key: e.dedupe_key,
                channel: e.channel,
                state: e.state.as_str(),
                attempts: e.attempts,
                created_at: rfc3339_ms(e.created_ms),
                next_attempt_at: (e.state == tern_store::OutboxState::Pending)
                    .then(|| rfc3339_ms(e.next_attempt_ms)),
                sent_at: e.sent_ms.map(rfc3339_ms),
                last_error: e.last_error,
                payload: e.payload,
            })
            .collect(),
    ))
}
