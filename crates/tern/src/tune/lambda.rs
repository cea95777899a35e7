//! The Lambda API calls `tern tune` makes, each through [`crate::aws::retry`] (the SDK's own
//! retries are off): read the configuration, change it and wait for the change to land,
//! publish a version, invoke it with `LogType=Tail`, delete the version.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, LastUpdateStatus, LogType, State};
use base64::Engine as _;
use tern_core::parse::{parse_message, Line};
use tern_store::Arch;

use super::analysis::Sample;
use crate::aws::retry::{self, Class};

/// Longest wait for one configuration change or version to become usable.
const UPDATE_WAIT: Duration = Duration::from_secs(300);
/// First poll interval; doubles up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(100);
const POLL_MAX: Duration = Duration::from_secs(2);
/// Attempts at a change refused with ResourceConflictException (another update in progress).
const CONFLICT_ATTEMPTS: u32 = 10;

/// What tuning may change and must put back.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    pub name: String,
    pub memory_mb: u32,
    pub arch: Arch,
    pub timeout_s: Option<u32>,
    /// `None`: the function has no environment variables.
    pub env: Option<HashMap<String, String>>,
}

impl FunctionConfig {
    fn from_output(name: &str, o: &GetFunctionConfigurationOutput) -> Result<FunctionConfig> {
        let memory_mb = o
            .memory_size()
            .and_then(|m| u32::try_from(m).ok())
            .ok_or_else(|| anyhow!("{name}: the configuration has no memory size"))?;
        let arch = match o.architectures().first().map(|a| a.as_str()) {
            Some(a) => Arch::parse(a).ok_or_else(|| anyhow!("{name}: architecture {a:?}"))?,
            None => Arch::X86_64,
        };
        Ok(FunctionConfig {
            name: name.to_string(),
            memory_mb,
            arch,
            timeout_s: o.timeout().and_then(|t| u32::try_from(t).ok()),
            env: o
                .environment()
                .and_then(|e| e.variables())
                .filter(|v| !v.is_empty())
                .cloned(),
        })
    }
}

/// One invocation's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Invoked {
    Ok(Sample),
    Failed(String),
}

/// A Lambda client for one function's tuning.
#[derive(Clone)]
pub struct Lambda {
    pub client: aws_sdk_lambda::Client,
}

fn throttled_only(class: Class) -> Class {
    // An invoke that failed for a server or network reason may have run the function: a
    // retry would run it again, with its side effects. Only throttles (never started) retry.
    match class {
        Class::Throttled => Class::Throttled,
        _ => Class::Fatal,
    }
}

