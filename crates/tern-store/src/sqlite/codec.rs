//! Byte encodings of what the SQLite backend stores in blobs: the log lines of one invocation
//! (or one chunk of unattributed stream lines) and an error's stack frames.
//!
//! Log blob layout (`FORMAT_LZ4`):
//!
//! ```text
//! [u8 format = 1][u32 LE raw length][LZ4 block of raw]
//! raw = varint(line count), then per line:
//!   zigzag varint(timestamp - previous timestamp)   (the first line is relative to 0)
//!   varint(event id tag): 0 = none
//!                         1 = decimal digits: varint(digits shared with the previous
//!                             decimal id), varint(further digits), digits packed two per byte
//!                         2 = bytes: varint(len), bytes
//!   varint(message len), message bytes (UTF-8)
//! ```
//!
//! Event ids of one stream share most of their 56 digits, so sharing prefixes and packing
//! digits shrinks them from ~224 to ~50 bytes per invocation before LZ4 sees them.
//!
//! Decoding is bounded and total: a damaged blob is an error, never a panic or a huge
//! allocation.

use tern_core::model::LogLine;

use crate::StoreError;

const FORMAT_LZ4: u8 = 1;
/// Largest raw size a log blob may claim (one invocation's or one chunk's lines).
const MAX_RAW_LEN: usize = 256 << 20;

const ID_NONE: u64 = 0;
const ID_DIGITS: u64 = 1;
const ID_BYTES: u64 = 2;

/// Probes of the (environment, `rid_hash`) key tried before giving up. Linear probing only
/// moves on when a slot holds a different request id with the same hash, which for a 62-bit
/// hash happens about never.
pub(crate) const MAX_PROBES: i64 = 64;

