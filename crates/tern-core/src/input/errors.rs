//! The one error type of the input decoders.
//!
//! Most problems in the input become [`Diagnostic`](crate::model::Diagnostic)s and decoding
//! goes on; a `DecodeError` is what a single bounded step (gunzip, base64) reports, and
//! callers usually turn it into a diagnostic with a location.

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload inflates beyond the configured limit: a gzip bomb, or a limit set too low.
    #[error(
        "gzip data inflates beyond the limit of {limit} bytes (possible gzip bomb); \
         decoding stopped"
    )]
    TooLarge { limit: usize },
    /// The gzip stream ends before its end-of-stream marker and checksum.
    #[error("gzip stream is truncated after {decompressed} decompressed bytes")]
    TruncatedGzip { decompressed: usize },
    /// The gzip stream is damaged (bad header, bad deflate data, checksum mismatch).
    #[error("gzip stream is corrupt after {decompressed} decompressed bytes: {reason}")]
    CorruptGzip { decompressed: usize, reason: String },
    /// A base64 field does not decode.
    #[error("invalid base64: {0}")]
    Base64(String),
}
