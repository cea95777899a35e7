//! Lambda's own log lines (the platform), in both log formats. Shapes follow
//! reference/lambda-logs.md §1 (text) and §2 (JSON); each function names the section.

use super::json::push_quoted;
use tern_core::time::push_iso_ms;

/// Push a duration held in microseconds as milliseconds with two decimals (`619.31`).
/// Text-format durations are generated in 10 µs steps, so nothing is rounded here.
pub fn push_ms2(out: &mut String, us: u64) {
    push_u64(out, us / 1000);
    out.push('.');
    let frac = (us % 1000) / 10;
    if frac < 10 {
        out.push('0');
    }
    push_u64(out, frac);
}

/// Push a duration held in microseconds as a JSON number of milliseconds with up to three
/// decimals and at least one (`1233.96`, `463.512`, `5000.0`), as `platform.report` prints.
pub fn push_ms3(out: &mut String, us: u64) {
    push_u64(out, us / 1000);
    out.push('.');
    let frac = us % 1000;
    let digits = [frac / 100, frac / 10 % 10, frac % 10];
    let keep = if digits[2] != 0 {
        3
    } else if digits[1] != 0 {
        2
    } else {
        1
    };
    for d in &digits[..keep] {
        out.push((b'0' + *d as u8) as char);
    }
}

pub fn push_u64(out: &mut String, v: u64) {
    tern_core::time::push_unsigned(out, v, 1);
}

/// The fields of one REPORT line / `platform.report` record.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub request_id: &'a str,
    pub duration_us: u64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_used_mb: u32,
    pub init_us: Option<u64>,
    /// SnapStart: (Restore Duration µs, Billed Restore Duration ms).
    pub restore: Option<(u64, u64)>,
    /// `timeout` or `error`; `None` is a platform success (handler errors included).
    pub status: Option<&'a str>,
    pub error_type: Option<&'a str>,
    /// `XRAY TraceId: …\tSegmentId: …\tSampled: true`, appended as a second line.
    pub xray: Option<&'a str>,
}

/// §1.1 `START RequestId: <id> Version: <v>\n`.
pub fn start(request_id: &str, version: &str) -> String {
    let mut s = String::with_capacity(80);
    s.push_str("START RequestId: ");
    s.push_str(request_id);
    s.push_str(" Version: ");
    s.push_str(version);
    s.push('\n');
    s
}

/// §1.2 `END RequestId: <id>\n`.
pub fn end(request_id: &str) -> String {
    let mut s = String::with_capacity(56);
    s.push_str("END RequestId: ");
    s.push_str(request_id);
    s.push('\n');
    s
}

/// §1.3 REPORT: TAB-separated fields, optional fields in AWS's order, a trailing `\t\n` (or
/// `\n` after a Status), and the X-Ray line inside the same event.
pub fn report(r: &Report<'_>) -> String {
    let mut s = String::with_capacity(256);
    s.push_str("REPORT RequestId: ");
    s.push_str(r.request_id);
    s.push_str("\tDuration: ");
    push_ms2(&mut s, r.duration_us);
    s.push_str(" ms\tBilled Duration: ");
    push_u64(&mut s, r.billed_ms);
    s.push_str(" ms\tMemory Size: ");
    push_u64(&mut s, u64::from(r.memory_mb));
    s.push_str(" MB\tMax Memory Used: ");
    push_u64(&mut s, u64::from(r.max_used_mb));
    s.push_str(" MB");
    if let Some(init) = r.init_us {
        s.push_str("\tInit Duration: ");
        push_ms2(&mut s, init);
        s.push_str(" ms");
    }
    if let Some((restore, billed)) = r.restore {
        s.push_str("\tRestore Duration: ");
        push_ms2(&mut s, restore);
        s.push_str(" ms\tBilled Restore Duration: ");
        push_u64(&mut s, billed);
        s.push_str(" ms");
    }
    if let Some(status) = r.status {
        s.push_str("\tStatus: ");
        s.push_str(status);
        if let Some(t) = r.error_type {
            s.push_str("\tError Type: ");
            s.push_str(t);
        }
    }
    match r.xray {
        Some(x) => {
            s.push_str("\t\n");
            s.push_str(x);
            s.push_str("\t\n");
        }
        None if r.status.is_some() => s.push('\n'),
        None => s.push_str("\t\n"),
    }
    s
}

/// §1.4 `INIT_START Runtime Version: …\tRuntime Version ARN: …\n`.
pub fn init_start(runtime_version: &str, arn: &str) -> String {
    format!("INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {arn}\n")
}

