//! `[[channels]]` in `tern.toml`: what the user wrote ([`RawChannel`]), validated once into
//! [`ChannelConfig`]. Every error names the entry and the key: `channels[2].url: …`.
//!
//! ```toml
//! [[channels]]
//! name = "ops-slack"
//! type = "slack"
//! webhook_url_env = "TERN_SLACK_URL"        # or webhook_url = "https://hooks.slack.com/…"
//!
//! [[channels]]
//! name = "pager"
//! type = "webhook"
//! url = "https://hooks.example.com/tern"
//! secret_env = "TERN_WEBHOOK_SECRET"        # HMAC-SHA256 key, at least 16 bytes
//! headers = { Authorization = "Bearer …" }  # values are treated as secrets
//!
//! [[channels]]
//! name = "oncall-mail"
//! type = "email"
//! smtp_host = "smtp.example.com"
//! smtp_port = 587                           # default: 587 starttls, 465 tls, 25 none
//! tls = "starttls"                          # "starttls" (default) | "tls" | "none"
//! username = "tern"
//! password_env = "TERN_SMTP_PASSWORD"
//! from = "Tern <tern@example.com>"
//! to = ["oncall@example.com"]
//!
//! [[channels]]
//! name = "sns-alerts"
//! type = "sns"
//! topic_arn = "arn:aws:sns:us-east-1:123456789012:tern-alerts"
//! region = "us-east-1"                      # default: the topic ARN's region
//! profile = "prod"                          # optional
//! ```
//!
//! Each secret key (`url`, `secret`, `webhook_url`, `password`) has an `…_env` twin naming an
//! environment variable to read it from, so the file itself can stay secret-free.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use serde::Deserialize;

/// A secret string: webhook URLs, HMAC keys, passwords, header values. `Debug` and `Display`
/// print `<redacted>`; read it with [`Secret::expose`] only where it goes on the wire.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One `[[channels]]` table as written. All keys of all types live here; [`parse_channels`]
/// rejects the ones that don't belong to the entry's `type`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    // webhook
    pub url: Option<Secret>,
    pub url_env: Option<String>,
    pub secret: Option<Secret>,
    pub secret_env: Option<String>,
    pub headers: Option<BTreeMap<String, Secret>>,
    // slack
    pub webhook_url: Option<Secret>,
    pub webhook_url_env: Option<String>,
    // email
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub password_env: Option<String>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    // sns
    pub topic_arn: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// A validated channel. Built only by [`parse_channels`].
#[derive(Debug, Clone)]
pub enum ChannelConfig {
    Webhook(WebhookConfig),
    Slack(SlackConfig),
    Email(EmailConfig),
    Sns(SnsConfig),
}

impl ChannelConfig {
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Webhook(c) => &c.name,
            ChannelConfig::Slack(c) => &c.name,
            ChannelConfig::Email(c) => &c.name,
            ChannelConfig::Sns(c) => &c.name,
        }
    }

    /// `webhook`, `slack`, `email` or `sns`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Email(_) => "email",
            ChannelConfig::Sns(_) => "sns",
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub name: String,
    /// An absolute `http` or `https` URL (checked).
    pub url: Secret,
    /// The HMAC-SHA256 key.
    pub secret: Secret,
    /// Extra request headers; names checked, values are secrets.
    pub headers: Vec<(String, Secret)>,
}

#[derive(Debug, Clone)]
pub struct SlackConfig {
    pub name: String,
    /// The incoming-webhook URL: whoever has it can post to the channel.
    pub webhook_url: Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS; refuses to continue without it.
    StartTls,
    /// TLS from the first byte ("SMTPS", port 465).
    Tls,
    /// No encryption. Only for a relay on a trusted network; credentials are refused.
    None,
}

#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub name: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: lettre::message::Mailbox,
    pub to: Vec<lettre::message::Mailbox>,
}

