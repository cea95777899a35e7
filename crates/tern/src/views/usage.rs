//! What a function's statistics bill: the usage the cost engine prices.

use tern_core::cost::{self, Usage};
use tern_core::model::Arch;
use tern_store::FunctionStats;

/// A function's usage by month, in its region and architecture (x86_64 and us-east-1 when
/// unknown), ready for `cost::price_usage`.
pub fn usage_of(s: &FunctionStats) -> Vec<Usage> {
    let region = s
        .meta
        .region
        .clone()
        .unwrap_or_else(|| cost::DEFAULT_REGION.to_string());
    let arch = s.meta.arch.unwrap_or(Arch::X86_64);
    s.months
        .iter()
        .map(|m| Usage {
            region: region.clone(),
            arch,
            month: m.month,
            requests: m.requests,
            gb_seconds: m.gb_seconds,
        })
        .collect()
}
