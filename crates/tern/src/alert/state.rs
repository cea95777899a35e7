//! What the engine keeps between evaluations, as JSON in the store's checkpoint table:
//!
//! - `alert/state/<policy>/<function>`: the core [`IncidentState`] of one (policy, function);
//! - `alert/errors`: the error-event reader's cursor and, per (policy, group), when it last
//!   notified (entries older than the policy's cooldown are pruned: they no longer matter).
//!
//! Checkpoints rather than a new table: no schema change, and the error cursor is written by
//! `Store::enqueue` in the same transaction as the notifications it led to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tern_core::alert::{IncidentState, OpenIncident};
use tern_store::OccurrenceCursor;

pub const STATE_PREFIX: &str = "alert/state/";
pub const ERRORS_KEY: &str = "alert/errors";

pub fn state_key(policy: &str, function: &str) -> String {
    format!("{STATE_PREFIX}{policy}/{function}")
}

/// `(policy, function)` of a state key.
pub fn parse_state_key(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix(STATE_PREFIX)?.split_once('/')
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
struct StoredOpen {
    opened_at_ms: i64,
    value: f64,
    threshold: f64,
    last_firing_ms: i64,
    clear_since_ms: Option<i64>,
    ok_streak: u32,
    clear_period_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct StoredState {
    open: Option<StoredOpen>,
    fire_streak: u32,
    last_resolved_ms: Option<i64>,
    flaps: u32,
}

pub fn encode_state(s: &IncidentState) -> String {
    let stored = StoredState {
        open: s.open.map(|o| StoredOpen {
            opened_at_ms: o.opened_at_ms,
            // JSON has no NaN: a non-finite figure is stored as 0 (it is informational).
            value: if o.value.is_finite() { o.value } else { 0.0 },
            threshold: if o.threshold.is_finite() {
                o.threshold
            } else {
                0.0
            },
            last_firing_ms: o.last_firing_ms,
            clear_since_ms: o.clear_since_ms,
            ok_streak: o.ok_streak,
            clear_period_ms: o.clear_period_ms,
        }),
        fire_streak: s.fire_streak,
        last_resolved_ms: s.last_resolved_ms,
        flaps: s.flaps,
    };
    serde_json::to_string(&stored).unwrap_or_default()
}

pub fn decode_state(json: &str) -> Option<IncidentState> {
    let s: StoredState = serde_json::from_str(json).ok()?;
    Some(IncidentState {
        open: s.open.map(|o| OpenIncident {
            opened_at_ms: o.opened_at_ms,
            value: o.value,
            threshold: o.threshold,
            last_firing_ms: o.last_firing_ms,
            clear_since_ms: o.clear_since_ms,
            ok_streak: o.ok_streak,
            clear_period_ms: o.clear_period_ms,
        }),
        fire_streak: s.fire_streak,
        last_resolved_ms: s.last_resolved_ms,
        flaps: s.flaps,
    })
}

/// The error reader's position and cooldown memory.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ErrorReader {
    pub seq: i64,
    pub position: i64,
    /// `"<policy>\t<group>"` → when that policy last notified for that group (epoch ms).
    #[serde(default)]
    pub notified: BTreeMap<String, i64>,
}

impl ErrorReader {
    pub fn cursor(&self) -> OccurrenceCursor {
        OccurrenceCursor {
            seq: self.seq,
            position: self.position,
        }
    }

    pub fn key(policy: &str, group: &str) -> String {
        format!("{policy}\t{group}")
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(json: &str) -> Option<ErrorReader> {
        serde_json::from_str(json).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn states_round_trip() {
        let s = IncidentState {
            open: Some(OpenIncident {
                opened_at_ms: 1,
                value: 2.5,
                threshold: 1.0,
                last_firing_ms: 3,
                clear_since_ms: Some(4),
                ok_streak: 2,
                clear_period_ms: 300_000,
            }),
            fire_streak: 0,
            last_resolved_ms: Some(0),
            flaps: 1,
        };
        assert_eq!(decode_state(&encode_state(&s)), Some(s));
        assert_eq!(
            parse_state_key(&state_key("builtin.error_rate", "checkout")),
            Some(("builtin.error_rate", "checkout"))
        );
        let r = ErrorReader {
            seq: 3,
            position: 9,
            notified: [(ErrorReader::key("p", "g"), 5)].into(),
        };
        assert_eq!(ErrorReader::decode(&r.encode()), Some(r));
    }
}
