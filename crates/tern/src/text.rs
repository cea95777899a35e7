//! Text for a terminal. Log lines carry whatever the functions printed, attacker-supplied
//! input included: control characters (ESC sequences that retitle the window or clear the
//! screen, carriage returns that overwrite a line) are shown escaped, never sent raw.

use std::borrow::Cow;

/// `s` with every control character except TAB shown as `\xNN` / `\u{NN}`.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            if (c as u32) < 0x80 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// 1234567 → "1,234,567".
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` and the noun, singular or plural: "1 invocation", "3 invocations".
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// What a retention pass removed, in words (`tern prune` and `tern serve` say the same).
pub fn retention_stats(s: &tern_store::RetentionStats) -> String {
    format!(
        "deleted {}, {} and {}",
        counted(s.invocations, "invocation", "invocations"),
        counted(
            s.stream_chunks,
            "block of log lines outside any invocation",
            "blocks of log lines outside any invocation"
        ),
        counted(s.rollup_rows, "statistics row", "statistics rows"),
    )
}

/// Up to three of `known` that look like `wanted` (a typo, another case, a part of it),
/// closest first.
pub fn closest<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .filter_map(|k| {
            let l = k.to_lowercase();
            // Against the whole name, and against its start as long as what was typed (a
            // pattern such as `ordr-*` names a prefix).
            let head: String = l.chars().take(w.chars().count()).collect();
            let d = edit_distance(&w, &l).min(edit_distance(&w, &head));
            let near = d <= (w.chars().count() / 3).max(2);
            let part = w.len() >= 3 && (l.contains(&w) || w.contains(&l));
            (near || part).then_some((d, k))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

/// " (did you mean a, b?)", or nothing when no name is close.
pub fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let near = closest(wanted, known);
    if near.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", near.join(", "))
    }
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')
}

/// A duration in readable units.
pub fn ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}ms")
    } else {
        format!("{v:.1}ms")
    }
}

pub use tern_core::cost::usd;

/// Write `v` as pretty JSON and a newline straight to stdout, as it is serialized: a fleet's
/// answer can be tens of megabytes, and building it as one string first costs more than the
/// work behind it. A closed pipe (`tern recommend … | head`) is not an error.
pub fn json_to_stdout<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut w, v)
        .map_err(std::io::Error::from)
        .and_then(|()| w.write_all(b"\n"))
        .and_then(|()| w.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names_catch_typos_case_and_parts() {
        let known = ["orders-api", "orders-worker", "payments", "image-resizer"];
        assert_eq!(closest("ordrs-api", known), ["orders-api"]);
        assert_eq!(closest("PAYMENTS", known), ["payments"]);
        assert_eq!(closest("orders", known), ["orders-api", "orders-worker"]);
        assert!(closest("zzzz", known).is_empty());
        assert_eq!(did_you_mean("zzzz", known), "");
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(counted(1, "kill", "kills"), "1 kill");
        assert_eq!(counted(1234, "kill", "kills"), "1,234 kills");
    }

    #[test]
    fn escapes_controls_and_keeps_text() {
        assert_eq!(printable("plain\ttext é"), "plain\ttext é");
        assert_eq!(
            printable("\u{1b}]0;hacked\u{7} \u{1b}[2J\r"),
            "\\x1b]0;hacked\\x07 \\x1b[2J\\x0d"
        );
        assert_eq!(printable("a\u{9b}b"), "a\\u{9b}b");
    }
}