/// §1.5 `INIT_REPORT Init Duration: N ms[\tPhase: p\tStatus: s[\tError Type: t]]\n`.
pub fn init_report(
    init_us: u64,
    phase: Option<&str>,
    status: Option<&str>,
    error_type: Option<&str>,
) -> String {
    let mut s = String::with_capacity(120);
    s.push_str("INIT_REPORT Init Duration: ");
    push_ms2(&mut s, init_us);
    s.push_str(" ms");
    if let Some(p) = phase {
        s.push_str("\tPhase: ");
        s.push_str(p);
    }
    if let Some(st) = status {
        s.push_str("\tStatus: ");
        s.push_str(st);
    }
    if let Some(t) = error_type {
        s.push_str("\tError Type: ");
        s.push_str(t);
    }
    s.push('\n');
    s
}

/// §1.6 `RESTORE_START Runtime Version: …\tRuntime Version ARN: …\n`.
pub fn restore_start(runtime_version: &str, arn: &str) -> String {
    format!("RESTORE_START Runtime Version: {runtime_version}\tRuntime Version ARN: {arn}\n")
}

/// §1.6 `RESTORE_REPORT Restore Duration: N ms\n`.
pub fn restore_report(restore_us: u64) -> String {
    let mut s = String::from("RESTORE_REPORT Restore Duration: ");
    push_ms2(&mut s, restore_us);
    s.push_str(" ms\n");
    s
}

/// §1.7 (2023 form) `<ISO ts> <id> Task timed out after 31.01 seconds\n\n`, space separated.
pub fn task_timed_out(ts_ms: i64, request_id: &str, duration_us: u64) -> String {
    let mut s = String::with_capacity(100);
    push_iso_ms(&mut s, ts_ms);
    s.push(' ');
    s.push_str(request_id);
    s.push_str(" Task timed out after ");
    let cs = duration_us / 10_000; // hundredths of a second, truncated
    push_u64(&mut s, cs / 100);
    s.push('.');
    if cs % 100 < 10 {
        s.push('0');
    }
    push_u64(&mut s, cs % 100);
    s.push_str(" seconds\n\n");
    s
}

/// §1.8 RAPID's fault line: `RequestId: <id> Error: Runtime exited with error: <reason>\nRuntime.ExitError\n`.
pub fn runtime_exit(request_id: &str, reason: &str) -> String {
    format!(
        "RequestId: {request_id} Error: Runtime exited with error: {reason}\nRuntime.ExitError\n"
    )
}

/// §1.9 extension lines printed during init.
pub fn telemetry_subscribed(name: &str) -> String {
    format!("TELEMETRY\tName: {name}\tState: Subscribed\tTypes: [Platform, Function, Extension]\n")
}

pub fn extension_ready(name: &str) -> String {
    format!("EXTENSION\tName: {name}\tState: Ready\tEvents: [INVOKE,SHUTDOWN]\n")
}

/// `XRAY TraceId: 1-<8 hex secs>-<24 hex>\tSegmentId: <16 hex>\tSampled: true`.
pub fn xray_line(ts_ms: i64, a: u64, b: u64, c: u64) -> String {
    let mut s = String::with_capacity(100);
    s.push_str("XRAY TraceId: 1-");
    super::sample::push_hex(&mut s, (ts_ms / 1000) as u64, 8);
    s.push('-');
    super::sample::push_hex(&mut s, a, 16);
    super::sample::push_hex(&mut s, b >> 32, 8);
    s.push_str("\tSegmentId: ");
    super::sample::push_hex(&mut s, c, 16);
    s.push_str("\tSampled: true");
    s
}

// ---- JSON log format (§2.1) ----

fn json_head(s: &mut String, ts_ms: i64, kind: &str) {
    s.push_str("{\"time\":\"");
    push_iso_ms(s, ts_ms);
    s.push_str("\",\"type\":\"");
    s.push_str(kind);
    s.push_str("\",\"record\":{");
}

/// `platform.initStart`.
pub struct JsonInitStart<'a> {
    pub runtime_version: &'a str,
    pub runtime_version_arn: &'a str,
    pub function_name: &'a str,
    pub function_version: &'a str,
    pub instance_id: &'a str,
    pub memory_mb: u32,
}

pub fn json_init_start(ts_ms: i64, r: &JsonInitStart<'_>) -> String {
    let mut s = String::with_capacity(400);
    json_head(&mut s, ts_ms, "platform.initStart");
    s.push_str("\"initializationType\":\"on-demand\",\"phase\":\"init\",\"runtimeVersion\":");
    push_quoted(&mut s, r.runtime_version);
    s.push_str(",\"runtimeVersionArn\":");
    push_quoted(&mut s, r.runtime_version_arn);
    s.push_str(",\"functionName\":");
    push_quoted(&mut s, r.function_name);
    s.push_str(",\"functionVersion\":");
    push_quoted(&mut s, r.function_version);
    s.push_str(",\"instanceId\":");
    push_quoted(&mut s, r.instance_id);
    s.push_str(",\"instanceMaxMemory\":");
    push_u64(&mut s, u64::from(r.memory_mb) * 1024 * 1024);
    s.push_str("}}");
    s
}

