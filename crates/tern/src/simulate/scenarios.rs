//! The hand-written functions: every log shape the simulator knows, in a dozen functions.

use super::sample::{self, Rng};
use super::spec::{
    base, change, period, ChangeKind, Faults, FunctionSpec, LogFormat, Perf, Runtime, Traffic,
};
use tern_core::model::Arch;

/// The hand-written functions. Returns the spec and its desired popularity.
pub(super) fn scenario(
    index: usize,
    rng: &mut Rng,
    start: i64,
    at: &dyn Fn(f64) -> i64,
) -> (FunctionSpec, f64) {
    const MIN: i64 = 60_000;
    let s = match index {
        0 => {
            let mut s = base(index, "orders-api", Runtime::Python);
            s.timeout_s = 10;
            s.traffic = Traffic::Diurnal { peak_hour: 14.0 };
            s.xray = true;
            s.periods = vec![period(start, "$LATEST", 512)];
            s.perf = Perf {
                io_ms: 45.0,
                cpu_ms: 9.0,
                sigma: 0.5,
                work_mb: 31.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.002,
                timeout: 0.0005,
                logged_error: 0.01,
                ..Faults::default()
            };
            s.chattiness = 1.4;
            s.scenarios = vec!["hot", "xray", "handled_errors"];
            (s, 0.0)
        }
        1 => {
            let mut s = base(index, "checkout-api", Runtime::Node);
            s.format = LogFormat::Json;
            s.arch = Arch::Arm64;
            s.timeout_s = 15;
            s.traffic = Traffic::Diurnal { peak_hour: 19.0 };
            s.periods = vec![period(start, "$LATEST", 1024)];
            s.perf = Perf {
                io_ms: 110.0,
                cpu_ms: 12.0,
                sigma: 0.55,
                work_mb: 44.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.006,
                timeout: 0.0015,
                logged_error: 0.004,
                incident: Some((at(0.7), at(0.7) + 45 * MIN, 0.3)),
                ..Faults::default()
            };
            s.chattiness = 1.3;
            s.scenarios = vec!["hot", "json_format", "incident"];
            (s, 0.03)
        }
        2 => {
            let mut s = base(index, "pricing-engine", Runtime::Java);
            s.snap_start = true;
            s.timeout_s = 30;
            s.traffic = Traffic::Steady;
            s.periods = vec![
                period(start, "3", 2048),
                change(at(0.6), "4", 2048, ChangeKind::Deploy, false),
            ];
            s.perf = Perf {
                io_ms: 25.0,
                cpu_ms: 40.0,
                sigma: 0.4,
                work_mb: 60.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.004,
                ..Faults::default()
            };
            s.chattiness = 1.2;
            s.scenarios = vec!["snap_start", "published_version", "deploy"];
            (s, 0.25)
        }
        3 => {
            let mut s = base(index, "report-renderer", Runtime::Dotnet);
            s.arch = Arch::Arm64;
            s.timeout_s = 60;
            s.traffic = Traffic::Steady;
            s.periods = vec![period(start, "$LATEST", 3008)];
            s.perf = Perf {
                io_ms: 180.0,
                cpu_ms: 20.0,
                sigma: 0.35,
                work_mb: 12.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.02,
                ..Faults::default()
            };
            s.chattiness = 1.0;
            s.scenarios = vec!["over_provisioned", "errors"];
            (s, 0.22)
        }
        4 => {
            let mut s = base(index, "image-resizer", Runtime::Go);
            s.timeout_s = 30;
            s.traffic = Traffic::Bursty {
                bursts_per_day: 6.0,
                burst_secs: 90.0,
            };
            s.periods = vec![
                period(start, "$LATEST", 512),
                change(at(0.5), "$LATEST", 1024, ChangeKind::MemoryChange, false),
            ];
            s.perf = Perf {
                io_ms: 15.0,
                cpu_ms: 700.0,
                sigma: 0.2,
                work_mb: 95.0,
                leak_mb: 0.0,
            };
            // Oversized images occasionally blow the memory limit.
            s.faults = Faults {
                crash: 0.004,
                error: 0.002,
                oom: 0.004,
                ..Faults::default()
            };
            s.chattiness = 1.0;
            s.scenarios = vec!["cpu_bound", "memory_change", "bursty", "oom"];
            (s, 0.15)
        }
        5 => {
            let mut s = base(index, "invoice-mailer", Runtime::Ruby);
            s.timeout_s = 30;
            s.traffic = Traffic::Bursty {
                bursts_per_day: 3.0,
                burst_secs: 240.0,
            };
            s.periods = vec![period(start, "$LATEST", 256)];
            s.perf = Perf {
                io_ms: 300.0,
                cpu_ms: 15.0,
                sigma: 0.5,
                work_mb: 28.0,
                leak_mb: 0.0,
            };
            // Sends to SES occasionally hang until the timeout.
            s.faults = Faults {
                error: 0.02,
                timeout: 0.01,
                ..Faults::default()
            };
            s.chattiness = 1.4;
            s.scenarios = vec!["bursty", "errors", "timeouts"];
            (s, 0.3)
        }
        6 => {
            let mut s = base(index, "nightly-export", Runtime::Python);
            s.arch = Arch::Arm64;
            s.timeout_s = 300;
            s.traffic = Traffic::Cron { interval_s: 900 };
            s.periods = vec![period(start, "$LATEST", 1769)];
            s.perf = Perf {
                io_ms: 26_000.0,
                cpu_ms: 900.0,
                sigma: 0.3,
                work_mb: 240.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.01,
                ..Faults::default()
            };
            s.chattiness = 3.0;
            s.scenarios = vec!["slow", "cron"];
            (s, 0.6)
        }
        7 => {
            let mut s = base(index, "payment-webhook", Runtime::Node);
            s.timeout_s = 6;
            s.traffic = Traffic::Diurnal { peak_hour: 16.0 };
            s.legacy_timeout = true;
            s.periods = vec![
                period(start, "$LATEST", 256),
                change(at(0.3), "$LATEST", 256, ChangeKind::Deploy, true),
                change(
                    at(0.3) + 25 * MIN,
                    "$LATEST",
                    256,
                    ChangeKind::Deploy,
                    false,
                ),
            ];
            s.perf = Perf {
                io_ms: 4500.0,
                cpu_ms: 5.0,
                sigma: 0.12,
                work_mb: 30.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.004,
                ..Faults::default()
            };
            s.chattiness = 1.5;
            s.scenarios = vec!["near_timeout", "legacy_timeout_line", "broken_deploy"];
            (s, 0.2)
        }
        8 => {
            let mut s = base(index, "user-sync", Runtime::Python);
            s.timeout_s = 30;
            s.traffic = Traffic::Steady;
            s.xray = true;
            s.periods = vec![
                period(start, "7", 1024),
                change(at(0.45), "8", 1024, ChangeKind::Deploy, true),
                change(at(0.45) + 35 * MIN, "9", 1024, ChangeKind::Deploy, false),
            ];
            s.perf = Perf {
                io_ms: 140.0,
                cpu_ms: 10.0,
                sigma: 0.4,
                work_mb: 55.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.003,
                ..Faults::default()
            };
            s.scenarios = vec!["published_version", "deploy", "broken_deploy", "xray"];
            (s, 0.1)
        }
        9 => {
            let mut s = base(index, "etl-transform", Runtime::Python);
            s.format = LogFormat::Json;
            s.timeout_s = 60;
            s.traffic = Traffic::Diurnal { peak_hour: 3.0 };
            s.periods = vec![period(start, "$LATEST", 256)];
            s.perf = Perf {
                io_ms: 800.0,
                cpu_ms: 60.0,
                sigma: 0.4,
                work_mb: 70.0,
                leak_mb: 2.5,
            };
            s.faults = Faults {
                timeout: 0.002,
                error: 0.004,
                ..Faults::default()
            };
            s.legacy_python_json = true;
            s.scenarios = vec!["json_format", "oom_leak", "timeouts"];
            (s, 0.12)
        }
        10 => {
            let mut s = base(index, "search-indexer", Runtime::Node);
            s.arch = Arch::Arm64;
            s.timeout_s = 20;
            s.traffic = Traffic::Steady;
            s.legacy_oom = true;
            s.extension = true;
            s.periods = vec![period(start, "$LATEST", 128)];
            s.perf = Perf {
                io_ms: 90.0,
                cpu_ms: 30.0,
                sigma: 0.4,
                work_mb: 18.0,
                leak_mb: 1.5,
            };
            s.faults = Faults {
                crash: 0.006,
                ..Faults::default()
            };
            s.scenarios = vec!["oom_leak", "legacy_oom", "crash", "extension"];
            (s, 0.2)
        }
        11 => {
            let mut s = base(index, "audit-writer", Runtime::Go);
            s.arch = Arch::Arm64;
            s.timeout_s = 10;
            s.custom_group = true;
            s.traffic = Traffic::Diurnal { peak_hour: 11.0 };
            s.periods = vec![period(start, "$LATEST", 128)];
            s.perf = Perf {
                io_ms: 35.0,
                cpu_ms: 3.0,
                sigma: 0.5,
                work_mb: 9.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.01,
                crash: 0.001,
                timeout: 0.003,
                ..Faults::default()
            };
            s.scenarios = vec!["custom_log_group", "crash", "errors", "timeouts"];
            (s, 0.5)
        }
        12 => {
            let mut s = base(index, "notify-dispatcher", Runtime::Dotnet);
            s.format = LogFormat::Json;
            s.timeout_s = 5;
            s.custom_group = true;
            s.traffic = Traffic::Steady;
            s.periods = vec![period(start, "$LATEST", 512)];
            s.perf = Perf {
                io_ms: 220.0,
                cpu_ms: 8.0,
                sigma: 0.6,
                work_mb: 25.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.015,
                timeout: 0.004,
                ..Faults::default()
            };
            s.scenarios = vec!["custom_log_group", "json_format", "timeouts", "errors"];
            (s, 0.28)
        }
        _ => {
            let mut s = base(index, "fraud-scorer", Runtime::Java);
            s.arch = Arch::Arm64;
            s.timeout_s = 15;
            s.traffic = Traffic::Diurnal { peak_hour: 20.0 };
            // A configuration change down to 768 MB and back: a natural experiment.
            s.periods = vec![
                period(start, "$LATEST", 1536),
                change(at(0.35), "$LATEST", 768, ChangeKind::MemoryChange, false),
                change(at(0.7), "$LATEST", 1536, ChangeKind::MemoryChange, false),
            ];
            s.perf = Perf {
                io_ms: 20.0,
                cpu_ms: 180.0,
                sigma: 0.3,
                work_mb: 80.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.004,
                timeout: 0.003,
                ..Faults::default()
            };
            s.scenarios = vec!["cpu_bound", "timeouts", "memory_change"];
            (s, 0.3)
        }
    };
    // Scenario functions still consume the generator so the random tail does not depend on
    // how many scenarios precede it.
    let _ = sample::unit(rng);
    s
}
