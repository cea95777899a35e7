//! `tern setup subscriptions`: subscribe every Lambda log group to a push destination
//! (Firehose delivering to `tern serve`, Kinesis, or a forwarder Lambda), or set one
//! account-level subscription filter policy.
//!
//! Without `--apply` it prints the plan and changes nothing. Per log group:
//! * no filter named `--filter-name` → create it;
//! * ours with another destination, role or pattern → update it (PutSubscriptionFilter
//!   replaces a filter of the same name);
//! * ours, identical → leave it;
//! * filters of other names are never touched, only reported (AWS caps filters per log group,
//!   so a group already at the cap fails to take ours and is reported).
//!
//! Log groups come from DescribeLogGroups (`/aws/lambda/` prefix) plus custom log groups named
//! by the inventory's LoggingConfig. Functions created later are covered by running it again
//! (or by the account policy, which applies to new log groups by itself).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _, Result};
use aws_sdk_cloudwatchlogs::types::{PolicyType, Scope};

use super::metrics::PullMetrics;
use super::retry::{self, Class};
use super::{inventory, Clients, Target};
use crate::cli::SubscriptionArgs;
use crate::config::Globs;

/// What a destination ARN points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationKind {
    Firehose,
    Kinesis,
    Lambda,
    /// A CloudWatch Logs destination (cross-account delivery).
    LogsDestination,
}

impl DestinationKind {
    fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Firehose => "Firehose delivery stream",
            DestinationKind::Kinesis => "Kinesis data stream",
            DestinationKind::Lambda => "Lambda function",
            DestinationKind::LogsDestination => "CloudWatch Logs destination",
        }
    }

    /// Whether CloudWatch Logs needs a role to deliver there.
    fn needs_role(self) -> bool {
        matches!(self, DestinationKind::Firehose | DestinationKind::Kinesis)
    }
}

/// Split an ARN into (partition, service, region, account, resource), checking its shape.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    let (a, partition, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    let ok = a == "arn"
        && partition.starts_with("aws")
        && !service.is_empty()
        && (account.is_empty()
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && !resource.is_empty();
    ok.then_some((partition, service, region, account, resource))
}

/// Validate `--destination-arn`.
pub fn destination_kind(arn: &str) -> Result<DestinationKind> {
    let bad = || {
        anyhow!(
            "--destination-arn {arn:?} is not the ARN of a Firehose delivery stream \
             (arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME), a Kinesis stream \
             (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME), a Lambda function \
             (arn:aws:lambda:REGION:ACCOUNT:function:NAME) or a CloudWatch Logs destination \
             (arn:aws:logs:REGION:ACCOUNT:destination:NAME)"
        )
    };
    let (_, service, region, account, resource) = arn_parts(arn).ok_or_else(bad)?;
    if region.is_empty() || account.is_empty() {
        return Err(bad());
    }
    let named = |prefix: &str| resource.strip_prefix(prefix).is_some_and(|n| !n.is_empty());
    match service {
        "firehose" if named("deliverystream/") => Ok(DestinationKind::Firehose),
        "kinesis" if named("stream/") => Ok(DestinationKind::Kinesis),
        "lambda" if named("function:") => Ok(DestinationKind::Lambda),
        "logs" if named("destination:") => Ok(DestinationKind::LogsDestination),
        _ => Err(bad()),
    }
}

/// Validate `--role-arn` against the destination.
pub fn check_role(role: Option<&str>, kind: DestinationKind) -> Result<()> {
    match role {
        Some(r) => {
            let ok = arn_parts(r).is_some_and(|(_, service, region, account, resource)| {
                service == "iam"
                    && region.is_empty()
                    && !account.is_empty()
                    && resource
                        .strip_prefix("role/")
                        .is_some_and(|n| !n.is_empty())
            });
            if !ok {
                bail!("--role-arn {r:?} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
            }
            if kind == DestinationKind::Lambda {
                bail!(
                    "--role-arn is not used with a Lambda destination (CloudWatch Logs invokes \
                     it through the function's resource policy); leave it out"
                );
            }
            Ok(())
        }
        None if kind.needs_role() => bail!(
            "a {} destination needs --role-arn: an IAM role CloudWatch Logs can assume to put \
             records there",
            kind.as_str()
        ),
        None => Ok(()),
    }
}

/// What will happen to one log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create,
    /// Ours exists with other settings (what differs).
    Update(String),
    Unchanged,
    /// The log group does not exist (a function that never ran).
    Missing,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub log_group: String,
    pub action: Action,
    /// Filters of other names on the group, left as they are.
    pub others: Vec<String>,
}

