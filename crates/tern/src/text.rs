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

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

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
