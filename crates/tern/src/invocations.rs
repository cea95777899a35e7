//! `tern invocations`: list invocations, or show one with its log lines.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use serde::Serialize;
use tern_core::model::Outcome;
use tern_store::{InvocationQuery, InvocationRow, Store};

use crate::cli::{Format, InvocationsArgs, OutcomeArg};
use crate::report::ms;
use crate::text::printable;
use crate::timeutil::{self, format_ms, rfc3339_ms};

fn outcome(o: OutcomeArg) -> Outcome {
    match o {
        OutcomeArg::Success => Outcome::Success,
        OutcomeArg::Error => Outcome::Error,
        OutcomeArg::Timeout => Outcome::Timeout,
        OutcomeArg::OutOfMemory => Outcome::OutOfMemory,
        OutcomeArg::Crash => Outcome::Crash,
        OutcomeArg::InitError => Outcome::InitError,
    }
}

#[derive(Serialize)]
struct JsonError<'a> {
    error_type: &'a str,
    message: &'a str,
    stack: &'a [String],
}

/// The JSON shape of one invocation (`tern invocations --format json`, and the API).
#[derive(Serialize)]
pub(crate) struct JsonInvocation<'a> {
    function: &'a str,
    request_id: &'a str,
    log_group: &'a str,
    log_stream: &'a str,
    start: Option<String>,
    end: Option<String>,
    version: Option<&'a str>,
    outcome: &'static str,
    complete: bool,
    cold_start: bool,
    duration_ms: Option<f64>,
    billed_duration_ms: Option<f64>,
    memory_size_mb: Option<u32>,
    max_memory_used_mb: Option<u32>,
    init_duration_ms: Option<f64>,
    status: Option<&'a str>,
    error_type: Option<&'a str>,
    error: Option<JsonError<'a>>,
    xray_trace_id: Option<&'a str>,
    runtime_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logs: Option<Vec<JsonLine<'a>>>,
}

#[derive(Serialize)]
pub(crate) struct JsonLine<'a> {
    pub(crate) timestamp: String,
    pub(crate) message: &'a str,
}

pub(crate) fn json_row<'a>(
    r: &'a InvocationRow,
    logs: Option<Vec<JsonLine<'a>>>,
) -> JsonInvocation<'a> {
    JsonInvocation {
        function: &r.function,
        request_id: &r.request_id,
        log_group: &r.log_group,
        log_stream: &r.log_stream,
        start: r.start_ms.map(rfc3339_ms),
        end: r.end_ms.map(rfc3339_ms),
        version: r.version.as_deref(),
        outcome: r.outcome.as_str(),
        complete: r.complete,
        cold_start: r.cold_start,
        duration_ms: r.duration_ms,
        billed_duration_ms: r.billed_duration_ms,
        memory_size_mb: r.memory_size_mb,
        max_memory_used_mb: r.max_memory_used_mb,
        init_duration_ms: r.init_duration_ms,
        status: r.status.as_deref(),
        error_type: r.error_type.as_deref(),
        error: r.error.as_ref().map(|e| JsonError {
            error_type: &e.error_type,
            message: &e.message,
            stack: &e.stack,
        }),
        xray_trace_id: r.xray_trace_id.as_deref(),
        runtime_version: r.runtime_version.as_deref(),
        logs,
    }
}

