//! A hand-written reader for the common JSON platform records, `platform.start` and
//! `platform.report` as Lambda writes them (lambda-logs.md §2.1):
//!
//! ```text
//! {"time":"…","type":"platform.start","record":{"requestId":"…","functionArn":"…","version":"…"}}
//! {"time":"…","type":"platform.report","record":{"requestId":"…","metrics":{"durationMs":140.26,
//!  "billedDurationMs":394,"memorySizeMB":256,"maxMemoryUsedMB":111,"initDurationMs":252.88},
//!  "status":"success"}}
//! ```
//!
//! A JSON message costs about ten times a text line through serde, and these two records are
//! most of the JSON platform output. This reader fills the same [`Record`] serde would, so the
//! record is turned into a [`super::Line`] by the same code. It takes only a narrow shape and
//! answers `None` for anything else, which then goes through serde (that decides and
//! explains): a key it does not list (at the top: `time`, `type`, `record`; in the record:
//! `requestId`, `version`, `status`, `errorType`, `functionArn`, `metrics`; in the metrics: the
//! seven metrics serde reads), a repeated key, a string with an escape or a control character,
//! a value of another JSON type, a number that is negative, has an exponent or more than 15
//! digits. For every message it accepts, serde reads the same record (tests below compare the
//! two on many inputs).

use std::borrow::Cow;

use super::models::{Metrics, Record, Text};

/// The record's type (`platform.…`) and its `record`, when the message has the narrow shape
/// above.
pub(super) fn read(message: &str) -> Option<(&str, Record<'_>)> {
    let mut r = Reader {
        s: message,
        b: message.as_bytes(),
        i: 0,
    };
    r.ws();
    r.expect(b'{')?;
    let mut time = false;
    let mut kind = None;
    let mut record = None;
    r.ws();
    loop {
        let key = r.string()?;
        r.colon()?;
        match key {
            "time" if !time => {
                r.string()?;
                time = true;
            }
            "type" if kind.is_none() => kind = Some(r.string()?),
            "record" if record.is_none() => record = Some(r.record()?),
            _ => return None,
        }
        if r.end_of_member()? {
            break;
        }
    }
    r.ws();
    if r.i != r.b.len() {
        return None;
    }
    let kind = kind.filter(|k| k.starts_with("platform."))?;
    Some((kind, record?))
}

struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

/// Powers of ten that are exact in an f64.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

