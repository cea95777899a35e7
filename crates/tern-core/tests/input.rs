//! Input decoders: one `check` per fixture (snapshots under `tests/snapshots/`), the bad
//! inputs each with what it must say and keep, and properties (no panic on any bytes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use flate2::{write::GzEncoder, Compression};
use proptest::prelude::*;
use tern_core::input::{
    decode_bytes, decode_document, decode_json_line, decompress_bounded, detect, DecodeError,
    DecodeOptions, Decoded, Decoder, Format,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/input");
const GROUP: &str = "/aws/lambda/orders-api";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap()
}

fn with_group() -> DecodeOptions {
    DecodeOptions {
        log_group: Some(GROUP.to_string()),
        ..DecodeOptions::default()
    }
}

/// Everything a decode produced, one line per event and per diagnostic.
fn render(d: &Decoded) -> String {
    let mut s = String::new();
    for e in &d.events {
        s.push_str(&format!(
            "{} | {} | {} | {} | {:?}\n",
            e.log_group,
            e.log_stream,
            e.timestamp_ms,
            e.event_id.as_deref().unwrap_or("-"),
            e.message
        ));
    }
    for diag in &d.diagnostics {
        s.push_str(&format!("diagnostic: {diag}\n"));
    }
    if d.control_messages > 0 {
        s.push_str(&format!("control messages: {}\n", d.control_messages));
    }
    s
}

/// Decode a fixture as `tern ingest` would (format detected) and compare with its snapshot.
fn check(name: &str, opts: &DecodeOptions) -> Decoded {
    let decoded = decode_bytes(&fixture(name), name, opts);
    insta::assert_snapshot!(name, render(&decoded));
    decoded
}

#[test]
fn cli_filter_log_events() {
    let d = check("filter-log-events.json", &with_group());
    assert_eq!(d.events.len(), 9);
    assert!(d.diagnostics.is_empty());
}

#[test]
fn cli_without_log_group_warns_once() {
    let d = decode_bytes(
        &fixture("filter-log-events.json"),
        "fle.json",
        &DecodeOptions::default(),
    );
    assert_eq!(d.events.len(), 9);
    assert!(d.events.iter().all(|e| e.log_group.is_empty()));
    assert_eq!(d.diagnostics.len(), 1, "{:?}", d.diagnostics);
    assert!(d.diagnostics[0].message.contains("--log-group"));
}

#[test]
fn cli_get_log_events_has_no_stream() {
    let d = check("get-log-events.json", &with_group());
    assert_eq!(d.events.len(), 4);
    assert_eq!(d.diagnostics.len(), 1);
    assert!(d.diagnostics[0].message.contains("--log-stream"));
    let named = DecodeOptions {
        log_stream: Some("2024/03/05/[$LATEST]abc".into()),
        ..with_group()
    };
    let d = decode_bytes(&fixture("get-log-events.json"), "gle.json", &named);
    assert!(d.diagnostics.is_empty());
    assert!(d
        .events
        .iter()
        .all(|e| &*e.log_stream == "2024/03/05/[$LATEST]abc"));
}

/// Regression guard for vector issue #23262: `policyLevel` (and any future field) must not
/// break the payload.
#[test]
fn subscription_with_unknown_fields() {
    let d = check("subscription-policy-level.json", &DecodeOptions::default());
    assert_eq!(d.events.len(), 5);
    assert!(d.diagnostics.is_empty());
    // One allocation per distinct name.
    assert!(d
        .events
        .windows(2)
        .all(|w| Arc::ptr_eq(&w[0].log_group, &w[1].log_group)
            && Arc::ptr_eq(&w[0].log_stream, &w[1].log_stream)));
}

#[test]
fn subscription_gzip_and_base64() {
    let gz = check("subscription.json.gz", &DecodeOptions::default());
    let b64 = check("subscription.b64", &DecodeOptions::default());
    assert_eq!(gz.events.len(), 4);
    assert_eq!(gz, b64);
}

