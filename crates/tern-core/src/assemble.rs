//! Invocation assembly: classified log lines in, [`InvocationPart`]s out.
//!
//! A log stream is one execution environment. Within a stream, lines that name a request id go
//! to that invocation; lines that do not (init output, Python's unhandled-exception block) go to
//! the invocation open in the stream, or wait for the stream's next START.
//!
//! Assembly never needs a whole invocation in one batch. [`Assembler::drain`] hands out what it
//! has, complete or not, and keeps only small per-stream state (which invocation is open,
//! pending init facts), so memory stays bounded however large the input. Parts of one
//! invocation from different batches carry the same key and are merged by the store.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::{
    function_name, Diagnostic, ErrorInfo, InvocationPart, LogEvent, LogLine, Signals,
};
use crate::parse::{parse_message, Line};

/// Lines kept per stream while waiting for its next START; older ones are handed out as
/// unattributed stream lines.
const MAX_PENDING_LINES: usize = 256;
/// Diagnostics kept per drain (the count is always exact).
const MAX_DIAGNOSTICS: usize = 100;
/// Streams tracked before quiet ones are forgotten at a drain.
const KEEP_STREAMS: usize = 10_000;
/// A stream with no open invocation and no pending init facts is forgotten once it has had no
/// events for this many drains (and more than [`KEEP_STREAMS`] are tracked). Forgetting such a
/// stream loses nothing: its next event is a START, which starts from a clean state anyway.
const QUIET_DRAINS: u32 = 2;
/// Streams tracked at most. Past this, the longest-quiet streams are forgotten even with an
/// invocation open (one whose REPORT never came: a truncated input), so input that names ever
/// new streams cannot grow the state without bound.
const MAX_STREAMS: usize = 100_000;

/// Unattributed lines of one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct OrphanLines {
    pub function: String,
    pub log_group: Arc<str>,
    pub log_stream: Arc<str>,
    pub lines: Vec<LogLine>,
}

/// What one drain hands out.
#[derive(Debug, Default)]
pub struct Assembled {
    pub parts: Vec<InvocationPart>,
    pub orphans: Vec<OrphanLines>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Running totals since the assembler was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssembleStats {
    pub events: u64,
    pub reports: u64,
    /// Lines that looked like platform lines but could not be read.
    pub unrecognized: u64,
    /// Log streams whose function could not be told from the log group or stream.
    pub unknown_function: u64,
    /// Invocations and unattributed lines not handed out because their stream's function
    /// was never learned (see [`Assembler::drain`]).
    pub unknown_function_parts: u64,
    pub unknown_function_lines: u64,
}

/// Facts about an environment's init that belong to its next invocation.
#[derive(Debug, Default, PartialEq)]
struct PendingInit {
    runtime_version: Option<String>,
    /// The init was (or will be) re-run inside the next invoke: a suppressed init.
    suppressed: bool,
    /// The init failed inside the invoke phase.
    failed: bool,
    /// A SnapStart restore precedes the next invocation.
    restored: bool,
    init_report_ms: Option<f64>,
    signals: Signals,
    error: Option<ErrorInfo>,
}

struct StreamState {
    log_group: Arc<str>,
    log_stream: Arc<str>,
    function: String,
    /// Request id of the invocation between its START and its END/REPORT.
    current: Option<String>,
    /// Request id of the latest START seen in this stream.
    started: Option<String>,
    parts: Vec<InvocationPart>,
    pending_lines: Vec<LogLine>,
    pending: PendingInit,
    /// Overflow of pending lines, handed out as orphans at the next drain.
    orphans: Vec<LogLine>,
    /// The drain during which the stream last had an event.
    touched: u32,
}

impl StreamState {
    fn part_index(&mut self, request_id: &str) -> usize {
        match self.find(request_id) {
            Some(i) => i,
            None => self.open_part(request_id.to_string()),
        }
    }

    /// Like `part_index`, reusing the parser's string for a new part.
    fn part_index_owned(&mut self, request_id: String) -> usize {
        match self.find(&request_id) {
            Some(i) => i,
            None => self.open_part(request_id),
        }
    }

    /// Most lines belong to the newest part, so search from the end.
    fn find(&self, request_id: &str) -> Option<usize> {
        self.parts.iter().rposition(|p| p.request_id == request_id)
    }

