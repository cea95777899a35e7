//! The engine's decisions against a real (in-memory) store: incidents open once, resolve
//! after the clear period, survive a lost state; error policies notify new groups once,
//! respect cooldowns and mutes, and see regressions.
#![allow(clippy::unwrap_used)]

use tern_core::model::{ErrorInfo, InvocationPart};
use tern_store::conformance::invocation;
use tern_store::{
    ErrorQuery, ErrorStatus, IncidentQuery, IncidentState, IngestBatch, SqliteStore, Store,
};

use super::engine::{apply_metric, plan_errors, plan_metric, rules_now, Fault};
use super::notify::Envelope;
use super::rules::AlertConfig;
use super::state::ErrorReader;
use crate::config::Config;

const NOW: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;

fn config(extra: &str) -> AlertConfig {
    Config::parse(&format!(
        r#"
[alerts]
evaluate_every = "1s"
resolve_after = "2m"
resolve_after_evals = 2
disable_builtin = ["builtin.near_timeout", "builtin.memory", "builtin.error_rate"]
dashboard_url = "https://tern.example.com"
[[channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "0123456789abcdef0123"
[[channels]]
name = "other"
type = "webhook"
url = "http://127.0.0.1:9/other"
secret = "0123456789abcdef0123"
{extra}
"#
    ))
    .unwrap()
    .alerts
}

fn timeout(function: &str, rid: &str, start: i64) -> InvocationPart {
    let mut p = invocation(function, 1, rid, start, 3000.0, 256);
    p.signals.timeout_line = true;
    p
}

fn failed(function: &str, rid: &str, start: i64, key: &str) -> InvocationPart {
    let mut p = invocation(function, 2, rid, start, 120.0, 256);
    p.signals.handler_error = true;
    p.error = Some(ErrorInfo {
        error_type: "KeyError".into(),
        message: format!("'{key}'"),
        stack: vec![
            "File \"/var/task/lambda_function.py\", line 36, in lambda_handler".into(),
            "File \"/var/task/orders.py\", line 12, in load".into(),
        ],
    });
    p
}

fn ingest(store: &mut SqliteStore, parts: Vec<InvocationPart>) {
    store
        .ingest(&IngestBatch {
            parts,
            ..IngestBatch::default()
        })
        .unwrap();
}

fn tick(store: &mut SqliteStore, cfg: &AlertConfig, now: i64, save_state: bool) {
    let mut plan = plan_metric(store, cfg, now).unwrap();
    if !save_state {
        plan.states.clear();
    }
    apply_metric(store, &plan, cfg.dashboard_url.as_deref(), Fault::None).unwrap();
}

fn outbox(store: &SqliteStore) -> Vec<(String, String)> {
    store
        .outbox_due(i64::MAX, 1000)
        .unwrap()
        .into_iter()
        .map(|e| (e.dedupe_key, e.channel))
        .collect()
}

#[test]
fn a_metric_incident_opens_once_and_resolves_after_the_clear_period() {
    let cfg = config(
        r#"
[[policies]]
name = "checkout-errors"
functions = ["checkout"]
metric = "errors"
comparison = ">="
threshold = 1
window = "10m"
channels = ["hook", "other"]
"#,
    );
    let mut store = SqliteStore::open_in_memory().unwrap();
    ingest(
        &mut store,
        vec![
            timeout("checkout", "t-1", NOW - 2 * MIN),
            invocation("checkout", 3, "ok-1", NOW - 3 * MIN, 10.0, 256),
            invocation("orders", 3, "ok-2", NOW - 3 * MIN, 10.0, 256),
        ],
    );
    tick(&mut store, &cfg, NOW, true);
    let open = store
        .incidents(&IncidentQuery {
            state: Some(IncidentState::Open),
            ..IncidentQuery::default()
        })
        .unwrap();
    // The policy and the built-in timeout_or_oom both fire on checkout, nothing on orders.
    let mut policies: Vec<&str> = open.iter().map(|i| i.policy.as_str()).collect();
    policies.sort();
    assert_eq!(policies, ["builtin.timeout_or_oom", "checkout-errors"]);
    assert!(open.iter().all(|i| i.subject == "checkout"));
    let id = open
        .iter()
        .find(|i| i.policy == "checkout-errors")
        .unwrap()
        .id;
    let keys = outbox(&store);
    assert!(keys.contains(&(format!("incident:{id}:opened@hook"), "hook".into())));
    assert!(keys.contains(&(format!("incident:{id}:opened@other"), "other".into())));
    let built_in = open
        .iter()
        .find(|i| i.policy != "checkout-errors")
        .unwrap()
        .id;
    // Built-ins go to the default channels: every channel.
    assert_eq!(keys.len(), 4, "{keys:?}");
    let payload = &store.outbox_due(i64::MAX, 10).unwrap()[0].payload;
    let n = Envelope::parse(payload).unwrap();
    assert_eq!(n.function.as_deref(), Some("checkout"));
    assert_eq!(
        n.dashboard_url.as_deref(),
        Some("https://tern.example.com/functions/checkout")
    );
    assert!(n.value.is_some() && n.threshold.is_some(), "{n:?}");

    // Still firing: no new notification. Then the state is lost (a crash before it was
    // saved): the open incident in the store is adopted, nothing is notified twice.
    tick(&mut store, &cfg, NOW + MIN, true);
    tick(&mut store, &cfg, NOW + 2 * MIN, false);
    assert_eq!(outbox(&store).len(), 4);

    // The timeout leaves the 10-minute window at NOW + 8m; two OK evaluations spanning the
    // 2-minute clear period resolve it.
    for m in [9, 10] {
        tick(&mut store, &cfg, NOW + m * MIN, true);
        assert_eq!(outbox(&store).len(), 4, "at +{m}m");
    }
    tick(&mut store, &cfg, NOW + 11 * MIN, true);
    let keys = outbox(&store);
    assert!(keys.contains(&(format!("incident:{id}:resolved@hook"), "hook".into())));
    // The built-in's 5-minute window cleared earlier; both are resolved now.
    assert!(keys
        .iter()
        .any(|(k, _)| k == &format!("incident:{built_in}:resolved@hook")));
    assert_eq!(keys.len(), 8, "{keys:?}");
    assert!(store
        .incidents(&IncidentQuery {
            state: Some(IncidentState::Open),
            ..IncidentQuery::default()
        })
        .unwrap()
        .is_empty());
}

#[test]
fn a_removed_policy_withdraws_its_incident() {
    let with = config(
        "[[policies]]\nname = \"p\"\nmetric = \"invocations\"\nthreshold = 0\nmin_invocations = 1\n",
    );
    let without = config("");
    let mut store = SqliteStore::open_in_memory().unwrap();
    ingest(
        &mut store,
        vec![invocation("f", 1, "a", NOW - MIN, 10.0, 256)],
    );
    tick(&mut store, &with, NOW, true);
    assert_eq!(outbox(&store).len(), 2);
    tick(&mut store, &without, NOW + MIN, true);
    let keys = outbox(&store);
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(keys[2].0.contains(":resolved@"));
}

/// A log-volume policy evaluates on the stored log lines of the window: it fires on the
/// function that logged more than the threshold, counting the lines of an invocation still
/// running (no REPORT yet), and not on the quiet one.
#[test]
fn a_log_lines_policy_fires_on_the_noisy_function() {
    let cfg = config(
        r#"
[[policies]]
name = "chatty"
metric = "log_lines"
comparison = ">"
threshold = 10
window = "5m"
min_invocations = 0
channels = ["hook"]
"#,
    );
    let mut store = SqliteStore::open_in_memory().unwrap();
    // Four lines per invocation: noisy logs 12 in the window, quiet 4, and stuck (START and
    // 20 lines, no REPORT) 22.
    let mut parts: Vec<InvocationPart> = (0..3)
        .map(|i| {
            invocation(
                "noisy",
                1,
                &format!("n-{i}"),
                NOW - (i + 1) * MIN,
                10.0,
                256,
            )
        })
        .collect();
    parts.push(invocation("quiet", 1, "q-1", NOW - MIN, 10.0, 256));
    // Outside the window: not counted.
    parts.push(invocation("quiet", 1, "q-0", NOW - 20 * MIN, 10.0, 256));
    let mut stuck = invocation("stuck", 1, "s-1", NOW - 2 * MIN, 10.0, 256);
    stuck.report = None;
    stuck.end_ms = None;
    stuck.log_lines.truncate(2);
    for k in 0..20 {
        stuck.log_lines.push(tern_core::model::LogLine {
            timestamp_ms: NOW - 2 * MIN + 10 + k,
            message: format!("still going {k}"),
            event_id: Some(format!("s-line-{k}")),
        });
    }
    parts.push(stuck);
    ingest(&mut store, parts);
    tick(&mut store, &cfg, NOW, true);
    let mut fired: Vec<(String, Option<f64>)> = store
        .incidents(&IncidentQuery {
            state: Some(IncidentState::Open),
            policy: Some("chatty".into()),
            ..IncidentQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|i| (i.subject, i.value))
        .collect();
    fired.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        fired,
        [
            ("noisy".to_string(), Some(12.0)),
            ("stuck".to_string(), Some(22.0))
        ]
    );
    // Re-ingesting the same lines adds nothing: still 12, not 24.
    ingest(
        &mut store,
        (0..3)
            .map(|i| {
                invocation(
                    "noisy",
                    1,
                    &format!("n-{i}"),
                    NOW - (i + 1) * MIN,
                    10.0,
                    256,
                )
            })
            .collect(),
    );
    let window = tern_store::TimeRange {
        from_ms: Some(NOW - 5 * MIN),
        to_ms: Some(NOW),
    };
    let stats = store.function_stats(&["noisy".into()], window).unwrap();
    assert_eq!(stats[0].log_lines, 12);
}

fn error_round(store: &mut SqliteStore, cfg: &AlertConfig, now: i64) -> Vec<String> {
    let reader = store
        .checkpoints("alert/errors")
        .unwrap()
        .first()
        .and_then(|c| ErrorReader::decode(&c.value))
        .unwrap_or_default();
    let rules = rules_now(store, cfg).unwrap();
    let plan = plan_errors(store, cfg, &rules, reader, now).unwrap();
    let cp = tern_store::Checkpoint {
        key: "alert/errors".into(),
        value: plan.reader.encode(),
        updated_ms: now,
    };
    store.enqueue(&plan.items, now, Some(&cp)).unwrap();
    plan.items.into_iter().map(|i| i.dedupe_key).collect()
}

#[test]
fn error_policies_notify_new_groups_once_with_cooldowns_mutes_and_regressions() {
    let cfg = config(
        r#"
[[error_policies]]
name = "every"
functions = ["checkout"]
on = "every"
cooldown = "1h"
channels = ["hook"]
"#,
    );
    let mut store = SqliteStore::open_in_memory().unwrap();
    ingest(&mut store, vec![failed("checkout", "e-1", NOW - MIN, "a")]);
    let sent = error_round(&mut store, &cfg, NOW);
    let g = store
        .error_groups(&ErrorQuery::default())
        .unwrap()
        .remove(0);
    let mut sent_sorted = sent.clone();
    sent_sorted.sort();
    assert_eq!(
        sent_sorted,
        [
            format!("error:{}:new:builtin.new_error@hook", g.id),
            format!("error:{}:new:builtin.new_error@other", g.id),
            format!("error:{}:new:every@hook", g.id),
        ]
    );
    // Nothing new: nothing sent. A second occurrence inside the cooldown: nothing either.
    assert!(error_round(&mut store, &cfg, NOW + MIN).is_empty());
    ingest(&mut store, vec![failed("checkout", "e-2", NOW, "b")]);
    assert!(error_round(&mut store, &cfg, NOW + 2 * MIN).is_empty());
    // After the cooldown, `every` notifies again.
    ingest(
        &mut store,
        vec![failed("checkout", "e-3", NOW + 61 * MIN, "c")],
    );
    assert_eq!(
        error_round(&mut store, &cfg, NOW + 62 * MIN).len(),
        1,
        "after the cooldown"
    );
    // Resolved, then it recurs: a regression for the built-in (the `every` policy is
    // cooling down again).
    store
        .set_error_status(&g.id, ErrorStatus::Resolved, None, NOW + 63 * MIN)
        .unwrap();
    ingest(
        &mut store,
        vec![failed("checkout", "e-4", NOW + 64 * MIN, "d")],
    );
    let sent = error_round(&mut store, &cfg, NOW + 65 * MIN);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|k| k.contains(":regression:")), "{sent:?}");
    // Muted: silence, whatever happens.
    store
        .set_error_status(&g.id, ErrorStatus::Muted, None, NOW + 66 * MIN)
        .unwrap();
    ingest(
        &mut store,
        vec![failed("checkout", "e-5", NOW + 200 * MIN, "e")],
    );
    assert!(error_round(&mut store, &cfg, NOW + 201 * MIN).is_empty());
}

