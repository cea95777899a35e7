//! One function's life: arrivals meet execution environments, environments start cold,
//! serve invocations, and retire; every step prints what Lambda would print.
//!
//! Events are buffered per function and flushed a day at a time (sorted by time, so streams
//! interleave as in an export) once no later arrival can still write into that day. The
//! truth is counted here, from the same values the log lines are formatted from.

use std::collections::BTreeMap;

use anyhow::Result;

use super::output::{Event, Writer};
use super::platform::{self, Report};
use super::runtime::{self, Ctx};
use super::sample::{self, Rng};
use super::spec::{Curve, FunctionSpec, LogFormat, Perf, Runtime};
use super::traffic;
use super::truth::{ChangeTruth, FunctionTruth, MemoryTruth, Outcomes};
use super::SimOptions;
use tern_core::model::Outcome;
use tern_core::time::{push_stream_date, MS_PER_DAY};

/// No invocation writes later than this after it arrives (15 min timeout + 10 s init + slack),
/// so a day can be flushed once arrivals are this far past its end.
const FLUSH_MARGIN_MS: i64 = 20 * 60_000;

/// Fleet-wide facts every function needs.
pub struct FleetCtx<'a> {
    pub opts: &'a SimOptions,
    pub account: &'a str,
    /// Environments created from this time on run the patched runtime version.
    pub runtime_patch_ms: i64,
}

struct Env {
    stream: u32,
    free_at: i64,
    idle_ttl: i64,
    retire_at: i64,
    /// Highest memory used so far: REPORT shows the environment's maximum.
    max_used_mb: u32,
    leaked_mb: f64,
    runtime_version: &'static str,
    /// The next invocation is the environment's first.
    fresh: bool,
    init_us: u64,
    restore: Option<(u64, u64)>,
}

#[derive(Default)]
struct MemoryAcc {
    invocations: u64,
    billed_ms: u64,
    duration_us: u64,
    max_used_mb: u32,
}

struct Run<'a> {
    spec: &'a FunctionSpec,
    fleet: &'a FleetCtx<'a>,
    arn: String,
    rng: Rng,
    streams: Vec<String>,
    stream_has_report: Vec<bool>,
    pending: Vec<Event>,
    seq: u32,
    envs: Vec<Env>,
    period: usize,
    /// Invocations served by environments so far (not counting init failures).
    served: u64,
    // truth accumulators
    outcomes: Outcomes,
    cold_starts: u64,
    billed_ms: u64,
    billed_restore_ms: u64,
    mb_ms: u128,
    restore_mb_ms: u128,
    max_used_mb: u32,
    duration_us: u64,
    duration_max_us: u64,
    by_memory: BTreeMap<u32, MemoryAcc>,
    versions: Vec<String>,
    first_ms: i64,
    last_ms: i64,
}

/// Simulate one function over the window, writing its files through `writer`.
pub fn run(
    spec: &FunctionSpec,
    fleet: &FleetCtx<'_>,
    writer: &mut Writer,
) -> Result<FunctionTruth> {
    let opts = fleet.opts;
    let mut arrival_rng = sample::rng_for(opts.seed, 0xA000_0000 + spec.index as u64);
    let arrivals = traffic::arrivals(spec, opts.start_ms, opts.days, &mut arrival_rng);
    let mut run = Run {
        spec,
        fleet,
        arn: spec.arn(fleet.account),
        rng: sample::rng_for(opts.seed, 0xB000_0000 + spec.index as u64),
        streams: Vec::new(),
        stream_has_report: Vec::new(),
        pending: Vec::new(),
        seq: 0,
        envs: Vec::new(),
        period: 0,
        served: 0,
        outcomes: Outcomes::default(),
        cold_starts: 0,
        billed_ms: 0,
        billed_restore_ms: 0,
        mb_ms: 0,
        restore_mb_ms: 0,
        max_used_mb: 0,
        duration_us: 0,
        duration_max_us: 0,
        by_memory: BTreeMap::new(),
        versions: Vec::new(),
        first_ms: i64::MAX,
        last_ms: i64::MIN,
    };
    run.snapshot_streams();

    let days = i64::from(opts.days);
    let day_end = |d: i64| opts.start_ms + (d + 1) * MS_PER_DAY;
    let mut next_flush = 0i64;
    for &t in &arrivals {
        while next_flush < days - 1 && t >= day_end(next_flush) + FLUSH_MARGIN_MS {
            run.flush(writer, next_flush, Some(day_end(next_flush)))?;
            next_flush += 1;
        }
        run.invoke(t);
    }
    while next_flush < days {
        // The last day also takes the few lines of invocations still running at the end.
        let limit = (next_flush < days - 1).then(|| day_end(next_flush));
        run.flush(writer, next_flush, limit)?;
        next_flush += 1;
    }
    Ok(run.truth(writer))
}

