//! Reading input files, directories and stdin into log events (placeholder).
