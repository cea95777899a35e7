//! Input payload decoders (placeholder).