/// A simulated fleet with the injected changes of `simulate --impact`, ingested into
/// a file store; returns the store and the end of its data.
fn impact_fleet(dir: &std::path::Path) -> (SqliteStore, i64) {
    let logs = dir.join("logs");
    crate::simulate::simulate(
        &crate::simulate::SimOptions {
            functions: 2,
            days: 2,
            seed: 3,
            invocations_per_day: Some(50),
            impact: true,
            ..crate::simulate::SimOptions::default()
        },
        &logs,
    )
    .unwrap();
    let db = dir.join("tern.db");
    crate::ingest::run(&crate::ingest::Settings::new(
        tern_store::StoreBackend::Sqlite(db.clone()),
        vec![logs],
    ))
    .unwrap();
    let store = SqliteStore::open(&db).unwrap();
    let (_, end) = store.time_bounds().unwrap().unwrap();
    (store, end)
}

fn open_incidents(store: &SqliteStore) -> Vec<(String, String, Option<String>)> {
    let mut v: Vec<(String, String, Option<String>)> = store
        .incidents(&IncidentQuery {
            state: Some(IncidentState::Open),
            policy: None,
            limit: 100,
        })
        .unwrap()
        .into_iter()
        .map(|i| (i.policy, i.subject, i.detail))
        .collect();
    v.sort();
    v
}

