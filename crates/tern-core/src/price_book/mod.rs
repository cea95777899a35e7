//! The price book: AWS Lambda list prices for every region, one row per region, item and
//! architecture, each with its unit, currency, confidence, source and date.
//!
//! The rows live in `prices.csv`, embedded at build time and parsed once. A malformed row is
//! a bug in that file (the tests parse it completely); at run time the loader never panics,
//! and a book that failed to parse is empty, so every region reads as unknown.

use std::fmt;
use std::sync::OnceLock;

use crate::model::Arch;

/// The embedded price table.
pub const PRICES_CSV: &str = include_str!("prices.csv");

const HEADER: &str = "region,item,arch,unit,price,up_to,currency,confidence,source,date";

/// What a row prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    /// On-demand duration, per GB-second (first volume tier).
    Duration,
    /// Per million requests.
    Requests,
    /// Configured provisioned concurrency, per GB-second it is configured.
    ProvisionedConcurrency,
    /// Duration of invocations that run on provisioned concurrency, per GB-second.
    ProvisionedDuration,
    /// Ephemeral storage above the free 512 MB, per GB-second.
    EphemeralStorage,
    /// SnapStart snapshot cache, per GB-second.
    SnapstartCache,
    /// SnapStart restore, per GB restored.
    SnapstartRestore,
    /// CloudWatch Logs ingestion of Lambda logs, Standard class, per GB.
    LogIngestionStandard,
    /// CloudWatch Logs ingestion of Lambda logs, Infrequent Access class, per GB.
    LogIngestionInfrequent,
    /// Lambda logs delivered straight to S3 or Data Firehose, per GB.
    LogDeliveryS3Firehose,
}

impl Item {
    pub const ALL: [Item; 10] = [
        Item::Duration,
        Item::Requests,
        Item::ProvisionedConcurrency,
        Item::ProvisionedDuration,
        Item::EphemeralStorage,
        Item::SnapstartCache,
        Item::SnapstartRestore,
        Item::LogIngestionStandard,
        Item::LogIngestionInfrequent,
        Item::LogDeliveryS3Firehose,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Item::Duration => "duration",
            Item::Requests => "requests",
            Item::ProvisionedConcurrency => "provisioned_concurrency",
            Item::ProvisionedDuration => "provisioned_duration",
            Item::EphemeralStorage => "ephemeral_storage",
            Item::SnapstartCache => "snapstart_cache",
            Item::SnapstartRestore => "snapstart_restore",
            Item::LogIngestionStandard => "log_ingestion_standard",
            Item::LogIngestionInfrequent => "log_ingestion_infrequent",
            Item::LogDeliveryS3Firehose => "log_delivery_s3_firehose",
        }
    }

    fn parse(s: &str) -> Option<Item> {
        Item::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

/// How far a row's figure can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    /// AWS's own figures, agreed on by the sources.
    Published,
    /// Found in one source only.
    OneSource,
    /// Found only in sources a few years old.
    OlderSources,
    /// Computed from a worked example rather than read from a table.
    Derived,
    /// A figure was seen but not confirmed (the price may be empty); never used to price.
    Unverified,
    /// No source gave a price.
    NotFound,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Published => "published",
            Confidence::OneSource => "one-source",
            Confidence::OlderSources => "older-sources",
            Confidence::Derived => "derived",
            Confidence::Unverified => "unverified",
            Confidence::NotFound => "not-found",
        }
    }

    fn parse(s: &str) -> Option<Confidence> {
        [
            Confidence::Published,
            Confidence::OneSource,
            Confidence::OlderSources,
            Confidence::Derived,
            Confidence::Unverified,
            Confidence::NotFound,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// Whether a bill may be priced with a row of this confidence.
    pub fn usable(self) -> bool {
        !matches!(self, Confidence::Unverified | Confidence::NotFound)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    Usd,
    /// Chinese yuan: the China regions bill in CNY, so their prices cannot join a USD total.
    Cny,
}

impl Currency {
    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Cny => "CNY",
        }
    }
}

/// One row of the book.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceRow {
    pub region: String,
    pub item: Item,
    /// `None`: the same price for both architectures.
    pub arch: Option<Arch>,
    pub unit: String,
    pub price: Option<f64>,
    /// The row is one band of a monthly volume tier that ends at this many units.
    pub up_to: Option<f64>,
    pub currency: Option<Currency>,
    pub confidence: Confidence,
    pub source: String,
    /// `YYYY-MM`, when the figure was gathered.
    pub date: String,
}

impl PriceRow {
    pub fn arch_str(&self) -> &'static str {
        self.arch.map_or("any", Arch::as_str)
    }

    /// The price in US dollars, when it may be used to price a bill.
    pub fn usable_usd(&self) -> Option<f64> {
        if self.confidence.usable() && self.currency == Some(Currency::Usd) {
            self.price
        } else {
            None
        }
    }
}

/// Why the embedded table did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookError {
    /// 1-based line in the table.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prices.csv line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for BookError {}

