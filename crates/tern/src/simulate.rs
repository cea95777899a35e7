//! `tern simulate`: a realistic, deterministic Lambda fleet in real CloudWatch formats (placeholder).
