//! Error group cases: grouping by fingerprint, the open/resolved/muted lifecycle, retention.

use std::collections::BTreeMap;

use tern_core::fingerprint::{fingerprint_invocation, GROUPING_VERSION};
use tern_core::model::{normalize_lines, ErrorInfo, InvocationPart, Outcome};

use super::{
    all_groups, batch, check_errors_against_rows, event_id, invocation, line, DAY, HOUR, MIN, T0,
};
use crate::{ErrorEvent, ErrorQuery, ErrorStatus, OccurrenceCursor, Retention, Store, TimeRange};

/// A failed invocation with a Python-shaped error.
fn failed(
    function: &str,
    stream_no: u32,
    rid: &str,
    start: i64,
    error: ErrorInfo,
) -> InvocationPart {
    let mut p = invocation(function, stream_no, rid, start, 120.0, 256);
    p.signals.handler_error = true;
    p.log_lines.push(line(
        start + 2,
        &format!("[ERROR] {}: {}", error.error_type, error.message),
        event_id(rid, 7),
    ));
    normalize_lines(&mut p.log_lines);
    p.error = Some(error);
    p
}

fn key_error(key: &str) -> ErrorInfo {
    ErrorInfo {
        error_type: "KeyError".into(),
        message: format!("'{key}'"),
        stack: vec![
            "File \"/var/task/lambda_function.py\", line 36, in lambda_handler".into(),
            "File \"/var/task/orders.py\", line 12, in load".into(),
        ],
    }
}

fn type_error(n: u32) -> ErrorInfo {
    ErrorInfo {
        error_type: "TypeError".into(),
        message: format!("unsupported operand type(s) for +: 'int' and 'str' (item {n})"),
        stack: vec!["File \"/var/task/lambda_function.py\", line 52, in lambda_handler".into()],
    }
}

fn group_of<S: Store>(store: &S, part: &InvocationPart) -> crate::ErrorGroup {
    let id = fingerprint_invocation(part, GROUPING_VERSION).unwrap().id();
    store
        .error_group(&id, None)
        .unwrap()
        .unwrap_or_else(|| panic!("no group {id}"))
}

