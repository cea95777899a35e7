//! Invocation assembly over real Lambda log sequences (lambda-logs.md), including sequences
//! split across batches and delivered out of order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use tern_core::assemble::Assembler;
use tern_core::model::{InvocationKey, InvocationPart, LogEvent, Outcome};

const GROUP: &str = "/aws/lambda/orders";

fn events(stream: &str, lines: &[&str]) -> Vec<LogEvent> {
    let group: Arc<str> = Arc::from(GROUP);
    let stream: Arc<str> = Arc::from(stream);
    lines
        .iter()
        .enumerate()
        .map(|(i, m)| LogEvent {
            log_group: group.clone(),
            log_stream: stream.clone(),
            timestamp_ms: 1_700_000_000_000 + i as i64 * 10,
            message: m.to_string(),
            event_id: Some(format!("{i}")),
        })
        .collect()
}

/// Feed events, draining after each index in `cuts`, and merge the parts by key the way the
/// store does.
fn assemble_with_cuts(evs: &[LogEvent], cuts: &[usize]) -> BTreeMap<InvocationKey, InvocationPart> {
    let mut a = Assembler::new();
    let mut parts = Vec::new();
    for (i, ev) in evs.iter().enumerate() {
        a.push(ev.clone());
        if cuts.contains(&(i + 1)) {
            parts.extend(a.drain().parts);
        }
    }
    parts.extend(a.finish().parts);
    let mut by_key: BTreeMap<InvocationKey, InvocationPart> = BTreeMap::new();
    for p in parts {
        match by_key.get_mut(&p.key()) {
            Some(existing) => existing.merge(p),
            None => {
                by_key.insert(p.key(), p);
            }
        }
    }
    by_key
}

fn one(evs: &[LogEvent]) -> InvocationPart {
    let all = assemble_with_cuts(evs, &[]);
    assert_eq!(
        all.len(),
        1,
        "expected one invocation, got {:#?}",
        all.keys()
    );
    all.into_values().next().unwrap()
}

const RID: &str = "8f507cfc-xmpl-4697-b07a-ac58fc914c95";

#[test]
fn text_cold_start_success() {
    let evs = events(
        "2024/01/02/[$LATEST]20bddfd5a2dc4c6b97ac02800eae90d0",
        &[
            "INIT_START Runtime Version: python:3.12.v89\tRuntime Version ARN: arn:aws:lambda:us-east-2::runtime:644f\n",
            "START RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95 Version: $LATEST\n",
            "[INFO]\t2024-01-02T00:00:00.100Z\t8f507cfc-xmpl-4697-b07a-ac58fc914c95\thello\n",
            "END RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95\n",
            "REPORT RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms\t\nXRAY TraceId: 1-5e34a614-10bdxmplf1fb44f07bc535a1\tSegmentId: 07f5xmpl2d1f6f85\tSampled: true\t\n",
        ],
    );
    let p = one(&evs);
    assert_eq!(p.function, "orders");
    assert_eq!(p.request_id, RID);
    assert_eq!(p.version.as_deref(), Some("$LATEST"));
    assert!(p.is_complete());
    assert!(p.is_cold());
    assert_eq!(p.outcome(), Outcome::Success);
    assert_eq!(p.runtime_version.as_deref(), Some("python:3.12.v89"));
    assert_eq!(p.init_duration_ms(), Some(130.49));
    assert_eq!(
        p.log_lines.len(),
        5,
        "every line is kept, init lines included"
    );
    let r = p.report.unwrap();
    assert_eq!(r.billed_duration_ms, Some(16.0));
    assert_eq!(
        r.xray_trace_id.as_deref(),
        Some("1-5e34a614-10bdxmplf1fb44f07bc535a1")
    );
}

