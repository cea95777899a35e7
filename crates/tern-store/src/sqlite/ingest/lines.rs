//! Unattributed log lines: stored per stream, deduplicated against those already stored.

use std::collections::HashSet;

use rusqlite::params;
use tern_core::model::{normalize_lines, LogLine};

use super::{derived_function, Writer};
use crate::sqlite::codec::{self};
use crate::sqlite::rollup::Volume;
use crate::sqlite::row::{self};
use crate::sqlite::{Db, Scratch};
use crate::{StoreError, StreamLines};

/// Whether `normalize_lines` would leave `lines` as they are: sorted by time, and no line a
/// duplicate of an earlier line of the same millisecond (same event id, or same text when it
/// has no id). An event id repeated at two different times (never seen from CloudWatch) is not
/// looked for; such a part is normalized by its first merge instead.
pub(super) fn lines_normalized(lines: &[LogLine]) -> bool {
    if lines.len() < 2 {
        return true;
    }
    if !lines
        .windows(2)
        .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
    {
        return false;
    }
    lines.iter().enumerate().all(|(i, l)| {
        !lines[..i]
            .iter()
            .rev()
            .take_while(|o| o.timestamp_ms == l.timestamp_ms)
            .any(|o| match &l.event_id {
                Some(id) => o.event_id.as_ref() == Some(id),
                None => o.message == l.message,
            })
    })
}

impl Writer<'_> {
    /// Store unattributed lines, skipping those already stored for the stream.
    pub(super) fn stream_lines(&mut self, s: &StreamLines) -> Result<(), StoreError> {
        let mut lines = s.lines.clone();
        normalize_lines(&mut lines);
        let (Some(lo), Some(hi)) = (
            lines.first().map(|l| l.timestamp_ms),
            lines.last().map(|l| l.timestamp_ms),
        ) else {
            return Ok(());
        };
        let name = if s.function.is_empty() {
            derived_function(&s.log_group, &s.log_stream)
        } else {
            s.function.clone()
        };
        let function_id = self.function_id(&name)?;
        let env_id = self.env_id(&s.log_group, &s.log_stream, function_id)?;
        let mut stored: Vec<LogLine> = Vec::new();
        {
            let mut stmt = self
                .tx
                .prepare_cached(
                    "SELECT lines FROM stream_lines \
                     WHERE env_id = ?1 AND min_ms <= ?3 AND max_ms >= ?2",
                )
                .db()?;
            let mut rows = stmt.query(params![env_id, lo, hi]).db()?;
            while let Some(r) = rows.next().db()? {
                stored.extend(row::read_lines(r, 0)?);
            }
        }
        if !stored.is_empty() {
            let ids: HashSet<&str> = stored
                .iter()
                .filter_map(|l| l.event_id.as_deref())
                .collect();
            let texts: HashSet<(i64, &str)> = stored
                .iter()
                .map(|l| (l.timestamp_ms, l.message.as_str()))
                .collect();
            lines.retain(|l| match &l.event_id {
                Some(id) => !ids.contains(id.as_str()),
                None => !texts.contains(&(l.timestamp_ms, l.message.as_str())),
            });
        }
        let (Some(lo), Some(hi)) = (
            lines.first().map(|l| l.timestamp_ms),
            lines.last().map(|l| l.timestamp_ms),
        ) else {
            return Ok(());
        };
        let volume = Volume::of(&lines);
        let Scratch { enc, blob, .. } = &mut *self.scratch;
        blob.clear();
        codec::encode_lines(&lines, enc, blob);
        self.tx
            .prepare_cached(
                "INSERT INTO stream_lines (env_id, min_ms, max_ms, lines, log_lines, log_bytes) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .db()?
            .execute(params![
                env_id,
                lo,
                hi,
                &blob[..],
                volume.lines,
                volume.bytes
            ])
            .db()?;
        // A chunk's lines count in the hour of its first line.
        self.deltas.volume(function_id, lo, volume);
        Ok(())
    }
}
