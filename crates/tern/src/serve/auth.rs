//! Auth extractors. Tokens are hashed (SHA-256) and compared in constant time against the
//! configured hashes ([`TokenHash::matches_any`]); neither tokens nor hashes are logged.
//!
//! - [`ApiToken`]: `Authorization: Bearer <token>`, for `/api/v1/*` and `/metrics`; or the
//!   dashboard's session cookie, with its CSRF token in `X-Tern-CSRF` on anything but
//!   GET/HEAD (see [`session`](super::session)).
//! - [`IngestKey`]: `X-Tern-Ingest-Key: <key>` or `Authorization: Bearer <key>`, for
//!   `/ingest/cloudwatch`. (Firehose sends its key in `X-Amz-Firehose-Access-Key` and wants
//!   errors in its own shape; its handler checks that itself with [`key_matches`].)

use std::sync::atomic::Ordering;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use super::error::ApiError;
use super::session::{self, cross_origin};
use super::state::AppState;
use crate::config::TokenHash;

/// Longest token or key looked at (Firehose allows 4096-byte keys).
const MAX_TOKEN: usize = 4096;

pub const INGEST_KEY_HEADER: &str = "x-tern-ingest-key";

/// Proof that the request carried a valid API token.
pub struct ApiToken;

/// Proof that the request carried a valid ingest key.
pub struct IngestKey;

/// The bearer token of `Authorization`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether `token` is one of `hashes` (constant time; oversized tokens never match).
pub fn key_matches(hashes: &[TokenHash], token: &str) -> bool {
    token.len() <= MAX_TOKEN && !token.is_empty() && TokenHash::matches_any(hashes, token)
}

impl FromRequestParts<AppState> for ApiToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state.metrics.api_requests.fetch_add(1, Ordering::Relaxed);
        match bearer(&parts.headers) {
            None if session::cookie_value(&parts.headers).is_some() => session_auth(parts, state),
            None => {
                state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
                Err(ApiError::Unauthorized(
                    "missing API token: send `Authorization: Bearer <token>`",
                ))
            }
            Some(t) if key_matches(&state.api_tokens, t) => Ok(ApiToken),
            Some(_) => {
                state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
                Err(ApiError::Unauthorized("the API token is not valid"))
            }
        }
    }
}

/// A request with the session cookie and no bearer token.
fn session_auth(parts: &Parts, state: &AppState) -> Result<ApiToken, ApiError> {
    let now = crate::timeutil::now_ms();
    let id = session::cookie_value(&parts.headers).unwrap_or("");
    let fail = |e: ApiError| {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        Err(e)
    };
    if state.sessions.csrf(id, now).is_none() {
        return fail(ApiError::Unauthorized(
            "the session has expired or ended: log in again",
        ));
    }
    if parts.method == Method::GET || parts.method == Method::HEAD {
        return Ok(ApiToken);
    }
    let csrf = parts
        .headers
        .get(session::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if cross_origin(&parts.headers) || !state.sessions.check_csrf(id, csrf, now) {
        return fail(ApiError::Forbidden(
            "missing or wrong CSRF token (X-Tern-CSRF) for a cookie-authenticated change",
        ));
    }
    Ok(ApiToken)
}

impl FromRequestParts<AppState> for IngestKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = parts
            .headers
            .get(INGEST_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .or_else(|| bearer(&parts.headers));
        match key {
            Some(k) if key_matches(&state.ingest_keys, k) => Ok(IngestKey),
            Some(_) => {
                state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
                Err(ApiError::Unauthorized("the ingest key is not valid"))
            }
            None => {
                state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
                Err(ApiError::Unauthorized(
                    "missing ingest key: send `X-Tern-Ingest-Key: <key>` or `Authorization: Bearer <key>`",
                ))
            }
        }
    }
}