/// The same error with different ids, keys and times is one group; different errors, a
/// timeout, and the same error in another function are other groups. Counts, the timeline and
/// the samples are exact.
pub fn error_grouping<S: Store>(mut store: S) {
    let a: Vec<InvocationPart> = (0..5)
        .map(|i| {
            failed(
                "alpha",
                i % 2,
                &format!("ke-{i}"),
                T0 + i64::from(i) * 20 * MIN,
                key_error(&format!("user-{}", 1000 + i)),
            )
        })
        .collect();
    let b: Vec<InvocationPart> = (0..2)
        .map(|i| {
            failed(
                "alpha",
                3,
                &format!("te-{i}"),
                T0 + 3 * HOUR + i64::from(i) * MIN,
                type_error(i),
            )
        })
        .collect();
    let mut timeout = invocation("alpha", 4, "to-1", T0 + 2 * HOUR, 3000.0, 256);
    timeout.signals.timeout_line = true;
    let other = failed("beta", 1, "ke-beta", T0 + 10 * MIN, key_error("x"));
    let ok = invocation("alpha", 5, "ok-1", T0 + 5 * MIN, 10.0, 256);
    let mut parts = a.clone();
    parts.extend(b.clone());
    parts.extend([timeout.clone(), other.clone(), ok]);
    store.ingest(&batch(parts)).unwrap();

    let groups = store.error_groups(&all_groups()).unwrap();
    assert_eq!(groups.len(), 4, "{groups:?}");
    let ke = group_of(&store, &a[0]);
    assert_eq!(
        ke.id,
        group_of(&store, &a[4]).id,
        "ids and keys vary, the group does not"
    );
    assert_eq!((ke.count, ke.function.as_str()), (5, "alpha"));
    assert_eq!(ke.error_type.as_deref(), Some("KeyError"));
    assert_eq!(ke.message.as_deref(), Some("'user-1004'"), "latest sample");
    assert_eq!(ke.basis, "stack");
    assert_eq!(ke.frames.len(), 2);
    assert_eq!((ke.first_ms, ke.last_ms), (row_end(&a[0]), row_end(&a[4])));
    assert_eq!((ke.status, ke.event), (ErrorStatus::Open, ErrorEvent::New));
    let te = group_of(&store, &b[0]);
    assert_ne!(te.id, ke.id);
    assert_eq!(te.count, 2);
    let to = group_of(&store, &timeout);
    assert_eq!(
        (to.count, to.outcome, to.basis.as_str()),
        (1, Outcome::Timeout, "outcome")
    );
    let beta = group_of(&store, &other);
    assert_ne!(beta.id, ke.id, "groups are per function");
    // Newest first; one function's groups.
    assert_eq!(groups[0].id, te.id);
    let alpha_only = store
        .error_groups(&ErrorQuery {
            functions: vec!["alpha".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(alpha_only.len(), 3);
    // Counts in a range: two KeyErrors in [T0+20m, T0+1h), an unaligned edge.
    let ranged = store
        .error_groups(&ErrorQuery {
            range: TimeRange {
                from_ms: Some(T0 + 20 * MIN),
                to_ms: Some(T0 + 61 * MIN),
            },
            ..Default::default()
        })
        .unwrap();
    let ids: Vec<(&str, u64)> = ranged
        .iter()
        .map(|g| (g.id.as_str(), g.count_in_range))
        .collect();
    assert_eq!(ids, vec![(ke.id.as_str(), 3)], "20m, 40m, 60m");
    let over_hours = store
        .error_groups(&ErrorQuery {
            range: TimeRange {
                from_ms: Some(T0 + 30 * MIN),
                to_ms: Some(T0 + 3 * HOUR + 30 * MIN),
            },
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    let counts: BTreeMap<&str, u64> = over_hours
        .iter()
        .map(|g| (g.id.as_str(), g.count_in_range))
        .collect();
    assert_eq!(counts.get(ke.id.as_str()), Some(&3), "40m, 60m, 80m");
    assert_eq!(counts.get(te.id.as_str()), Some(&2));
    assert_eq!(counts.get(to.id.as_str()), Some(&1));
    assert_eq!(
        counts.get(beta.id.as_str()),
        None,
        "beta failed before the range"
    );
    // The timeline, hourly.
    let series = store
        .error_series(
            &ke.id,
            TimeRange {
                from_ms: Some(T0),
                to_ms: Some(T0 + 3 * HOUR),
            },
            HOUR,
        )
        .unwrap();
    assert_eq!(series, vec![(T0, 3), (T0 + HOUR, 2), (T0 + 2 * HOUR, 0)]);
    // Samples, newest first, with their logs.
    let samples = store.error_samples(&ke.id, 2).unwrap();
    let rids: Vec<&str> = samples.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(rids, vec!["ke-4", "ke-3"]);
    let logs = store
        .invocation_logs(&samples[0].log_group, &samples[0].log_stream, "ke-4")
        .unwrap();
    assert!(logs.iter().any(|l| l.message.contains("KeyError")));
    // Unknown and malformed ids.
    assert!(store
        .error_group("0123456789abcdef", None)
        .unwrap()
        .is_none());
    assert!(store.error_group("not-an-id", None).unwrap().is_none());
    assert!(store.error_samples("zz", 5).unwrap().is_empty());
    // The occurrence feed: every failure once, resumable.
    let feed = store
        .error_occurrences_since(OccurrenceCursor::default(), 4)
        .unwrap();
    assert_eq!(feed.len(), 4);
    let rest = store.error_occurrences_since(feed[3].cursor, 100).unwrap();
    assert_eq!(feed.len() + rest.len(), 9);
    check_errors_against_rows(&store);
}

fn row_end(p: &InvocationPart) -> i64 {
    p.end_ms.unwrap()
}

/// Resolve, recur before and after the resolution, mute with an expiry, unmute.
pub fn error_lifecycle<S: Store>(mut store: S) {
    let first = failed("alpha", 1, "l-1", T0, key_error("a"));
    store.ingest(&batch(vec![first.clone()])).unwrap();
    let g = group_of(&store, &first);
    let seq0 = g.event_seq;
    assert_eq!(g.event, ErrorEvent::New);
    assert!(store
        .set_error_status(&g.id, ErrorStatus::Resolved, None, T0 + HOUR)
        .unwrap());
    assert!(!store
        .set_error_status("0123456789abcdef", ErrorStatus::Resolved, None, T0)
        .unwrap());
    // A late occurrence from before the resolution: counted, still resolved.
    store
        .ingest(&batch(vec![failed(
            "alpha",
            1,
            "l-2",
            T0 + 30 * MIN,
            key_error("b"),
        )]))
        .unwrap();
    let g = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (g.count, g.status, g.regressions),
        (2, ErrorStatus::Resolved, 0)
    );
    assert_eq!(g.resolved_ms, Some(T0 + HOUR));
    // After it: a regression, with a new event.
    let again = failed("alpha", 1, "l-3", T0 + 2 * HOUR, key_error("c"));
    store.ingest(&batch(vec![again.clone()])).unwrap();
    let g = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (g.status, g.regressions, g.event),
        (ErrorStatus::Open, 1, ErrorEvent::Regression)
    );
    assert_eq!(g.regressed_ms, Some(row_end(&again)));
    assert!(g.event_seq > seq0);
    let news = store
        .error_groups(&ErrorQuery {
            since_seq: Some(seq0),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(news.len(), 1);
    let none = store
        .error_groups(&ErrorQuery {
            since_seq: Some(g.event_seq),
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty());
    // Mute until T0+5h: muted before, open after (by the reader's clock).
    assert!(store
        .set_error_status(
            &g.id,
            ErrorStatus::Muted,
            Some(T0 + 5 * HOUR),
            T0 + 3 * HOUR
        )
        .unwrap());
    let at = |store: &S, now: i64| store.error_group(&g.id, Some(now)).unwrap().unwrap().status;
    assert_eq!(at(&store, T0 + 4 * HOUR), ErrorStatus::Muted);
    assert_eq!(at(&store, T0 + 6 * HOUR), ErrorStatus::Open);
    let muted = |store: &S, now: i64| {
        store
            .error_groups(&ErrorQuery {
                status: Some(ErrorStatus::Muted),
                now_ms: Some(now),
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    assert_eq!(
        (muted(&store, T0 + 4 * HOUR), muted(&store, T0 + 6 * HOUR)),
        (1, 0)
    );
    // A recurrence while muted: counted, still muted, no event.
    store
        .ingest(&batch(vec![failed(
            "alpha",
            1,
            "l-4",
            T0 + 4 * HOUR,
            key_error("d"),
        )]))
        .unwrap();
    let m = store
        .error_group(&g.id, Some(T0 + 4 * HOUR))
        .unwrap()
        .unwrap();
    assert_eq!(
        (m.count, m.status, m.event_seq),
        (4, ErrorStatus::Muted, g.event_seq)
    );
    // One after the mute expired: the group is open again, still no regression.
    store
        .ingest(&batch(vec![failed(
            "alpha",
            1,
            "l-5",
            T0 + 6 * HOUR,
            key_error("e"),
        )]))
        .unwrap();
    let o = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (o.status, o.regressions, o.muted_until_ms),
        (ErrorStatus::Open, 1, None)
    );
    // Mute without expiry, then open by hand.
    store
        .set_error_status(&g.id, ErrorStatus::Muted, None, T0 + 7 * HOUR)
        .unwrap();
    assert_eq!(at(&store, i64::MAX), ErrorStatus::Muted);
    store
        .set_error_status(&g.id, ErrorStatus::Open, None, T0 + 8 * HOUR)
        .unwrap();
    let o = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (o.status, o.status_ms, o.muted_until_ms),
        (ErrorStatus::Open, Some(T0 + 8 * HOUR), None)
    );
}

/// Raw retention deletes occurrences with their invocations and keeps groups and totals;
/// rollup retention deletes old hours.
pub fn error_retention<S: Store>(mut store: S) {
    let parts: Vec<InvocationPart> = (0..4)
        .map(|d| {
            failed(
                "alpha",
                d,
                &format!("r-{d}"),
                T0 + i64::from(d) * DAY,
                key_error("k"),
            )
        })
        .collect();
    store.ingest(&batch(parts.clone())).unwrap();
    let g = group_of(&store, &parts[0]);
    assert_eq!(g.count, 4);
    store
        .apply_retention(Retention {
            raw_before_ms: Some(T0 + 2 * DAY),
            rollups_before_ms: None,
        })
        .unwrap();
    let g = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (g.count, g.first_ms),
        (4, row_end(&parts[0])),
        "totals stay"
    );
    let samples = store.error_samples(&g.id, 10).unwrap();
    assert_eq!(samples.len(), 2);
    let feed = store
        .error_occurrences_since(OccurrenceCursor::default(), 10)
        .unwrap();
    assert_eq!(feed.len(), 2);
    let days = TimeRange {
        from_ms: Some(T0),
        to_ms: Some(T0 + 4 * DAY),
    };
    let per_day = |s: &S| -> Vec<u64> {
        s.error_series(&g.id, days, DAY)
            .unwrap()
            .into_iter()
            .map(|b| b.1)
            .collect()
    };
    assert_eq!(per_day(&store), vec![1, 1, 1, 1], "hours outlive raw data");
    // Re-ingesting the deleted days counts nothing twice.
    store.ingest(&batch(parts)).unwrap();
    assert_eq!(store.error_group(&g.id, None).unwrap().unwrap().count, 4);
    store
        .apply_retention(Retention {
            raw_before_ms: None,
            rollups_before_ms: Some(T0 + 2 * DAY),
        })
        .unwrap();
    assert_eq!(per_day(&store), vec![0, 0, 1, 1]);
    assert_eq!(store.error_group(&g.id, None).unwrap().unwrap().count, 4);
}
