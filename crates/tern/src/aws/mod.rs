//! Talking to AWS: which accounts and regions to read, and SDK clients for them.
//!
//! Module map, one question per file:
//! - this file: which (account, region) pairs, and an `SdkConfig` for each (ring-based TLS,
//!   endpoint override, named profiles with SSO and credential_process);
//! - [`retry`]: which errors are worth retrying, and how long to wait;
//! - [`ratelimit`]: the token bucket that keeps FilterLogEvents under its hard 5 TPS;
//! - [`inventory`]: ListFunctions + ListTags into `FunctionMeta`;
//! - [`pull`]: FilterLogEvents from a stored checkpoint into the store, and the live loop;
//! - [`metrics`]: counters and lag for `/metrics`;
//! - [`subscriptions`]: `tern setup subscriptions`.
//!
//! **Architecture Invariant:** the SDK never retries on its own (`RetryConfig::disabled()`):
//! every retry goes through [`retry`], so throttles are counted and backoff is ours.

pub mod inventory;
pub mod metrics;
pub mod pull;
pub mod ratelimit;
pub mod retry;
pub mod subscriptions;

#[cfg(test)]
mod fake;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

use crate::cli::AwsArgs;
use crate::config::{self, Config, Globs};
use ratelimit::RateLimiter;

/// Connecting must not take longer than this (an unreachable endpoint fails fast).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One request attempt (a FilterLogEvents page of 1 MB included).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// One account in one region: the unit of rate limiting, checkpoints and metrics.
#[derive(Debug, Clone)]
pub struct Target {
    /// The configured account name (`[[accounts]] name`, or the profile for CLI use).
    pub account: String,
    pub profile: Option<String>,
    pub region: String,
    pub endpoint_url: Option<String>,
    /// Functions of this account to watch.
    pub functions: Globs,
    /// Shared by every log group of this account and region.
    pub limiter: Arc<RateLimiter>,
}

/// Clients for one target.
#[derive(Clone)]
pub struct Clients {
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub lambda: aws_sdk_lambda::Client,
}

impl Target {
    pub async fn clients(&self) -> Result<Clients> {
        let sdk = sdk_config(
            self.profile.as_deref(),
            &self.region,
            self.endpoint_url.as_deref(),
        )
        .await;
        Ok(Clients {
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
        })
    }

    /// `account/region`, for messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }
}

/// An SDK config for a profile (`None`: the default chain), a region and an optional endpoint.
/// Retries are ours (see [`retry`]); timeouts keep an unreachable endpoint from hanging.
pub async fn sdk_config(profile: Option<&str>, region: &str, endpoint: Option<&str>) -> SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // rustls on ring: no aws-lc, no OpenSSL.
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https(),
        )
        .region(Region::new(region.to_string()))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(timeouts);
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = endpoint {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

/// The region the standard chain finds (AWS_REGION, the profile, then instance metadata
/// unless AWS_EC2_METADATA_DISABLED), through our HTTP client.
async fn default_region(profile: Option<&str>) -> Option<Region> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(
        aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https(),
    );
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    loader.load().await.region().cloned()
}

/// The endpoint override: `--endpoint-url`, else `AWS_ENDPOINT_URL`, validated.
fn endpoint_override(flag: Option<&str>) -> Result<Option<String>> {
    if let Some(u) = flag {
        config::check_endpoint(u).context("--endpoint-url")?;
        return Ok(Some(u.to_string()));
    }
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(u) if !u.trim().is_empty() => {
            config::check_endpoint(u.trim()).context("AWS_ENDPOINT_URL")?;
            Ok(Some(u.trim().to_string()))
        }
        _ => Ok(None),
    }
}

/// Every (account, region) to read: the config's accounts, or one account made of the CLI
/// flags when the config has none. `--endpoint-url` (or `AWS_ENDPOINT_URL`) overrides the
/// endpoint of every account.
pub async fn targets(cfg: &Config, args: &AwsArgs) -> Result<Vec<Target>> {
    let endpoint = endpoint_override(args.endpoint_url.as_deref())?;
    for r in &args.region {
        config::check_region(r).context("--region")?;
    }
    let rate = cfg.pull.requests_per_second;
    let mut out = Vec::new();
    if cfg.accounts.is_empty() {
        let profile = args.profile.clone().filter(|p| !p.is_empty());
        let regions = if args.region.is_empty() {
            match default_region(profile.as_deref()).await {
                Some(r) => {
                    config::check_region(r.as_ref())
                        .context("the region from AWS_REGION or the profile")?;
                    vec![r.to_string()]
                }
                None => bail!(
                    "no AWS region: pass --region (e.g. --region us-east-1), set AWS_REGION, \
                     or name a region in the profile or in tern.toml [[accounts]]"
                ),
            }
        } else {
            args.region.clone()
        };
        let account = profile.clone().unwrap_or_else(|| "default".to_string());
        for region in regions {
            out.push(Target {
                account: account.clone(),
                profile: profile.clone(),
                region,
                endpoint_url: endpoint.clone(),
                functions: cfg.pull.functions.clone(),
                limiter: Arc::new(RateLimiter::new(rate)),
            });
        }
    } else {
        if args.profile.is_some() || !args.region.is_empty() {
            bail!(
                "--profile and --region cannot be combined with [[accounts]] in {}: \
                 name the profile and regions there",
                cfg.source
                    .as_ref()
                    .map_or("the config".to_string(), |p| p.display().to_string())
            );
        }
        for a in &cfg.accounts {
            for region in &a.regions {
                out.push(Target {
                    account: a.name.clone(),
                    profile: a.profile.clone(),
                    region: region.clone(),
                    endpoint_url: endpoint.clone().or_else(|| a.endpoint_url.clone()),
                    functions: a.functions.clone(),
                    limiter: Arc::new(RateLimiter::new(rate)),
                });
            }
        }
    }
    Ok(out)
}

/// Now, epoch ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
