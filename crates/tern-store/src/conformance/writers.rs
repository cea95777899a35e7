//! Writer cases: concurrent writers, reingest through another writer, and a retried failed
//! write, all leaving the same data as one writer.

use tern_core::model::InvocationPart;

use super::{
    all_rows, assert_stats_eq, batch, check_against_rows, check_errors_against_rows, error_summary,
    split, summary, whole_batch, workload, ErrorSummary, Summary,
};
use crate::{ErrorOccurrence, InvocationRow, OccurrenceCursor, Store, TimeRange, ValueSeen};

/// Several collectors write one store. Two writers, each on its own thread, ingest
/// parts of the same invocations at the same time in small batches (one has the STARTs, the
/// other the REPORTs and late errors), so both read, merge and write the same invocations at
/// once. The store must end as if one writer had ingested everything.
pub fn concurrent_writers<S: Store + Send, R: Store>(writers: [S; 2], mut reference: R) {
    let whole = workload(240);
    let splits: Vec<[InvocationPart; 3]> = whole.iter().map(split).collect();
    let all: Vec<InvocationPart> = splits.iter().flatten().cloned().collect();
    reference.ingest(&batch(all)).unwrap();
    let [mut a, mut b] = writers;
    std::thread::scope(|scope| {
        let splits = &splits;
        let ta = scope.spawn(move || {
            for chunk in splits.chunks(8) {
                a.ingest(&batch(chunk.iter().map(|s| s[0].clone()).collect()))
                    .unwrap();
            }
            a
        });
        let tb = scope.spawn(move || {
            for chunk in splits.chunks(8) {
                let parts = chunk.iter().flat_map(|s| [s[1].clone(), s[2].clone()]);
                b.ingest(&batch(parts.collect())).unwrap();
            }
            b
        });
        let a = ta.join().unwrap();
        let _b = tb.join().unwrap();
        let want = reference.function_stats(&[], TimeRange::all()).unwrap();
        let got = a.function_stats(&[], TimeRange::all()).unwrap();
        assert_eq!(want.len(), 3);
        assert_stats_eq(&got, &want, "two concurrent writers against one");
        assert_eq!(all_rows(&a), all_rows(&reference), "invocations");
        assert_eq!(
            error_summary(&a, TimeRange::all()),
            error_summary(&reference, TimeRange::all()),
            "error groups"
        );
    });
}

/// Everything a store knows of a batch, to compare one store before and after.
#[derive(Debug, PartialEq)]
struct Snapshot {
    stats: Vec<Summary>,
    rows: Vec<InvocationRow>,
    errors: Vec<ErrorSummary>,
    feed: Vec<ErrorOccurrence>,
    seen: Vec<ValueSeen>,
}

fn snapshot<S: Store>(store: &S) -> Snapshot {
    let stats = store.function_stats(&[], TimeRange::all()).unwrap();
    Snapshot {
        stats: stats.iter().map(summary).collect(),
        rows: all_rows(store),
        errors: error_summary(store, TimeRange::all()),
        feed: store
            .error_occurrences_since(OccurrenceCursor::default(), usize::MAX)
            .unwrap(),
        seen: store.values_seen(None).unwrap(),
    }
}

/// Two stores given the same input in different batches agree on everything but where in
/// the occurrence feed each occurrence is (its batch's sequence number).
fn assert_same(a: &Snapshot, b: &Snapshot, what: &str) {
    assert_eq!(a.stats, b.stats, "{what}: stats");
    assert_eq!(a.rows, b.rows, "{what}: invocations");
    assert_eq!(a.errors, b.errors, "{what}: error groups");
    let feed = |s: &Snapshot| {
        let mut v: Vec<(String, String)> = s
            .feed
            .iter()
            .map(|o| (o.group.clone(), o.invocation.request_id.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(feed(a), feed(b), "{what}: occurrences");
    assert_eq!(a.seen, b.seen, "{what}: values seen");
}

/// A batch of new invocations written by one writer, then the same batch (and later
/// parts of the same invocations) by another writer with nothing in memory: the second finds
/// every key stored, counts nothing twice and puts no occurrence in the feed again.
pub fn reingest_through_another_writer<S: Store, R: Store>(writers: [S; 2], mut reference: R) {
    let b = whole_batch(120);
    let late: Vec<InvocationPart> = b
        .parts
        .iter()
        .take(40)
        .map(|p| split(p)[2].clone())
        .collect();
    let mut all = b.clone();
    all.parts.extend(late.iter().cloned());
    reference.ingest(&all).unwrap();
    let [mut a, mut other] = writers;
    let first = a.ingest(&b).unwrap();
    assert_eq!((first.inserted, first.completed), (120, 120));
    let before = snapshot(&a);
    let again = other.ingest(&b).unwrap();
    assert_eq!(
        (
            again.inserted,
            again.merged,
            again.completed,
            again.unchanged
        ),
        (0, 0, 0, 120),
        "the other writer finds every invocation stored"
    );
    assert_eq!(before, snapshot(&a), "re-ingest by another writer");
    assert_eq!(before, snapshot(&other), "both writers read the same");
    let more = other.ingest(&batch(late)).unwrap();
    assert_eq!((more.inserted, more.merged), (0, 40));
    assert_same(
        &snapshot(&a),
        &snapshot(&reference),
        "late parts by the other writer",
    );
    check_errors_against_rows(&a);
    check_against_rows(&a, TimeRange::all(), "two writers, one after the other");
}

/// A batch whose write failed partway (`flaky` fails it; on ClickHouse after some of
/// its INSERTs went through) and is then retried by a healthy writer, twice, reads as one
/// clean ingest of it.
pub fn retried_after_a_failed_write<S: Store, H: Store, R: Store>(
    mut flaky: S,
    mut healthy: H,
    mut reference: R,
) {
    let mut b = whole_batch(150);
    // Some invocations only half there, completed in the same batch.
    let halves: Vec<InvocationPart> = workload(160)
        .into_iter()
        .skip(150)
        .flat_map(|p| split(&p))
        .collect();
    b.parts.extend(halves);
    reference.ingest(&b).unwrap();
    let e = flaky.ingest(&b);
    assert!(e.is_err(), "the flaky writer was meant to fail: {e:?}");
    healthy.ingest(&b).unwrap();
    assert_same(&snapshot(&healthy), &snapshot(&reference), "retried once");
    let once = snapshot(&healthy);
    let again = healthy.ingest(&b).unwrap();
    assert_eq!((again.inserted, again.merged, again.completed), (0, 0, 0));
    assert_eq!(once, snapshot(&healthy), "retried twice");
    check_errors_against_rows(&healthy);
    check_against_rows(&healthy, TimeRange::all(), "retried after a failed write");
}