/// `tern invocations`.
pub fn run(args: InvocationsArgs) -> Result<String> {
    let store = crate::ingest::open_store_read(&args.db.backend()?)?;
    let range = args.range.resolve(timeutil::now_ms())?;
    let functions =
        crate::views::selection::matching(&store, args.function.as_deref())?.unwrap_or_default();
    if args.limit == 0 {
        bail!("--limit must be at least 1");
    }
    let q = InvocationQuery {
        functions,
        outcome: args.outcome.map(outcome),
        cold: args.cold.then_some(true),
        request_id: args.request_id.clone(),
        range,
        // One more than shown, to tell a cut list from a whole one.
        limit: args.limit.saturating_add(1),
    };
    if args.request_id.is_none() {
        if let Some(note) =
            crate::views::selection::empty_range_note(&store, range, timeutil::now_ms())?
        {
            eprintln!("note: {note}");
        }
    }
    let mut rows = store.invocations(&q)?;
    let cut = rows.len() > args.limit;
    rows.truncate(args.limit);
    if let Some(rid) = &args.request_id {
        if rows.is_empty() {
            let filtered = args.function.is_some()
                || args.outcome.is_some()
                || args.cold
                || args.range.since.is_some()
                || args.range.from.is_some()
                || args.range.to.is_some();
            if filtered {
                bail!("no stored invocation with request id {rid:?} matches the filters given");
            }
            bail!("no stored invocation has request id {rid:?}");
        }
        // One request id can name several invocations: a retry in another environment, or
        // two functions. Show them all.
        let mut shown = Vec::with_capacity(rows.len());
        for row in &rows {
            let lines = store.invocation_logs(&row.log_group, &row.log_stream, &row.request_id)?;
            shown.push((row, lines));
        }
        return match args.format {
            Format::Json => {
                let v: Vec<_> = shown
                    .iter()
                    .map(|(row, lines)| {
                        let logs = lines
                            .iter()
                            .map(|l| JsonLine {
                                timestamp: rfc3339_ms(l.timestamp_ms),
                                message: &l.message,
                            })
                            .collect();
                        json_row(row, Some(logs))
                    })
                    .collect();
                Ok(serde_json::to_string_pretty(&v)? + "\n")
            }
            _ => {
                let mut out = String::new();
                if shown.len() > 1 {
                    let _ = writeln!(
                        out,
                        "{} invocations have request id {} (a retry, or several functions):\n",
                        shown.len(),
                        printable(rid)
                    );
                }
                for (i, (row, lines)) in shown.iter().enumerate() {
                    if i > 0 {
                        out.push_str("\n────────\n\n");
                    }
                    out.push_str(&show(row, lines));
                }
                Ok(out)
            }
        };
    }
    match args.format {
        Format::Json => {
            let v: Vec<_> = rows.iter().map(|r| json_row(r, None)).collect();
            Ok(serde_json::to_string_pretty(&v)? + "\n")
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "time",
                "function",
                "request_id",
                "outcome",
                "cold_start",
                "duration_ms",
                "billed_duration_ms",
                "memory_size_mb",
                "max_memory_used_mb",
                "log_stream",
            ])?;
            for r in &rows {
                w.write_record([
                    r.end_ms.or(r.start_ms).map(rfc3339_ms).unwrap_or_default(),
                    r.function.clone(),
                    r.request_id.clone(),
                    r.outcome.as_str().to_string(),
                    r.cold_start.to_string(),
                    r.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                    r.billed_duration_ms
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    r.memory_size_mb.map(|d| d.to_string()).unwrap_or_default(),
                    r.max_memory_used_mb
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    r.log_stream.clone(),
                ])?;
            }
            let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        }
        Format::Table => {
            let mut out = table(&rows);
            if cut {
                let _ = writeln!(
                    out,
                    "… more invocations match than the {} shown (--limit N shows more, or narrow \
                     with --function, --outcome or a range)",
                    args.limit
                );
            }
            Ok(out)
        }
    }
}

fn table(rows: &[InvocationRow]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No invocations match.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<23}  {:<28}  {:<36}  {:<13}  {:>4}  {:>9}  {:>11}",
        "TIME (UTC)", "FUNCTION", "REQUEST ID", "OUTCOME", "COLD", "DURATION", "MEMORY"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<23}  {:<28}  {:<36}  {:<13}  {:>4}  {:>9}  {:>11}",
            r.end_ms.or(r.start_ms).map(format_ms).unwrap_or_default(),
            printable(&r.function),
            printable(&r.request_id),
            if r.complete {
                r.outcome.as_str()
            } else {
                "(incomplete)"
            },
            if r.cold_start { "yes" } else { "" },
            r.duration_ms.map(ms).unwrap_or_else(|| "-".into()),
            match (r.max_memory_used_mb, r.memory_size_mb) {
                (Some(u), Some(s)) => format!("{u}/{s} MB"),
                _ => "-".into(),
            }
        );
    }
    out
}

fn show(r: &InvocationRow, lines: &[tern_core::model::LogLine]) -> String {
    let mut out = String::new();
    let mut field = |k: &str, v: String| {
        let _ = writeln!(out, "{k:>18}: {}", printable(&v));
    };
    field("function", r.function.clone());
    field("request id", r.request_id.clone());
    field(
        "outcome",
        if r.complete {
            r.outcome.as_str().to_string()
        } else {
            format!("{} (no REPORT stored yet)", r.outcome.as_str())
        },
    );
    if let Some(t) = r.start_ms {
        field("start", format_ms(t));
    }
    if let Some(d) = r.duration_ms {
        field("duration", ms(d));
    }
    if let Some(b) = r.billed_duration_ms {
        field("billed duration", ms(b));
    }
    if let (Some(u), Some(s)) = (r.max_memory_used_mb, r.memory_size_mb) {
        field("memory", format!("{u} MB used of {s} MB"));
    }
    field(
        "cold start",
        match (r.cold_start, r.init_duration_ms) {
            (true, Some(i)) => format!("yes (init {})", ms(i)),
            (true, None) => "yes".into(),
            (false, _) => "no".into(),
        },
    );
    field("environment", r.log_stream.clone());
    if let Some(v) = &r.version {
        field("version", v.clone());
    }
    if let Some(v) = &r.runtime_version {
        field("runtime version", v.clone());
    }
    if let Some(x) = &r.xray_trace_id {
        field("x-ray trace id", x.clone());
    }
    if let Some(t) = &r.error_type {
        field("platform error", t.clone());
    }
    if let Some(e) = &r.error {
        field("error", format!("{}: {}", e.error_type, e.message));
    }
    out.push_str("\nLog\n");
    for l in lines {
        let msg = l.message.trim_end_matches(['\n', '\r']);
        let mut first = true;
        for part in msg.split('\n') {
            let part = printable(part);
            if first {
                let _ = writeln!(out, "  {}  {}", format_ms(l.timestamp_ms), part);
                first = false;
            } else {
                let _ = writeln!(out, "  {:23}  {}", "", part);
            }
        }
    }
    out
}
