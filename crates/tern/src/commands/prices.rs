//! `tern prices`: the price book the cost figures come from, with each price's confidence.

use serde::Serialize;
use tern_core::cost;
use tern_core::model::Arch;
use tern_core::price_book::{self, PriceBook, PriceRow};

use crate::cli::{PricesArgs, TableOrJson};
use crate::text;

pub fn run(args: PricesArgs) -> anyhow::Result<String> {
    render(price_book::book(), args.region.as_deref(), args.format)
}

fn render(book: &PriceBook, region: Option<&str>, format: TableOrJson) -> anyhow::Result<String> {
    if let Some(r) = region {
        if !book.has_region(r) {
            let known = book.regions();
            anyhow::bail!(
                "no prices for region {:?}{}; the price book knows: {}",
                text::printable(r),
                text::did_you_mean(r, known.iter().copied()),
                known.join(", ")
            );
        }
    }
    let rows: Vec<&PriceRow> = book
        .rows()
        .iter()
        .filter(|row| region.is_none_or(|r| row.region == r))
        .collect();
    Ok(match format {
        TableOrJson::Table => table(book.date(), &rows),
        TableOrJson::Json => json(book.date(), &rows)?,
    })
}

/// "up to 10240 GB", "10240 to 30720 GB", "over 51200 GB" for a monthly tier band; "" for an
/// untiered row.
fn band(rows: &[&PriceRow], i: usize) -> String {
    let row = rows[i];
    let prev = i
        .checked_sub(1)
        .map(|j| rows[j])
        .filter(|p| p.region == row.region && p.item == row.item && p.arch == row.arch)
        .and_then(|p| p.up_to);
    // The unit of volume: "GB" in "USD/GB".
    let per = row.unit.rsplit('/').next().unwrap_or("");
    match (prev, row.up_to) {
        (None, None) => String::new(),
        (None, Some(hi)) => format!("up to {hi} {per}"),
        (Some(lo), Some(hi)) => format!("{lo} to {hi} {per}"),
        (Some(lo), None) => format!("over {lo} {per}"),
    }
}

fn table(date: &str, rows: &[&PriceRow]) -> String {
    let head = [
        "REGION",
        "ITEM",
        "ARCH",
        "PRICE",
        "UNIT",
        "BAND",
        "CONFIDENCE",
    ];
    let cells: Vec<[String; 7]> = (0..rows.len())
        .map(|i| {
            let r = rows[i];
            [
                r.region.clone(),
                r.item.as_str().to_string(),
                r.arch_str().to_string(),
                r.price.map_or_else(|| "-".to_string(), |p| p.to_string()),
                r.unit.clone(),
                band(rows, i),
                r.confidence.as_str().to_string(),
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(width)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = format!("AWS Lambda list prices, gathered {date}\n\n");
    out.push_str(&line(&head.map(String::from)));
    out.push('\n');
    for c in &cells {
        out.push_str(&line(c));
        out.push('\n');
    }
    let [x1, x2] = cost::tier_bounds(Arch::X86_64);
    let [a1, a2] = cost::tier_bounds(Arch::Arm64);
    out.push_str(&format!(
        "\nDuration is the first tier; every region takes 10% off beyond {} billion GB-s a \
         month\n({} billion for arm64) and 20% off beyond {} billion ({} billion).\n\
         Prices marked unverified or not-found, and prices in CNY, are not used for cost \
         figures:\nthose are priced at us-east-1 prices, and reports say so. Sources: \
         --format json.\n",
        x1 / 1e9,
        a1 / 1e9,
        x2 / 1e9,
        a2 / 1e9
    ));
    out
}

#[derive(Serialize)]
struct JsonBook<'a> {
    date: &'a str,
    duration_tiers: Vec<JsonTiers>,
    rows: Vec<JsonRow<'a>>,
}

/// Where each architecture's duration discounts start, in GB-seconds a month.
#[derive(Serialize)]
struct JsonTiers {
    arch: &'static str,
    ten_percent_off_over_gb_s: f64,
    twenty_percent_off_over_gb_s: f64,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    region: &'a str,
    item: &'static str,
    arch: &'static str,
    unit: &'a str,
    price: Option<f64>,
    up_to: Option<f64>,
    currency: Option<&'static str>,
    confidence: &'static str,
    /// Whether cost figures use this price.
    used_for_costs: bool,
    source: &'a str,
    date: &'a str,
}

fn json(date: &str, rows: &[&PriceRow]) -> anyhow::Result<String> {
    let book = JsonBook {
        date,
        duration_tiers: [Arch::X86_64, Arch::Arm64]
            .into_iter()
            .map(|a| {
                let [t1, t2] = cost::tier_bounds(a);
                JsonTiers {
                    arch: a.as_str(),
                    ten_percent_off_over_gb_s: t1,
                    twenty_percent_off_over_gb_s: t2,
                }
            })
            .collect(),
        rows: rows
            .iter()
            .map(|r| JsonRow {
                region: &r.region,
                item: r.item.as_str(),
                arch: r.arch_str(),
                unit: &r.unit,
                price: r.price,
                up_to: r.up_to,
                currency: r.currency.map(|c| c.as_str()),
                confidence: r.confidence.as_str(),
                used_for_costs: r.usable_usd().is_some(),
                source: &r.source,
                date: &r.date,
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&book)?;
    s.push('\n');
    Ok(s)
}
