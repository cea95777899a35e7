//! Bounded gzip and base64 decoding.
//!
//! **Architecture Invariant:** whole payloads are gunzipped only here, and always against a
//! byte limit, so a tiny gzip bomb cannot make Tern allocate without bound.

use std::io::{ErrorKind, Read};

use base64::Engine as _;

use super::DecodeError;

/// The two magic bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` starts like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Gunzip a whole payload (one or more concatenated gzip members, as `MultiGzDecoder` reads
/// them), refusing to produce more than `limit` bytes.
pub fn decompress_bounded(bytes: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    match gunzip_partial(bytes, limit) {
        (out, None) => Ok(out),
        (_, Some(err)) => Err(err),
    }
}

/// Like [`decompress_bounded`], but keeps what was decompressed before a truncation or a
/// corruption, so the events before the damage can still be decoded. On
/// [`DecodeError::TooLarge`] the output is empty: a partial bomb is worth nothing.
pub fn gunzip_partial(bytes: &[u8], limit: usize) -> (Vec<u8>, Option<DecodeError>) {
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit).min(1 << 24));
    let decoder = flate2::bufread::MultiGzDecoder::new(bytes);
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let result = decoder.take(cap).read_to_end(&mut out);
    let decompressed = out.len();
    match result {
        Ok(_) if decompressed > limit => (Vec::new(), Some(DecodeError::TooLarge { limit })),
        Ok(_) => (out, None),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
            out.truncate(limit);
            (out, Some(DecodeError::TruncatedGzip { decompressed }))
        }
        Err(e) => {
            out.truncate(limit);
            let reason = e.to_string();
            (
                out,
                Some(DecodeError::CorruptGzip {
                    decompressed,
                    reason,
                }),
            )
        }
    }
}

/// The base64 engine for AWS payload fields: the standard alphabet, padding optional.
const BASE64: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;

/// Decode a base64 field, ignoring ASCII whitespace (files written by `base64` wrap lines).
pub fn decode_base64(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let result = if text.iter().any(u8::is_ascii_whitespace) {
        let compact: Vec<u8> = text
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        BASE64.decode(compact)
    } else {
        BASE64.decode(text)
    };
    result.map_err(|e| DecodeError::Base64(e.to_string().trim_end_matches('.').to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn multi_member_gzip_is_read_whole() {
        let mut both = gz(b"hello ");
        both.extend(gz(b"world"));
        assert_eq!(decompress_bounded(&both, 100).unwrap(), b"hello world");
    }

    #[test]
    fn limit_is_exact() {
        let data = gz(&[b'x'; 100]);
        assert_eq!(decompress_bounded(&data, 100).unwrap().len(), 100);
        assert_eq!(
            decompress_bounded(&data, 99),
            Err(DecodeError::TooLarge { limit: 99 })
        );
    }

    #[test]
    fn truncation_keeps_the_prefix() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| i.to_string().into_bytes())
            .collect();
        let data = gz(&text);
        let (out, err) = gunzip_partial(&data[..data.len() / 2], 1 << 20);
        assert!(
            matches!(err, Some(DecodeError::TruncatedGzip { .. })),
            "{err:?}"
        );
        assert!(!out.is_empty());
        assert!(text.starts_with(&out));
    }

    #[test]
    fn base64_ignores_whitespace_and_padding() {
        assert_eq!(decode_base64(b"aGVs\nbG8=\n").unwrap(), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8").unwrap(), b"hello");
        assert!(matches!(decode_base64(b"a!b"), Err(DecodeError::Base64(_))));
    }
}
