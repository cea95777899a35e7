//! `tern simulate`: a realistic Lambda fleet written in the real CloudWatch formats, plus a
//! `truth.json` describing exactly what was generated.
//!
//! The demo, the benchmarks and the end-to-end tests all read this corpus. Output is
//! byte-for-byte deterministic for a seed: every random choice comes from a ChaCha8 stream
//! seeded from `SimOptions::seed` (one stream per function and purpose), iteration is over
//! `Vec`s and `BTreeMap`s only, and nothing reads the clock.
//!
//! Layout of `out_dir`:
//! - `<function>/<yyyy-mm-dd>.jsonl` (or `.subscription.json.gz`, `.filter-log-events.json`,
//!   see [`OutputFormat`]): one file per function per day, streams interleaved by time;
//! - `truth.json`: see [`truth`] for the schema and counting rules.
//!
//! Module map: [`fleet`] decides what functions exist, [`traffic`] when they are invoked,
//! [`engine`] runs execution environments and invocations, [`platform`] and [`runtime`]
//! format what Lambda and each language runtime print, [`output`] writes files.
//!
//! Sizing: by default each function averages [`spec::DEFAULT_INVOCATIONS_PER_FUNCTION_DAY`]
//! invocations a day, so `--functions 200 --days 7` ([`SimOptions::reference`]) gives the
//! benchmark corpus of about 525,000 invocations and 2.3 million events.

// Parts of the API (format names, the reference preset) are not wired into the CLI yet.

mod engine;
mod fleet;
mod json;
mod output;
mod platform;
mod problems;
mod runtime;
mod sample;
mod scenarios;
mod spec;
mod traffic;
pub mod truth;

#[cfg(test)]
mod tests;

use std::path::Path;

use anyhow::{bail, Context as _, Result};

/// 2026-11-01T00:00:00Z: the default window start (after the 2025-08-01 INIT billing change
/// and in the era of `Status: timeout` REPORTs).
pub const DEFAULT_START_MS: i64 = 1_793_491_200_000;

/// The ground truth written beside the logs. A dot file, so `tern ingest DIR` skips it.
pub const TRUTH_FILE: &str = ".truth.json";

/// How event files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line: `{"logGroupName","logStreamName","timestamp","message",
    /// "eventId","ingestionTime"}`.
    JsonLines,
    /// Concatenated gzip members, each one CloudWatch Logs subscription `DATA_MESSAGE` for
    /// one stream (as Firehose delivers them to S3), with a `CONTROL_MESSAGE` first.
    Subscription,
    /// `aws logs filter-log-events` output (the CLI's 4-space-indented JSON).
    FilterLogEvents,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::JsonLines => "jsonl",
            OutputFormat::Subscription => "subscription",
            OutputFormat::FilterLogEvents => "filter_log_events",
        }
    }

    /// Parse a CLI spelling: `jsonl`, `subscription`, `filter-log-events`.
    pub fn parse(s: &str) -> Option<OutputFormat> {
        match s {
            "jsonl" | "json-lines" | "jsonlines" => Some(OutputFormat::JsonLines),
            "subscription" | "cwl" => Some(OutputFormat::Subscription),
            "filter-log-events" | "filter_log_events" => Some(OutputFormat::FilterLogEvents),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Number of functions. The first 14 are hand-written scenarios that together show every
    /// log shape; more are drawn from the seed.
    pub functions: usize,
    /// Length of the window in days.
    pub days: u32,
    pub seed: u64,
    /// Window start, epoch ms (UTC). Keep it fixed for deterministic output.
    pub start_ms: i64,
    /// Average invocations per function per day (the fleet total is this × `functions`,
    /// spread unevenly: a few hot functions, a long tail). `None`: 375.
    pub invocations_per_day: Option<u64>,
    /// Output formats. The first is used for most functions; each further format takes every
    /// tenth function (the `j`-th listed format gets functions whose index ends in `j`).
    /// Empty means JSON lines only.
    pub formats: Vec<OutputFormat>,
    /// Append the change-impact functions (see `fleet::impact_functions`).
    pub impact: bool,
    /// Append one function per duration family outside the recommender's model (see
    /// `fleet::family_functions`).
    pub families: bool,
    /// Append this many functions whose memory and timeout problems straddle the insight
    /// rules' thresholds (see `problems::functions`).
    pub problems: usize,
}

impl Default for SimOptions {
    /// A demo-sized fleet: 40 functions over 7 days (about 105,000 invocations, 425,000
    /// events, 170 MB).
    fn default() -> SimOptions {
        SimOptions {
            functions: 40,
            days: 7,
            seed: 1,
            start_ms: DEFAULT_START_MS,
            invocations_per_day: None,
            formats: vec![OutputFormat::JsonLines],
            impact: false,
            families: false,
            problems: 0,
        }
    }
}

impl SimOptions {
    /// The benchmark reference corpus: 200 functions over 7 days. Seed 1 gives 525,787
    /// invocations, 2,312,712 events and 871 MB of JSON lines (each line carries ~255 bytes
    /// of group, stream, 56-digit event id and timestamps besides its message).
    pub fn reference() -> SimOptions {
        SimOptions {
            functions: 200,
            ..SimOptions::default()
        }
    }
}

/// What `simulate` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimSummary {
    /// Event files written (`truth.json` not included).
    pub files: u64,
    pub events: u64,
    pub invocations: u64,
    /// Bytes of event files on disk (compressed size for subscription files).
    pub bytes: u64,
}

