//! The `tern` binary: CLI, ingest pipeline, reports.

mod simulate;
mod source;

fn main() {}
