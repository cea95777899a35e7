//! The cost engine: exact Lambda charges from billed duration, memory, architecture, region,
//! request count, monthly volume tiers and (optionally) the free tier.
//!
//! Per invocation:
//!
//! ```text
//! Billed Duration (ms) / 1000 × Memory Size (MB) / 1024 × price per GB-second
//!   + request fee
//! ```
//!
//! Billed Duration is taken as reported (since August 2025 it includes INIT for managed
//! runtimes; SnapStart's Billed Restore Duration is added by the caller). Nothing is rounded:
//! no 100 ms steps, no rounded per-ms constants. Volume tiers apply to the aggregate GB-seconds
//! of one account, region and architecture in one calendar month; each function's share of a
//! tiered charge is proportional to its GB-seconds.

use std::sync::OnceLock;

use crate::model::Arch;
use crate::price_book::{self, Item};

/// One duration price band: GB-seconds up to `up_to` (cumulative, per month) cost `price`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tier {
    pub up_to_gb_s: f64,
    pub usd_per_gb_s: f64,
}

/// The prices of one region and architecture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceList {
    pub region: &'static str,
    pub arch: Arch,
    pub usd_per_million_requests: f64,
    /// Ascending; the last tier's `up_to_gb_s` is infinite.
    pub tiers: &'static [Tier],
}

impl PriceList {
    /// The first-tier price per GB-second.
    pub fn base_gb_s(&self) -> f64 {
        self.tiers.first().map_or(0.0, |t| t.usd_per_gb_s)
    }

    /// Duration charge for `gb_s` GB-seconds in one month, walking the tiers.
    pub fn duration_charge(&self, gb_s: f64) -> f64 {
        walk_tiers(self.tiers, gb_s)
    }

    pub fn request_charge(&self, requests: f64) -> f64 {
        requests.max(0.0) * self.usd_per_million_requests / 1_000_000.0
    }
}

/// The charge for `units` in one month over ascending tier bands.
fn walk_tiers(tiers: &[Tier], units: f64) -> f64 {
    let mut remaining = units.max(0.0);
    let mut lower = 0.0;
    let mut total = 0.0;
    for t in tiers {
        if remaining <= 0.0 {
            break;
        }
        let band = (t.up_to_gb_s - lower).max(0.0);
        let used = remaining.min(band);
        total += used * t.usd_per_gb_s;
        remaining -= used;
        lower = t.up_to_gb_s;
    }
    total
}

/// Monthly GB-second boundaries of the duration tiers, the same in every region: x86_64 gets
/// 10% off beyond 6 billion GB-s and 20% beyond 15 billion; arm64 beyond 7.5 and 18.75 billion
/// (AWS's tiered pricing announcement).
pub fn tier_bounds(arch: Arch) -> [f64; 2] {
    match arch {
        Arch::X86_64 => [6.0e9, 15.0e9],
        Arch::Arm64 => [7.5e9, 18.75e9],
    }
}

/// The three duration tiers from a region's first-tier price. AWS publishes the discounted
/// prices rounded to ten decimals (us-east-1 x86_64: 0.0000166667 → 0.000015 → 0.0000133334).
fn tiers_from(arch: Arch, base: f64) -> Vec<Tier> {
    let round10 = |x: f64| (x * 1e10).round() / 1e10;
    let [b1, b2] = tier_bounds(arch);
    vec![
        Tier {
            up_to_gb_s: b1,
            usd_per_gb_s: base,
        },
        Tier {
            up_to_gb_s: b2,
            usd_per_gb_s: round10(base * 0.9),
        },
        Tier {
            up_to_gb_s: f64::INFINITY,
            usd_per_gb_s: round10(base * 0.8),
        },
    ]
}

/// A region's invocation prices as read from the price book.
struct KnownList {
    region: String,
    arch: Arch,
    usd_per_million_requests: f64,
    tiers: Vec<Tier>,
}