#[test]
fn python_handler_error_without_status_is_an_error() {
    // lambda-logs.md §1.3.6: a handler exception leaves REPORT without Status.
    let evs = events(
        "s1",
        &[
            "START RequestId: 408f8189-de88-4de4-a194-0e9275088051 Version: $LATEST\n",
            "[ERROR] KeyError: 'action'\nTraceback (most recent call last):\n\u{a0}\u{a0}File \"/var/task/lambda_function.py\", line 36, in lambda_handler\n\u{a0}\u{a0}\u{a0}\u{a0}return event['action']\n",
            "END RequestId: 408f8189-de88-4de4-a194-0e9275088051\n",
            "REPORT RequestId: 408f8189-de88-4de4-a194-0e9275088051\tDuration: 41672.16 ms\tBilled Duration: 41673 ms\tMemory Size: 512 MB\tMax Memory Used: 112 MB\n",
        ],
    );
    let p = one(&evs);
    assert_eq!(p.outcome(), Outcome::Error);
    let e = p.error.clone().expect("error extracted");
    assert_eq!(e.error_type, "KeyError");
    assert!(!p.is_cold());
}

/// A line without a request id belongs to the invocation open in its stream, even when a
/// batch ended between that invocation's START and the line: it used to wait for the next
/// START and land in the next invocation, taking its error along.
#[test]
fn a_line_without_request_id_after_a_cut_stays_with_the_open_invocation() {
    let evs = events(
        "s1",
        &[
            "START RequestId: 408f8189-de88-4de4-a194-0e9275088051 Version: $LATEST\n",
            "[ERROR] KeyError: 'action'\nTraceback (most recent call last):\n\u{a0}\u{a0}File \"/var/task/lambda_function.py\", line 36, in lambda_handler\n\u{a0}\u{a0}\u{a0}\u{a0}return event['action']\n",
            "END RequestId: 408f8189-de88-4de4-a194-0e9275088051\n",
            "REPORT RequestId: 408f8189-de88-4de4-a194-0e9275088051\tDuration: 41.16 ms\tBilled Duration: 42 ms\tMemory Size: 512 MB\tMax Memory Used: 112 MB\n",
            "START RequestId: 5a1b2c3d-0000-4000-8000-000000000002 Version: $LATEST\n",
            "END RequestId: 5a1b2c3d-0000-4000-8000-000000000002\n",
            "REPORT RequestId: 5a1b2c3d-0000-4000-8000-000000000002\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 512 MB\tMax Memory Used: 112 MB\n",
        ],
    );
    for cuts in [vec![], vec![1], vec![1, 2], vec![1, 2, 3, 4, 5, 6]] {
        let all = assemble_with_cuts(&evs, &cuts);
        assert_eq!(all.len(), 2, "cuts {cuts:?}");
        let by_rid = |rid: &str| all.values().find(|p| p.request_id == rid).unwrap();
        let first = by_rid("408f8189-de88-4de4-a194-0e9275088051");
        let second = by_rid("5a1b2c3d-0000-4000-8000-000000000002");
        assert_eq!(first.outcome(), Outcome::Error, "cuts {cuts:?}");
        assert_eq!(first.error.as_ref().unwrap().error_type, "KeyError");
        assert_eq!(first.log_lines.len(), 4, "cuts {cuts:?}");
        assert_eq!(second.outcome(), Outcome::Success, "cuts {cuts:?}");
        assert_eq!(second.log_lines.len(), 3, "cuts {cuts:?}");
    }
}

#[test]
fn old_timeout_line_before_end() {
    // lambda-logs.md §1.7 (2023): the timeout line comes before END; REPORT has no Status.
    let evs = events(
        "s1",
        &[
            "START RequestId: 4299ee26-8d1d-4ea9-bd43-77b85ed96cfe Version: $LATEST\n",
            "2023-10-20T16:28:17.840Z 4299ee26-8d1d-4ea9-bd43-77b85ed96cfe Task timed out after 31.01 seconds\n\n",
            "END RequestId: 4299ee26-8d1d-4ea9-bd43-77b85ed96cfe\n",
            "REPORT RequestId: 4299ee26-8d1d-4ea9-bd43-77b85ed96cfe\tDuration: 31012.52 ms\tBilled Duration: 31000 ms\tMemory Size: 128 MB\tMax Memory Used: 109 MB\t\n",
        ],
    );
    assert_eq!(one(&evs).outcome(), Outcome::Timeout);
}

