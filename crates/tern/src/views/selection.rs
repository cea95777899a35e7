//! Which stored functions a `--function PATTERN` names: one rule for every read command.

use anyhow::{bail, Context, Result};
use globset::Glob;
use tern_store::{Store, TimeRange};

use crate::text::{did_you_mean, printable};

/// The stored functions `pattern` (a glob, or a plain name) matches, sorted; `None` when no
/// pattern was given (every function). A pattern that matches nothing is an error naming the
/// closest stored names, so a typo never reads as "no data".
pub fn matching(store: &dyn Store, pattern: Option<&str>) -> Result<Option<Vec<String>>> {
    let Some(p) = pattern else {
        return Ok(None);
    };
    let glob = Glob::new(p)
        .with_context(|| format!("--function {p:?} is not a valid glob"))?
        .compile_matcher();
    let names: Vec<String> = store.functions()?.into_iter().map(|m| m.function).collect();
    let found: Vec<String> = names.iter().filter(|n| glob.is_match(n)).cloned().collect();
    if found.is_empty() {
        if names.is_empty() {
            bail!(
                "no stored function matches --function {:?}: the database has no functions yet",
                printable(p)
            );
        }
        // The pattern's literal part is what the user meant to type.
        let literal: String = p
            .chars()
            .filter(|c| !matches!(c, '*' | '?' | '[' | ']'))
            .collect();
        bail!(
            "no stored function matches --function {:?}{}",
            printable(p),
            did_you_mean(&literal, names.iter().map(String::as_str))
        );
    }
    Ok(Some(found))
}

/// When `range` holds no stored data at all: where the data is, and the flag that reaches it
/// (a range before or after everything stored must never read as "all clear").
pub fn empty_range_note(
    store: &dyn Store,
    range: TimeRange,
    now_ms: i64,
) -> Result<Option<String>> {
    let Some((first, last)) = store.time_bounds()? else {
        return Ok(Some(
            "the database holds no invocations yet (tern ingest, tern pull or tern serve fill it)"
                .to_string(),
        ));
    };
    let before = range.to_ms.is_some_and(|to| to <= first);
    let after = range.from_ms.is_some_and(|from| from > last);
    if !(before || after) {
        return Ok(None);
    }
    const DAY_MS: i64 = 86_400_000;
    let days = ((now_ms - first) / DAY_MS + 1).max(1);
    let day = |ms: i64| {
        crate::timeutil::format_ms(ms)
            .chars()
            .take(10)
            .collect::<String>()
    };
    Ok(Some(format!(
        "no data in this range: stored data spans {} … {}; try --since {days}d, or --from {}",
        day(first),
        day(last),
        day(first)
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tern_store::{FunctionMeta, IngestBatch, SqliteStore};

    fn store(names: &[&str]) -> SqliteStore {
        let mut s = SqliteStore::open_in_memory().unwrap();
        s.ingest(&IngestBatch {
            functions: names
                .iter()
                .map(|n| FunctionMeta {
                    function: n.to_string(),
                    region: Some("us-east-1".into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .unwrap();
        s
    }

    #[test]
    fn a_pattern_matches_or_names_the_closest_functions() {
        let s = store(&["orders-api", "orders-worker", "payments"]);
        assert_eq!(matching(&s, None).unwrap(), None);
        assert_eq!(
            matching(&s, Some("orders-*")).unwrap(),
            Some(vec!["orders-api".to_string(), "orders-worker".to_string()])
        );
        let e = format!("{:#}", matching(&s, Some("ordr-*")).unwrap_err());
        assert!(
            e.contains("no stored function matches --function \"ordr-*\""),
            "{e}"
        );
        assert!(e.contains("did you mean orders-api"), "{e}");
        let e = format!("{:#}", matching(&s, Some("[")).unwrap_err());
        assert!(e.contains("not a valid glob"), "{e}");
        let empty = store(&[]);
        let e = format!("{:#}", matching(&empty, Some("x")).unwrap_err());
        assert!(e.contains("no functions yet"), "{e}");
    }
}