/// Generate the fleet described by `opts` into `out_dir` (created if missing; it must be
/// empty so that `truth.json` describes every file in it).
pub fn simulate(opts: &SimOptions, out_dir: &Path) -> Result<SimSummary> {
    if opts.functions == 0 {
        bail!("--functions must be at least 1");
    }
    if opts.functions > 65_535 {
        bail!("--functions must be at most 65535");
    }
    if opts.problems > 10_000 {
        bail!("--problems must be at most 10000");
    }
    if opts.days == 0 || opts.days > 366 {
        bail!("--days must be between 1 and 366");
    }
    prepare_dir(out_dir)?;

    let mut fleet = fleet::build(opts);
    let first = fleet.len();
    fleet.extend(problems::functions(
        first,
        opts.problems,
        opts.seed,
        opts.start_ms,
    ));
    let account = format!(
        "{:012}",
        sample::splitmix64(opts.seed ^ 0xACC0) % 900_000_000_000 + 100_000_000_000
    );
    let window = i64::from(opts.days) * tern_core::time::MS_PER_DAY;
    let runtime_patch_ms = opts.start_ms + window * 11 / 20;
    let ctx = engine::FleetCtx {
        opts,
        account: &account,
        runtime_patch_ms,
    };
    let mut writer = output::Writer::new(out_dir, &account, opts.seed, fleet.len());
    let mut functions = Vec::with_capacity(fleet.len());
    for spec in &fleet {
        functions.push(engine::run(spec, &ctx, &mut writer)?);
    }

    let mut outcomes = truth::Outcomes::default();
    let mut mb_ms: u128 = 0;
    for f in &functions {
        outcomes.add(&f.outcomes);
        for m in &f.by_memory {
            mb_ms += u128::from(m.billed_ms) * u128::from(m.memory_mb);
        }
    }
    let invocations = outcomes.total();
    let totals = truth::Totals {
        functions: functions.len() as u64,
        invocations,
        errors: invocations - outcomes.success,
        outcomes,
        cold_starts: functions.iter().map(|f| f.cold_starts).sum(),
        events: writer.events,
        files: writer.files,
        bytes: writer.bytes,
        billed_ms: functions.iter().map(|f| f.billed_ms).sum(),
        gb_seconds: mb_ms as f64 / 1024.0 / 1000.0,
    };
    let truth = truth::Truth {
        generator: "tern simulate",
        seed: opts.seed,
        start_ms: opts.start_ms,
        end_ms: opts.start_ms + window,
        days: opts.days,
        account_id: account.clone(),
        region: spec::REGION,
        runtime_patch_ms,
        totals,
        functions,
    };
    let path = out_dir.join(TRUTH_FILE);
    let mut json = serde_json::to_vec_pretty(&truth).context("serializing the truth file")?;
    json.push(b'\n');
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;

    Ok(SimSummary {
        files: writer.files,
        events: writer.events,
        invocations,
        bytes: writer.bytes,
    })
}

fn prepare_dir(out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut entries =
        std::fs::read_dir(out_dir).with_context(|| format!("reading {}", out_dir.display()))?;
    if entries.next().is_some() {
        bail!(
            "{} is not empty: simulate writes a truth file (.truth.json) that must describe every file in the directory",
            out_dir.display()
        );
    }
    Ok(())
}
