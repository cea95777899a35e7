//! Control cases: retention, leases, and deleting a function's data.

use std::collections::{BTreeMap, HashMap};

use super::{assert_stats_eq, group, invocation, line, stream, DAY, HOUR, MIN, T0};
use crate::{ErrorQuery, IngestBatch, InvocationQuery, Retention, Store, StreamLines, TimeRange};

/// Retention deletes old invocations and stream lines, keeps newer ones, deletes old rollup
/// buckets, and drops old parts that arrive later (they would count twice).
pub fn retention<S: Store>(mut store: S) {
    let mut parts = Vec::new();
    for d in 0..5 {
        for i in 0..10 {
            let t = T0 + d * DAY + i * HOUR;
            parts.push(invocation(
                "alpha",
                d as u32,
                &format!("r{d}-{i}"),
                t,
                50.0,
                256,
            ));
        }
    }
    store
        .ingest(&IngestBatch {
            stream_lines: vec![StreamLines {
                function: "alpha".into(),
                log_group: group("alpha"),
                log_stream: stream(0),
                lines: vec![line(
                    T0 - MIN,
                    "INIT_START Runtime Version: python:3.13",
                    None,
                )],
            }],
            parts: parts.clone(),
            ..Default::default()
        })
        .unwrap();
    let all = TimeRange::all();
    assert_eq!(store.function_stats(&[], all).unwrap()[0].invocations, 50);
    let stats = store
        .apply_retention(Retention {
            raw_before_ms: Some(T0 + 2 * DAY),
            rollups_before_ms: None,
        })
        .unwrap();
    assert_eq!(stats.invocations, 20);
    assert_eq!(stats.stream_chunks, 1);
    let q = InvocationQuery {
        limit: 1000,
        ..Default::default()
    };
    let left = store.invocations(&q).unwrap();
    assert_eq!(left.len(), 30);
    assert!(left.iter().all(|r| r.start_ms.unwrap() >= T0 + 2 * DAY));
    // Rollups are untouched by raw retention.
    assert_eq!(store.function_stats(&[], all).unwrap()[0].invocations, 50);
    // Re-ingesting everything: old parts are dropped and counted, nothing counts twice.
    let again = store
        .ingest(&IngestBatch {
            parts,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(again.expired, 20);
    assert_eq!(again.inserted, 0);
    assert_eq!(store.function_stats(&[], all).unwrap()[0].invocations, 50);
    // Rollup retention: whole days before the cutoff go.
    let stats = store
        .apply_retention(Retention {
            raw_before_ms: None,
            rollups_before_ms: Some(T0 + 2 * DAY),
        })
        .unwrap();
    assert!(stats.rollup_rows > 0);
    let left = store.function_stats(&[], all).unwrap();
    assert_eq!(left[0].invocations, 30);
    // An earlier raw cutoff never moves the watermark back.
    store
        .apply_retention(Retention {
            raw_before_ms: Some(T0),
            rollups_before_ms: None,
        })
        .unwrap();
    let late = invocation("alpha", 9, "late", T0 + DAY, 5.0, 256);
    let r = store
        .ingest(&IngestBatch {
            parts: vec![late],
            ..Default::default()
        })
        .unwrap();
    assert_eq!((r.expired, r.inserted), (1, 0));
}

fn holder_of<S: Store>(store: &S, name: &str, now: i64) -> Option<(String, i64)> {
    let live = store.leases(name, now).unwrap();
    let mine: Vec<_> = live.into_iter().filter(|l| l.name == name).collect();
    assert!(mine.len() <= 1, "one holder per lease name, got {mine:?}");
    mine.into_iter().next().map(|l| (l.holder, l.expires_ms))
}

/// A lease lasts its time to live and no longer; its holder renews it (even after expiry,
/// when nobody took it meanwhile), and another holder cannot take it while it is live.
pub fn lease_expiry_and_renewal<S: Store>(mut store: S) {
    let ttl = 30_000;
    assert_eq!(holder_of(&store, "alerts", T0), None);
    assert!(store.try_lease("alerts", "a", T0, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0),
        Some(("a".into(), T0 + ttl))
    );
    // Live until the instant it expires, then gone.
    assert!(holder_of(&store, "alerts", T0 + ttl - 1).is_some());
    assert_eq!(holder_of(&store, "alerts", T0 + ttl), None);
    // Renewal by the holder moves the expiry.
    assert!(store.try_lease("alerts", "a", T0 + 10_000, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + 10_000),
        Some(("a".into(), T0 + 10_000 + ttl))
    );
    assert!(!store.try_lease("alerts", "b", T0 + ttl, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + ttl),
        Some(("a".into(), T0 + 10_000 + ttl))
    );
    // Expired and untaken: the old holder takes it again.
    let later = T0 + 10 * ttl;
    assert_eq!(holder_of(&store, "alerts", later), None);
    assert!(store.try_lease("alerts", "a", later, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", later),
        Some(("a".into(), later + ttl))
    );
    // Other names are other leases; a prefix lists them by name.
    assert!(store.try_lease("collector/b", "b", later, ttl).unwrap());
    assert!(store.try_lease("collector/a", "a", later, ttl).unwrap());
    let names: Vec<String> = store
        .leases("collector/", later)
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["collector/a", "collector/b"]);
    assert_eq!(store.leases("", later).unwrap().len(), 3);
}

/// After expiry another holder takes the lease over, and the old holder can no longer renew
/// it; releasing frees it at once, and only its holder can release it.
pub fn lease_takeover_and_release<S: Store>(mut store: S) {
    let ttl = 10_000;
    assert!(store.try_lease("alerts", "a", T0, ttl).unwrap());
    assert!(store.try_lease("alerts", "b", T0 + ttl, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + ttl),
        Some(("b".into(), T0 + 2 * ttl))
    );
    assert!(!store.try_lease("alerts", "a", T0 + ttl + 1, ttl).unwrap());
    // Only the holder releases.
    assert!(!store.release_lease("alerts", "a").unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + ttl + 1).map(|h| h.0),
        Some("b".into())
    );
    assert!(store.release_lease("alerts", "b").unwrap());
    assert_eq!(holder_of(&store, "alerts", T0 + ttl + 1), None);
    assert!(!store.release_lease("alerts", "b").unwrap());
    // Free at once: a takes it before b's old term would have ended.
    assert!(store.try_lease("alerts", "a", T0 + ttl + 2, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + ttl + 2).map(|h| h.0),
        Some("a".into())
    );
    // Releasing an unknown lease is no error.
    assert!(!store.release_lease("never-taken", "a").unwrap());
}

/// Holders taking turns at one lease over time, with clocks stepping through every boundary:
/// at every instant at most one of them has been told it holds the lease, and the store
/// names that one.
pub fn lease_never_two_holders<S: Store>(mut store: S) {
    let ttl = 1_000;
    let holders = ["a", "b", "c"];
    // Until when each holder was told it holds the lease.
    let mut granted: HashMap<&str, i64> = HashMap::new();
    let mut now = T0;
    for step in 0..600u32 {
        // Deterministic, uneven steps: some renew in time, some arrive after expiry.
        now += i64::from((step * 7919) % 700);
        let h = holders[(step as usize * 5 + step as usize / 3) % holders.len()];
        if store.try_lease("alerts", h, now, ttl).unwrap() {
            granted.insert(h, now + ttl);
        } else {
            // Refused: someone else's term is live now.
            let (other, until) = holder_of(&store, "alerts", now).expect("refused, so held");
            assert_ne!(other, h);
            assert!(until > now);
            granted.remove(h);
        }
        if step % 97 == 0 {
            // Now and then the holder gives up early.
            if let Some((holder, _)) = holder_of(&store, "alerts", now) {
                if store.release_lease("alerts", &holder).unwrap() {
                    granted.remove(holder.as_str());
                }
            }
        }
        let live: Vec<&&str> = granted
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(h, _)| h)
            .collect();
        assert!(live.len() <= 1, "two holders at {now}: {live:?}");
        let stored = holder_of(&store, "alerts", now).map(|x| x.0);
        assert_eq!(
            stored.as_deref(),
            live.first().map(|h| **h),
            "at step {step}"
        );
    }
}

