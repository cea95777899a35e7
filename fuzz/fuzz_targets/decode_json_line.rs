//! The line decoders: JSON lines (fast path and serde path) and the `aws logs tail`
//! assembler, fed the input split into lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_core::input::{decode_json_line, DecodeOptions, Decoded, Decoder};

fuzz_target!(|data: &[u8]| {
    let _ = decode_json_line(data, "fuzz:1");
    let mut dec = Decoder::new(DecodeOptions {
        max_line_bytes: 1 << 12,
        ..DecodeOptions::default()
    });
    let mut out = Decoded::default();
    dec.begin_source("fuzz", None);
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        dec.decode_json_line(line, i as u64 + 1, &mut out);
        dec.push_tail_line(line, i as u64 + 1, &mut out);
    }
    dec.end_source(&mut out);
});
