use super::*;

#[test]
fn plans_split_days_hours_and_edges() {
    let all = plan(TimeRange::all());
    assert_eq!(all.days, vec![(i64::MIN, i64::MAX)]);
    assert!(all.hours.is_empty() && all.raw.is_empty());

    // 1970-01-01T00:30 .. 1970-01-03T02:15
    let from = 30 * 60_000;
    let to = 2 * DAY_MS + 2 * HOUR_MS + 15 * 60_000;
    let p = plan(TimeRange {
        from_ms: Some(from),
        to_ms: Some(to),
    });
    assert_eq!(p.days, vec![(DAY_MS, 2 * DAY_MS)]);
    assert_eq!(
        p.hours,
        vec![(HOUR_MS, DAY_MS), (2 * DAY_MS, 2 * DAY_MS + 2 * HOUR_MS)]
    );
    assert_eq!(p.raw, vec![(from, HOUR_MS), (2 * DAY_MS + 2 * HOUR_MS, to)]);

    // Inside one hour.
    let p = plan(TimeRange {
        from_ms: Some(10),
        to_ms: Some(20),
    });
    assert_eq!(
        p,
        Plan {
            days: vec![],
            hours: vec![],
            raw: vec![(10, 20)]
        }
    );

    // Open-ended on one side.
    let p = plan(TimeRange {
        from_ms: Some(HOUR_MS + 5),
        to_ms: None,
    });
    assert_eq!(p.days, vec![(DAY_MS, i64::MAX)]);
    assert_eq!(p.hours, vec![(2 * HOUR_MS, DAY_MS)]);
    assert_eq!(p.raw, vec![(HOUR_MS + 5, 2 * HOUR_MS)]);

    assert_eq!(
        plan(TimeRange {
            from_ms: Some(5),
            to_ms: Some(5)
        }),
        Plan::default()
    );
}