#[test]
fn subscription_multi_member_gzip() {
    let d = check(
        "subscription-multi-member.json.gz",
        &DecodeOptions::default(),
    );
    assert_eq!(d.events.len(), 8);
    assert_ne!(d.events[0].log_stream, d.events[7].log_stream);
}

#[test]
fn lambda_awslogs_event() {
    let d = check("lambda-awslogs-event.json", &DecodeOptions::default());
    assert_eq!(d.events.len(), 4);
}

#[test]
fn kinesis_event_drops_control_messages() {
    let d = check("kinesis-event.json", &DecodeOptions::default());
    assert_eq!(d.events.len(), 4);
    assert_eq!(d.control_messages, 1);
    assert!(d.diagnostics.is_empty());
}

#[test]
fn firehose_body_keeps_good_records_around_bad_base64() {
    let d = check("firehose-http-body.json", &DecodeOptions::default());
    // record 0: 4 events; record 1: two concatenated payloads, 4 events; record 2: control;
    // record 3: bad base64; record 4: 1 event.
    assert_eq!(d.events.len(), 9);
    assert_eq!(d.control_messages, 1);
    assert_eq!(d.diagnostics.len(), 1);
    let diag = &d.diagnostics[0];
    assert_eq!(diag.location, "firehose-http-body.json: records[3]");
    assert!(diag.message.starts_with("invalid base64"), "{diag}");
    assert_eq!(&*d.events[8].log_group, "/aws/lambda/billing");
}

#[test]
fn kinesis_bad_record_is_skipped() {
    let good = std::str::from_utf8(&fixture("kinesis-event.json"))
        .unwrap()
        .to_string();
    let bad = good.replacen("\"data\": \"H4sI", "\"data\": \"%%%%H4sI", 1);
    assert_ne!(good, bad);
    let d = decode_document(bad.as_bytes(), "k.json", &DecodeOptions::default());
    assert_eq!(d.events.len(), 0);
    assert_eq!(d.control_messages, 1, "the second record still decodes");
    assert_eq!(d.diagnostics.len(), 1);
    assert_eq!(d.diagnostics[0].location, "k.json: Records[0]");
    assert!(d.diagnostics[0].message.contains("invalid base64"));
}

#[test]
fn control_message_alone() {
    let d = check("control-message.json", &DecodeOptions::default());
    assert!(d.events.is_empty());
    assert!(d.diagnostics.is_empty());
    assert_eq!(d.control_messages, 1);
}

#[test]
fn json_lines() {
    let d = check("events.jsonl", &DecodeOptions::default());
    // good: lines 1, 2, 4, 9, 10, 11; bad: 5 (cut short), 6 (no message), 7 (timestamp
    // object), 8 (not an object); plus one warning for line 10's missing group.
    assert_eq!(d.events.len(), 6);
    let locations: Vec<&str> = d.diagnostics.iter().map(|d| d.location.as_str()).collect();
    assert_eq!(
        locations,
        [
            "events.jsonl:5",
            "events.jsonl:6",
            "events.jsonl:7",
            "events.jsonl:8",
            "events.jsonl:10"
        ]
    );
    assert!(d.diagnostics[1].message.contains("no `message`"));
    // Names are shared across lines.
    assert!(Arc::ptr_eq(&d.events[0].log_group, &d.events[5].log_group));
    assert!(Arc::ptr_eq(
        &d.events[0].log_stream,
        &d.events[3].log_stream
    ));
}

#[test]
fn invalid_utf8_is_replaced_with_one_diagnostic() {
    let d = check("invalid-utf8.jsonl", &DecodeOptions::default());
    assert_eq!(d.events.len(), 3);
    assert_eq!(d.events[1].message, "caf\u{fffd} latin-1\n");
    assert_eq!(d.diagnostics.len(), 1);
    assert_eq!(d.diagnostics[0].location, "invalid-utf8.jsonl:2");
    assert!(d.diagnostics[0].message.contains("UTF-8"));
}

