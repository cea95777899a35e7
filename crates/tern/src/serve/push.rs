//! What both push endpoints share: reading a capped body, inflating `Content-Encoding: gzip`,
//! and storing decoded events through the writer.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use tern_core::assemble::Assembler;
use tern_core::model::LogEvent;
use tern_store::{IngestBatch, IngestStats};

use super::state::AppState;
use crate::writer::WriteError;

#[derive(Debug)]
pub enum BodyError {
    TooLarge(String),
    Malformed(String),
    /// The body did not arrive within [`BODY_TIMEOUT`] (a stalled or hostile client must not
    /// hold a decoding slot).
    Timeout(String),
}

/// How long a client may take to send its body once it holds a decoding slot.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Read the body, refusing more than `limit` bytes (by `Content-Length` before reading, and
/// while reading for chunked bodies).
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(BodyError::TooLarge(format!(
                "body of {len} bytes is over the limit of {limit} bytes (server.max_body_mb)"
            )));
        }
    }
    let read = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await;
    let Ok(read) = read else {
        return Err(BodyError::Timeout(format!(
            "the body did not arrive within {} s",
            BODY_TIMEOUT.as_secs()
        )));
    };
    match read {
        Ok(b) => Ok(b.to_vec()),
        Err(e) => {
            // `to_bytes` reports the limit as an error whose source is `LengthLimitError`.
            let text = format!("{e}");
            let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
            let mut limited = text.contains("length limit");
            while let Some(s) = src {
                limited |= s.to_string().contains("length limit");
                src = s.source();
            }
            if limited {
                Err(BodyError::TooLarge(format!(
                    "body is over the limit of {limit} bytes (server.max_body_mb)"
                )))
            } else {
                Err(BodyError::Malformed(format!(
                    "reading the body failed: {text}"
                )))
            }
        }
    }
}

/// The `Content-Encoding`: `None` for identity, `Some(true)` for gzip, error otherwise.
pub fn is_gzip_encoded(headers: &HeaderMap) -> Result<bool, String> {
    match headers.get(header::CONTENT_ENCODING) {
        None => Ok(false),
        Some(v) => match v.to_str().map(|s| s.trim().to_ascii_lowercase()) {
            Ok(s) if s == "gzip" => Ok(true),
            Ok(s) if s.is_empty() || s == "identity" => Ok(false),
            Ok(s) => Err(format!(
                "Content-Encoding {s:?} is not supported (use gzip or none)"
            )),
            Err(_) => Err("Content-Encoding is not ASCII".into()),
        },
    }
}

/// Assemble events into one batch and store it if the writer has room. Returns once it is
/// committed. Each request is assembled on its own: parts of one invocation split between
/// requests are merged by the store.
pub async fn store(state: &AppState, events: Vec<LogEvent>) -> Result<IngestStats, WriteError> {
    if events.is_empty() {
        return Ok(IngestStats::default());
    }
    let batch = tokio::task::spawn_blocking(move || {
        let mut asm = Assembler::new();
        for ev in events {
            asm.push(ev);
        }
        let a = asm.finish();
        for d in &a.diagnostics {
            tracing::debug!(location = %d.location, problem = %d.message, "Assembly problem in pushed data.");
        }
        IngestBatch::assembled(a)
    })
    .await
    .map_err(|e| WriteError::Store(format!("assembling failed: {e}")))?;
    state.writer.try_write(batch).await
}
