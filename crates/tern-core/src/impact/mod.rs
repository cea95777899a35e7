//! Change impact: find every deploy and configuration change of a function, and
//! say what it did, with statistics a skeptic accepts.
//!
//! **Detection.** A change point is the time the first invocation under a new value of an
//! attribute was seen: function version (`START … Version`), memory size (REPORT), runtime
//! version (INIT_START, carried by every invocation of the environment), and from the
//! inventory, architecture and `LastModified`. The store keeps, at ingest, when each value of
//! each attribute was first and last seen ([`Seen`]); [`changes_of`] turns those into change
//! points, including returns to an earlier value (rollbacks, [`Change::rollback`]). Callers
//! add operator markers. [`detect`] finds the same change points in a list of invocations.
//!
//! **Comparison.** For an attribute change, invocations are grouped by the attribute, not by
//! the clock: during a rollout that mixes versions, the old version's invocations are the
//! "before" side and the new version's the "after" side. Both sides come from equal windows
//! around the change ([`windows`]). Markers and explicit ranges compare by clock.
//!
//! **Statistics** ([`compare`]), every one at a stated family-wise confidence:
//! - duration p50/p95/p99, init p50/p95 and max memory used p95: exact distribution-free
//!   order-statistic intervals ([`stats::quantile_ci`]), one per side at `alpha_m / 2`; a
//!   difference is significant when the two intervals are disjoint, so the chance of a false
//!   "better"/"worse" for one metric is at most `alpha_m` (union bound);
//! - error and cold-start rates: two-proportion z test, Fisher's exact below 5 expected;
//! - billed duration and cost per invocation (means): Welch's test;
//! - `alpha_m = alpha / metrics` (Bonferroni), so a comparison where nothing changed reports
//!   any difference at all with probability at most `alpha`.
//!
//! Durations and costs also need a relative change of at least `min_effect` to be called
//! better or worse (a stricter rule never adds false positives). Diurnal guard: when either
//! side does not cover every hour of the day, both are restricted to the hours of day both
//! cover; when they share none, the comparison says it could not compare like hours.

pub mod stats;

use std::collections::BTreeSet;

use crate::cost;
use crate::model::Arch;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attribute {
    Version,
    MemorySize,
    RuntimeVersion,
    /// The inventory's `LastModified` (any configuration or code update).
    Configuration,
    /// An operator's marker (`tern mark`, `POST /api/v1/markers`).
    Marker,
    /// The inventory's architecture (`x86_64`, `arm64`).
    Architecture,
}

impl Attribute {
    pub const ALL: [Attribute; 6] = [
        Attribute::Version,
        Attribute::MemorySize,
        Attribute::RuntimeVersion,
        Attribute::Configuration,
        Attribute::Marker,
        Attribute::Architecture,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attribute::Version => "version",
            Attribute::MemorySize => "memory_size",
            Attribute::RuntimeVersion => "runtime_version",
            Attribute::Configuration => "configuration",
            Attribute::Marker => "marker",
            Attribute::Architecture => "architecture",
        }
    }

    pub fn parse(s: &str) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether the sides are the invocations under each value (else: by clock).
    pub fn grouped(self) -> bool {
        matches!(
            self,
            Attribute::Version | Attribute::MemorySize | Attribute::RuntimeVersion
        )
    }
}

/// One complete invocation as change impact sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    /// REPORT time, epoch ms.
    pub at_ms: i64,
    pub version: Option<String>,
    pub memory_mb: Option<u32>,
    pub runtime_version: Option<String>,
    pub duration_ms: f64,
    pub billed_ms: f64,
    pub cold: bool,
    pub init_ms: Option<f64>,
    /// Any outcome but success.
    pub failed: bool,
    pub max_memory_mb: Option<u32>,
}

impl Sample {
    fn value(&self, a: Attribute) -> Option<String> {
        match a {
            Attribute::Version => self.version.clone(),
            Attribute::MemorySize => self.memory_mb.map(|m| m.to_string()),
            Attribute::RuntimeVersion => self.runtime_version.clone(),
            Attribute::Configuration | Attribute::Marker | Attribute::Architecture => None,
        }
    }
}

/// A change point.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Stable: `<attribute>-<at_ms>` (markers: `marker-<marker id>`).
    pub id: String,
    pub attribute: Attribute,
    pub at_ms: i64,
    /// The value in force before (absent for markers and configuration).
    pub from: Option<String>,
    pub to: Option<String>,
    /// A marker's note.
    pub note: Option<String>,
    /// A return to a value seen before (v42 → v43 → v42): `to` is the earlier value.
    pub rollback: bool,
}

