#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

/// One expected figure, hand-copied from the pricing reference's tables: region, item, arch
/// ("any" for both), price ("" when none), up_to ("" for no band end), currency, confidence.
type Want = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const STD: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
];

/// Duration (x86_64, arm64) and requests per region, with the confidence of each.
const INVOCATION: &[(&str, &str, &str, &str, &str, &str)] = &[
    // region, x86 GB-s, arm GB-s, per 1M requests, confidence, arm confidence
    (
        "ca-west-1",
        "0.0000166667",
        "",
        "0.20",
        "one-source",
        "unverified",
    ),
    (
        "eu-south-2",
        "0.0000166667",
        "",
        "0.20",
        "one-source",
        "unverified",
    ),
    (
        "ap-south-2",
        "0.0000166667",
        "",
        "0.20",
        "one-source",
        "unverified",
    ),
    (
        "eu-south-1",
        "0.0000195172",
        "0.0000156138",
        "0.23",
        "published",
        "published",
    ),
    (
        "eu-central-2",
        "0.0000183334",
        "0.0000146667",
        "0.22",
        "published",
        "published",
    ),
    (
        "af-south-1",
        "0.0000221",
        "0.00001768",
        "0.27",
        "published",
        "published",
    ),
    (
        "ap-east-1",
        "0.00002292",
        "0.0000183",
        "0.28",
        "published",
        "published",
    ),
    (
        "me-south-1",
        "0.0000206667",
        "0.0000165334",
        "0.25",
        "published",
        "published",
    ),
    (
        "me-central-1",
        "0.0000206667",
        "0.0000165334",
        "0.25",
        "published",
        "published",
    ),
    (
        "il-central-1",
        "0.0000175",
        "",
        "0.21",
        "one-source",
        "unverified",
    ),
    (
        "ap-southeast-5",
        "0.000015",
        "0.000012",
        "0.18",
        "one-source",
        "one-source",
    ),
    (
        "us-gov-west-1",
        "0.0000166667",
        "",
        "0.20",
        "older-sources",
        "unverified",
    ),
    (
        "us-gov-east-1",
        "0.0000166667",
        "",
        "0.20",
        "older-sources",
        "unverified",
    ),
];

/// Provisioned concurrency, x86_64: configured and duration prices per GB-s.
const PROVISIONED: &[(&str, &str, &str)] = &[
    ("us-east-1", "0.0000041667", "0.0000097222"),
    ("us-east-2", "0.0000041667", "0.0000097222"),
    ("us-west-2", "0.0000041667", "0.0000097222"),
    ("us-west-1", "0.0000049041", "0.000011443"),
    ("af-south-1", "0.00000553", "0.0000129"),
    ("ap-east-1", "0.0000057153", "0.0000133358"),
    ("ap-south-1", "0.0000044985", "0.0000104966"),
    ("ap-northeast-1", "0.0000053835", "0.0000125615"),
    ("ap-northeast-3", "0.0000053835", "0.0000125615"),
    ("ap-northeast-2", "0.0000051254", "0.0000119592"),
    ("ap-southeast-1", "0.0000051991", "0.0000121313"),
    ("ap-southeast-2", "0.000005236", "0.0000122173"),
    ("ap-southeast-4", "0.000005236", "0.0000122173"),
    ("ap-southeast-5", "0.0000046791", "0.0000109181"),
    ("ca-central-1", "0.000004646", "0.0000108407"),
    ("eu-west-1", "0.000004646", "0.0000108407"),
    ("eu-central-1", "0.0000050147", "0.0000117011"),
    ("eu-central-2", "0.0000055162", "0.0000128712"),
    ("eu-west-2", "0.0000048304", "0.0000112709"),
    ("eu-west-3", "0.0000048673", "0.0000113569"),
    ("eu-south-1", "0.0000048783", "0.0000113827"),
    ("eu-north-1", "0.0000044248", "0.0000103245"),
    ("me-south-1", "0.0000051108", "0.0000119251"),
    ("me-central-1", "0.0000051108", "0.0000119251"),
    ("sa-east-1", "0.0000066372", "0.0000154867"),
];