    fn open_part(&mut self, request_id: String) -> usize {
        let mut log_lines = Vec::new();
        // START, END, REPORT and a line or two: avoid regrowing from nothing.
        log_lines.reserve_exact(6);
        self.parts.push(InvocationPart {
            // Filled in when the part leaves the stream (the name may still change).
            function: String::new(),
            log_group: self.log_group.clone(),
            log_stream: self.log_stream.clone(),
            request_id,
            log_lines,
            ..Default::default()
        });
        self.parts.len() - 1
    }

    /// The invocation a line without a request id belongs to: the open one (its part is
    /// opened again when a drain has handed it out: the store merges the two), else a recent
    /// one whose START..REPORT span covers the line's time.
    fn implicit_target(&mut self, ts: i64) -> Option<usize> {
        if let Some(cur) = &self.current {
            if let Some(i) = self.find(cur) {
                return Some(i);
            }
            let cur = cur.clone();
            return Some(self.open_part(cur));
        }
        self.parts
            .iter()
            .position(|p| match (p.start_ms, p.end_ms) {
                (Some(s), Some(e)) => s <= ts && ts <= e,
                _ => false,
            })
    }
}

/// Assembles invocations from log events. Feed events with [`Assembler::push`] in the order
/// they were read; call [`Assembler::drain`] whenever a batch should be stored, and
/// [`Assembler::finish`] at the end of input.
pub struct Assembler {
    streams: Vec<StreamState>,
    index: HashMap<(Arc<str>, Arc<str>), usize>,
    /// The stream of the previous event. Cleared at each drain, so the first event of a
    /// stream in each batch takes the slow path, which marks the stream touched.
    last: Option<(Arc<str>, Arc<str>, usize)>,
    /// Drains so far.
    drains: u32,
    parts_since_drain: usize,
    /// Completed parts moved out of their stream when the stream's next invocation started.
    done: Vec<InvocationPart>,
    diagnostics: Vec<Diagnostic>,
    stats: AssembleStats,
}

impl Default for Assembler {
    fn default() -> Self {
        Assembler::new()
    }
}

impl Assembler {
    pub fn new() -> Assembler {
        Assembler {
            streams: Vec::new(),
            index: HashMap::new(),
            last: None,
            drains: 0,
            parts_since_drain: 0,
            done: Vec::new(),
            diagnostics: Vec::new(),
            stats: AssembleStats::default(),
        }
    }

    pub fn stats(&self) -> AssembleStats {
        self.stats
    }

    /// Log streams whose state is held.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    fn diag(&mut self, location: String, message: String) {
        if self.diagnostics.len() < MAX_DIAGNOSTICS {
            self.diagnostics.push(Diagnostic { location, message });
        }
    }

    fn stream_index(&mut self, ev: &LogEvent) -> usize {
        if let Some((g, s, i)) = &self.last {
            if Arc::ptr_eq(g, &ev.log_group) && Arc::ptr_eq(s, &ev.log_stream) {
                return *i;
            }
        }
        let key = (ev.log_group.clone(), ev.log_stream.clone());
        let i = match self.index.get(&key) {
            Some(&i) => {
                self.streams[i].touched = self.drains;
                i
            }
            None => {
                let function = match function_name(&ev.log_group, &ev.log_stream) {
                    Some(f) => f,
                    // A custom log group names its function's logs, whatever the streams say.
                    None if !ev.log_group.is_empty() => {
                        ev.log_group.trim_start_matches('/').to_string()
                    }
                    // No group and no name in the stream (CLI output read without
                    // --log-group): the function is unknown until a JSON initStart names it.
                    // Filed under a guess, a later ingest with the right group would count
                    // every invocation twice, so its parts are held back instead.
                    None => {
                        self.stats.unknown_function += 1;
                        // Said once: the closing summary counts the streams.
                        if self.stats.unknown_function == 1 {
                            self.diag(
                                format!("log stream '{}'", ev.log_stream),
                                "the input names no log group and the stream no function, so its \
                             events are not stored (pass --log-group /aws/lambda/NAME)"
                                    .to_string(),
                            );
                        }
                        String::new()
                    }
                };
                self.streams.push(StreamState {
                    log_group: ev.log_group.clone(),
                    log_stream: ev.log_stream.clone(),
                    function,
                    current: None,
                    started: None,
                    parts: Vec::new(),
                    pending_lines: Vec::new(),
                    pending: PendingInit::default(),
                    orphans: Vec::new(),
                    touched: self.drains,
                });
                let i = self.streams.len() - 1;
                self.index.insert(key, i);
                i
            }
        };
        self.last = Some((ev.log_group.clone(), ev.log_stream.clone(), i));
        i
    }