/// Every region and architecture whose duration and request prices the book knows in US
/// dollars with enough confidence to price a bill, built once.
fn known_lists() -> &'static [KnownList] {
    static LISTS: OnceLock<Vec<KnownList>> = OnceLock::new();
    LISTS.get_or_init(|| {
        let book = price_book::book();
        let mut out = Vec::new();
        for region in book.regions() {
            for arch in [Arch::X86_64, Arch::Arm64] {
                let duration = book.usd(region, Item::Duration, arch);
                let requests = book.usd(region, Item::Requests, arch);
                if let (Some(d), Some(r)) = (duration, requests) {
                    out.push(KnownList {
                        region: region.to_string(),
                        arch,
                        usd_per_million_requests: r,
                        tiers: tiers_from(arch, d),
                    });
                }
            }
        }
        out
    })
}

fn list_of(k: &'static KnownList) -> PriceList {
    PriceList {
        region: &k.region,
        arch: k.arch,
        usd_per_million_requests: k.usd_per_million_requests,
        tiers: &k.tiers,
    }
}

/// Every price list the book knows (both architectures of each priced region).
pub fn price_lists() -> Vec<PriceList> {
    known_lists().iter().map(list_of).collect()
}

/// The region used when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Dollars for people, one way everywhere: "$120", "$1.84", "$0.0002", "-$0.0040" (the sign
/// before the symbol), "<$0.0001" for a figure too small to show rather than a "$0.0000" that
/// reads as nothing, and "$0" for exactly nothing.
pub fn usd(x: f64) -> String {
    if !x.is_finite() {
        return "$?".into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let a = x.abs();
    if a == 0.0 {
        "$0".into()
    } else if a >= 100.0 {
        format!("{sign}${a:.0}")
    } else if a >= 0.01 {
        format!("{sign}${a:.2}")
    } else if a >= 0.0001 {
        format!("{sign}${a:.4}")
    } else {
        format!("{sign}<$0.0001")
    }
}

/// The free tier: per account and month, across regions and architectures.
pub const FREE_REQUESTS: f64 = 1_000_000.0;
pub const FREE_GB_S: f64 = 400_000.0;

/// Prices for a region and architecture. `exact` is false when the book has no usable US-dollar
/// price for them (a region it does not know, a price not found or unverified, or one in CNY);
/// the us-east-1 prices are then returned in their place.
pub fn price_list(region: &str, arch: Arch) -> (PriceList, bool) {
    let lists = known_lists();
    if let Some(k) = lists.iter().find(|k| k.region == region && k.arch == arch) {
        return (list_of(k), true);
    }
    let fallback = lists
        .iter()
        .find(|k| k.region == DEFAULT_REGION && k.arch == arch)
        .map_or(
            // Only if the embedded book failed to parse, which its tests rule out.
            PriceList {
                region: DEFAULT_REGION,
                arch,
                usd_per_million_requests: 0.0,
                tiers: &[],
            },
            list_of,
        );
    (fallback, false)
}

/// GB-seconds of one invocation.
pub fn gb_seconds(billed_ms: f64, memory_mb: f64) -> f64 {
    (billed_ms.max(0.0) / 1000.0) * (memory_mb.max(0.0) / 1024.0)
}

/// The cost of one invocation at first-tier prices (no free tier): what one more invocation
/// like it adds to the bill for an account below the first volume tier.
pub fn invocation_cost(billed_ms: f64, memory_mb: f64, arch: Arch, region: &str) -> f64 {
    let (p, _) = price_list(region, arch);
    gb_seconds(billed_ms, memory_mb) * p.base_gb_s() + p.usd_per_million_requests / 1_000_000.0
}

/// One line of usage to be priced: a function's requests and GB-seconds in one month.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub region: String,
    pub arch: Arch,
    /// `YYYYMM`.
    pub month: u32,
    pub requests: u64,
    pub gb_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CostOptions {
    /// Subtract the monthly free tier (1M requests, 400,000 GB-s) before charging.
    pub free_tier: bool,
}

/// The charge for one usage line.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Charge {
    pub requests_usd: f64,
    pub duration_usd: f64,
    /// False when the book has no usable US-dollar price for the region (us-east-1 prices used).
    pub exact_region: bool,
}

