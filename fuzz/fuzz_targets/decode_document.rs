//! Whole documents and format detection: CLI output, subscription payloads (raw, gzip,
//! base64), Lambda/Kinesis/Firehose envelopes, and anything `decode_bytes` auto-detects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_core::input::{decode_bytes, decode_document, detect, DecodeOptions};

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run fast; they are part of what is exercised.
    let opts = DecodeOptions {
        max_decompressed_bytes: 1 << 20,
        max_line_bytes: 1 << 16,
        ..DecodeOptions::default()
    };
    let _ = detect(data);
    let _ = decode_document(data, "fuzz", &opts);
    let _ = decode_bytes(data, "fuzz", &opts);
});
