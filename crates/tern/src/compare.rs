//! `tern compare`: what a deploy or configuration change did.
//!
//! Reads one function's change points (kept by the store at ingest: [`tern_store::changes`],
//! plus operator markers), reads the invocations of the equal windows around the chosen change
//! and hands both sides to [`tern_core::impact::compare`]. The JSON has its own wire types
//! below; fields are only ever added.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use tern_core::cost;
use tern_core::impact::{self, Attribute, Change, Comparison, HourGuard, Sample, Settings};
use tern_core::model::{Arch, Outcome};
use tern_store::{InvocationQuery, Store, TimeRange};

use crate::cli::{CompareArgs, MarkArgs};
use crate::timeutil;

/// Newest invocations read for one function (as `tern recommend`).
pub const MAX_INVOCATIONS: usize = 200_000;
/// Longest window on each side of a change.
pub const MAX_WINDOW_MS: i64 = 7 * impact::DAY_MS;

/// How far ahead of this machine's clock a marker may be without --force: clocks differ.
const MARK_AHEAD_MS: i64 = 5 * 60_000;

pub fn mark(args: MarkArgs) -> Result<String> {
    let now = timeutil::now_ms();
    if args.list {
        let store = crate::ingest::open_existing(&args.db.backend()?)?;
        return Ok(marker_list(&store.markers(args.function.as_deref())?));
    }
    let (Some(function), Some(note)) = (&args.function, &args.note) else {
        bail!("a marker needs a function name and a note: tern mark FUNCTION \"deployed v42\"");
    };
    if function.trim().is_empty() || note.trim().is_empty() {
        bail!("a marker needs a function name and a note");
    }
    let at_ms = match &args.at {
        Some(s) => timeutil::parse_instant(s).with_context(|| format!("--at {s:?}"))?,
        None => now,
    };
    if at_ms > now + MARK_AHEAD_MS && !args.force {
        bail!(
            "--at {} is in the future (now is {}); a marker records a change that was made \
             (--force marks it anyway)",
            timeutil::rfc3339_ms(at_ms),
            timeutil::rfc3339_ms(now)
        );
    }
    let mut store = crate::ingest::open_existing(&args.db.backend()?)?;
    if !args.force {
        let known: Vec<String> = store.functions()?.into_iter().map(|m| m.function).collect();
        if !known.iter().any(|k| k == function) {
            bail!(
                "no stored function is called {:?}{} (--force marks it anyway, e.g. before its \
                 first logs arrive)",
                crate::text::printable(function),
                crate::text::did_you_mean(function, known.iter().map(String::as_str))
            );
        }
    }
    let m = store.add_marker(&tern_store::Marker {
        id: 0,
        function: function.clone(),
        at_ms,
        note: note.clone(),
        created_ms: now,
    })?;
    Ok(format!(
        "marked {} at {}: {} (change marker-{})\n",
        m.function,
        timeutil::rfc3339_ms(m.at_ms),
        m.note,
        m.id
    ))
}

/// The markers as a table, oldest first.
fn marker_list(markers: &[tern_store::Marker]) -> String {
    if markers.is_empty() {
        return "No markers. `tern mark FUNCTION NOTE` records one.\n".into();
    }
    let mut sorted: Vec<&tern_store::Marker> = markers.iter().collect();
    sorted.sort_by_key(|m| (m.at_ms, m.id));
    let rows: Vec<[String; 4]> = sorted
        .iter()
        .map(|m| {
            [
                format!("marker-{}", m.id),
                timeutil::rfc3339_ms(m.at_ms),
                crate::text::printable(&m.function).into_owned(),
                crate::text::printable(&m.note).into_owned(),
            ]
        })
        .collect();
    let w = |k: usize, head: &str| {
        rows.iter()
            .map(|r| r[k].len())
            .chain([head.len()])
            .max()
            .unwrap_or(0)
    };
    let (a, b, c) = (w(0, "CHANGE"), w(1, "AT"), w(2, "FUNCTION"));
    let mut out = format!("{:a$}  {:b$}  {:c$}  NOTE\n", "CHANGE", "AT", "FUNCTION");
    for r in &rows {
        out.push_str(&format!(
            "{:a$}  {:b$}  {:c$}  {}\n",
            r[0], r[1], r[2], r[3]
        ));
    }
    out
}

