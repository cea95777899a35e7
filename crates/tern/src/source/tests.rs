#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use flate2::{write::GzEncoder, Compression};
use std::io::Write;

const GROUP: &str = "/aws/lambda/orders-api";

fn line(ts: i64, msg: &str) -> String {
    format!(
            "{{\"logGroup\":\"{GROUP}\",\"logStream\":\"2024/03/05/[$LATEST]abc\",\"timestamp\":{ts},\"message\":{}}}\n",
            serde_json::to_string(msg).unwrap()
        )
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Everything one `read_inputs` call hands over.
struct Collected {
    chunks: Vec<Chunk>,
    summary: SourceSummary,
    bytes_read: u64,
}

impl Collected {
    fn events(&self) -> Vec<&LogEvent> {
        self.chunks.iter().flat_map(|c| &c.events).collect()
    }
    fn diagnostics(&self) -> Vec<String> {
        self.chunks
            .iter()
            .flat_map(|c| &c.diagnostics)
            .map(ToString::to_string)
            .collect()
    }
}

fn read(paths: &[PathBuf], opts: &SourceOptions) -> Collected {
    let bytes = AtomicU64::new(0);
    let mut chunks = Vec::new();
    let summary = read_inputs(paths, opts, &bytes, &mut |c: &mut Chunk| {
        chunks.push(std::mem::take(c));
        Ok(())
    })
    .unwrap();
    Collected {
        chunks,
        summary,
        bytes_read: bytes.into_inner(),
    }
}

fn read_from(name: &str, reader: &mut dyn Read, opts: &SourceOptions) -> Collected {
    let bytes = AtomicU64::new(0);
    let mut chunks = Vec::new();
    let summary = read_reader(name, reader, opts, &bytes, &mut |c: &mut Chunk| {
        chunks.push(std::mem::take(c));
        Ok(())
    })
    .unwrap();
    Collected {
        chunks,
        summary,
        bytes_read: bytes.into_inner(),
    }
}

#[test]
fn directories_are_walked_in_order_skipping_hidden_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("b/nested")).unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(root.join("b/nested/2.jsonl"), line(2, "two")).unwrap();
    fs::write(root.join("a.jsonl.gz"), gz(line(1, "one").as_bytes())).unwrap();
    fs::write(root.join("c.jsonl"), line(3, "three")).unwrap();
    fs::write(root.join(".hidden.jsonl"), line(9, "hidden")).unwrap();
    fs::write(root.join(".git/x.jsonl"), line(9, "hidden")).unwrap();
    fs::write(root.join("empty.json"), "").unwrap();
    let got = read(&[root.to_path_buf()], &SourceOptions::default());
    let msgs: Vec<&str> = got.events().iter().map(|e| e.message.as_str()).collect();
    assert_eq!(msgs, ["one", "two", "three"]);
    assert!(got.diagnostics().is_empty(), "{:?}", got.diagnostics());
    assert_eq!(got.summary.files, 4);
    assert_eq!(got.summary.events, 3);
    assert_eq!(got.bytes_read, total_bytes(&[root.to_path_buf()]));
    assert_eq!(got.summary.bytes, got.bytes_read);
}

#[test]
fn a_missing_path_fails_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.jsonl");
    fs::write(&good, line(1, "x")).unwrap();
    let missing = dir.path().join("missing.jsonl");
    let mut called = false;
    let err = read_inputs(
        &[good, missing],
        &SourceOptions::default(),
        &AtomicU64::new(0),
        &mut |_| {
            called = true;
            Ok(())
        },
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("missing.jsonl"), "{err:#}");
    assert!(!called);
}

#[test]
fn every_format_through_files() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tern-core/tests/fixtures/input");
    let opts = SourceOptions {
        log_group: Some(GROUP.into()),
        ..SourceOptions::default()
    };
    for (name, events) in [
        ("filter-log-events.json", 9),
        ("subscription.json.gz", 4),
        ("subscription.b64", 4),
        ("subscription-multi-member.json.gz", 8),
        ("kinesis-event.json", 4),
        ("firehose-http-body.json", 9),
        ("events.jsonl", 6),
        ("tail-detailed.txt", 6),
        ("s3-export.txt", 3),
    ] {
        let got = read(&[fixtures.join(name)], &opts);
        assert_eq!(got.summary.events, events as u64, "{name}");
    }
}

