//! `tern ingest`: the pipeline from input files to the store.
//!
//! Two threads, one per core: the reader decodes, parses and assembles; the writer stores.
//! Batches are bounded in events ([`BATCH_EVENTS`]), bytes ([`BATCH_BYTES`]) and invocations
//! ([`BATCH_PARTS`]), and are handed over one at a time, so memory stays bounded however
//! large the input: at most four batches exist at once (being assembled, waiting for the
//! writer, being written, on their way back to be freed).

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use tern_core::assemble::{Assembled, Assembler};
use tern_core::model::{Arch, Diagnostic};
use tern_store::{FunctionMeta, IngestBatch, IngestStats, Store, StoreBackend};

use crate::cli::IngestArgs;
use crate::source::{self, Chunk, SourceOptions};

/// Events assembled between two writes to the store.
pub const BATCH_EVENTS: usize = 131_072;
/// A batch is also handed to the store once its events' messages and ids reach this many
/// bytes, so a batch of long lines is no larger than one of typical lines (the reference
/// corpus averages 160 bytes an event, 21 MB a batch).
pub const BATCH_BYTES: usize = 32 << 20;
/// And once it holds this many invocation parts (about 1 KB each with their lines): input of
/// REPORT lines only has one per event. The reference corpus has about 30,000 a batch.
pub const BATCH_PARTS: usize = 65_536;
/// Diagnostics printed in full; the rest are counted.
const SHOWN_DIAGNOSTICS: usize = 20;

/// Validated settings for one ingest run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub store: StoreBackend,
    pub paths: Vec<PathBuf>,
    pub source: SourceOptions,
    pub region: Option<String>,
    pub arch_all: Option<Arch>,
    pub arch_by_function: Vec<(String, Arch)>,
    pub progress: bool,
    /// Parse and assemble only; store nothing.
    pub dry_run: bool,
}

impl Settings {
    /// Ingest `paths` into `store` with every other setting at its default (auto-detected
    /// names, no region or architecture override, no progress bar): the demo's and the tests'
    /// ingest.
    pub fn new(store: StoreBackend, paths: Vec<PathBuf>) -> Settings {
        Settings {
            store,
            paths,
            source: SourceOptions::default(),
            region: None,
            arch_all: None,
            arch_by_function: Vec::new(),
            progress: false,
            dry_run: false,
        }
    }

    pub fn from_args(args: IngestArgs) -> Result<Settings> {
        let mut arch_all = None;
        let mut arch_by_function = Vec::new();
        for a in &args.arch {
            match a.split_once('=') {
                Some((name, arch)) => {
                    let arch = Arch::parse(arch).ok_or_else(|| {
                        anyhow!("--arch {a:?}: unknown architecture {arch:?} (use arm64 or x86_64)")
                    })?;
                    if name.is_empty() {
                        bail!("--arch {a:?}: the function name before '=' is empty");
                    }
                    if let Some((_, other)) = arch_by_function
                        .iter()
                        .find(|(n, x): &&(String, Arch)| n == name && *x != arch)
                    {
                        bail!(
                            "--arch gives {name} two architectures ({} and {})",
                            other.as_str(),
                            arch.as_str()
                        );
                    }
                    arch_by_function.push((name.to_string(), arch));
                }
                None => {
                    arch_all = Some(Arch::parse(a).ok_or_else(|| {
                        anyhow!("--arch {a:?}: unknown architecture (use arm64 or x86_64)")
                    })?);
                }
            }
        }
        if let Some(r) = &args.region {
            crate::config::check_region(r).context("--region")?;
        }
        Ok(Settings {
            store: args.db.backend()?,
            paths: args.paths,
            source: SourceOptions {
                log_group: args.log_group,
                log_stream: args.log_stream,
                ..SourceOptions::default()
            },
            region: args.region,
            arch_all,
            arch_by_function,
            progress: !args.quiet && std::io::stderr().is_terminal(),
            dry_run: args.dry_run,
        })
    }

