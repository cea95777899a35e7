//! Function cases: metadata from logs and the inventory, environments, checkpoints, and the
//! values (version, memory size, runtime…) seen over time.

use tern_core::model::InvocationPart;

use super::{batch, invocation, split, stream, DAY, HOUR, MIN, T0};
use crate::{Arch, Checkpoint, FunctionMeta, IngestBatch, InvocationQuery, Store, TimeRange};

/// Environments count each completed invocation once, with cold starts and runtime version.
pub fn environments<S: Store>(mut store: S) {
    let mut parts = Vec::new();
    for i in 0..5 {
        let mut p = invocation("alpha", 1, &format!("a{i}"), T0 + i * MIN, 50.0, 128);
        if i == 0 {
            p.runtime_version = Some("python:3.12.v18".into());
            if let Some(r) = p.report.as_mut() {
                r.init_duration_ms = Some(300.0);
            }
        }
        parts.push(p);
    }
    parts.push(invocation("alpha", 2, "b0", T0 + 10 * MIN, 50.0, 128));
    store.ingest(&batch(parts.clone())).unwrap();
    store.ingest(&batch(parts)).unwrap();
    let envs = store.environments("alpha").unwrap();
    assert_eq!(envs.len(), 2);
    assert_eq!(envs[0].log_stream, &*stream(1));
    assert_eq!(envs[0].invocations, 5);
    assert_eq!(envs[0].cold_starts, 1);
    assert_eq!(envs[0].runtime_version.as_deref(), Some("python:3.12.v18"));
    assert_eq!(envs[0].first_ms, Some(T0 + 50));
    assert_eq!(envs[0].last_ms, Some(T0 + 4 * MIN + 50));
    assert_eq!(envs[1].invocations, 1);
    assert_eq!(envs[1].cold_starts, 0);
    assert!(store.environments("nobody").unwrap().is_empty());
    let stats = store.function_stats(&[], TimeRange::all()).unwrap();
    assert_eq!(stats[0].environments, 2);
    let late = TimeRange {
        from_ms: Some(T0 + 6 * MIN),
        to_ms: None,
    };
    assert_eq!(store.function_stats(&[], late).unwrap()[0].environments, 1);

    // The fleet-wide summary agrees with the per-function rows, for every range.
    store
        .ingest(&batch(vec![invocation(
            "beta",
            3,
            "c0",
            T0 + 3 * MIN,
            9.0,
            256,
        )]))
        .unwrap();
    for range in [
        TimeRange::all(),
        late,
        TimeRange {
            from_ms: Some(T0 + 4 * MIN + 50),
            to_ms: Some(T0 + 10 * MIN + 50),
        },
        TimeRange {
            from_ms: Some(T0 + 20 * MIN),
            to_ms: None,
        },
    ] {
        assert_eq!(
            store.environment_summaries(range).unwrap(),
            crate::environment_summaries_by_rows(&store, range).unwrap(),
            "{range:?}"
        );
    }
    let all = store.environment_summaries(TimeRange::all()).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].function, "alpha");
    assert_eq!((all[0].environments, all[0].invocations), (2, 6));
    assert_eq!(all[0].lifetimes_ms, vec![0, 4 * MIN]);
    assert_eq!(all[0].runtime_versions, vec!["python:3.12.v18".to_string()]);
    // Out of range but with a runtime version: still listed, for the runtime.
    let none = store
        .environment_summaries(TimeRange {
            from_ms: Some(T0 + 20 * MIN),
            to_ms: None,
        })
        .unwrap();
    assert_eq!(none.len(), 1);
    assert_eq!(none[0].environments, 0);
}

/// Function metadata: `None` leaves the stored value, functions are listed sorted.
pub fn function_meta_updates<S: Store>(mut store: S) {
    let meta = |region: Option<&str>, arch, timeout_ms, memory| FunctionMeta {
        function: "zeta".into(),
        region: region.map(Into::into),
        arch,
        timeout_ms,
        runtime: None,
        memory_size_mb: memory,
        ..Default::default()
    };
    store
        .ingest(&IngestBatch {
            functions: vec![meta(Some("eu-west-1"), Some(Arch::Arm64), None, None)],
            parts: vec![invocation("alpha", 1, "r", T0, 10.0, 256)],
            ..Default::default()
        })
        .unwrap();
    store
        .ingest(&IngestBatch {
            functions: vec![meta(None, None, Some(30_000), Some(2048))],
            ..Default::default()
        })
        .unwrap();
    let fns = store.functions().unwrap();
    let names: Vec<&str> = fns.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    assert_eq!(
        fns[1],
        FunctionMeta {
            function: "zeta".into(),
            region: Some("eu-west-1".into()),
            arch: Some(Arch::Arm64),
            timeout_ms: Some(30_000),
            runtime: None,
            memory_size_mb: Some(2048),
            ..Default::default()
        }
    );
    // Memory seen in REPORTs when none was configured.
    assert_eq!(fns[0].memory_size_mb, Some(256));
    let stats = store
        .function_stats(
            &["zeta".to_string(), "unknown".to_string()],
            TimeRange::all(),
        )
        .unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].meta.region.as_deref(), Some("eu-west-1"));
}