impl Lambda {
    pub async fn config(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<GetFunctionConfigurationOutput> {
        retry::call(
            || {
                self.client
                    .get_function_configuration()
                    .function_name(name)
                    .set_qualifier(qualifier.map(str::to_string))
                    .send()
            },
            |_| {},
        )
        .await
        .map_err(|e| anyhow!("GetFunctionConfiguration {name}: {}", retry::describe(&e)))
    }

    /// The function's current configuration, once no update is in progress. An earlier
    /// update that failed does not matter here (the restore must still work after one).
    pub async fn settled_config(&self, name: &str) -> Result<FunctionConfig> {
        self.wait(name, None, false).await?;
        let o = self.config(name, None).await?;
        FunctionConfig::from_output(name, &o)
    }

    /// Poll until `LastUpdateStatus` is no longer `InProgress` (and `State` no longer
    /// `Pending`). A `Failed` update is an error carrying AWS's reason.
    pub async fn wait_updated(&self, name: &str) -> Result<()> {
        self.wait(name, None, true).await
    }

    /// Poll a published version until it is `Active`.
    pub async fn wait_version(&self, name: &str, version: &str) -> Result<()> {
        self.wait(name, Some(version), true).await
    }

    /// Poll until nothing is in progress; `strict`: a `Failed` update or state is an error.
    async fn wait(&self, name: &str, qualifier: Option<&str>, strict: bool) -> Result<()> {
        let started = tokio::time::Instant::now();
        let mut interval = POLL_FIRST;
        loop {
            let o = self.config(name, qualifier).await?;
            let updating = matches!(o.last_update_status(), Some(LastUpdateStatus::InProgress));
            let pending = matches!(o.state(), Some(State::Pending));
            if !strict && !updating && !pending {
                return Ok(());
            }
            if let Some(LastUpdateStatus::Failed) = o.last_update_status() {
                bail!(
                    "{name}: the update failed: {}",
                    o.last_update_status_reason().unwrap_or("no reason given")
                );
            }
            if let Some(State::Failed) = o.state() {
                bail!(
                    "{name}{}: the function is in state Failed: {}",
                    qualifier.map(|q| format!(":{q}")).unwrap_or_default(),
                    o.state_reason().unwrap_or("no reason given")
                );
            }
            if !updating && !pending {
                return Ok(());
            }
            if started.elapsed() > UPDATE_WAIT {
                bail!("{name}: still updating after {} s", UPDATE_WAIT.as_secs());
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(POLL_MAX);
        }
    }

    /// Set memory (and, when `Some`, the whole set of environment variables) and wait until
    /// the change has landed. A conflicting update in progress is waited out and retried.
    pub async fn update(
        &self,
        name: &str,
        memory_mb: u32,
        env: Option<&HashMap<String, String>>,
    ) -> Result<()> {
        let memory = i32::try_from(memory_mb).map_err(|_| anyhow!("memory {memory_mb} MB"))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let r = retry::call(
                || {
                    let mut req = self
                        .client
                        .update_function_configuration()
                        .function_name(name)
                        .memory_size(memory);
                    if let Some(vars) = env {
                        req = req.environment(
                            Environment::builder()
                                .set_variables(Some(vars.clone()))
                                .build(),
                        );
                    }
                    req.send()
                },
                |_| {},
            )
            .await;
            match r {
                Ok(_) => break,
                Err(e)
                    if attempt < CONFLICT_ATTEMPTS
                        && aws_sdk_lambda::error::ProvideErrorMetadata::code(&e)
                            == Some("ResourceConflictException") =>
                {
                    // Someone else's update (or one cancelled by Ctrl-C): wait it out.
                    self.wait(name, None, false).await?;
                }
                Err(e) => bail!(
                    "UpdateFunctionConfiguration {name} (MemorySize {memory_mb}): {}",
                    retry::describe(&e)
                ),
            }
        }
        self.wait_updated(name).await
    }

    /// Publish `$LATEST` as a version described by `description`. Returns the version and
    /// whether this call created it (Lambda returns the latest version instead when nothing
    /// changed since it: that one is not ours to delete).
    pub async fn publish(&self, name: &str, description: &str) -> Result<(String, bool)> {
        let o = retry::call(
            || {
                self.client
                    .publish_version()
                    .function_name(name)
                    .description(description)
                    .send()
            },
            |_| {},
        )
        .await
        .map_err(|e| anyhow!("PublishVersion {name}: {}", retry::describe(&e)))?;
        let version = o
            .version()
            .ok_or_else(|| anyhow!("PublishVersion {name}: no version in the answer"))?
            .to_string();
        let ours = o.description() == Some(description);
        if matches!(o.state(), Some(State::Pending)) {
            self.wait_version(name, &version).await?;
        }
        Ok((version, ours))
    }

    /// Delete a version this run published.
    pub async fn delete_version(&self, name: &str, version: &str) -> Result<()> {
        retry::call(
            || {
                self.client
                    .delete_function()
                    .function_name(name)
                    .qualifier(version)
                    .send()
            },
            |_| {},
        )
        .await
        .map(|_| ())
        .map_err(|e| anyhow!("DeleteFunction {name}:{version}: {}", retry::describe(&e)))
    }

    /// Invoke `name:version` once with `LogType=Tail` and read the REPORT from the log tail.
    pub async fn invoke(&self, name: &str, version: &str, payload: &[u8]) -> Invoked {
        let r = retry::call_classified(
            || {
                self.client
                    .invoke()
                    .function_name(name)
                    .qualifier(version)
                    .log_type(LogType::Tail)
                    .payload(Blob::new(payload.to_vec()))
                    .send()
            },
            |e| throttled_only(retry::classify(e)),
            |_| {},
        )
        .await;
        let o = match r {
            Ok(o) => o,
            Err(e) => return Invoked::Failed(format!("Invoke: {}", retry::describe(&e))),
        };
        if let Some(kind) = o.function_error() {
            let body = o
                .payload()
                .map(|b| {
                    String::from_utf8_lossy(b.as_ref())
                        .chars()
                        .take(300)
                        .collect::<String>()
                })
                .unwrap_or_default();
            return Invoked::Failed(format!("FunctionError {kind}: {body}"));
        }
        match o.log_result().map(report_from_tail) {
            Some(Some(s)) => Invoked::Ok(s),
            _ => Invoked::Failed("no REPORT line in the invocation's log tail".to_string()),
        }
    }
}

/// The REPORT of a base64 `LogResult` (the last 4 KB of the invocation's log), text or JSON
/// format, read with Tern's log parser. `None` when there is none.
pub fn report_from_tail(b64: &str) -> Option<Sample> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .rev()
        .find_map(|line| match parse_message(line.trim_end_matches('\r')) {
            Line::Report { metrics, .. } => Some(Sample {
                duration_ms: metrics.duration_ms,
                billed_ms: metrics.billed_duration_ms.unwrap_or(metrics.duration_ms)
                    + metrics.billed_restore_duration_ms.unwrap_or(0.0),
                init_ms: metrics.init_duration_ms,
                max_memory_used_mb: metrics.max_memory_used_mb,
            }),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// A text tail as Lambda returns it (lambda-logs.md §1.3: TAB-separated, XRAY line in
    /// the same event).
    #[test]
    fn reads_the_report_of_a_text_tail() {
        let tail = "START RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa Version: 7\n\
            2026-03-01T00:00:00.000Z\t06e46194-f277-454e-88d3-1dd7e3860eaa\tINFO\thello\n\
            END RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa\n\
            REPORT RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa\tDuration: 9.14 ms\tBilled Duration: 200 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 190.62 ms\t\n\
            XRAY TraceId: 1-636d1462-33ef10600061cad86dab71c8\tSegmentId: 7ccb4860675ee485\tSampled: true\t\n";
        let s = report_from_tail(&b64(tail)).unwrap();
        assert_eq!(s.duration_ms, 9.14);
        assert_eq!(s.billed_ms, 200.0);
        assert_eq!(s.init_ms, Some(190.62));
        assert_eq!(s.max_memory_used_mb, Some(36));
    }

    /// JSON log format: the tail holds `platform.report` records.
    #[test]
    fn reads_the_report_of_a_json_tail() {
        let tail = r#"{"time":"2026-03-01T00:00:00.000Z","type":"platform.start","record":{"requestId":"r1","version":"3"}}
{"time":"2026-03-01T00:00:00.100Z","type":"platform.report","record":{"requestId":"r1","metrics":{"durationMs":41.5,"billedDurationMs":42,"memorySizeMB":512,"maxMemoryUsedMB":80},"status":"success"}}
"#;
        let s = report_from_tail(&b64(tail)).unwrap();
        assert_eq!((s.duration_ms, s.billed_ms), (41.5, 42.0));
        assert_eq!(s.init_ms, None);
    }

    #[test]
    fn no_report_or_bad_base64_is_none() {
        assert_eq!(
            report_from_tail(&b64("START RequestId: x Version: 1\n")),
            None
        );
        assert_eq!(report_from_tail("%%%"), None);
    }
}
