//! Text-format platform lines (LogFormat = Text): START, END, REPORT, INIT_*, RESTORE_*,
//! EXTENSION/TELEMETRY/LOGS, the timeout line and the runtime fault line.
//! Shapes and real examples: shared/reference/lambda-logs.md §1.
//!
//! Fields are `Key: value` pairs separated by tabs in current logs, by spaces in older and
//! console-rendered ones, sometimes with a stray space before a tab. So the reader walks
//! whitespace-separated tokens and matches known keys at each token start; unknown tokens are
//! skipped one at a time, and the first occurrence of a key wins.

use super::scan::{ends_word, is_type_name, is_ws, megabytes, metric, request_id, skip_ws, token};
use super::{ExtensionLine, InitStart, Line, PhaseReport, Start};
use crate::model::ReportMetrics;

fn unrecognized(diagnostic: impl Into<String>) -> Line {
    Line::Unrecognized {
        diagnostic: diagnostic.into(),
    }
}

/// At most 40 characters of `v`, for a diagnostic.
fn snippet(v: &str) -> String {
    let end = v.char_indices().nth(40).map_or(v.len(), |(i, _)| i);
    let s = v.get(..end).unwrap_or(v);
    if end < v.len() {
        format!("{s:?}…")
    } else {
        format!("{s:?}")
    }
}

/// Walk `Key: value` fields. At each token start the `keys` are tried in order; a hit passes
/// the key's index and the value token to `on`. Values are single tokens (Lambda never puts
/// whitespace inside the values we read); units (`ms`, `MB`) are skipped as unknown tokens.
fn fields<'a>(
    mut rest: &'a str,
    keys: &[&str],
    mut on: impl FnMut(usize, &'a str) -> Result<(), String>,
) -> Result<(), String> {
    // The keys' first bytes, so most tokens (values, units) are passed over with one test.
    let mut firsts = [0u64; 4];
    for k in keys {
        if let Some(&c) = k.as_bytes().first() {
            firsts[usize::from(c >> 6)] |= 1 << (c & 63);
        }
    }
    loop {
        rest = skip_ws(rest);
        let Some(&first) = rest.as_bytes().first() else {
            return Ok(());
        };
        let hit = if firsts[usize::from(first >> 6)] & (1 << (first & 63)) == 0 {
            None
        } else {
            keys.iter().position(|k| {
                k.as_bytes().first() == Some(&first)
                    && rest.as_bytes().get(..k.len()) == Some(k.as_bytes())
            })
        };
        match hit.and_then(|i| Some((i, rest.get(keys.get(i)?.len()..)?))) {
            Some((i, after)) => {
                let (value, r) = token(skip_ws(after));
                on(i, value)?;
                rest = r;
            }
            None => rest = token(rest).1,
        }
    }
}

/// Read a metric value or explain why it cannot be read (`key` names the field, for the
/// diagnostic only).
fn number<'k>(line: &str, key: impl FnOnce() -> &'k str, v: &str) -> Result<f64, String> {
    metric(v).ok_or_else(|| {
        format!(
            "{line} line with an unreadable {} value {}",
            key(),
            snippet(v)
        )
    })
}

fn set_first<T>(slot: &mut Option<T>, v: T) {
    if slot.is_none() {
        *slot = Some(v);
    }
}

fn set_text(slot: &mut Option<String>, v: &str) {
    if slot.is_none() && !v.is_empty() {
        *slot = Some(v.to_string());
    }
}

/// After the keyword (`START`, `END`, `REPORT`): `RequestId: <id>` and the rest of the line.
fn request_id_field<'a>(kind: &str, rest: &'a str) -> Result<(&'a str, &'a str), String> {
    let rest = skip_ws(rest);
    let rest = match rest.as_bytes().first_chunk::<10>() {
        Some(b"RequestId:") => rest.get(10..).unwrap_or(""),
        _ => return Err(format!("{kind} line without a RequestId")),
    };
    // The id follows after spaces only: `RequestId: \tDuration: …` has an empty id.
    let spaces = rest.bytes().take_while(|&b| b == b' ').count();
    let (id, rest) = token(rest.get(spaces..).unwrap_or(""));
    if id.is_empty() {
        return Err(format!("{kind} line with an empty RequestId"));
    }
    Ok((id, rest))
}

