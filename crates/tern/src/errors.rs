//! `tern errors`: list error groups, show one (stack, timeline, samples with logs), and set
//! their lifecycle (resolve, mute, open).
//!
//! The JSON is a script contract like `tern report`'s: its own wire types, fields only added.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tern_store::{ErrorGroup, ErrorQuery, ErrorStatus, InvocationRow, Store, StoreBackend};

use crate::cli::{
    ErrorMuteArgs, ErrorShowArgs, ErrorSort, ErrorStatusArg, ErrorsAction, ErrorsArgs, TableOrJson,
};
use crate::report::group;
use crate::text::printable;
use crate::timeutil::{self, format_ms, rfc3339_ms};

const HOUR_MS: i64 = 3_600_000;
/// Most characters in a timeline sparkline.
const TIMELINE_WIDTH: i64 = 60;

pub fn run(args: ErrorsArgs) -> Result<String> {
    if let Some(action) = &args.action {
        let listing = [
            ("--function", args.function.is_some()),
            ("--status", args.status.is_some()),
            ("--since", args.range.since.is_some()),
            ("--from", args.range.from.is_some()),
            ("--to", args.range.to.is_some()),
            ("--sort", args.sort.is_some()),
            ("--limit", args.limit.is_some()),
            ("--format", args.format.is_some()),
        ];
        if let Some((flag, _)) = listing.iter().find(|f| f.1) {
            let name = match action {
                ErrorsAction::Show(_) => "show",
                ErrorsAction::Resolve(_) => "resolve",
                ErrorsAction::Mute(_) => "mute",
                ErrorsAction::Open(_) => "open",
            };
            bail!(
                "{flag} filters the list of groups; it does not apply to `tern errors {name}` \
                 (options of `{name}` go after it: `tern errors {name} --help`)"
            );
        }
    }
    let db = crate::config::store_backend(args.db.as_deref(), args.config.as_deref())?;
    match args.action {
        None => list(&args, &db),
        Some(ErrorsAction::Show(a)) => show(&db, &a),
        Some(ErrorsAction::Resolve(a)) => set(&db, &a.id, ErrorStatus::Resolved, None),
        Some(ErrorsAction::Open(a)) => set(&db, &a.id, ErrorStatus::Open, None),
        Some(ErrorsAction::Mute(a)) => mute(&db, &a),
    }
}

fn status(s: ErrorStatusArg) -> ErrorStatus {
    match s {
        ErrorStatusArg::Open => ErrorStatus::Open,
        ErrorStatusArg::Resolved => ErrorStatus::Resolved,
        ErrorStatusArg::Muted => ErrorStatus::Muted,
    }
}

/// A group id as typed: 16 hex digits, any case.
pub fn check_id(id: &str) -> Result<String> {
    if tern_core::fingerprint::parse_id(id.trim()).is_none() {
        bail!("{id:?} is not an error group id (16 hex digits, as `tern errors` lists them)");
    }
    Ok(id.trim().to_ascii_lowercase())
}

fn not_found(id: &str) -> anyhow::Error {
    anyhow::anyhow!("no error group {id} in this database (`tern errors` lists them)")
}

#[derive(Serialize)]
struct JsonGroup<'a> {
    id: &'a str,
    function: &'a str,
    title: &'a str,
    error_type: Option<&'a str>,
    message: Option<&'a str>,
    culprit: Option<&'a str>,
    /// What the fingerprint was built from: stack, type_message, message, outcome.
    basis: &'a str,
    outcome: &'static str,
    grouping_version: u32,
    count: u64,
    count_in_range: u64,
    first_seen: String,
    last_seen: String,
    status: &'static str,
    status_changed: Option<String>,
    muted_until: Option<String>,
    resolved_at: Option<String>,
    regressions: u64,
    regressed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frames: Option<&'a [String]>,
}

fn json_group(g: &ErrorGroup, detail: bool) -> JsonGroup<'_> {
    JsonGroup {
        id: &g.id,
        function: &g.function,
        title: &g.title,
        error_type: g.error_type.as_deref(),
        message: g.message.as_deref(),
        culprit: g.culprit.as_deref(),
        basis: &g.basis,
        outcome: g.outcome.as_str(),
        grouping_version: g.version,
        count: g.count,
        count_in_range: g.count_in_range,
        first_seen: rfc3339_ms(g.first_ms),
        last_seen: rfc3339_ms(g.last_ms),
        status: g.status.as_str(),
        status_changed: g.status_ms.map(rfc3339_ms),
        muted_until: g.muted_until_ms.map(rfc3339_ms),
        resolved_at: g.resolved_ms.map(rfc3339_ms),
        regressions: g.regressions,
        regressed_at: g.regressed_ms.map(rfc3339_ms),
        frames: detail.then_some(g.frames.as_slice()),
    }
}

