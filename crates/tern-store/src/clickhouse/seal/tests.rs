#![allow(clippy::unwrap_used)]

use super::read::sealed_spans;
use super::*;
use crate::clickhouse::stats::By;

#[test]
fn whole_days_come_from_daily_rows() {
    let d = DAY_MS;
    let h = HOUR_MS;
    let hourly = By::Bucket { from: 0, width: h };
    // Hourly buckets never read daily rows.
    assert_eq!(
        sealed_spans(Some(0), Some(3 * d), hourly),
        vec![(
            "sealed_hours",
            format!("hour >= 0 AND hour <= {}", 3 * d - h)
        )]
    );
    // Whole days only.
    assert_eq!(
        sealed_spans(Some(d), Some(3 * d), By::Function),
        vec![("sealed_days", format!("hour >= {d} AND hour < {}", 3 * d))]
    );
    // Partial days at both ends: their whole hours from hourly rows.
    let lo = d + 5 * h + 17;
    let hi = 3 * d + 7 * h;
    assert_eq!(
        sealed_spans(Some(lo), Some(hi), By::Function),
        vec![
            (
                "sealed_days",
                format!("hour >= {} AND hour < {}", 2 * d, 3 * d)
            ),
            (
                "sealed_hours",
                format!(
                    "hour >= {lo} AND hour <= {} AND (hour < {} OR hour >= {})",
                    hi - h,
                    2 * d,
                    3 * d
                )
            ),
        ]
    );
    // Less than a whole day: hourly rows only.
    assert_eq!(
        sealed_spans(Some(d + h), Some(2 * d + h), By::Function),
        vec![(
            "sealed_hours",
            format!("hour >= {} AND hour <= {}", d + h, 2 * d)
        )]
    );
    // Unbounded: every day.
    assert_eq!(
        sealed_spans(None, None, By::Function),
        vec![("sealed_days", "1".to_string())]
    );
    // Daily buckets read daily rows; buckets not made of whole days do not.
    let daily = By::Bucket {
        from: 2 * d,
        width: 7 * d,
    };
    assert_eq!(sealed_spans(None, Some(2 * d), daily)[0].0, "sealed_days");
    let shifted = By::Bucket { from: h, width: d };
    assert_eq!(
        sealed_spans(None, Some(2 * d), shifted)[0].0,
        "sealed_hours"
    );
}

#[test]
fn partition_ids_are_days() {
    assert_eq!(partition_ms(19700101), Some(0));
    assert_eq!(partition_ms(20260301), Some(1_772_323_200_000));
    assert_eq!(partition_ms(20240229), Some(1_709_164_800_000));
    assert_eq!(partition_ms(20261300), None);
    for t in [0, 1_772_323_200_000, 1_709_164_800_000, 4_102_444_800_000] {
        let id: u32 = date_of(t).replace('-', "").parse().unwrap();
        assert_eq!(partition_ms(id), Some(t));
    }
}

#[test]
fn raw_filter_reads_open_partitions_and_sealed_edges() {
    let mut seals = Seals::default();
    assert_eq!(raw_filter("t", &seals, &BTreeSet::new(), None, None), None);
    seals.open.insert(0);
    assert_eq!(
        raw_filter("t", &seals, &BTreeSet::new(), Some(5), None).unwrap(),
        "((day IN ('1970-01-01') AND (1 AND t >= 5)))"
    );
    let edges: BTreeSet<i64> = [DAY_MS].into();
    let f = raw_filter(
        "t",
        &seals,
        &edges,
        Some(HOUR_MS + 5),
        Some(3 * HOUR_MS + 7),
    )
    .unwrap();
    assert!(f.contains("(day IN ('1970-01-02') AND ((1 AND t >= 3600005 AND t < 7200000) OR (1 AND t >= 10800000 AND t < 10800007)))"), "{f}");
    // Aligned ends: no edge spans.
    seals.open.clear();
    assert_eq!(
        raw_filter("t", &seals, &edges, Some(HOUR_MS), Some(2 * HOUR_MS)),
        None
    );
}
