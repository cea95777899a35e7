//! Lambda runtime deprecation: a table of runtime identifiers and what is known of their
//! deprecation. A date we have no source for is `None` ("unknown"), never guessed.
//!
//! Sources:
//! - reference/peers-and-pricing.md §4 (lumigo-CLI flags `nodejs8.10` as deprecated);
//! - aws/aws-sam-cli issue #6298: nodejs12.x, nodejs14.x, python3.7, java8 (Amazon Linux 1),
//!   go1.x and ruby2.7 are "no longer supported by AWS Lambda" (dates not given there);
//! - terraform-linters/tflint-ruleset-aws PR #969 (citing the AWS Lambda runtimes page):
//!   nodejs18.x deprecated 2025-09-01, python3.9 deprecated 2025-12-15;
//! - endoflife.date/aws-lambda (from the AWS Lambda runtimes page): deprecation dates of
//!   current runtimes.
//!
//! A runtime not in the table gives no insight.

use crate::time::days_from_civil;

/// What is known about one runtime's deprecation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeEntry {
    /// The runtime identifier as ListFunctions gives it (`python3.9`).
    pub id: &'static str,
    /// Deprecated already (known even when the date is not).
    pub deprecated: bool,
    /// The deprecation date (year, month, day), when a source gives it.
    pub date: Option<(i32, u32, u32)>,
    pub source: &'static str,
}

const SAM: &str = "aws/aws-sam-cli#6298";
const TFLINT: &str = "tflint-ruleset-aws#969 (AWS Lambda runtimes page)";
const EOL: &str = "endoflife.date/aws-lambda (AWS Lambda runtimes page)";

pub static RUNTIMES: &[RuntimeEntry] = &[
    RuntimeEntry {
        id: "nodejs8.10",
        deprecated: true,
        date: None,
        source: "reference/peers-and-pricing.md §4 (lumigo-CLI)",
    },
    RuntimeEntry {
        id: "nodejs12.x",
        deprecated: true,
        date: None,
        source: SAM,
    },
    RuntimeEntry {
        id: "nodejs14.x",
        deprecated: true,
        date: None,
        source: SAM,
    },
    RuntimeEntry {
        id: "python3.7",
        deprecated: true,
        date: None,
        source: SAM,
    },
    RuntimeEntry {
        id: "java8",
        deprecated: true,
        date: None,
        source: SAM,
    },
    RuntimeEntry {
        id: "go1.x",
        deprecated: true,
        date: None,
        source: SAM,
    },
    RuntimeEntry {
        id: "ruby2.7",
        deprecated: true,
        date: None,
        source: SAM,
    },
    RuntimeEntry {
        id: "nodejs18.x",
        deprecated: true,
        date: Some((2025, 9, 1)),
        source: TFLINT,
    },
    RuntimeEntry {
        id: "python3.9",
        deprecated: true,
        date: Some((2025, 12, 15)),
        source: TFLINT,
    },
    RuntimeEntry {
        id: "nodejs22.x",
        deprecated: false,
        date: Some((2027, 4, 30)),
        source: EOL,
    },
    RuntimeEntry {
        id: "nodejs24.x",
        deprecated: false,
        date: Some((2028, 4, 30)),
        source: EOL,
    },
    RuntimeEntry {
        id: "python3.13",
        deprecated: false,
        date: Some((2029, 6, 30)),
        source: EOL,
    },
    RuntimeEntry {
        id: "python3.14",
        deprecated: false,
        date: Some((2029, 6, 30)),
        source: EOL,
    },
    RuntimeEntry {
        id: "java25",
        deprecated: false,
        date: Some((2029, 6, 30)),
        source: EOL,
    },
    RuntimeEntry {
        id: "ruby3.4",
        deprecated: false,
        date: Some((2028, 3, 31)),
        source: EOL,
    },
    RuntimeEntry {
        id: "dotnet10",
        deprecated: false,
        date: Some((2028, 11, 14)),
        source: EOL,
    },
];

impl RuntimeEntry {
    /// The deprecation date as epoch ms (midnight UTC).
    pub fn date_ms(&self) -> Option<i64> {
        self.date
            .map(|(y, m, d)| days_from_civil(i64::from(y), m, d) * 86_400_000)
    }

    /// `YYYY-MM-DD`, or `unknown`.
    pub fn date_str(&self) -> String {
        self.date.map_or_else(
            || "unknown".to_string(),
            |(y, m, d)| format!("{y:04}-{m:02}-{d:02}"),
        )
    }
}

pub fn lookup(id: &str) -> Option<&'static RuntimeEntry> {
    RUNTIMES.iter().find(|r| r.id == id)
}

/// The runtime identifier from an INIT_START runtime version (`python:3.12.mainline.v14` →
/// `python3.12`, `nodejs:22.mainline.v98` → `nodejs22.x`, `java:21.v27` → `java21`). `None`
/// for shapes we do not know.
pub fn id_from_runtime_version(v: &str) -> Option<String> {
    let (family, rest) = v.split_once(':')?;
    let mut parts = rest.split('.');
    let major = parts
        .next()
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()))?;
    if major.is_empty() {
        return None;
    }
    let minor = parts
        .next()
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()));
    Some(match family {
        "python" => format!("python{major}.{}", minor?),
        "nodejs" => format!("nodejs{major}.x"),
        "java" => format!("java{major}"),
        "dotnet" => format!("dotnet{major}"),
        "ruby" => format!("ruby{major}.{}", minor?),
        _ => return None,
    })
}

/// Runtime families where Lambda offers SnapStart (Java, Python, .NET managed runtimes).
pub fn snapstart_family(id: &str) -> bool {
    id.starts_with("java") || id.starts_with("python") || id.starts_with("dotnet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_ids_from_init_start_versions() {
        let id = |v| id_from_runtime_version(v);
        assert_eq!(
            id("python:3.12.mainlinev2.v14").as_deref(),
            Some("python3.12")
        );
        assert_eq!(id("nodejs:22.mainline.v98").as_deref(), Some("nodejs22.x"));
        assert_eq!(id("java:21.v27").as_deref(), Some("java21"));
        assert_eq!(id("python:3.14.v38").as_deref(), Some("python3.14"));
        assert_eq!(id("provided:al2023.v1"), None);
        assert_eq!(id("garbage"), None);
    }

    #[test]
    fn table_dates() {
        let p39 = lookup("python3.9").map(RuntimeEntry::date_str);
        assert_eq!(p39.as_deref(), Some("2025-12-15"));
        assert_eq!(
            lookup("go1.x").map(RuntimeEntry::date_str).as_deref(),
            Some("unknown")
        );
        assert!(lookup("python3.12").is_none());
        // Ids are unique.
        for (i, a) in RUNTIMES.iter().enumerate() {
            assert!(RUNTIMES[i + 1..].iter().all(|b| b.id != a.id), "{}", a.id);
        }
    }
}