pub fn run(args: CompareArgs) -> Result<String> {
    if !(0.5..1.0).contains(&args.confidence) {
        bail!(
            "--confidence {} must be at least 0.5 and below 1",
            args.confidence
        );
    }
    let store = crate::ingest::open_store_read(&args.db.backend()?)?;
    let mut data = load(&store, &args.function)?;
    let json = args.format == crate::cli::RecommendFormat::Json;
    if args.list {
        let list: Vec<WireChange> = data.changes.iter().map(wire_change).collect();
        return if json {
            pretty(&list)
        } else {
            Ok(list_table(&args.function, &list))
        };
    }
    let settings = Settings {
        alpha: 1.0 - args.confidence,
        arch: data.arch,
        ..Settings::default()
    };
    let out = match (&args.before, &args.after, &args.change) {
        (Some(b), Some(a), _) => {
            let (b, a) = equalize(parse_range(b, "--before")?, parse_range(a, "--after")?)?;
            data.load_samples(&store, (b.0, a.1))?;
            compare_ranges(&data, b, a, &settings)
        }
        (_, _, Some(id)) => {
            let Some(change) = data.changes.iter().find(|c| &c.id == id) else {
                bail!(
                    "no change {id:?} for function {}: `tern compare {} --list` shows them",
                    args.function,
                    args.function
                );
            };
            let change = change.clone();
            if let Some(range) = windows_range(&data, &[&change]) {
                data.load_samples(&store, range)?;
            }
            compare_change(&data, &change, &settings)
        }
        _ => {
            let Some(change) = data.changes.last() else {
                bail!(
                    "no changes found for {}: compare time ranges with --before and --after",
                    args.function
                );
            };
            let change = change.clone();
            if let Some(range) = windows_range(&data, &[&change]) {
                data.load_samples(&store, range)?;
            }
            compare_change(&data, &change, &settings)
        }
    };
    if json {
        pretty(&out)
    } else {
        Ok(table(&out))
    }
}

fn pretty<T: Serialize>(v: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s)
}

/// `FROM..TO`.
fn parse_range(s: &str, flag: &str) -> Result<(i64, i64)> {
    let Some((f, t)) = s.split_once("..") else {
        bail!("{flag} {s:?}: expected FROM..TO");
    };
    let f = timeutil::parse_instant(f.trim()).with_context(|| format!("{flag} {s:?}"))?;
    let t = timeutil::parse_instant(t.trim()).with_context(|| format!("{flag} {s:?}"))?;
    if t <= f {
        bail!("{flag} {s:?}: the end must be after the start");
    }
    Ok((f, t))
}

/// Equal traffic windows: cut the longer range to the shorter's length, keeping the part
/// nearest the other range.
fn equalize(b: (i64, i64), a: (i64, i64)) -> Result<((i64, i64), (i64, i64))> {
    if a.0 < b.1 {
        bail!("--after must start at or after the end of --before");
    }
    let w = (b.1 - b.0).min(a.1 - a.0);
    Ok(((b.1 - w, b.1), (a.0, a.0 + w)))
}

/// One function's changes, and the invocations loaded to compare them.
pub struct FunctionData {
    pub function: String,
    /// Invocations of the loaded range (see [`FunctionData::load_samples`]), oldest first.
    pub samples: Vec<Sample>,
    pub changes: Vec<Change>,
    pub arch: Arch,
    pub region: String,
    /// The function's first complete invocation (raised to the oldest loaded one when a
    /// load was cut at [`MAX_INVOCATIONS`], so windows stay equal).
    pub first_ms: i64,
    /// Just after its last complete invocation.
    pub end_ms: i64,
}

