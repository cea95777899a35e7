//! The inventory: what functions exist in an account and region, and the facts about them that
//! the logs do not carry (architecture, timeout, log group, tags).
//!
//! ListFunctions, every page (following `NextMarker`), then ListTags per function with bounded
//! concurrency. Each function becomes a [`FunctionMeta`] with `inventory_ms` set, so the report
//! lists it even when it has no invocations. DescribeLogGroups gives each log group's retention
//! (the `logs.no_retention` insight).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use anyhow::{bail, Result};
use aws_sdk_lambda::types::FunctionConfiguration;
use tern_store::FunctionMeta;
use tokio::sync::Semaphore;
use tracing::warn;

use super::metrics::PullMetrics;
use super::retry::{self, Class};
use super::{Clients, Target};
use tern_core::model::Arch;

/// Functions per ListFunctions page (AWS allows up to 50).
const PAGE: i32 = 50;
/// ListTags calls in flight at once.
const TAG_CONCURRENCY: usize = 4;
/// Pages before we call the listing runaway (50 × 2,000 = 100,000 functions).
const MAX_PAGES: usize = 2_000;

/// The log group a function logs to: `LoggingConfig.LogGroup`, else `/aws/lambda/NAME`.
pub fn log_group_of(fc: &FunctionConfiguration) -> Option<String> {
    let name = fc.function_name().filter(|n| !n.is_empty())?;
    Some(
        fc.logging_config()
            .and_then(|l| l.log_group())
            .filter(|g| !g.is_empty())
            .map_or_else(|| format!("/aws/lambda/{name}"), str::to_string),
    )
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME` → (region, account).
fn arn_region_account(arn: &str) -> Option<(&str, &str)> {
    let mut it = arn.split(':');
    let (_arn, _partition, service, region, account) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    (service == "lambda" && !region.is_empty() && !account.is_empty()).then_some((region, account))
}

/// Map one ListFunctions entry. `None` when it has no name (a malformed entry).
pub fn to_meta(
    fc: &FunctionConfiguration,
    target: &Target,
    tags: Option<Vec<(String, String)>>,
    now_ms: i64,
) -> Option<FunctionMeta> {
    let name = fc.function_name().filter(|n| !n.is_empty())?;
    let from_arn = fc.function_arn().and_then(arn_region_account);
    let positive = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0);
    let mut tags = tags;
    if let Some(t) = &mut tags {
        t.sort();
    }
    Some(FunctionMeta {
        function: name.to_string(),
        region: Some(
            from_arn
                .map(|(r, _)| r.to_string())
                .unwrap_or_else(|| target.region.clone()),
        ),
        arch: fc
            .architectures()
            .first()
            .and_then(|a| Arch::parse(a.as_str())),
        timeout_ms: positive(fc.timeout()).map(|s| u64::from(s) * 1000),
        runtime: fc.runtime().map(|r| r.as_str().to_string()),
        memory_size_mb: positive(fc.memory_size()),
        account: Some(
            from_arn
                .map(|(_, a)| a.to_string())
                .unwrap_or_else(|| target.account.clone()),
        ),
        function_arn: fc.function_arn().map(str::to_string),
        ephemeral_storage_mb: positive(fc.ephemeral_storage().map(|e| e.size)),
        log_group: log_group_of(fc),
        log_format: fc
            .logging_config()
            .and_then(|l| l.log_format())
            .map(|f| f.as_str().to_string()),
        last_modified: fc.last_modified().map(str::to_string),
        tags,
        inventory_ms: Some(now_ms),
        log_retention_days: None,
    })
}

/// A log group's retention in days; `0` when it never expires (AWS leaves `retentionInDays`
/// out).
pub fn retention_days(g: &aws_sdk_cloudwatchlogs::types::LogGroup) -> u32 {
    g.retention_in_days()
        .and_then(|d| u32::try_from(d).ok())
        .unwrap_or(0)
}

/// Pages of DescribeLogGroups before we stop (50 groups a page).
const MAX_GROUP_PAGES: usize = 2_000;

/// The retention of each of `groups` that exists: one paged DescribeLogGroups over
/// `/aws/lambda/`, plus one call per custom group outside it. A group that is not listed is
/// left out (unknown). A failure is a warning: retention is a nicety, not the inventory.
pub async fn log_retention(
    clients: &Clients,
    target: &Target,
    metrics: &PullMetrics,
    groups: &BTreeSet<String>,
) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    let mut prefixes: Vec<String> = Vec::new();
    if groups.iter().any(|g| g.starts_with("/aws/lambda/")) {
        prefixes.push("/aws/lambda/".into());
    }
    prefixes.extend(
        groups
            .iter()
            .filter(|g| !g.starts_with("/aws/lambda/"))
            .cloned(),
    );
    for prefix in prefixes {
        let mut token: Option<String> = None;
        for _ in 0..MAX_GROUP_PAGES {
            let page = retry::call(
                || {
                    metrics.count(&target.account, &target.region, |c| c.requests += 1);
                    clients
                        .logs
                        .describe_log_groups()
                        .log_group_name_prefix(prefix.clone())
                        .set_next_token(token.clone())
                        .send()
                },
                retry_counter(metrics, target),
            )
            .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    metrics.count(&target.account, &target.region, |c| c.errors += 1);
                    warn!(
                        account = %target.account,
                        region = %target.region,
                        prefix = %prefix,
                        error = %retry::describe(&e),
                        "Failed to describe log groups; their retention stays unknown."
                    );
                    break;
                }
            };
            for g in page.log_groups() {
                if let Some(name) = g.log_group_name().filter(|n| groups.contains(*n)) {
                    out.insert(name.to_string(), retention_days(g));
                }
            }
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(t) if token.as_deref() != Some(t.as_str()) => token = Some(t),
                _ => break,
            }
        }
    }
    out
}

fn retry_counter<'a>(metrics: &'a PullMetrics, target: &'a Target) -> impl FnMut(Class) + 'a {
    move |class| {
        metrics.count(&target.account, &target.region, |c| match class {
            Class::Throttled => c.throttles += 1,
            _ => c.retries += 1,
        })
    }
}

/// Every function of the target (ListFunctions, all pages).
pub async fn list_functions(
    clients: &Clients,
    target: &Target,
    metrics: &PullMetrics,
) -> Result<Vec<FunctionConfiguration>> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = retry::call(
            || {
                metrics.count(&target.account, &target.region, |c| c.requests += 1);
                clients
                    .lambda
                    .list_functions()
                    .set_marker(marker.clone())
                    .max_items(PAGE)
                    .send()
            },
            retry_counter(metrics, target),
        )
        .await
        .map_err(|e| {
            metrics.count(&target.account, &target.region, |c| c.errors += 1);
            anyhow::anyhow!(
                "ListFunctions in {} failed: {}",
                target.label(),
                retry::describe(&e)
            )
        })?;
        out.extend(page.functions.unwrap_or_default());
        match page.next_marker.filter(|m| !m.is_empty()) {
            Some(m) if marker.as_deref() == Some(m.as_str()) => bail!(
                "ListFunctions in {} returned the same NextMarker twice; stopping",
                target.label()
            ),
            Some(m) => marker = Some(m),
            None => return Ok(out),
        }
    }
    bail!(
        "ListFunctions in {} returned more than {MAX_PAGES} pages; stopping",
        target.label()
    )
}

/// The inventory of one target: every function `wanted` (by name), with its tags, as
/// `FunctionMeta`. A function whose tags cannot be read is still listed (tags unchanged), with
/// a warning.
pub async fn inventory(
    clients: &Clients,
    target: &Target,
    metrics: &Arc<PullMetrics>,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<FunctionMeta>> {
    let mut functions = list_functions(clients, target, metrics).await?;
    // Filter before ListTags: one request per function matters in large accounts.
    functions.retain(|f| f.function_name().is_none_or(&wanted));
    let now = super::now_ms();
    let sem = Arc::new(Semaphore::new(TAG_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, fc) in functions.iter().enumerate() {
        let Some(arn) = fc.function_arn().map(str::to_string) else {
            continue;
        };
        let sem = sem.clone();
        let lambda = clients.lambda.clone();
        let metrics = metrics.clone();
        let target = target.clone();
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let r = retry::call(
                || {
                    metrics.count(&target.account, &target.region, |c| c.requests += 1);
                    lambda.list_tags().resource(arn.clone()).send()
                },
                retry_counter(&metrics, &target),
            )
            .await;
            match r {
                Ok(out) => (
                    i,
                    Some(
                        out.tags
                            .unwrap_or_default()
                            .into_iter()
                            .collect::<Vec<(String, String)>>(),
                    ),
                ),
                Err(e) => {
                    metrics.count(&target.account, &target.region, |c| c.errors += 1);
                    warn!(
                        function_arn = %arn,
                        error = %retry::describe(&e),
                        "Failed to list the tags of a function; keeping the stored tags."
                    );
                    (i, None)
                }
            }
        });
    }
    let mut tags: Vec<Option<Vec<(String, String)>>> = vec![None; functions.len()];
    while let Some(done) = tasks.join_next().await {
        if let Ok((i, t)) = done {
            if let Some(slot) = tags.get_mut(i) {
                *slot = t;
            }
        }
    }
    let mut metas = Vec::with_capacity(functions.len());
    for (fc, t) in functions.iter().zip(tags) {
        match to_meta(fc, target, t, now) {
            Some(m) => metas.push(m),
            None => warn!(
                account = %target.account,
                region = %target.region,
                "ListFunctions returned a function without a name; skipped."
            ),
        }
    }
    let groups: BTreeSet<String> = metas.iter().filter_map(|m| m.log_group.clone()).collect();
    let retention = log_retention(clients, target, metrics, &groups).await;
    for m in &mut metas {
        m.log_retention_days = m.log_group.as_ref().and_then(|g| retention.get(g).copied());
    }
    metas.sort_by(|a, b| a.function.cmp(&b.function));
    Ok(metas)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::aws::fake::{self, Response};
    use crate::aws::ratelimit::RateLimiter;
    use crate::config::Globs;
    use aws_sdk_lambda::types::{
        Architecture, EphemeralStorage, LogFormat, LoggingConfig, Runtime,
    };

    fn target() -> Target {
        Target {
            account: "prod".into(),
            profile: None,
            region: "us-east-1".into(),
            endpoint_url: None,
            functions: Globs::all(),
            limiter: Arc::new(RateLimiter::new(4.0)),
        }
    }

    #[test]
    fn maps_every_field_including_a_custom_logging_config() {
        // moto ignores LoggingConfig, so the custom log group is tested on canned data.
        let fc = FunctionConfiguration::builder()
            .function_name("orders-api")
            .function_arn("arn:aws:lambda:eu-west-1:123456789012:function:orders-api")
            .runtime(Runtime::Python312)
            .timeout(30)
            .memory_size(1024)
            .architectures(Architecture::Arm64)
            .ephemeral_storage(EphemeralStorage::builder().size(2048).build().unwrap())
            .logging_config(
                LoggingConfig::builder()
                    .log_format(LogFormat::Json)
                    .log_group("/shared/lambda-logs")
                    .build(),
            )
            .last_modified("2026-11-20T10:00:00.000+0000")
            .build();
        let tags = vec![("team".into(), "a".into()), ("env".into(), "prod".into())];
        let m = to_meta(&fc, &target(), Some(tags), 42).unwrap();
        assert_eq!(
            m,
            FunctionMeta {
                function: "orders-api".into(),
                region: Some("eu-west-1".into()),
                arch: Some(Arch::Arm64),
                timeout_ms: Some(30_000),
                runtime: Some("python3.12".into()),
                memory_size_mb: Some(1024),
                account: Some("123456789012".into()),
                function_arn: Some(
                    "arn:aws:lambda:eu-west-1:123456789012:function:orders-api".into()
                ),
                ephemeral_storage_mb: Some(2048),
                log_group: Some("/shared/lambda-logs".into()),
                log_format: Some("JSON".into()),
                last_modified: Some("2026-11-20T10:00:00.000+0000".into()),
                tags: Some(vec![
                    ("env".into(), "prod".into()),
                    ("team".into(), "a".into())
                ]),
                inventory_ms: Some(42),
                log_retention_days: None,
            }
        );
    }

    #[test]
    fn defaults_when_fields_are_missing() {
        let fc = FunctionConfiguration::builder()
            .function_name("bare")
            .timeout(-3)
            .build();
        let m = to_meta(&fc, &target(), None, 7).unwrap();
        assert_eq!(m.log_group.as_deref(), Some("/aws/lambda/bare"));
        assert_eq!(m.region.as_deref(), Some("us-east-1"));
        assert_eq!(m.account.as_deref(), Some("prod"));
        assert_eq!(m.timeout_ms, None, "a negative timeout is not a timeout");
        assert_eq!(m.arch, None);
        assert_eq!(m.tags, None);
        assert_eq!(m.inventory_ms, Some(7));
        // An empty custom log group falls back to the default one.
        let fc = FunctionConfiguration::builder()
            .function_name("x")
            .logging_config(LoggingConfig::builder().log_group("").build())
            .build();
        assert_eq!(log_group_of(&fc).as_deref(), Some("/aws/lambda/x"));
        assert!(to_meta(
            &FunctionConfiguration::builder().build(),
            &target(),
            None,
            0
        )
        .is_none());
    }

    fn function_json(name: &str) -> serde_json::Value {
        serde_json::json!({
            "FunctionName": name,
            "FunctionArn": format!("arn:aws:lambda:us-east-1:111122223333:function:{name}"),
            "Runtime": "nodejs22.x",
            "Timeout": 15,
            "MemorySize": 256,
            "Architectures": ["x86_64"],
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": format!("/custom/{name}")},
            "SomeFieldAwsAddsLater": {"x": 1}
        })
    }

    #[tokio::test]
    async fn follows_next_marker_and_reads_tags() {
        // moto never pages ListFunctions: a canned server does.
        let fake = fake::Fake::start(|req, _| {
            if req.path.starts_with("/2015-03-31/functions") {
                let body = if req.path.contains("Marker=page2") {
                    serde_json::json!({"Functions": [function_json("c")]})
                } else {
                    serde_json::json!({
                        "Functions": [function_json("a"), function_json("b")],
                        "NextMarker": "page2"
                    })
                };
                Response::json(200, body.to_string())
            } else if req.path.starts_with("/2017-03-31/tags/") {
                if req.path.contains("function%3Ab") || req.path.contains("function:b") {
                    Response::error(403, "AccessDeniedException", "no tags for you")
                } else {
                    Response::json(200, r#"{"Tags":{"z":"1","a":"2"}}"#)
                }
            } else if req.header("x-amz-target") == Some("Logs_20140328.DescribeLogGroups") {
                // /custom/a keeps 14 days, /custom/b never expires, /custom/c does not exist.
                let body = if req.body.contains("/custom/a") {
                    r#"{"logGroups":[{"logGroupName":"/custom/a","retentionInDays":14},{"logGroupName":"/custom/ab"}]}"#
                } else if req.body.contains("/custom/b") {
                    r#"{"logGroups":[{"logGroupName":"/custom/b","storedBytes":5}]}"#
                } else {
                    r#"{"logGroups":[]}"#
                };
                Response::json(200, body)
            } else {
                Response::error(404, "UnknownOperationException", "?")
            }
        })
        .await;
        let clients = fake::clients(&fake.url).await;
        let metrics = Arc::new(PullMetrics::new());
        let metas = inventory(&clients, &target(), &metrics, |_| true)
            .await
            .unwrap();
        let retention: Vec<_> = metas.iter().map(|m| m.log_retention_days).collect();
        assert_eq!(retention, [Some(14), Some(0), None]);
        let names: Vec<_> = metas.iter().map(|m| m.function.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(metas[0].log_group.as_deref(), Some("/custom/a"));
        assert_eq!(metas[0].account.as_deref(), Some("111122223333"));
        assert_eq!(metas[0].timeout_ms, Some(15_000));
        assert_eq!(
            metas[0].tags,
            Some(vec![("a".into(), "2".into()), ("z".into(), "1".into())])
        );
        assert_eq!(metas[1].tags, None, "tags unreadable: keep the stored ones");
        let t = metrics.totals();
        assert_eq!(
            t.requests, 8,
            "two pages, three ListTags, three DescribeLogGroups"
        );
        assert!(fake
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.header("x-amz-target").is_some()));
        assert_eq!(t.errors, 1);
    }

    #[tokio::test]
    async fn malformed_listings_are_clear_errors() {
        for body in [
            r#"{"Functions": [{"FunctionName": "a""#,
            r#"{"Functions": 7}"#,
            "not json",
        ] {
            let fake = fake::Fake::start(move |_, _| Response::json(200, body)).await;
            let clients = fake::clients(&fake.url).await;
            let metrics = Arc::new(PullMetrics::new());
            let e = inventory(&clients, &target(), &metrics, |_| true)
                .await
                .unwrap_err();
            let msg = format!("{e:#}");
            assert!(
                msg.contains("ListFunctions in prod/us-east-1 failed"),
                "{body}: {msg}"
            );
        }
    }

    #[tokio::test]
    async fn a_repeated_marker_stops_the_listing() {
        let fake = fake::Fake::start(|_, _| {
            Response::json(200, r#"{"Functions": [], "NextMarker": "same"}"#)
        })
        .await;
        let clients = fake::clients(&fake.url).await;
        let metrics = Arc::new(PullMetrics::new());
        let e = inventory(&clients, &target(), &metrics, |_| true)
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("same NextMarker twice"), "{e:#}");
    }
}