/// Ephemeral storage above 512 MB, per GB-s.
const EPHEMERAL: &[(&str, &str)] = &[
    ("us-east-1", "0.0000000309"),
    ("us-east-2", "0.0000000309"),
    ("us-west-2", "0.0000000309"),
    ("us-west-1", "0.000000037"),
    ("ap-southeast-1", "0.000000037"),
    ("ap-southeast-2", "0.000000037"),
    ("ap-southeast-3", "0.000000037"),
    ("ap-southeast-4", "0.000000037"),
    ("ap-northeast-1", "0.000000037"),
    ("ap-northeast-3", "0.000000037"),
    ("ap-south-1", "0.0000000352"),
    ("ap-northeast-2", "0.0000000352"),
    ("ap-south-2", "0.0000000352"),
    ("ca-central-1", "0.000000034"),
    ("eu-west-1", "0.000000034"),
    ("ca-west-1", "0.000000034"),
    ("eu-south-2", "0.000000034"),
    ("eu-central-1", "0.0000000367"),
    ("eu-west-2", "0.0000000358"),
    ("eu-west-3", "0.0000000358"),
    ("eu-south-1", "0.0000000357"),
    ("eu-north-1", "0.0000000323"),
    ("eu-central-2", "0.0000000441"),
    ("af-south-1", "0.0000000404"),
    ("ap-east-1", "0.0000000407"),
    ("me-south-1", "0.0000000374"),
    ("me-central-1", "0.0000000374"),
    ("il-central-1", "0.0000000408"),
    ("sa-east-1", "0.0000000586"),
    ("ap-southeast-5", "0.0000000333"),
];

/// Everything the reference gives, as rows.
fn expected() -> Vec<Want> {
    let mut w: Vec<Want> = Vec::new();
    for r in STD {
        w.push((
            r,
            "duration",
            "x86_64",
            "0.0000166667",
            "",
            "USD",
            "published",
        ));
        w.push((
            r,
            "duration",
            "arm64",
            "0.0000133334",
            "",
            "USD",
            "published",
        ));
        w.push((r, "requests", "any", "0.20", "", "USD", "published"));
    }
    for &(r, x86, arm, req, conf, arm_conf) in INVOCATION {
        w.push((r, "duration", "x86_64", x86, "", "USD", conf));
        w.push((r, "duration", "arm64", arm, "", "USD", arm_conf));
        w.push((r, "requests", "any", req, "", "USD", conf));
    }
    for &(r, pc, pd) in PROVISIONED {
        w.push((
            r,
            "provisioned_concurrency",
            "x86_64",
            pc,
            "",
            "USD",
            "one-source",
        ));
        w.push((
            r,
            "provisioned_duration",
            "x86_64",
            pd,
            "",
            "USD",
            "one-source",
        ));
    }
    for r in ["us-east-1", "us-east-2", "us-west-2"] {
        w.push((
            r,
            "provisioned_concurrency",
            "arm64",
            "0.0000033334",
            "",
            "USD",
            "unverified",
        ));
        w.push((
            r,
            "provisioned_duration",
            "arm64",
            "0.0000077778",
            "",
            "USD",
            "unverified",
        ));
    }
    for &(r, p) in EPHEMERAL {
        w.push((r, "ephemeral_storage", "any", p, "", "USD", "one-source"));
    }
    let e1 = "us-east-1";
    w.push((
        e1,
        "snapstart_cache",
        "any",
        "0.0000015046",
        "",
        "USD",
        "one-source",
    ));
    w.push((
        e1,
        "snapstart_restore",
        "any",
        "0.0001397998",
        "",
        "USD",
        "one-source",
    ));
    for (p, up) in [
        ("0.50", "10240"),
        ("0.25", "30720"),
        ("0.10", "51200"),
        ("0.05", ""),
    ] {
        w.push((e1, "log_ingestion_standard", "any", p, up, "USD", "derived"));
    }
    for item in ["log_ingestion_infrequent", "log_delivery_s3_firehose"] {
        for (p, up) in [
            ("0.25", "10240"),
            ("0.15", "30720"),
            ("0.075", "51200"),
            ("0.05", ""),
        ] {
            w.push((e1, item, "any", p, up, "USD", "one-source"));
        }
    }
    for (r, x86) in [("cn-north-1", "0.0001136"), ("cn-northwest-1", "0.0001135")] {
        w.push((r, "duration", "x86_64", x86, "", "CNY", "one-source"));
        w.push((r, "duration", "arm64", "0.0000908", "", "CNY", "one-source"));
        w.push((r, "requests", "any", "1.36", "", "CNY", "one-source"));
    }
    for r in [
        "mx-central-1",
        "ap-east-2",
        "ap-southeast-6",
        "ap-southeast-7",
    ] {
        w.push((r, "duration", "any", "", "", "", "not-found"));
    }
    w
}