/// A function's changes: those the store keeps at ingest (version, memory size, runtime
/// version, architecture, `LastModified`, rollbacks; [`tern_store::changes`]) and the
/// operators' markers, oldest first. No invocation is read: see [`FunctionData::load_samples`].
pub fn load(store: &dyn Store, function: &str) -> Result<FunctionData> {
    let meta = store
        .functions()?
        .into_iter()
        .find(|m| m.function == function);
    let Some(meta) = meta else {
        bail!("no function named {function:?} in the store");
    };
    let seen = store.values_seen(Some(function))?;
    // Every REPORT carries the memory size: its values span the complete invocations.
    let memory = seen
        .iter()
        .filter(|v| v.seen.attribute == Attribute::MemorySize);
    let first_ms = memory.clone().map(|v| v.seen.first_ms).min().unwrap_or(0);
    let end_ms = memory.map(|v| v.seen.last_ms + 1).max().unwrap_or(0);
    let mut changes: Vec<Change> = tern_store::changes(store, Some(function), i64::MIN)?
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    for m in store.markers(Some(function))? {
        changes.push(Change {
            id: format!("marker-{}", m.id),
            attribute: Attribute::Marker,
            at_ms: m.at_ms,
            from: None,
            to: None,
            note: Some(m.note),
            rollback: false,
        });
    }
    changes.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.attribute.cmp(&b.attribute)));
    Ok(FunctionData {
        function: function.to_string(),
        arch: meta.arch.unwrap_or(Arch::X86_64),
        region: meta
            .region
            .unwrap_or_else(|| cost::DEFAULT_REGION.to_string()),
        samples: Vec::new(),
        changes,
        first_ms,
        end_ms,
    })
}

/// The range the windows of `changes` cover: `[earliest before-window start, latest
/// after-window end)`.
pub fn windows_range(data: &FunctionData, changes: &[&Change]) -> Option<(i64, i64)> {
    changes
        .iter()
        .map(|c| impact::windows(c.at_ms, data.first_ms, data.end_ms, MAX_WINDOW_MS))
        .map(|(b, a)| (b.0, a.1))
        .reduce(|x, y| (x.0.min(y.0), x.1.max(y.1)))
}

impl FunctionData {
    /// Read the complete invocations of `[from, to)` (the newest [`MAX_INVOCATIONS`]), with
    /// each one's runtime version from its environment. When the limit cut the range, the
    /// data is taken to start at the oldest invocation read, so windows stay equal.
    pub fn load_samples(&mut self, store: &dyn Store, (from, to): (i64, i64)) -> Result<()> {
        let runtime: HashMap<String, String> = store
            .environments(&self.function)?
            .into_iter()
            .filter_map(|e| Some((e.log_stream, e.runtime_version?)))
            .collect();
        let rows = store.invocations(&InvocationQuery {
            functions: vec![self.function.clone()],
            range: TimeRange {
                from_ms: Some(from),
                to_ms: Some(to),
            },
            limit: MAX_INVOCATIONS,
            ..InvocationQuery::default()
        })?;
        let cut = rows.len() >= MAX_INVOCATIONS;
        let mut samples: Vec<Sample> = rows
            .into_iter()
            .filter(|r| r.complete)
            .filter_map(|r| {
                let duration_ms = r.duration_ms?;
                Some(Sample {
                    at_ms: r.end_ms.or(r.start_ms)?,
                    runtime_version: r
                        .runtime_version
                        .clone()
                        .or_else(|| runtime.get(&r.log_stream).cloned()),
                    version: r.version,
                    memory_mb: r.memory_size_mb,
                    duration_ms,
                    billed_ms: r.billed_duration_ms.unwrap_or(duration_ms),
                    cold: r.cold_start,
                    init_ms: r.init_duration_ms,
                    failed: r.outcome != Outcome::Success,
                    max_memory_mb: r.max_memory_used_mb,
                })
            })
            .collect();
        samples.sort_by_key(|s| s.at_ms);
        if cut {
            if let Some(oldest) = samples.first() {
                self.first_ms = self.first_ms.max(oldest.at_ms);
            }
        }
        self.samples = samples;
        Ok(())
    }
}

/// Invocations per month at the traffic of `window` (every invocation in it, whatever its
/// version).
fn monthly_traffic(data: &FunctionData, (f, t): (i64, i64)) -> f64 {
    let n = data
        .samples
        .iter()
        .filter(|s| s.at_ms >= f && s.at_ms < t)
        .count();
    cost::monthly(n as f64, (t - f).max(1))
}

/// The equal windows around `change` and the comparison of its sides (the samples of the
/// windows must be loaded).
pub fn comparison(
    data: &FunctionData,
    change: &Change,
    s: &Settings,
) -> ((i64, i64), (i64, i64), Comparison) {
    let (b, a) = impact::windows(change.at_ms, data.first_ms, data.end_ms, MAX_WINDOW_MS);
    let (sb, sa) = impact::sides(&data.samples, change, b, a);
    let c = impact::compare(&sb, &sa, monthly_traffic(data, a), &data.region, s);
    (b, a, c)
}

