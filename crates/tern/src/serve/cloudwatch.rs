//! `POST /ingest/cloudwatch`: one raw CloudWatch Logs subscription payload per request (raw
//! JSON, gzip, base64 of gzip, or a Lambda `{"awslogs":{"data":…}}` event), for example from
//! a forwarder Lambda. Auth: an ingest key ([`IngestKey`]).
//!
//! Answers 200 `{"events","control_messages","invocations_new"}` once committed, 400 when the
//! payload is unreadable, 413 over the limits, 503 when the store is busy.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tern_core::input::{DecodeOptions, Decoded, Decoder};

use super::auth::IngestKey;
use super::error::ApiError;
use super::metrics::Endpoint;
use super::payload::{self, PayloadError};
use super::push::{self, BodyError};
use super::state::AppState;
use crate::writer::WriteError;

#[derive(Serialize)]
struct Accepted {
    events: u64,
    control_messages: u64,
    invocations_new: u64,
}

pub async fn ingest(
    State(state): State<AppState>,
    key: Result<IngestKey, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = match key {
        Ok(IngestKey) => accept(&state, &headers, body).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(a) => Json(a).into_response(),
        Err(e) => e.into_response(),
    };
    state
        .metrics
        .request(Endpoint::Cloudwatch, response.status().as_u16());
    response
}

async fn accept(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Accepted, ApiError> {
    let m = &state.metrics.cloudwatch;
    let gzip = push::is_gzip_encoded(headers).map_err(ApiError::BadRequest)?;
    let permit = state
        .decoding
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable("the server is shutting down".into()))?;
    let limits = state.limits;
    let raw = push::read_body(headers, body, limits.max_body_bytes)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(m) => ApiError::TooLarge(m),
            BodyError::Malformed(m) => ApiError::BadRequest(m),
            BodyError::Timeout(m) => ApiError::Timeout(m),
        })?;
    m.bytes.fetch_add(raw.len() as u64, Ordering::Relaxed);
    m.records.fetch_add(1, Ordering::Relaxed);
    let decoded = tokio::task::spawn_blocking(move || -> Result<Decoded, ApiError> {
        let mut budget = limits.max_decompressed_bytes;
        let bytes = if gzip {
            let b = tern_core::input::decompress_bounded(&raw, budget).map_err(|e| match e {
                tern_core::input::DecodeError::TooLarge { limit } => ApiError::TooLarge(format!(
                    "the gzip body inflates beyond the limit of {limit} bytes"
                )),
                other => ApiError::BadRequest(format!("Content-Encoding: gzip body: {other}")),
            })?;
            budget = budget.saturating_sub(b.len());
            b
        } else {
            raw
        };
        let mut dec = Decoder::new(DecodeOptions {
            max_decompressed_bytes: budget,
            ..DecodeOptions::default()
        });
        let mut out = Decoded::default();
        payload::decode(&mut dec, &bytes, "body", &mut budget, &mut out).map_err(|e| match e {
            PayloadError::TooLarge => ApiError::TooLarge(format!(
                "the payload inflates beyond the limit of {} bytes (server.max_decompressed_mb); \
                 possible gzip bomb",
                limits.max_decompressed_bytes
            )),
            PayloadError::Bad(why) => {
                ApiError::BadRequest(format!("body is not a subscription payload: {why}"))
            }
        })?;
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("decoding panicked: {e}")))?;
    let decoded = match decoded {
        Ok(d) => d,
        Err(e) => {
            if matches!(e, ApiError::BadRequest(_)) {
                m.bad_records.fetch_add(1, Ordering::Relaxed);
            }
            return Err(e);
        }
    };
    drop(permit);
    let events = decoded.events.len() as u64;
    let control = decoded.control_messages as u64;
    m.control_messages.fetch_add(control, Ordering::Relaxed);
    let stats = push::store(state, decoded.events)
        .await
        .map_err(|e| match e {
            WriteError::Busy => ApiError::Unavailable("the store is busy; retry later".into()),
            WriteError::Closed => {
                ApiError::Unavailable("the server is shutting down; retry later".into())
            }
            WriteError::Store(e) => ApiError::Internal(anyhow::anyhow!("storing failed: {e}")),
        })?;
    m.events.fetch_add(events, Ordering::Relaxed);
    Ok(Accepted {
        events,
        control_messages: control,
        invocations_new: stats.inserted,
    })
}