/// Truncated gzip of JSON lines: the lines before the cut are kept, one diagnostic names
/// the file and the truncation.
#[test]
fn truncated_gzip_lines_keep_what_came_before() {
    let text: String = (0..2000).map(|i| line(i, &format!("event {i}"))).collect();
    let full = gz(text.as_bytes());
    let cut = &full[..full.len() * 2 / 3];
    let got = read_from("cut.jsonl.gz", &mut &cut[..], &SourceOptions::default());
    let events = got.events();
    assert!(events.len() > 500, "{}", events.len());
    assert!(events.len() < 2000);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.message, format!("event {i}"));
    }
    let diags = got.diagnostics();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].starts_with("cut.jsonl.gz: gzip stream is truncated after line"),
        "{}",
        diags[0]
    );
}

#[test]
fn concatenated_gzip_members_stream_as_one() {
    let mut data = gz(line(1, "a").as_bytes());
    data.extend(gz(line(2, "b").as_bytes()));
    let got = read_from("two.gz", &mut &data[..], &SourceOptions::default());
    assert_eq!(got.summary.events, 2);
    assert!(got.diagnostics().is_empty());
}

/// A reader that yields a good line, then a 1 GiB line, then a good line, without the
/// GiB ever existing in memory.
struct HugeLine {
    head: Cursor<Vec<u8>>,
    huge_left: u64,
    tail: Cursor<Vec<u8>>,
}

impl Read for HugeLine {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        if self.huge_left > 0 {
            let n = buf.len().min(self.huge_left as usize);
            buf[..n].fill(b'a');
            self.huge_left -= n as u64;
            return Ok(n);
        }
        self.tail.read(buf)
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_one_gib_line_is_skipped_in_bounded_memory() {
    let mut head = line(1, "before").into_bytes();
    head.extend_from_slice(b"{\"message\":\"");
    let mut tail = b"\"}\n".to_vec();
    tail.extend(line(3, "after").into_bytes());
    let mut reader = HugeLine {
        head: Cursor::new(head),
        huge_left: 1 << 30,
        tail: Cursor::new(tail),
    };
    let opts = SourceOptions {
        max_line_bytes: 1 << 20,
        ..SourceOptions::default()
    };
    let rss_before = peak_rss_kib();
    let got = read_from("huge.jsonl", &mut reader, &opts);
    let msgs: Vec<&str> = got.events().iter().map(|e| e.message.as_str()).collect();
    assert_eq!(msgs, ["before", "after"]);
    let diags = got.diagnostics();
    assert_eq!(diags.len(), 1);
    assert!(
        diags[0].starts_with(
            "huge.jsonl:2: line is 1073741838 bytes, longer than the limit of 1048576 bytes"
        ),
        "{}",
        diags[0]
    );
    if let (Some(before), Some(after)) = (rss_before, peak_rss_kib()) {
        // Other tests run alongside; a GiB held anywhere would still show.
        // saturating: the high-water mark read first may come from another moment.
        assert!(
            after.saturating_sub(before) < 256 << 10,
            "peak RSS grew by {} KiB",
            after.saturating_sub(before)
        );
    }
}

#[test]
fn long_lines_make_smaller_chunks() {
    let long = "x".repeat(1 << 20);
    let check = |got: &Collected| {
        assert_eq!(got.summary.events, 40);
        let mut next = 0;
        for c in &got.chunks {
            let bytes: usize = c.events.iter().map(event_bytes).sum();
            // A chunk is handed on at the event that reaches the limit.
            assert!(
                bytes < CHUNK_BYTES + (1 << 20) + 64,
                "{bytes} bytes in one chunk"
            );
            for ev in &c.events {
                assert_eq!(ev.timestamp_ms, next, "events out of order");
                next += 1;
            }
        }
        assert!(got.chunks.len() >= 8, "{} chunks", got.chunks.len());
    };
    let text: String = (0..40).map(|i| line(i, &long)).collect();
    check(&read_from(
        "long.jsonl",
        &mut text.as_bytes(),
        &SourceOptions::default(),
    ));
    let doc = subscription_payload(40, &long);
    check(&read_from(
        "doc.json",
        &mut doc.as_bytes(),
        &SourceOptions::default(),
    ));
}

/// A subscription payload of `n` events with the same message, timestamps 0, 1, ...
fn subscription_payload(n: usize, message: &str) -> String {
    let events: Vec<String> = (0..n)
        .map(|i| format!("{{\"id\":\"{i}\",\"timestamp\":{i},\"message\":\"{message}\"}}"))
        .collect();
    format!(
            "{{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"g\",\"logStream\":\"s\",\"logEvents\":[{}]}}",
            events.join(",")
        )
}

/// `aws logs filter-log-events` output: `events` first, then what the CLI adds.
fn cli_export(n: usize, message: &str) -> String {
    let events: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "        {{\n            \"logStreamName\": \"2024/03/05/[$LATEST]abc\",\n            \"timestamp\": {i},\n            \"message\": {},\n            \"ingestionTime\": {i},\n            \"eventId\": \"{i:056}\"\n        }}",
                    serde_json::to_string(message).unwrap()
                )
            })
            .collect();
    format!(
            "{{\n    \"events\": [\n{}\n    ],\n    \"searchedLogStreams\": [{{\"logStreamName\": \"x\", \"searchedCompletely\": true}}]\n}}\n",
            events.join(",\n")
        )
}