/// The parsed price table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceBook {
    rows: Vec<PriceRow>,
}

impl PriceBook {
    /// Parse a table: `#` lines are comments, then the header, then one row per line.
    pub fn parse(text: &str) -> Result<PriceBook, BookError> {
        let mut rows: Vec<PriceRow> = Vec::new();
        let mut header_seen = false;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |reason: String| BookError { line, reason };
            if raw.trim().is_empty() || raw.starts_with('#') {
                continue;
            }
            if !header_seen {
                if raw != HEADER {
                    return Err(err(format!("expected the header {HEADER:?}")));
                }
                header_seen = true;
                continue;
            }
            let row = parse_row(raw).map_err(err)?;
            let same = |r: &PriceRow| {
                r.region == row.region
                    && r.item == row.item
                    && r.arch == row.arch
                    && r.up_to == row.up_to
            };
            if rows.iter().any(same) {
                return Err(err(
                    "a second row for the same region, item, arch and band".into()
                ));
            }
            rows.push(row);
        }
        if !header_seen {
            return Err(BookError {
                line: 1,
                reason: "no header".into(),
            });
        }
        Ok(PriceBook { rows })
    }

    pub fn rows(&self) -> &[PriceRow] {
        &self.rows
    }

    /// The latest date any row was gathered on.
    pub fn date(&self) -> &str {
        self.rows
            .iter()
            .map(|r| r.date.as_str())
            .max()
            .unwrap_or("")
    }

    /// Every region in the book, in the table's order.
    pub fn regions(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !out.contains(&r.region.as_str()) {
                out.push(&r.region);
            }
        }
        out
    }

    pub fn has_region(&self, region: &str) -> bool {
        self.rows.iter().any(|r| r.region == region)
    }

    /// The rows for one region, item and architecture (rows for "any" architecture included),
    /// tier bands in ascending order.
    pub fn find(&self, region: &str, item: Item, arch: Arch) -> Vec<&PriceRow> {
        self.rows
            .iter()
            .filter(|r| r.region == region && r.item == item && r.arch.is_none_or(|a| a == arch))
            .collect()
    }

    /// The usable US-dollar price of an untiered item, if the book has one.
    pub fn usd(&self, region: &str, item: Item, arch: Arch) -> Option<f64> {
        match self.find(region, item, arch).as_slice() {
            [one] if one.up_to.is_none() => one.usable_usd(),
            _ => None,
        }
    }
}

fn parse_row(raw: &str) -> Result<PriceRow, String> {
    let f: Vec<&str> = raw.split(',').collect();
    let [region, item, arch, unit, price, up_to, currency, confidence, source, date] = f[..] else {
        return Err(format!("{} fields, expected 10", f.len()));
    };
    let nonempty = |name: &str, v: &str| -> Result<String, String> {
        if v.trim().is_empty() || v.trim() != v {
            Err(format!("{name} is empty or has spaces around it"))
        } else {
            Ok(v.to_string())
        }
    };
    let item = Item::parse(item).ok_or_else(|| format!("unknown item {item:?}"))?;
    let arch = match arch {
        "any" => None,
        "x86_64" => Some(Arch::X86_64),
        "arm64" => Some(Arch::Arm64),
        other => return Err(format!("unknown arch {other:?}")),
    };
    let number = |name: &str, v: &str| -> Result<Option<f64>, String> {
        if v.is_empty() {
            return Ok(None);
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(format!("{name} {v:?} is not a non-negative number")),
        }
    };
    let price = number("price", price)?;
    let up_to = number("up_to", up_to)?;
    let currency = match currency {
        "" => None,
        "USD" => Some(Currency::Usd),
        "CNY" => Some(Currency::Cny),
        other => return Err(format!("unknown currency {other:?}")),
    };
    let confidence = Confidence::parse(confidence)
        .ok_or_else(|| format!("unknown confidence {confidence:?}"))?;
    if confidence.usable() && (price.is_none() || currency.is_none()) {
        return Err(format!(
            "a {} row needs a price and a currency",
            confidence.as_str()
        ));
    }
    if price.is_some() && currency.is_none() {
        return Err("a price without a currency".into());
    }
    let d = date.as_bytes();
    let date_ok = d.len() == 7
        && d[4] == b'-'
        && d.iter()
            .enumerate()
            .all(|(i, b)| i == 4 || b.is_ascii_digit());
    if !date_ok {
        return Err(format!("date {date:?} is not YYYY-MM"));
    }
    Ok(PriceRow {
        region: nonempty("region", region)?,
        item,
        arch,
        unit: nonempty("unit", unit)?,
        price,
        up_to,
        currency,
        confidence,
        source: nonempty("source", source)?,
        date: date.to_string(),
    })
}

/// The embedded book, parsed on first use.
pub fn book() -> &'static PriceBook {
    static BOOK: OnceLock<PriceBook> = OnceLock::new();
    BOOK.get_or_init(|| PriceBook::parse(PRICES_CSV).unwrap_or_default())
}

#[cfg(test)]
mod tests;