/// Changes of version, memory size and runtime version in `samples` (sorted by time): one per
/// value first seen after the first sample. `from` is the value of the latest earlier
/// invocation.
pub fn detect(samples: &[Sample]) -> Vec<Change> {
    let mut out = Vec::new();
    for a in [
        Attribute::Version,
        Attribute::MemorySize,
        Attribute::RuntimeVersion,
    ] {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut last: Option<String> = None;
        for s in samples {
            let Some(v) = s.value(a) else { continue };
            if !seen.contains(&v) {
                if !seen.is_empty() {
                    out.push(Change {
                        id: format!("{}-{}", a.as_str(), s.at_ms),
                        attribute: a,
                        at_ms: s.at_ms,
                        from: last.clone(),
                        to: Some(v.clone()),
                        note: None,
                        rollback: false,
                    });
                }
                seen.insert(v.clone());
            }
            last = Some(v);
        }
    }
    out.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.attribute.cmp(&b.attribute)));
    out
}

/// When one value of an attribute of a function was first and last seen: the store keeps one
/// per (function, attribute, value), updated at ingest. For version, memory size and runtime
/// version the times are those of complete invocations (a runtime version is carried by the
/// invocation that started its environment, so its last-seen is the latest cold start under
/// it); for architecture and `LastModified` they come from the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub attribute: Attribute,
    pub value: String,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// The change points of one function from its [`Seen`] values, oldest first.
///
/// Per attribute, values are ordered by first-seen time. Each value after the first is a
/// change at its first-seen time, from the value in force just before: of the values seen
/// earlier, the one seen last. A rollback is a value that outlived newer ones: when, just before
/// a new value appears (or now), the value seen last is not the newest, the newest values were
/// abandoned and the earlier one returned. It is reported as a change from the abandoned value
/// (the newer one seen last) back to the earlier one, at the moment the abandoned value was last
/// seen. First and last times cannot show a return that was later undone (v1 → v2 → v1 → v2):
/// only returns still in force when the next new value appeared, or now, are found.
/// `LastModified` values are distinct instants and never roll back.
pub fn changes_of(seen: &[Seen]) -> Vec<Change> {
    let mut out = Vec::new();
    for a in Attribute::ALL {
        if a == Attribute::Marker {
            continue;
        }
        let mut vals: Vec<&Seen> = seen.iter().filter(|s| s.attribute == a).collect();
        vals.sort_by(|x, y| {
            x.first_ms
                .cmp(&y.first_ms)
                .then_with(|| x.value.cmp(&y.value))
        });
        let mut rollbacks: Vec<Change> = Vec::new();
        // The value in force just before `until` among `earlier` (seen last), and a rollback
        // when that is not the newest of them.
        let mut look = |earlier: &[&Seen], until: Option<i64>| -> Option<String> {
            let (pi, p) = earlier
                .iter()
                .enumerate()
                .max_by(|(i, x), (j, y)| x.last_ms.cmp(&y.last_ms).then(i.cmp(j)))?;
            if a != Attribute::Configuration && pi + 1 < earlier.len() {
                // Newer values than `p`, abandoned: the one seen last was in force before the
                // return.
                let q = earlier[pi + 1..]
                    .iter()
                    .max_by(|x, y| x.last_ms.cmp(&y.last_ms))?;
                let at = q.last_ms.saturating_add(1);
                if q.last_ms < p.last_ms
                    && until.is_none_or(|t| at <= t)
                    && !rollbacks.iter().any(|r| r.at_ms == at)
                {
                    rollbacks.push(Change {
                        id: format!("{}-rollback-{at}", a.as_str()),
                        attribute: a,
                        at_ms: at,
                        from: Some(q.value.clone()),
                        to: Some(p.value.clone()),
                        note: None,
                        rollback: true,
                    });
                }
            }
            Some(p.value.clone())
        };
        for i in 1..vals.len() {
            let v = vals[i];
            let from = look(&vals[..i], Some(v.first_ms));
            out.push(Change {
                id: format!("{}-{}", a.as_str(), v.first_ms),
                attribute: a,
                at_ms: v.first_ms,
                from,
                to: Some(v.value.clone()),
                note: None,
                rollback: false,
            });
        }
        look(&vals, None);
        out.extend(rollbacks);
    }
    out.sort_by(|x, y| {
        x.at_ms
            .cmp(&y.at_ms)
            .then(x.attribute.cmp(&y.attribute))
            .then_with(|| x.id.cmp(&y.id))
    });
    out
}