#[test]
fn old_timeout_line_after_report_in_a_later_batch() {
    // lambda-logs.md §1.7 (2016): the timeout line follows REPORT.
    let evs = events(
        "s1",
        &[
            "START RequestId: b47cde10-029a-11e6-b5d6-1f01b70b94b2 Version: $LATEST\n",
            "REPORT RequestId: b47cde10-029a-11e6-b5d6-1f01b70b94b2  Duration: 120000.64 ms  Billed Duration: 120000 ms Memory Size: 128 MB  Max Memory Used: 23 MB\n",
            "2016-04-14T23:52:45.715Z b47cde10-029a-11e6-b5d6-1f01b70b94b2 Task timed out after 120.00 seconds\n",
        ],
    );
    for cuts in [vec![], vec![2]] {
        let all = assemble_with_cuts(&evs, &cuts);
        assert_eq!(all.len(), 1);
        assert_eq!(all.values().next().unwrap().outcome(), Outcome::Timeout);
    }
}

#[test]
fn status_timeout_report() {
    let evs = events(
        "s1",
        &["REPORT RequestId: 4725a167-21a7-5731-99c2-c3d0e3dfd770\tDuration: 180000.00 ms\tBilled Duration: 180000 ms\tMemory Size: 1280 MB\tMax Memory Used: 1201 MB\tStatus: timeout\n"],
    );
    assert_eq!(one(&evs).outcome(), Outcome::Timeout);
}

#[test]
fn oom_new_and_old_forms() {
    let new = events(
        "s1",
        &["REPORT RequestId: 595dc20a-caa6-455c-b6cb-182bc88397ed\tDuration: 103085.64 ms\tBilled Duration: 103086 ms\tMemory Size: 128 MB\tMax Memory Used: 126 MB\tStatus: error\tError Type: Runtime.OutOfMemory"],
    );
    assert_eq!(one(&new).outcome(), Outcome::OutOfMemory);
    let old = events(
        "s1",
        &[
            "START RequestId: bafb0f6a-0000-0000-0000-000000000000 Version: $LATEST\n",
            "REPORT RequestId: bafb0f6a-0000-0000-0000-000000000000\tDuration: 4237.92 ms\tBilled Duration: 4238 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t\n",
            "RequestId: bafb0f6a-0000-0000-0000-000000000000 Error: Runtime exited with error: signal: killed\nRuntime.ExitError\n",
        ],
    );
    assert_eq!(one(&old).outcome(), Outcome::OutOfMemory);
}

#[test]
fn runtime_exit_is_a_crash() {
    let evs = events(
        "s1",
        &["REPORT RequestId: 11111111-2222-3333-4444-555555555555\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 256 MB\tMax Memory Used: 40 MB\tStatus: error\tError Type: Runtime.ExitError\n"],
    );
    assert_eq!(one(&evs).outcome(), Outcome::Crash);
}

#[test]
fn python_init_failure_text() {
    // lambda-logs.md §3.1, real 2026 sequence in time order.
    let evs = events(
        "s1",
        &[
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_news_agent': No module named 'lambda_news_agent'\nTraceback (most recent call last):",
            "[WARNING]\t2026-04-24T17:39:52.929Z\t\tLAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code.\n",
            "START RequestId: 57325a9d-0000-0000-0000-000000000000 Version: $LATEST\n",
            "INIT_REPORT Init Duration: 83.58 ms\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError\n",
            "REPORT RequestId: 57325a9d-0000-0000-0000-000000000000\tDuration: 95.78 ms\tBilled Duration: 96 ms\tMemory Size: 512 MB\tMax Memory Used: 39 MB\tStatus: error\tError Type: Runtime.ImportModuleError\n",
        ],
    );
    let p = one(&evs);
    assert_eq!(p.outcome(), Outcome::InitError);
    assert!(p.is_cold(), "a suppressed init is a cold start");
    assert_eq!(
        p.log_lines.len(),
        5,
        "init output before START belongs to the invocation"
    );
}

