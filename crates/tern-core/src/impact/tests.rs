#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

/// SplitMix64 plus Box–Muller: synthetic invocations, deterministic per seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        (-2.0 * self.unit().ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

#[derive(Clone, Copy)]
struct Shape {
    median_ms: f64,
    error_p: f64,
    cold_p: f64,
    memory_mb: u32,
}

const BASE: Shape = Shape {
    median_ms: 120.0,
    error_p: 0.01,
    cold_p: 0.03,
    memory_mb: 512,
};

/// `n` invocations spread evenly over `[from, from + span)`.
fn side(rng: &mut Rng, n: usize, from: i64, span: i64, shape: Shape, version: &str) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let d = shape.median_ms * (0.5 * rng.normal()).exp();
            let cold = rng.unit() < shape.cold_p;
            Sample {
                at_ms: from + span * i as i64 / n as i64,
                version: Some(version.into()),
                memory_mb: Some(shape.memory_mb),
                runtime_version: Some("python:3.12.v1".into()),
                duration_ms: d,
                billed_ms: d.ceil(),
                cold,
                init_ms: cold.then(|| 250.0 * (0.3 * rng.normal()).exp()),
                failed: rng.unit() < shape.error_p,
                max_memory_mb: Some(60 + (rng.next() % 8) as u32),
            }
        })
        .collect()
}

fn run(seed: u64, n: usize, before: Shape, after: Shape) -> Comparison {
    let mut rng = Rng(seed);
    let b = side(&mut rng, n, 0, DAY_MS, before, "1");
    let a = side(&mut rng, n, DAY_MS, DAY_MS, after, "2");
    let (b, a): (Vec<&Sample>, Vec<&Sample>) = (b.iter().collect(), a.iter().collect());
    compare(&b, &a, 1e6, "us-east-1", &Settings::default())
}

fn verdict(c: &Comparison, name: &str) -> Verdict {
    c.metric(name).unwrap().verdict
}

/// With nothing changed, no comparison reports any difference more
/// often than the stated level (95% family-wise: at most 5% of seeds).
#[test]
fn no_change_false_positive_rate_is_within_the_stated_level() {
    let seeds = 200u64;
    let mut flagged = 0;
    for seed in 0..seeds {
        let c = run(seed, 1500, BASE, BASE);
        assert!(c.enough_data);
        if c.metrics
            .iter()
            .any(|m| matches!(m.verdict, Verdict::Better | Verdict::Worse))
        {
            flagged += 1;
        }
    }
    let level = (0.05 * seeds as f64) as u64;
    assert!(
        flagged <= level,
        "{flagged} of {seeds} no-change comparisons reported a difference"
    );
}

#[test]
fn a_duration_regression_is_worse() {
    let slow = Shape {
        median_ms: BASE.median_ms * 1.4,
        ..BASE
    };
    let c = run(7, 2000, BASE, slow);
    for m in [
        "duration_p50",
        "duration_p95",
        "billed_duration_mean",
        "cost_per_invocation",
    ] {
        assert_eq!(verdict(&c, m), Verdict::Worse, "{m}: {:?}", c.metric(m));
    }
    let p50 = c.metric("duration_p50").unwrap();
    let (lo, hi) = p50.change_ci.unwrap();
    assert!(lo < 0.4 && hi > 0.4, "+40% inside [{lo}, {hi}]");
    assert_eq!(verdict(&c, "error_rate"), Verdict::NoSignificantChange);
}

#[test]
fn an_error_jump_is_worse_and_a_speedup_better() {
    let errors = Shape {
        error_p: 0.06,
        ..BASE
    };
    let c = run(3, 2000, BASE, errors);
    assert_eq!(verdict(&c, "error_rate"), Verdict::Worse);
    assert_eq!(verdict(&c, "duration_p50"), Verdict::NoSignificantChange);

    let fast = Shape {
        median_ms: BASE.median_ms / 2.0,
        memory_mb: 1024,
        ..BASE
    };
    let c = run(4, 2000, BASE, fast);
    assert_eq!(verdict(&c, "duration_p50"), Verdict::Better);
    // Twice the memory at half the duration: the cost per invocation barely moves.
    assert!(
        c.metric("cost_per_invocation")
            .unwrap()
            .change
            .unwrap()
            .abs()
            < 0.1
    );
}