/// `tern errors`.
fn list(args: &ErrorsArgs, db: &StoreBackend) -> Result<String> {
    let store = crate::ingest::open_store_read(db)?;
    let now = timeutil::now_ms();
    let range = args.range.resolve(now)?;
    let limit = args.limit.unwrap_or(50);
    if limit == 0 {
        bail!("--limit must be at least 1");
    }
    let sort = args.sort.unwrap_or(ErrorSort::Last);
    let functions =
        crate::views::selection::matching(&store, args.function.as_deref())?.unwrap_or_default();
    let mut q = ErrorQuery {
        functions,
        status: args.status.map(status),
        range,
        since_seq: None,
        now_ms: Some(now),
        limit,
    };
    // Every matching group, so that a cut list can say how much it left out (sorting by
    // count needs them all anyway). Groups are few next to invocations.
    q.limit = usize::MAX;
    if let Some(note) = crate::views::selection::empty_range_note(&store, range, now)? {
        eprintln!("note: {note}");
    }
    let mut groups = store.error_groups(&q)?;
    if sort == ErrorSort::Count {
        groups.sort_by(|a, b| {
            b.count_in_range
                .cmp(&a.count_in_range)
                .then(b.last_ms.cmp(&a.last_ms))
        });
    }
    let more = groups.len().saturating_sub(limit);
    groups.truncate(limit);
    match args.format.unwrap_or(TableOrJson::Table) {
        TableOrJson::Json => groups_json(&groups),
        TableOrJson::Table => {
            let mut out = table(&groups);
            if more > 0 {
                let _ = writeln!(
                    out,
                    "… {} more (--limit {} shows them all)",
                    crate::text::counted(more as u64, "group", "groups"),
                    limit + more
                );
            }
            Ok(out)
        }
    }
}

fn status_text(g: &ErrorGroup) -> String {
    match (g.status, g.muted_until_ms) {
        (ErrorStatus::Muted, Some(u)) => format!("muted until {}", format_ms(u)),
        (s, _) if g.regressions > 0 && s == ErrorStatus::Open => "open (regressed)".into(),
        (s, _) => s.as_str().into(),
    }
}

fn table(groups: &[ErrorGroup]) -> String {
    let mut out = String::new();
    if groups.is_empty() {
        out.push_str("No error groups match.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<16}  {:<24}  {:>7}  {:<19}  {:<19}  {:<10}  TITLE",
        "ID", "FUNCTION", "COUNT", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "STATUS"
    );
    for g in groups {
        let mut first = format_ms(g.first_ms);
        first.truncate(19);
        let mut last = format_ms(g.last_ms);
        last.truncate(19);
        let status = match g.status {
            ErrorStatus::Open if g.regressions > 0 => format!("open ↺{}", g.regressions),
            s => s.as_str().to_string(),
        };
        let _ = writeln!(
            out,
            "{:<16}  {:<24}  {:>7}  {:<19}  {:<19}  {:<10}  {}",
            g.id,
            printable(&g.function),
            group(g.count_in_range),
            first,
            last,
            status,
            printable(&g.title)
        );
    }
    out
}

#[derive(Serialize)]
struct JsonBucket {
    start: String,
    count: u64,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    timestamp: String,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonSample<'a> {
    function: &'a str,
    request_id: &'a str,
    log_group: &'a str,
    log_stream: &'a str,
    time: Option<String>,
    outcome: &'static str,
    duration_ms: Option<f64>,
    logs: Vec<JsonLine<'a>>,
}

#[derive(Serialize)]
struct JsonShow<'a> {
    #[serde(flatten)]
    group: JsonGroup<'a>,
    timeline_bucket_ms: i64,
    timeline: Vec<JsonBucket>,
    samples: Vec<JsonSample<'a>>,
}