impl<'a> Reader<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// `:` between a key and its value, with the whitespace around it.
    fn colon(&mut self) -> Option<()> {
        self.ws();
        self.expect(b':')?;
        self.ws();
        Some(())
    }

    /// After a member's value: `,` and the next key's quote (`false`), or `}` (`true`).
    fn end_of_member(&mut self) -> Option<bool> {
        self.ws();
        match self.b.get(self.i)? {
            b',' => {
                self.i += 1;
                self.ws();
                Some(false)
            }
            b'}' => {
                self.i += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// A string without escapes or control characters, as its text.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.i;
        // The first `"`, `\\` or control character, eight bytes at a time.
        let mut at = start;
        while let Some(eight) = self.b.get(at..).and_then(<[u8]>::first_chunk::<8>) {
            let w = u64::from_le_bytes(*eight);
            let m = has_byte(w, b'"') | has_byte(w, b'\\') | has_less(w, 0x20);
            if m != 0 {
                at += (m.trailing_zeros() / 8) as usize;
                break;
            }
            at += 8;
        }
        while !matches!(self.b.get(at)?, b'"' | b'\\' | 0..=0x1f) {
            at += 1;
        }
        if self.b.get(at) != Some(&b'"') {
            return None;
        }
        // Both ends are at ASCII quotes: char boundaries.
        let text = self.s.get(start..at)?;
        self.i = at + 1;
        Some(text)
    }

    /// `{"requestId": …}`: the record object.
    fn record(&mut self) -> Option<Record<'a>> {
        self.expect(b'{')?;
        let mut r = Record::default();
        self.ws();
        if self.expect(b'}').is_some() {
            return Some(r);
        }
        let mut arn = false;
        loop {
            let key = self.string()?;
            self.colon()?;
            let slot = match key {
                "requestId" => &mut r.request_id,
                "version" => &mut r.version,
                "status" => &mut r.status,
                "errorType" => &mut r.error_type,
                "functionArn" if !arn => {
                    arn = true;
                    self.string()?;
                    if self.end_of_member()? {
                        return Some(r);
                    }
                    continue;
                }
                "metrics" if r.metrics.is_none() => {
                    r.metrics = Some(self.metrics()?);
                    if self.end_of_member()? {
                        return Some(r);
                    }
                    continue;
                }
                _ => return None,
            };
            set(slot, self.string()?)?;
            if self.end_of_member()? {
                return Some(r);
            }
        }
    }

    /// `{"durationMs": 140.26, …}`.
    fn metrics(&mut self) -> Option<Metrics> {
        self.expect(b'{')?;
        let mut m = Metrics::default();
        self.ws();
        if self.expect(b'}').is_some() {
            return Some(m);
        }
        loop {
            let key = self.string()?;
            self.colon()?;
            let slot = match key {
                "durationMs" => &mut m.duration_ms,
                "billedDurationMs" => &mut m.billed_duration_ms,
                "memorySizeMB" => &mut m.memory_size_mb,
                "maxMemoryUsedMB" => &mut m.max_memory_used_mb,
                "initDurationMs" => &mut m.init_duration_ms,
                "restoreDurationMs" => &mut m.restore_duration_ms,
                "billedRestoreDurationMs" => &mut m.billed_restore_duration_ms,
                _ => return None,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(self.number()?);
            if self.end_of_member()? {
                return Some(m);
            }
        }
    }

    /// A JSON number `int[.digits]` with no sign, no exponent and at most 15 digits. Its
    /// digits as an integer and the power of ten are exact in an f64, so one correctly
    /// rounded division gives what serde_json's correctly rounded parser gives (and for an
    /// integer, exactly the `u64 as f64` serde gives).
    fn number(&mut self) -> Option<f64> {
        let mut m: u64 = 0;
        let mut digits = 0usize;
        let mut digit = |r: &mut Reader<'_>| -> Option<bool> {
            match r.b.get(r.i) {
                Some(&c @ b'0'..=b'9') => {
                    digits += 1;
                    if digits > 15 {
                        return None;
                    }
                    m = m * 10 + u64::from(c - b'0');
                    r.i += 1;
                    Some(true)
                }
                _ => Some(false),
            }
        };
        match self.b.get(self.i)? {
            b'0' => {
                digit(self)?;
            }
            b'1'..=b'9' => while digit(self)? {},
            _ => return None,
        }
        let mut frac = 0usize;
        if self.expect(b'.').is_some() {
            while digit(self)? {
                frac += 1;
            }
            if frac == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E' | b'.' | b'0'..=b'9') = self.b.get(self.i) {
            return None;
        }
        Some(m as f64 / POW10.get(frac).copied()?)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `w` that equals `b`. Only the lowest set bit is exact (a
/// borrow can only mark bytes above a real match), which is all [`Reader::string`] reads.
fn has_byte(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & (ONES << 7)
}

/// The high bit of each byte of `w` below `n` (`n` at most 128), exact for the lowest one.
fn has_less(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & (ONES << 7)
}

/// Fill a record field once; a repeated key is serde's error, so it goes there.
fn set<'a>(slot: &mut Text<'a>, v: &'a str) -> Option<()> {
    if slot.0.is_some() {
        return None;
    }
    slot.0 = Some(Cow::Borrowed(v));
    Some(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::read;
    use crate::parse::json::{parse, parse_serde};
    use proptest::prelude::*;

    const START: &str = r#"{"time":"2026-11-03T00:05:30.606Z","type":"platform.start","record":{"requestId":"f88ab5a0-4dbd-4527-9379-52a65d87e615","functionArn":"arn:aws:lambda:us-east-1:513491954845:function:audit-consumer-v2","version":"39"}}"#;
    const REPORT: &str = r#"{"time":"2026-11-03T00:05:30.747Z","type":"platform.report","record":{"requestId":"f88ab5a0-4dbd-4527-9379-52a65d87e615","metrics":{"durationMs":140.26,"billedDurationMs":394,"memorySizeMB":256,"maxMemoryUsedMB":111,"initDurationMs":252.88},"status":"success"}}"#;

    /// Both readings of one message agree.
    fn agree(m: &str) {
        assert_eq!(parse(m), parse_serde(m), "{m}");
    }

    #[test]
    fn reads_the_common_records_by_hand() {
        for m in [
            START,
            REPORT,
            r#"{"time":"t","type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":0.5,"billedDurationMs":1,"memorySizeMB":128,"maxMemoryUsedMB":50,"restoreDurationMs":10.25,"billedRestoreDurationMs":11},"status":"timeout","errorType":"Sandbox.Timedout"}}"#,
            " { \"type\" : \"platform.start\" , \"record\" : { } } \n",
            r#"{"record":{"version":"$LATEST","requestId":"r"},"type":"platform.start"}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"  ","metrics":{"durationMs":1}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"undefined","metrics":{"durationMs":1}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":0,"memorySizeMB":99999999999}}}"#,
            r#"{"type":"platform.runtimeDone","record":{"requestId":"r","status":"error","errorType":"Runtime.OutOfMemory"}}"#,
            r#"{"type":"platform.somethingNew","record":{"requestId":"r"}}"#,
        ] {
            assert!(read(m).is_some(), "{m}");
            agree(m);
        }
    }

    #[test]
    fn leaves_everything_else_to_serde() {
        for m in [
            // Not the shape: another key, a repeated key, escapes, other value types.
            r#"{"time":"t","type":"platform.start","record":{"requestId":"r"},"level":"INFO"}"#,
            r#"{"type":"platform.start","type":"platform.report","record":{"requestId":"r"}}"#,
            r#"{"time":"a","time":"b","type":"platform.start","record":{"requestId":"r"}}"#,
            r#"{"type":"platform.start","record":{"requestId":"r"},"record":{"requestId":"s"}}"#,
            r#"{"type":"platform.start","record":{"requestId":"r","requestId":"s"}}"#,
            r#"{"type":"platform.start","record":{"requestId":"r","functionArn":"a","functionArn":"b"}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1,"durationMs":2}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1},"metrics":{}}}"#,
            r#"{"type":"platform.start","record":{"requestId":"r\u0041"}}"#,
            r#"{"type":"platform.st\u0061rt","record":{"requestId":"r"}}"#,
            "{\"type\":\"platform.start\",\"record\":{\"requestId\":\"r\tx\"}}",
            r#"{"type":"platform.start","record":{"requestId":7}}"#,
            r#"{"type":"platform.start","record":{"requestId":null}}"#,
            r#"{"type":"platform.start","record":{"version":["1"]}}"#,
            r#"{"type":"platform.start","record":"text"}"#,
            r#"{"type":"platform.start","record":null}"#,
            r#"{"type":"platform.start"}"#,
            r#"{"type":7,"record":{}}"#,
            r#"{"type":"app","record":{}}"#,
            r#"{"time":12,"type":"platform.start","record":{}}"#,
            r#"{"type":"platform.initStart","record":{"initializationType":"on-demand"}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1,"producedBytes":2}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1},"tracing":{"value":"Root=1-a"}}}"#,
            // Numbers serde reads otherwise or rejects.
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":-1}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1e3}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1E3}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":01}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1.}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":.5}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1.2.3}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1234567890123456}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":0.1234567890123456789}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":"5"}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":null}}}"#,
            r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":NaN}}}"#,
            // Broken JSON.
            r#"{"type":"platform.start","record":{"requestId":"r"}} x"#,
            r#"{"type":"platform.start","record":{"requestId":"r"},}"#,
            r#"{"type":"platform.start","record":{"requestId":"r",}}"#,
            r#"{"type":"platform.start","record":{"requestId" "r"}}"#,
            r#"{"type":"platform.start","record":{"requestId":"r"}"#,
            r#"{"type":"platform.start""record":{}}"#,
            r#"{,"type":"platform.start"}"#,
            "{}",
            "{",
            "",
        ] {
            assert!(read(m).is_none(), "{m}");
            agree(m);
        }
    }

    /// Every prefix of the common records (CloudWatch cuts long events) reads the same both
    /// ways.
    #[test]
    fn truncated_records_agree() {
        for m in [START, REPORT] {
            for end in 0..=m.len() {
                agree(&m[..end]);
            }
        }
    }

    /// A quote, backslash or control character at any place relative to the eight-byte
    /// steps of the string scan; non-ASCII text around it.
    #[test]
    fn string_scan_finds_the_first_stop_anywhere() {
        for pos in 0..20 {
            for stop in [
                "\\n", "\\\"", "\t", "\u{1}", "\u{1f}", "\u{7f}", "é", "\u{80}", "\"", "",
            ] {
                for tail in ["", "b", "bbbbbbbbbbbb"] {
                    let id = format!("{}{stop}{tail}", "a".repeat(pos));
                    let m =
                        format!(r#"{{"type":"platform.start","record":{{"requestId":"{id}"}}}}"#);
                    agree(&m);
                    let plain = !stop.is_empty()
                        && !stop.starts_with(['\\', '"'])
                        && stop.chars().all(|c| c >= ' ');
                    if plain || stop.is_empty() {
                        assert!(read(&m).is_some(), "{m}");
                    }
                }
            }
        }
    }

    fn piece() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "\"time\"",
            "\"type\"",
            "\"record\"",
            "\"requestId\"",
            "\"version\"",
            "\"status\"",
            "\"errorType\"",
            "\"functionArn\"",
            "\"metrics\"",
            "\"durationMs\"",
            "\"billedDurationMs\"",
            "\"memorySizeMB\"",
            "\"maxMemoryUsedMB\"",
            "\"initDurationMs\"",
            "\"restoreDurationMs\"",
            "\"billedRestoreDurationMs\"",
            "\"other\"",
            "\"platform.start\"",
            "\"platform.report\"",
            "\"platform.initStart\"",
            "\"app\"",
            "\"r-1\"",
            "\" r \"",
            "\"undefined\"",
            "\"\"",
            "\"\\u0041\"",
            "\"a\\\"b\"",
            "\"é\"",
            "\"\t\"",
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            " ",
            "\n",
            "0",
            "1",
            "12",
            "140.26",
            "0.5",
            "01",
            "1.",
            "-1",
            "1e2",
            "4294967296",
            "1234567890123456",
            "0.000000000000001",
            "null",
            "true",
        ])
        .prop_map(str::to_string)
    }

    /// A well-formed record from optional members, some repeated.
    fn record() -> impl Strategy<Value = String> {
        let number = prop::sample::select(vec![
            "0",
            "1",
            "128",
            "140.26",
            "0.5",
            "99.999",
            "-1",
            "1e3",
            "01",
            "1.",
            "null",
            "\"7\"",
            "4294967296.0",
            "123456789012345",
            "0.00000000000001",
        ]);
        let metric = prop::sample::select(vec![
            "durationMs",
            "billedDurationMs",
            "memorySizeMB",
            "maxMemoryUsedMB",
            "initDurationMs",
            "restoreDurationMs",
            "billedRestoreDurationMs",
            "producedBytes",
        ]);
        let metrics = prop::collection::vec((metric, number), 0..5).prop_map(|ms| {
            let body: Vec<String> = ms.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", body.join(","))
        });
        let key = prop::sample::select(vec![
            "requestId",
            "version",
            "status",
            "errorType",
            "functionArn",
            "phase",
            "tracing",
        ]);
        let text = prop::sample::select(vec![
            "\"r\"",
            "\" \"",
            "\"\"",
            "\"null\"",
            "\"success\"",
            "\"a\\nb\"",
            "7",
            "null",
            "{}",
        ]);
        let member = prop_oneof![
            (key, text).prop_map(|(k, v)| format!("\"{k}\":{v}")),
            metrics.prop_map(|m| format!("\"metrics\":{m}")),
        ];
        (prop::collection::vec(member, 0..6), " {0,1}")
            .prop_map(|(ms, ws)| format!("{{{ws}{}{ws}}}", ms.join(&format!("{ws},{ws}"))))
    }

    proptest! {
        /// Messages built from well-formed pieces: both readings agree.
        #[test]
        fn agrees_with_serde_on_records(
            record in record(),
            kind in prop::sample::select(vec!["platform.start", "platform.report", "platform.runtimeDone", "app"]),
            order in 0usize..3,
            time in prop::sample::select(vec!["", "\"time\":\"2026-11-03T00:05:30.606Z\",", "\"time\":1,", "\"time\":\"a\",\"time\":\"b\","]),
        ) {
            let m = match order {
                0 => format!("{{{time}\"type\":\"{kind}\",\"record\":{record}}}"),
                1 => format!("{{\"record\":{record},{time}\"type\":\"{kind}\"}}"),
                _ => format!("{{{time}\"type\":\"{kind}\",\"record\":{record},\"type\":\"{kind}\"}}"),
            };
            prop_assert_eq!(parse(&m), parse_serde(&m), "{}", m);
        }

        /// Messages of random pieces (mostly broken JSON): both readings agree.
        #[test]
        fn agrees_with_serde_on_pieces(pieces in prop::collection::vec(piece(), 0..24)) {
            let m = format!("{{{}", pieces.concat());
            prop_assert_eq!(parse(&m), parse_serde(&m), "{}", m);
        }

        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let m = format!("{{{s}");
            let _ = read(&m);
            let _ = read(&s);
        }
    }
}
