//! A mergeable percentile sketch for durations (DDSketch, 1% relative accuracy).
//!
//! Rollups store one sketch per function and time bucket, so percentiles over any range are a
//! merge of a few sketches rather than a scan of invocations. The byte encoding is DDSketch's
//! portable binary format; it is versioned by the leading byte so that a future change of
//! sketch never misreads stored data.

use sketches_ddsketch::{Config, DDSketch};

/// Leading byte of the stored encoding. Bump it when the encoding or config changes.
const FORMAT_V1: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SketchError {
    #[error("empty sketch encoding")]
    Empty,
    #[error("unknown sketch format version {0}")]
    UnknownVersion(u8),
    #[error("corrupt sketch encoding: {0}")]
    Corrupt(String),
    #[error("sketches with different configurations cannot be merged")]
    Incompatible,
}

/// A percentile sketch of non-negative values (milliseconds).
#[derive(Clone)]
pub struct Sketch {
    /// `None` until the first value: an empty sketch allocates nothing (a fleet answer holds
    /// a sketch per function and bucket, most of them empty).
    inner: Option<Box<DDSketch>>,
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sketch")
            .field("count", &self.count())
            .field("min", &self.min())
            .field("max", &self.max())
            .finish()
    }
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch::new()
    }
}

fn config() -> Config {
    Config::defaults()
}

/// The inner sketch of an encoding (a format byte, then the Java-compatible body), in the
/// configuration the encoding carries.
fn decode_raw(bytes: &[u8]) -> Result<DDSketch, SketchError> {
    let (&version, body) = bytes.split_first().ok_or(SketchError::Empty)?;
    if version != FORMAT_V1 {
        return Err(SketchError::UnknownVersion(version));
    }
    if body.is_empty() {
        // An empty sketch encodes its mapping, so an empty body is corrupt.
        return Err(SketchError::Corrupt("no body".into()));
    }
    DDSketch::from_java_bytes(body).map_err(|e| SketchError::Corrupt(format!("{e:?}")))
}

impl Sketch {
    pub fn new() -> Sketch {
        Sketch { inner: None }
    }

    /// Add one value. Negative and non-finite values are clamped to 0 (durations never are).
    pub fn add(&mut self, v: f64) {
        let v = if v.is_finite() && v > 0.0 { v } else { 0.0 };
        self.inner
            .get_or_insert_with(|| Box::new(DDSketch::new(config())))
            .add(v);
    }

    pub fn merge(&mut self, other: &Sketch) -> Result<(), SketchError> {
        if other.count() == 0 {
            return Ok(());
        }
        let Some(theirs) = &other.inner else {
            return Ok(());
        };
        match &mut self.inner {
            Some(ours) => ours.merge(theirs).map_err(|_| SketchError::Incompatible),
            None => {
                self.inner = Some(theirs.clone());
                Ok(())
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.inner.as_ref().map_or(0, |d| d.count() as u64)
    }

    pub fn sum(&self) -> f64 {
        self.inner.as_deref().and_then(DDSketch::sum).unwrap_or(0.0)
    }

    pub fn min(&self) -> Option<f64> {
        self.inner.as_deref().and_then(DDSketch::min)
    }

    pub fn max(&self) -> Option<f64> {
        self.inner.as_deref().and_then(DDSketch::max)
    }

    pub fn mean(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.sum() / n as f64)
    }

    /// The q-quantile (0 ≤ q ≤ 1) by the nearest-rank method, within 1% relative error.
    /// `None` when empty.
    ///
    /// Nearest rank (the ⌈q·n⌉-th smallest value) means a p99 over 206 invocations of which 3
    /// timed out is a timeout's duration, as a person reading "p99" expects; rounding the rank
    /// down would hide the tail whenever fewer than 100 values are above it.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n) - 1;
        // The inner sketch takes the rank ⌊q'·(n−1)⌋; aim at the middle of the wanted rank.
        let inner_q = if rank + 1 >= n || n == 1 {
            1.0
        } else {
            (rank as f64 + 0.5) / (n - 1) as f64
        };
        let v = self
            .inner
            .as_ref()?
            .quantile(inner_q.min(1.0))
            .ok()
            .flatten()?;
        // Never report a percentile outside the exact observed range.
        let lo = self.min().unwrap_or(v);
        let hi = self.max().unwrap_or(v);
        Some(v.clamp(lo, hi))
    }

    /// The bin a value lands in when added: `None` for the zero bin, else the bin's key.
    /// Stores that count values per bin themselves (the ClickHouse backend groups by it in SQL)
    /// rebuild the same sketch with [`Sketch::from_bins`].
    pub fn bin_of(v: f64) -> Option<i32> {
        let v = if v.is_finite() && v > 0.0 { v } else { 0.0 };
        let c = config();
        (v > c.min_possible()).then(|| c.key(v))
    }