/// The group's life in at most `TIMELINE_WIDTH` buckets of whole hours.
fn timeline(store: &dyn Store, g: &ErrorGroup) -> Result<(i64, Vec<(i64, u64)>)> {
    let from = g.first_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let to = (g.last_ms.div_euclid(HOUR_MS) + 1) * HOUR_MS;
    let hours = (to - from) / HOUR_MS;
    let per = (hours + TIMELINE_WIDTH - 1) / TIMELINE_WIDTH;
    let bucket = per.max(1) * HOUR_MS;
    let range = tern_store::TimeRange {
        from_ms: Some(from),
        to_ms: Some(to),
    };
    Ok((bucket, store.error_series(&g.id, range, bucket)?))
}

fn sparkline(series: &[(i64, u64)]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = series.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    series
        .iter()
        .map(|&(_, n)| {
            if n == 0 {
                ' '
            } else {
                let i = (n * 8).div_ceil(max).clamp(1, 8) - 1;
                let i = usize::try_from(i).unwrap_or(7);
                BARS[i]
            }
        })
        .collect()
}

/// One group as `tern errors --format json` lists it.
pub fn group_json(g: &ErrorGroup) -> Result<String> {
    Ok(serde_json::to_string_pretty(&json_group(g, false))? + "\n")
}

/// The JSON of `tern errors --format json` (and `GET /api/v1/errors`).
pub fn groups_json(groups: &[ErrorGroup]) -> Result<String> {
    let v: Vec<_> = groups.iter().map(|g| json_group(g, false)).collect();
    Ok(serde_json::to_string_pretty(&v)? + "\n")
}