    /// Feed one event.
    pub fn push(&mut self, ev: LogEvent) {
        self.stats.events += 1;
        let line = parse_message(&ev.message);
        let si = self.stream_index(&ev);
        // Parts only move between a stream and `done`, so a change in the sum is parts opened.
        let held = self.streams[si].parts.len() + self.done.len();
        let ts = ev.timestamp_ms;
        let raw = LogLine {
            timestamp_ms: ts,
            message: ev.message,
            event_id: ev.event_id,
        };
        if let Line::Unrecognized { diagnostic } = &line {
            self.stats.unrecognized += 1;
            let loc = format!(
                "{} {} at {}",
                self.streams[si].log_group, self.streams[si].log_stream, ts
            );
            let msg = diagnostic.clone();
            self.diag(loc, msg);
        }
        if matches!(line, Line::Report { .. }) {
            self.stats.reports += 1;
        }
        let st = &mut self.streams[si];
        match line {
            Line::Start(start) => {
                // The environment moved on: earlier completed invocations are settled, so they
                // leave the stream's short list (keeps lookups O(1) per line).
                if !st.parts.is_empty() {
                    let mut k = 0;
                    while k < st.parts.len() {
                        if st.parts[k].is_complete() && st.parts[k].request_id != start.request_id {
                            let mut p = st.parts.swap_remove(k);
                            p.function.clone_from(&st.function);
                            self.done.push(p);
                        } else {
                            k += 1;
                        }
                    }
                }
                let i = st.part_index(&start.request_id);
                st.started = Some(start.request_id.clone());
                st.current = Some(start.request_id);
                let pending = std::mem::take(&mut st.pending);
                let lines = std::mem::take(&mut st.pending_lines);
                let p = &mut st.parts[i];
                p.start_ms = Some(p.start_ms.map_or(ts, |s| s.min(ts)));
                if start.version.is_some() {
                    p.version = start.version;
                }
                apply_pending(p, pending);
                p.log_lines.extend(lines);
                p.log_lines.push(raw);
            }
            Line::Report {
                request_id,
                metrics,
            } => {
                if st.current.as_deref() == Some(request_id.as_str()) {
                    st.current = None;
                }
                let i = st.part_index_owned(request_id);
                adopt_pending(st, i);
                let p = &mut st.parts[i];
                p.end_ms = Some(ts);
                if p.start_ms.is_none() {
                    p.start_ms = Some(ts - metrics.duration_ms.max(0.0) as i64);
                }
                p.report = Some(metrics);
                p.log_lines.push(raw);
            }
            Line::End { request_id } => {
                if st.current.as_deref() == Some(request_id.as_str()) {
                    st.current = None;
                }
                let i = st.part_index_owned(request_id);
                adopt_pending(st, i);
                st.parts[i].log_lines.push(raw);
            }
            Line::InitStart(init) => {
                // A new environment begins: whatever was open in the stream is over.
                st.current = None;
                st.pending.runtime_version = init.runtime_version;
                if let Some(f) = init.function_name {
                    if st.function.is_empty() && !f.is_empty() {
                        st.function = f;
                    }
                }
                push_pending_line(st, raw);
            }
            Line::RestoreStart(init) => {
                st.current = None;
                st.pending.runtime_version = init.runtime_version;
                st.pending.restored = true;
                push_pending_line(st, raw);
            }
            Line::RestoreReport(r) => {
                st.pending.restored = true;
                if st.pending.init_report_ms.is_none() {
                    st.pending.init_report_ms = r.duration_ms;
                }
                if matches!(r.status.as_deref(), Some("error" | "timeout" | "failure")) {
                    st.pending.failed = true;
                }
                push_pending_line(st, raw);
            }
            Line::InitReport(r) => {
                let failed = matches!(r.status.as_deref(), Some("error" | "timeout" | "failure"));
                match r.phase.as_deref() {
                    Some("invoke") => {
                        // The init ran inside an invoke: a suppressed init. It belongs to the
                        // open invocation, or (Node prints it before START) to the next one.
                        match st.current.clone() {
                            Some(cur) => {
                                let i = st.part_index(&cur);
                                let p = &mut st.parts[i];
                                p.signals.suppressed_init = true;
                                p.signals.init_failure |= failed;
                                if p.init_report_ms.is_none() {
                                    p.init_report_ms = r.duration_ms;
                                }
                                p.log_lines.push(raw);
                            }
                            None => {
                                st.pending.suppressed = true;
                                st.pending.failed |= failed;
                                st.pending.init_report_ms = r.duration_ms;
                                push_pending_line(st, raw);
                            }
                        }
                    }
                    _ => {
                        // Init phase. A failed or timed-out init is re-run inside the first
                        // invoke (lambda-logs.md §1.5): that invocation is a cold start.
                        if failed {
                            st.pending.suppressed = true;
                        }
                        if st.pending.init_report_ms.is_none() {
                            st.pending.init_report_ms = r.duration_ms;
                        }
                        push_pending_line(st, raw);
                    }
                }
            }
            Line::Timeout { request_id, .. } => {
                if let Some(i) = target(st, request_id.as_deref(), ts) {
                    let p = &mut st.parts[i];
                    p.signals.timeout_line = true;
                    p.log_lines.push(raw);
                } else {
                    st.pending.signals.timeout_line = true;
                    push_pending_line(st, raw);
                }
            }
            Line::RuntimeExit {
                request_id,
                message,
                ..
            } => {
                let oom = message.contains("signal: killed");
                if let Some(i) = target(st, request_id.as_deref(), ts) {
                    let p = &mut st.parts[i];
                    p.signals.runtime_exit = true;
                    p.signals.oom_signature |= oom;
                    p.log_lines.push(raw);
                } else {
                    st.pending.signals.runtime_exit = true;
                    st.pending.signals.oom_signature |= oom;
                    push_pending_line(st, raw);
                }
            }
            Line::RuntimeDone(done) => {
                let timeout = done.status.as_deref() == Some("timeout");
                let oom = done.error_type.as_deref() == Some("Runtime.OutOfMemory");
                if let Some(i) = target(st, done.request_id.as_deref(), ts) {
                    let p = &mut st.parts[i];
                    p.signals.timeout_line |= timeout;
                    p.signals.oom_signature |= oom;
                    p.log_lines.push(raw);
                } else {
                    push_pending_line(st, raw);
                }
            }
            Line::App(app) => {
                let unhandled_error = if app.unhandled { app.error } else { None };
                let handler_error = unhandled_error.is_some();
                match target(st, app.request_id.as_deref(), ts) {
                    Some(i) => {
                        // A line naming an unfinished invocation while none is open: its
                        // START came earlier (another Firehose request, another batch), so it
                        // is the open one; its following lines without a request id (a
                        // Python traceback) are its own, not the next invocation's.
                        if st.current.is_none() && !st.parts[i].is_complete() {
                            if let Some(rid) = app.request_id.as_deref().filter(|r| !r.is_empty()) {
                                st.current = Some(rid.to_string());
                                adopt_pending(st, i);
                            }
                        }
                        let p = &mut st.parts[i];
                        p.signals.handler_error |= handler_error;
                        p.signals.oom_signature |= app.oom;
                        if p.error.is_none() {
                            p.error = unhandled_error;
                        }
                        if p.start_ms.is_none() {
                            p.start_ms = Some(ts);
                        }
                        p.log_lines.push(raw);
                    }
                    None => {
                        st.pending.signals.handler_error |= handler_error;
                        st.pending.signals.oom_signature |= app.oom;
                        if st.pending.error.is_none() {
                            st.pending.error = unhandled_error;
                        }
                        push_pending_line(st, raw);
                    }
                }
            }
            Line::Extension(_) | Line::PlatformOther { .. } | Line::Unrecognized { .. } => {
                let rid = line_rid(&line);
                match target(st, rid.as_deref(), ts) {
                    Some(i) => st.parts[i].log_lines.push(raw),
                    None => push_pending_line(st, raw),
                }
            }
        }
        let now = self.streams[si].parts.len() + self.done.len();
        self.parts_since_drain += now.saturating_sub(held);
    }