fn export_opts() -> SourceOptions {
    SourceOptions {
        log_group: Some(GROUP.to_string()),
        ..SourceOptions::default()
    }
}

/// An export streams: its events come out in chunks, exactly as the whole-document
/// decoder reads them, even when it is larger than the document limit.
#[test]
fn cli_exports_stream_past_the_document_limit() {
    let message = "START RequestId: r Version: $LATEST\n{\"a\": [1, \"}\"]}";
    let doc = cli_export(20_000, message);
    let whole = tern_core::input::decode_document(
        doc.as_bytes(),
        "export.json",
        &DecodeOptions {
            log_group: Some(GROUP.to_string()),
            ..DecodeOptions::default()
        },
    );
    assert!(whole.diagnostics.is_empty(), "{:?}", whole.diagnostics);
    let opts = SourceOptions {
        max_document_bytes: 100_000,
        ..export_opts()
    };
    for (name, bytes) in [
        ("export.json", doc.as_bytes().to_vec()),
        ("export.json.gz", gz(doc.as_bytes())),
    ] {
        let got = read_from(name, &mut &bytes[..], &opts);
        assert_eq!(got.diagnostics(), Vec::<String>::new(), "{name}");
        assert!(got.chunks.len() >= 3, "{name}");
        assert!(got.chunks.iter().all(|c| c.events.len() <= CHUNK_EVENTS));
        let events: Vec<LogEvent> = got.events().into_iter().cloned().collect();
        assert_eq!(events, whole.events, "{name}");
        assert_eq!(got.bytes_read, bytes.len() as u64, "{name}");
    }
}

#[test]
fn damaged_cli_exports_keep_the_events_before_the_damage() {
    let doc = cli_export(10, "hello");
    let cut = doc.find("\"timestamp\": 7").unwrap();
    let got = read_from("cut.json", &mut &doc.as_bytes()[..cut], &export_opts());
    assert_eq!(got.events().len(), 7);
    assert_eq!(
            got.diagnostics(),
            ["cut.json: events[7]: JSON ends early, inside the `events` array; the events before it were kept"]
        );
    // A truncated gzip stream.
    let packed = gz(doc.as_bytes());
    let got = read_from(
        "cut.json.gz",
        &mut &packed[..packed.len() - 30],
        &export_opts(),
    );
    let diags = got.diagnostics();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].contains("gzip stream is truncated"), "{diags:?}");
    assert!(got.events().len() >= 5, "{}", got.events().len());
    // An element that is not an object stops the document, keeping what came before.
    let bad = doc.replacen("        {\n", "        42, {\n", 1);
    let got = read_from("bad.json", &mut bad.as_bytes(), &export_opts());
    assert_eq!(got.events().len(), 0);
    assert_eq!(
            got.diagnostics(),
            ["bad.json: events[0]: unexpected JSON shape: an event is not an object (it starts with '4'); the rest of the document was skipped"]
        );
    // A malformed event costs itself only.
    let broken = doc.replacen("\"timestamp\": 3,", "\"timestamp\": ,", 1);
    let got = read_from("broken.json", &mut broken.as_bytes(), &export_opts());
    assert_eq!(got.events().len(), 9);
    let diags = got.diagnostics();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].starts_with("broken.json: events[3]: "),
        "{diags:?}"
    );
    // An event over the line limit is skipped and measured; the next ones are read.
    let mut long = cli_export(3, "short");
    let (second, _) = long.match_indices("\"short\"").nth(1).unwrap();
    long.replace_range(second..second + 7, &format!("\"{}\"", "x".repeat(5000)));
    let opts = SourceOptions {
        max_line_bytes: 1000,
        ..export_opts()
    };
    let got = read_from("long.json", &mut long.as_bytes(), &opts);
    let stamps: Vec<i64> = got.events().iter().map(|e| e.timestamp_ms).collect();
    assert_eq!(stamps, [0, 2]);
    let diags = got.diagnostics();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].starts_with("long.json: events[1]: event is 5"),
        "{diags:?}"
    );
}

