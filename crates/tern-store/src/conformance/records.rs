//! Record cases: power-tuning runs and markers round-trip.

use super::{DAY, MIN, T0};
use crate::{Arch, Store, TuningPoint, TuningRun};

fn tuning_point(memory_mb: u32, arch: Arch, p50: f64) -> TuningPoint {
    TuningPoint {
        memory_mb,
        arch,
        invocations: 10,
        errors: 0,
        cold_starts: 1,
        p50_ms: Some(p50),
        p95_ms: Some(p50 * 1.2),
        p99_ms: Some(p50 * 1.3),
        trimmed_mean_ms: Some(p50 * 1.01),
        billed_mean_ms: Some((p50 * 1.01).ceil()),
        init_p50_ms: Some(180.5),
        max_memory_used_mb: Some(90),
        cost_usd: Some(1.234_567_890_123e-6),
        error: None,
    }
}

/// Runs come back as stored (every field, floats exact), newest first, only the asked
/// function's; storing a run again replaces it; a failed size keeps its error and no durations.
pub fn tuning_runs_round_trip<S: Store>(mut store: S) {
    assert!(store.tuning_runs("orders").unwrap().is_empty());
    let failed = TuningPoint {
        invocations: 0,
        errors: 10,
        cold_starts: 0,
        p50_ms: None,
        p95_ms: None,
        p99_ms: None,
        trimmed_mean_ms: None,
        billed_mean_ms: None,
        init_p50_ms: None,
        max_memory_used_mb: Some(128),
        cost_usd: None,
        error: Some("Unhandled: Runtime.OutOfMemory".into()),
        ..tuning_point(128, Arch::X86_64, 0.0)
    };
    let older = TuningRun {
        function: "orders".into(),
        region: "us-east-1".into(),
        started_ms: T0,
        finished_ms: T0 + 5 * MIN,
        original_memory_mb: 512,
        original_arch: Arch::X86_64,
        invocations_per_size: 10,
        cold_starts_only: false,
        payload: "event.json".into(),
        complete: true,
        applied_memory_mb: Some(1024),
        // Stored out of order: read back sorted by (arch, memory).
        points: vec![
            tuning_point(1024, Arch::X86_64, 210.25),
            tuning_point(512, Arch::Arm64, 400.5),
            failed.clone(),
            tuning_point(256, Arch::X86_64, 811.125),
        ],
    };
    let newer = TuningRun {
        started_ms: T0 + DAY,
        finished_ms: T0 + DAY + MIN,
        cold_starts_only: true,
        complete: false,
        applied_memory_mb: None,
        payload: "none".into(),
        points: vec![tuning_point(2048, Arch::X86_64, 99.0)],
        ..older.clone()
    };
    let other = TuningRun {
        function: "billing".into(),
        ..older.clone()
    };
    store.store_tuning_run(&older).unwrap();
    store.store_tuning_run(&newer).unwrap();
    store.store_tuning_run(&other).unwrap();
    let mut sorted = older.clone();
    sorted.points = vec![
        failed,
        tuning_point(256, Arch::X86_64, 811.125),
        tuning_point(1024, Arch::X86_64, 210.25),
        tuning_point(512, Arch::Arm64, 400.5),
    ];
    assert_eq!(
        store.tuning_runs("orders").unwrap(),
        vec![newer.clone(), sorted.clone()]
    );
    assert_eq!(store.tuning_runs("billing").unwrap().len(), 1);
    assert!(store.tuning_runs("unknown").unwrap().is_empty());
    // The same run again (a retried write) replaces it, points included.
    let mut again = newer.clone();
    again.complete = true;
    again.points = vec![tuning_point(3008, Arch::X86_64, 80.0)];
    store.store_tuning_run(&again).unwrap();
    assert_eq!(store.tuning_runs("orders").unwrap(), vec![again, sorted]);
    // A run without a function is refused.
    assert!(store
        .store_tuning_run(&TuningRun {
            function: String::new(),
            ..older
        })
        .is_err());
}

/// Markers come back by function, in time order (ties by id), with the ids the
/// store assigned; empty names and notes are refused.
pub fn markers_round_trip<S: Store>(mut store: S) {
    assert!(store.markers(None).unwrap().is_empty());
    let mk = |function: &str, at_ms: i64, note: &str| crate::Marker {
        id: 0,
        function: function.into(),
        at_ms,
        note: note.into(),
        created_ms: T0 + DAY,
    };
    let late = store
        .add_marker(&mk("orders", T0 + 2 * MIN, "deployed v42"))
        .unwrap();
    let early = store.add_marker(&mk("orders", T0, "deployed v41")).unwrap();
    let other = store
        .add_marker(&mk("billing", T0 + MIN, "config"))
        .unwrap();
    let tie = store.add_marker(&mk("orders", T0, "flag on")).unwrap();
    assert!(late.id < early.id && early.id < other.id && other.id < tie.id);
    assert_eq!(late.note, "deployed v42");
    assert_eq!(
        store.markers(Some("orders")).unwrap(),
        vec![early.clone(), tie.clone(), late.clone()]
    );
    assert_eq!(store.markers(Some("nothing")).unwrap(), vec![]);
    assert_eq!(store.markers(None).unwrap(), vec![early, tie, other, late]);
    assert!(store.add_marker(&mk("", T0, "x")).is_err());
    assert!(store.add_marker(&mk("orders", T0, "  ")).is_err());
    assert_eq!(store.markers(Some("orders")).unwrap().len(), 3);
}
