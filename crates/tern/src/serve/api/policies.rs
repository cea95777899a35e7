//! Alert policies: `GET /api/v1/policies` (every policy in force, with where it comes from),
//! `POST /api/v1/policies` (create or replace an API-managed policy, validated exactly like a
//! `tern.toml` one) and `DELETE /api/v1/policies/{name}`. Built-in and config policies are
//! read-only here (409): change them in `tern.toml`.
//!
//! API policies are stored as checkpoints `alert/policy/<name>` (JSON of the request body);
//! a deleted one leaves an empty value. The engine reads them every tick.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tern_core::alert::{ErrorPolicy, MetricPolicy, RegressionPolicy, Target};
use tern_store::{Checkpoint, Store};

use crate::alert::engine::api_policies;
use crate::alert::rules::{ApiPolicy, Rule, Rules, API_POLICY_PREFIX};
use crate::serve::auth::ApiToken;
use crate::serve::error::ApiError;
use crate::serve::state::AppState;
use crate::timeutil::now_ms;

#[derive(Debug, Serialize)]
pub struct JsonTarget {
    pub functions: Vec<String>,
    pub tags: std::collections::BTreeMap<String, String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

impl JsonTarget {
    fn of(t: &Target) -> JsonTarget {
        JsonTarget {
            functions: t.functions.clone(),
            tags: t.tags.iter().cloned().collect(),
            accounts: t.accounts.clone(),
            regions: t.regions.clone(),
        }
    }
}

/// One policy in force, on the wire (also `tern alerts list --format json`).
#[derive(Debug, Serialize)]
pub struct JsonPolicy {
    pub name: String,
    /// `metric` or `error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `builtin`, `config` or `api`.
    pub source: &'static str,
    pub enabled: bool,
    pub severity: &'static str,
    pub channels: Vec<String>,
    pub target: JsonTarget,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_invocations: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_seconds: Option<f64>,
    /// Regression policies (`metric` `regression`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95_increase: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_rate_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<f64>,
}

impl JsonPolicy {
    pub fn metric(r: &Rule<MetricPolicy>) -> JsonPolicy {
        let p = &r.policy;
        JsonPolicy {
            name: p.name.clone(),
            kind: "metric",
            source: r.source.as_str(),
            enabled: p.enabled,
            severity: p.severity.as_str(),
            channels: r.channels.clone(),
            target: JsonTarget::of(&p.target),
            metric: Some(p.metric.as_str()),
            aggregation: Some(p.aggregation.as_str()),
            comparison: Some(p.comparison.as_str()),
            threshold: Some(p.threshold),
            window_seconds: Some(p.window_ms as f64 / 1000.0),
            min_invocations: Some(p.min_invocations),
            on: None,
            cooldown_seconds: None,
            p95_increase: None,
            error_rate_ratio: None,
            confidence: None,
            max_age_seconds: None,
        }
    }

    pub fn regression(r: &Rule<RegressionPolicy>) -> JsonPolicy {
        let p = &r.policy;
        JsonPolicy {
            name: p.name.clone(),
            kind: "metric",
            source: r.source.as_str(),
            enabled: p.enabled,
            severity: p.severity.as_str(),
            channels: r.channels.clone(),
            target: JsonTarget::of(&p.target),
            metric: Some(crate::alert::rules::REGRESSION_METRIC),
            aggregation: None,
            comparison: None,
            threshold: None,
            window_seconds: None,
            min_invocations: None,
            on: None,
            cooldown_seconds: None,
            p95_increase: Some(p.p95_increase),
            error_rate_ratio: Some(p.error_rate_ratio),
            confidence: Some(p.confidence),
            max_age_seconds: Some(p.max_age_ms as f64 / 1000.0),
        }
    }

    pub fn error(r: &Rule<ErrorPolicy>) -> JsonPolicy {
        let p = &r.policy;
        JsonPolicy {
            name: p.name.clone(),
            kind: "error",
            source: r.source.as_str(),
            enabled: p.enabled,
            severity: p.severity.as_str(),
            channels: r.channels.clone(),
            target: JsonTarget::of(&p.target),
            metric: None,
            aggregation: None,
            comparison: None,
            threshold: None,
            window_seconds: None,
            min_invocations: None,
            on: Some(p.on.as_str()),
            cooldown_seconds: Some(p.cooldown_ms as f64 / 1000.0),
            p95_increase: None,
            error_rate_ratio: None,
            confidence: None,
            max_age_seconds: None,
        }
    }

    pub fn all(rules: &Rules) -> Vec<JsonPolicy> {
        rules
            .metric
            .iter()
            .map(JsonPolicy::metric)
            .chain(rules.error.iter().map(JsonPolicy::error))
            .chain(rules.regression.iter().map(JsonPolicy::regression))
            .collect()
    }
}

pub async fn list(
    State(state): State<AppState>,
    _auth: ApiToken,
) -> Result<Json<Vec<JsonPolicy>>, ApiError> {
    let cfg = state.alerts.clone();
    let rules = state
        .reads
        .with(move |s| crate::alert::engine::rules_now(s, &cfg))
        .await?;
    Ok(Json(JsonPolicy::all(&rules)))
}

fn read_only(name: &str, source: crate::alert::rules::Source) -> ApiError {
    ApiError::Conflict(format!(
        "policy {name:?} is a {} policy and read-only through the API; change it in tern.toml",
        source.as_str()
    ))
}

async fn store_policy(state: &AppState, name: &str, value: String) -> Result<(), ApiError> {
    let cp = Checkpoint {
        key: format!("{API_POLICY_PREFIX}{name}"),
        value,
        updated_ms: now_ms(),
    };
    state
        .writer
        .with_store(move |s: &mut dyn Store| s.enqueue(&[], cp.updated_ms, Some(&cp)))
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(())
}

async fn existing(state: &AppState, name: &str) -> Result<bool, ApiError> {
    let name = name.to_string();
    Ok(state
        .reads
        .with(move |s| {
            Ok(api_policies(s)?
                .into_iter()
                .any(|(n, v)| n == name && !v.is_empty()))
        })
        .await?)
}

pub async fn create(
    State(state): State<AppState>,
    _auth: ApiToken,
    body: Result<Json<ApiPolicy>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::BadRequest(format!("bad policy: {}", e.body_text())))?;
    let rules = state
        .alerts
        .api_policy(&body)
        .map_err(|e| ApiError::BadRequest(format!("{e:#}")))?;
    let view = JsonPolicy::all(&rules)
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a validated policy vanished")))?;
    let name = body.name().unwrap_or_default().to_string();
    if let Some(source) = state.alerts.fixed_policy(&name) {
        return Err(read_only(&name, source));
    }
    let replaced = existing(&state, &name).await?;
    let json = serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.into()))?;
    store_policy(&state, &name, json).await?;
    let status = if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(view)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    _auth: ApiToken,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if let Some(source) = state.alerts.fixed_policy(&name) {
        return Err(read_only(&name, source));
    }
    if !existing(&state, &name).await? {
        return Err(ApiError::NotFound(format!("no API policy named {name:?}")));
    }
    store_policy(&state, &name, String::new()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