#[test]
fn tail_detailed() {
    let d = check("tail-detailed.txt", &with_group());
    assert_eq!(d.events.len(), 6);
    assert!(d.events[2]
        .message
        .ends_with("return orders[event[\"id\"]]"));
    assert!(d.diagnostics.is_empty());
}

#[test]
fn tail_color_and_json_format() {
    let d = check("tail-color.txt", &with_group());
    assert_eq!(d.events.len(), 2);
    assert_eq!(
        &*d.events[0].log_stream,
        "2024/03/05/[$LATEST]20bddfd5a2dc4c6b97ac02800eae90d0"
    );
    let d = check("tail-json-format.txt", &with_group());
    assert_eq!(d.events.len(), 2);
    assert!(d.events[0].message.starts_with("{\n    \"time\""));
}

#[test]
fn tail_without_stream_uses_option_or_warns() {
    let d = check("s3-export.txt", &with_group());
    assert_eq!(d.events.len(), 3);
    assert_eq!(d.diagnostics.len(), 1);
    let d = check("tail-short.txt", &with_group());
    assert_eq!(d.events.len(), 2);
    let mut dec = Decoder::new(with_group());
    let mut out = Decoded::default();
    dec.begin_source(
        "x/2024/03/05/[$LATEST]abc/000000",
        Some("2024/03/05/[$LATEST]abc"),
    );
    dec.push_tail_line(b"2024-03-05T12:04:05.003Z START", 1, &mut out);
    dec.end_source(&mut out);
    assert!(out.diagnostics.is_empty());
    assert_eq!(&*out.events[0].log_stream, "2024/03/05/[$LATEST]abc");
}

#[test]
fn not_an_export() {
    let d = decode_bytes(
        &fixture("not-an-export.json"),
        "foo.json",
        &DecodeOptions::default(),
    );
    assert!(d.events.is_empty());
    assert_eq!(d.diagnostics.len(), 1);
    let diag = &d.diagnostics[0];
    assert_eq!(diag.location, "foo.json");
    assert!(
        diag.message
            .starts_with("not a recognized Lambda log format: a JSON object with keys `foo`"),
        "{diag}"
    );
    // The document decoder says the same when handed it directly.
    let d = decode_document(b"{\"foo\":1}", "foo.json", &DecodeOptions::default());
    assert!(d.diagnostics[0]
        .message
        .starts_with("not a recognized Lambda log format: a JSON object with keys `foo`"));
    let d = decode_document(b"hello", "hello.txt", &DecodeOptions::default());
    assert!(d.diagnostics[0]
        .message
        .starts_with("not a recognized Lambda log format: not JSON"));
}

#[test]
fn truncated_gzip_keeps_events_before_the_cut() {
    let d = decode_bytes(
        &fixture("truncated.json.gz"),
        "cut.json.gz",
        &DecodeOptions::default(),
    );
    assert!(d.events.len() > 50, "{} events kept", d.events.len());
    assert!(d.events.len() < 400);
    for (i, e) in d.events.iter().enumerate() {
        assert!(e.message.contains(&format!("step {i} of 400")));
    }
    assert_eq!(d.diagnostics.len(), 1, "{:?}", d.diagnostics);
    assert_eq!(d.diagnostics[0].location, "cut.json.gz");
    assert!(d.diagnostics[0]
        .message
        .starts_with("gzip stream is truncated"));
}

