//! What a run will do, before it does it: the targets, the API calls and an estimate of what
//! the tuning itself costs (`--dry-run` prints this and changes nothing).

use std::fmt::Write as _;

use tern_core::cost;
use tern_store::Arch;

/// One function to tune on one architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub function: String,
    pub arch: Arch,
    pub current_memory_mb: u32,
    pub timeout_s: Option<u32>,
}

/// A duration to estimate from: observed (from the store) or the timeout (an upper bound).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// p50 Duration observed at this memory size in the logs Tern holds.
    Observed { p50_ms: f64, memory_mb: u32 },
    /// Nothing observed: every invocation is assumed to run to the timeout.
    Timeout { ms: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub memory: Vec<u32>,
    pub invocations: u32,
    pub cold_starts_only: bool,
    pub parallel: usize,
    pub region: String,
}

/// Lambda's CPU share at a memory size, in vCPUs (1,769 MB is one full vCPU). Capped at one:
/// the estimate assumes single-threaded code, which gains nothing from a second vCPU.
fn cpu_share(memory_mb: u32) -> f64 {
    f64::from(memory_mb.min(1769)) / 1769.0
}

/// The duration range at `memory_mb`: fully I/O-bound (flat) to fully CPU-bound (scaled by
/// the CPU share), from the basis.
pub fn duration_range(basis: Basis, memory_mb: u32) -> (f64, f64) {
    match basis {
        Basis::Observed {
            p50_ms,
            memory_mb: at,
        } => {
            let cpu = p50_ms * cpu_share(at) / cpu_share(memory_mb);
            (p50_ms.min(cpu), p50_ms.max(cpu))
        }
        Basis::Timeout { ms } => (ms, ms),
    }
}

impl Plan {
    pub fn total_invocations(&self) -> u64 {
        self.targets.len() as u64 * self.memory.len() as u64 * u64::from(self.invocations)
    }

    /// Versions published: one per size, or one per invocation for cold starts only.
    pub fn versions(&self) -> u64 {
        let per_size = if self.cold_starts_only {
            u64::from(self.invocations)
        } else {
            1
        };
        self.targets.len() as u64 * self.memory.len() as u64 * per_size
    }

    /// The estimated cost of the tuning's invocations (low, high), in USD.
    pub fn estimated_cost(&self, basis: &[Basis]) -> (f64, f64) {
        let mut lo = 0.0;
        let mut hi = 0.0;
        for (t, b) in self.targets.iter().zip(basis) {
            for &m in &self.memory {
                let (d_lo, d_hi) = duration_range(*b, m);
                let n = f64::from(self.invocations);
                let c =
                    |d: f64| cost::invocation_cost(d.ceil(), f64::from(m), t.arch, &self.region);
                let (a, b) = (c(d_lo), c(d_hi));
                lo += n * a.min(b);
                hi += n * a.max(b);
            }
        }
        (lo, hi)
    }

    /// The plan as text: sizes × invocations, every API call, and the cost estimate.
    pub fn render(&self, basis: &[Basis]) -> String {
        let mut out = String::new();
        let sizes: Vec<String> = self.memory.iter().map(|m| format!("{m}")).collect();
        let _ = writeln!(out, "Plan (dry run: nothing is changed or invoked)");
        for (t, b) in self.targets.iter().zip(basis) {
            let basis = match b {
                Basis::Observed { p50_ms, memory_mb } => {
                    format!("p50 {p50_ms:.1} ms observed at {memory_mb} MB in the stored logs")
                }
                Basis::Timeout { ms } => format!(
                    "no stored logs: assumes every invocation runs to the {:.0} s timeout",
                    ms / 1000.0
                ),
            };
            let _ = writeln!(
                out,
                "  {} ({}), now {} MB; duration estimate: {basis}",
                t.function,
                t.arch.as_str(),
                t.current_memory_mb
            );
        }
        let _ = writeln!(
            out,
            "  sizes: {} MB × {} invocations{} = {} invocations, {} at a time",
            sizes.join(", "),
            self.invocations,
            if self.targets.len() > 1 {
                format!(" × {} architectures", self.targets.len())
            } else {
                String::new()
            },
            self.total_invocations(),
            self.parallel
        );
        let updates = if self.cold_starts_only {
            self.versions()
        } else {
            self.targets.len() as u64 * self.memory.len() as u64
        };
        let _ = writeln!(out, "API calls:");
        let _ = writeln!(
            out,
            "  GetFunctionConfiguration  to read the configuration, then to poll each update"
        );
        let _ = writeln!(
            out,
            "  UpdateFunctionConfiguration × {updates} (MemorySize{}) + 1 per function to restore",
            if self.cold_starts_only {
                " and the variable TERN_TUNE_COLD_START, forcing a new environment per invoke"
            } else {
                ""
            }
        );
        let _ = writeln!(out, "  PublishVersion × {}", self.versions());
        let _ = writeln!(
            out,
            "  Invoke × {} (LogType=Tail, on the published version)",
            self.total_invocations()
        );
        let _ = writeln!(
            out,
            "  DeleteFunction × {} (the published versions, after measuring)",
            self.versions()
        );
        let (lo, hi) = self.estimated_cost(basis);
        let _ = writeln!(
            out,
            "Estimated cost of the tuning itself: ${lo:.6} to ${hi:.6} ({} prices, request fee included; \
             an estimate between fully I/O-bound and fully CPU-bound code, not a measurement)",
            self.region
        );
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn plan(cold: bool) -> Plan {
        Plan {
            targets: vec![Target {
                function: "orders".into(),
                arch: Arch::X86_64,
                current_memory_mb: 1024,
                timeout_s: Some(3),
            }],
            memory: vec![128, 1024, 3008],
            invocations: 10,
            cold_starts_only: cold,
            parallel: 2,
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn duration_range_spans_io_bound_to_cpu_bound() {
        let b = Basis::Observed {
            p50_ms: 100.0,
            memory_mb: 1024,
        };
        let (lo, hi) = duration_range(b, 128);
        assert_eq!(lo, 100.0);
        assert!((hi - 800.0).abs() < 1e-9);
        let (lo, hi) = duration_range(b, 3008);
        assert!((lo - 100.0 * 1024.0 / 1769.0).abs() < 1e-9);
        assert_eq!(hi, 100.0);
    }

    #[test]
    fn cost_estimate_uses_the_cost_engine() {
        let p = plan(false);
        let (lo, hi) = p.estimated_cost(&[Basis::Timeout { ms: 3000.0 }]);
        assert_eq!(lo, hi);
        let want: f64 = [128.0, 1024.0, 3008.0]
            .iter()
            .map(|&m| 10.0 * cost::invocation_cost(3000.0, m, Arch::X86_64, "us-east-1"))
            .sum();
        assert!((lo - want).abs() < 1e-15);
        assert_eq!(p.total_invocations(), 30);
        assert_eq!(p.versions(), 3);
        assert_eq!(plan(true).versions(), 30);
        let text = p.render(&[Basis::Timeout { ms: 3000.0 }]);
        assert!(text.contains("PublishVersion × 3"), "{text}");
        assert!(text.contains("estimate"), "{text}");
    }
}
