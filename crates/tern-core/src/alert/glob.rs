//! A small, total glob matcher for function names, tag values, accounts and regions.
//!
//! `*` matches any run of characters (including none), `?` matches exactly one character,
//! everything else matches itself, case-sensitively (Lambda names are case-sensitive). There
//! are no character classes and no escapes: Lambda names, account ids and region names cannot
//! contain `*` or `?`, so nothing needs escaping.
//!
//! The matcher is the classic two-pointer algorithm with backtracking to the last `*`: it
//! runs in O(pattern × text) time in the worst case, allocates nothing for ASCII input and
//! never recurses, so no pattern can blow the stack.

/// Does `text` match the glob `pattern`?
pub fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        return match_units(pattern.as_bytes(), text.as_bytes());
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    match_units(&p, &t)
}

/// A unit of the pattern: a byte for ASCII input, a `char` otherwise.
trait Unit: Copy + PartialEq {
    fn is_star(self) -> bool;
    fn is_any(self) -> bool;
}

impl Unit for u8 {
    fn is_star(self) -> bool {
        self == b'*'
    }
    fn is_any(self) -> bool {
        self == b'?'
    }
}

impl Unit for char {
    fn is_star(self) -> bool {
        self == '*'
    }
    fn is_any(self) -> bool {
        self == '?'
    }
}

fn match_units<U: Unit>(p: &[U], t: &[U]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Where the last `*` was in the pattern, and the text position it is currently matched to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match (p.get(pi), t.get(ti)) {
            (Some(&pc), _) if pc.is_star() => {
                star = Some((pi, ti));
                pi += 1;
            }
            (Some(&pc), Some(&tc)) if pc.is_any() || pc == tc => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry from there.
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    // The text is used up: what is left of the pattern must be all stars.
    p.get(pi..).unwrap_or(&[]).iter().all(|u| u.is_star())
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn basics() {
        for (p, t, want) in [
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("orders-*", "orders-api", true),
            ("orders-*", "orders-", true),
            ("orders-*", "order-api", false),
            ("*-api", "orders-api", true),
            ("*-api", "orders-api-v2", false),
            ("*-api*", "orders-api-v2", true),
            ("o?ders", "orders", true),
            ("o?ders", "oders", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a**c", "abc", true),
            ("Orders", "orders", false),
            ("prod-?-*", "prod-é-api", true),
            ("*é", "café", true),
            ("eu-*-1", "eu-west-1", true),
            ("eu-*-1", "us-west-1", false),
        ] {
            assert_eq!(glob_match(p, t), want, "{p:?} vs {t:?}");
        }
    }
}