/// The account-level policy document.
pub fn policy_document(destination: &str, role: Option<&str>) -> String {
    let mut doc = serde_json::json!({
        "DestinationArn": destination,
        "FilterPattern": "",
        "Distribution": "Random",
    });
    if let Some(r) = role {
        doc["RoleArn"] = r.into();
    }
    doc.to_string()
}

/// `PutSubscriptionFilter`'s `LimitExceededException` means "too many filters on this log
/// group", not "slow down": do not retry it.
fn classify_put<E: aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata>(
    e: &aws_sdk_cloudwatchlogs::error::SdkError<
        E,
        aws_sdk_cloudwatchlogs::config::http::HttpResponse,
    >,
) -> Class {
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata as _;
    if e.code() == Some("LimitExceededException") {
        Class::Fatal
    } else {
        retry::classify(e)
    }
}

struct Setup<'a> {
    target: &'a Target,
    clients: &'a Clients,
    metrics: &'a PullMetrics,
    args: &'a SubscriptionArgs,
    globs: Option<Globs>,
}

impl Setup<'_> {
    fn on_retry(&self) -> impl FnMut(Class) + '_ {
        move |class| {
            self.metrics
                .count(&self.target.account, &self.target.region, |c| match class {
                    Class::Throttled => c.throttles += 1,
                    _ => c.retries += 1,
                })
        }
    }

    fn wants(&self, function: &str) -> bool {
        self.target.functions.matches(function)
            && self.globs.as_ref().is_none_or(|g| g.matches(function))
    }

    /// Lambda log groups that exist, and inventory log groups that do not.
    async fn log_groups(&self) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
        let mut existing = BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            let page = retry::call(
                || {
                    self.clients
                        .logs
                        .describe_log_groups()
                        .log_group_name_prefix("/aws/lambda/")
                        .set_next_token(token.clone())
                        .send()
                },
                self.on_retry(),
            )
            .await
            .map_err(|e| {
                anyhow!(
                    "DescribeLogGroups in {} failed: {}",
                    self.target.label(),
                    retry::describe(&e)
                )
            })?;
            for g in page.log_groups.unwrap_or_default() {
                if let Some(name) = g.log_group_name {
                    let function = name.strip_prefix("/aws/lambda/").unwrap_or(&name);
                    if self.wants(function) {
                        existing.insert(name);
                    }
                }
            }
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(t) if token.as_deref() != Some(t.as_str()) => token = Some(t),
                _ => break,
            }
        }
        // Custom log groups (LoggingConfig) come from the inventory.
        let mut wanted_elsewhere = BTreeSet::new();
        let metrics = Arc::new(PullMetrics::new());
        for m in
            inventory::inventory(self.clients, self.target, &metrics, |f| self.wants(f)).await?
        {
            if let Some(g) = m.log_group {
                if !existing.contains(&g) {
                    wanted_elsewhere.insert(g);
                }
            }
        }
        let mut missing = BTreeSet::new();
        for g in wanted_elsewhere {
            if g.starts_with("/aws/lambda/") {
                // DescribeLogGroups did not list it: it does not exist.
                missing.insert(g);
                continue;
            }
            let page = retry::call(
                || {
                    self.clients
                        .logs
                        .describe_log_groups()
                        .log_group_name_prefix(g.clone())
                        .send()
                },
                self.on_retry(),
            )
            .await
            .map_err(|e| anyhow!("DescribeLogGroups for {g} failed: {}", retry::describe(&e)))?;
            if page
                .log_groups()
                .iter()
                .any(|l| l.log_group_name() == Some(g.as_str()))
            {
                existing.insert(g);
            } else {
                missing.insert(g);
            }
        }
        Ok((existing, missing))
    }

    async fn plan(&self) -> Result<Vec<Step>> {
        let (existing, missing) = self.log_groups().await?;
        let mut steps = Vec::new();
        for g in existing {
            let filters = retry::call(
                || {
                    self.clients
                        .logs
                        .describe_subscription_filters()
                        .log_group_name(g.clone())
                        .send()
                },
                self.on_retry(),
            )
            .await;
            let filters = match filters {
                Ok(f) => f.subscription_filters.unwrap_or_default(),
                Err(e) if retry::classify(&e) == Class::NotFound => {
                    steps.push(Step {
                        log_group: g,
                        action: Action::Missing,
                        others: Vec::new(),
                    });
                    continue;
                }
                Err(e) => bail!(
                    "DescribeSubscriptionFilters for {g} failed: {}",
                    retry::describe(&e)
                ),
            };
            let mut others = Vec::new();
            let mut ours = None;
            for f in filters {
                if f.filter_name.as_deref() == Some(self.args.filter_name.as_str()) {
                    ours = Some(f);
                } else {
                    others.push(f.filter_name.unwrap_or_else(|| "(unnamed)".into()));
                }
            }
            let action = match ours {
                None => Action::Create,
                Some(f) => {
                    let mut diff = Vec::new();
                    if f.destination_arn.as_deref() != Some(self.args.destination_arn.as_str()) {
                        diff.push(format!(
                            "destination {} → {}",
                            f.destination_arn.as_deref().unwrap_or("(none)"),
                            self.args.destination_arn
                        ));
                    }
                    if f.role_arn.as_deref().filter(|r| !r.is_empty())
                        != self.args.role_arn.as_deref()
                    {
                        diff.push(format!(
                            "role {} → {}",
                            f.role_arn.as_deref().unwrap_or("(none)"),
                            self.args.role_arn.as_deref().unwrap_or("(none)")
                        ));
                    }
                    if !f.filter_pattern.as_deref().unwrap_or("").is_empty() {
                        diff.push(format!(
                            "pattern {:?} → \"\" (everything)",
                            f.filter_pattern.as_deref().unwrap_or("")
                        ));
                    }
                    if diff.is_empty() {
                        Action::Unchanged
                    } else {
                        Action::Update(diff.join(", "))
                    }
                }
            };
            steps.push(Step {
                log_group: g,
                action,
                others,
            });
        }
        for g in missing {
            steps.push(Step {
                log_group: g,
                action: Action::Missing,
                others: Vec::new(),
            });
        }
        steps.sort_by(|a, b| a.log_group.cmp(&b.log_group));
        Ok(steps)
    }

    async fn put_filter(&self, group: &str) -> Result<()> {
        retry::call_classified(
            || {
                self.clients
                    .logs
                    .put_subscription_filter()
                    .log_group_name(group)
                    .filter_name(&self.args.filter_name)
                    .filter_pattern("")
                    .destination_arn(&self.args.destination_arn)
                    .set_role_arn(self.args.role_arn.clone())
                    .send()
            },
            classify_put,
            self.on_retry(),
        )
        .await
        .map(|_| ())
        .map_err(|e| anyhow!("{}", retry::describe(&e)))
    }

    async fn put_policy(&self) -> Result<()> {
        let doc = policy_document(&self.args.destination_arn, self.args.role_arn.as_deref());
        retry::call(
            || {
                self.clients
                    .logs
                    .put_account_policy()
                    .policy_name(&self.args.filter_name)
                    .policy_type(PolicyType::SubscriptionFilterPolicy)
                    .scope(Scope::All)
                    .policy_document(doc.clone())
                    .send()
            },
            self.on_retry(),
        )
        .await
        .map(|_| ())
        .map_err(|e| {
            anyhow!(
                "PutAccountPolicy in {} failed: {}",
                self.target.label(),
                retry::describe(&e)
            )
        })
    }
}