    /// Invocation parts opened since the last drain: what the next drain hands out, at least.
    /// Input of REPORT lines only makes one part per event, so a caller that bounds its
    /// batches bounds this too.
    pub fn parts_since_drain(&self) -> usize {
        self.parts_since_drain
    }

    /// Hand out everything assembled so far. Per-stream state (the open invocation, pending
    /// init facts and a bounded number of pending lines) is kept for the next events.
    pub fn drain(&mut self) -> Assembled {
        // Size the next batch's list like this one, so it does not regrow from nothing.
        let next = Vec::with_capacity(self.done.len().max(64));
        let mut out = Assembled {
            parts: std::mem::replace(&mut self.done, next),
            diagnostics: std::mem::take(&mut self.diagnostics),
            ..Default::default()
        };
        self.parts_since_drain = 0;
        // Parts still in their streams (all of them, for input without STARTs): room for them
        // at once, rather than doubling a list of 450-byte parts.
        out.parts
            .reserve_exact(self.streams.iter().map(|st| st.parts.len()).sum());
        for st in &mut self.streams {
            // `take`, not `drain`: the stream's list gives back its room, so a stream that has
            // gone quiet holds no memory for parts (thousands of streams each kept room for a
            // few ~500-byte parts, and peak memory grew with the number of streams seen).
            for mut p in std::mem::take(&mut st.parts) {
                // The function may have been learned after the part was opened (initStart).
                p.function.clone_from(&st.function);
                out.parts.push(p);
            }
            if !st.orphans.is_empty() {
                out.orphans.push(OrphanLines {
                    function: st.function.clone(),
                    log_group: st.log_group.clone(),
                    log_stream: st.log_stream.clone(),
                    lines: std::mem::take(&mut st.orphans),
                });
            }
        }
        if self.streams.len() > KEEP_STREAMS {
            self.forget_quiet_streams(&mut out);
        }
        // What belongs to no known function is never handed out: stored under a made-up
        // name it could not be replaced by a later, correct ingest.
        let parts = out.parts.len();
        out.parts.retain(|p| !p.function.is_empty());
        self.stats.unknown_function_parts += (parts - out.parts.len()) as u64;
        let lines = &mut self.stats.unknown_function_lines;
        out.orphans.retain(|o| {
            if o.function.is_empty() {
                *lines += o.lines.len() as u64;
            }
            !o.function.is_empty()
        });
        self.last = None;
        self.drains = self.drains.wrapping_add(1);
        out
    }

