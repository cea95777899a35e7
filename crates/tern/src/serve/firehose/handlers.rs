//! Decoding a Firehose request body into log events (no IO: the caller reads the body and
//! stores the result).
//!
//! **Partly bad requests.** Firehose retries a request as a whole, so refusing a request
//! because one record is garbage would refuse its good records forever (and then back them
//! up to S3). Instead: the good records are stored and the request is answered 200; the bad
//! ones are logged (index and reason) and counted in `tern_ingest_bad_records_total`. Only
//! when *no* record is usable is the request answered 400, with an `errorMessage` naming
//! the records and why. A record that inflates beyond the request's budget fails the whole
//! request with 413 (a bomb says nothing good about its neighbours).

use tern_core::input::{decompress_bounded, DecodeError, DecodeOptions, Decoded, Decoder};
use tern_core::model::LogEvent;

use super::errors::FirehoseError;
use super::models::{FirehoseRequest, MAX_RECORDS};
use crate::serve::payload::{self, PayloadError};

/// Records named in full in an error message; the rest are counted.
const NAMED_BAD_RECORDS: usize = 5;

/// What a request body held.
#[derive(Debug, Default)]
pub struct DecodedRequest {
    pub records: usize,
    pub events: Vec<LogEvent>,
    pub control_messages: usize,
    /// Records that could not be read: (index, reason).
    pub bad: Vec<(usize, String)>,
    /// Odd lines inside otherwise good records.
    pub diagnostics: usize,
}

/// Inflate a `Content-Encoding: gzip` body, within `limit`.
pub fn inflate_body(body: &[u8], limit: usize) -> Result<Vec<u8>, FirehoseError> {
    decompress_bounded(body, limit).map_err(|e| match e {
        DecodeError::TooLarge { limit } => FirehoseError::TooLarge(format!(
            "the gzip body inflates beyond the limit of {limit} bytes"
        )),
        other => FirehoseError::Malformed(format!("Content-Encoding: gzip body: {other}")),
    })
}

/// Decode a (decompressed) body. `budget` is how many bytes the records may inflate to.
pub fn decode_body(json: &[u8], mut budget: usize) -> Result<DecodedRequest, FirehoseError> {
    let req: FirehoseRequest<'_> = serde_json::from_slice(json).map_err(|e| {
        FirehoseError::Malformed(format!(
            "body is not a Firehose request {{\"requestId\",\"timestamp\",\"records\":[{{\"data\"}}]}}: {e}"
        ))
    })?;
    if req.records.len() > MAX_RECORDS {
        return Err(FirehoseError::TooLarge(format!(
            "{} records; a Firehose request has at most {MAX_RECORDS}",
            req.records.len()
        )));
    }
    let mut out = DecodedRequest {
        records: req.records.len(),
        ..DecodedRequest::default()
    };
    let mut dec = Decoder::new(DecodeOptions {
        max_decompressed_bytes: budget,
        ..DecodeOptions::default()
    });
    let mut decoded = Decoded::default();
    let mut good = 0usize;
    for (i, record) in req.records.iter().enumerate() {
        let location = format!("records[{i}]");
        let bytes = match tern_core::input::decode_base64(record.data.as_bytes()) {
            Ok(b) => b,
            Err(e) => {
                out.bad.push((i, format!("`data` is not base64: {e}")));
                continue;
            }
        };
        // Plain JSON is accepted too: a stream with Firehose's decompression processor on
        // delivers the subscription payloads already inflated.
        match payload::decode(&mut dec, &bytes, &location, &mut budget, &mut decoded) {
            Ok(p) => {
                good += 1;
                out.diagnostics += p.diagnostics;
            }
            Err(PayloadError::TooLarge) => {
                return Err(FirehoseError::TooLarge(format!(
                    "{location} inflates beyond what is left of the request's limit \
                     (server.max_decompressed_mb); possible gzip bomb"
                )))
            }
            Err(PayloadError::Bad(why)) => out.bad.push((i, why)),
        }
    }
    if good == 0 && !out.bad.is_empty() {
        return Err(FirehoseError::Malformed(describe_bad(
            &out.bad,
            out.records,
        )));
    }
    out.events = decoded.events;
    out.control_messages = decoded.control_messages;
    Ok(out)
}

/// "records[3]: reason; records[7]: reason (and 2 more of 10 records)".
pub fn describe_bad(bad: &[(usize, String)], records: usize) -> String {
    let mut s = String::new();
    for (i, why) in bad.iter().take(NAMED_BAD_RECORDS) {
        if !s.is_empty() {
            s.push_str("; ");
        }
        s.push_str(&format!("records[{i}]: {why}"));
    }
    if bad.len() > NAMED_BAD_RECORDS {
        s.push_str(&format!(
            " (and {} more bad records)",
            bad.len() - NAMED_BAD_RECORDS
        ));
    }
    s.push_str(&format!(" ({} of {records} records unusable)", bad.len()));
    s
}