#[test]
fn small_samples_are_not_enough_data() {
    let c = run(1, 20, BASE, BASE);
    assert!(!c.enough_data);
    assert!(c
        .metrics
        .iter()
        .all(|m| m.verdict == Verdict::NotEnoughData));
    // Enough for a median, not for a 99th percentile at 99.5% per metric.
    let c = run(1, 100, BASE, BASE);
    assert_ne!(verdict(&c, "duration_p50"), Verdict::NotEnoughData);
    assert_eq!(verdict(&c, "duration_p99"), Verdict::NotEnoughData);
}

#[test]
fn like_hours_restrict_partial_days() {
    let mut rng = Rng(9);
    // Before: 00:00–12:00; after: 06:00–18:00 of the next day. Common: 06–12.
    let b = side(&mut rng, 600, 0, DAY_MS / 2, BASE, "1");
    let a = side(&mut rng, 600, DAY_MS + DAY_MS / 4, DAY_MS / 2, BASE, "2");
    let (b, a): (Vec<&Sample>, Vec<&Sample>) = (b.iter().collect(), a.iter().collect());
    let c = compare(&b, &a, 1.0, "us-east-1", &Settings::default());
    assert_eq!(c.hours, HourGuard::Restricted((6..12).collect()));
    assert!(c.before_n < 600 && c.after_n < 600);
    // No common hour: compared as is, and said so.
    let a2: Vec<&Sample> = a.iter().copied().filter(|s| hour(s.at_ms) >= 12).collect();
    let c = compare(&b, &a2, 1.0, "us-east-1", &Settings::default());
    assert_eq!(c.hours, HourGuard::CouldNot);
}

#[test]
fn detection_finds_first_use_of_each_new_value_in_a_mixed_rollout() {
    let mk = |at_ms: i64, v: &str, mem: u32, rt: &str| Sample {
        at_ms,
        version: Some(v.into()),
        memory_mb: Some(mem),
        runtime_version: Some(rt.into()),
        ..Sample::default()
    };
    let samples = vec![
        mk(1, "1", 512, "a"),
        mk(2, "1", 512, "a"),
        mk(3, "2", 512, "a"), // rollout starts
        mk(4, "1", 512, "a"),
        mk(5, "2", 1024, "b"),
        mk(6, "1", 1024, "b"),
        mk(7, "2", 1024, "b"),
    ];
    let changes = detect(&samples);
    let got: Vec<(&str, i64, Option<&str>, Option<&str>)> = changes
        .iter()
        .map(|c| (c.id.as_str(), c.at_ms, c.from.as_deref(), c.to.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("version-3", 3, Some("1"), Some("2")),
            ("memory_size-5", 5, Some("512"), Some("1024")),
            ("runtime_version-5", 5, Some("a"), Some("b")),
        ]
    );
    // Sides by version, not by clock: v1's invocations after the change are not "after".
    let ((bf, bt), (af, at)) = windows(3, 1, 8, DAY_MS);
    assert_eq!(((bf, bt), (af, at)), ((1, 3), (3, 5)));
    let (b, a) = sides(&samples, &changes[0], (1, 3), (3, 8));
    assert_eq!(b.len(), 2);
    assert!(a.iter().all(|s| s.version.as_deref() == Some("2")));
    assert_eq!(a.len(), 3);
}

fn seen(attribute: Attribute, value: &str, first_ms: i64, last_ms: i64) -> Seen {
    Seen {
        attribute,
        value: value.into(),
        first_ms,
        last_ms,
    }
}

/// (attribute, from, to, at, rollback) of each change, oldest first.
fn summary(seen: &[Seen]) -> Vec<(&'static str, String, String, i64, bool)> {
    changes_of(seen)
        .into_iter()
        .map(|c| {
            (
                c.attribute.as_str(),
                c.from.unwrap_or_default(),
                c.to.unwrap_or_default(),
                c.at_ms,
                c.rollback,
            )
        })
        .collect()
}

