//! Grouping version 1.
//!
//! **Frozen.** Stored groups carry version 1 and their ids are hashes computed here; a change
//! of output anywhere under `v1/` regroups them. Improvements go into a new `v2/` beside this
//! one (copy, then change), selected by [`super::fingerprint`]'s `version`. The golden
//! snapshot in `tests/fingerprint.rs` fails on any change of an id or a title.
//!
//! Hash input, each item a length-framed field ([`super::hash`]): `"tern-fingerprint"`, the
//! version, the function, the basis tag, then per basis:
//! - `stack`: the error type, then each rendered in-app frame (consecutive repeats of a frame,
//!   i.e. recursion, count once; at most [`MAX_FRAMES`]);
//! - `type_message`: the error type and the normalized message;
//! - `message`: the normalized message;
//! - `outcome`: the outcome name (`timeout`, …) and the error type (empty for timeouts and
//!   out-of-memory, and when unknown).

pub(crate) mod frames;
pub(crate) mod message;

use super::hash::Fnv64;
use super::{Basis, Fingerprint};
use crate::model::{ErrorInfo, Outcome};

const VERSION: u32 = 1;
/// In-app frames hashed at most.
pub(crate) const MAX_FRAMES: usize = 64;
/// Bytes of an error type kept.
const MAX_TYPE: usize = 256;
/// Characters of a title kept.
const MAX_TITLE: usize = 200;

pub(crate) fn fingerprint(
    function: &str,
    outcome: Outcome,
    error: Option<&ErrorInfo>,
) -> Option<Fingerprint> {
    let error_type = error.map_or("", |e| clean_type(&e.error_type));
    match outcome {
        Outcome::Success => None,
        Outcome::Timeout | Outcome::OutOfMemory => Some(by_outcome(function, outcome, "")),
        Outcome::Crash | Outcome::InitError => Some(by_outcome(function, outcome, error_type)),
        Outcome::Error => Some(match error {
            Some(e) => by_error(function, e, error_type),
            None => by_outcome(function, outcome, ""),
        }),
    }
}

fn clean_type(t: &str) -> &str {
    message::prefix(t.trim(), MAX_TYPE)
}

fn start(function: &str, basis: Basis) -> Fnv64 {
    let mut h = Fnv64::new();
    h.str("tern-fingerprint");
    h.u32(VERSION);
    h.str(function);
    h.str(basis.as_str());
    h
}

fn by_outcome(function: &str, outcome: Outcome, error_type: &str) -> Fingerprint {
    let mut h = start(function, Basis::Outcome);
    h.str(outcome.as_str());
    h.str(error_type);
    let what = match outcome {
        Outcome::Timeout => "Timeout",
        Outcome::OutOfMemory => "Out of memory",
        Outcome::Crash => "Crash",
        Outcome::InitError => "Init error",
        Outcome::Error | Outcome::Success => "Error without details",
    };
    let title = if error_type.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {error_type}")
    };
    Fingerprint {
        version: VERSION,
        hash: h.finish(),
        kind: Basis::Outcome,
        title: cap_title(title),
        normalized_message: String::new(),
        frames: Vec::new(),
        culprit: None,
    }
}

fn by_error(function: &str, e: &ErrorInfo, error_type: &str) -> Fingerprint {
    let normalized = message::normalize(&e.message);
    let (frames, python) = in_app_frames(&e.stack);
    if !frames.is_empty() {
        let mut h = start(function, Basis::InAppStack);
        h.str(error_type);
        for f in &frames {
            h.str(f);
        }
        // The frame that raised: Python prints the most recent call last, the others first.
        let culprit = if python {
            frames.last()
        } else {
            frames.first()
        }
        .cloned();
        let what = if error_type.is_empty() {
            "Error"
        } else {
            error_type
        };
        let title = match &culprit {
            Some(c) => format!("{what} at {c}"),
            None => what.to_string(),
        };
        return Fingerprint {
            version: VERSION,
            hash: h.finish(),
            kind: Basis::InAppStack,
            title: cap_title(title),
            normalized_message: normalized,
            frames,
            culprit,
        };
    }
    let (kind, title) = if !error_type.is_empty() {
        let title = if normalized.is_empty() {
            error_type.to_string()
        } else {
            format!("{error_type}: {normalized}")
        };
        (Basis::TypeAndMessage, title)
    } else if !normalized.is_empty() {
        (Basis::Message, normalized.clone())
    } else {
        return by_outcome(function, Outcome::Error, "");
    };
    let mut h = start(function, kind);
    if kind == Basis::TypeAndMessage {
        h.str(error_type);
    }
    h.str(&normalized);
    Fingerprint {
        version: VERSION,
        hash: h.finish(),
        kind,
        title: cap_title(title),
        normalized_message: normalized,
        frames: Vec::new(),
        culprit: None,
    }
}

/// The rendered in-app frames in printed order, and whether they are Python frames.
fn in_app_frames(stack: &[String]) -> (Vec<String>, bool) {
    let mut out: Vec<String> = Vec::new();
    let mut python = false;
    for raw in stack {
        let Some(f) = frames::parse(raw) else {
            continue;
        };
        if !frames::in_app(&f) {
            continue;
        }
        python |= f.style == frames::Style::Python;
        let r = frames::render(&f);
        if out.last() != Some(&r) {
            out.push(r);
        }
        if out.len() >= MAX_FRAMES {
            break;
        }
    }
    (out, python)
}

fn cap_title(title: String) -> String {
    if title.chars().count() <= MAX_TITLE {
        return title;
    }
    let mut t: String = title.chars().take(MAX_TITLE - 1).collect();
    t.push('…');
    t
}
