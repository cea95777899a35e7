//! Hand-written readers for the common JSON messages, which cost about ten times a text
//! line through serde:
//!
//! - `platform.start` and `platform.report` as Lambda writes them (lambda-logs.md §2.1):
//!
//! ```text
//! {"time":"…","type":"platform.start","record":{"requestId":"…","functionArn":"…","version":"…"}}
//! {"time":"…","type":"platform.report","record":{"requestId":"…","metrics":{"durationMs":140.26,
//!  "billedDurationMs":394,"memorySizeMB":256,"maxMemoryUsedMB":111,"initDurationMs":252.88},
//!  "status":"success"}}
//! ```
//!
//! - flat application records (§2.3): `{"timestamp": "…", "level": "INFO", "message": "…",
//!   "logger": "…", "requestId": "…"}`.
//!
//! Each fills the same struct serde would ([`Record`], [`JsonLine`]), so the line is made by
//! the same code. They take only narrow shapes and answer `None` for anything else, which
//! then goes through serde (that decides and explains): a key serde reads that they do not
//! (`errorType`, `stackTrace`, `log_level`, …), a repeated key serde reads, a string with an
//! escape or a control character, a value of another JSON type, a nested value, a metric
//! that is negative, has an exponent or more than 15 digits. For every message they accept,
//! serde reads the same struct (tests below compare the two readings on many inputs).
//!
//! Platform records: at the top only `time`, `type`, `record`; in the record `requestId`,
//! `version`, `status`, `errorType`, `functionArn`, `metrics`; in the metrics the seven metrics
//! serde reads. Application records: `timestamp`, `time`, `level`, `requestId` and `message`
//! as strings, and any key serde ignores with a string, integer, `true`, `false` or `null`
//! value (serde checks only the syntax of an ignored value).

use std::borrow::Cow;

use super::models::{JsonLine, LevelField, Message, Metrics, Record, Stamp, Text};
use super::scan::level_from_word;