/// Empty, over-long or control-character names and holders, and a time to live that is not
/// positive, are errors naming what is wrong; nothing is stored.
pub fn lease_bad_arguments<S: Store>(mut store: S) {
    let long = "x".repeat(crate::MAX_LEASE_ID + 1);
    for (name, holder, ttl) in [
        ("", "a", 1_000),
        ("alerts", "", 1_000),
        (long.as_str(), "a", 1_000),
        ("alerts", long.as_str(), 1_000),
        ("alerts\n", "a", 1_000),
        ("alerts", "a", 0),
        ("alerts", "a", -5),
    ] {
        let e = store
            .try_lease(name, holder, T0, ttl)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lease"), "{e}");
    }
    assert!(store.release_lease("", "a").is_err());
    assert!(store.leases("", T0).unwrap().is_empty());
    // An expiry past the end of time saturates instead of wrapping.
    assert!(store.try_lease("alerts", "a", i64::MAX - 5, 1_000).unwrap());
}

/// `tern delete`: a function filed under the wrong name goes whole, its neighbour untouched;
/// a partial delete removes whole days, and ingesting the same parts again restores exactly
/// what was there (error totals included).
pub fn delete_function<S: Store>(mut store: S) {
    let mut parts = Vec::new();
    for (f, n) in [("unknown", 30u32), ("orders", 40)] {
        for i in 0..n {
            let mut p = invocation(
                f,
                i % 4,
                &format!("{f}-{i}"),
                T0 + i64::from(i) * 3 * 3_600_000,
                20.0,
                256,
            );
            // Cold starts on both sides of the cutoffs, for the environments' counts.
            if i % 7 == 0 {
                if let Some(r) = p.report.as_mut() {
                    r.init_duration_ms = Some(150.0);
                }
            }
            if i % 5 == 0 {
                p.signals.handler_error = true;
                p.error = Some(tern_core::model::ErrorInfo {
                    error_type: "KeyError".into(),
                    message: "'id'".into(),
                    stack: vec!["File \"/var/task/app.py\", line 3, in handler".into()],
                });
            }
            parts.push(p);
        }
    }
    store
        .ingest(&IngestBatch {
            parts: parts.clone(),
            ..Default::default()
        })
        .unwrap();
    let all = TimeRange::all();
    let stats = |s: &S| -> Vec<(String, u64, u64)> {
        s.function_stats(&[], all)
            .unwrap()
            .into_iter()
            .map(|f| (f.function, f.invocations, f.errors))
            .collect()
    };
    let groups = |s: &S| -> Vec<(String, u64)> {
        let mut g: Vec<_> = s
            .error_groups(&ErrorQuery {
                limit: usize::MAX,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|g| (g.function, g.count))
            .collect();
        g.sort();
        g
    };
    // Sealed first, so backends that read sealed rows instead of raw ones delete from both.
    store.seal(T0 + 30 * DAY).unwrap();
    let before_stats = stats(&store);
    let before_full = store.function_stats(&[], all).unwrap();
    let before_groups = groups(&store);
    let before_envs = store.environments("orders").unwrap();
    assert_eq!(before_stats.len(), 2);
    let orders_from = |s: &S, from: i64| {
        s.function_stats(
            &["orders".to_string()],
            TimeRange {
                from_ms: Some(from),
                to_ms: None,
            },
        )
        .unwrap()
    };

    // Partial at the end of the first day: the streams are named after that day, so the
    // second day's invocations are stored with the first day's (where a backend keeps them
    // by day), and must stay.
    let after_first = orders_from(&store, T0 + DAY);
    let d = store.delete_function("orders", Some(T0 + DAY)).unwrap();
    assert_eq!(d.invocations, 8, "{d:?}");
    assert_eq!(stats(&store)[0], ("orders".to_string(), 32, 6));
    assert_stats_eq(
        &orders_from(&store, T0 + DAY),
        &after_first,
        "what follows the cutoff is untouched",
    );
    // Each environment counts the invocations (and cold starts) left after the cutoff.
    let envs = |s: &S| -> Vec<(String, u64, u64)> {
        let mut e: Vec<_> = s
            .environments("orders")
            .unwrap()
            .into_iter()
            .map(|e| (e.log_stream, e.invocations, e.cold_starts))
            .collect();
        e.sort();
        e
    };
    let mut left_envs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for p in parts
        .iter()
        .filter(|p| p.function == "orders" && p.start_ms >= Some(T0 + DAY))
    {
        let e = left_envs.entry(p.log_stream.to_string()).or_default();
        e.0 += 1;
        e.1 += u64::from(p.is_cold());
    }
    let left_envs: Vec<_> = left_envs.into_iter().map(|(k, (n, c))| (k, n, c)).collect();
    assert_eq!(envs(&store), left_envs, "environments after the cutoff");
    store.seal(T0 + 30 * DAY).unwrap();
    assert_stats_eq(
        &orders_from(&store, T0 + DAY),
        &after_first,
        "and stays so once sealed again",
    );
    assert_eq!(envs(&store), left_envs, "environments once sealed again");

    // Partial: whole days before the cutoff, of one function only.
    let cut = T0 + 2 * DAY;
    let d = store.delete_function("orders", Some(cut)).unwrap();
    assert_eq!(d.invocations, 8, "{d:?}");
    assert!(!d.function);
    let left: Vec<_> = store
        .invocations(&InvocationQuery {
            limit: 1000,
            functions: vec!["orders".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(left.len(), 24);
    assert_eq!(stats(&store)[0], ("orders".to_string(), 24, 4));
    assert_eq!(
        stats(&store)[1],
        before_stats[1],
        "the other function is untouched"
    );
    // Not a midnight: refused, nothing deleted.
    assert!(store.delete_function("orders", Some(cut + 1)).is_err());
    store
        .ingest(&IngestBatch {
            parts: parts.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        stats(&store),
        before_stats,
        "re-ingest restores the statistics"
    );
    assert_eq!(groups(&store), before_groups, "and the error totals");
    assert_stats_eq(
        &store.function_stats(&[], all).unwrap(),
        &before_full,
        "every statistic",
    );
    assert_eq!(
        store.environments("orders").unwrap(),
        before_envs,
        "and the environments"
    );

    // Whole: the name goes too; the other function stays; a correct re-ingest under the right
    // name then counts once.
    let d = store.delete_function("unknown", None).unwrap();
    assert_eq!(d.invocations, 30);
    assert!(
        d.function && d.environments == 4 && d.error_groups == 1,
        "{d:?}"
    );
    let names: Vec<_> = store
        .functions()
        .unwrap()
        .into_iter()
        .map(|m| m.function)
        .collect();
    assert_eq!(names, ["orders"]);
    assert_eq!(stats(&store), before_stats[..1]);
    assert_eq!(groups(&store), before_groups[..1]);
    // Deleting what is not there deletes nothing.
    assert_eq!(
        store.delete_function("unknown", None).unwrap(),
        crate::DeleteStats::default()
    );
    // Ingest keeps working after the ids it cached were deleted.
    let again: Vec<_> = parts
        .iter()
        .filter(|p| p.function == "unknown")
        .cloned()
        .collect();
    let r = store
        .ingest(&IngestBatch {
            parts: again,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.inserted, 30);
    assert_eq!(stats(&store), before_stats);
}