#[test]
fn seen_values_become_change_points() {
    use Attribute::*;
    // One value: a baseline, no change.
    assert!(changes_of(&[seen(Version, "1", 0, 100)]).is_empty());
    assert!(changes_of(&[]).is_empty());
    // 1 → 2 → 3, with a rollout that mixes 1 and 2 for a while.
    let s = [
        seen(Version, "3", 500, 900),
        seen(Version, "1", 0, 250),
        seen(Version, "2", 200, 510),
        seen(MemorySize, "512", 0, 300),
        seen(MemorySize, "1024", 301, 900),
    ];
    assert_eq!(
        summary(&s),
        vec![
            ("version", "1".into(), "2".into(), 200, false),
            ("memory_size", "512".into(), "1024".into(), 301, false),
            ("version", "2".into(), "3".into(), 500, false),
        ]
    );
    // The ids are stable and distinct.
    let ids: Vec<String> = changes_of(&s).into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["version-200", "memory_size-301", "version-500"]);
}

/// v42 → v43 → v42 is a rollback, labelled as one, from v43 back to v42 when v43 was
/// last seen.
#[test]
fn a_return_to_an_earlier_value_is_a_rollback() {
    use Attribute::*;
    let s = [seen(Version, "42", 0, 1000), seen(Version, "43", 300, 599)];
    assert_eq!(
        summary(&s),
        vec![
            ("version", "42".into(), "43".into(), 300, false),
            ("version", "43".into(), "42".into(), 600, true),
        ]
    );
    // Then a new deploy: the rollback is still found (v44 comes from v42, not v43).
    let s = [
        seen(Version, "42", 0, 800),
        seen(Version, "43", 300, 599),
        seen(Version, "44", 800, 2000),
    ];
    assert_eq!(
        summary(&s),
        vec![
            ("version", "42".into(), "43".into(), 300, false),
            ("version", "43".into(), "42".into(), 600, true),
            ("version", "42".into(), "44".into(), 800, false),
        ]
    );
    // Two rollbacks to v1, from v2 and later from v3.
    let s = [
        seen(MemorySize, "128", 0, 5000),
        seen(MemorySize, "256", 100, 199),
        seen(MemorySize, "512", 1000, 1999),
    ];
    let got = summary(&s);
    assert_eq!(got.iter().filter(|c| c.4).count(), 2, "{got:?}");
    assert!(got.contains(&("memory_size", "256".into(), "128".into(), 200, true)));
    assert!(got.contains(&("memory_size", "512".into(), "128".into(), 2000, true)));
    // A value that was superseded by a newer one is not a rollback, even when the old one
    // lingers until the newer one's deploy (a rollout).
    let s = [
        seen(Version, "1", 0, 110),
        seen(Version, "2", 100, 300),
        seen(Version, "3", 290, 900),
    ];
    assert!(summary(&s).iter().all(|c| !c.4));
    // LastModified values never roll back.
    let s = [
        seen(Configuration, "b", 100, 100),
        seen(Configuration, "a", 0, 5000),
    ];
    assert!(summary(&s).iter().all(|c| !c.4));
}

#[test]
fn change_points_do_not_depend_on_input_order() {
    use Attribute::*;
    let mut s = vec![
        seen(Version, "42", 0, 1000),
        seen(Version, "43", 300, 599),
        seen(RuntimeVersion, "python:3.12.v1", 0, 10),
        seen(RuntimeVersion, "python:3.12.v2", 50, 900),
        seen(Architecture, "x86_64", 0, 40),
        seen(Architecture, "arm64", 41, 900),
    ];
    let want = changes_of(&s);
    assert_eq!(want.len(), 4);
    s.reverse();
    assert_eq!(changes_of(&s), want);
    s.swap(0, 3);
    assert_eq!(changes_of(&s), want);
}