impl Run<'_> {
    fn emit(&mut self, ts: i64, stream: u32, msg: String) {
        self.pending.push(Event {
            ts,
            seq: self.seq,
            stream,
            msg,
        });
        self.seq += 1;
    }

    /// Write every pending event before `limit` (all of them when `None`) as day `day`.
    fn flush(&mut self, writer: &mut Writer, day: i64, limit: Option<i64>) -> Result<()> {
        self.pending.sort_unstable_by_key(|e| (e.ts, e.seq));
        let split = match limit {
            Some(l) => self.pending.partition_point(|e| e.ts < l),
            None => self.pending.len(),
        };
        if split == 0 {
            return Ok(());
        }
        let rest = self.pending.split_off(split);
        let day_events = std::mem::replace(&mut self.pending, rest);
        let day_start = self.fleet.opts.start_ms + day * MS_PER_DAY;
        writer.write_day(self.spec, day_start, &self.streams, &day_events)
    }

    fn new_stream(&mut self, t: i64, version: &str) -> u32 {
        let mut name = String::with_capacity(64);
        push_stream_date(&mut name, t);
        name.push('/');
        if self.spec.custom_group {
            name.push_str(&self.spec.name);
        }
        name.push('[');
        name.push_str(version);
        name.push(']');
        sample::push_hex32(&mut name, &mut self.rng);
        self.streams.push(name);
        self.stream_has_report.push(false);
        (self.streams.len() - 1) as u32
    }

    fn runtime_version(&self, t: i64) -> &'static str {
        self.spec.runtime.version(t >= self.fleet.runtime_patch_ms)
    }

    fn runtime_arn(&self, version: &str) -> String {
        let mut s = String::from("arn:aws:lambda:us-east-1::runtime:");
        let mut h = version.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        for _ in 0..4 {
            h = sample::splitmix64(h);
            sample::push_hex(&mut s, h, 16);
        }
        s
    }

    fn ctx<'b>(&self, request_id: &'b str, trace_id: &'b str) -> Ctx<'b> {
        Ctx {
            runtime: self.spec.runtime,
            format: self.spec.format,
            request_id,
            trace_id,
            legacy_python_json: self.spec.legacy_python_json,
        }
    }

    fn init_us(&mut self, memory_mb: u32) -> u64 {
        let rt = self.spec.runtime;
        let scale = (1024.0 / f64::from(memory_mb.min(1769))).powf(0.25);
        let mut ms = sample::lognormal(&mut self.rng, rt.init_median_ms() * scale, 0.25);
        if self.spec.extension {
            ms += sample::uniform(&mut self.rng, 90.0, 220.0);
        }
        quantize(ms.min(9_900.0))
    }

    /// SnapStart: publishing a version runs the init once, in its own stream, before the
    /// alias moves to it (INIT_START + `INIT_REPORT Init Duration`, no invocation).
    fn snapshot_streams(&mut self) {
        if !self.spec.snap_start {
            return;
        }
        let deploys: Vec<(i64, String, u32)> = self
            .spec
            .periods
            .iter()
            .skip(1)
            .map(|p| (p.from_ms, p.version.clone(), p.memory_mb))
            .collect();
        for (from, version, memory) in deploys {
            let t = from - 95_000;
            let stream = self.new_stream(t, &version);
            let rv = self.runtime_version(t);
            let arn = self.runtime_arn(rv);
            self.emit(t, stream, platform::init_start(rv, &arn));
            let init = self.init_us(memory) * 3;
            if let Some(line) = runtime::init_line(self.spec.runtime, self.spec.format, t + 40) {
                self.emit(t + 40, stream, line);
            }
            self.emit(
                t + ceil_ms(init) as i64,
                stream,
                platform::init_report(init, None, None, None),
            );
        }
    }

    fn invoke(&mut self, t: i64) {
        let spec = self.spec;
        while self.period + 1 < spec.periods.len() && t >= spec.periods[self.period + 1].from_ms {
            self.period += 1;
            // A deploy or configuration change replaces every environment.
            self.envs.clear();
        }
        let period = &spec.periods[self.period];
        let mut request_id = String::with_capacity(36);
        sample::push_uuid(&mut request_id, &mut self.rng);
        if !self.versions.contains(&period.version) {
            self.versions.push(period.version.clone());
        }
        if period.broken {
            self.init_error(t, &request_id);
            return;
        }
        let memory = period.memory_mb;

        // Environments idle too long or past their lifetime are gone.
        self.envs
            .retain(|e| e.free_at > t || (t - e.free_at <= e.idle_ttl && t < e.retire_at));
        let mut chosen: Option<usize> = None;
        for (i, e) in self.envs.iter().enumerate() {
            if e.free_at <= t && chosen.is_none_or(|c| e.free_at > self.envs[c].free_at) {
                chosen = Some(i);
            }
        }
        let env_idx = match chosen {
            Some(i) => i,
            None => {
                let env = self.new_env(t, memory);
                self.envs.push(env);
                self.envs.len() - 1
            }
        };

        let mut trace = String::new();
        if spec.runtime == Runtime::Dotnet && spec.format == LogFormat::Json {
            trace.push_str("Root=1-");
            sample::push_hex(&mut trace, (t / 1000) as u64, 8);
            trace.push('-');
            sample::push_hex32(&mut trace, &mut self.rng);
            trace.truncate(7 + 8 + 1 + 24);
        }

        let stream = self.envs[env_idx].stream;
        let fresh = self.envs[env_idx].fresh;
        let mut start_ts = t;
        let mut init_us = None;
        let mut restore = None;
        if fresh {
            self.envs[env_idx].fresh = false;
            self.cold_starts += 1;
            if spec.snap_start {
                let (r_us, billed) = self.envs[env_idx].restore.unwrap_or((0, 0));
                let rv = self.envs[env_idx].runtime_version;
                let arn = self.runtime_arn(rv);
                self.emit(t, stream, platform::restore_start(rv, &arn));
                let r_end = t + ceil_ms(r_us) as i64;
                self.emit(r_end, stream, platform::restore_report(r_us));
                start_ts = r_end + 1;
                restore = Some((r_us, billed));
            } else {
                let i_us = self.envs[env_idx].init_us;
                self.cold_start_lines(t, stream, env_idx, i_us, memory);
                start_ts = t + ceil_ms(i_us) as i64;
                init_us = Some(i_us);
            }
        }

        // How long the handler runs and how it ends.
        let perf = &spec.perf;
        let mut dur_ms = if spec.curve == Curve::Classic {
            let cpu_scale = 1769.0 / f64::from(memory.min(1769));
            sample::lognormal(&mut self.rng, perf.io_ms, perf.sigma)
                + sample::lognormal(&mut self.rng, perf.cpu_ms, perf.sigma) * cpu_scale
        } else {
            family_duration(spec.curve, perf, memory, &mut self.rng)
        };
        if fresh {
            dur_ms *= match spec.runtime {
                Runtime::Java if !spec.snap_start => 1.6,
                Runtime::Java | Runtime::Dotnet => 1.3,
                _ => 1.1,
            };
        }
        dur_ms = (dur_ms * period.duration_factor).max(0.6);
        let base_mb = spec.runtime.base_memory_mb()
            + perf.work_mb * sample::uniform(&mut self.rng, 0.85, 1.05);
        self.envs[env_idx].leaked_mb += perf.leak_mb;
        let used_mb = base_mb + self.envs[env_idx].leaked_mb;
        let timeout_ms = spec.timeout_ms() as f64;
        let error_p = match spec.faults.incident {
            Some((from, to, p)) if t >= from && t < to => p,
            _ => period.error_rate.unwrap_or(spec.faults.error),
        };
        // Every fault a function is configured with happens at least once early on, so even
        // a small fleet shows every shape.
        self.served += 1;
        let faults = &spec.faults;
        let forced = match self.served {
            5 if faults.error > 0.0 => Some(Outcome::Error),
            9 if faults.timeout > 0.0 => Some(Outcome::Timeout),
            13 if faults.oom > 0.0 => Some(Outcome::OutOfMemory),
            17 if faults.crash > 0.0 => Some(Outcome::Crash),
            _ => None,
        };
        let outcome = if used_mb >= f64::from(memory) {
            dur_ms *= sample::uniform(&mut self.rng, 0.3, 1.0);
            Outcome::OutOfMemory
        } else if dur_ms >= timeout_ms
            || forced == Some(Outcome::Timeout)
            || sample::chance(&mut self.rng, faults.timeout)
        {
            Outcome::Timeout
        } else if forced == Some(Outcome::OutOfMemory) || sample::chance(&mut self.rng, faults.oom)
        {
            dur_ms *= sample::uniform(&mut self.rng, 0.3, 1.0);
            Outcome::OutOfMemory
        } else if forced == Some(Outcome::Crash) || sample::chance(&mut self.rng, faults.crash) {
            dur_ms *= sample::uniform(&mut self.rng, 0.2, 1.0);
            Outcome::Crash
        } else if forced == Some(Outcome::Error) || sample::chance(&mut self.rng, error_p) {
            dur_ms *= sample::uniform(&mut self.rng, 0.3, 1.0);
            Outcome::Error
        } else {
            Outcome::Success
        };
        let legacy_timeout =
            outcome == Outcome::Timeout && spec.legacy_timeout && spec.format == LogFormat::Text;
        let dur_us = match outcome {
            Outcome::Timeout if legacy_timeout => {
                quantize(timeout_ms + sample::uniform(&mut self.rng, 0.5, 40.0))
            }
            Outcome::Timeout => spec.timeout_ms() as u64 * 1000,
            _ => quantize(dur_ms.min(timeout_ms - 1.0)),
        };
        let end_ts = start_ts + ceil_ms(dur_us) as i64;

        // Memory as REPORT shows it: the environment's maximum so far.
        let env = &mut self.envs[env_idx];
        let reported_mb = if outcome == Outcome::OutOfMemory {
            let shown = if spec.legacy_oom {
                memory
            } else {
                memory.saturating_sub(sample::int(&mut self.rng, 0, 4) as u32)
            };
            env.max_used_mb = env.max_used_mb.max(shown);
            shown
        } else {
            let used = (used_mb.round() as u32).clamp(1, memory.saturating_sub(1).max(1));
            env.max_used_mb = env.max_used_mb.max(used);
            env.max_used_mb
        };

        // START, application output, the ending.
        let format = spec.format;
        let version = period.version.clone();
        match format {
            LogFormat::Text => self.emit(start_ts, stream, platform::start(&request_id, &version)),
            LogFormat::Json => {
                let line = platform::json_start(start_ts, &request_id, &self.arn, &version);
                self.emit(start_ts, stream, line);
            }
        }
        let lines = sample::poisson(&mut self.rng, spec.chattiness).min(8);
        let span = (end_ts - start_ts).max(1);
        let logged_error = sample::chance(&mut self.rng, spec.faults.logged_error);
        for i in 0..lines {
            let at = start_ts + span * (i as i64 + 1) / (lines as i64 + 2);
            let ctx = self.ctx(&request_id, &trace);
            let line = if logged_error && i == lines / 2 {
                runtime::logged_error_line(&ctx, at, &mut self.rng)
            } else if spec.runtime == Runtime::Python
                && format == LogFormat::Json
                && sample::chance(&mut self.rng, 0.1)
            {
                runtime::print_line(&mut self.rng)
            } else {
                runtime::info_line(&ctx, at, &mut self.rng)
            };
            self.emit(at, stream, line);
        }
        if logged_error && lines == 0 {
            let ctx = self.ctx(&request_id, &trace);
            let line = runtime::logged_error_line(&ctx, start_ts, &mut self.rng);
            self.emit(start_ts, stream, line);
        }
        let mut crash_reason = "";
        match outcome {
            Outcome::Error => {
                let ctx = self.ctx(&request_id, &trace);
                for line in runtime::handler_error(&ctx, end_ts, &mut self.rng) {
                    self.emit(end_ts, stream, line);
                }
            }
            Outcome::Crash => {
                let ctx = self.ctx(&request_id, &trace);
                let (reason, lines) = runtime::crash_output(&ctx, end_ts);
                crash_reason = reason;
                for line in lines {
                    self.emit(end_ts, stream, line);
                }
            }
            Outcome::Timeout if legacy_timeout => {
                self.emit(
                    end_ts,
                    stream,
                    platform::task_timed_out(end_ts, &request_id, dur_us),
                );
            }
            _ => {}
        }

        let billed_ms = if restore.is_some() {
            ceil_ms(dur_us)
        } else if let Some(init) = init_us {
            ceil_ms(dur_us + init)
        } else if legacy_timeout {
            spec.timeout_ms() as u64
        } else {
            ceil_ms(dur_us)
        };
        let (status, error_type) = match outcome {
            Outcome::Success | Outcome::Error => (None, None),
            Outcome::Timeout if legacy_timeout => (None, None),
            Outcome::Timeout => (Some("timeout"), None),
            Outcome::OutOfMemory if spec.legacy_oom && format == LogFormat::Text => (None, None),
            Outcome::OutOfMemory => (Some("error"), Some("Runtime.OutOfMemory")),
            Outcome::Crash => (Some("error"), Some("Runtime.ExitError")),
            // An invoke never draws this: `init_error` writes its own report.
            Outcome::InitError => (Some("error"), None),
        };
        let xray = spec.xray.then(|| {
            let (a, b, c) = (self.rng_u64(), self.rng_u64(), self.rng_u64());
            platform::xray_line(start_ts, a, b, c)
        });
        let report = Report {
            request_id: &request_id,
            duration_us: dur_us,
            billed_ms,
            memory_mb: memory,
            max_used_mb: reported_mb,
            init_us,
            restore,
            status,
            error_type,
            xray: xray.as_deref(),
        };
        match format {
            LogFormat::Text => {
                self.emit(end_ts, stream, platform::end(&request_id));
                self.emit(end_ts, stream, platform::report(&report));
                if outcome == Outcome::OutOfMemory && spec.legacy_oom {
                    self.emit(
                        end_ts,
                        stream,
                        platform::runtime_exit(&request_id, "signal: killed"),
                    );
                } else if outcome == Outcome::Crash {
                    self.emit(
                        end_ts,
                        stream,
                        platform::runtime_exit(&request_id, crash_reason),
                    );
                }
            }
            LogFormat::Json => {
                let line = platform::json_report(end_ts, &report);
                self.emit(end_ts, stream, line);
            }
        }
        self.stream_has_report[stream as usize] = true;
        self.count(
            outcome,
            memory,
            dur_us,
            billed_ms,
            restore,
            reported_mb,
            end_ts,
        );

        // The platform resets an environment after a timeout, an OOM kill or a crash.
        match outcome {
            Outcome::Timeout | Outcome::OutOfMemory | Outcome::Crash | Outcome::InitError => {
                self.envs.remove(env_idx);
            }
            Outcome::Success | Outcome::Error => {
                let overhead = sample::int(&mut self.rng, 1, 4);
                self.envs[env_idx].free_at = end_ts + overhead;
            }
        }
    }

    fn rng_u64(&mut self) -> u64 {
        sample::next_u64(&mut self.rng)
    }

    fn new_env(&mut self, t: i64, memory: u32) -> Env {
        let version = self.spec.periods[self.period].version.clone();
        let stream = self.new_stream(t, &version);
        let init_us = self.init_us(memory);
        let restore = self.spec.snap_start.then(|| {
            let r = quantize(sample::lognormal(&mut self.rng, 420.0, 0.3));
            let billed =
                (r as f64 / 1000.0 * sample::uniform(&mut self.rng, 0.1, 0.2)).ceil() as u64;
            (r, billed.max(1))
        });
        Env {
            stream,
            free_at: t,
            idle_ttl: sample::int(&mut self.rng, 5 * 60_000, 30 * 60_000),
            retire_at: t + sample::int(&mut self.rng, 90 * 60_000, 6 * 3_600_000),
            max_used_mb: 0,
            leaked_mb: 0.0,
            runtime_version: self.runtime_version(t),
            fresh: true,
            init_us,
            restore,
        }
    }

    /// INIT_START, or `platform.initStart` in the JSON log format.
    fn init_start(&mut self, t: i64, stream: u32, rv: &str, version: &str, memory: u32) {
        let arn = self.runtime_arn(rv);
        let line = match self.spec.format {
            LogFormat::Text => platform::init_start(rv, &arn),
            LogFormat::Json => platform::json_init_start(
                t,
                &platform::JsonInitStart {
                    runtime_version: rv,
                    runtime_version_arn: &arn,
                    function_name: &self.spec.name,
                    function_version: version,
                    instance_id: &self.streams[stream as usize],
                    memory_mb: memory,
                },
            ),
        };
        self.emit(t, stream, line);
    }

    /// INIT_START (or `platform.initStart`), extension registration and init-time output.
    fn cold_start_lines(&mut self, t: i64, stream: u32, env_idx: usize, init_us: u64, memory: u32) {
        let spec = self.spec;
        let rv = self.envs[env_idx].runtime_version;
        self.init_start(t, stream, rv, &spec.periods[self.period].version, memory);
        let init_ms = ceil_ms(init_us) as i64;
        if spec.extension && spec.format == LogFormat::Text {
            self.emit(
                t + 2,
                stream,
                platform::telemetry_subscribed("datadog-agent"),
            );
            self.emit(
                t + (init_ms - 3).max(2),
                stream,
                platform::extension_ready("datadog-agent"),
            );
        }
        if sample::chance(&mut self.rng, 0.7) {
            let at = t + init_ms / 2;
            if let Some(line) = runtime::init_line(spec.runtime, spec.format, at) {
                self.emit(at, stream, line);
            }
        }
    }

    /// A bad deploy: the init fails (INIT_REPORT Phase: init), is re-run inside the invoke
    /// and fails again (a suppressed init, Phase: invoke), and the REPORT carries the error
    /// type. The environment is discarded.
    fn init_error(&mut self, t: i64, request_id: &str) {
        let spec = self.spec;
        let period = &spec.periods[self.period];
        let memory = period.memory_mb;
        let version = period.version.clone();
        let stream = self.new_stream(t, &version);
        let rv = self.runtime_version(t);
        let format = spec.format;
        self.init_start(t, stream, rv, &version, memory);
        let init1 = quantize(sample::lognormal(
            &mut self.rng,
            spec.runtime.init_median_ms() * 0.5,
            0.3,
        ));
        let init2 = quantize(sample::lognormal(
            &mut self.rng,
            spec.runtime.init_median_ms() * 0.4,
            0.3,
        ));
        let t1 = t + ceil_ms(init1) as i64;
        let t2 = t1 + 1 + ceil_ms(init2) as i64;
        let ctx = self.ctx(request_id, "");
        let (error_type, lines) = runtime::init_failure(&ctx, t + ceil_ms(init1) as i64 / 2);
        for line in lines.iter() {
            self.emit(t + ceil_ms(init1) as i64 / 2, stream, line.clone());
        }
        match format {
            LogFormat::Text => {
                self.emit(
                    t1,
                    stream,
                    platform::init_report(init1, Some("init"), Some("error"), Some(error_type)),
                );
            }
            LogFormat::Json => {
                self.emit(
                    t1,
                    stream,
                    platform::json_init_report(t1, init1, "init", "error", Some(error_type)),
                );
            }
        }
        let ctx = self.ctx(request_id, "");
        let (_, again) = runtime::init_failure(&ctx, t1 + 1);
        for line in again {
            self.emit(t1 + 1, stream, line);
        }
        let dur_us = init2 + quantize(sample::uniform(&mut self.rng, 1.0, 15.0));
        let end_ts = t2 + ceil_ms(dur_us - init2) as i64;
        let used = (spec.runtime.base_memory_mb() * 0.8).round() as u32;
        let report = Report {
            request_id,
            duration_us: dur_us,
            billed_ms: ceil_ms(dur_us),
            memory_mb: memory,
            max_used_mb: used.min(memory - 1),
            init_us: None,
            restore: None,
            status: Some("error"),
            error_type: Some(error_type),
            xray: None,
        };
        match format {
            LogFormat::Text => {
                self.emit(
                    t2,
                    stream,
                    platform::init_report(init2, Some("invoke"), Some("error"), Some(error_type)),
                );
                self.emit(t2, stream, platform::start(request_id, &version));
                self.emit(end_ts, stream, platform::end(request_id));
                self.emit(end_ts, stream, platform::report(&report));
            }
            LogFormat::Json => {
                self.emit(
                    t2,
                    stream,
                    platform::json_init_report(t2, init2, "invoke", "error", Some(error_type)),
                );
                self.emit(
                    t2,
                    stream,
                    platform::json_start(t2, request_id, &self.arn, &version),
                );
                self.emit(end_ts, stream, platform::json_report(end_ts, &report));
            }
        }
        self.stream_has_report[stream as usize] = true;
        self.cold_starts += 1;
        self.count(
            Outcome::InitError,
            memory,
            dur_us,
            report.billed_ms,
            None,
            report.max_used_mb,
            end_ts,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn count(
        &mut self,
        outcome: Outcome,
        memory: u32,
        dur_us: u64,
        billed_ms: u64,
        restore: Option<(u64, u64)>,
        used_mb: u32,
        end_ts: i64,
    ) {
        let o = &mut self.outcomes;
        match outcome {
            Outcome::Success => o.success += 1,
            Outcome::Error => o.error += 1,
            Outcome::Timeout => o.timeout += 1,
            Outcome::OutOfMemory => o.out_of_memory += 1,
            Outcome::Crash => o.crash += 1,
            Outcome::InitError => o.init_error += 1,
        }
        self.billed_ms += billed_ms;
        self.mb_ms += u128::from(billed_ms) * u128::from(memory);
        if let Some((_, b)) = restore {
            self.billed_restore_ms += b;
            self.restore_mb_ms += u128::from(b) * u128::from(memory);
        }
        self.max_used_mb = self.max_used_mb.max(used_mb);
        self.duration_us += dur_us;
        self.duration_max_us = self.duration_max_us.max(dur_us);
        self.first_ms = self.first_ms.min(end_ts);
        self.last_ms = self.last_ms.max(end_ts);
        let m = self.by_memory.entry(memory).or_default();
        m.invocations += 1;
        m.billed_ms += billed_ms;
        m.duration_us += dur_us;
        m.max_used_mb = m.max_used_mb.max(used_mb);
    }

    fn truth(self, writer: &Writer) -> FunctionTruth {
        let spec = self.spec;
        let invocations = self.outcomes.total();
        let files = writer.function_files(spec.index);
        let mut truth = FunctionTruth {
            name: spec.name.clone(),
            log_group: spec.log_group.clone(),
            runtime: spec.runtime.id(),
            architecture: spec.arch.as_str(),
            log_format: spec.format.as_str(),
            timeout_s: spec.timeout_s,
            memory_sizes_mb: self.by_memory.keys().copied().collect(),
            versions: self.versions,
            snap_start: spec.snap_start,
            xray: spec.xray,
            traffic: spec.traffic.as_str(),
            expected_invocations_per_day: round2(spec.rate_per_day),
            scenarios: spec.scenarios.clone(),
            output_format: spec.output.as_str(),
            invocations,
            errors: invocations - self.outcomes.success,
            outcomes: self.outcomes,
            cold_starts: self.cold_starts,
            environments: self.stream_has_report.iter().filter(|&&r| r).count() as u64,
            log_streams: self.streams.len() as u64,
            billed_ms: self.billed_ms,
            billed_restore_ms: self.billed_restore_ms,
            gb_seconds: gb_seconds(self.mb_ms),
            restore_gb_seconds: gb_seconds(self.restore_mb_ms),
            max_memory_used_mb: self.max_used_mb,
            duration_ms_sum: self.duration_us as f64 / 1000.0,
            duration_ms_max: self.duration_max_us as f64 / 1000.0,
            first_report_ms: self.first_ms,
            last_report_ms: self.last_ms,
            by_memory: self
                .by_memory
                .iter()
                .map(|(&memory_mb, m)| MemoryTruth {
                    memory_mb,
                    invocations: m.invocations,
                    billed_ms: m.billed_ms,
                    gb_seconds: gb_seconds(u128::from(m.billed_ms) * u128::from(memory_mb)),
                    duration_ms_sum: m.duration_us as f64 / 1000.0,
                    duration_ms_avg: round2(
                        m.duration_us as f64 / 1000.0 / m.invocations.max(1) as f64,
                    ),
                    max_memory_used_mb: m.max_used_mb,
                })
                .collect(),
            changes: spec
                .periods
                .iter()
                .skip(1)
                .map(|p| ChangeTruth {
                    at_ms: p.from_ms,
                    kind: p.kind.as_str(),
                    version: p.version.clone(),
                    memory_mb: p.memory_mb,
                    broken: p.broken,
                    duration_factor: p.duration_factor,
                    error_rate: p.error_rate,
                })
                .collect(),
            events: u64::from(self.seq),
            files,
            duration_model: super::truth::duration_truth(spec),
            problems: Vec::new(),
        };
        truth.problems = super::truth::problems(spec, &truth);
        truth
    }
}

/// Milliseconds to microseconds in 10 µs steps, so two decimals print every digit.
fn quantize(ms: f64) -> u64 {
    ((ms.max(0.01) * 100.0).round() as u64) * 10
}

fn ceil_ms(us: u64) -> u64 {
    us.div_ceil(1000)
}

/// MB·ms to GB-seconds.
fn gb_seconds(mb_ms: u128) -> f64 {
    mb_ms as f64 / 1024.0 / 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One handler duration of a function whose curve is not the classic one: pick the mode, then
/// its I/O part plus its CPU part at the curve's speed-up for `memory_mb`.
pub(super) fn family_duration(curve: Curve, perf: &Perf, memory_mb: u32, rng: &mut Rng) -> f64 {
    let modes = curve.modes();
    let mut u = if modes.len() > 1 {
        sample::unit(rng)
    } else {
        0.0
    };
    let mut mode = modes.last().copied().unwrap_or((1.0, 0.0, 1.0));
    for &m in &modes {
        if u < m.0 {
            mode = m;
            break;
        }
        u -= m.0;
    }
    let (_, extra_io, cpu_mult) = mode;
    sample::lognormal(rng, perf.io_ms + extra_io, perf.sigma)
        + sample::lognormal(rng, perf.cpu_ms * cpu_mult, perf.sigma) * curve.cpu_scale(memory_mb)
}
