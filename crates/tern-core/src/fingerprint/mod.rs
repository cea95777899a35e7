//! Error fingerprints: which failures are "the same error" (Error groups).
//!
//! A fingerprint is a stable 64-bit id plus what it was built from. Failures with equal ids
//! form one error group. Built, in order (Sentry's precedence, peers-and-pricing.md §5.3):
//! 1. [`Basis::InAppStack`]: the error type and the in-app stack frames, normalized (paths
//!    relative to `/var/task`, line numbers kept, runtime and library frames dropped, memory
//!    addresses and offsets dropped). The message is not hashed: one raise site with varying
//!    text is one bug. What is in-app for each runtime: [`v1::frames`].
//! 2. [`Basis::TypeAndMessage`]: the error type and the normalized message
//!    ([`normalize_message`]: ids, numbers, timestamps, quoted values, ARNs, IPs, … become
//!    placeholders).
//! 3. [`Basis::Message`]: the normalized message alone.
//!
//! Platform failures group by function and outcome ([`Basis::Outcome`]):
//! - timeouts: one group per function; a handler error logged before the timeout does not
//!   split it (the timeout is the failure users act on);
//! - out of memory: one group per function, whatever the runtime printed
//!   (`java.lang.OutOfMemoryError`, `MemoryError`, `signal: killed`);
//! - crashes and init errors: one group per function and error type, because the type names
//!   the cause: `Runtime.ExitError` (the process died) vs `Runtime.Unknown`, and
//!   `Runtime.ImportModuleError` (a missing module) vs `Runtime.HandlerNotFound` (a wrong
//!   handler setting) vs `Runtime.UserCodeSyntaxError`. The message is not used: it carries
//!   request ids and module names, and every variant is the same fix. A Go panic that kills
//!   the runtime is such a crash (type `panic` when only stderr told, else the REPORT's type).
//! - an invocation that failed with no error details: one group per function.
//!
//! **Every group is per function**: the function name is part of every hash. The same code
//! deployed as `orders-dev` and `orders-prod` makes two groups, so a "new error group" alert
//! on production functions fires even when the bug showed first in dev.
//!
//! **Versioning.** [`GROUPING_VERSION`] is the algorithm new errors are grouped with. Stored
//! groups keep the version they were made with, and [`fingerprint`] computes any supported
//! version, so a future version 2 never regroups stored errors: each version's code lives in
//! its own module (`v1/`), frozen, with its own normalizer and frame rules. The hash
//! ([`hash`]) is FNV-1a written out here, never `DefaultHasher`, so ids are the same on every
//! platform, Rust release and run. The version is hashed too: equal inputs under two versions
//! give two ids.
//!
//! Grouping uses only what one invocation shows. Fingerprint a complete invocation (after its
//! REPORT): [`fingerprint_invocation`] takes the REPORT's platform error type when there is
//! one, and a part that has not seen its REPORT yet may not know its outcome.

mod hash;
pub(crate) mod v1;

use crate::model::{ErrorInfo, InvocationPart, Outcome};

/// The grouping algorithm new errors are fingerprinted with.
pub const GROUPING_VERSION: u32 = 1;

/// Every version [`fingerprint`] can compute.
pub const SUPPORTED_VERSIONS: &[u32] = &[1];

/// What a fingerprint was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Basis {
    InAppStack,
    TypeAndMessage,
    Message,
    Outcome,
}

impl Basis {
    pub const ALL: [Basis; 4] = [
        Basis::InAppStack,
        Basis::TypeAndMessage,
        Basis::Message,
        Basis::Outcome,
    ];

    /// Stable name for storage (also hashed: never change these).
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::InAppStack => "stack",
            Basis::TypeAndMessage => "type_message",
            Basis::Message => "message",
            Basis::Outcome => "outcome",
        }
    }

    pub fn parse(s: &str) -> Option<Basis> {
        Basis::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// The identity of an error group, and what it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The grouping version that computed it.
    pub version: u32,
    /// The group id. Shown as [`Fingerprint::id`].
    pub hash: u64,
    pub kind: Basis,
    /// A short display title, a function of the hashed inputs only, so every event of a group
    /// has the same title: `KeyError at lambda_function.py:36 in lambda_handler` (stack),
    /// `KeyError: <str>` (type and message), `Timeout`, `Init error: Runtime.ImportModuleError`.
    /// At most 200 characters.
    pub title: String,
    /// The event's message, normalized. Hashed for the message bases; for [`Basis::InAppStack`]
    /// it is per event (the message is not hashed there); empty for [`Basis::Outcome`].
    pub normalized_message: String,
    /// The in-app frames that were hashed, rendered (`file:line[:col] in function`), in the
    /// order the runtime printed them. Empty unless the basis is [`Basis::InAppStack`].
    pub frames: Vec<String>,
    /// The in-app frame that raised (the most recent call), for [`Basis::InAppStack`].
    pub culprit: Option<String>,
}

impl Fingerprint {
    /// The group id as 16 lowercase hex digits.
    pub fn id(&self) -> String {
        format_id(self.hash)
    }
}

/// A group hash as 16 lowercase hex digits.
pub fn format_id(hash: u64) -> String {
    format!("{hash:016x}")
}

/// The hash of an id written by [`format_id`] (any case, exactly 16 hex digits).
pub fn parse_id(id: &str) -> Option<u64> {
    if id.len() != 16 || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(id, 16).ok()
}

/// Fingerprint one failure of `function` with grouping `version`. `None` for a success and
/// for a version this build does not know.
pub fn fingerprint(
    function: &str,
    outcome: Outcome,
    error: Option<&ErrorInfo>,
    version: u32,
) -> Option<Fingerprint> {
    match version {
        1 => v1::fingerprint(function, outcome, error),
        _ => None,
    }
}

/// Fingerprint an assembled invocation: its function and outcome, its error, and the
/// REPORT's platform error type (`Runtime.ExitError`, …). For crashes and init errors the
/// REPORT's type wins over the type the runtime printed (the platform names the cause; a
/// Node init failure prints `ReferenceError` and reports `Runtime.Unknown`). An invocation
/// without error details but with a REPORT error type (`Function.ResponseSizeTooLarge`) is
/// grouped by that type.
pub fn fingerprint_invocation(part: &InvocationPart, version: u32) -> Option<Fingerprint> {
    let outcome = part.outcome();
    let platform_type = part
        .report
        .as_ref()
        .and_then(|r| r.error_type.as_deref())
        .filter(|t| !t.trim().is_empty());
    let synthetic;
    let error = match (outcome, platform_type, part.error.as_ref()) {
        (Outcome::Crash | Outcome::InitError, Some(t), _) | (_, Some(t), None) => {
            synthetic = ErrorInfo {
                error_type: t.to_string(),
                message: String::new(),
                stack: Vec::new(),
            };
            Some(&synthetic)
        }
        (_, _, e) => e,
    };
    fingerprint(&part.function, outcome, error, version)
}

/// An error message with its variable parts replaced by placeholders, as the current
/// [`GROUPING_VERSION`] does it. Total and bounded: at most 8 KiB of input are read and at
/// most 512 bytes returned. Rules: `v1::message`.
pub fn normalize_message(message: &str) -> String {
    v1::message::normalize(message)
}
