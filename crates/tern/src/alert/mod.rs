//! Alerting: error groups, alert rules, incidents and the notification channels that reach
//! people (issue 4).

pub mod channels;