    fn meta_for(&self, function: &str) -> Option<FunctionMeta> {
        let arch = self
            .arch_by_function
            .iter()
            .find(|(n, _)| n == function)
            .map(|(_, a)| *a)
            .or(self.arch_all);
        if arch.is_none() && self.region.is_none() {
            return None;
        }
        Some(FunctionMeta {
            function: function.to_string(),
            region: self.region.clone(),
            arch,
            ..Default::default()
        })
    }
}

/// What one ingest run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub files: u64,
    pub bytes: u64,
    pub events: u64,
    pub control_messages: u64,
    pub reports: u64,
    pub stored: IngestStats,
    pub functions: BTreeSet<String>,
    pub not_understood: u64,
    pub diagnostics: u64,
    pub shown: Vec<Diagnostic>,
    pub seconds: f64,
    pub dry_run: bool,
    pub hidden: u64,
    /// Inputs that gave no log event, with why (the first few), and how many there were.
    pub unusable: Vec<(String, String)>,
    pub unusable_count: u64,
    /// Log streams whose function could not be told, and what of them was not stored.
    pub unknown_streams: u64,
    pub held_back_invocations: u64,
    pub held_back_lines: u64,
}

impl Summary {
    /// Why this run must end in failure even though what could be stored was: nothing usable
    /// was read at all, or data was held back because its function cannot be known.
    pub fn failure(&self) -> Option<String> {
        if self.unknown_streams > 0 {
            return Some(format!(
                "{} from {} were not stored: the input names no log group and the \
                 stream names no function. Ingest these files again with --log-group \
                 /aws/lambda/NAME (the function's log group){}",
                match (self.held_back_invocations, self.held_back_lines) {
                    (i, 0) => crate::text::counted(i, "invocation", "invocations"),
                    (0, l) => crate::text::counted(l, "log line", "log lines"),
                    (i, l) => format!(
                        "{} and {}",
                        crate::text::counted(i, "invocation", "invocations"),
                        crate::text::counted(l, "other log line", "other log lines")
                    ),
                },
                crate::text::counted(self.unknown_streams, "log stream", "log streams"),
                if self.functions.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; the rest ({}) was stored",
                        crate::text::counted(self.functions.len() as u64, "function", "functions")
                    )
                }
            ));
        }
        if self.events > 0 {
            return None;
        }
        let mut s = if self.files == 0 {
            "nothing to read: the directories hold no files (hidden ones are skipped)".to_string()
        } else {
            format!(
                "nothing usable was read from {}:",
                crate::text::counted(self.files, "input", "inputs")
            )
        };
        for (name, why) in &self.unusable {
            s.push_str(&format!("\n  {}: {why}", crate::text::printable(name)));
        }
        let more = self
            .unusable_count
            .saturating_sub(self.unusable.len() as u64);
        if more > 0 {
            s.push_str(&format!("\n  … and {more} more"));
        }
        s.push_str(
            "\nTern reads CloudWatch Logs exports (aws logs filter-log-events / get-log-events \
             output, `aws logs tail` text, JSON lines, subscription and Firehose payloads), \
             gzipped or not",
        );
        Some(s)
    }

    fn note(&mut self, diags: Vec<Diagnostic>) {
        self.diagnostics += diags.len() as u64;
        for d in diags {
            if self.shown.len() < SHOWN_DIAGNOSTICS {
                self.shown.push(d);
            }
        }
    }

    /// The closing summary printed on stderr.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for d in &self.shown {
            s.push_str(&format!("warning: {d}\n"));
        }
        if self.diagnostics > self.shown.len() as u64 {
            s.push_str(&format!(
                "warning: … and {} more problems not shown\n",
                self.diagnostics - self.shown.len() as u64
            ));
        }
        let rate = if self.seconds > 0.0 {
            self.events as f64 / self.seconds
        } else {
            0.0
        };
        if self.events > 0 {
            for (name, why) in &self.unusable {
                s.push_str(&format!(
                    "warning: {}: nothing read: {why}\n",
                    crate::text::printable(name)
                ));
            }
            let more = self
                .unusable_count
                .saturating_sub(self.unusable.len() as u64);
            if more > 0 {
                s.push_str(&format!(
                    "warning: … and {more} more inputs with nothing read\n"
                ));
            }
        }
        if self.dry_run {
            s.push_str("dry run: nothing was written to the database\n");
        }
        if self.hidden > 0 {
            s.push_str(&format!(
                "note: {} hidden entries (names starting with '.') in the directories were \
                 skipped; name a hidden file on the command line to read it\n",
                self.hidden
            ));
        }
        let stored = if self.dry_run {
            "nothing stored: dry run".to_string()
        } else {
            format!(
                "{} new, {} merged, {} already stored",
                self.stored.inserted, self.stored.merged, self.stored.unchanged
            )
        };
        s.push_str(&format!(
            "ingested {} events from {} file(s) ({:.1} MB) in {:.2} s ({:.0} events/s)\n\
             \x20 invocations: {} complete ({})\n\
             \x20 functions:   {}\n\
             \x20 lines not understood: {}   problems: {}   control messages: {}\n",
            self.events,
            self.files,
            self.bytes as f64 / 1e6,
            self.seconds,
            rate,
            self.reports,
            stored,
            self.functions.len(),
            self.not_understood,
            self.diagnostics,
            self.control_messages,
        ));
        s
    }
}