    /// `ln(γ)`: `bin_of(v)` is `⌊ln(v) / ln(γ)⌋` for values above the zero bin's bound.
    pub fn bin_log_base() -> f64 {
        config().gamma.ln()
    }

    /// The values at or below this land in the zero bin.
    pub fn zero_bound() -> f64 {
        config().min_possible()
    }

    /// The sketch of values whose bins (as [`Sketch::bin_of`] assigns them) held these counts,
    /// with the exact count-weighted summary: smallest and largest value and their sum.
    /// It answers every query as the sketch the values were added to one by one (the sum to
    /// rounding, since addition order differs).
    pub fn from_bins(
        zero_count: u64,
        bins: &[(i32, u64)],
        min: f64,
        max: f64,
        sum: f64,
    ) -> Result<Sketch, SketchError> {
        let c = config();
        let mut d = DDSketch::new(c);
        d.add_with_count(0.0, zero_count);
        let half = c.gamma.sqrt();
        for &(key, n) in bins {
            // A stand-in value of the bin: its middle in log space, or (for the lowest bin,
            // cut by the zero bin's bound) the smallest value above that bound.
            let candidates = [
                c.pow_gamma(key) * half,
                f64::from_bits(c.min_possible().to_bits() + 1),
            ];
            let v = candidates
                .into_iter()
                .find(|&v| v > c.min_possible() && c.key(v) == key)
                .ok_or_else(|| SketchError::Corrupt(format!("no value lands in bin {key}")))?;
            d.add_with_count(v, n);
        }
        if d.count() == 0 {
            return Ok(Sketch::new());
        }
        // The portable encoding carries the exact summary; the decoder keeps the last value
        // of each field, so appending the true min, max and sum replaces the bins' stand-ins.
        let mut body = d.to_java_bytes();
        for (flag, v) in [(0x88u8, min), (0x8c, max), (0x84, sum)] {
            body.push(flag);
            body.extend_from_slice(&v.to_le_bytes());
        }
        let decoded =
            DDSketch::from_java_bytes(&body).map_err(|e| SketchError::Corrupt(format!("{e:?}")))?;
        Sketch::rehomed(&decoded)
    }

