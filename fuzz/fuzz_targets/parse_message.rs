//! The log line parser: any message must classify without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tern_core::parse::parse_message(&String::from_utf8_lossy(data));
});