fn to_batch(a: Assembled, settings: &Settings, seen: &mut BTreeSet<String>) -> IngestBatch {
    let mut functions = Vec::new();
    for p in &a.parts {
        if !seen.contains(&p.function) {
            seen.insert(p.function.clone());
            if let Some(m) = settings.meta_for(&p.function) {
                functions.push(m);
            }
        }
    }
    IngestBatch {
        functions,
        ..IngestBatch::assembled(a)
    }
}

/// Open an existing database for reading.
pub fn open_store_read(backend: &StoreBackend) -> Result<Box<dyn Store>> {
    backend.open_read_only().map_err(|e| opening(backend, e))
}

/// "cannot open database PATH: why", naming the store once however the error says it.
fn opening(backend: &StoreBackend, e: tern_store::StoreError) -> anyhow::Error {
    let shown = crate::config::describe(backend);
    match e {
        tern_store::StoreError::Open { path, message } => {
            let message = message
                .trim_end_matches(path.as_str())
                .trim_end_matches([':', ' '])
                .to_string();
            anyhow::anyhow!("cannot open {shown}: {message}")
        }
        other => anyhow::Error::new(other).context(format!("opening {shown}")),
    }
}

/// Whether the store is there to be read: a SQLite file exists; a ClickHouse server is
/// assumed to (opening it says otherwise).
pub fn store_exists(backend: &StoreBackend) -> bool {
    match backend {
        StoreBackend::Sqlite(p) => p.exists(),
        StoreBackend::ClickHouse(_) => true,
    }
}

/// Open an existing store for reading and writing: a SQLite file that does not exist is an
/// error, not a new empty database (a typo in `--db` must not look like "no data").
pub fn open_existing(backend: &StoreBackend) -> Result<Box<dyn Store>> {
    if !store_exists(backend) {
        anyhow::bail!(
            "no such {} (create it with `tern ingest --db PATH …` or run `tern serve`)",
            crate::config::describe(backend)
        );
    }
    open_store(backend)
}

/// Open (or create) the store for reading and writing.
pub fn open_store(backend: &StoreBackend) -> Result<Box<dyn Store>> {
    if let StoreBackend::Sqlite(path) = backend {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                anyhow::bail!(
                    "cannot create the database {}: the directory {} does not exist",
                    path.display(),
                    dir.display()
                );
            }
        }
    }
    backend.open().map_err(|e| opening(backend, e))
}