/// A regression policy opens one incident per change that made a function worse:
/// the +40% p95 deploy and the error-rate jump of `simulate --impact`. The memory increase
/// (faster) and the runtime update (no effect) open none; later ticks notify nothing more.
#[test]
fn a_regression_policy_opens_one_incident_per_bad_change() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, end) = impact_fleet(dir.path());
    let cfg = config(
        r#"
[[policies]]
name = "bad-deploys"
functions = ["impact-*"]
metric = "regression"
p95_increase = 0.3
error_rate_ratio = 2.0
severity = "critical"
channels = ["hook"]
"#,
    );
    let now = end + MIN;
    tick(&mut store, &cfg, now, true);
    let open = open_incidents(&store);
    let subjects: Vec<&str> = open.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(subjects, ["impact-errors", "impact-regression"], "{open:?}");
    let (_, _, detail) = &open[1];
    let detail = detail.as_deref().unwrap();
    assert!(detail.contains("version 1 → 2"), "{detail}");
    assert!(detail.contains("p95 duration +"), "{detail}");
    assert!(
        open[0].2.as_deref().unwrap().contains("error rate ×"),
        "{open:?}"
    );
    let sent = outbox(&store);
    assert_eq!(sent.len(), 2, "{sent:?}");
    // The dedupe key names the change.
    assert!(
        sent.iter()
            .all(|(k, c)| k.contains(":opened:version-") && c == "hook"),
        "{sent:?}"
    );
    let payload = &store.outbox_due(i64::MAX, 10).unwrap()[0].payload;
    let env: Envelope = serde_json::from_str(payload).unwrap();
    assert_eq!(env.severity, "critical");
    // Once per change: later ticks, even after the re-judging delay, add nothing.
    tick(&mut store, &cfg, now + MIN, true);
    tick(&mut store, &cfg, now + 3 * 60 * MIN, true);
    assert_eq!(outbox(&store).len(), 2);
    assert_eq!(open_incidents(&store).len(), 2);
    // When the changes grow older than max_age (7 days), their incidents resolve.
    tick(&mut store, &cfg, now + 30 * 24 * 60 * MIN, true);
    assert!(open_incidents(&store).is_empty());
    let sent = outbox(&store);
    assert_eq!(
        sent.iter()
            .filter(|(k, _)| k.ends_with(":resolved@hook"))
            .count(),
        2,
        "{sent:?}"
    );
    // A policy whose thresholds the changes do not reach opens nothing.
    let strict = config(
        r#"
[[policies]]
name = "huge-regressions"
functions = ["impact-*"]
metric = "regression"
p95_increase = 2.0
error_rate_ratio = 50
"#,
    );
    let dir2 = tempfile::tempdir().unwrap();
    let (mut fresh, end2) = impact_fleet(dir2.path());
    tick(&mut fresh, &strict, end2 + MIN, true);
    assert!(open_incidents(&fresh).is_empty());
    assert!(outbox(&fresh).is_empty());
}

/// Functions whose only changes did not make them worse (a faster memory size, a
/// runtime update with no effect) open no regression incident, and a fleet without changes
/// in the policy's `max_age` opens none either.
#[test]
fn no_regression_incident_without_a_bad_change() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, end) = impact_fleet(dir.path());
    let cfg = config(
        r#"
[[policies]]
name = "bad-deploys"
functions = ["impact-memory", "impact-steady"]
metric = "regression"
"#,
    );
    tick(&mut store, &cfg, end + MIN, true);
    assert!(open_incidents(&store).is_empty());
    assert!(outbox(&store).is_empty());
    // Long after: every change is older than max_age (7 days); nothing to judge.
    let everything = config(
        r#"
[[policies]]
name = "bad-deploys"
metric = "regression"
"#,
    );
    tick(&mut store, &everything, end + 30 * 24 * 60 * MIN, true);
    assert!(open_incidents(&store).is_empty());
}