#[test]
fn node_suppressed_init_crash() {
    // lambda-logs.md §1.5, real Node sequence 2026-02-09.
    let evs = events(
        "s1",
        &[
            "2026-02-09T04:28:00.783Z\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\"ReferenceError\",\"errorMessage\":\"__filename is not defined in ES module scope\",\"stack\":[\"ReferenceError: __filename is not defined in ES module scope\",\"    at file:///var/task/index.mjs:3:1\"]}\n",
            "INIT_REPORT Init Duration: 998.15 ms\tPhase: invoke\tStatus: error\tError Type: Runtime.Unknown\n",
            "START RequestId: 59c29f07-00fb-45f2-ba67-68ce90d6ed3b Version: $LATEST\n",
            "END RequestId: 59c29f07-00fb-45f2-ba67-68ce90d6ed3b\n",
            "REPORT RequestId: 59c29f07-00fb-45f2-ba67-68ce90d6ed3b\tDuration: 1012.45 ms\tBilled Duration: 1013 ms\tMemory Size: 512 MB\tMax Memory Used: 314 MB\tStatus: error\tError Type: Runtime.Unknown\n",
        ],
    );
    let p = one(&evs);
    assert!(p.is_cold());
    assert_eq!(p.outcome(), Outcome::InitError);
    assert_eq!(p.init_duration_ms(), Some(998.15));
    assert_eq!(
        p.error.as_ref().map(|e| e.error_type.as_str()),
        Some("ReferenceError")
    );
}

#[test]
fn init_timeout_then_first_invoke_is_cold() {
    // lambda-logs.md §1.5: the REPORT after an init timeout has no Init Duration.
    let evs = events(
        "s1",
        &[
            "INIT_REPORT Init Duration: 9999.56 ms\tPhase: init\tStatus: timeout\n",
            "START RequestId: aaaaaaaa-0000-0000-0000-000000000001 Version: $LATEST\n",
            "END RequestId: aaaaaaaa-0000-0000-0000-000000000001\n",
            "REPORT RequestId: aaaaaaaa-0000-0000-0000-000000000001\tDuration: 5545.81 ms\tBilled Duration: 5546 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t\n",
        ],
    );
    let p = one(&evs);
    assert!(p.is_cold());
    assert_eq!(p.outcome(), Outcome::Success);
}

#[test]
fn snapstart_restore_is_cold() {
    let evs = events(
        "s1",
        &[
            "RESTORE_START Runtime Version: java:21.mainline.v82\tRuntime Version ARN: arn:aws:lambda:ap-southeast-2::runtime:1a7a66b2\n",
            "RESTORE_REPORT Restore Duration: 1326.77 ms\n",
            "START RequestId: 88a9b9a0-6a94-44a1-9942-4fd6ab25d598 Version: 40\n",
            "END RequestId: 88a9b9a0-6a94-44a1-9942-4fd6ab25d598\n",
            "REPORT RequestId: 88a9b9a0-6a94-44a1-9942-4fd6ab25d598\tDuration: 469.40 ms\tBilled Duration: 500 ms\tMemory Size: 1024 MB\tMax Memory Used: 21 MB\tRestore Duration: 474.16 ms\tBilled Restore Duration: 75 ms\n",
        ],
    );
    let p = one(&evs);
    assert!(p.is_cold());
    assert_eq!(p.version.as_deref(), Some("40"));
    assert_eq!(p.outcome(), Outcome::Success);
}

