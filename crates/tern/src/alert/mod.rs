//! Alerting: error groups, alert rules, incidents and the notification channels that reach
//! people.
//!
//! - [`rules`]: `[alerts]`, `[[policies]]`, `[[error_policies]]` and API policies, validated
//!   into the policies in force;
//! - [`engine`]: the evaluation loop of `tern serve` (incidents, error events → outbox);
//! - [`sender`]: outbox → channels, with retries;
//! - [`notify`]: the notifications and their outbox form; [`state`]: what the engine keeps
//!   between ticks; [`metrics`]: its `/metrics` figures;
//! - [`channels`]: the transports.

// Also compiled on its own by tests/channels.rs, which uses helpers the binary does not.
#[allow(dead_code, unused_imports)]
pub mod channels;
pub mod dry;
pub mod engine;
pub mod metrics;
pub mod notify;
pub mod reader;
pub mod rules;
pub mod sender;
pub mod state;

#[cfg(test)]
mod tests;
