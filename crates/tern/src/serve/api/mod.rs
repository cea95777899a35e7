//! The JSON API under `/api/v1`, plus `/healthz` and `/metrics`. One file per resource,
//! handlers with short verb names; auth is the [`ApiToken`](super::auth::ApiToken)
//! extractor; every error is an [`ApiError`](super::error::ApiError). Wire types are defined
//! here or reused from the CLI's JSON output (`tern report --format json`,
//! `tern invocations --format json`), so the API and the CLI answer alike.

pub mod changes;
pub mod errors;
pub mod fleet;
pub mod functions;
pub mod incidents;
pub mod insights;
pub mod invocations;
pub mod openapi;
pub mod policies;
pub mod recommendation;
pub mod system;

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use serde::Deserialize;
use tern_store::TimeRange;

use super::error::ApiError;
use crate::cli::RangeArgs;

/// Query parameters, or a 400 naming what is wrong with them.
pub fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::BadRequest(format!("bad query parameters: {}", e.body_text())))
}

/// `since=7d`, or `from=`/`to=` (RFC 3339, a date, or epoch ms).
#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    pub since: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl RangeQuery {
    pub fn resolve(&self, now_ms: i64) -> Result<TimeRange, ApiError> {
        if self.since.is_some() && (self.from.is_some() || self.to.is_some()) {
            return Err(ApiError::BadRequest(
                "give either `since` or `from`/`to`, not both".into(),
            ));
        }
        let args = RangeArgs {
            since: self.since.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        };
        args.resolve(now_ms).map_err(|e| {
            // The CLI's messages name flags (`--since`); here they are parameters.
            ApiError::BadRequest(format!("{e:#}").replace("--", ""))
        })
    }
}