#[test]
fn json_format_cold_start() {
    let evs = events(
        "2026/10/08/tenner-notifier[$LATEST]22be53a8cfde4e68b844f8ec293b2543",
        &[
            r#"{"time":"2026-10-08T07:30:27.768Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"nodejs:22.mainline.v122","functionName":"tenner-notifier","functionVersion":"$LATEST","instanceMaxMemory":268435456}}"#,
            r#"{"time":"2026-10-08T07:30:28.235Z","type":"platform.start","record":{"requestId":"79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36","version":"$LATEST"}}"#,
            r#"{"timestamp":"2026-10-08T07:30:29.443Z","level":"INFO","requestId":"79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36","message":"working"}"#,
            r#"{"time":"2026-10-08T07:30:29.470Z","type":"platform.report","record":{"requestId":"79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36","metrics":{"durationMs":1233.96,"billedDurationMs":1698,"memorySizeMB":256,"maxMemoryUsedMB":123,"initDurationMs":463.512},"status":"success"}}"#,
        ],
    );
    let p = one(&evs);
    assert!(p.is_cold());
    assert_eq!(p.outcome(), Outcome::Success);
    assert_eq!(
        p.runtime_version.as_deref(),
        Some("nodejs:22.mainline.v122")
    );
    assert_eq!(p.report.unwrap().billed_duration_ms, Some(1698.0));
}

fn warm_stream() -> Vec<LogEvent> {
    let mut lines = Vec::new();
    for i in 0..5 {
        let rid = format!("cccccccc-0000-0000-0000-00000000000{i}");
        lines.push(format!("START RequestId: {rid} Version: $LATEST\n"));
        lines.push(format!(
            "2024-01-01T00:00:00.000Z\t{rid}\tINFO\tprocessing {i}\n"
        ));
        if i == 3 {
            lines.push(format!(
                "2024-01-01T00:00:00.000Z\t{rid}\tERROR\tInvoke Error \t{{\"errorType\":\"TypeError\",\"errorMessage\":\"boom\",\"stack\":[\"TypeError: boom\",\"    at handler (/var/task/index.js:5:27)\"]}}\n"
            ));
        }
        lines.push(format!("END RequestId: {rid}\n"));
        let init = if i == 0 {
            "\tInit Duration: 200.00 ms"
        } else {
            ""
        };
        lines.push(format!(
            "REPORT RequestId: {rid}\tDuration: 10.{i}0 ms\tBilled Duration: 11 ms\tMemory Size: 256 MB\tMax Memory Used: 70 MB{init}\t\n"
        ));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    events(
        "2024/01/01/[$LATEST]dddddddddddddddddddddddddddddddd",
        &refs,
    )
}

#[test]
fn one_environment_serves_many_invocations() {
    let all = assemble_with_cuts(&warm_stream(), &[]);
    assert_eq!(all.len(), 5);
    let cold: Vec<bool> = all.values().map(|p| p.is_cold()).collect();
    assert_eq!(cold.iter().filter(|c| **c).count(), 1);
    let errors = all
        .values()
        .filter(|p| p.outcome() == Outcome::Error)
        .count();
    assert_eq!(errors, 1);
    assert!(all.values().all(|p| p.log_lines.len() >= 4));
}

proptest! {
    /// Draining at any points gives the same invocations, once merged, as one pass.
    #[test]
    fn any_batch_split_merges_to_the_same_result(cuts in proptest::collection::vec(1usize..22, 0..6)) {
        let evs = warm_stream();
        let whole = assemble_with_cuts(&evs, &[]);
        let split = assemble_with_cuts(&evs, &cuts);
        prop_assert_eq!(whole.len(), split.len());
        for (k, p) in &whole {
            let q = &split[k];
            prop_assert_eq!(p.outcome(), q.outcome());
            prop_assert_eq!(p.is_cold(), q.is_cold());
            prop_assert_eq!(&p.report, &q.report);
            prop_assert_eq!(&p.log_lines, &q.log_lines);
        }
    }
}