fn gzip_of_zeros(n: usize) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let block = vec![0u8; 1 << 16];
    for _ in 0..n / block.len() {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

#[test]
fn gzip_bomb_is_stopped_at_the_limit() {
    let bomb = gzip_of_zeros(16 << 20);
    assert!(bomb.len() < 64 << 10, "a bomb is small: {}", bomb.len());
    assert_eq!(
        decompress_bounded(&bomb, 1 << 20),
        Err(DecodeError::TooLarge { limit: 1 << 20 })
    );
    let opts = DecodeOptions {
        max_decompressed_bytes: 1 << 20,
        ..DecodeOptions::default()
    };
    let d = decode_document(&bomb, "bomb.gz", &opts);
    assert!(d.events.is_empty());
    assert_eq!(d.diagnostics.len(), 1);
    assert!(d.diagnostics[0]
        .message
        .contains("beyond the limit of 1048576 bytes"));

    // Inside a Firehose record: that record is refused, its neighbours are kept.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bomb);
    let body = String::from_utf8(fixture("firehose-http-body.json"))
        .unwrap()
        .replacen(
            "{\"data\": \"H4sIAAAA!!not base64!!\"}",
            &format!("{{\"data\": \"{b64}\"}}"),
            1,
        );
    let d = decode_document(body.as_bytes(), "fh.json", &opts);
    assert_eq!(d.events.len(), 9);
    assert_eq!(d.diagnostics.len(), 1);
    assert_eq!(d.diagnostics[0].location, "fh.json: records[3]");
    assert!(d.diagnostics[0].message.contains("gzip bomb"));
}

#[test]
fn long_line_in_memory_is_skipped() {
    let opts = DecodeOptions {
        max_line_bytes: 100,
        ..DecodeOptions::default()
    };
    let mut input = br#"{"logGroup":"g","logStream":"s","timestamp":1,"message":"a"}"#.to_vec();
    input.push(b'\n');
    input.extend(std::iter::repeat_n(b'x', 500));
    input.push(b'\n');
    input.extend(br#"{"logGroup":"g","logStream":"s","timestamp":2,"message":"b"}"#);
    let d = decode_bytes(&input, "long.jsonl", &opts);
    assert_eq!(d.events.len(), 2);
    assert_eq!(d.diagnostics.len(), 1);
    assert_eq!(d.diagnostics[0].location, "long.jsonl:2");
    assert!(d.diagnostics[0]
        .message
        .contains("longer than the limit of 100 bytes"));
}

#[test]
fn envelope_key_order_does_not_matter() {
    let payload = br#"{"logEvents":[{"id":"1","timestamp":5,"message":"m"}],"logStream":"s","logGroup":"g","messageType":"DATA_MESSAGE"}"#;
    let d = decode_document(payload, "p", &DecodeOptions::default());
    assert!(d.diagnostics.is_empty(), "{:?}", d.diagnostics);
    assert_eq!(
        (&*d.events[0].log_group, &*d.events[0].log_stream),
        ("g", "s")
    );
    let control = br#"{"logEvents":[{"id":"","timestamp":5,"message":"CWL CONTROL MESSAGE"}],"messageType":"CONTROL_MESSAGE"}"#;
    let d = decode_document(control, "p", &DecodeOptions::default());
    assert!(d.events.is_empty());
    assert_eq!(d.control_messages, 1);
}

#[test]
fn document_arrays_and_event_objects() {
    let d = decode_bytes(
        br#"[{"logGroup":"g","logStream":"s","timestamp":1,"message":"a"},{"logGroup":"g","logStream":"s","timestamp":2,"message":"b"}]"#,
        "arr.json",
        &DecodeOptions::default(),
    );
    assert_eq!(d.events.len(), 2);
    assert!(d.diagnostics.is_empty());
}

#[test]
fn single_json_line_function() {
    let ev = decode_json_line(
        br#"{"logGroup":"/aws/lambda/f","logStream":"s","timestamp":"2024-01-02T03:04:05Z","message":"hi\n","id":"7"}"#,
        "x:1",
    )
    .unwrap();
    assert_eq!(ev.timestamp_ms, 1_704_164_645_000);
    assert_eq!(ev.event_id.as_deref(), Some("7"));
    let err = decode_json_line(br#"{"timestamp":1}"#, "x:2").unwrap_err();
    assert_eq!(err.location, "x:2");
    assert!(err.message.contains("no `message`"));
}

#[test]
fn detects_every_fixture() {
    let cases = [
        ("filter-log-events.json", Format::Document),
        ("get-log-events.json", Format::Document),
        ("subscription-policy-level.json", Format::Document),
        ("subscription.json.gz", Format::Document),
        ("subscription.b64", Format::Document),
        ("subscription-multi-member.json.gz", Format::Document),
        ("lambda-awslogs-event.json", Format::Document),
        ("kinesis-event.json", Format::Document),
        ("firehose-http-body.json", Format::Document),
        ("control-message.json", Format::Document),
        ("truncated.json.gz", Format::Document),
        ("events.jsonl", Format::JsonLines),
        ("invalid-utf8.jsonl", Format::JsonLines),
        ("tail-detailed.txt", Format::TextTail),
        ("tail-color.txt", Format::TextTail),
        ("tail-json-format.txt", Format::TextTail),
        ("tail-short.txt", Format::TextTail),
        ("s3-export.txt", Format::TextTail),
    ];
    for (name, want) in cases {
        assert_eq!(detect(&fixture(name)), want, "{name}");
    }
    assert!(matches!(
        detect(&fixture("not-an-export.json")),
        Format::Unrecognized(_)
    ));
}

fn all_fixtures() -> Vec<Vec<u8>> {
    let mut names: Vec<_> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "py"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Run every decoder over `bytes`; they must return, whatever the bytes.
fn decode_everything(bytes: &[u8]) {
    let opts = DecodeOptions {
        max_decompressed_bytes: 1 << 20,
        max_line_bytes: 1 << 12,
        ..DecodeOptions::default()
    };
    let _ = detect(bytes);
    let _ = decode_bytes(bytes, "p", &opts);
    let _ = decode_document(bytes, "p", &opts);
    let _ = decode_json_line(bytes, "p");
    let mut dec = Decoder::new(opts);
    let mut out = Decoded::default();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        dec.push_tail_line(line, i as u64, &mut out);
        dec.decode_json_line(line, i as u64, &mut out);
    }
    dec.end_source(&mut out);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        decode_everything(&bytes);
    }

    #[test]
    fn never_panics_on_jsonish_text(s in r#"[\[\]{}":,0-9a-zA-Z \n\\H4sI=+/-]{0,400}"#) {
        decode_everything(s.as_bytes());
    }

    #[test]
    fn never_panics_on_damaged_fixtures(
        which in 0usize..64,
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let fixtures = all_fixtures();
        let mut bytes = fixtures[which % fixtures.len()].clone();
        for (at, byte) in flips {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
        }
        let end = cut.index(bytes.len() + 1);
        decode_everything(&bytes[..end]);
    }
}

#[test]
fn invalid_utf8_in_a_document_is_replaced_once() {
    let mut doc = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"caf"#.to_vec();
    doc.push(0xe9);
    doc.extend_from_slice(br#""},{"id":"2","timestamp":2,"message":"fine"}]}"#);
    let d = decode_document(&doc, "latin1.json", &DecodeOptions::default());
    assert_eq!(d.events.len(), 2);
    assert_eq!(d.events[0].message, "caf\u{fffd}");
    assert_eq!(d.diagnostics.len(), 1);
    assert!(d.diagnostics[0].message.contains("invalid UTF-8"));
}

#[test]
fn concatenated_documents_are_all_read() {
    // `aws logs filter-log-events` pages saved one after another.
    let page = String::from_utf8(fixture("filter-log-events.json")).unwrap();
    let two = format!("{page}{page}");
    let d = decode_document(two.as_bytes(), "pages.json", &with_group());
    assert_eq!(d.events.len(), 18);
    assert!(d.diagnostics.is_empty());
    // Trailing garbage after good values is reported, the values are kept.
    let d = decode_document(format!("{page} oops").as_bytes(), "p.json", &with_group());
    assert_eq!(d.events.len(), 9);
    assert_eq!(d.diagnostics.len(), 1);
    assert!(
        d.diagnostics[0].message.starts_with("invalid JSON"),
        "{:?}",
        d.diagnostics
    );
}
