//! Bounded decoding of one CloudWatch Logs subscription payload (raw JSON, gzip, or base64 of
//! gzip), shared by both push endpoints.
//!
//! Every inflation draws from one per-request byte budget, so a request can never expand
//! beyond `server.max_decompressed_mb` however its bytes are nested: a gzip bomb is refused
//! with [`PayloadError::TooLarge`] before it is allocated.

use tern_core::input::{decode_base64, decompress_bounded, is_gzip, DecodeError, Decoded, Decoder};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// The payload inflates beyond what is left of the request's budget.
    TooLarge,
    /// The payload is not a subscription payload; the message says why.
    Bad(String),
}

/// What one payload held.
#[derive(Debug, Default)]
pub struct Payload {
    /// Lines within the payload that were odd but did not spoil it.
    pub diagnostics: usize,
}

/// Marker text of [`DecodeError::TooLarge`], used to recognize a bomb nested in an envelope
/// that the core decoder unpacked itself.
const BOMB: &str = "possible gzip bomb";

/// Decode `bytes` as one payload, appending its events to `out`. `budget` is what the request
/// may still inflate to, and shrinks by what this payload used.
pub fn decode(
    dec: &mut Decoder,
    bytes: &[u8],
    location: &str,
    budget: &mut usize,
    out: &mut Decoded,
) -> Result<Payload, PayloadError> {
    let trimmed = trim(bytes);
    let b64;
    let mut data = trimmed;
    if data.starts_with(b"H4sI") {
        b64 = decode_base64(data).map_err(|e| PayloadError::Bad(e.to_string()))?;
        data = &b64;
    }
    let inflated;
    if is_gzip(data) {
        inflated = decompress_bounded(data, *budget).map_err(|e| match e {
            DecodeError::TooLarge { .. } => PayloadError::TooLarge,
            other => PayloadError::Bad(other.to_string()),
        })?;
        *budget = budget.saturating_sub(inflated.len());
        data = &inflated;
    }
    if data.is_empty() {
        return Err(PayloadError::Bad("the payload is empty".into()));
    }
    let mut one = Decoded::default();
    dec.begin_source(location, None);
    dec.decode_document(data, &mut one);
    dec.end_source(&mut one);
    if one.diagnostics.iter().any(|d| d.message.contains(BOMB)) {
        return Err(PayloadError::TooLarge);
    }
    if one.events.is_empty() && one.control_messages == 0 {
        if let Some(d) = one.diagnostics.first() {
            return Err(PayloadError::Bad(d.message.clone()));
        }
    }
    let p = Payload {
        diagnostics: one.diagnostics.len(),
    };
    for d in &one.diagnostics {
        tracing::debug!(location = %d.location, problem = %d.message, "Odd data in a pushed payload.");
    }
    out.events.append(&mut one.events);
    out.control_messages += one.control_messages;
    Ok(p)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[n..]
}