    /// End of input: hand out everything, including lines still waiting for a START.
    pub fn finish(&mut self) -> Assembled {
        for st in &mut self.streams {
            let lines = std::mem::take(&mut st.pending_lines);
            st.orphans.extend(lines);
        }
        let out = self.drain();
        self.streams.clear();
        self.index.clear();
        self.last = None;
        out
    }

    /// Forget quiet streams (see [`QUIET_DRAINS`]), then the longest-quiet ones past
    /// [`MAX_STREAMS`]. Lines a forgotten stream still held for its next START are handed out
    /// as orphans, so nothing read is lost. Done in place: no second list of streams.
    fn forget_quiet_streams(&mut self, out: &mut Assembled) {
        let now = self.drains;
        let age = |st: &StreamState| now.wrapping_sub(st.touched);
        let before = self.streams.len();
        self.streams.retain_mut(|st| {
            let forgettable = age(st) >= QUIET_DRAINS
                && st.current.is_none()
                && st.pending == PendingInit::default();
            if forgettable {
                hand_out_pending(st, out);
            }
            !forgettable
        });
        if self.streams.len() > MAX_STREAMS {
            // The MAX_STREAMS most recently touched first, in no particular order.
            self.streams.select_nth_unstable_by_key(MAX_STREAMS, age);
            for mut st in self.streams.drain(MAX_STREAMS..) {
                hand_out_pending(&mut st, out);
            }
        }
        if self.streams.len() == before {
            return;
        }
        // A list grown by a burst of new streams gives its room back.
        if self.streams.capacity() > 2 * self.streams.len().max(KEEP_STREAMS) {
            self.streams.shrink_to(self.streams.len() * 5 / 4);
        }
        self.index.clear();
        for (i, st) in self.streams.iter().enumerate() {
            self.index
                .insert((st.log_group.clone(), st.log_stream.clone()), i);
        }
    }
}

/// A stream about to be forgotten: the lines it held for its next START leave as orphans.
fn hand_out_pending(st: &mut StreamState, out: &mut Assembled) {
    if !st.pending_lines.is_empty() {
        out.orphans.push(OrphanLines {
            function: std::mem::take(&mut st.function),
            log_group: st.log_group.clone(),
            log_stream: st.log_stream.clone(),
            lines: std::mem::take(&mut st.pending_lines),
        });
    }
}

fn line_rid(line: &Line) -> Option<String> {
    line.request_id().map(str::to_string)
}

/// The part a line belongs to: by its own request id, else implicitly.
fn target(st: &mut StreamState, request_id: Option<&str>, ts: i64) -> Option<usize> {
    match request_id {
        Some(rid) if !rid.is_empty() => Some(st.part_index(rid)),
        _ => st.implicit_target(ts),
    }
}

