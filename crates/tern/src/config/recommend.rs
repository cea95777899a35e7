//! `[recommend]`: how memory advice is decided, for every surface that gives it (`tern
//! recommend`, the report's quick wins, the insights, the API and the dashboard).
//!
//! ```toml
//! [recommend]
//! strategy = "balanced"   # cost, speed or balanced
//! weight = 0.5            # balanced: weight of cost against latency (0 = speed only)
//! min_gain = 0.05         # a change needs at least this gain, its interval above zero
//! min_samples = 20        # warm successful invocations before a size counts as measured
//! timeout_margin = 0.1    # no size whose p99 comes within this share of the timeout
//! headroom = 0.2          # memory kept above the most ever used
//! ```

use std::path::Path;

use super::Config;
use anyhow::{bail, Result};
use serde::Deserialize;
use tern_core::recommend::{Settings, Strategy};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecommend {
    strategy: Option<String>,
    weight: Option<f64>,
    min_gain: Option<f64>,
    min_samples: Option<u64>,
    timeout_margin: Option<f64>,
    headroom: Option<f64>,
}

/// A strategy by name: `cost`, `speed` or `balanced` (with `weight`).
pub fn strategy(name: &str, weight: f64) -> Option<Strategy> {
    match name {
        "cost" => Some(Strategy::Cost),
        "speed" => Some(Strategy::Speed),
        "balanced" => Some(Strategy::Balanced { weight }),
        _ => None,
    }
}

/// Validate `[recommend]` over the engine's defaults. Every error names the key.
pub(super) fn parse(raw: &RawRecommend) -> Result<Settings> {
    let d = Settings::default();
    let within = |v: Option<f64>, default: f64, lo: f64, hi: f64, key: &str| -> Result<f64> {
        match v {
            None => Ok(default),
            Some(x) if (lo..=hi).contains(&x) => Ok(x),
            Some(x) => bail!("recommend.{key} = {x}: use a number from {lo} to {hi}"),
        }
    };
    let weight = within(raw.weight, 0.5, 0.0, 1.0, "weight")?;
    let strategy = match raw.strategy.as_deref() {
        None => Strategy::Balanced { weight },
        Some(s) => strategy(s, weight).ok_or_else(|| {
            anyhow::anyhow!("recommend.strategy = {s:?}: use cost, speed or balanced")
        })?,
    };
    if raw.weight.is_some() && !matches!(strategy, Strategy::Balanced { .. }) {
        bail!("recommend.weight applies to the balanced strategy only");
    }
    let min_samples = match raw.min_samples {
        None => d.min_samples,
        Some(n @ 1..=1_000_000) => n,
        Some(n) => bail!("recommend.min_samples = {n}: use 1 to 1000000 invocations"),
    };
    Ok(Settings {
        strategy,
        min_gain: within(raw.min_gain, d.min_gain, 0.0, 0.9, "min_gain")?,
        min_samples,
        timeout_margin: within(
            raw.timeout_margin,
            d.timeout_margin,
            0.0,
            0.9,
            "timeout_margin",
        )?,
        headroom: within(raw.headroom, d.headroom, 0.0, 4.0, "headroom")?,
        ..d
    })
}

/// The `[recommend]` settings of the file at `path` (the whole file is validated); the
/// engine's defaults without one.
pub fn load_recommend(path: Option<&Path>) -> Result<tern_core::recommend::Settings> {
    Ok(match path {
        Some(p) => Config::load(p)?.recommend,
        None => tern_core::recommend::Settings::default(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::super::Config;
    use super::*;

    fn err(text: &str) -> String {
        match Config::parse(text) {
            Ok(_) => panic!("{text:?} was accepted"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn defaults_are_the_engine_defaults_and_balanced() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.recommend, Settings::default());
        assert_eq!(c.recommend.strategy, Strategy::Balanced { weight: 0.5 });
    }

    #[test]
    fn every_key_is_read_and_checked() {
        let c = Config::parse(
            "[recommend]\nstrategy = \"cost\"\nmin_gain = 0.1\nmin_samples = 50\n\
             timeout_margin = 0.2\nheadroom = 0.3\n",
        )
        .unwrap();
        let r = c.recommend;
        assert_eq!(r.strategy, Strategy::Cost);
        assert_eq!((r.min_gain, r.min_samples), (0.1, 50));
        assert_eq!((r.timeout_margin, r.headroom), (0.2, 0.3));
        let c = Config::parse("[recommend]\nweight = 0.8\n").unwrap();
        assert_eq!(c.recommend.strategy, Strategy::Balanced { weight: 0.8 });
        for (text, key) in [
            ("[recommend]\nstrategy = \"cheap\"", "recommend.strategy"),
            ("[recommend]\nweight = 2.0", "recommend.weight"),
            (
                "[recommend]\nstrategy = \"cost\"\nweight = 0.3",
                "balanced strategy only",
            ),
            ("[recommend]\nmin_gain = -1.0", "recommend.min_gain"),
            ("[recommend]\nmin_samples = 0", "recommend.min_samples"),
            (
                "[recommend]\ntimeout_margin = 1.5",
                "recommend.timeout_margin",
            ),
            ("[recommend]\nheadroom = 9.0", "recommend.headroom"),
            ("[recommend]\nstrategi = \"cost\"", "strategi"),
        ] {
            let e = err(text);
            assert!(e.contains(key), "{text:?}: {e}");
        }
    }
}