proptest::proptest! {
    /// Whatever the messages hold (braces, brackets, quotes, escapes, any character),
    /// the streamed export gives them back, in order.
    #[test]
    fn export_elements_are_found_whatever_the_messages(
        messages in proptest::collection::vec("[{}\\[\\]\"\\\\,: a-z\u{e9}\u{1f600}\n\t]{0,40}", 0..30),
    ) {
        let events: Vec<String> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                format!(
                    "{{\"logStreamName\":\"s\",\"timestamp\":{i},\"message\":{}}}",
                    serde_json::to_string(m).unwrap()
                )
            })
            .collect();
        let doc = format!("{{\"events\":[{}],\"nextForwardToken\":\"f/1\"}}", events.join(","));
        let got = read_from("p.json", &mut doc.as_bytes(), &export_opts());
        proptest::prop_assert_eq!(got.diagnostics(), Vec::<String>::new());
        let read: Vec<&str> = got.events().iter().map(|e| e.message.as_str()).collect();
        let given: Vec<&str> = messages.iter().map(String::as_str).collect();
        proptest::prop_assert_eq!(read, given);
    }

    /// Any bytes after `{"events": [` end in events or diagnostics, never a panic or a hang.
    #[test]
    fn export_reading_survives_any_bytes(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let mut doc = b"{\"events\": [".to_vec();
        doc.extend_from_slice(&tail);
        // Past the 64 KiB the format is told from, so what is read after it counts too.
        doc.extend(std::iter::repeat_n(b' ', 70_000));
        doc.extend_from_slice(&tail);
        let got = read_from("any.json", &mut &doc[..], &export_opts());
        proptest::prop_assert_eq!(got.bytes_read, doc.len() as u64);
    }
}

#[test]
fn chunks_are_bounded() {
    let text: String = (0..20_000).map(|i| line(i, "m")).collect();
    let got = read_from(
        "many.jsonl",
        &mut text.as_bytes(),
        &SourceOptions::default(),
    );
    assert_eq!(got.summary.events, 20_000);
    assert!(got.chunks.len() >= 3);
    assert!(got.chunks.iter().all(|c| c.events.len() <= CHUNK_EVENTS));
    // A whole document is split the same way.
    let doc = subscription_payload(20_000, "m");
    let got = read_from("doc.json", &mut doc.as_bytes(), &SourceOptions::default());
    assert_eq!(got.summary.events, 20_000);
    assert!(got.chunks.iter().all(|c| c.events.len() <= CHUNK_EVENTS));
}

#[test]
fn unrecognized_inputs_say_so() {
    let got = read_from(
        "foo.json",
        &mut &b"{\"foo\":1}\n"[..],
        &SourceOptions::default(),
    );
    assert_eq!(got.summary.events, 0);
    let diags = got.diagnostics();
    assert_eq!(diags.len(), 1);
    assert!(
        diags[0].starts_with(
            "foo.json: not a recognized Lambda log format: a JSON object with keys `foo`"
        ),
        "{}",
        diags[0]
    );
    let got = read_from(
        "bin",
        &mut &[0u8, 1, 2, 3, 0xff][..],
        &SourceOptions::default(),
    );
    assert!(got.diagnostics()[0].contains("binary data"));
}

