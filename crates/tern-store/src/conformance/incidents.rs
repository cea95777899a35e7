//! Incident cases: one open incident per subject, incidents and notifications stored
//! together, and the outbox's delivery and retries.

use std::collections::BTreeSet;

use super::{HOUR, MIN, T0};
use crate::{
    retry_delay_ms, Checkpoint, Incident, IncidentApplied, IncidentChange, IncidentQuery,
    IncidentState, OutboxItem, OutboxMark, OutboxState, Store,
};

fn firing(policy: &str, subject: &str, at_ms: i64, value: f64) -> IncidentChange {
    IncidentChange::Firing {
        policy: policy.into(),
        subject: subject.into(),
        at_ms,
        value: Some(value),
        threshold: Some(0.01),
        detail: Some(format!("error rate {value}")),
    }
}

fn clear(policy: &str, subject: &str, at_ms: i64) -> IncidentChange {
    IncidentChange::Clear {
        policy: policy.into(),
        subject: subject.into(),
        at_ms,
    }
}

/// One notification per transition, keyed by incident and state.
fn notify_webhook(i: &Incident) -> Vec<OutboxItem> {
    vec![OutboxItem {
        dedupe_key: format!("incident-{}-{}", i.id, i.state.as_str()),
        channel: "webhook".into(),
        payload: format!(
            "{{\"incident\":{},\"state\":\"{}\"}}",
            i.id,
            i.state.as_str()
        ),
    }]
}