#[derive(Debug, Clone)]
pub struct SnsConfig {
    pub name: String,
    pub topic_arn: String,
    pub region: String,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Validate every `[[channels]]` entry; secrets named by `…_env` keys are read from the
/// environment now. Errors name the entry and key (`channels[2].url: …`) and never contain a
/// secret.
pub fn parse_channels(raw: &[RawChannel]) -> Result<Vec<ChannelConfig>> {
    parse_channels_with(raw, &|var| std::env::var(var).ok())
}

/// [`parse_channels`] with the environment as a function, for tests.
pub fn parse_channels_with(
    raw: &[RawChannel],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<ChannelConfig>> {
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let c = parse_one(r, &format!("channels[{i}]"), env)?;
        if !names.insert(c.name().to_string()) {
            bail!(
                "channels[{i}].name: {:?} is used by an earlier channel",
                c.name()
            );
        }
        out.push(c);
    }
    Ok(out)
}

const WEBHOOK_KEYS: &[&str] = &["url", "url_env", "secret", "secret_env", "headers"];
const SLACK_KEYS: &[&str] = &["webhook_url", "webhook_url_env"];
const EMAIL_KEYS: &[&str] = &[
    "smtp_host",
    "smtp_port",
    "tls",
    "username",
    "password",
    "password_env",
    "from",
    "to",
];
const SNS_KEYS: &[&str] = &["topic_arn", "region", "profile", "endpoint_url"];

/// The type-specific keys present in `r`.
fn present_keys(r: &RawChannel) -> Vec<&'static str> {
    // `name` and `type` belong to every type and are not listed.
    let set: [(&'static str, bool); 19] = [
        ("url", r.url.is_some()),
        ("url_env", r.url_env.is_some()),
        ("secret", r.secret.is_some()),
        ("secret_env", r.secret_env.is_some()),
        ("headers", r.headers.is_some()),
        ("webhook_url", r.webhook_url.is_some()),
        ("webhook_url_env", r.webhook_url_env.is_some()),
        ("smtp_host", r.smtp_host.is_some()),
        ("smtp_port", r.smtp_port.is_some()),
        ("tls", r.tls.is_some()),
        ("username", r.username.is_some()),
        ("password", r.password.is_some()),
        ("password_env", r.password_env.is_some()),
        ("from", r.from.is_some()),
        ("to", r.to.is_some()),
        ("topic_arn", r.topic_arn.is_some()),
        ("region", r.region.is_some()),
        ("profile", r.profile.is_some()),
        ("endpoint_url", r.endpoint_url.is_some()),
    ];
    set.iter().filter(|(_, p)| *p).map(|(k, _)| *k).collect()
}

fn parse_one(
    r: &RawChannel,
    at: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ChannelConfig> {
    let name = match r.name.as_deref() {
        None => bail!("{at}.name: missing (every channel needs a name)"),
        Some(n) => n,
    };
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!("{at}.name: {name:?} is not 1 to 64 letters, digits, '-', '_' or '.'");
    }
    let name = name.to_string();
    let kind = match r.kind.as_deref() {
        None => bail!("{at}.type: missing (one of \"webhook\", \"slack\", \"email\", \"sns\")"),
        Some(k) => k,
    };
    let allowed = match kind {
        "webhook" => WEBHOOK_KEYS,
        "slack" => SLACK_KEYS,
        "email" => EMAIL_KEYS,
        "sns" => SNS_KEYS,
        other => bail!(
            "{at}.type: {other:?} is not a channel type (one of \"webhook\", \"slack\", \
             \"email\", \"sns\")"
        ),
    };
    if let Some(k) = present_keys(r).into_iter().find(|k| !allowed.contains(k)) {
        bail!(
            "{at}.{k}: not a key of a {kind:?} channel (its keys: name, type, {})",
            allowed.join(", ")
        );
    }
    Ok(match kind {
        "webhook" => {
            let url = secret(&r.url, &r.url_env, "url", at, env)?
                .ok_or_else(|| anyhow!("{at}.url: missing (or url_env)"))?;
            check_http_url(url.expose()).map_err(|e| anyhow!("{at}.url: {e}"))?;
            let key = secret(&r.secret, &r.secret_env, "secret", at, env)?.ok_or_else(|| {
                anyhow!("{at}.secret: missing (or secret_env): every webhook is signed")
            })?;
            if key.expose().len() < 16 {
                bail!("{at}.secret: shorter than 16 bytes; use a long random string");
            }
            let mut headers = Vec::new();
            for (k, v) in r.headers.iter().flatten() {
                if ::http::HeaderName::from_str(k).is_err() {
                    bail!("{at}.headers: {k:?} is not a valid header name");
                }
                let lower = k.to_ascii_lowercase();
                if lower.starts_with("x-tern-") || lower == "content-type" || lower == "host" {
                    bail!("{at}.headers: {k:?} is set by Tern and cannot be overridden");
                }
                if ::http::HeaderValue::from_str(v.expose()).is_err() {
                    bail!("{at}.headers.{k}: not a valid header value (printable ASCII only)");
                }
                headers.push((k.clone(), v.clone()));
            }
            ChannelConfig::Webhook(WebhookConfig {
                name,
                url,
                secret: key,
                headers,
            })
        }
        "slack" => {
            let url = secret(&r.webhook_url, &r.webhook_url_env, "webhook_url", at, env)?
                .ok_or_else(|| anyhow!("{at}.webhook_url: missing (or webhook_url_env)"))?;
            check_http_url(url.expose()).map_err(|e| anyhow!("{at}.webhook_url: {e}"))?;
            ChannelConfig::Slack(SlackConfig {
                name,
                webhook_url: url,
            })
        }
        "email" => parse_email(r, at, name, env)?,
        "sns" => parse_sns(r, at, name)?,
        _ => bail!("{at}.type: {kind:?} is not a channel type"),
    })
}

fn parse_email(
    r: &RawChannel,
    at: &str,
    name: String,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ChannelConfig> {
    use lettre::message::Mailbox;
    let host = match r.smtp_host.as_deref() {
        None | Some("") => bail!("{at}.smtp_host: missing"),
        Some(h) => h,
    };
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        bail!("{at}.smtp_host: {host:?} is not a host name");
    }
    let tls = match r.tls.as_deref() {
        None | Some("starttls") => SmtpTls::StartTls,
        Some("tls") => SmtpTls::Tls,
        Some("none") => SmtpTls::None,
        Some(other) => bail!("{at}.tls: {other:?} is not \"starttls\", \"tls\" or \"none\""),
    };
    let port = match r.smtp_port {
        Some(0) => bail!("{at}.smtp_port: 0 is not a port"),
        Some(p) => p,
        None => match tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        },
    };
    let password = secret(&r.password, &r.password_env, "password", at, env)?;
    match (&r.username, &password) {
        (Some(_), None) => bail!("{at}.password: missing (username is set; or password_env)"),
        (None, Some(_)) => bail!("{at}.username: missing (a password is set)"),
        (Some(u), Some(_)) if u.is_empty() => bail!("{at}.username: empty"),
        _ => {}
    }
    if password.is_some() && tls == SmtpTls::None {
        bail!("{at}.tls: \"none\" would send the SMTP password in clear text; use \"starttls\" or \"tls\"");
    }
    let from = match r.from.as_deref() {
        None => bail!("{at}.from: missing (\"Tern <tern@example.com>\")"),
        Some(f) => Mailbox::from_str(f).map_err(|e| anyhow!("{at}.from: {f:?}: {e}"))?,
    };
    let to_raw = r.to.as_deref().unwrap_or_default();
    if to_raw.is_empty() {
        bail!("{at}.to: missing or empty (a list of addresses)");
    }
    let mut to = Vec::with_capacity(to_raw.len());
    for (j, t) in to_raw.iter().enumerate() {
        to.push(Mailbox::from_str(t).map_err(|e| anyhow!("{at}.to[{j}]: {t:?}: {e}"))?);
    }
    Ok(ChannelConfig::Email(EmailConfig {
        name,
        smtp_host: host.to_string(),
        smtp_port: port,
        tls,
        username: r.username.clone(),
        password,
        from,
        to,
    }))
}