fn num(s: &str) -> Option<f64> {
    (!s.is_empty()).then(|| s.parse().unwrap())
}

#[test]
fn the_embedded_book_parses_completely() {
    let parsed = PriceBook::parse(PRICES_CSV).expect("prices.csv parses");
    let data_lines = PRICES_CSV
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    assert_eq!(
        parsed.rows().len(),
        data_lines - 1,
        "every line after the header is a row"
    );
    assert_eq!(book().rows().len(), parsed.rows().len());
    assert_eq!(parsed.date(), "2026-12");
    assert_eq!(parsed.regions().len(), 38);
}

#[test]
fn every_row_matches_its_source_figure() {
    let book = book();
    let want = expected();
    assert_eq!(book.rows().len(), want.len(), "one row per expected figure");
    for &(region, item, arch, price, up_to, currency, confidence) in &want {
        let row = book
            .rows()
            .iter()
            .find(|r| {
                r.region == region
                    && r.item.as_str() == item
                    && r.arch_str() == arch
                    && r.up_to == num(up_to)
            })
            .unwrap_or_else(|| panic!("no row {region} {item} {arch} {up_to}"));
        assert_eq!(row.price, num(price), "{region} {item} {arch}");
        assert_eq!(
            row.currency.map_or("", Currency::as_str),
            currency,
            "{region} {item}"
        );
        assert_eq!(
            row.confidence.as_str(),
            confidence,
            "{region} {item} {arch}"
        );
        assert_eq!(row.date, "2026-12");
        assert!(!row.source.is_empty());
    }
}

#[test]
fn unverified_and_missing_prices_are_never_usable() {
    let book = book();
    for r in book.rows() {
        if matches!(r.confidence, Confidence::Unverified | Confidence::NotFound) {
            assert_eq!(r.usable_usd(), None, "{r:?}");
        }
        if r.currency == Some(Currency::Cny) {
            assert_eq!(r.usable_usd(), None, "{r:?}");
        }
    }
    assert_eq!(book.usd("il-central-1", Item::Duration, Arch::Arm64), None);
    assert_eq!(
        book.usd("il-central-1", Item::Duration, Arch::X86_64),
        Some(0.0000175)
    );
    assert_eq!(book.usd("cn-north-1", Item::Duration, Arch::X86_64), None);
    assert_eq!(book.usd("mx-central-1", Item::Duration, Arch::X86_64), None);
    assert!(book.has_region("mx-central-1"));
    assert!(!book.has_region("mars-north-1"));
}

#[test]
fn malformed_rows_are_errors_with_their_line() {
    let head = format!("# comment\n{HEADER}\n");
    let ok = "us-east-1,requests,any,USD/1M requests,0.20,,USD,published,src,2026-12";
    assert!(PriceBook::parse(&format!("{head}{ok}\n")).is_ok());
    let cases = [
        "us-east-1,requests,any,USD/1M requests,0.20,,USD,published,src",
        "us-east-1,fees,any,USD/1M requests,0.20,,USD,published,src,2026-12",
        "us-east-1,requests,riscv,USD/1M requests,0.20,,USD,published,src,2026-12",
        "us-east-1,requests,any,USD/1M requests,abc,,USD,published,src,2026-12",
        "us-east-1,requests,any,USD/1M requests,-1,,USD,published,src,2026-12",
        "us-east-1,requests,any,USD/1M requests,0.20,,EUR,published,src,2026-12",
        "us-east-1,requests,any,USD/1M requests,0.20,,USD,sure,src,2026-12",
        "us-east-1,requests,any,USD/1M requests,,,USD,published,src,2026-12",
        "us-east-1,requests,any,USD/1M requests,0.20,,USD,published,src,Dec 2026",
        "us-east-1,requests,any,USD/1M requests,0.20,,USD,published,,2026-12",
    ];
    for bad in cases {
        let e = PriceBook::parse(&format!("{head}{bad}\n")).unwrap_err();
        assert_eq!(e.line, 3, "{bad}: {e}");
    }
    let dup = PriceBook::parse(&format!("{head}{ok}\n{ok}\n")).unwrap_err();
    assert_eq!(dup.line, 4);
    assert!(PriceBook::parse("region,item\n").is_err());
    assert!(PriceBook::parse("").is_err());
}