/// `platform.start`.
pub fn json_start(ts_ms: i64, request_id: &str, function_arn: &str, version: &str) -> String {
    let mut s = String::with_capacity(200);
    json_head(&mut s, ts_ms, "platform.start");
    s.push_str("\"requestId\":\"");
    s.push_str(request_id);
    s.push_str("\",\"functionArn\":");
    push_quoted(&mut s, function_arn);
    s.push_str(",\"version\":");
    push_quoted(&mut s, version);
    s.push_str("}}");
    s
}

/// `platform.report`. Status is `success` unless the platform ended the invocation.
pub fn json_report(ts_ms: i64, r: &Report<'_>) -> String {
    let mut s = String::with_capacity(260);
    json_head(&mut s, ts_ms, "platform.report");
    s.push_str("\"requestId\":\"");
    s.push_str(r.request_id);
    s.push_str("\",\"metrics\":{\"durationMs\":");
    push_ms3(&mut s, r.duration_us);
    s.push_str(",\"billedDurationMs\":");
    push_u64(&mut s, r.billed_ms);
    s.push_str(",\"memorySizeMB\":");
    push_u64(&mut s, u64::from(r.memory_mb));
    s.push_str(",\"maxMemoryUsedMB\":");
    push_u64(&mut s, u64::from(r.max_used_mb));
    if let Some(init) = r.init_us {
        s.push_str(",\"initDurationMs\":");
        push_ms3(&mut s, init);
    }
    if let Some((restore, billed)) = r.restore {
        s.push_str(",\"restoreDurationMs\":");
        push_ms3(&mut s, restore);
        s.push_str(",\"billedRestoreDurationMs\":");
        push_u64(&mut s, billed);
    }
    s.push_str("},\"status\":\"");
    s.push_str(r.status.unwrap_or("success"));
    s.push('"');
    if let Some(t) = r.error_type {
        s.push_str(",\"errorType\":");
        push_quoted(&mut s, t);
    }
    s.push_str("}}");
    s
}

/// `platform.initReport` (init failures and suppressed inits).
pub fn json_init_report(
    ts_ms: i64,
    init_us: u64,
    phase: &str,
    status: &str,
    error_type: Option<&str>,
) -> String {
    let mut s = String::with_capacity(220);
    json_head(&mut s, ts_ms, "platform.initReport");
    s.push_str("\"initializationType\":\"on-demand\",\"phase\":\"");
    s.push_str(phase);
    s.push_str("\",\"status\":\"");
    s.push_str(status);
    s.push('"');
    if let Some(t) = error_type {
        s.push_str(",\"errorType\":");
        push_quoted(&mut s, t);
    }
    s.push_str(",\"metrics\":{\"durationMs\":");
    push_ms3(&mut s, init_us);
    s.push_str("}}}");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn report_matches_real_shapes() {
        let mut r = Report {
            request_id: "06e46194-f277-454e-88d3-1dd7e3860eaa",
            duration_us: 9_140,
            billed_ms: 200,
            memory_mb: 128,
            max_used_mb: 36,
            init_us: Some(190_620),
            restore: None,
            status: None,
            error_type: None,
            xray: Some("XRAY TraceId: 1-636d1462-33ef10600061cad86dab71c8\tSegmentId: 7ccb4860675ee485\tSampled: true"),
        };
        assert_eq!(
            report(&r),
            "REPORT RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa\tDuration: 9.14 ms\tBilled Duration: 200 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 190.62 ms\t\nXRAY TraceId: 1-636d1462-33ef10600061cad86dab71c8\tSegmentId: 7ccb4860675ee485\tSampled: true\t\n"
        );
        r.xray = None;
        r.init_us = None;
        r.duration_us = 180_000_000;
        r.billed_ms = 180_000;
        r.status = Some("timeout");
        assert!(report(&r).ends_with("Max Memory Used: 36 MB\tStatus: timeout\n"));
        r.status = Some("error");
        r.error_type = Some("Runtime.OutOfMemory");
        assert!(report(&r).ends_with("\tStatus: error\tError Type: Runtime.OutOfMemory\n"));
    }

    #[test]
    fn json_numbers() {
        let mut s = String::new();
        push_ms3(&mut s, 1_233_960);
        s.push(' ');
        push_ms3(&mut s, 463_512);
        s.push(' ');
        push_ms3(&mut s, 5_000_000);
        assert_eq!(s, "1233.96 463.512 5000.0");
        let mut s = String::new();
        push_ms2(&mut s, 31_012_520);
        assert_eq!(s, "31012.52");
        assert_eq!(
            task_timed_out(0, "r", 31_012_520),
            "1970-01-01T00:00:00.000Z r Task timed out after 31.01 seconds\n\n"
        );
    }
}