/// `START RequestId: <id> Version: <version>`.
pub(super) fn start(rest: &str) -> Line {
    let (id, rest) = match request_id_field("START", rest) {
        Ok(v) => v,
        Err(d) => return unrecognized(d),
    };
    let mut version = None;
    let r = fields(rest, &["Version:"], |_, v| {
        set_text(&mut version, v);
        Ok(())
    });
    match r {
        Ok(()) => Line::Start(Start {
            request_id: id.to_string(),
            version,
        }),
        Err(d) => unrecognized(d),
    }
}

/// `END RequestId: <id>`.
pub(super) fn end(rest: &str) -> Line {
    match request_id_field("END", rest) {
        Ok((id, _)) => Line::End {
            request_id: id.to_string(),
        },
        Err(d) => unrecognized(d),
    }
}

const REPORT_KEYS: [&str; 10] = [
    "Duration:",
    "Billed Duration:",
    "Memory Size:",
    "Max Memory Used:",
    "Init Duration:",
    "Restore Duration:",
    "Billed Restore Duration:",
    "Status:",
    "Error Type:",
    "XRAY TraceId:",
];

/// The fields every REPORT line starts with, in Lambda's order: (tab and key, index in
/// [`REPORT_KEYS`], the unit after the value).
const REPORT_CANONICAL: [(&str, usize, &str); 4] = [
    ("\tDuration:", 0, " ms"),
    ("\tBilled Duration:", 1, " ms"),
    ("\tMemory Size:", 2, " MB"),
    ("\tMax Memory Used:", 3, " MB"),
];

/// [`fields`], reading first the fields `expected` in the order given: while the text goes
/// on with the next one's tab and key, a value token, and the unit followed by whitespace,
/// the value goes to `on` without trying every key at every token. That is what `fields`
/// does with the same text, as long as `keys[k]` is the expected key (without its tab) and
/// no other key matches where it does (no key of `keys` is a prefix of another), and no key
/// matches at a unit: `fields` reads the key and the value token, then skips the unit as an
/// unknown token. At the first difference, the rest (from that field's tab on) goes to
/// `fields`.
fn canonical_then_fields<'a>(
    mut rest: &'a str,
    expected: &[(&str, usize, &str)],
    keys: &[&str],
    mut on: impl FnMut(usize, &'a str) -> Result<(), String>,
) -> Result<(), String> {
    for &(key, k, unit) in expected {
        let Some(after) = rest
            .as_bytes()
            .get(..key.len())
            .filter(|b| *b == key.as_bytes())
        else {
            break;
        };
        let after = rest.get(after.len()..).unwrap_or("");
        let (value, r) = token(skip_ws(after));
        let unit_ends = r
            .as_bytes()
            .get(..unit.len())
            .is_some_and(|b| b == unit.as_bytes())
            && r.as_bytes().get(unit.len()).is_some_and(|&c| is_ws(c));
        if !unit_ends {
            break;
        }
        on(k, value)?;
        rest = r.get(unit.len()..).unwrap_or("");
    }
    fields(rest, keys, on)
}

/// `REPORT RequestId: <id>\tDuration: X ms\tBilled Duration: Y ms\tMemory Size: Z MB\t
/// Max Memory Used: W MB[\tInit Duration: I ms][\tRestore Duration: R ms]
/// [\tBilled Restore Duration: B ms][\tStatus: S][\tError Type: E]\t\n[XRAY TraceId: T\t…]`.
pub(super) fn report(rest: &str) -> Line {
    let (id, rest) = match request_id_field("REPORT", rest) {
        Ok(v) => v,
        Err(d) => return unrecognized(d),
    };
    let mut duration = None;
    let mut m = ReportMetrics::default();
    let on = |k: usize, v| {
        // The key's name, for a diagnostic.
        let key = || REPORT_KEYS.get(k).map_or("", |k| k.trim_end_matches(':'));
        match k {
            0 => set_first(&mut duration, number("REPORT", key, v)?),
            1 => set_first(&mut m.billed_duration_ms, number("REPORT", key, v)?),
            2 | 3 => {
                let mb = megabytes(number("REPORT", key, v)?)
                    .ok_or_else(|| format!("REPORT line with an out-of-range {}", key()))?;
                set_first(
                    if k == 2 {
                        &mut m.memory_size_mb
                    } else {
                        &mut m.max_memory_used_mb
                    },
                    mb,
                );
            }
            4 => set_first(&mut m.init_duration_ms, number("REPORT", key, v)?),
            5 => set_first(&mut m.restore_duration_ms, number("REPORT", key, v)?),
            6 => set_first(&mut m.billed_restore_duration_ms, number("REPORT", key, v)?),
            7 => set_text(&mut m.status, v),
            8 => set_text(&mut m.error_type, v),
            _ => set_text(&mut m.xray_trace_id, v),
        }
        Ok(())
    };
    if let Err(d) = canonical_then_fields(rest, &REPORT_CANONICAL, &REPORT_KEYS, on) {
        return unrecognized(d);
    }
    let Some(duration) = duration else {
        return unrecognized("REPORT line without a Duration field");
    };
    m.duration_ms = duration;
    Line::Report {
        request_id: id.to_string(),
        metrics: m,
    }
}