#[test]
fn malformed_lines_are_reported_and_the_file_goes_on() {
    let text = format!("{}not json\n{}", line(1, "a"), line(2, "b"));
    let got = read_from("f.jsonl", &mut text.as_bytes(), &SourceOptions::default());
    assert_eq!(got.summary.events, 2);
    let diags = got.diagnostics();
    assert_eq!(diags.len(), 1);
    assert!(
        diags[0].starts_with("f.jsonl:2: invalid JSON"),
        "{}",
        diags[0]
    );
}

#[test]
fn diagnostics_per_input_are_capped() {
    let text: String = (0..MAX_DIAGNOSTICS_PER_INPUT + 500)
        .map(|_| "{\"no\":\"message\"}\n")
        .collect();
    let text = format!("{}{text}", line(1, "first"));
    let got = read_from("bad.jsonl", &mut text.as_bytes(), &SourceOptions::default());
    let diags = got.diagnostics();
    assert_eq!(diags.len(), MAX_DIAGNOSTICS_PER_INPUT + 1);
    assert_eq!(
        got.summary.diagnostics,
        (MAX_DIAGNOSTICS_PER_INPUT + 500) as u64
    );
    assert!(diags.last().unwrap().contains("500 more diagnostics"));
}

#[test]
fn oversized_documents_are_cut_with_a_diagnostic() {
    let doc = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tern-core/tests/fixtures/input/subscription-policy-level.json"),
    )
    .unwrap();
    let opts = SourceOptions {
        max_document_bytes: 1000,
        ..SourceOptions::default()
    };
    let got = read_from("big.json", &mut &doc[..], &opts);
    let diags = got.diagnostics();
    assert!(
        diags[0].contains("larger than the limit of 1000 bytes"),
        "{diags:?}"
    );
    assert!(got.summary.events > 0, "the start is still decoded");
}

#[test]
fn s3_export_paths_name_the_stream() {
    assert_eq!(
        stream_from_path(Path::new(
            "exports/task-1/2024/03/05/[$LATEST]20bddfd5a2dc4c6b97ac02800eae90d0/000000.gz"
        ))
        .as_deref(),
        Some("2024/03/05/[$LATEST]20bddfd5a2dc4c6b97ac02800eae90d0")
    );
    assert_eq!(stream_from_path(Path::new("logs/a.jsonl")), None);
    let dir = tempfile::tempdir().unwrap();
    let stream_dir = dir.path().join("task/2024/03/05/[7]abc");
    fs::create_dir_all(&stream_dir).unwrap();
    fs::write(
        stream_dir.join("000000.gz"),
        gz(b"2024-03-05T12:04:05.003Z START RequestId: x Version: 7\n"),
    )
    .unwrap();
    let got = read(
        &[dir.path().to_path_buf()],
        &SourceOptions {
            log_group: Some(GROUP.into()),
            ..SourceOptions::default()
        },
    );
    assert!(got.diagnostics().is_empty(), "{:?}", got.diagnostics());
    assert_eq!(&*got.events()[0].log_stream, "2024/03/05/[7]abc");
}

#[test]
fn line_reader_caps_and_resumes() {
    // A 4-byte buffer: every line spans buffers. A 64-byte one: lines are in place.
    for capacity in [4, 64] {
        let data = b"short\nxxxxxxxxxxxxxxxxxxxx\nlast";
        let mut storage = vec![0; capacity];
        let mut r = Buffered::new(&data[..], &mut storage);
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        let mut read = |r: &mut Buffered<&[u8]>, buf: &mut Vec<u8>| {
            read_line_capped(r, buf, 8, &mut |l| seen.push(l.to_vec())).unwrap()
        };
        assert_eq!(read(&mut r, &mut buf), LineRead::Line);
        assert_eq!(read(&mut r, &mut buf), LineRead::TooLong(20));
        assert!(buf.capacity() <= 16);
        assert_eq!(read(&mut r, &mut buf), LineRead::Line);
        assert_eq!(read(&mut r, &mut buf), LineRead::Eof);
        assert_eq!(seen, [b"short".to_vec(), b"last".to_vec()]);
    }
}
