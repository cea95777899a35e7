//! Arrival times: when each function is invoked.

use super::sample::{self, Rng};
use super::spec::{FunctionSpec, Traffic};
use tern_core::time::{ms_of_day, weekday, MS_PER_DAY};

const MINUTE: i64 = 60_000;

/// Sorted arrival times (epoch ms) in `[start, start + days)`, never empty: a function with
/// no invocation in the window leaves no logs, so it could not be in the truth.
pub fn arrivals(spec: &FunctionSpec, start: i64, days: u32, rng: &mut Rng) -> Vec<i64> {
    let window = i64::from(days) * MS_PER_DAY;
    let end = start + window;
    let per_minute = spec.rate_per_day / 1440.0;
    let mut out: Vec<i64> =
        Vec::with_capacity((spec.rate_per_day * f64::from(days) * 1.1) as usize + 4);
    match &spec.traffic {
        Traffic::Steady => by_minute(&mut out, start, end, rng, |_| per_minute),
        Traffic::Diurnal { peak_hour } => {
            let peak = *peak_hour;
            by_minute(&mut out, start, end, rng, |t| per_minute * diurnal(t, peak))
        }
        Traffic::Bursty {
            bursts_per_day,
            burst_secs,
        } => {
            // 15% trickle, 85% in bursts.
            by_minute(&mut out, start, end, rng, |_| per_minute * 0.15);
            let total = spec.rate_per_day * f64::from(days) * 0.85;
            let mut bursts = sample::poisson(rng, bursts_per_day * f64::from(days));
            if bursts == 0 && total >= 1.0 {
                bursts = 1;
            }
            let burst_ms = (burst_secs * 1000.0) as i64;
            for _ in 0..bursts {
                let at = start + sample::int(rng, 0, (window - burst_ms).max(1));
                let size = sample::poisson(rng, total / bursts as f64);
                for _ in 0..size {
                    // Front-loaded: most of a burst arrives early (a queue drain).
                    let x = sample::unit(rng);
                    out.push(at + (x * x * burst_ms as f64) as i64);
                }
            }
        }
        Traffic::Cron { interval_s } => {
            let step = interval_s * 1000;
            // Schedules fire on the boundary, a little late.
            let mut t = start + step - start.rem_euclid(step);
            if start.rem_euclid(step) == 0 {
                t = start;
            }
            while t < end {
                out.push(t + sample::int(rng, 20, 2500));
                t += step;
            }
        }
        Traffic::Rare => {
            let n = sample::poisson(rng, spec.rate_per_day * f64::from(days));
            for _ in 0..n {
                out.push(start + sample::int(rng, 0, window));
            }
        }
    }
    out.retain(|&t| t < end);
    if out.is_empty() {
        out.push(start + sample::int(rng, 0, window));
    }
    out.sort_unstable();
    out
}

/// Poisson arrivals minute by minute with a time-varying rate.
fn by_minute(out: &mut Vec<i64>, start: i64, end: i64, rng: &mut Rng, rate: impl Fn(i64) -> f64) {
    let mut m = start;
    while m < end {
        let n = sample::poisson(rng, rate(m));
        for _ in 0..n {
            out.push(m + sample::int(rng, 0, MINUTE));
        }
        m += MINUTE;
    }
}

/// Daily cycle around `peak_hour` UTC, quieter at weekends; averages about 1 over a week.
fn diurnal(t: i64, peak_hour: f64) -> f64 {
    let hour = ms_of_day(t) as f64 / 3_600_000.0;
    let day = 1.0 + 0.75 * (std::f64::consts::TAU * (hour - peak_hour) / 24.0).cos();
    let week = if weekday(t) >= 5 { 0.55 } else { 1.0 };
    day * week / 0.871
}