/// Equal windows `[at - w, at)` and `[at, at + w)` around a change, with `w` the largest that
/// fits in the data `[first_ms, end_ms)` and is at most `max_ms`.
pub fn windows(at_ms: i64, first_ms: i64, end_ms: i64, max_ms: i64) -> ((i64, i64), (i64, i64)) {
    let w = (at_ms - first_ms).min(end_ms - at_ms).min(max_ms).max(0);
    ((at_ms - w, at_ms), (at_ms, at_ms + w))
}

/// The two sides of a change: by value for version, memory and runtime changes (within the
/// equal windows), by clock otherwise. For a change by value, the before side is also held
/// to the values of the other two attributes that the after side has (when it has any of
/// them), so an earlier change inside the windows does not pass for this one's effect.
pub fn sides<'a>(
    samples: &'a [Sample],
    change: &Change,
    before: (i64, i64),
    after: (i64, i64),
) -> (Vec<&'a Sample>, Vec<&'a Sample>) {
    let within = |s: &Sample, (f, t): (i64, i64)| s.at_ms >= f && s.at_ms < t;
    let a = change.attribute;
    let b: Vec<&Sample> = samples
        .iter()
        .filter(|s| within(s, before))
        .filter(|s| !a.grouped() || s.value(a) == change.from)
        .collect();
    let c: Vec<&Sample> = samples
        .iter()
        .filter(|s| within(s, after))
        .filter(|s| !a.grouped() || s.value(a) == change.to)
        .collect();
    if !a.grouped() {
        return (b, c);
    }
    // The before side is held to the values of the other attributes the after side has: a
    // runtime update shortly after a deploy compares the new code on the old runtime with the
    // new code on the new one, not the old code with the new.
    let mut b = b;
    for o in [
        Attribute::Version,
        Attribute::MemorySize,
        Attribute::RuntimeVersion,
    ] {
        if o == a {
            continue;
        }
        let after: BTreeSet<Option<String>> = c.iter().map(|s| s.value(o)).collect();
        if b.iter().any(|s| after.contains(&s.value(o))) {
            b.retain(|s| after.contains(&s.value(o)));
        }
    }
    (b, c)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Family-wise error rate: 0.05 is 95% confidence.
    pub alpha: f64,
    /// Fewest invocations per side for any verdict.
    pub min_samples: usize,
    /// Smallest relative change of a duration or cost called better or worse.
    pub min_effect: f64,
    pub arch: Arch,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            alpha: 0.05,
            min_samples: 30,
            min_effect: 0.05,
            arch: Arch::X86_64,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Worse,
    NoSignificantChange,
    NotEnoughData,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::NoSignificantChange => "no significant change",
            Verdict::NotEnoughData => "not enough data",
        }
    }
}

/// How one metric moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: &'static str,
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// Confidence intervals of each side (quantiles only).
    pub before_ci: Option<(f64, f64)>,
    pub after_ci: Option<(f64, f64)>,
    /// (after - before) / before.
    pub change: Option<f64>,
    /// Bounds of the relative change (quantiles only), at the metric's confidence.
    pub change_ci: Option<(f64, f64)>,
    pub p_value: Option<f64>,
    pub test: &'static str,
    pub verdict: Verdict,
}

/// What the diurnal guard did.
#[derive(Debug, Clone, PartialEq)]
pub enum HourGuard {
    /// Both sides cover every hour of the day.
    AllHours,
    /// Both sides were restricted to these hours of day (UTC).
    Restricted(Vec<u8>),
    /// The sides share no hour of day: compared as they are.
    CouldNot,
}