/// The record's type (`platform.…`) and its `record`, when the message has the narrow shape
/// above.
pub(super) fn platform_record(message: &str) -> Option<(&str, Record<'_>)> {
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

/// An application record of the flat shape above, as serde would read it.
pub(super) fn app_record(message: &str) -> Option<JsonLine<'_>> {
    const TIMESTAMP: u8 = 1;
    const TIME: u8 = 2;
    const LEVEL: u8 = 4;
    const REQUEST_ID: u8 = 8;
    const MESSAGE: u8 = 16;
    let mut r = Reader {
        s: message,
        b: message.as_bytes(),
        i: 0,
    };
    r.ws();
    r.expect(b'{')?;
    r.ws();
    let mut line = JsonLine::default();
    let mut seen = 0u8;
    loop {
        let key = r.string()?;
        r.colon()?;
        let field = match key {
            "timestamp" => TIMESTAMP,
            "time" => TIME,
            "level" => LEVEL,
            "requestId" => REQUEST_ID,
            "message" => MESSAGE,
            // Every other key serde reads into `JsonLine`.
            "type"
            | "record"
            | "log_level"
            | "AWSRequestId"
            | "function_request_id"
            | "errorType"
            | "errorMessage"
            | "stackTrace"
            | "stack" => return None,
            _ => 0,
        };
        if field == 0 {
            r.ignored_value()?;
        } else {
            if seen & field != 0 {
                return None;
            }
            seen |= field;
            let v = r.string()?;
            match field {
                TIMESTAMP => line.timestamp = Stamp::text(v),
                TIME => line.time = Stamp::text(v),
                LEVEL => line.level = LevelField(level_from_word(v.trim())),
                REQUEST_ID => line.request_id = Text(Some(Cow::Borrowed(v))),
                _ => line.message = Message::Text,
            }
        }
        if r.end_of_member()? {
            break;
        }
    }
    r.ws();
    (r.i == r.b.len()).then_some(line)
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

    /// A value serde ignores, of the kinds taken here: a string, an integer, `true`,
    /// `false` or `null`.
    fn ignored_value(&mut self) -> Option<()> {
        match self.b.get(self.i)? {
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => {
                // -?(0|[1-9][0-9]*): a fraction or an exponent is left to serde.
                self.expect(b'-');
                match self.b.get(self.i)? {
                    b'0' => self.i += 1,
                    b'1'..=b'9' => {
                        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                            self.i += 1;
                        }
                    }
                    _ => return None,
                }
                match self.b.get(self.i) {
                    Some(b'.' | b'e' | b'E' | b'0'..=b'9') => None,
                    _ => Some(()),
                }
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end) == Some(word)).then(|| self.i = end)
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
    use super::{app_record, platform_record as read};
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

    #[test]
    fn reads_flat_application_records_by_hand() {
        for m in [
            r#"{"timestamp": "2026-11-03T00:05:30Z", "level": "INFO", "message": "Fetched 10 items", "logger": "app", "requestId": "f88ab5a0-4dbd-4527-9379-52a65d87e615", "location": "app.py:12"}"#,
            r#"{"timestamp":"2026-11-03T00:34:22.700Z","level":"INFO","requestId":"25f4a8c3-8c18-4ac2-85bd-69656a6c6e96","message":"Completed in 248 ms"}"#,
            r#"{"time":"2026-11-03T00:34:22.700Z","level":"warning","message":"m","pid":123,"ok":true,"gone":null,"neg":-5,"zero":0,"f":false}"#,
            r#"{"timestamp":"1709640245","level":" Error ","requestId":"undefined"}"#,
            r#"{"level":"NOTICE","requestId":"","message":""}"#,
            r#"{"other":"x","other":"y"}"#,
            " {\n \"message\" :\t\"x\" } ",
        ] {
            assert!(app_record(m).is_some(), "{m}");
            agree(m);
        }
        for m in [
            r#"{"timestamp":"t","level":"INFO","errorType":"KeyError","errorMessage":"x"}"#,
            r#"{"timestamp":"t","log_level":"ERROR"}"#,
            r#"{"AWSRequestId":"r"}"#,
            r#"{"function_request_id":"r"}"#,
            r#"{"requestId":"r","requestId":"s"}"#,
            r#"{"level":"INFO","level":"ERROR"}"#,
            r#"{"message":{"errorType":"E"}}"#,
            r#"{"message":"a\"b"}"#,
            r#"{"level":30}"#,
            r#"{"timestamp":1709640245003}"#,
            r#"{"stack":"x"}"#,
            r#"{"type":"app"}"#,
            r#"{"extra":{"a":1}}"#,
            r#"{"extra":[1]}"#,
            r#"{"extra":1.5}"#,
            r#"{"extra":1e5}"#,
            r#"{"extra":01}"#,
            r#"{"extra":-}"#,
            r#"{"extra":tru}"#,
            r#"{"extra":truex}"#,
            r#"{"extra":nul}"#,
            r#"{"message":"x"}}"#,
            r#"{"message":"x""#,
            "{}",
        ] {
            assert!(app_record(m).is_none(), "{m}");
            agree(m);
        }
    }

    /// Application records built from keys serde reads and ignores, with values of every
    /// kind, repeated keys and spacing: both readings agree.
    fn app_member() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "timestamp",
            "time",
            "level",
            "requestId",
            "message",
            "logger",
            "location",
            "type",
            "errorType",
            "errorMessage",
            "log_level",
            "AWSRequestId",
            "stack",
        ]);
        let value = prop::sample::select(vec![
            "\"2026-11-03T00:05:30Z\"",
            "\"2026-11-03T00:05:30.123Z\"",
            "\"INFO\"",
            "\"error\"",
            "\" r-1 \"",
            "\"undefined\"",
            "\"\"",
            "\"a\\nb\"",
            "\"é\"",
            "1709640245003",
            "1709640245",
            "30",
            "-1",
            "0",
            "01",
            "1.5",
            "1e400",
            "true",
            "false",
            "null",
            "{}",
            "{\"errorType\":\"E\",\"errorMessage\":\"m\"}",
            "[]",
            "[\"at x\"]",
        ]);
        (key, value, " {0,1}").prop_map(|(k, v, ws)| format!("\"{k}\"{ws}:{ws}{v}"))
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
        fn agrees_with_serde_on_app_records(
            members in prop::collection::vec(app_member(), 0..7),
            sep in prop::sample::select(vec![",", ", ", " ,\n"]),
        ) {
            let m = format!("{{{}}}", members.join(sep));
            prop_assert_eq!(parse(&m), parse_serde(&m), "{}", m);
        }

        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let m = format!("{{{s}");
            let _ = read(&m);
            let _ = read(&s);
            let _ = app_record(&m);
            let _ = app_record(&s);
        }
    }
}