    /// Merge an encoded sketch (as [`Sketch::encode`] makes) into this one: the same as
    /// `merge(&Sketch::decode(bytes)?)`, without the intermediate sketch.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> Result<(), SketchError> {
        let decoded = decode_raw(bytes)?;
        if decoded.count() == 0 {
            return Ok(());
        }
        match &mut self.inner {
            Some(ours) => ours.merge(&decoded).map_err(|_| SketchError::Incompatible),
            None => {
                *self = Sketch::rehomed(&decoded)?;
                Ok(())
            }
        }
    }

    /// A sketch with our exact configuration holding `decoded`'s values.
    fn rehomed(decoded: &DDSketch) -> Result<Sketch, SketchError> {
        let mut s = Sketch::new();
        if decoded.count() > 0 {
            let mut d = DDSketch::new(config());
            d.merge(decoded).map_err(|_| SketchError::Incompatible)?;
            s.inner = Some(Box::new(d));
        }
        Ok(s)
    }

    pub fn encode(&self) -> Vec<u8> {
        let body = match &self.inner {
            Some(d) => d.to_java_bytes(),
            None => DDSketch::new(config()).to_java_bytes(),
        };
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(FORMAT_V1);
        out.extend_from_slice(&body);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Sketch, SketchError> {
        let decoded = decode_raw(bytes)?;
        // Re-home the decoded bins into a sketch with our exact config so merges never fail
        // on a config that differs only in fields the encoding does not carry.
        Sketch::rehomed(&decoded)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn merge_encoded_is_merge_of_decoded() {
        let mut a = Sketch::new();
        let mut b = Sketch::new();
        for i in 1..=500 {
            a.add(i as f64 * 1.7);
            b.add(i as f64 * 0.3);
        }
        for start in [Sketch::new(), a.clone()] {
            let mut via_decode = start.clone();
            via_decode
                .merge(&Sketch::decode(&b.encode()).unwrap())
                .unwrap();
            let mut direct = start.clone();
            direct.merge_encoded(&b.encode()).unwrap();
            assert_eq!(direct.encode(), via_decode.encode());
            direct.merge_encoded(&Sketch::new().encode()).unwrap();
            assert_eq!(direct.encode(), via_decode.encode());
        }
        let mut s = a.clone();
        assert_eq!(s.merge_encoded(&[]), Err(SketchError::Empty));
        assert_eq!(
            s.merge_encoded(&[9, 1]),
            Err(SketchError::UnknownVersion(9))
        );
        assert!(matches!(
            s.merge_encoded(&[1]),
            Err(SketchError::Corrupt(_))
        ));
        assert!(matches!(
            s.merge_encoded(&[1, 0xff, 0xff, 0xff]),
            Err(SketchError::Corrupt(_))
        ));
        assert_eq!(
            s.encode(),
            a.encode(),
            "a failed merge leaves the sketch as it was"
        );
    }

    #[test]
    fn roundtrip_and_merge_after_decode() {
        let mut a = Sketch::new();
        for i in 1..=1000 {
            a.add(i as f64);
        }
        let b = Sketch::decode(&a.encode()).unwrap();
        assert_eq!(b.count(), 1000);
        let mut c = Sketch::new();
        c.add(5.0);
        c.merge(&b).unwrap();
        assert_eq!(c.count(), 1001);
        let p50 = c.quantile(0.5).unwrap();
        assert!((p50 - 500.0).abs() / 500.0 < 0.02, "p50 {p50}");
        // Nearest rank: with 3 slow values in 206, p99 is a slow one.
        let mut t = Sketch::new();
        for i in 0..203 {
            t.add(100.0 + i as f64 % 7.0);
        }
        for _ in 0..3 {
            t.add(15_000.0);
        }
        assert!(t.quantile(0.99).unwrap() > 14_000.0);
        assert!(t.quantile(0.95).unwrap() < 200.0);
        let mut one = Sketch::new();
        one.add(42.0);
        assert_eq!(one.quantile(0.5), Some(42.0));
        assert_eq!(one.quantile(0.99), Some(42.0));
        let empty = Sketch::decode(&Sketch::new().encode()).unwrap();
        assert_eq!(empty.count(), 0);
        assert_eq!(empty.quantile(0.5), None);
    }

    #[test]
    fn bad_encodings_are_errors_not_panics() {
        assert_eq!(Sketch::decode(&[]).unwrap_err(), SketchError::Empty);
        assert_eq!(
            Sketch::decode(&[9, 1]).unwrap_err(),
            SketchError::UnknownVersion(9)
        );
        let good = {
            let mut s = Sketch::new();
            s.add(3.0);
            s.encode()
        };
        for cut in 1..good.len() {
            let _ = Sketch::decode(&good[..cut]);
        }
    }

    proptest! {
        /// A sketch rebuilt from per-bin counts answers as the one values were added to.
        #[test]
        fn from_bins_equals_adding(xs in proptest::collection::vec(prop_oneof![Just(0.0), 0.0f64..1e-8, 0.0f64..2e6], 1..300)) {
            let mut whole = Sketch::new();
            let mut bins = std::collections::BTreeMap::new();
            let mut zero = 0u64;
            for x in &xs {
                whole.add(*x);
                match Sketch::bin_of(*x) {
                    Some(k) => *bins.entry(k).or_insert(0u64) += 1,
                    None => zero += 1,
                }
            }
            let bins: Vec<(i32, u64)> = bins.into_iter().collect();
            let sum: f64 = xs.iter().sum();
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let rebuilt = Sketch::from_bins(zero, &bins, lo, hi, sum).unwrap();
            prop_assert_eq!(rebuilt.count(), whole.count());
            prop_assert_eq!(rebuilt.min(), whole.min());
            prop_assert_eq!(rebuilt.max(), whole.max());
            for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
                prop_assert_eq!(rebuilt.quantile(q), whole.quantile(q));
            }
            prop_assert!((rebuilt.sum() - whole.sum()).abs() <= 1e-9 * whole.sum().max(1.0));
        }


        /// Merging the sketches of two halves gives the sketch of the whole.
        #[test]
        fn merge_equals_whole(xs in proptest::collection::vec(0.0f64..1e6, 1..300), split in 0usize..300) {
            let split = split.min(xs.len());
            let mut whole = Sketch::new();
            let mut left = Sketch::new();
            let mut right = Sketch::new();
            for (i, x) in xs.iter().enumerate() {
                whole.add(*x);
                if i < split { left.add(*x) } else { right.add(*x) }
            }
            let left = Sketch::decode(&left.encode()).unwrap();
            let mut merged = Sketch::decode(&right.encode()).unwrap();
            merged.merge(&left).unwrap();
            prop_assert_eq!(merged.count(), whole.count());
            for q in [0.0, 0.5, 0.95, 0.99, 1.0] {
                prop_assert_eq!(merged.quantile(q), whole.quantile(q));
            }
            prop_assert!((merged.sum() - whole.sum()).abs() <= 1e-6 * whole.sum().max(1.0));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Sketch::decode(&bytes);
        }
    }
}