/// Firing opens an incident and queues its notification; firing again refreshes it without
/// notifying; clearing resolves it and queues the resolved notification; firing after that
/// opens a new incident. Exactly one incident per (policy, subject) is open at a time.
pub fn incidents_one_open_per_subject<S: Store>(mut store: S) {
    let opened = store
        .apply_incident(&firing("error-rate", "alpha", T0, 0.05), &notify_webhook)
        .unwrap();
    let IncidentApplied::Opened(first) = opened else {
        panic!("expected opened, got {opened:?}");
    };
    assert_eq!(
        (first.state, first.opened_ms, first.value),
        (IncidentState::Open, T0, Some(0.05))
    );
    let again = store
        .apply_incident(
            &firing("error-rate", "alpha", T0 + MIN, 0.07),
            &notify_webhook,
        )
        .unwrap();
    let IncidentApplied::Refreshed(r) = again else {
        panic!("expected refreshed, got {again:?}");
    };
    assert_eq!(
        (r.id, r.last_firing_ms, r.value),
        (first.id, T0 + MIN, Some(0.07))
    );
    // Another subject and another policy are other incidents.
    store
        .apply_incident(&firing("error-rate", "beta", T0, 0.5), &notify_webhook)
        .unwrap();
    store
        .apply_incident(&firing("timeouts", "alpha", T0, 1.0), &notify_webhook)
        .unwrap();
    let open = store
        .incidents(&IncidentQuery {
            state: Some(IncidentState::Open),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.len(), 3);
    assert_eq!(
        store.outbox_due(T0 + HOUR, 100).unwrap().len(),
        3,
        "refresh notifies nobody"
    );
    let resolved = store
        .apply_incident(&clear("error-rate", "alpha", T0 + 5 * MIN), &notify_webhook)
        .unwrap();
    let IncidentApplied::Resolved(res) = resolved else {
        panic!("expected resolved, got {resolved:?}");
    };
    assert_eq!(
        (res.id, res.state, res.resolved_ms),
        (first.id, IncidentState::Resolved, Some(T0 + 5 * MIN))
    );
    assert_eq!(
        store
            .apply_incident(&clear("error-rate", "alpha", T0 + 6 * MIN), &notify_webhook)
            .unwrap(),
        IncidentApplied::NotOpen
    );
    let reopened = store
        .apply_incident(
            &firing("error-rate", "alpha", T0 + HOUR, 0.2),
            &notify_webhook,
        )
        .unwrap();
    let IncidentApplied::Opened(second) = reopened else {
        panic!("expected a new incident, got {reopened:?}");
    };
    assert_ne!(second.id, first.id);
    let alpha_rate = store
        .incidents(&IncidentQuery {
            policy: Some("error-rate".into()),
            ..Default::default()
        })
        .unwrap();
    let mine: Vec<(i64, IncidentState)> = alpha_rate
        .iter()
        .filter(|i| i.subject == "alpha")
        .map(|i| (i.id, i.state))
        .collect();
    assert_eq!(
        mine,
        vec![
            (second.id, IncidentState::Open),
            (first.id, IncidentState::Resolved)
        ]
    );
    let keys: BTreeSet<String> = store
        .outbox_due(T0 + 2 * HOUR, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.dedupe_key)
        .collect();
    assert_eq!(keys.len(), 5, "3 opened, 1 resolved, 1 reopened: {keys:?}");
    assert!(keys.contains(&format!("incident-{}-resolved", first.id)));
}

/// A transition whose notifications cannot be queued stores neither the transition nor any
/// notification (the crash-between-the-two case cannot arise).
pub fn incident_and_notifications_are_atomic<S: Store>(mut store: S) {
    let bad = |i: &Incident| {
        let mut v = notify_webhook(i);
        v.push(OutboxItem {
            dedupe_key: String::new(),
            channel: "slack".into(),
            payload: "{}".into(),
        });
        v
    };
    let err = store.apply_incident(&firing("error-rate", "alpha", T0, 0.05), &bad);
    assert!(err.is_err());
    assert!(
        store
            .incidents(&IncidentQuery::default())
            .unwrap()
            .is_empty(),
        "no incident"
    );
    assert!(
        store.outbox_due(i64::MAX, 100).unwrap().is_empty(),
        "no notification"
    );
    // The evaluator tries again and succeeds: one incident, one notification.
    store
        .apply_incident(&firing("error-rate", "alpha", T0, 0.05), &notify_webhook)
        .unwrap();
    assert_eq!(store.incidents(&IncidentQuery::default()).unwrap().len(), 1);
    assert_eq!(store.outbox_due(i64::MAX, 100).unwrap().len(), 1);
    // Resolving atomically too: a failure keeps it open and queues nothing.
    assert!(store
        .apply_incident(&clear("error-rate", "alpha", T0 + MIN), &bad)
        .is_err());
    let open = store
        .incidents(&IncidentQuery {
            state: Some(IncidentState::Open),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(store.outbox_due(i64::MAX, 100).unwrap().len(), 1);
}

/// Due entries, retries with backoff, permanent failure, sent once, dedupe keys, and the
/// checkpoint that travels with an enqueue.
pub fn outbox_delivery<S: Store>(mut store: S) {
    let item = |k: &str| OutboxItem {
        dedupe_key: k.into(),
        channel: "webhook".into(),
        payload: format!("{{\"group\":\"{k}\"}}"),
    };
    let cp = Checkpoint {
        key: "alerts/errors".into(),
        value: "seq=7".into(),
        updated_ms: T0,
    };
    let n = store
        .enqueue(&[item("new-a"), item("new-b")], T0, Some(&cp))
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(store.checkpoints("alerts/").unwrap(), vec![cp]);
    // The same keys again (a restart before the checkpoint moved): nothing new.
    assert_eq!(
        store
            .enqueue(&[item("new-a"), item("new-c")], T0 + 1, None)
            .unwrap(),
        1
    );
    assert!(
        store.outbox_due(T0 - 1, 10).unwrap().is_empty(),
        "not due before creation"
    );
    let due = store.outbox_due(T0 + 1, 10).unwrap();
    let keys: Vec<&str> = due.iter().map(|e| e.dedupe_key.as_str()).collect();
    assert_eq!(keys, vec!["new-a", "new-b", "new-c"]);
    assert!(due
        .iter()
        .all(|e| e.state == OutboxState::Pending && e.attempts == 0));
    let (a, b, c) = (due[0].id, due[1].id, due[2].id);
    assert!(store.outbox_mark(a, &OutboxMark::Sent, T0 + 2).unwrap());
    assert!(
        !store.outbox_mark(a, &OutboxMark::Sent, T0 + 3).unwrap(),
        "sent once"
    );
    let retry_at = T0 + 2 + retry_delay_ms(1);
    assert!(store
        .outbox_mark(
            b,
            &OutboxMark::Retry {
                next_attempt_ms: retry_at,
                error: "HTTP 503".into(),
            },
            T0 + 2,
        )
        .unwrap());
    assert!(store
        .outbox_mark(
            c,
            &OutboxMark::Failed {
                error: "HTTP 404".into()
            },
            T0 + 2
        )
        .unwrap());
    assert!(
        store.outbox_due(retry_at - 1, 10).unwrap().is_empty(),
        "backing off"
    );
    let due = store.outbox_due(retry_at, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id, due[0].attempts), (b, 1));
    assert_eq!(due[0].last_error.as_deref(), Some("HTTP 503"));
    assert!(
        !store.outbox_mark(c, &OutboxMark::Sent, T0 + 9).unwrap(),
        "a failed entry stays failed"
    );
    assert!(store.outbox_mark(b, &OutboxMark::Sent, retry_at).unwrap());
    assert!(store.outbox_due(i64::MAX, 10).unwrap().is_empty());
    // The history keeps every entry, newest first, with its outcome (the dashboard shows it).
    let history = store.outbox_history(0).unwrap();
    let seen: Vec<(i64, OutboxState, u32)> = history
        .iter()
        .map(|e| (e.id, e.state, e.attempts))
        .collect();
    assert_eq!(
        seen,
        vec![
            (c, OutboxState::Failed, 1),
            (b, OutboxState::Sent, 2),
            (a, OutboxState::Sent, 1)
        ]
    );
    assert_eq!(history[1].sent_ms, Some(retry_at));
    assert_eq!(history[1].last_error.as_deref(), Some("HTTP 503"));
    assert!(history[0].last_error.is_some());
    assert_eq!(store.outbox_history(1).unwrap().len(), 1);
    assert!(!store.outbox_mark(12345, &OutboxMark::Sent, T0).unwrap());
    // Backoff doubles from 30 s and stops at an hour.
    assert_eq!(
        (
            retry_delay_ms(1),
            retry_delay_ms(2),
            retry_delay_ms(3),
            retry_delay_ms(40)
        ),
        (30_000, 60_000, 120_000, 3_600_000)
    );
}
