//! Reads that several surfaces share (the CLI, the API, the alert engine): each answers one
//! question the same way wherever it is asked.

pub mod memory;
pub mod selection;
pub mod usage;