/// `INIT_START …`, `INIT_REPORT …` and any other `INIT_*` (unrecognized).
pub(super) fn init(message: &str) -> Line {
    let (word, rest) = token(message);
    match word {
        "INIT_START" => Line::InitStart(runtime_start(rest)),
        "INIT_REPORT" => phase_report("INIT_REPORT", "Init Duration:", rest)
            .map_or_else(unrecognized, Line::InitReport),
        _ => unrecognized(format!("unknown platform line {}", snippet(word))),
    }
}

/// `RESTORE_START …` (SnapStart), `RESTORE_REPORT …` and any other `RESTORE_*` (unrecognized).
pub(super) fn restore(message: &str) -> Line {
    let (word, rest) = token(message);
    match word {
        "RESTORE_START" => Line::RestoreStart(runtime_start(rest)),
        "RESTORE_REPORT" => phase_report("RESTORE_REPORT", "Restore Duration:", rest)
            .map_or_else(unrecognized, Line::RestoreReport),
        _ => unrecognized(format!("unknown platform line {}", snippet(word))),
    }
}

/// `Runtime Version: <id>\tRuntime Version ARN: <arn>`; both optional.
fn runtime_start(rest: &str) -> InitStart {
    let mut s = InitStart::default();
    // Values are single tokens, so the reader cannot fail here.
    let _ = fields(
        rest,
        &["Runtime Version:", "Runtime Version ARN:"],
        |k, v| {
            if k == 0 {
                set_text(&mut s.runtime_version, v);
            } else {
                set_text(&mut s.runtime_version_arn, v);
            }
            Ok(())
        },
    );
    s
}

/// `<Init|Restore> Duration: D ms[\tPhase: P][\tStatus: S][\tError Type: E]`.
fn phase_report(kind: &str, duration_key: &str, rest: &str) -> Result<PhaseReport, String> {
    let mut p = PhaseReport::default();
    let keys = [duration_key, "Phase:", "Status:", "Error Type:"];
    let key = duration_key.trim_end_matches(':');
    fields(rest, &keys, |k, v| {
        match k {
            0 => set_first(&mut p.duration_ms, number(kind, || key, v)?),
            1 => set_text(&mut p.phase, v),
            2 => set_text(&mut p.status, v),
            _ => set_text(&mut p.error_type, v),
        }
        Ok(())
    })?;
    if p.duration_ms.is_none() {
        return Err(format!("{kind} line without an {key} field"));
    }
    Ok(p)
}

/// `EXTENSION\tName: n\tState: s\tEvents: [..][\tError Type: e]`, and the `TELEMETRY` and
/// `LOGS` subscription lines of the same shape.
pub(super) fn extension(kind: &str, rest: &str) -> Line {
    let mut e = ExtensionLine {
        kind: kind.to_string(),
        ..ExtensionLine::default()
    };
    let _ = fields(rest, &["Name:", "State:", "Error Type:"], |k, v| {
        match k {
            0 => set_text(&mut e.name, v),
            1 => set_text(&mut e.state, v),
            _ => set_text(&mut e.error_type, v),
        }
        Ok(())
    });
    Line::Extension(e)
}

pub(super) const TIMED_OUT: &str = "Task timed out after";