/// Everything the AWS inventory records survives a round trip; a later partial update keeps
/// what it does not mention; tags can be cleared.
pub fn inventory_meta<S: Store>(mut store: S) {
    let full = FunctionMeta {
        function: "orders".into(),
        region: Some("eu-west-1".into()),
        arch: Some(Arch::Arm64),
        timeout_ms: Some(15_000),
        runtime: Some("python3.13".into()),
        memory_size_mb: Some(1024),
        account: Some("123456789012".into()),
        function_arn: Some("arn:aws:lambda:eu-west-1:123456789012:function:orders".into()),
        ephemeral_storage_mb: Some(512),
        log_group: Some("/custom/orders".into()),
        log_format: Some("JSON".into()),
        last_modified: Some("2026-03-01T10:00:00.000+0000".into()),
        tags: Some(vec![
            ("env".into(), "prod".into()),
            ("team".into(), "payments & billing".into()),
            ("empty".into(), String::new()),
        ]),
        inventory_ms: Some(T0),
        log_retention_days: Some(14),
    };
    store
        .ingest(&IngestBatch {
            functions: vec![full.clone()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.functions().unwrap(), vec![full.clone()]);
    // A later refresh that knows less keeps the rest; an older inventory time never wins.
    store
        .ingest(&IngestBatch {
            functions: vec![FunctionMeta {
                function: "orders".into(),
                memory_size_mb: Some(2048),
                inventory_ms: Some(T0 - 1),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    let got = store.functions().unwrap().remove(0);
    assert_eq!(got.memory_size_mb, Some(2048));
    assert_eq!(got.inventory_ms, Some(T0));
    assert_eq!(got.tags, full.tags);
    assert_eq!(
        got.log_retention_days,
        Some(14),
        "unknown retention keeps the stored one"
    );
    // Retention removed in AWS (the group never expires) is stored as 0, not as unknown.
    store
        .ingest(&IngestBatch {
            functions: vec![FunctionMeta {
                function: "orders".into(),
                log_retention_days: Some(0),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.functions().unwrap()[0].log_retention_days, Some(0));
    store
        .ingest(&IngestBatch {
            functions: vec![FunctionMeta {
                function: "orders".into(),
                tags: Some(vec![]),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.functions().unwrap()[0].tags, Some(vec![]));
}

/// Checkpoints are stored with the batch, listed by prefix in key order, and overwritten.
pub fn checkpoints_travel_with_data<S: Store>(mut store: S) {
    let cp = |key: &str, value: &str, at: i64| Checkpoint {
        key: key.into(),
        value: value.into(),
        updated_ms: at,
    };
    store
        .ingest(&IngestBatch {
            parts: vec![invocation("alpha", 1, "c1", T0, 10.0, 128)],
            checkpoints: vec![
                cp("pull/prod/us-east-1//aws/lambda/b", "{\"t\":1}", T0),
                cp("pull/prod/us-east-1//aws/lambda/a", "{\"t\":2}", T0),
                cp("pullx/other", "x", T0),
            ],
            ..Default::default()
        })
        .unwrap();
    let got = store.checkpoints("pull/").unwrap();
    let keys: Vec<&str> = got.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "pull/prod/us-east-1//aws/lambda/a",
            "pull/prod/us-east-1//aws/lambda/b"
        ]
    );
    assert_eq!(store.checkpoints("").unwrap().len(), 3);
    assert!(store.checkpoints("nothing/").unwrap().is_empty());
    // A prefix with LIKE wildcards matches only literally.
    assert!(store.checkpoints("pull%").unwrap().is_empty());
    store
        .ingest(&IngestBatch {
            checkpoints: vec![cp("pull/prod/us-east-1//aws/lambda/a", "{\"t\":3}", T0 + 5)],
            ..Default::default()
        })
        .unwrap();
    let a = &store
        .checkpoints("pull/prod/us-east-1//aws/lambda/a")
        .unwrap()[0];
    assert_eq!((a.value.as_str(), a.updated_ms), ("{\"t\":3}", T0 + 5));
    assert_eq!(
        store
            .invocations(&InvocationQuery::default())
            .unwrap()
            .len(),
        1
    );
}

/// (attribute, value, first, last) of every value seen of `function`.
fn seen_of<S: Store>(store: &S, function: &str) -> Vec<(&'static str, String, i64, i64)> {
    store
        .values_seen(Some(function))
        .unwrap()
        .into_iter()
        .map(|v| {
            assert_eq!(v.function, function);
            (
                v.seen.attribute.as_str(),
                v.seen.value,
                v.seen.first_ms,
                v.seen.last_ms,
            )
        })
        .collect()
}

/// A deploy history for `orders` (v1 at 512 MB, v2 at 1024 MB, back to v1, then v3
/// on a new runtime) and one quiet function, as whole invocations in time order.
pub fn deploy_history() -> Vec<InvocationPart> {
    let mk = |function: &str, rid: &str, start: i64, version: &str, memory: u32| {
        let mut p = invocation(function, 1, rid, start, 20.0, memory);
        p.version = Some(version.into());
        p
    };
    let mut cold = mk("orders", "o0", T0, "1", 512);
    cold.runtime_version = Some("python:3.12.v10".into());
    let mut v3 = mk("orders", "o5", T0 + 3 * HOUR, "3", 512);
    v3.log_stream = stream(2);
    v3.runtime_version = Some("python:3.12.v11".into());
    vec![
        cold,
        mk("orders", "o1", T0 + MIN, "1", 512),
        mk("orders", "o2", T0 + HOUR, "2", 1024),
        mk("orders", "o3", T0 + HOUR + MIN, "2", 1024),
        mk("orders", "o4", T0 + 2 * HOUR, "1", 512),
        v3,
        mk("billing", "b0", T0 + 10 * MIN, "$LATEST", 256),
    ]
}

/// The values seen of version, memory size and runtime version are kept at ingest,
/// in the batch's transaction. First-seen is the minimum and last-seen the maximum of the
/// times of complete invocations, so batches in any order, parts of one invocation in any
/// order, and re-ingesting give the same rows; an invocation without its REPORT is not seen.
pub fn values_seen_at_ingest<S: Store>(make: impl Fn() -> S) {
    let history = deploy_history();
    let mut whole = make();
    assert!(whole.values_seen(None).unwrap().is_empty());
    let mut incomplete = invocation("orders", 3, "never-reported", T0 - DAY, 20.0, 128);
    incomplete.report = None;
    incomplete.end_ms = None;
    incomplete.version = Some("9".into());
    let mut all = history.clone();
    all.push(incomplete);
    whole.ingest(&batch(all.clone())).unwrap();
    let end = |start: i64| start + 20;
    let want = vec![
        (
            "memory_size",
            "512".to_string(),
            end(T0),
            end(T0 + 3 * HOUR),
        ),
        (
            "memory_size",
            "1024".to_string(),
            end(T0 + HOUR),
            end(T0 + HOUR + MIN),
        ),
        (
            "runtime_version",
            "python:3.12.v10".to_string(),
            end(T0),
            end(T0),
        ),
        (
            "runtime_version",
            "python:3.12.v11".to_string(),
            end(T0 + 3 * HOUR),
            end(T0 + 3 * HOUR),
        ),
        ("version", "1".to_string(), end(T0), end(T0 + 2 * HOUR)),
        (
            "version",
            "2".to_string(),
            end(T0 + HOUR),
            end(T0 + HOUR + MIN),
        ),
        (
            "version",
            "3".to_string(),
            end(T0 + 3 * HOUR),
            end(T0 + 3 * HOUR),
        ),
    ];
    assert_eq!(seen_of(&whole, "orders"), want);
    assert_eq!(
        seen_of(&whole, "billing"),
        vec![
            (
                "memory_size",
                "256".to_string(),
                end(T0 + 10 * MIN),
                end(T0 + 10 * MIN)
            ),
            (
                "version",
                "$LATEST".to_string(),
                end(T0 + 10 * MIN),
                end(T0 + 10 * MIN)
            ),
        ]
    );
    assert!(seen_of(&whole, "nothing").is_empty());
    let everything = whole.values_seen(None).unwrap();
    assert_eq!(everything.len(), 9);
    assert!(everything
        .windows(2)
        .all(|w| w[0].function <= w[1].function));

    // Re-ingesting changes nothing.
    whole.ingest(&batch(all.clone())).unwrap();
    assert_eq!(seen_of(&whole, "orders"), want);

    // Newest first, one invocation per batch.
    let mut backwards = make();
    for p in all.iter().rev() {
        backwards.ingest(&batch(vec![p.clone()])).unwrap();
    }
    assert_eq!(seen_of(&backwards, "orders"), want);

    // Split parts, the REPORT before the START that carries the version, in separate batches.
    let mut split_store = make();
    let mut starts = Vec::new();
    for p in &history {
        let [start, report, _] = split(p);
        let mut report = report;
        report.runtime_version = None;
        split_store.ingest(&batch(vec![report])).unwrap();
        starts.push(start);
    }
    // Only the memory size is known so far (the REPORT carries it; the version is START's).
    assert!(seen_of(&split_store, "orders")
        .iter()
        .all(|(a, _, _, _)| *a == "memory_size"));
    starts.reverse();
    split_store.ingest(&batch(starts)).unwrap();
    assert_eq!(seen_of(&split_store, "orders"), want);

    // The change points read from them: 1 → 2, 2 → 1 (a rollback), 1 → 3, and the memory and
    // runtime changes.
    let changes = crate::changes(&whole, Some("orders"), 0).unwrap();
    let summary: Vec<(String, Option<String>, Option<String>, bool)> = changes
        .iter()
        .filter(|(_, c)| c.attribute == tern_core::impact::Attribute::Version)
        .map(|(f, c)| (f.clone(), c.from.clone(), c.to.clone(), c.rollback))
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        summary,
        vec![
            ("orders".into(), s("1"), s("2"), false),
            ("orders".into(), s("2"), s("1"), true),
            ("orders".into(), s("1"), s("3"), false),
        ]
    );
    assert_eq!(changes.len(), 3 + 2 + 1, "{changes:?}");
    // Since a time: only the later ones (1 → 3 and the runtime update).
    let later: Vec<String> = crate::changes(&whole, None, T0 + 2 * HOUR)
        .unwrap()
        .into_iter()
        .map(|(_, c)| c.id)
        .collect();
    assert_eq!(
        later,
        [
            format!("version-{}", end(T0 + 3 * HOUR)),
            format!("runtime_version-{}", end(T0 + 3 * HOUR)),
        ]
    );
}

/// The inventory's architecture and `LastModified` are values seen too: the
/// architecture from when the inventory listed it (or its `LastModified`, when earlier), each
/// `LastModified` at its own instant. Unreadable `LastModified` text is not a change time.
pub fn values_seen_from_inventory<S: Store>(mut store: S) {
    let meta = |arch: Arch, modified: &str, listed: i64| FunctionMeta {
        function: "orders".into(),
        arch: Some(arch),
        last_modified: Some(modified.into()),
        inventory_ms: Some(listed),
        ..FunctionMeta::default()
    };
    let day1 = "2026-03-01T00:00:00.000+0000";
    let day2 = "2026-03-02T00:00:00.000+0000";
    for m in [
        meta(Arch::X86_64, day1, T0 + HOUR),
        meta(Arch::X86_64, day1, T0 + 2 * HOUR),
        meta(Arch::Arm64, day2, T0 + DAY + HOUR),
        meta(Arch::Arm64, "yesterday-ish", T0 + 2 * DAY),
    ] {
        store
            .ingest(&IngestBatch {
                functions: vec![m],
                ..IngestBatch::default()
            })
            .unwrap();
    }
    assert_eq!(
        seen_of(&store, "orders"),
        vec![
            ("architecture", "x86_64".to_string(), T0, T0 + 2 * HOUR),
            ("architecture", "arm64".to_string(), T0 + DAY, T0 + 2 * DAY),
            ("configuration", day1.to_string(), T0, T0 + 2 * HOUR),
            ("configuration", day2.to_string(), T0 + DAY, T0 + DAY + HOUR),
        ]
    );
    let changes = crate::changes(&store, Some("orders"), 0).unwrap();
    let what: Vec<(&str, Option<String>, i64)> = changes
        .iter()
        .map(|(_, c)| (c.attribute.as_str(), c.to.clone(), c.at_ms))
        .collect();
    assert_eq!(
        what,
        vec![
            ("configuration", Some(day2.to_string()), T0 + DAY),
            ("architecture", Some("arm64".to_string()), T0 + DAY),
        ]
    );
}