pub fn compare_change(data: &FunctionData, change: &Change, s: &Settings) -> WireCompare {
    let (b, a, c) = comparison(data, change, s);
    let others = data
        .changes
        .iter()
        .filter(|o| o.id != change.id && o.at_ms >= b.0 && o.at_ms < a.1)
        .map(|o| o.id.clone())
        .collect();
    wire(data, Some(change), b, a, &c, others)
}

pub fn compare_ranges(
    data: &FunctionData,
    b: (i64, i64),
    a: (i64, i64),
    s: &Settings,
) -> WireCompare {
    let within = |x: &Sample, (f, t): (i64, i64)| x.at_ms >= f && x.at_ms < t;
    let sb: Vec<&Sample> = data.samples.iter().filter(|x| within(x, b)).collect();
    let sa: Vec<&Sample> = data.samples.iter().filter(|x| within(x, a)).collect();
    let c = impact::compare(&sb, &sa, monthly_traffic(data, a), &data.region, s);
    let others = data
        .changes
        .iter()
        .filter(|o| o.at_ms >= b.0 && o.at_ms < a.1)
        .map(|o| o.id.clone())
        .collect();
    wire(data, None, b, a, &c, others)
}

/// Most changes whose impact a fleet-wide listing (`tern report`, `GET /api/v1/changes`)
/// computes; older ones are counted as omitted.
pub const MAX_FLEET_CHANGES: usize = 50;

/// A `LastModified` change within this of another change of the same function is that
/// change's configuration update, not a change of its own, in fleet-wide listings.
const SAME_UPDATE_MS: i64 = impact::HOUR_MS;

/// The newest changes of the fleet with their impact.
#[derive(Debug, Clone, Serialize)]
pub struct WireRecent {
    /// Newest first.
    pub changes: Vec<WireImpact>,
    /// Older changes in the range whose impact was not computed.
    pub omitted: usize,
}

/// One metric's verdict in a fleet-wide listing.
#[derive(Debug, Clone, Serialize)]
pub struct WireVerdict {
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// Relative change, (after - before) / before.
    pub change: Option<f64>,
    /// `better`, `worse`, `no significant change` or `not enough data`.
    pub verdict: &'static str,
}

/// A change and what it did to the three figures that matter most.
#[derive(Debug, Clone, Serialize)]
pub struct WireImpact {
    pub function: String,
    #[serde(flatten)]
    pub change: WireChange,
    pub enough_data: bool,
    pub before_invocations: usize,
    pub after_invocations: usize,
    pub confidence: f64,
    pub duration_p95: WireVerdict,
    pub error_rate: WireVerdict,
    pub cost_per_invocation: WireVerdict,
}

fn verdict_of(c: &WireCompare, name: &str) -> WireVerdict {
    match c.metrics.iter().find(|m| m.name == name) {
        Some(m) => WireVerdict {
            before: m.before,
            after: m.after,
            change: m.change,
            verdict: m.verdict,
        },
        None => WireVerdict {
            before: None,
            after: None,
            change: None,
            verdict: impact::Verdict::NotEnoughData.as_str(),
        },
    }
}

pub fn wire_impact(c: &WireCompare) -> Option<WireImpact> {
    Some(WireImpact {
        function: c.function.clone(),
        change: c.change.clone()?,
        enough_data: c.enough_data,
        before_invocations: c.before.invocations,
        after_invocations: c.after.invocations,
        confidence: c.confidence,
        duration_p95: verdict_of(c, "duration_p95"),
        error_rate: verdict_of(c, "error_rate"),
        cost_per_invocation: verdict_of(c, "cost_per_invocation"),
    })
}