/// `tern setup subscriptions`.
pub fn run(args: SubscriptionArgs) -> Result<String> {
    let kind = destination_kind(&args.destination_arn)?;
    check_role(args.role_arn.as_deref(), kind)?;
    if args.filter_name.is_empty()
        || args.filter_name.len() > 512
        || args.filter_name.contains(':')
        || args.filter_name.contains('*')
    {
        bail!(
            "--filter-name {:?}: use 1 to 512 characters, without ':' or '*'",
            args.filter_name
        );
    }
    let globs = if args.function.is_empty() {
        None
    } else {
        Some(Globs::new(&args.function, "--function")?)
    };
    let cfg = crate::pull::load_config(&args.aws)?;
    let rt = crate::pull::runtime()?;
    rt.block_on(async {
        let targets = super::targets(&cfg, &args.aws).await?;
        let metrics = PullMetrics::new();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "destination: {} ({})\nfilter name: {}",
            args.destination_arn,
            kind.as_str(),
            args.filter_name
        );
        let mut failures = 0usize;
        for target in &targets {
            let clients = target.clients().await?;
            let setup = Setup {
                target,
                clients: &clients,
                metrics: &metrics,
                args: &args,
                globs: globs.clone(),
            };
            let _ = writeln!(out, "\n== {}", target.label());
            if args.account_policy {
                let _ = writeln!(
                    out,
                    "account-level subscription filter policy {:?} (type SUBSCRIPTION_FILTER_POLICY, \
                     scope ALL: every log group of the account, Lambda or not, now and later):\n{}",
                    args.filter_name,
                    policy_document(&args.destination_arn, args.role_arn.as_deref())
                );
                if args.apply {
                    setup.put_policy().await?;
                    let _ = writeln!(out, "applied");
                }
                continue;
            }
            let steps = setup
                .plan()
                .await
                .with_context(|| format!("planning subscriptions in {}", target.label()))?;
            let width = steps
                .iter()
                .map(|s| s.log_group.len())
                .max()
                .unwrap_or(9)
                .max(9);
            let _ = writeln!(out, "{:width$}  {:9}  detail", "log group", "action");
            let mut counts = [0usize; 4];
            for s in &steps {
                let (word, mut detail, i) = match &s.action {
                    Action::Create => ("create", String::new(), 0),
                    Action::Update(d) => ("update", d.clone(), 1),
                    Action::Unchanged => ("unchanged", String::new(), 2),
                    Action::Missing => (
                        "skip",
                        "no such log group yet (the function never logged); run again later"
                            .to_string(),
                        3,
                    ),
                };
                counts[i] += 1;
                if !s.others.is_empty() {
                    if !detail.is_empty() {
                        detail.push_str("; ");
                    }
                    detail.push_str(&format!("other filters left as they are: {}", s.others.join(", ")));
                }
                let mut result = String::new();
                if args.apply && matches!(s.action, Action::Create | Action::Update(_)) {
                    match setup.put_filter(&s.log_group).await {
                        Ok(()) => result = " → done".into(),
                        Err(e) => {
                            failures += 1;
                            result = format!(" → FAILED: {e}");
                        }
                    }
                }
                let _ = writeln!(
                    out,
                    "{:width$}  {word:9}  {detail}{result}",
                    s.log_group
                );
            }
            let _ = writeln!(
                out,
                "{} to create, {} to update, {} unchanged, {} skipped",
                counts[0], counts[1], counts[2], counts[3]
            );
        }
        if !args.apply {
            let _ = writeln!(out, "\nplan only: nothing was changed; run again with --apply");
        }
        if failures > 0 {
            print!("{out}");
            bail!("{failures} subscription filter(s) could not be put (see above)");
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn destination_arns_are_validated() {
        for (arn, kind) in [
            (
                "arn:aws:firehose:us-east-1:123456789012:deliverystream/tern",
                DestinationKind::Firehose,
            ),
            (
                "arn:aws:kinesis:eu-west-1:123456789012:stream/logs",
                DestinationKind::Kinesis,
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:fwd",
                DestinationKind::Lambda,
            ),
            (
                "arn:aws-cn:logs:cn-north-1:123456789012:destination:central",
                DestinationKind::LogsDestination,
            ),
        ] {
            assert_eq!(destination_kind(arn).unwrap(), kind, "{arn}");
        }
        for bad in [
            "",
            "tern",
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/",
            "arn:aws:firehose:us-east-1:12345:deliverystream/x",
            "arn:aws:s3:::bucket",
            "arn:aws:sqs:us-east-1:123456789012:queue",
            "arn:aws:lambda::123456789012:function:x",
        ] {
            let e = destination_kind(bad).unwrap_err().to_string();
            assert!(e.contains("--destination-arn"), "{bad}: {e}");
        }
    }

    #[test]
    fn roles_are_required_where_needed_and_validated() {
        let role = Some("arn:aws:iam::123456789012:role/cwl-to-firehose");
        check_role(role, DestinationKind::Firehose).unwrap();
        check_role(None, DestinationKind::Lambda).unwrap();
        let e = check_role(None, DestinationKind::Kinesis).unwrap_err();
        assert!(e.to_string().contains("needs --role-arn"), "{e}");
        let e = check_role(
            Some("arn:aws:iam::123456789012:user/bob"),
            DestinationKind::Firehose,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not an IAM role ARN"), "{e}");
        let e = check_role(role, DestinationKind::Lambda).unwrap_err();
        assert!(e.to_string().contains("not used with a Lambda"), "{e}");
    }

    #[test]
    fn policy_document_is_json_with_the_destination() {
        let d = policy_document(
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/t",
            Some("arn:aws:iam::123456789012:role/r"),
        );
        let v: serde_json::Value = serde_json::from_str(&d).unwrap();
        assert_eq!(
            v["DestinationArn"],
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/t"
        );
        assert_eq!(v["RoleArn"], "arn:aws:iam::123456789012:role/r");
        assert_eq!(v["FilterPattern"], "");
        let v: serde_json::Value = serde_json::from_str(&policy_document("arn:x", None)).unwrap();
        assert!(v.get("RoleArn").is_none());
    }
}