fn push_pending_line(st: &mut StreamState, line: LogLine) {
    if st.pending_lines.len() >= MAX_PENDING_LINES {
        let old = st.pending_lines.remove(0);
        st.orphans.push(old);
    }
    st.pending_lines.push(line);
}

/// Lines of an invocation whose START this assembler never saw (the input began in its
/// middle: another Firehose request, another batch, another pull window) wait as pending
/// lines until one of its own lines, END or REPORT names it. An environment runs one
/// invocation at a time, so those earlier lines without a request id (a Python traceback,
/// `print` output) are its own: they move into it, with the error evidence they carry.
/// Pending init facts mean the lines precede a new environment's first START instead, and
/// are left for it.
fn adopt_pending(st: &mut StreamState, i: usize) {
    let p = &st.parts[i];
    let started_here = st.started.as_deref() == Some(p.request_id.as_str());
    let init = &st.pending;
    let init_facts = init.runtime_version.is_some()
        || init.suppressed
        || init.restored
        || init.failed
        || init.init_report_ms.is_some();
    if started_here || init_facts || st.pending_lines.is_empty() || p.is_complete() {
        return;
    }
    let lines = std::mem::take(&mut st.pending_lines);
    let pending = std::mem::take(&mut st.pending);
    let p = &mut st.parts[i];
    p.signals.merge(&pending.signals);
    if p.error.is_none() {
        p.error = pending.error;
    }
    if let Some(first) = lines.first() {
        p.start_ms = Some(
            p.start_ms
                .map_or(first.timestamp_ms, |s| s.min(first.timestamp_ms)),
        );
    }
    let mut all = lines;
    all.append(&mut p.log_lines);
    p.log_lines = all;
}

