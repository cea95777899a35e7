//! Wire shapes of the Firehose HTTP endpoint delivery protocol, version 1.0.
//!
//! Spec: <https://docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html>
//! (archived copy: awsdocs/amazon-kinesis-data-firehose-developer-guide,
//! `doc_source/httpdeliveryrequestresponse.md`).
//!
//! Unknown fields are ignored, never refused: AWS adds fields.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// `X-Amz-Firehose-Request-Id`: kept the same between attempts of one request.
pub const REQUEST_ID: &str = "x-amz-firehose-request-id";
/// `X-Amz-Firehose-Access-Key`: the key configured on the delivery stream (at most 4096 bytes).
pub const ACCESS_KEY: &str = "x-amz-firehose-access-key";
/// `X-Amz-Firehose-Protocol-Version`: "1.0".
pub const PROTOCOL_VERSION: &str = "x-amz-firehose-protocol-version";
/// Most records in one request, per the spec.
pub const MAX_RECORDS: usize = 10_000;

/// The request body. `requestId` and `timestamp` are read for completeness of the shape; the
/// `X-Amz-Firehose-Request-Id` header is what is echoed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRequest<'a> {
    /// Required by the spec; the header is what we echo.
    #[serde(default, borrow)]
    pub request_id: Option<Cow<'a, str>>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(borrow)]
    pub records: Vec<Record<'a>>,
}

/// One record: base64 of the bytes put on the stream. For a CloudWatch Logs subscription
/// those bytes are a gzipped subscription payload.
#[derive(Debug, Deserialize)]
pub struct Record<'a> {
    #[serde(borrow)]
    pub data: Cow<'a, str>,
}

/// The response body, for success (`error_message` absent) and failure.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseResponse {
    pub request_id: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}