fn parse_sns(r: &RawChannel, at: &str, name: String) -> Result<ChannelConfig> {
    let arn = match r.topic_arn.as_deref() {
        None => bail!("{at}.topic_arn: missing"),
        Some(a) => a,
    };
    // arn:PARTITION:sns:REGION:ACCOUNT:TOPIC
    let parts: Vec<&str> = arn.split(':').collect();
    let arn_region = match parts.as_slice() {
        ["arn", partition, "sns", region, account, topic]
            if !partition.is_empty()
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !topic.is_empty() =>
        {
            *region
        }
        _ => bail!(
            "{at}.topic_arn: {arn:?} is not an SNS topic ARN \
             (arn:aws:sns:REGION:ACCOUNT_ID:TOPIC)"
        ),
    };
    let region = match r.region.as_deref() {
        None => arn_region.to_string(),
        Some(reg) if reg == arn_region => reg.to_string(),
        Some(reg) => {
            bail!("{at}.region: {reg:?} differs from the topic ARN's region {arn_region:?}")
        }
    };
    if let Some(p) = &r.profile {
        if p.is_empty() {
            bail!("{at}.profile: empty");
        }
    }
    if let Some(e) = &r.endpoint_url {
        check_http_url(e).map_err(|err| anyhow!("{at}.endpoint_url: {err}"))?;
    }
    Ok(ChannelConfig::Sns(SnsConfig {
        name,
        topic_arn: arn.to_string(),
        region,
        profile: r.profile.clone(),
        endpoint_url: r.endpoint_url.clone(),
    }))
}