/// Run an ingest. Data is durable in the database when this returns Ok.
pub fn run(settings: &Settings) -> Result<Summary> {
    let started = Instant::now();
    // A typo in a path fails before the database is created or touched.
    for p in &settings.paths {
        if p.as_os_str() != "-" {
            std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        }
    }
    let mut store = if settings.dry_run {
        None
    } else {
        Some(open_store(&settings.store)?)
    };
    // A rendezvous: the reader hands a batch over only when the writer takes it, and
    // assembles the next one meanwhile. The reader is about twice as fast as the writer, so
    // a queue would only hold batches in memory without making the writer wait less
    // (BENCHMARKS.md, "Memory": a queue of two cost 110 MB of peak and no time).
    let (tx, rx) = mpsc::sync_channel::<IngestBatch>(0);
    // Stored batches travel back to the reader to be freed there: memory freed on the thread
    // that allocated it is reused at once, instead of being handed back to the system and
    // faulted in again (measured in BENCHMARKS.md).
    let (done_tx, done_rx) = mpsc::channel::<IngestBatch>();

    let writer = std::thread::Builder::new()
        .name("tern-store".into())
        .spawn(move || -> Result<IngestStats> {
            let mut total = IngestStats::default();
            for batch in rx {
                let Some(store) = store.as_mut() else {
                    // Dry run: count what would have been stored.
                    total.completed +=
                        batch.parts.iter().filter(|p| p.is_complete()).count() as u64;
                    let _ = done_tx.send(batch);
                    continue;
                };
                let s = store.ingest(&batch).context("writing to the database")?;
                let _ = done_tx.send(batch);
                total.inserted += s.inserted;
                total.merged += s.merged;
                total.unchanged += s.unchanged;
                total.completed += s.completed;
            }
            Ok(total)
        })
        .context("starting the store thread")?;

    let mut summary = Summary::default();
    let progress = settings.progress.then(|| {
        let bar = indicatif::ProgressBar::new(source::total_bytes(&settings.paths));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut asm = Assembler::new();
    let mut since_drain = 0usize;
    let mut bytes_since_drain = 0usize;
    let mut seen = BTreeSet::new();
    let mut send_failed = false;

    let read_result = {
        let mut sink = |chunk: &mut Chunk| -> Result<()> {
            summary.note(std::mem::take(&mut chunk.diagnostics));
            since_drain += chunk.events.len();
            for ev in chunk.events.drain(..) {
                bytes_since_drain += source::event_bytes(&ev);
                asm.push(ev);
            }
            if since_drain >= BATCH_EVENTS
                || bytes_since_drain >= BATCH_BYTES
                || asm.parts_since_drain() >= BATCH_PARTS
            {
                since_drain = 0;
                bytes_since_drain = 0;
                let mut a = asm.drain();
                summary.note(std::mem::take(&mut a.diagnostics));
                while let Ok(old) = done_rx.try_recv() {
                    drop(old);
                }
                if tx.send(to_batch(a, settings, &mut seen)).is_err() {
                    send_failed = true;
                    bail!("the database writer stopped");
                }
            }
            if let Some(bar) = &progress {
                bar.set_position(bytes_read.load(Ordering::Relaxed));
            }
            Ok(())
        };
        source::read_inputs(&settings.paths, &settings.source, &bytes_read, &mut sink)
    };
    // Whatever happened while reading, store what was assembled: good data is never lost.
    let mut last = asm.finish();
    summary.note(std::mem::take(&mut last.diagnostics));
    if !send_failed {
        let _ = tx.send(to_batch(last, settings, &mut seen));
    }
    drop(tx);
    let stored = writer
        .join()
        .map_err(|_| anyhow!("the database writer crashed"))??;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let src = read_result?;
    let st = asm.stats();
    summary.files = src.files;
    summary.bytes = src.bytes;
    summary.events = st.events;
    summary.control_messages = src.control_messages;
    summary.hidden = src.hidden;
    summary.reports = st.reports;
    summary.not_understood = st.unrecognized;
    summary.stored = stored;
    for (name, arch) in &settings.arch_by_function {
        if !seen.contains(name) {
            summary.note(vec![Diagnostic {
                location: format!("--arch {name}={}", arch.as_str()),
                message: format!("no function named {name} in this input; nothing was set"),
            }]);
        }
    }
    summary.functions = seen;
    summary.unusable = src.unusable;
    summary.unusable_count = src.unusable_count;
    summary.unknown_streams = st.unknown_function;
    summary.held_back_invocations = st.unknown_function_parts;
    summary.held_back_lines = st.unknown_function_lines;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.dry_run = settings.dry_run;
    Ok(summary)
}