/// The changes of `functions` (every function when `None`) in `range`, newest first (markers
/// included; a `LastModified` change next to another change of the function is left out: it
/// is that change's own update). At most `limit` are returned; the count of the rest is the
/// second value.
pub fn recent_changes(
    store: &dyn Store,
    functions: Option<&[String]>,
    range: TimeRange,
    limit: usize,
) -> Result<(Vec<(String, Change)>, usize)> {
    let since = range.from_ms.unwrap_or(i64::MIN);
    let wanted = |f: &str| functions.is_none_or(|l| l.iter().any(|x| x == f));
    let mut all: Vec<(String, Change)> = tern_store::changes(store, None, since)?
        .into_iter()
        .filter(|(f, c)| wanted(f) && range.contains(c.at_ms))
        .collect();
    for m in store.markers(None)? {
        if wanted(&m.function) && range.contains(m.at_ms) {
            all.push((
                m.function.clone(),
                Change {
                    id: format!("marker-{}", m.id),
                    attribute: Attribute::Marker,
                    at_ms: m.at_ms,
                    from: None,
                    to: None,
                    note: Some(m.note),
                    rollback: false,
                },
            ));
        }
    }
    let near = |f: &str, c: &Change| {
        all.iter().any(|(g, o)| {
            g == f
                && o.attribute != Attribute::Configuration
                && o.attribute != Attribute::Marker
                && (o.at_ms - c.at_ms).abs() <= SAME_UPDATE_MS
        })
    };
    let keep: Vec<bool> = all
        .iter()
        .map(|(f, c)| c.attribute != Attribute::Configuration || !near(f, c))
        .collect();
    let mut all: Vec<(String, Change)> = all
        .into_iter()
        .zip(keep)
        .filter_map(|(x, k)| k.then_some(x))
        .collect();
    all.sort_by(|(fa, a), (fb, b)| b.at_ms.cmp(&a.at_ms).then(fa.cmp(fb)));
    let omitted = all.len().saturating_sub(limit);
    all.truncate(limit);
    Ok((all, omitted))
}

/// [`recent_changes`], each compared (at 95% confidence), newest first.
pub fn recent_wire(
    store: &dyn Store,
    functions: Option<&[String]>,
    range: TimeRange,
    limit: usize,
) -> Result<WireRecent> {
    let (all, omitted) = recent_changes(store, functions, range, limit)?;
    let mut by_function: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for (f, c) in all {
        by_function.entry(f).or_default().push(c);
    }
    let mut out = Vec::new();
    for (function, changes) in by_function {
        let mut data = load(store, &function)?;
        let refs: Vec<&Change> = changes.iter().collect();
        if let Some(r) = windows_range(&data, &refs) {
            data.load_samples(store, r)?;
        }
        let settings = Settings {
            arch: data.arch,
            ..Settings::default()
        };
        for c in &changes {
            out.extend(wire_impact(&compare_change(&data, c, &settings)));
        }
    }
    out.sort_by(|a, b| {
        b.change
            .at_ms
            .cmp(&a.change.at_ms)
            .then_with(|| a.function.cmp(&b.function))
    });
    Ok(WireRecent {
        changes: out,
        omitted,
    })
}

/// One line per change: the report's "Recent changes" section.
pub fn recent_table(r: &WireRecent, shown: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:<28} {:<34} {:<23} {:<22} {:<22} COST/INVOCATION",
        "FUNCTION", "CHANGE", "AT (UTC)", "P95 DURATION", "ERROR RATE"
    );
    let cell = |v: &WireVerdict| match (v.verdict, v.change) {
        ("not enough data", _) => "not enough data".to_string(),
        (verdict, Some(c)) if c.is_finite() => format!("{verdict} ({:+.0}%)", 100.0 * c),
        (verdict, _) => verdict.to_string(),
    };
    for i in r.changes.iter().take(shown) {
        let c = &i.change;
        let what = match (&c.from, &c.to, &c.note) {
            _ if c.attribute == "configuration" => "configuration updated".to_string(),
            (Some(f), Some(t), _) => format!(
                "{} {f} → {t}{}",
                c.attribute,
                if c.rollback { " (rollback)" } else { "" }
            ),
            (_, _, Some(n)) => format!("marker: {n}"),
            _ => c.attribute.to_string(),
        };
        let _ = writeln!(
            out,
            "  {:<28} {:<34} {:<23} {:<22} {:<22} {}",
            crate::text::printable(&i.function),
            crate::text::printable(&what),
            timeutil::format_ms(c.at_ms),
            cell(&i.duration_p95),
            cell(&i.error_rate),
            cell(&i.cost_per_invocation),
        );
    }
    let hidden = r.changes.len().saturating_sub(shown) + r.omitted;
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  … and {hidden} older (see `tern compare FUNCTION --list`)"
        );
    }
    out
}

// --- Wire types (JSON contract: only add fields).

#[derive(Debug, Clone, Serialize)]
pub struct WireChange {
    pub id: String,
    /// `version`, `memory_size`, `runtime_version`, `architecture`, `configuration` or
    /// `marker`.
    pub attribute: &'static str,
    pub at: String,
    pub at_ms: i64,
    pub from: Option<String>,
    pub to: Option<String>,
    pub note: Option<String>,
    /// A return to an earlier value (v42 → v43 → v42): `to` is the earlier value.
    pub rollback: bool,
}

