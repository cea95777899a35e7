//! Sharing one `Arc<str>` per distinct log group and log stream name.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Most names repeat: consecutive events of an export or a payload share their group and
/// often their stream. The last name returned is checked first, then a map of every name
/// seen. Names are held in a `Vec` and `last` is an index into it, so following interleaved
/// streams moves no reference counts.
#[derive(Debug, Default)]
pub struct Interner {
    last: usize,
    names: Vec<Arc<str>>,
    /// Per name: it has no `"` and no `\`, so JSON spells it as its own bytes.
    plain: Vec<bool>,
    seen: HashMap<Arc<str>, usize, BuildHasherDefault<NameHasher>>,
}

/// A multiply-rotate hash over 8-byte words (the FxHash scheme). Names are short and the set
/// is bounded, so SipHash's flooding resistance buys nothing here and costs a third of a
/// JSON line's decode time.
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        let mut w = [0u8; 8];
        let tail = chunks.remainder();
        w[..tail.len()].copy_from_slice(tail);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w) ^ bytes.len() as u64).wrapping_mul(K);
        self.0 = h;
    }

    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The set is cleared past this many names, so a stream of ever-new names (stdin that runs
/// for days) cannot grow it without bound. Clearing only costs sharing, never correctness.
const MAX_NAMES: usize = 100_000;

impl Interner {
    pub fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(last) = self.names.get(self.last) {
            if **last == *name {
                return last.clone();
            }
        }
        if let Some(&i) = self.seen.get(name) {
            if let Some(arc) = self.names.get(i) {
                self.last = i;
                return arc.clone();
            }
        }
        if self.names.len() >= MAX_NAMES {
            self.names.clear();
            self.plain.clear();
            self.seen.clear();
        }
        let arc: Arc<str> = Arc::from(name);
        self.last = self.names.len();
        self.seen.insert(arc.clone(), self.last);
        self.names.push(arc.clone());
        self.plain
            .push(!name.bytes().any(|b| b == b'"' || b == b'\\'));
        arc
    }

    /// The name returned last when JSON spells it as its own bytes (no `"`, no `\`), else
    /// `""`: a JSON-lines scanner can then recognise a repeat of it with one comparison.
    /// The last name returned.
    pub fn last(&self) -> Option<Arc<str>> {
        self.names.get(self.last).cloned()
    }

    pub fn last_plain(&self) -> &str {
        match (self.names.get(self.last), self.plain.get(self.last)) {
            (Some(name), Some(true)) => name,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_share_one_allocation() {
        let mut i = Interner::default();
        let a = i.intern("/aws/lambda/a");
        let b = i.intern("/aws/lambda/b");
        let a2 = i.intern("/aws/lambda/a");
        assert!(Arc::ptr_eq(&a, &a2));
        assert!(Arc::ptr_eq(&b, &i.intern("/aws/lambda/b")));
        assert!(!Arc::ptr_eq(&a, &b));
        // Interleaved names keep sharing.
        for _ in 0..3 {
            assert!(Arc::ptr_eq(&a, &i.intern("/aws/lambda/a")));
            assert!(Arc::ptr_eq(&b, &i.intern("/aws/lambda/b")));
        }
    }

    #[test]
    fn last_plain_names() {
        let mut i = Interner::default();
        assert_eq!(i.last_plain(), "");
        i.intern("/aws/lambda/a");
        assert_eq!(i.last_plain(), "/aws/lambda/a");
        i.intern("quote\"d");
        assert_eq!(i.last_plain(), "");
        i.intern("back\\slash");
        assert_eq!(i.last_plain(), "");
        i.intern("/aws/lambda/a");
        assert_eq!(i.last_plain(), "/aws/lambda/a");
    }

    #[test]
    fn the_set_is_bounded() {
        let mut i = Interner::default();
        for n in 0..MAX_NAMES + 10 {
            i.intern(&n.to_string());
        }
        assert!(i.names.len() <= MAX_NAMES);
        assert_eq!(&*i.intern("5"), "5");
        assert_eq!(
            &*i.intern(&(MAX_NAMES + 5).to_string()),
            &(MAX_NAMES + 5).to_string()
        );
    }
}
