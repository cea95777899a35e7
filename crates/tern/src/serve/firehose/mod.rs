//! `POST /ingest/firehose`: Amazon Data Firehose's HTTP endpoint delivery protocol, for
//! CloudWatch Logs subscriptions delivered through a Firehose stream.
//!
//! Layout as in Vector's `aws_kinesis_firehose` source: [`models`] (wire shapes, spec link),
//! [`errors`] (one enum, one `status()`), [`handlers`] (decoding records), this file (the
//! axum handler: auth, body, storing, answering).
//!
//! Answers: 200 only once the data is committed to the store; 401 without a key, 403 with a
//! wrong one; 400 for a malformed request (no request id, not JSON, no usable record), with
//! an `errorMessage` naming the problem and the record index; 413 for a body over
//! `server.max_body_mb` or one that inflates over `server.max_decompressed_mb`; 503 when the
//! store writer's queue is full (Firehose retries). Every answer is
//! `{"requestId","timestamp"[,"errorMessage"]}` with `Content-Type: application/json`, and
//! `requestId` echoes `X-Amz-Firehose-Request-Id`. A retried request is harmless: the store
//! is idempotent (events dedupe by id), so it stores nothing twice.

pub mod errors;
pub mod handlers;
pub mod models;

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use errors::FirehoseError;
use models::{FirehoseResponse, ACCESS_KEY, PROTOCOL_VERSION, REQUEST_ID};

use super::auth::key_matches;
use super::metrics::Endpoint;
use super::push::{self, BodyError};
use super::state::AppState;
use crate::timeutil::now_ms;
use crate::writer::WriteError;

fn reply(request_id: String, error: Option<&FirehoseError>) -> Response {
    let status = error.map_or(StatusCode::OK, FirehoseError::status);
    let body = FirehoseResponse {
        request_id,
        timestamp: now_ms(),
        error_message: error.map(FirehoseError::message),
    };
    let text = serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_string());
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// The handler.
pub async fn ingest(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let result = accept(&state, &headers, request_id.is_some(), body).await;
    let status = match &result {
        Ok(()) => StatusCode::OK,
        Err(e) => e.status(),
    };
    state.metrics.request(Endpoint::Firehose, status.as_u16());
    reply(request_id.unwrap_or_default(), result.err().as_ref())
}

async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    has_request_id: bool,
    body: Body,
) -> Result<(), FirehoseError> {
    let m = &state.metrics.firehose;
    match headers.get(ACCESS_KEY).map(|v| v.to_str()) {
        None => {
            state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
            return Err(FirehoseError::MissingKey);
        }
        Some(Ok(k)) if key_matches(&state.ingest_keys, k) => {}
        Some(_) => {
            state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
            return Err(FirehoseError::BadKey);
        }
    }
    if !has_request_id {
        return Err(FirehoseError::MissingRequestId);
    }
    if let Some(v) = headers.get(PROTOCOL_VERSION) {
        if v.as_bytes() != b"1.0" {
            return Err(FirehoseError::Malformed(format!(
                "X-Amz-Firehose-Protocol-Version {:?} is not supported (only 1.0)",
                String::from_utf8_lossy(v.as_bytes())
            )));
        }
    }
    let gzip = push::is_gzip_encoded(headers).map_err(FirehoseError::Malformed)?;
    // Wait for a decoding slot before reading the body: memory stays bounded however many
    // requests arrive at once.
    let permit = state
        .decoding
        .acquire()
        .await
        .map_err(|_| FirehoseError::Busy("the server is shutting down".into()))?;
    let limits = state.limits;
    let raw = push::read_body(headers, body, limits.max_body_bytes)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(m) => FirehoseError::TooLarge(m),
            BodyError::Malformed(m) => FirehoseError::Malformed(m),
            BodyError::Timeout(m) => FirehoseError::Timeout(m),
        })?;
    m.bytes.fetch_add(raw.len() as u64, Ordering::Relaxed);
    let decoded = tokio::task::spawn_blocking(move || {
        let (json, used) = if gzip {
            let inflated = handlers::inflate_body(&raw, limits.max_decompressed_bytes)?;
            let n = inflated.len();
            (inflated, n)
        } else {
            (raw, 0)
        };
        handlers::decode_body(&json, limits.max_decompressed_bytes.saturating_sub(used))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "Decoding a Firehose request panicked.");
        FirehoseError::Internal
    })?;
    let decoded = match decoded {
        Ok(d) => d,
        Err(e) => {
            if matches!(e, FirehoseError::Malformed(_)) {
                tracing::warn!(error = %e.message(), "Refused a malformed Firehose request.");
            }
            return Err(e);
        }
    };
    m.records
        .fetch_add(decoded.records as u64, Ordering::Relaxed);
    m.bad_records
        .fetch_add(decoded.bad.len() as u64, Ordering::Relaxed);
    m.control_messages
        .fetch_add(decoded.control_messages as u64, Ordering::Relaxed);
    if !decoded.bad.is_empty() {
        tracing::warn!(
            request_id = %headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or(""),
            bad = %handlers::describe_bad(&decoded.bad, decoded.records),
            "Dropped unreadable Firehose records; stored the rest."
        );
    }
    // The body and its inflated copy are freed; the batch is bounded by the writer queue.
    drop(permit);
    let events = decoded.events.len() as u64;
    match push::store(state, decoded.events).await {
        Ok(_) => {
            m.events.fetch_add(events, Ordering::Relaxed);
            Ok(())
        }
        Err(WriteError::Busy) => Err(FirehoseError::Busy("the store is busy; retry later".into())),
        Err(WriteError::Closed) => Err(FirehoseError::Busy(
            "the server is shutting down; retry later".into(),
        )),
        Err(WriteError::Store(e)) => {
            tracing::error!(error = %e, "Storing a Firehose request failed.");
            Err(FirehoseError::Internal)
        }
    }
}
