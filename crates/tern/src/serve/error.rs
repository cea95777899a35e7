//! The one error type of the JSON API (and the raw CloudWatch push endpoint): client errors
//! carry a message naming what is wrong; internal errors are logged and answered generically.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    /// A bad parameter or body; the message names it.
    BadRequest(String),
    /// No token, or a wrong one.
    Unauthorized(&'static str),
    /// Authenticated, but the request may not do this (a missing CSRF token, a cross-site
    /// origin).
    Forbidden(&'static str),
    NotFound(String),
    /// The request conflicts with the server's state (e.g. a read-only policy).
    Conflict(String),
    TooLarge(String),
    /// Try again later (the store writer is busy or stopping).
    Unavailable(String),
    /// The request body arrived too slowly.
    Timeout(String),
    /// Too many failed attempts (logins); the message says when to try again.
    TooManyRequests(String),
    Internal(anyhow::Error),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        ApiError::Internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::BadRequest(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::TooLarge(m)
            | ApiError::Unavailable(m)
            | ApiError::Timeout(m)
            | ApiError::TooManyRequests(m) => m.as_str(),
            ApiError::Unauthorized(m) | ApiError::Forbidden(m) => m,
            ApiError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "Internal error answering a request.");
                "internal error; see the server log"
            }
        };
        let body = serde_json::to_string(&Body { error: message })
            .unwrap_or_else(|_| "{\"error\":\"internal error\"}".to_string());
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}