/// The secret from `key` or from the environment variable named by `key_env`; not both.
fn secret(
    value: &Option<Secret>,
    var: &Option<String>,
    key: &str,
    at: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>> {
    match (value, var) {
        (Some(_), Some(_)) => bail!("{at}.{key}: set either {key} or {key}_env, not both"),
        (Some(v), None) if v.expose().is_empty() => bail!("{at}.{key}: empty"),
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(var)) => match env(var) {
            Some(v) if !v.is_empty() => Ok(Some(Secret(v))),
            Some(_) => bail!("{at}.{key}_env: environment variable {var} is empty"),
            None => bail!("{at}.{key}_env: environment variable {var} is not set"),
        },
        (None, None) => Ok(None),
    }
}

/// An absolute http(s) URL with a host. The message never quotes the URL (it may be secret).
fn check_http_url(s: &str) -> Result<()> {
    let uri = ::http::Uri::from_str(s).map_err(|_| anyhow!("not a valid URL"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => bail!("not an http:// or https:// URL"),
    }
    if uri.host().is_none_or(str::is_empty) {
        bail!("the URL has no host");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        channels: Vec<RawChannel>,
    }

    fn env(var: &str) -> Option<String> {
        match var {
            "TERN_TEST_PASSWORD" => Some("env-password-hunter2".to_string()),
            "TERN_TEST_EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn parse(toml_text: &str) -> Result<Vec<ChannelConfig>> {
        let f: File = toml::from_str(toml_text).map_err(|e| anyhow!("{e}"))?;
        parse_channels_with(&f.channels, &env)
    }

    fn err(toml_text: &str) -> String {
        format!("{:#}", parse(toml_text).expect_err("should be rejected"))
    }

    const GOOD: &str = r#"
        [[channels]]
        name = "ops-slack"
        type = "slack"
        webhook_url = "https://hooks.slack.com/services/T000/B000/slack-secret-path"

        [[channels]]
        name = "pager"
        type = "webhook"
        url = "https://hooks.example.com/tern?token=url-secret-token"
        secret = "hmac-secret-0123456789"
        headers = { Authorization = "Bearer header-secret-value" }

        [[channels]]
        name = "mail"
        type = "email"
        smtp_host = "smtp.example.com"
        username = "tern"
        password = "smtp-password-hunter2"
        from = "Tern <tern@example.com>"
        to = ["oncall@example.com", "Ops <ops@example.com>"]

        [[channels]]
        name = "mail-env"
        type = "email"
        smtp_host = "smtp.example.com"
        tls = "tls"
        username = "tern"
        password_env = "TERN_TEST_PASSWORD"
        from = "tern@example.com"
        to = ["oncall@example.com"]

        [[channels]]
        name = "sns"
        type = "sns"
        topic_arn = "arn:aws:sns:eu-west-1:123456789012:tern-alerts"
    "#;

    const SECRETS: &[&str] = &[
        "slack-secret-path",
        "url-secret-token",
        "hmac-secret-0123456789",
        "header-secret-value",
        "smtp-password-hunter2",
        "env-password-hunter2",
    ];

    #[test]
    fn a_good_file_parses_with_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.len(), 5);
        let names: Vec<&str> = c.iter().map(ChannelConfig::name).collect();
        assert_eq!(names, ["ops-slack", "pager", "mail", "mail-env", "sns"]);
        match &c[2] {
            ChannelConfig::Email(e) => {
                assert_eq!((e.smtp_port, e.tls), (587, SmtpTls::StartTls));
                assert_eq!(e.to.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        match &c[3] {
            ChannelConfig::Email(e) => {
                assert_eq!((e.smtp_port, e.tls), (465, SmtpTls::Tls));
                assert_eq!(
                    e.password.as_ref().map(Secret::expose),
                    Some("env-password-hunter2")
                );
            }
            other => panic!("{other:?}"),
        }
        match &c[4] {
            ChannelConfig::Sns(s) => assert_eq!(s.region, "eu-west-1"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let f: File = toml::from_str(GOOD).unwrap();
        let raw_dbg = format!("{:?}", f.channels);
        let parsed_dbg = format!("{:?}", parse(GOOD).unwrap());
        for s in SECRETS {
            assert!(!raw_dbg.contains(s), "{s} in raw Debug: {raw_dbg}");
            assert!(!parsed_dbg.contains(s), "{s} in Debug: {parsed_dbg}");
        }
        assert!(parsed_dbg.contains("<redacted>"));
        assert_eq!(Secret::new("x").to_string(), "<redacted>");
    }

    #[test]
    fn every_bad_key_is_named() {
        let cases: &[(&str, &str)] = &[
            (r#"type = "slack""#, "channels[0].name: missing"),
            (
                r#"name = "a b"
                type = "slack""#,
                "channels[0].name: \"a b\" is not",
            ),
            (r#"name = "x""#, "channels[0].type: missing"),
            (
                r#"name = "x"
                type = "pagerduty""#,
                "channels[0].type: \"pagerduty\" is not a channel type",
            ),
            (
                r#"name = "x"
                type = "slack""#,
                "channels[0].webhook_url: missing",
            ),
            (
                r#"name = "x"
                type = "slack"
                webhook_url = "ftp://hooks.slack.com/x""#,
                "channels[0].webhook_url: not an http",
            ),
            (
                r#"name = "x"
                type = "slack"
                webhook_url = "https://h/x"
                smtp_host = "a""#,
                "channels[0].smtp_host: not a key of a \"slack\" channel",
            ),
            (
                r#"name = "x"
                type = "webhook"
                secret = "0123456789abcdef""#,
                "channels[0].url: missing",
            ),
            (
                r#"name = "x"
                type = "webhook"
                url = "not a url""#,
                "channels[0].url: not a valid URL",
            ),
            (
                r#"name = "x"
                type = "webhook"
                url = "https://h/x""#,
                "channels[0].secret: missing",
            ),
            (
                r#"name = "x"
                type = "webhook"
                url = "https://h/x"
                secret = "short""#,
                "channels[0].secret: shorter than 16 bytes",
            ),
            (
                r#"name = "x"
                type = "webhook"
                url = "https://h/x"
                secret = "0123456789abcdef"
                secret_env = "TERN_TEST_PASSWORD""#,
                "channels[0].secret: set either secret or secret_env",
            ),
            (
                r#"name = "x"
                type = "webhook"
                url_env = "TERN_TEST_UNSET"
                secret = "0123456789abcdef""#,
                "channels[0].url_env: environment variable TERN_TEST_UNSET is not set",
            ),
            (
                r#"name = "x"
                type = "webhook"
                url_env = "TERN_TEST_EMPTY"
                secret = "0123456789abcdef""#,
                "channels[0].url_env: environment variable TERN_TEST_EMPTY is empty",
            ),
            (
                r#"name = "x"
                type = "webhook"
                url = "https://h/x"
                secret = "0123456789abcdef"
                headers = { "X-Tern-Signature" = "v" }"#,
                "channels[0].headers: \"X-Tern-Signature\" is set by Tern",
            ),
            (
                r#"name = "x"
                type = "webhook"
                url = "https://h/x"
                secret = "0123456789abcdef"
                headers = { "bad header" = "v" }"#,
                "channels[0].headers: \"bad header\" is not a valid header name",
            ),
            (
                r#"name = "x"
                type = "email"
                from = "a@b.c"
                to = ["a@b.c"]"#,
                "channels[0].smtp_host: missing",
            ),
            (
                r#"name = "x"
                type = "email"
                smtp_host = "h"
                tls = "ssl"
                from = "a@b.c"
                to = ["a@b.c"]"#,
                "channels[0].tls: \"ssl\" is not",
            ),
            (
                r#"name = "x"
                type = "email"
                smtp_host = "h"
                smtp_port = 0
                from = "a@b.c"
                to = ["a@b.c"]"#,
                "channels[0].smtp_port: 0 is not a port",
            ),
            (
                r#"name = "x"
                type = "email"
                smtp_host = "h"
                username = "u"
                from = "a@b.c"
                to = ["a@b.c"]"#,
                "channels[0].password: missing",
            ),
            (
                r#"name = "x"
                type = "email"
                smtp_host = "h"
                password = "p"
                from = "a@b.c"
                to = ["a@b.c"]"#,
                "channels[0].username: missing",
            ),
            (
                r#"name = "x"
                type = "email"
                smtp_host = "h"
                tls = "none"
                username = "u"
                password = "p"
                from = "a@b.c"
                to = ["a@b.c"]"#,
                "channels[0].tls: \"none\" would send the SMTP password",
            ),
            (
                r#"name = "x"
                type = "email"
                smtp_host = "h"
                to = ["a@b.c"]"#,
                "channels[0].from: missing",
            ),
            (
                r#"name = "x"
                type = "email"
                smtp_host = "h"
                from = "not an address"
                to = ["a@b.c"]"#,
                "channels[0].from: \"not an address\"",
            ),
            (
                r#"name = "x"
                type = "email"
                smtp_host = "h"
                from = "a@b.c"
                to = []"#,
                "channels[0].to: missing or empty",
            ),
            (
                r#"name = "x"
                type = "email"
                smtp_host = "h"
                from = "a@b.c"
                to = ["a@b.c", "nope"]"#,
                "channels[0].to[1]: \"nope\"",
            ),
            (
                r#"name = "x"
                type = "sns""#,
                "channels[0].topic_arn: missing",
            ),
            (
                r#"name = "x"
                type = "sns"
                topic_arn = "arn:aws:sqs:us-east-1:123456789012:q""#,
                "channels[0].topic_arn: \"arn:aws:sqs",
            ),
            (
                r#"name = "x"
                type = "sns"
                topic_arn = "arn:aws:sns:us-east-1:123456789012:t"
                region = "eu-west-1""#,
                "channels[0].region: \"eu-west-1\" differs",
            ),
            (
                r#"name = "x"
                type = "sns"
                topic_arn = "arn:aws:sns:us-east-1:123456789012:t"
                endpoint_url = "localhost:5000""#,
                "channels[0].endpoint_url: not an http",
            ),
            (
                r#"name = "x"
                type = "sns"
                topic_arn = "arn:aws:sns:us-east-1:123456789012:t"
                password = "p""#,
                "channels[0].password: not a key of a \"sns\" channel",
            ),
        ];
        for (body, want) in cases {
            let got = err(&format!("[[channels]]\n{body}"));
            assert!(
                got.contains(want),
                "for\n{body}\nwant {want:?}\ngot  {got:?}"
            );
        }
    }

    #[test]
    fn the_index_points_at_the_bad_entry_and_names_are_unique() {
        let text = format!(
            "{GOOD}\n[[channels]]\nname = \"pager\"\ntype = \"slack\"\nwebhook_url = \"https://h/x\"\n"
        );
        assert!(err(&text).contains("channels[5].name: \"pager\" is used by an earlier channel"));
        let text = format!("{GOOD}\n[[channels]]\nname = \"late\"\ntype = \"slack\"\n");
        assert!(err(&text).contains("channels[5].webhook_url: missing"));
    }

    #[test]
    fn unknown_keys_are_rejected_by_serde() {
        let e = err("[[channels]]\nname = \"x\"\ntype = \"slack\"\nwebhok_url = \"https://h\"\n");
        assert!(e.contains("webhok_url"), "{e}");
    }

    #[test]
    fn errors_never_quote_secrets() {
        // A bad URL whose text is the secret: the message says what is wrong, not what it was.
        let e = err(
            "[[channels]]\nname = \"x\"\ntype = \"slack\"\nwebhook_url = \"hooks.slack.com/slack-secret-path\"\n",
        );
        assert!(!e.contains("slack-secret-path"), "{e}");
        let e = err(
            "[[channels]]\nname = \"x\"\ntype = \"webhook\"\nurl = \"https://h/x\"\nsecret = \"hmac-secret\"\n",
        );
        assert!(!e.contains("hmac-secret"), "{e}");
        let e = err(
            "[[channels]]\nname = \"x\"\ntype = \"webhook\"\nurl = \"https://h/x\"\nsecret = \"0123456789abcdef\"\nheaders = { A = \"header-secret-value\\n\" }\n",
        );
        assert!(!e.contains("header-secret-value"), "{e}");
    }
}