/// `Task timed out after N.NN seconds`, after the optional timestamp and request id.
pub(super) fn timeout(id: Option<&str>, rest: &str) -> Line {
    let after = rest.get(TIMED_OUT.len()..).unwrap_or("");
    let (n, _) = token(skip_ws(after));
    match metric(n) {
        Some(seconds) => Line::Timeout {
            request_id: id.and_then(request_id),
            seconds,
        },
        None => unrecognized(format!(
            "timeout line with an unreadable number of seconds {}",
            snippet(n)
        )),
    }
}

/// `RequestId: <id> Error: <message>\n<Error.Type>\n` (RAPID's fault line) and the pre-2019
/// `RequestId: <id> Process exited before completing request`. `None` when the text after
/// the id is neither, so user output that happens to start with `RequestId:` stays an app line.
pub(super) fn fault(message: &str) -> Option<Line> {
    let rest = message.strip_prefix("RequestId:")?;
    let (id, rest) = token(skip_ws(rest));
    let rest = rest.trim_start_matches([' ', '\t']);
    let nl = rest.find(['\n', '\r']).unwrap_or(rest.len());
    let (first, tail) = (rest.get(..nl)?, rest.get(nl..).unwrap_or(""));
    let text = if let Some(m) = first.strip_prefix("Error:") {
        m.trim()
    } else if first.starts_with("Process exited before completing request") {
        first.trim()
    } else {
        return None;
    };
    let error_type = tail
        .split(['\n', '\r'])
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .filter(|l| is_platform_error_type(l))
        .map(str::to_string);
    Some(Line::RuntimeExit {
        request_id: request_id(id),
        message: text.to_string(),
        error_type,
    })
}

/// `Runtime.ExitError`, `Sandbox.Timeout`, `Extension.Crash`: `Word.Word`.
fn is_platform_error_type(s: &str) -> bool {
    let Some((ns, name)) = s.split_once('.') else {
        return false;
    };
    ns.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && ns.bytes().all(|b| b.is_ascii_alphabetic())
        && !name.is_empty()
        && is_type_name(name)
}