impl Charge {
    pub fn total(&self) -> f64 {
        self.requests_usd + self.duration_usd
    }
}

/// Price many usage lines together, so that tiers see the aggregate volume of each region,
/// architecture and month, and the free tier is shared by the whole month. Returns one charge
/// per input line, in order. The charges sum to the exact bill for this usage.
pub fn price_usage(usage: &[Usage], opts: CostOptions) -> Vec<Charge> {
    use std::collections::BTreeMap;
    // Totals per month (free tier) and per (region, arch, month) (tiers).
    let mut month_req: BTreeMap<u32, f64> = BTreeMap::new();
    let mut month_gbs: BTreeMap<u32, f64> = BTreeMap::new();
    for u in usage {
        *month_req.entry(u.month).or_default() += u.requests as f64;
        *month_gbs.entry(u.month).or_default() += u.gb_seconds.max(0.0);
    }
    // Fraction of each month's usage that is billable after the free tier.
    let billable = |total: f64, free: f64| -> f64 {
        if !opts.free_tier || total <= 0.0 {
            1.0
        } else {
            ((total - free) / total).max(0.0)
        }
    };
    let mut group_gbs: BTreeMap<(String, Arch, u32), f64> = BTreeMap::new();
    for u in usage {
        let f = billable(month_gbs[&u.month], FREE_GB_S);
        *group_gbs
            .entry((u.region.clone(), u.arch, u.month))
            .or_default() += u.gb_seconds.max(0.0) * f;
    }
    usage
        .iter()
        .map(|u| {
            let (p, exact_region) = price_list(&u.region, u.arch);
            let req_f = billable(month_req[&u.month], FREE_REQUESTS);
            let gbs_f = billable(month_gbs[&u.month], FREE_GB_S);
            let mine = u.gb_seconds.max(0.0) * gbs_f;
            let group = group_gbs[&(u.region.clone(), u.arch, u.month)];
            let duration_usd = if group > 0.0 {
                p.duration_charge(group) * (mine / group)
            } else {
                0.0
            };
            Charge {
                requests_usd: p.request_charge(u.requests as f64 * req_f),
                duration_usd,
                exact_region,
            }
        })
        .collect()
}

/// Project a cost observed over `observed_ms` onto a 30-day month.
pub fn monthly(cost: f64, observed_ms: i64) -> f64 {
    if observed_ms <= 0 {
        return 0.0;
    }
    cost * (30.0 * 86_400_000.0) / observed_ms as f64
}

// ---- Beyond invocations: provisioned concurrency and CloudWatch Logs (insights) ----

/// Provisioned concurrency, per GB-second of configured concurrency, at us-east-1 list prices:
/// x86_64 $0.0000041667, arm64 $0.0000033334 (the arm64 figure is unverified in the price
/// book). The free tier does not apply. [`provisioned_concurrency_price`] gives other regions.
pub fn provisioned_concurrency_usd_per_gb_s(arch: Arch) -> f64 {
    price_book::book()
        .find(DEFAULT_REGION, Item::ProvisionedConcurrency, arch)
        .first()
        .and_then(|r| r.price)
        .unwrap_or(0.0)
}

/// A region's usable provisioned concurrency price per configured GB-second, if the book has
/// one (none for arm64 outside the few regions listed, nor where the figure is unverified).
pub fn provisioned_concurrency_price(region: &str, arch: Arch) -> Option<f64> {
    price_book::book().usd(region, Item::ProvisionedConcurrency, arch)
}