pub fn wire_change(c: &Change) -> WireChange {
    WireChange {
        id: c.id.clone(),
        attribute: c.attribute.as_str(),
        at: timeutil::rfc3339_ms(c.at_ms),
        at_ms: c.at_ms,
        from: c.from.clone(),
        to: c.to.clone(),
        note: c.note.clone(),
        rollback: c.rollback,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WireSide {
    pub from: String,
    pub to: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Invocations compared (after the like-hours restriction).
    pub invocations: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct WireMetric {
    pub name: &'static str,
    pub unit: &'static str,
    pub before: Option<f64>,
    pub after: Option<f64>,
    pub before_ci: Option<[f64; 2]>,
    pub after_ci: Option<[f64; 2]>,
    /// Relative change, (after - before) / before.
    pub change: Option<f64>,
    pub change_ci: Option<[f64; 2]>,
    pub p_value: Option<f64>,
    pub test: &'static str,
    /// `better`, `worse`, `no significant change` or `not enough data`.
    pub verdict: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct WireCompare {
    pub function: String,
    /// The change compared around; absent for explicit ranges.
    pub change: Option<WireChange>,
    /// `by_value`: the sides are the invocations under the old and the new value (a rollout
    /// that mixes versions is split by version); `by_time`: everything in each window.
    pub grouping: &'static str,
    pub before: WireSide,
    pub after: WireSide,
    pub equal_windows: bool,
    /// What the diurnal guard did, in words.
    pub hours_of_day: String,
    /// The hours of day (UTC) both sides were restricted to, when they were.
    pub hours: Option<Vec<u8>>,
    pub like_hours: bool,
    pub confidence: f64,
    pub per_metric_confidence: f64,
    pub multiple_comparisons: String,
    pub method: &'static str,
    pub enough_data: bool,
    pub min_samples: usize,
    pub min_effect: f64,
    /// Invocations per month at the after window's traffic.
    pub monthly_invocations: f64,
    pub monthly_cost_before_usd: Option<f64>,
    pub monthly_cost_after_usd: Option<f64>,
    pub metrics: Vec<WireMetric>,
    /// Other changes inside the windows (possible confounders).
    pub other_changes: Vec<String>,
}

const METHOD: &str = "duration, init and memory quantiles: exact distribution-free \
order-statistic confidence intervals per side (no bootstrap), a difference is significant when \
the intervals are disjoint; error and cold-start rates: two-proportion z test, Fisher's exact \
test below 5 expected; billed duration and cost per invocation: Welch's test on the means";

fn wire(
    data: &FunctionData,
    change: Option<&Change>,
    b: (i64, i64),
    a: (i64, i64),
    c: &Comparison,
    other_changes: Vec<String>,
) -> WireCompare {
    let side = |(f, t): (i64, i64), n: usize| WireSide {
        from: timeutil::rfc3339_ms(f),
        to: timeutil::rfc3339_ms(t),
        from_ms: f,
        to_ms: t,
        invocations: n,
    };
    let s = Settings::default();
    let pair = |p: Option<(f64, f64)>| p.map(|(x, y)| [x, y]);
    WireCompare {
        function: data.function.clone(),
        change: change.map(wire_change),
        grouping: if change.is_some_and(|c| c.attribute.grouped()) {
            "by_value"
        } else {
            "by_time"
        },
        before: side(b, c.before_n),
        after: side(a, c.after_n),
        equal_windows: b.1 - b.0 == a.1 - a.0,
        hours_of_day: c.hours.describe(),
        hours: match &c.hours {
            HourGuard::Restricted(h) => Some(h.clone()),
            _ => None,
        },
        like_hours: c.hours != HourGuard::CouldNot,
        confidence: c.confidence,
        per_metric_confidence: 1.0 - c.metric_alpha,
        multiple_comparisons: format!(
            "Bonferroni over {} metrics: each at {:.2}%",
            impact::METRICS,
            100.0 * (1.0 - c.metric_alpha)
        ),
        method: METHOD,
        enough_data: c.enough_data,
        min_samples: s.min_samples,
        min_effect: s.min_effect,
        monthly_invocations: monthly_traffic(data, a),
        monthly_cost_before_usd: c.monthly_cost_before,
        monthly_cost_after_usd: c.monthly_cost_after,
        metrics: c
            .metrics
            .iter()
            .map(|m| WireMetric {
                name: m.name,
                unit: m.unit,
                before: m.before,
                after: m.after,
                before_ci: pair(m.before_ci),
                after_ci: pair(m.after_ci),
                change: m.change.filter(|x| x.is_finite()),
                change_ci: pair(m.change_ci),
                p_value: m.p_value,
                test: m.test,
                verdict: m.verdict.as_str(),
            })
            .collect(),
        other_changes,
    }
}

fn list_table(function: &str, list: &[WireChange]) -> String {
    let mut out = String::new();
    if list.is_empty() {
        let _ = writeln!(out, "No changes found for {function}.");
        return out;
    }
    let _ = writeln!(out, "{:<34} {:<16} {:<24} CHANGE", "ID", "WHAT", "AT (UTC)");
    for c in list {
        let what = match (&c.from, &c.to, &c.note) {
            (Some(f), Some(t), _) if c.rollback => format!("{f} → {t} (rollback)"),
            (Some(f), Some(t), _) => format!("{f} → {t}"),
            (_, _, Some(n)) => n.clone(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<34} {:<16} {:<24} {what}",
            c.id,
            c.attribute,
            timeutil::format_ms(c.at_ms)
        );
    }
    out
}

fn num(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "-".into(),
        Some(x) if unit == "ratio" => format!("{:.2}%", 100.0 * x),
        Some(x) if unit == "usd" => format!("${x:.8}"),
        Some(x) => format!("{x:.1}"),
    }
}

pub fn table(c: &WireCompare) -> String {
    let mut out = String::new();
    match &c.change {
        Some(ch) => {
            let _ = writeln!(
                out,
                "{}: {} {} → {}{} at {} ({})",
                c.function,
                ch.attribute,
                ch.from.as_deref().unwrap_or("?"),
                ch.to.as_deref().or(ch.note.as_deref()).unwrap_or("?"),
                if ch.rollback { " (rollback)" } else { "" },
                timeutil::format_ms(ch.at_ms),
                ch.id
            );
        }
        None => {
            let _ = writeln!(out, "{}: two time ranges", c.function);
        }
    }
    let _ = writeln!(
        out,
        "before {} .. {} ({} invocations), after {} .. {} ({} invocations), {}",
        c.before.from,
        c.before.to,
        c.before.invocations,
        c.after.from,
        c.after.to,
        c.after.invocations,
        if c.grouping == "by_value" {
            "grouped by value"
        } else {
            "by time"
        }
    );
    let _ = writeln!(out, "hours of day: {}", c.hours_of_day);
    let _ = writeln!(
        out,
        "{:.0}% confidence ({})",
        100.0 * c.confidence,
        c.multiple_comparisons
    );
    if !c.other_changes.is_empty() {
        let _ = writeln!(
            out,
            "other changes in the windows: {}",
            c.other_changes.join(", ")
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<22} {:>14} {:>14} {:>9}  VERDICT",
        "METRIC", "BEFORE", "AFTER", "CHANGE"
    );
    for m in &c.metrics {
        let change = m
            .change
            .map_or("-".into(), |x| format!("{:+.1}%", 100.0 * x));
        let _ = writeln!(
            out,
            "{:<22} {:>14} {:>14} {:>9}  {}",
            m.name,
            num(m.before, m.unit),
            num(m.after, m.unit),
            change,
            m.verdict
        );
    }
    if let (Some(b), Some(a)) = (c.monthly_cost_before_usd, c.monthly_cost_after_usd) {
        let _ = writeln!(
            out,
            "\ncost per month at current traffic ({:.0} invocations): ${b:.2} before, ${a:.2} after",
            c.monthly_invocations
        );
    }
    if !c.enough_data {
        let _ = writeln!(
            out,
            "not enough data: each side needs at least {} invocations",
            c.min_samples
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranges_parse_and_equalize() {
        let b = parse_range("1000..5000", "--before").unwrap();
        let a = parse_range("6000..8000", "--after").unwrap();
        assert_eq!(equalize(b, a).unwrap(), ((3000, 5000), (6000, 8000)));
        assert!(parse_range("5000..1000", "--before").is_err());
        assert!(parse_range("5000", "--before").is_err());
        assert!(equalize(a, b).is_err());
    }
}
