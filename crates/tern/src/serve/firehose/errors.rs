//! Why a Firehose request was not (wholly) accepted, and the status code Firehose gets.
//!
//! Firehose retries every non-200 answer until its retry duration runs out, then backs the
//! request up to S3. So 4xx answers are for requests that will never succeed (bad key,
//! garbage), and 503 is for "try again later" (the store writer is busy or stopping).

use axum::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirehoseError {
    /// No `X-Amz-Firehose-Access-Key`.
    MissingKey,
    /// A key that matches no configured ingest key.
    BadKey,
    MissingRequestId,
    /// Anything else malformed in the request: headers, body, records. Names what and where.
    Malformed(String),
    /// The body, or what it inflates to, is over a configured limit.
    TooLarge(String),
    /// The store writer's queue is full, or it is shutting down.
    Busy(String),
    /// The body arrived too slowly.
    Timeout(String),
    /// A store failure; the details are logged, not sent.
    Internal,
}

impl FirehoseError {
    pub fn status(&self) -> StatusCode {
        match self {
            FirehoseError::MissingKey => StatusCode::UNAUTHORIZED,
            FirehoseError::BadKey => StatusCode::FORBIDDEN,
            FirehoseError::MissingRequestId | FirehoseError::Malformed(_) => {
                StatusCode::BAD_REQUEST
            }
            FirehoseError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FirehoseError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            FirehoseError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            FirehoseError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            FirehoseError::MissingKey => "missing X-Amz-Firehose-Access-Key header".into(),
            FirehoseError::BadKey => "X-Amz-Firehose-Access-Key is not a valid ingest key".into(),
            FirehoseError::MissingRequestId => "missing X-Amz-Firehose-Request-Id header".into(),
            FirehoseError::Malformed(m)
            | FirehoseError::TooLarge(m)
            | FirehoseError::Busy(m)
            | FirehoseError::Timeout(m) => m.clone(),
            FirehoseError::Internal => "internal error while storing; retry".into(),
        }
    }
}
