//! What a caller adds to the server: background tasks, metrics, and whether it holds duty.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;

use super::state::ExtraMetrics;
use crate::cluster::Duty;
use crate::writer::WriterHandle;

/// A background task the server runs alongside HTTP: started with a writer handle and a
/// shutdown signal (turns `true` on SIGTERM/SIGINT); it must return soon after the signal.
/// The server waits for it before draining the writer, so whatever it wrote is kept.
pub type Task = Box<
    dyn FnOnce(WriterHandle, watch::Receiver<bool>) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send,
>;

/// What the caller adds to the server: the AWS pull loop and its metrics.
#[derive(Default)]
pub struct Extras {
    pub tasks: Vec<Task>,
    /// Appends Prometheus text to `/metrics` (e.g. lag per log group).
    pub metrics: Option<ExtraMetrics>,
    /// Whether this process runs retention (in a cluster: while it holds the `alerts` lease).
    pub duty: Duty,
}

impl Extras {
    /// Both sets of tasks, both metrics.
    pub fn merge(mut self, other: Extras) -> Extras {
        self.tasks.extend(other.tasks);
        self.metrics = match (self.metrics, other.metrics) {
            (Some(a), Some(b)) => Some(Arc::new(move |out: &mut String| {
                a(out);
                b(out);
            })),
            (a, b) => a.or(b),
        };
        if self.duty.0.is_none() {
            self.duty = other.duty;
        }
        self
    }
}