/// The stored hash of a request id: FNV-1a then a 64-bit finalizer (MurmurHash3's fmix64),
/// kept to 62 bits so `hash + MAX_PROBES` never overflows. It is persisted, so it must never
/// change.
pub(crate) fn request_hash(request_id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in request_id.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h & ((1 << 62) - 1)) as i64
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, what }
    }

    fn err(&self, detail: &str) -> StoreError {
        StoreError::Corrupt(format!("{}: {detail}", self.what))
    }

    pub(crate) fn varint(&mut self) -> Result<u64, StoreError> {
        let mut v: u64 = 0;
        for (i, &b) in self.buf.iter().enumerate().take(10) {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.buf = &self.buf[i + 1..];
                return Ok(v);
            }
        }
        Err(self.err("bad varint"))
    }

    /// A length that must fit in the remaining bytes (so it can never drive an allocation
    /// larger than the input).
    fn len(&mut self) -> Result<usize, StoreError> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.buf.len())
            .ok_or_else(|| self.err("length past the end"))
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if n > self.buf.len() {
            return Err(self.err("truncated"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn string(&mut self) -> Result<String, StoreError> {
        let n = self.len()?;
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("invalid UTF-8"))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_event_id(out: &mut Vec<u8>, id: Option<&str>, have_prev: &mut bool, prev: &mut Vec<u8>) {
    let Some(id) = id else {
        put_varint(out, ID_NONE);
        return;
    };
    let b = id.as_bytes();
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        let shared = if *have_prev {
            prev.iter().zip(b).take_while(|(x, y)| x == y).count()
        } else {
            0
        };
        put_varint(out, ID_DIGITS);
        put_varint(out, shared as u64);
        let rest = &b[shared..];
        put_varint(out, rest.len() as u64);
        for pair in rest.chunks(2) {
            let hi = pair[0] - b'0';
            let lo = pair.get(1).map_or(0, |d| d - b'0');
            out.push(hi << 4 | lo);
        }
        prev.clear();
        prev.extend_from_slice(b);
        *have_prev = true;
    } else {
        put_varint(out, ID_BYTES);
        put_bytes(out, b);
    }
}

fn read_event_id(r: &mut Reader<'_>, prev: &mut String) -> Result<Option<String>, StoreError> {
    match r.varint()? {
        ID_NONE => Ok(None),
        ID_DIGITS => {
            let shared = usize::try_from(r.varint()?)
                .ok()
                .filter(|&n| n <= prev.len())
                .ok_or_else(|| corrupt("log blob: bad shared event id prefix"))?;
            let digits = usize::try_from(r.varint()?)
                .ok()
                .filter(|&n| n / 2 <= r.buf.len())
                .ok_or_else(|| corrupt("log blob: bad event id length"))?;
            let packed = r.bytes(digits.div_ceil(2))?;
            prev.truncate(shared);
            for (i, byte) in packed.iter().enumerate() {
                for (j, nibble) in [byte >> 4, byte & 0x0f].into_iter().enumerate() {
                    if i * 2 + j >= digits {
                        break;
                    }
                    if nibble > 9 {
                        return Err(corrupt("log blob: bad event id digit"));
                    }
                    prev.push(char::from(b'0' + nibble));
                }
            }
            Ok(Some(prev.clone()))
        }
        ID_BYTES => r.string().map(Some),
        _ => Err(corrupt("log blob: unknown event id tag")),
    }
}

/// Scratch space for `encode_lines`, reused across calls so the hot path allocates nothing.
#[derive(Default)]
pub(crate) struct Encoder {
    raw: Vec<u8>,
    prev_id: Vec<u8>,
}

/// Append the encoding of `lines` to `out`.
pub(crate) fn encode_lines(lines: &[LogLine], enc: &mut Encoder, out: &mut Vec<u8>) {
    let raw = &mut enc.raw;
    raw.clear();
    put_varint(raw, lines.len() as u64);
    let mut prev = 0i64;
    let mut have_prev = false;
    for l in lines {
        put_varint(raw, zigzag(l.timestamp_ms.wrapping_sub(prev)));
        prev = l.timestamp_ms;
        put_event_id(raw, l.event_id.as_deref(), &mut have_prev, &mut enc.prev_id);
        put_bytes(raw, l.message.as_bytes());
    }
    let start = out.len();
    out.push(FORMAT_LZ4);
    // The raw length always fits: a batch holding 4 GiB of lines for one invocation is far
    // past anything the input layer produces, and decode rejects what it cannot bound.
    out.extend_from_slice(&u32::try_from(raw.len()).unwrap_or(u32::MAX).to_le_bytes());
    let header = out.len();
    out.resize(
        header + lz4_flex::block::get_maximum_output_size(raw.len()),
        0,
    );
    match lz4_flex::block::compress_into(raw, &mut out[header..]) {
        Ok(n) => out.truncate(header + n),
        // Unreachable with a buffer of the maximum output size; store an empty blob (no
        // lines) rather than fail the batch.
        Err(_) => out.truncate(start),
    }
}

/// Decode a log blob. An empty blob holds no lines.
pub(crate) fn decode_lines(blob: &[u8]) -> Result<Vec<LogLine>, StoreError> {
    if blob.is_empty() {
        return Ok(Vec::new());
    }
    if blob.len() < 5 || blob[0] != FORMAT_LZ4 {
        return Err(corrupt("log blob: unknown format"));
    }
    let raw_len = u32::from_le_bytes([blob[1], blob[2], blob[3], blob[4]]) as usize;
    if raw_len > MAX_RAW_LEN {
        return Err(corrupt("log blob: implausible length"));
    }
    let mut raw = vec![0u8; raw_len];
    let n = lz4_flex::block::decompress_into(&blob[5..], &mut raw)
        .map_err(|e| StoreError::Corrupt(format!("log blob: {e}")))?;
    if n != raw_len {
        return Err(corrupt("log blob: length mismatch"));
    }
    let mut r = Reader::new(&raw, "log blob");
    let count = r.varint()?;
    // Every line takes at least 3 bytes, which bounds the allocation by the input.
    let count = usize::try_from(count)
        .ok()
        .filter(|&c| c <= raw_len / 3)
        .ok_or_else(|| corrupt("log blob: bad line count"))?;
    let mut lines = Vec::with_capacity(count);
    let mut prev = 0i64;
    let mut prev_id = String::new();
    for _ in 0..count {
        let ts = prev.wrapping_add(unzigzag(r.varint()?));
        prev = ts;
        let event_id = read_event_id(&mut r, &mut prev_id)?;
        let message = r.string()?;
        lines.push(LogLine {
            timestamp_ms: ts,
            message,
            event_id,
        });
    }
    if !r.is_empty() {
        return Err(corrupt("log blob: trailing bytes"));
    }
    Ok(lines)
}

/// Encode stack frames: varint(count), then each frame length-prefixed.
pub(crate) fn encode_stack(frames: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frames.iter().map(|f| f.len() + 2).sum::<usize>() + 1);
    put_varint(&mut out, frames.len() as u64);
    for f in frames {
        put_bytes(&mut out, f.as_bytes());
    }
    out
}

pub(crate) fn decode_stack(blob: &[u8]) -> Result<Vec<String>, StoreError> {
    let mut r = Reader::new(blob, "error stack");
    let count = usize::try_from(r.varint()?)
        .ok()
        .filter(|&c| c <= blob.len())
        .ok_or_else(|| corrupt("error stack: bad count"))?;
    let mut frames = Vec::with_capacity(count);
    for _ in 0..count {
        frames.push(r.string()?);
    }
    if !r.is_empty() {
        return Err(corrupt("error stack: trailing bytes"));
    }
    Ok(frames)
}

/// Tags as one text: `key\u{1f}value` pairs joined by `\u{1e}`. AWS tag keys and values
/// cannot contain either separator; any that do are replaced by a space so decoding stays
/// unambiguous.
pub(crate) fn encode_tags(tags: &[(String, String)]) -> String {
    let clean = |s: &str| s.replace(['\u{1e}', '\u{1f}'], " ");
    tags.iter()
        .map(|(k, v)| format!("{}\u{1f}{}", clean(k), clean(v)))
        .collect::<Vec<_>>()
        .join("\u{1e}")
}

pub(crate) fn decode_tags(text: &str) -> Vec<(String, String)> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\u{1e}')
        .map(|pair| match pair.split_once('\u{1f}') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (pair.to_string(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    fn line(ts: i64, id: Option<&str>, m: &str) -> LogLine {
        LogLine {
            timestamp_ms: ts,
            message: m.into(),
            event_id: id.map(Into::into),
        }
    }

    #[test]
    fn lines_roundtrip() {
        let lines = vec![
            line(
                1_700_000_000_000,
                Some("37812398471239847123984712398471298347129834712983471298"),
                "START RequestId: abc Version: $LATEST\n",
            ),
            line(1_700_000_000_005, Some("123"), "hello"),
            line(1_699_999_999_000, None, ""),
            line(-5, Some("abc-not-digits"), "ünïcode"),
            line(0, Some(""), "empty id"),
        ];
        let (mut enc, mut out) = (Encoder::default(), Vec::new());
        encode_lines(&lines, &mut enc, &mut out);
        assert_eq!(decode_lines(&out).unwrap(), lines);
        out.clear();
        // Ids sharing prefixes with earlier ids, and byte ids in between.
        let ids = [
            "123456789",
            "123456799",
            "abc",
            "1234",
            "12345678901234567890",
            "2",
        ];
        let lines: Vec<LogLine> = ids.iter().map(|id| line(1, Some(id), "m")).collect();
        encode_lines(&lines, &mut enc, &mut out);
        assert_eq!(decode_lines(&out).unwrap(), lines);
        out.clear();
        encode_lines(&[], &mut enc, &mut out);
        assert_eq!(decode_lines(&out).unwrap(), vec![]);
        assert_eq!(decode_lines(&[]).unwrap(), vec![]);
    }

    #[test]
    fn damaged_blobs_are_corrupt_not_panics() {
        let lines = vec![line(1, Some("42"), "a message"), line(2, None, "b")];
        let (mut enc, mut out) = (Encoder::default(), Vec::new());
        encode_lines(&lines, &mut enc, &mut out);
        for cut in 0..out.len() {
            let _ = decode_lines(&out[..cut]);
        }
        assert!(matches!(
            decode_lines(&[1, 0xff, 0xff, 0xff, 0xff, 0]),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            decode_lines(b"garbage"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(decode_stack(&[5, 1]), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn request_hash_is_stable() {
        // Persisted in every database: these values must never change.
        assert_eq!(request_hash(""), 3445288215246350630);
        let h = request_hash("8f5fbfd5-3d6c-4b5a-9d0e-6a9a1c1d2e3f");
        assert_eq!(h, 2167863398783954329);
        assert_ne!(h, request_hash("8f5fbfd5-3d6c-4b5a-9d0e-6a9a1c1d2e3e"));
    }

    #[test]
    fn stack_roundtrip() {
        let frames = vec!["at f (a.js:1:2)".to_string(), String::new(), "x\ny".into()];
        assert_eq!(decode_stack(&encode_stack(&frames)).unwrap(), frames);
        assert_eq!(
            decode_stack(&encode_stack(&[])).unwrap(),
            Vec::<String>::new()
        );
    }

    proptest! {
        #[test]
        fn any_lines_roundtrip(ls in proptest::collection::vec(
            (any::<i64>(), proptest::option::of("[0-9]{0,60}|[a-z0-9]{0,8}"), ".{0,40}"), 0..20)) {
            let lines: Vec<LogLine> = ls.into_iter().map(|(t, id, m)| LogLine {
                timestamp_ms: t, message: m, event_id: id }).collect();
            let (mut enc, mut out) = (Encoder::default(), Vec::new());
            encode_lines(&lines, &mut enc, &mut out);
            prop_assert_eq!(decode_lines(&out).unwrap(), lines);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = decode_lines(&bytes);
            let _ = decode_stack(&bytes);
            let mut with_header = vec![1u8, 40, 0, 0, 0];
            with_header.extend_from_slice(&bytes);
            let _ = decode_lines(&with_header);
        }
    }
}