/// A region's usable price per GB-second of ephemeral storage configured above 512 MB.
pub fn ephemeral_storage_price(region: &str) -> Option<f64> {
    price_book::book().usd(region, Item::EphemeralStorage, Arch::X86_64)
}

/// What keeping `concurrency` environments of `memory_mb` provisioned costs for a 30-day
/// month (the concurrency charge only: invocations on them still pay requests and a reduced
/// duration rate).
pub fn provisioned_concurrency_monthly(concurrency: u32, memory_mb: f64, arch: Arch) -> f64 {
    let seconds = 30.0 * 86_400.0;
    f64::from(concurrency)
        * (memory_mb.max(0.0) / 1024.0)
        * seconds
        * provisioned_concurrency_usd_per_gb_s(arch)
}

/// Bytes in the GB CloudWatch Logs bills by (binary, as AWS bills data volumes).
pub const LOG_GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The ingestion charge for `bytes` of Lambda logs in one month (vended logs, Standard class,
/// us-east-1), walking the book's tiers: first 10 TB $0.50/GB, next 20 TB $0.25/GB, next
/// 20 TB $0.10/GB, beyond $0.05/GB. The 5 GB free tier is not subtracted.
pub fn log_ingestion_monthly(bytes: f64) -> f64 {
    let rows = price_book::book().find(DEFAULT_REGION, Item::LogIngestionStandard, Arch::X86_64);
    let tiers: Vec<Tier> = rows
        .iter()
        .map(|r| Tier {
            up_to_gb_s: r.up_to.unwrap_or(f64::INFINITY),
            usd_per_gb_s: r.price.unwrap_or(0.0),
        })
        .collect();
    walk_tiers(&tiers, bytes.max(0.0) / LOG_GB)
}

/// CloudWatch Logs storage, per GB-month ($0.03, reference/peers-and-pricing.md §6).
pub const LOG_STORAGE_USD_PER_GB_MONTH: f64 = 0.03;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn dollars_read_one_way() {
        assert_eq!(usd(123.4), "$123");
        assert_eq!(usd(1.844), "$1.84");
        assert_eq!(usd(0.05), "$0.05");
        assert_eq!(usd(0.0002), "$0.0002");
        assert_eq!(usd(-0.004), "-$0.0040");
        assert_eq!(usd(0.000_001), "<$0.0001");
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(-0.0), "$0");
        assert_eq!(usd(f64::NAN), "$?");
    }
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
    }

    /// AWS's published example (Lambda pricing page, "Example 1"): 512 MB, 3 million
    /// invocations of 1 s each in a month, free tier applied. AWS shows $18.34 + $0.40 =
    /// $18.74 using the rounded price $0.00001667; at the exact list price $0.0000166667 the
    /// duration charge is 1,100,000 × 0.0000166667 = $18.33337.
    #[test]
    fn aws_worked_example_with_free_tier() {
        let u = Usage {
            region: "us-east-1".into(),
            arch: Arch::X86_64,
            month: 202611,
            requests: 3_000_000,
            gb_seconds: gb_seconds(1000.0, 512.0) * 3_000_000.0,
        };
        let c = price_usage(&[u], CostOptions { free_tier: true })[0];
        assert!(close(c.requests_usd, 0.40), "{c:?}");
        assert!(
            close(c.duration_usd, 1_100_000.0 * 0.000_016_666_7),
            "{c:?}"
        );
        assert!((c.total() - 18.73).abs() < 0.01);
    }

    /// Power Tuning's formula: ceil(billed ms) × 2.1e-9 × memory/128 with no request fee.
    /// Its per-ms constant is rounded: 2.1e-9 × 8000 = $0.0000168 per GB-s against the list
    /// $0.0000166667, so it reads 0.8% high on duration, and it leaves out the $0.20/M fee.
    #[test]
    fn power_tuning_comparison() {
        let billed = 250.0;
        let mem = 1024.0;
        let pt = billed * 2.1e-9 * (mem / 128.0);
        let ours_duration = gb_seconds(billed, mem) * 0.000_016_666_7;
        let ratio = pt / ours_duration;
        assert!((ratio - 1.008).abs() < 0.001, "ratio {ratio}");
        let ours = invocation_cost(billed, mem, Arch::X86_64, "us-east-1");
        assert!(close(ours - ours_duration, 0.20 / 1_000_000.0));
    }

    #[test]
    fn tiers_apply_to_the_aggregate_and_split_proportionally() {
        // Two functions together cross the first x86 tier (6B GB-s).
        let a = Usage {
            region: "us-east-1".into(),
            arch: Arch::X86_64,
            month: 202611,
            requests: 0,
            gb_seconds: 4.0e9,
        };
        let b = Usage {
            gb_seconds: 4.0e9,
            ..a.clone()
        };
        let c = price_usage(&[a, b], CostOptions::default());
        let total = 6.0e9 * 0.000_016_666_7 + 2.0e9 * 0.000_015;
        assert!(close(c[0].duration_usd + c[1].duration_usd, total));
        assert!(close(c[0].duration_usd, c[1].duration_usd));
        // arm64 is priced separately, in its own tiers.
        let arm = Usage {
            region: "us-east-1".into(),
            arch: Arch::Arm64,
            month: 202611,
            requests: 1_000_000,
            gb_seconds: 1000.0,
        };
        let c = price_usage(&[arm], CostOptions::default())[0];
        assert!(close(c.duration_usd, 1000.0 * 0.000_013_333_4));
        assert!(close(c.requests_usd, 0.20));
        assert!(c.exact_region);
    }

    #[test]
    fn unknown_region_falls_back_and_says_so() {
        let (p, exact) = price_list("mars-north-1", Arch::Arm64);
        assert!(!exact);
        assert_eq!(p.region, "us-east-1");
        assert_eq!(p.arch, Arch::Arm64);
    }

    #[test]
    fn free_tier_is_off_by_default_and_never_negative() {
        let u = Usage {
            region: "us-east-1".into(),
            arch: Arch::X86_64,
            month: 202611,
            requests: 10,
            gb_seconds: 5.0,
        };
        let paid = price_usage(std::slice::from_ref(&u), CostOptions::default())[0];
        assert!(paid.total() > 0.0);
        let free = price_usage(&[u], CostOptions { free_tier: true })[0];
        assert_eq!(free.total(), 0.0);
    }

    #[test]
    fn monthly_projection() {
        assert!(close(monthly(1.0, 86_400_000), 30.0));
        assert_eq!(monthly(1.0, 0), 0.0);
    }

    /// Duckbill's worked example (reference §6): 60 TB of Lambda logs in a month costs
    /// 10×0.5 + 20×0.25 + 20×0.10 + 10×0.05 = 12.5 per GB-of-a-TB, i.e. $12,500 for decimal
    /// TB; in the binary units we bill by, 12.5 × 1,024 = $12,800 (instead of $30,720 flat).
    #[test]
    fn log_ingestion_tiers() {
        let tb = 1024.0 * LOG_GB;
        assert!(close(log_ingestion_monthly(60.0 * tb), 12_800.0));
        assert!(close(log_ingestion_monthly(LOG_GB), 0.50));
        assert_eq!(log_ingestion_monthly(-5.0), 0.0);
    }

    #[test]
    fn provisioned_concurrency_month() {
        // One 1 GB environment for 30 days: 2,592,000 GB-s × $0.0000041667.
        let c = provisioned_concurrency_monthly(1, 1024.0, Arch::X86_64);
        assert!(close(c, 2_592_000.0 * 0.000_004_166_7));
        assert!(provisioned_concurrency_monthly(1, 1024.0, Arch::Arm64) < c);
    }

    /// One month of 1M requests and 1,000 GB-s in a region, priced alone.
    fn month_in(region: &str, arch: Arch) -> Charge {
        let u = Usage {
            region: region.into(),
            arch,
            month: 202612,
            requests: 1_000_000,
            gb_seconds: 1000.0,
        };
        price_usage(&[u], CostOptions::default())[0]
    }

    /// Hand-computed from the reference's regional table: $/1M requests + 1,000 × $/GB-s.
    #[test]
    fn regions_are_priced_at_their_own_prices() {
        let cases: &[(&str, Arch, f64)] = &[
            ("us-east-1", Arch::X86_64, 0.20 + 0.016_666_7),
            ("us-east-1", Arch::Arm64, 0.20 + 0.013_333_4),
            ("eu-south-1", Arch::X86_64, 0.23 + 0.019_517_2),
            ("eu-south-1", Arch::Arm64, 0.23 + 0.015_613_8),
            // arm64 is not 0.8 × x86_64 in Hong Kong (that would be 0.018336).
            ("ap-east-1", Arch::X86_64, 0.28 + 0.022_92),
            ("ap-east-1", Arch::Arm64, 0.28 + 0.018_3),
            ("af-south-1", Arch::X86_64, 0.27 + 0.022_1),
            ("af-south-1", Arch::Arm64, 0.27 + 0.017_68),
            ("me-south-1", Arch::X86_64, 0.25 + 0.020_666_7),
            ("me-south-1", Arch::Arm64, 0.25 + 0.016_533_4),
            ("us-gov-west-1", Arch::X86_64, 0.20 + 0.016_666_7),
        ];
        for &(region, arch, want) in cases {
            let c = month_in(region, arch);
            assert!(close(c.total(), want), "{region} {arch:?}: {c:?}");
            assert!(c.exact_region, "{region} {arch:?}");
            let (p, known) = price_list(region, arch);
            assert!(known);
            assert_eq!(p.region, region);
        }
        let one = invocation_cost(1000.0, 1024.0, Arch::Arm64, "ap-east-1");
        assert!(close(one, 0.000_018_3 + 0.28 / 1_000_000.0));
    }

    /// No usable US-dollar price: an unverified arm64 price (GovCloud), prices in CNY (China),
    /// a region no source priced (mx-central-1). Each says so and reads us-east-1 prices.
    #[test]
    fn regions_without_a_usable_price_say_so() {
        for (region, arch) in [
            ("us-gov-west-1", Arch::Arm64),
            ("il-central-1", Arch::Arm64),
            ("cn-north-1", Arch::X86_64),
            ("cn-northwest-1", Arch::Arm64),
            ("mx-central-1", Arch::X86_64),
            ("mx-central-1", Arch::Arm64),
        ] {
            let (p, known) = price_list(region, arch);
            assert!(!known, "{region} {arch:?}");
            assert_eq!(p.region, "us-east-1");
            assert_eq!(p.arch, arch);
            assert!(!month_in(region, arch).exact_region);
        }
    }

    #[test]
    fn tiers_apply_at_the_boundaries() {
        let (x86, _) = price_list("eu-south-1", Arch::X86_64);
        // Up to 6B GB-s at the first-tier price, then 10% off (rounded to ten decimals as AWS
        // publishes), then 20% off beyond 15B.
        assert!(close(x86.duration_charge(6.0e9), 6.0e9 * 0.000_019_517_2));
        assert!(close(
            x86.duration_charge(7.0e9),
            6.0e9 * 0.000_019_517_2 + 1.0e9 * 0.000_017_565_5
        ));
        assert!(close(
            x86.duration_charge(16.0e9),
            6.0e9 * 0.000_019_517_2 + 9.0e9 * 0.000_017_565_5 + 1.0e9 * 0.000_015_613_8
        ));
        let (arm, _) = price_list("ap-east-1", Arch::Arm64);
        assert!(close(arm.duration_charge(7.5e9), 137_250.0));
        assert!(close(arm.duration_charge(8.5e9), 137_250.0 + 16_470.0));
        // us-east-1's published tier prices, exactly.
        let (x86, _) = price_list("us-east-1", Arch::X86_64);
        let t: Vec<f64> = x86.tiers.iter().map(|t| t.usd_per_gb_s).collect();
        assert_eq!(t, [0.000_016_666_7, 0.000_015, 0.000_013_333_4]);
        let (arm, _) = price_list("us-east-1", Arch::Arm64);
        let t: Vec<f64> = arm.tiers.iter().map(|t| t.usd_per_gb_s).collect();
        assert_eq!(t, [0.000_013_333_4, 0.000_012_000_1, 0.000_010_666_7]);
        assert_eq!(arm.tiers[0].up_to_gb_s, 7.5e9);
        assert_eq!(arm.tiers[1].up_to_gb_s, 18.75e9);
        assert!(close(
            arm.duration_charge(20.0e9),
            100_000.5 + 135_001.125 + 13_333.375
        ));
    }

    #[test]
    fn regional_side_prices() {
        assert_eq!(
            provisioned_concurrency_price("sa-east-1", Arch::X86_64),
            Some(0.000_006_637_2)
        );
        // The arm64 figure is unverified: shown in the book, never used for a region's bill.
        assert_eq!(
            provisioned_concurrency_price("us-east-1", Arch::Arm64),
            None
        );
        assert_eq!(
            provisioned_concurrency_price("ca-west-1", Arch::X86_64),
            None
        );
        assert_eq!(
            provisioned_concurrency_usd_per_gb_s(Arch::X86_64),
            0.000_004_166_7
        );
        assert_eq!(
            provisioned_concurrency_usd_per_gb_s(Arch::Arm64),
            0.000_003_333_4
        );
        assert_eq!(
            ephemeral_storage_price("eu-central-2"),
            Some(0.000_000_044_1)
        );
        assert_eq!(ephemeral_storage_price("us-east-1"), Some(0.000_000_030_9));
        assert_eq!(ephemeral_storage_price("mx-central-1"), None);
    }

    proptest! {
        /// Cost never decreases when memory or billed duration grows.
        #[test]
        fn cost_is_monotonic(b1 in 0.0f64..900_000.0, db in 0.0f64..10_000.0,
                             m1 in 128.0f64..10_240.0, dm in 0.0f64..1024.0, arm in any::<bool>()) {
            let arch = if arm { Arch::Arm64 } else { Arch::X86_64 };
            let c = invocation_cost(b1, m1, arch, "us-east-1");
            prop_assert!(invocation_cost(b1 + db, m1, arch, "us-east-1") >= c);
            prop_assert!(invocation_cost(b1, m1 + dm, arch, "us-east-1") >= c);
        }

        /// Tiered charges: more usage never costs less, and the marginal price never rises.
        #[test]
        fn tiered_charge_is_monotonic_and_concave(g in 0.0f64..3.0e10, d in 0.0f64..1.0e9) {
            for p in price_lists() {
                let a = p.duration_charge(g);
                let b = p.duration_charge(g + d);
                prop_assert!(b >= a);
                prop_assert!(b - a <= d * p.base_gb_s() * (1.0 + 1e-12) + 1e-9);
            }
        }

        /// Pricing lines together or one by one gives the same total below the first tier.
        #[test]
        fn split_invariance_below_tiers(xs in proptest::collection::vec((0u64..1_000_000, 0.0f64..1.0e6), 1..20)) {
            let usage: Vec<Usage> = xs.iter().map(|(r, g)| Usage {
                region: "us-east-1".into(), arch: Arch::X86_64, month: 202611,
                requests: *r, gb_seconds: *g }).collect();
            let together: f64 = price_usage(&usage, CostOptions::default()).iter().map(Charge::total).sum();
            let apart: f64 = usage.iter().map(|u| price_usage(std::slice::from_ref(u), CostOptions::default())[0].total()).sum();
            prop_assert!((together - apart).abs() <= 1e-9 * together.max(1.0));
        }
    }
}