/// Whether `message` starts with `word` followed by whitespace or the end.
pub(super) fn keyword(message: &str, word: &str) -> bool {
    message.starts_with(word) && ends_word(message.as_bytes().get(word.len()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    /// `fields` as it was written first: every key tried at every token start.
    fn fields_reference<'a>(mut rest: &'a str, keys: &[&str], mut on: impl FnMut(usize, &'a str)) {
        loop {
            rest = skip_ws(rest);
            let Some(&first) = rest.as_bytes().first() else {
                return;
            };
            let hit = keys
                .iter()
                .position(|k| k.as_bytes().first() == Some(&first) && rest.starts_with(k));
            match hit.and_then(|i| Some((i, rest.get(keys.get(i)?.len()..)?))) {
                Some((i, after)) => {
                    let (value, r) = token(skip_ws(after));
                    on(i, value);
                    rest = r;
                }
                None => rest = token(rest).1,
            }
        }
    }

    /// The keys and values `fields` reports, and those of `fields_reference`.
    type Hits<'a> = (Vec<(usize, &'a str)>, Vec<(usize, &'a str)>);

    fn hits<'a>(rest: &'a str, keys: &[&str]) -> Hits<'a> {
        let mut fast = Vec::new();
        let _ = fields(rest, keys, |k, v| {
            fast.push((k, v));
            Ok(())
        });
        let mut slow = Vec::new();
        fields_reference(rest, keys, |k, v| slow.push((k, v)));
        (fast, slow)
    }

    #[test]
    fn fields_finds_what_trying_every_key_finds() {
        let line = "\tDuration: 56.77 ms\tBilled Duration: 57 ms\tMemory Size: 1536 MB\tMax Memory Used: 117 MB\t\nXRAY TraceId: 1-6ae92495-bec48c0ac8746f2f602c3fb3\tSegmentId: 72d0e81ac91c811e\tSampled: true\t\n";
        let (fast, slow) = hits(line, &REPORT_KEYS);
        assert_eq!(fast.len(), 5);
        assert_eq!(fast, slow);
        // Keys with first bytes in every quarter of the byte range.
        let keys = ["é:", "~x", "\u{7f}k", "A:", "a:"];
        let (fast, slow) = hits("é: 1 ~x 2 \u{7f}k 3 A: 4 a: 5 é 6", &keys);
        assert_eq!(fast.len(), 5);
        assert_eq!(fast, slow);
    }

    #[test]
    fn report_keys_suit_the_canonical_reading() {
        for (i, a) in REPORT_KEYS.iter().enumerate() {
            for (j, b) in REPORT_KEYS.iter().enumerate() {
                assert!(i == j || !b.starts_with(a), "{a} is a prefix of {b}");
            }
            for unit in ["ms", "MB"] {
                assert!(!unit.starts_with(a) && !a.starts_with(unit));
            }
        }
        for (key, k, _) in REPORT_CANONICAL {
            assert_eq!(key.strip_prefix('\t'), Some(REPORT_KEYS[k]));
        }
    }

    /// REPORT lines of every shape the words make: the canonical reading finds what trying
    /// every key finds, in the same order.
    fn canonical_agrees(line: &str) -> Result<(), TestCaseError> {
        let mut fast = Vec::new();
        let _ = canonical_then_fields(line, &REPORT_CANONICAL, &REPORT_KEYS, |k, v| {
            fast.push((k, v));
            Ok(())
        });
        let mut slow = Vec::new();
        fields_reference(line, &REPORT_KEYS, |k, v| slow.push((k, v)));
        prop_assert_eq!(fast, slow, "{:?}", line);
        Ok(())
    }

    #[test]
    fn canonical_reading_of_real_lines() {
        for line in [
            "\tDuration: 56.77 ms\tBilled Duration: 57 ms\tMemory Size: 1536 MB\tMax Memory Used: 117 MB\t\nXRAY TraceId: 1-6ae92495-bec48c0ac8746f2f602c3fb3\tSegmentId: 72d0e81ac91c811e\tSampled: true\t\n",
            "\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\tInit Duration: 100.00 ms\t\n",
            "\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB",
            "\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB ",
            "\tDuration: 1.00 ms Billed Duration: 1 ms\tMemory Size: 128 MB",
            "\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MBX\tMax Memory Used: 50 MB\t",
            "\tDuration:\t\t1.00 ms\tDuration: 2 ms\tBilled Duration: ms\t",
            "\tDuration: x ms\tBilled Duration: 1 ms\t",
            "\tDuration: 2 ms\tDuration: 1 ms\t",
            " Duration: 2 ms\t",
            "",
        ] {
            canonical_agrees(line).unwrap();
        }
    }

    proptest! {
        #[test]
        fn canonical_reading_agrees_with_trying_every_key(
            words in prop::collection::vec(prop::sample::select(vec![
                "Duration:", "Billed Duration:", "Memory Size:", "Max Memory Used:", "ms", "MB",
                "12.5", "7", "Init Duration:", "Status:", "XRAY TraceId:", "1-abc", "x",
            ]), 0..16),
            seps in prop::collection::vec(prop::sample::select(vec![" ", "\t", "\n", " \t", ""]), 16),
            at in 0usize..100,
        ) {
            let line: String = words.iter().zip(&seps).map(|(w, s)| format!("{s}{w}")).collect();
            canonical_agrees(&line)?;
            // Mostly canonical: the four fields in order, one of them perturbed by the words.
            let mut canonical = String::from("\tDuration: 1 ms\tBilled Duration: 2 ms\tMemory Size: 3 MB\tMax Memory Used: 4 MB\t");
            let at = at.min(canonical.len());
            canonical.insert_str(at, &line);
            canonical_agrees(&canonical)?;
        }

        #[test]
        fn fields_agrees_with_trying_every_key(
            words in prop::collection::vec(prop::sample::select(vec![
                "Duration:", "Duration", "Billed", "Billed Duration:", "Memory", "Memory Size:",
                "Max Memory Used:", "Max", "MB", "ms", "Init Duration:", "Restore Duration:",
                "Billed Restore Duration:", "Status:", "Error Type:", "XRAY TraceId:", "XRAY",
                "12.5", "1-abc", "é", "Status:x", "\u{1}",
            ]), 0..16),
            seps in prop::collection::vec(prop::sample::select(vec![" ", "\t", "\n", " \t", ""]), 16),
        ) {
            let line: String = words.iter().zip(&seps).map(|(w, s)| format!("{w}{s}")).collect();
            let (fast, slow) = hits(&line, &REPORT_KEYS);
            prop_assert_eq!(fast, slow, "{:?}", line);
        }
    }
}
