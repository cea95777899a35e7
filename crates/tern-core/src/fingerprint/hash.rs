//! The fingerprint hash: 64-bit FNV-1a over length-framed fields.
//!
//! **Frozen.** Stored group ids are these hashes; any change here regroups every stored error
//! of every grouping version. `std::hash::DefaultHasher` is not used because its algorithm
//! may change between Rust releases. FNV-1a is written out here (offset basis and prime from
//! the FNV specification, draft-eastlake-fnv) and checked against published test vectors.
//!
//! Each field is framed by its length (8 bytes, little endian) so that `("ab", "c")` and
//! `("a", "bc")` never hash alike.

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// Incremental FNV-1a 64.
#[derive(Debug, Clone)]
pub(crate) struct Fnv64(u64);

impl Fnv64 {
    pub(crate) fn new() -> Fnv64 {
        Fnv64(OFFSET_BASIS)
    }

    /// Raw bytes, no framing (used by the test vectors).
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        let mut h = self.0;
        for &c in b {
            h ^= u64::from(c);
            h = h.wrapping_mul(PRIME);
        }
        self.0 = h;
    }

    /// One field: its length, then its bytes.
    pub(crate) fn field(&mut self, b: &[u8]) {
        self.bytes(&(b.len() as u64).to_le_bytes());
        self.bytes(b);
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.field(s.as_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.field(&v.to_le_bytes());
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fnv(s: &str) -> u64 {
        let mut h = Fnv64::new();
        h.bytes(s.as_bytes());
        h.finish()
    }

    /// Test vectors of the FNV reference implementation (test_fnv.c, FNV-1a 64).
    #[test]
    fn published_vectors() {
        assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fields_are_framed() {
        let mut a = Fnv64::new();
        a.str("ab");
        a.str("c");
        let mut b = Fnv64::new();
        b.str("a");
        b.str("bc");
        assert_ne!(a.finish(), b.finish());
    }
}
