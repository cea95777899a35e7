//! `tern insights`: the report's insights, filtered by rule and severity.

use anyhow::Result;
use tern_core::cost::CostOptions;
use tern_core::insights::Insight;

use crate::cli::{InsightsArgs, InsightsFormat};
use crate::insights::{table, to_json, Filter};
use crate::{report, timeutil};

/// `tern insights`.
pub fn run(args: InsightsArgs) -> Result<String> {
    let now = timeutil::now_ms();
    let range = args.range.resolve(now)?;
    let filter = Filter::parse(&args.rule, args.min_severity.as_deref())?;
    let glob = report::function_matcher(args.function.as_deref())?;
    let opts = report::Options {
        cost: CostOptions::default(),
        insights: crate::config::load_insights(args.db.config.as_deref())?,
        recommend: crate::config::load_recommend(args.db.config.as_deref())?,
        changes: false,
    };
    let store = crate::ingest::open_store_read(&args.db.backend()?)?;
    crate::views::selection::matching(&store, args.function.as_deref())?;
    let empty = crate::views::selection::empty_range_note(&store, range, now)?;
    if let Some(note) = &empty {
        eprintln!("note: {note}");
    }
    let functions = report::select_functions(&store, glob.as_ref())?;
    let rep = report::build_at(&store, &functions, range, &opts, now)?;
    let shown: Vec<&Insight> = rep.insights.iter().filter(|i| filter.keep(i)).collect();
    match args.format {
        InsightsFormat::Json => to_json(range, &shown, None),
        InsightsFormat::Table => {
            if shown.is_empty() {
                // With no data in the range, "nothing crossed a threshold" would read as
                // all clear.
                return Ok(if empty.is_some() {
                    "No insights: no data in this range (see the note above).\n".into()
                } else {
                    "No insights: nothing crossed a threshold.\n".into()
                });
            }
            let mut out = format!(
                "{} insight(s); dollar figures per 30-day month at the observed rate\n\n",
                shown.len()
            );
            out.push_str(&table(&shown, usize::MAX));
            out.push_str("\nEach insight's evidence and suggestion: --format json\n");
            Ok(out)
        }
    }
}