impl HourGuard {
    pub fn describe(&self) -> String {
        match self {
            HourGuard::AllHours => "both sides cover every hour of the day".into(),
            HourGuard::Restricted(h) => format!(
                "both sides restricted to the {} hours of day (UTC) both cover",
                h.len()
            ),
            HourGuard::CouldNot => {
                "could not compare like hours: the sides share no hour of day".into()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub before_n: usize,
    pub after_n: usize,
    pub hours: HourGuard,
    /// Family-wise confidence (1 - alpha).
    pub confidence: f64,
    /// Each metric's own level: alpha / metrics (Bonferroni).
    pub metric_alpha: f64,
    pub metrics: Vec<Metric>,
    /// Every side has at least `min_samples` invocations.
    pub enough_data: bool,
    /// Cost per month at the traffic given, per side.
    pub monthly_cost_before: Option<f64>,
    pub monthly_cost_after: Option<f64>,
}

impl Comparison {
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// Metrics compared; Bonferroni divides alpha by their number.
pub const METRICS: usize = 10;

fn hour(t: i64) -> u8 {
    (t.rem_euclid(DAY_MS) / HOUR_MS) as u8
}

/// Restrict both sides to the hours of day both cover, unless both cover all 24.
fn like_hours<'a>(
    b: &[&'a Sample],
    a: &[&'a Sample],
) -> (Vec<&'a Sample>, Vec<&'a Sample>, HourGuard) {
    let cover = |xs: &[&Sample]| {
        let mut h = [false; 24];
        for s in xs {
            h[hour(s.at_ms) as usize] = true;
        }
        h
    };
    let (hb, ha) = (cover(b), cover(a));
    if hb.iter().all(|&x| x) && ha.iter().all(|&x| x) {
        return (b.to_vec(), a.to_vec(), HourGuard::AllHours);
    }
    let common: Vec<u8> = (0..24u8)
        .filter(|&h| hb[h as usize] && ha[h as usize])
        .collect();
    if common.is_empty() {
        return (b.to_vec(), a.to_vec(), HourGuard::CouldNot);
    }
    let keep = |xs: &[&'a Sample]| -> Vec<&'a Sample> {
        xs.iter()
            .copied()
            .filter(|s| common.contains(&hour(s.at_ms)))
            .collect()
    };
    (keep(b), keep(a), HourGuard::Restricted(common))
}

fn sorted(xs: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

fn rel(before: f64, after: f64) -> Option<f64> {
    (before > 0.0).then(|| (after - before) / before)
}

/// Higher is worse for every metric Tern compares.
fn verdict_of(significant: bool, change: Option<f64>, min_effect: f64) -> Verdict {
    match change {
        Some(c) if significant && c.abs() >= min_effect => {
            if c > 0.0 {
                Verdict::Worse
            } else {
                Verdict::Better
            }
        }
        _ => Verdict::NoSignificantChange,
    }
}

fn quantile_metric(
    name: &'static str,
    unit: &'static str,
    b: &[f64],
    a: &[f64],
    q: f64,
    alpha_m: f64,
    s: &Settings,
) -> Metric {
    let side_alpha = alpha_m / 2.0;
    let cb = stats::quantile_ci(b, q, side_alpha);
    let ca = stats::quantile_ci(a, q, side_alpha);
    let mut m = Metric {
        name,
        unit,
        before: cb.map(|c| c.estimate),
        after: ca.map(|c| c.estimate),
        before_ci: cb.map(|c| (c.lo, c.hi)),
        after_ci: ca.map(|c| (c.lo, c.hi)),
        change: None,
        change_ci: None,
        p_value: None,
        test: "exact order-statistic intervals, disjoint",
        verdict: Verdict::NotEnoughData,
    };
    let (Some(cb), Some(ca)) = (cb, ca) else {
        return m;
    };
    if b.len() < s.min_samples || a.len() < s.min_samples {
        return m;
    }
    m.change = rel(cb.estimate, ca.estimate);
    if cb.lo > 0.0 && cb.hi > 0.0 {
        m.change_ci = Some((ca.lo / cb.hi - 1.0, ca.hi / cb.lo - 1.0));
    }
    let disjoint = ca.lo > cb.hi || ca.hi < cb.lo;
    m.verdict = verdict_of(disjoint, m.change, s.min_effect);
    m
}

fn mean_metric(
    name: &'static str,
    unit: &'static str,
    b: &[f64],
    a: &[f64],
    alpha_m: f64,
    s: &Settings,
) -> Metric {
    let (mb, _, nb) = stats::moments(b);
    let (ma, _, na) = stats::moments(a);
    let mut m = Metric {
        name,
        unit,
        before: (nb > 0).then_some(mb),
        after: (na > 0).then_some(ma),
        before_ci: None,
        after_ci: None,
        change: None,
        change_ci: None,
        p_value: None,
        test: "Welch's test",
        verdict: Verdict::NotEnoughData,
    };
    if nb < s.min_samples || na < s.min_samples {
        return m;
    }
    let p = stats::means(b, a);
    m.p_value = Some(p);
    m.change = rel(mb, ma);
    m.verdict = verdict_of(p < alpha_m, m.change, s.min_effect);
    m
}

fn rate_metric(
    name: &'static str,
    b: (u64, u64),
    a: (u64, u64),
    alpha_m: f64,
    s: &Settings,
) -> Metric {
    let rate = |(x, n): (u64, u64)| (n > 0).then(|| x as f64 / n as f64);
    let mut m = Metric {
        name,
        unit: "ratio",
        before: rate(b),
        after: rate(a),
        before_ci: None,
        after_ci: None,
        change: None,
        change_ci: None,
        p_value: None,
        test: "two-proportion z test",
        verdict: Verdict::NotEnoughData,
    };
    if (b.1 as usize) < s.min_samples || (a.1 as usize) < s.min_samples {
        return m;
    }
    let (p, test) = stats::proportions(b.0, b.1, a.0, a.1);
    m.p_value = Some(p);
    m.test = test.as_str();
    let (rb, ra) = (rate(b).unwrap_or(0.0), rate(a).unwrap_or(0.0));
    m.change = if rb > 0.0 {
        rel(rb, ra)
    } else if ra > 0.0 {
        Some(f64::INFINITY)
    } else {
        Some(0.0)
    };
    // Rates have no practical threshold: any significant move counts.
    m.verdict = if p < alpha_m && ra != rb {
        if ra > rb {
            Verdict::Worse
        } else {
            Verdict::Better
        }
    } else {
        Verdict::NoSignificantChange
    };
    m
}

/// Compare two sides. `monthly_invocations` is the current traffic the monthly cost is
/// projected at; `region` prices the invocations.
pub fn compare(
    before: &[&Sample],
    after: &[&Sample],
    monthly_invocations: f64,
    region: &str,
    s: &Settings,
) -> Comparison {
    let (b, a, hours) = like_hours(before, after);
    let alpha_m = s.alpha / METRICS as f64;
    let dur = |xs: &[&Sample]| sorted(xs.iter().map(|x| x.duration_ms));
    let init = |xs: &[&Sample]| sorted(xs.iter().filter_map(|x| x.init_ms));
    let mem = |xs: &[&Sample]| sorted(xs.iter().filter_map(|x| x.max_memory_mb.map(f64::from)));
    let billed = |xs: &[&Sample]| xs.iter().map(|x| x.billed_ms).collect::<Vec<f64>>();
    let costs = |xs: &[&Sample]| {
        xs.iter()
            .map(|x| {
                cost::invocation_cost(
                    x.billed_ms,
                    f64::from(x.memory_mb.unwrap_or(0)),
                    s.arch,
                    region,
                )
            })
            .collect::<Vec<f64>>()
    };
    let count = |xs: &[&Sample], f: fn(&Sample) -> bool| {
        (xs.iter().filter(|x| f(x)).count() as u64, xs.len() as u64)
    };
    let (db, da) = (dur(&b), dur(&a));
    let (ib, ia) = (init(&b), init(&a));
    let (mb, ma) = (mem(&b), mem(&a));
    let (cb, ca) = (costs(&b), costs(&a));
    let metrics = vec![
        quantile_metric("duration_p50", "ms", &db, &da, 0.50, alpha_m, s),
        quantile_metric("duration_p95", "ms", &db, &da, 0.95, alpha_m, s),
        quantile_metric("duration_p99", "ms", &db, &da, 0.99, alpha_m, s),
        mean_metric(
            "billed_duration_mean",
            "ms",
            &billed(&b),
            &billed(&a),
            alpha_m,
            s,
        ),
        mean_metric("cost_per_invocation", "usd", &cb, &ca, alpha_m, s),
        rate_metric(
            "error_rate",
            count(&b, |x| x.failed),
            count(&a, |x| x.failed),
            alpha_m,
            s,
        ),
        rate_metric(
            "cold_start_rate",
            count(&b, |x| x.cold),
            count(&a, |x| x.cold),
            alpha_m,
            s,
        ),
        quantile_metric("init_p50", "ms", &ib, &ia, 0.50, alpha_m, s),
        quantile_metric("init_p95", "ms", &ib, &ia, 0.95, alpha_m, s),
        quantile_metric("max_memory_used_p95", "MB", &mb, &ma, 0.95, alpha_m, s),
    ];
    let monthly = |c: &[f64]| {
        (!c.is_empty()).then(|| c.iter().sum::<f64>() / c.len() as f64 * monthly_invocations)
    };
    Comparison {
        before_n: b.len(),
        after_n: a.len(),
        hours,
        confidence: 1.0 - s.alpha,
        metric_alpha: alpha_m,
        enough_data: b.len() >= s.min_samples && a.len() >= s.min_samples,
        monthly_cost_before: monthly(&cb),
        monthly_cost_after: monthly(&ca),
        metrics,
    }
}

#[cfg(test)]
mod tests;
