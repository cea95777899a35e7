//! The storage conformance suite every backend runs (placeholder until implemented).
