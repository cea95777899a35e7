//! Figures worked out without a store: the buckets of series and fleet calls, and one
//! function's environment summary from its environment rows.

use crate::types::{EnvironmentRow, EnvironmentSummary, TimeRange};
use crate::StoreError;

/// Most buckets one [`Store::fleet`](crate::Store::fleet) call cuts each function's range into: sparklines are small.
pub const MAX_FLEET_BUCKETS: i64 = 400;

/// The buckets of a [`Store::fleet`](crate::Store::fleet) call: `[start, end)` pairs aligned to multiples of
/// `bucket_ms` since the epoch, the first and last cut at the range's edges. An error for an
/// unbounded or empty range, a bucket that is not positive, or more than
/// [`MAX_FLEET_BUCKETS`].
pub fn fleet_buckets(range: TimeRange, bucket_ms: i64) -> Result<Vec<(i64, i64)>, StoreError> {
    let (from, to) = match (range.from_ms, range.to_ms) {
        (Some(f), Some(t)) if f < t => (f, t),
        _ => {
            return Err(StoreError::Backend(
                "buckets need a bounded, non-empty range".into(),
            ))
        }
    };
    if bucket_ms <= 0 {
        return Err(StoreError::Backend(format!(
            "bucket of {bucket_ms} ms is not positive"
        )));
    }
    let first = from.div_euclid(bucket_ms);
    let last = (to - 1).div_euclid(bucket_ms);
    if last - first + 1 > MAX_FLEET_BUCKETS {
        return Err(StoreError::Backend(format!(
            "{} buckets requested; at most {MAX_FLEET_BUCKETS}",
            last - first + 1
        )));
    }
    Ok((first..=last)
        .map(|k| {
            let start = k.saturating_mul(bucket_ms).max(from);
            let end = (k + 1).saturating_mul(bucket_ms).min(to);
            (start, end)
        })
        .collect())
}

/// One function's [`EnvironmentSummary`] for `range` from its [`Store::environments`](crate::Store::environments) rows
/// (in that order); `None` when it has no environment in range and no runtime version.
pub fn summarise_environments(
    function: &str,
    envs: &[EnvironmentRow],
    range: TimeRange,
) -> Option<EnvironmentSummary> {
    let mut sum = EnvironmentSummary {
        function: function.to_string(),
        ..EnvironmentSummary::default()
    };
    for e in envs {
        if e.invocations > 0 && e.last_ms.is_some_and(|t| range.contains(t)) {
            sum.environments += 1;
            sum.invocations += e.invocations;
            sum.lifetimes_ms.push(match (e.first_ms, e.last_ms) {
                (Some(a), Some(b)) => (b - a).max(0),
                _ => 0,
            });
        }
    }
    sum.lifetimes_ms.sort_unstable();
    let mut versions: Vec<(String, u64)> = Vec::new();
    for e in envs {
        if let Some(v) = &e.runtime_version {
            match versions.iter_mut().find(|(x, _)| x == v) {
                Some((_, n)) => *n += e.invocations,
                None => versions.push((v.clone(), e.invocations)),
            }
        }
    }
    versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sum.runtime_versions = versions.into_iter().map(|(v, _)| v).collect();
    (sum.environments > 0 || !sum.runtime_versions.is_empty()).then_some(sum)
}

/// Most buckets one [`Store::series`](crate::Store::series) call returns.
pub const MAX_SERIES_BUCKETS: i64 = 10_000;

/// A series' range and bucket checked: `(from, to, number of buckets)`, or an error for an
/// unbounded or empty range, a bucket that is not positive, or too many buckets.
pub fn series_buckets(range: TimeRange, bucket_ms: i64) -> Result<(i64, i64, i64), StoreError> {
    let (from, to) = match (range.from_ms, range.to_ms) {
        (Some(f), Some(t)) if f < t => (f, t),
        _ => {
            return Err(StoreError::Backend(
                "a series needs a bounded, non-empty range".into(),
            ))
        }
    };
    if bucket_ms <= 0 {
        return Err(StoreError::Backend(format!(
            "bucket of {bucket_ms} ms is not positive"
        )));
    }
    let buckets = (to - from - 1) / bucket_ms + 1;
    if buckets > MAX_SERIES_BUCKETS {
        return Err(StoreError::Backend(format!(
            "{buckets} buckets requested; at most {MAX_SERIES_BUCKETS} per series"
        )));
    }
    Ok((from, to, buckets))
}