/// The JSON of `tern errors show --format json` (and `GET /api/v1/errors/{id}`): the group,
/// its timeline, and up to `samples` sample invocations with their logs.
pub fn show_json(store: &dyn Store, g: &ErrorGroup, samples: usize) -> Result<String> {
    let (bucket, series) = timeline(store, g)?;
    let samples: Vec<InvocationRow> = if samples == 0 {
        Vec::new()
    } else {
        store.error_samples(&g.id, samples)?
    };
    let mut logs = Vec::with_capacity(samples.len());
    for s in &samples {
        logs.push(store.invocation_logs(&s.log_group, &s.log_stream, &s.request_id)?);
    }
    let v = JsonShow {
        group: json_group(g, true),
        timeline_bucket_ms: bucket,
        timeline: series
            .iter()
            .map(|&(start, count)| JsonBucket {
                start: rfc3339_ms(start),
                count,
            })
            .collect(),
        samples: samples
            .iter()
            .zip(&logs)
            .map(|(s, lines)| JsonSample {
                function: &s.function,
                request_id: &s.request_id,
                log_group: &s.log_group,
                log_stream: &s.log_stream,
                time: s.end_ms.or(s.start_ms).map(rfc3339_ms),
                outcome: s.outcome.as_str(),
                duration_ms: s.duration_ms,
                logs: lines
                    .iter()
                    .map(|l| JsonLine {
                        timestamp: rfc3339_ms(l.timestamp_ms),
                        message: &l.message,
                    })
                    .collect(),
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&v)? + "\n")
}

/// `tern errors show ID`.
fn show(db: &StoreBackend, args: &ErrorShowArgs) -> Result<String> {
    let id = check_id(&args.id)?;
    let store = crate::ingest::open_store_read(db)?;
    let now = timeutil::now_ms();
    let g = store
        .error_group(&id, Some(now))?
        .ok_or_else(|| not_found(&id))?;
    let (bucket, series) = timeline(&store, &g)?;
    let samples: Vec<InvocationRow> = if args.samples == 0 {
        Vec::new()
    } else {
        store.error_samples(&id, args.samples)?
    };
    let mut logs = Vec::with_capacity(samples.len());
    for s in &samples {
        logs.push(store.invocation_logs(&s.log_group, &s.log_stream, &s.request_id)?);
    }
    match args.format {
        TableOrJson::Json => show_json(&store, &g, args.samples),
        TableOrJson::Table => {
            let mut out = String::new();
            let mut field = |k: &str, v: &str| {
                let _ = writeln!(out, "{k:>13}: {}", printable(v));
            };
            field("error group", &g.id);
            field("title", &g.title);
            field("function", &g.function);
            if let Some(t) = &g.error_type {
                field("type", t);
            }
            if let Some(m) = &g.message {
                field("message", m.lines().next().unwrap_or(""));
            }
            if let Some(c) = &g.culprit {
                field("culprit", c);
            }
            field("outcome", g.outcome.as_str());
            field("status", &status_text(&g));
            if g.regressions > 0 {
                let at = g.regressed_ms.map(format_ms).unwrap_or_default();
                field("regressions", &format!("{} (latest {at})", g.regressions));
            }
            field(
                "seen",
                &format!(
                    "{} times, first {}, last {}",
                    group(g.count),
                    format_ms(g.first_ms),
                    format_ms(g.last_ms)
                ),
            );
            if !g.frames.is_empty() {
                out.push_str("\nStack (in-app frames)\n");
                for f in &g.frames {
                    let _ = writeln!(out, "  {}", printable(f));
                }
            }
            let total: u64 = series.iter().map(|b| b.1).sum();
            let _ = writeln!(
                out,
                "\nTimeline ({} per character, {} to {}, {} occurrences stored by hour)",
                if bucket == HOUR_MS {
                    "1 hour".to_string()
                } else {
                    format!("{} hours", bucket / HOUR_MS)
                },
                series.first().map(|b| format_ms(b.0)).unwrap_or_default(),
                series
                    .last()
                    .map(|b| format_ms(b.0 + bucket))
                    .unwrap_or_default(),
                group(total)
            );
            let _ = writeln!(out, "  |{}|", sparkline(&series));
            if samples.is_empty() {
                out.push_str(
                    "\nNo sample invocations stored (raw retention may have deleted them).\n",
                );
            }
            for (s, lines) in samples.iter().zip(&logs) {
                let _ = writeln!(
                    out,
                    "\nSample {}  {}  {}",
                    printable(&s.request_id),
                    s.end_ms.or(s.start_ms).map(format_ms).unwrap_or_default(),
                    printable(&s.log_stream)
                );
                for l in lines {
                    let msg = l.message.trim_end_matches(['\n', '\r']);
                    for (i, part) in msg.split('\n').enumerate() {
                        let when = if i == 0 {
                            format_ms(l.timestamp_ms)
                        } else {
                            String::new()
                        };
                        let _ = writeln!(out, "  {when:23}  {}", printable(part));
                    }
                }
            }
            Ok(out)
        }
    }
}

/// Open an existing database for a lifecycle change (never creates one).
fn open_existing(db: &StoreBackend) -> Result<Box<dyn Store>> {
    crate::ingest::open_existing(db)
}

fn set(db: &StoreBackend, id: &str, to: ErrorStatus, until: Option<i64>) -> Result<String> {
    let id = check_id(id)?;
    let mut store = open_existing(db)?;
    let now = timeutil::now_ms();
    if !store.set_error_status(&id, to, until, now)? {
        return Err(not_found(&id));
    }
    let g = store
        .error_group(&id, Some(now))?
        .ok_or_else(|| not_found(&id))?;
    Ok(format!(
        "{} {}: {}\n",
        g.id,
        status_text(&g),
        printable(&g.title)
    ))
}

fn mute(db: &StoreBackend, args: &ErrorMuteArgs) -> Result<String> {
    let until = args
        .duration
        .as_deref()
        .map(|d| {
            crate::timeutil::parse_duration(d)
                .with_context(|| format!("--for {d:?}"))
                .and_then(|d| {
                    i64::try_from(d.as_millis())
                        .ok()
                        .filter(|&ms| ms > 0)
                        .context("--for must be a positive duration")
                })
                .map(|ms| timeutil::now_ms().saturating_add(ms))
        })
        .transpose()?;
    set(db, &args.id, ErrorStatus::Muted, until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_to_the_busiest_bucket() {
        let s: Vec<(i64, u64)> = [0, 1, 2, 8, 4].iter().map(|&n| (0, n)).collect();
        assert_eq!(sparkline(&s), " ▁▂█▄");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn ids_are_sixteen_hex_digits() {
        assert_eq!(
            check_id(" 00FF00ff00ff00ff ").ok().as_deref(),
            Some("00ff00ff00ff00ff")
        );
        for bad in ["", "00ff", "00ff00ff00ff00fg", "00ff00ff00ff00ff0"] {
            let e = check_id(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("not an error group id"), "{bad}: {e}");
        }
        // Control characters in a bad id are escaped in the message.
        let e = check_id("\u{1b}[2J")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("\\u{1b}[2J") && !e.contains('\u{1b}'), "{e}");
    }
}
