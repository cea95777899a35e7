//! Seeded sampling helpers. Every random choice in the simulator goes through a ChaCha8
//! generator seeded from the user's seed, so a seed always gives the same bytes.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub type Rng = ChaCha8Rng;

/// SplitMix64: derives independent seeds (per function, per purpose) from one seed, and
/// doubles as a cheap deterministic hash for event ids.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A generator for one purpose (`stream`) of one seed.
pub fn rng_for(seed: u64, stream: u64) -> Rng {
    Rng::seed_from_u64(splitmix64(seed ^ splitmix64(stream)))
}

/// Uniform in [0, 1).
pub fn unit(rng: &mut Rng) -> f64 {
    rng.random::<f64>()
}

pub fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(rng)
}

pub fn next_u64(rng: &mut Rng) -> u64 {
    rng.random::<u64>()
}

pub fn chance(rng: &mut Rng, p: f64) -> bool {
    p > 0.0 && unit(rng) < p
}

/// Uniform integer in `lo..hi` (hi exclusive, hi > lo).
pub fn int(rng: &mut Rng, lo: i64, hi: i64) -> i64 {
    rng.random_range(lo..hi)
}

pub fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Standard normal (Box–Muller).
pub fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - unit(rng); // (0, 1]
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Log-normal with the given median and shape.
pub fn lognormal(rng: &mut Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// Poisson count: Knuth for small means, a rounded normal for large ones.
pub fn poisson(rng: &mut Rng, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut k = 0u64;
        let mut p = unit(rng);
        while p > limit {
            k += 1;
            p *= unit(rng);
        }
        k
    } else {
        let x = lambda + lambda.sqrt() * normal(rng);
        x.round().max(0.0) as u64
    }
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
pub fn probit(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let low = 0.024_25;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -probit(1.0 - p)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Push `digits` lowercase hex digits of `v` (most significant first).
pub fn push_hex(out: &mut String, v: u64, digits: u32) {
    for i in (0..digits).rev() {
        out.push(HEX[((v >> (i * 4)) & 0xf) as usize] as char);
    }
}

/// A random version-4 UUID, as Lambda request ids are.
pub fn push_uuid(out: &mut String, rng: &mut Rng) {
    let a = rng.random::<u64>();
    let b = rng.random::<u64>();
    push_hex(out, a >> 32, 8);
    out.push('-');
    push_hex(out, (a >> 16) & 0xffff, 4);
    out.push('-');
    push_hex(out, 0x4000 | (a & 0x0fff), 4);
    out.push('-');
    push_hex(out, 0x8000 | ((b >> 48) & 0x3fff), 4);
    out.push('-');
    push_hex(out, b & 0xffff_ffff_ffff, 12);
}

/// 32 random lowercase hex digits: the execution-environment id of a log stream.
pub fn push_hex32(out: &mut String, rng: &mut Rng) {
    push_hex(out, rng.random::<u64>(), 16);
    push_hex(out, rng.random::<u64>(), 16);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn probit_matches_known_quantiles() {
        assert!(probit(0.5).abs() < 1e-9);
        assert!((probit(0.975) - 1.959_963_985).abs() < 1e-6);
        assert!((probit(0.01) + 2.326_347_874).abs() < 1e-6);
    }

    #[test]
    fn uuid_shape() {
        let mut rng = rng_for(1, 2);
        let mut s = String::new();
        push_uuid(&mut s, &mut rng);
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
    }
}