fn apply_pending(p: &mut InvocationPart, pending: PendingInit) {
    if pending.runtime_version.is_some() {
        p.runtime_version = pending.runtime_version;
    }
    if pending.suppressed || pending.restored {
        p.cold_start = true;
    }
    if pending.suppressed {
        p.signals.suppressed_init = true;
    }
    p.signals.init_failure |= pending.failed;
    p.signals.merge(&pending.signals);
    if p.init_report_ms.is_none() {
        p.init_report_ms = pending.init_report_ms;
    }
    if p.error.is_none() {
        p.error = pending.error;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::Outcome;

    fn ev(stream: &str, ts: i64, msg: &str) -> LogEvent {
        LogEvent {
            log_group: Arc::from("/aws/lambda/fn"),
            log_stream: Arc::from(stream),
            timestamp_ms: ts,
            message: msg.to_string(),
            event_id: None,
        }
    }

    #[test]
    fn drain_keeps_open_invocation_and_store_merges_later() {
        let mut a = Assembler::new();
        a.push(ev("s", 1, "START RequestId: r1 Version: $LATEST\n"));
        let first = a.drain();
        assert_eq!(first.parts.len(), 1);
        assert!(!first.parts[0].is_complete());
        assert_eq!(first.parts[0].start_ms, Some(1));
        assert_eq!(first.parts[0].function, "fn");
        let out = a.finish();
        assert!(out.parts.is_empty());
    }

    /// Firehose splits a stream anywhere: a batch can start in the middle of an invocation.
    /// Its Python traceback (no request id) belongs to it, not to the next START (found by
    /// `tern serve`'s crash test).
    #[test]
    fn batch_starting_mid_invocation_keeps_its_traceback() {
        let mut a = Assembler::new();
        a.push(ev(
            "s",
            10,
            "[INFO]\t2026-11-01T12:45:12.333Z\tr1\tworking\n",
        ));
        a.push(ev(
            "s",
            20,
            "[ERROR] TypeError: 'NoneType' object is not subscriptable\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line 31, in lambda_handler",
        ));
        a.push(ev("s", 20, "END RequestId: r1\n"));
        a.push(ev(
            "s",
            20,
            "REPORT RequestId: r1\tDuration: 19.07 ms\tBilled Duration: 20 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n",
        ));
        a.push(ev("s", 30, "START RequestId: r2 Version: $LATEST\n"));
        a.push(ev("s", 31, "END RequestId: r2\n"));
        a.push(ev(
            "s",
            31,
            "REPORT RequestId: r2\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n",
        ));
        let out = a.finish();
        let part = |rid: &str| out.parts.iter().find(|p| p.request_id == rid).unwrap();
        assert!(part("r1").error.is_some(), "the traceback is r1's");
        assert_eq!(part("r1").log_lines.len(), 4);
        assert!(part("r2").error.is_none());
        assert_eq!(part("r2").outcome(), Outcome::Success);
    }

    /// A batch that starts with the traceback itself (no line of the invocation before it
    /// names its request id): END and REPORT come next, so the traceback is that
    /// invocation's, and the invocation is an error (pushed data under-counted
    /// Python errors when Firehose split an invocation there).
    #[test]
    fn batch_starting_with_a_traceback_gives_it_to_the_invocation_that_ends_next() {
        let mut a = Assembler::new();
        a.push(ev(
            "s",
            20,
            "[ERROR] KeyError: 'user_id'\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line 12, in handler\n    return event['user_id']\n",
        ));
        a.push(ev("s", 21, "print output without a request id\n"));
        a.push(ev("s", 22, "END RequestId: r1\n"));
        a.push(ev(
            "s",
            22,
            "REPORT RequestId: r1\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n",
        ));
        a.push(ev("s", 30, "START RequestId: r2 Version: $LATEST\n"));
        a.push(ev("s", 31, "END RequestId: r2\n"));
        a.push(ev(
            "s",
            31,
            "REPORT RequestId: r2\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n",
        ));
        let out = a.finish();
        assert!(out.orphans.is_empty(), "{:?}", out.orphans);
        let part = |rid: &str| out.parts.iter().find(|p| p.request_id == rid).unwrap();
        assert_eq!(part("r1").outcome(), Outcome::Error);
        assert_eq!(part("r1").error.as_ref().unwrap().error_type, "KeyError");
        assert_eq!(part("r1").log_lines.len(), 4);
        assert_eq!(part("r1").log_lines[0].timestamp_ms, 20);
        assert_eq!(part("r2").outcome(), Outcome::Success);
    }

    /// Init lines of a new environment wait for its first START, not for a REPORT.
    #[test]
    fn init_lines_still_wait_for_the_next_start() {
        let mut a = Assembler::new();
        a.push(ev("s", 1, "INIT_START Runtime Version: python:3.13.v20\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc\n"));
        a.push(ev("s", 2, "START RequestId: r1 Version: $LATEST\n"));
        a.push(ev("s", 3, "END RequestId: r1\n"));
        a.push(ev(
            "s",
            3,
            "REPORT RequestId: r1\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\tInit Duration: 100.00 ms\t\n",
        ));
        let out = a.finish();
        assert_eq!(out.parts.len(), 1);
        assert_eq!(out.parts[0].log_lines.len(), 4);
        assert!(out.parts[0].runtime_version.is_some());
    }

    fn complete(a: &mut Assembler, stream: &str, rid: &str, ts: i64) {
        a.push(ev(
            stream,
            ts,
            &format!("START RequestId: {rid} Version: $LATEST\n"),
        ));
        a.push(ev(stream, ts + 1, &format!("END RequestId: {rid}\n")));
        a.push(ev(
            stream,
            ts + 1,
            &format!("REPORT RequestId: {rid}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n"),
        ));
    }

    /// Past `KEEP_STREAMS`, a stream with nothing open is forgotten after `QUIET_DRAINS`
    /// quiet drains; streams with an open invocation or pending init facts are kept, and
    /// lines a forgotten stream held come out as orphans.
    #[test]
    fn quiet_streams_are_forgotten_without_losing_lines() {
        let mut a = Assembler::new();
        for i in 0..KEEP_STREAMS + 100 {
            complete(&mut a, &format!("s{i}"), &format!("r{i}"), 1);
        }
        a.push(ev("init", 1, "INIT_START Runtime Version: python:3.13.v20\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc\n"));
        a.push(ev("open", 1, "START RequestId: o1 Version: $LATEST\n"));
        a.push(ev("waiting", 1, "a line before any START\n"));
        let first = a.drain();
        assert_eq!(first.parts.len(), KEEP_STREAMS + 101);
        assert_eq!(a.streams(), KEEP_STREAMS + 103);
        a.push(ev("busy", 2, "busy 1\n"));
        let _ = a.drain();
        // Quiet for one drain only: still held.
        assert_eq!(a.streams(), KEEP_STREAMS + 104);
        a.push(ev("busy", 3, "busy 2\n"));
        let third = a.drain();
        assert_eq!(a.streams(), 3, "init, open and busy are kept");
        let waiting: Vec<_> = third
            .orphans
            .iter()
            .filter(|o| &*o.log_stream == "waiting")
            .collect();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].lines[0].message, "a line before any START\n");
        assert_eq!(waiting[0].function, "fn");
        // The kept streams carry on as if nothing happened.
        complete(&mut a, "init", "i1", 10);
        a.push(ev("open", 12, "a line with no request id\n"));
        a.push(ev("open", 13, "END RequestId: o1\n"));
        a.push(ev("open", 13, "REPORT RequestId: o1\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n"));
        // A forgotten stream starts again from a clean state.
        complete(&mut a, "s0", "r0b", 20);
        let out = a.finish();
        let part = |rid: &str| out.parts.iter().find(|p| p.request_id == rid).unwrap();
        assert_eq!(
            part("i1").runtime_version.as_deref(),
            Some("python:3.13.v20")
        );
        assert!(part("i1").log_lines[0].message.starts_with("INIT_START"));
        assert!(part("o1")
            .log_lines
            .iter()
            .any(|l| l.message == "a line with no request id\n"));
        assert!(part("o1").is_complete());
        assert!(part("r0b").is_complete());
    }

    /// However many streams are left open, at most `MAX_STREAMS` are held; the most
    /// recently active are the ones kept.
    #[test]
    fn open_streams_are_capped() {
        let mut a = Assembler::new();
        let start = |a: &mut Assembler, s: &str| {
            a.push(ev(
                s,
                1,
                &format!("START RequestId: {s}-r Version: $LATEST\n"),
            ));
        };
        for i in 0..MAX_STREAMS + 50 {
            start(&mut a, &format!("s{i}"));
        }
        let _ = a.drain();
        assert_eq!(a.streams(), MAX_STREAMS);
        for i in 0..50 {
            start(&mut a, &format!("t{i}"));
        }
        let _ = a.drain();
        assert_eq!(a.streams(), MAX_STREAMS);
        // The newest streams were kept: a line without a request id goes to t0's invocation.
        a.push(ev("t0", 3, "still running\n"));
        a.push(ev("t0", 4, "END RequestId: t0-r\n"));
        let out = a.finish();
        let t0: Vec<_> = out
            .parts
            .iter()
            .filter(|p| p.request_id == "t0-r")
            .collect();
        assert_eq!(t0.len(), 1);
        assert_eq!(t0[0].log_lines.len(), 2);
        assert_eq!(t0[0].log_lines[0].message, "still running\n");
    }

    #[test]
    fn an_unknowable_function_is_held_back_with_a_diagnostic() {
        let mut a = Assembler::new();
        let event = |ts: i64, message: &str| LogEvent {
            log_group: Arc::from(""),
            log_stream: Arc::from("2026/01/02/[$LATEST]abc"),
            timestamp_ms: ts,
            message: message.into(),
            event_id: None,
        };
        a.push(event(0, "hello"));
        a.push(event(1, "START RequestId: r1 Version: $LATEST\n"));
        a.push(event(
            2,
            "REPORT RequestId: r1\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
        ));
        let out = a.finish();
        assert_eq!(a.stats().unknown_function, 1);
        assert_eq!(a.stats().unknown_function_parts, 1);
        assert!(out.parts.is_empty() && out.orphans.is_empty(), "{out:?}");
        assert_eq!(out.diagnostics.len(), 1);
        assert!(out.diagnostics[0].message.contains("--log-group"));
        let _ = Outcome::Success;
    }

    #[test]
    fn a_json_init_start_names_the_function_of_a_nameless_stream() {
        let mut a = Assembler::new();
        let event = |ts: i64, message: &str| LogEvent {
            log_group: Arc::from(""),
            log_stream: Arc::from("2026/01/02/[$LATEST]abc"),
            timestamp_ms: ts,
            message: message.into(),
            event_id: None,
        };
        a.push(event(
            0,
            r#"{"time":"2026-01-02T00:00:00.000Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"python:3.12.v1","functionName":"orders","functionVersion":"$LATEST"}}"#,
        ));
        a.push(event(1, "START RequestId: r1 Version: $LATEST\n"));
        a.push(event(
            2,
            "REPORT RequestId: r1\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
        ));
        let out = a.finish();
        assert_eq!(out.parts.len(), 1, "{out:?}");
        assert_eq!(out.parts[0].function, "orders");
        assert_eq!(a.stats().unknown_function_parts, 0);
    }
}
