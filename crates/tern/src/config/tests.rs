#![allow(clippy::unwrap_used)]
use super::*;
use tern_core::insights::{RuleId, Thresholds};

fn err(text: &str) -> String {
    format!("{:#}", Config::parse(text).unwrap_err())
}

#[test]
fn empty_file_is_the_defaults() {
    let c = Config::parse("").unwrap();
    assert_eq!(c.server.listen.to_string(), DEFAULT_LISTEN);
    assert!(c.accounts.is_empty());
    assert_eq!(
        c.retention.raw, None,
        "nothing is deleted unless configured"
    );
    assert_eq!(c.retention.rollups, None);
    assert!(c.pull.functions.matches("anything"));
}

#[test]
fn full_example_parses() {
    let hash = TokenHash::of("secret").render();
    let pw = crate::password::hash("a long dashboard passphrase").unwrap();
    let c = Config::parse(&format!(
        r#"
[[dashboard.users]]
name = "alice"
password_hash = "{pw}"

[store]
path = "/tmp/t.db"
[server]
listen = "0.0.0.0:9000"
max_body_mb = 8
[auth]
api_tokens = ["{hash}"]
ingest_keys = ["{hash}"]
[retention]
raw = "7d"
rollups = "forever"
[inventory]
refresh = "5m"
[pull]
since = "2h"
lookback = "1m"
requests_per_second = 2.5
functions = ["orders-*", "billing"]
[[accounts]]
name = "prod"
profile = "prod-sso"
regions = ["us-east-1", "eu-west-1"]
[[accounts]]
name = "test"
regions = ["us-east-1"]
endpoint_url = "http://127.0.0.1:5000"
functions = ["*"]
"#
    ))
    .unwrap();
    assert_eq!(c.store, StoreConfig::SqlitePath(PathBuf::from("/tmp/t.db")));
    assert_eq!(c.server.max_body_bytes, 8 << 20);
    assert!(TokenHash::matches_any(&c.auth.api_tokens, "secret"));
    assert!(!TokenHash::matches_any(&c.auth.api_tokens, "secreT"));
    assert_eq!(c.auth.users.len(), 1);
    assert_eq!(c.auth.users[0].name, "alice");
    assert!(c.auth.users[0]
        .password_hash
        .verify("a long dashboard passphrase"));
    assert!(!format!("{c:?}").contains(&pw), "the hash never prints");
    assert_eq!(c.retention.rollups, None);
    assert_eq!(c.accounts.len(), 2);
    assert!(c.accounts[0].functions.matches("orders-api"));
    assert!(!c.accounts[0].functions.matches("payments"));
    assert!(c.accounts[1].functions.matches("payments"));
    assert_eq!(c.accounts[0].profile.as_deref(), Some("prod-sso"));
}

#[test]
fn every_bad_key_is_named() {
    for (text, needle) in [
            ("[server]\nlisten = \"localhost\"", "server.listen"),
            ("[server]\nlisten = 8080", "listen"),
            ("[server]\nmax_body_mb = 0", "server.max_body_mb"),
            ("[server]\nlistne = \"x\"", "unknown field `listne`"),
            ("[auth]\napi_tokens = [\"hunter2\"]", "auth.api_tokens[0]"),
            // A password (not a hash), a token hash, a typo'd PHC string, a bad name.
            (
                "[[dashboard.users]]\nname = \"alice\"\npassword_hash = \"hunter2\"",
                "dashboard.users[0].password_hash (user \"alice\") is not an Argon2 hash",
            ),
            (
                "[[dashboard.users]]\nname = \"alice\"\npassword_hash = \"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
                "run `tern passwd alice`",
            ),
            (
                "[[dashboard.users]]\nname = \"alice\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$\"",
                "dashboard.users[0].password_hash",
            ),
            (
                "[[dashboard.users]]\nname = \"\"\npassword_hash = \"x\"",
                "dashboard.users[0].name",
            ),
            (
                "[[dashboard.users]]\nname = \"alice\"",
                "missing field `password_hash`",
            ),
            (
                "[[dashboard.users]]\nname = \"alice\"\npassword = \"hunter2\"",
                "unknown field `password`",
            ),
            ("[retention]\nraw = \"soon\"", "retention.raw"),
            ("[retention]\nraw = \"30d\"\nrollups = \"7d\"", "retention.rollups"),
            ("[retention]\nraw = \"5m\"", "at least an hour"),
            ("[pull]\nrequests_per_second = 10", "at most 5 per second"),
            ("[pull]\nrequests_per_second = -1", "pull.requests_per_second"),
            ("[pull]\nfunctions = [\"[\"]", "pull.functions"),
            ("[pull]\npoll = \"0s\"", "pull.poll"),
            ("[[accounts]]\nname = \"a\"\nregions = []", "accounts[0].regions"),
            ("[[accounts]]\nname = \"a\"\nregions = [\"US EAST\"]", "accounts[0].regions"),
            ("[[accounts]]\nname = \"a b\"\nregions = [\"us-east-1\"]", "accounts[0].name"),
            (
                "[[accounts]]\nname = \"a\"\nregions = [\"us-east-1\"]\n[[accounts]]\nname = \"a\"\nregions = [\"us-east-1\"]",
                "used twice",
            ),
            (
                "[[accounts]]\nname = \"a\"\nregions = [\"us-east-1\"]\nendpoint_url = \"ftp://x\"",
                "accounts[0].endpoint_url",
            ),
            ("[[accounts]]\nregions = [\"us-east-1\"]", "missing field `name`"),
            ("not toml at all [", "TOML"),
            ("[alerts]\nevaluate_every = \"0s\"", "alerts.evaluate_every"),
            ("[alerts]\nevaluate_evry = \"1m\"", "unknown field `evaluate_evry`"),
            ("[alerts]\ndisable_builtin = [\"builtin.memroy\"]", "alerts.disable_builtin[0]"),
            ("[alerts]\ndefault_channels = [\"ops\"]", "alerts.default_channels[0]"),
            ("[alerts]\ndashboard_url = \"tern.example.com\"", "alerts.dashboard_url"),
            ("[alerts]\nresolve_after = \"10ms\"", "alerts.resolve_after"),
            ("[alerts]\nmax_attempts = 0", "alerts.max_attempts"),
            ("[[channels]]\nname = \"x\"\ntype = \"pager\"", "channels[0].type"),
            ("[[policies]]\nname = \"p\"\nthreshold = 1", "policies[0].metric"),
            ("[[policies]]\nname = \"p\"\nmetric = \"latency\"\nthreshold = 1", "policies[0].metric"),
            ("[[policies]]\nname = \"p\"\nmetric = \"errors\"", "policies[0].threshold"),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\naggregation = \"p99\"",
                "policies[0]: aggregation p99",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\ncomparison = \"=\"",
                "policies[0].comparison",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\nwindow = \"soon\"",
                "policies[0].window",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\nchannels = [\"ops\"]",
                "policies[0].channels[0]",
            ),
            (
                "[[policies]]\nname = \"builtin.x\"\nmetric = \"errors\"\nthreshold = 1",
                "reserved",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\nseverity = \"huge\"",
                "policies[0].severity",
            ),
            (
                "[[policies]]\nname = \"p\"\nmetric = \"errors\"\nthreshold = 1\n[[error_policies]]\nname = \"p\"\non = \"new\"",
                "error_policies[0].name",
            ),
            ("[[error_policies]]\nname = \"e\"\non = \"sometimes\"", "error_policies[0].on"),
            ("[[error_policies]]\nname = \"e\"\non = \"new\"\ncooldown = \"x\"", "error_policies[0].cooldown"),
            ("[[error_policies]]\nname = \"e\"\non = \"new\"\nfoo = 1", "unknown field `foo`"),
            ("[insights]\nerror_rate_warning = 1.5", "insights.error_rate_warning"),
            ("[insights]\nerror_rate_warning = 0", "insights.error_rate_warning"),
            ("[insights]\nerror_rate_warning = nan", "insights.error_rate_warning"),
            ("[insights]\ncold_start_rate = -0.01", "insights.cold_start_rate"),
            ("[insights]\nover_provisioned_ratio = 2", "insights.over_provisioned_ratio"),
            ("[insights]\nnear_timeout_ratio = 0", "insights.near_timeout_ratio"),
            ("[insights]\nhang_window = 1.1", "insights.hang_window"),
            ("[insights]\ninit_repeated_ratio = 0.8", "unknown field `init_repeated_ratio`"),
            ("[insights]\nspike_factor = 0.5", "insights.spike_factor"),
            ("[insights]\ngenerous_timeout_factor = inf", "insights.generous_timeout_factor"),
            (
                "[insights]\nlow_reuse_invocations_per_environment = 0.5",
                "insights.low_reuse_invocations_per_environment",
            ),
            ("[insights]\nmin_invocations = 0", "insights.min_invocations"),
            ("[insights]\nerror_min_invocations = 0", "insights.error_min_invocations"),
            (
                "[insights]\nspike_min_invocations_per_5min = 0",
                "insights.spike_min_invocations_per_5min",
            ),
            ("[insights]\nmemory_headroom = -0.1", "insights.memory_headroom"),
            ("[insights]\nlogging_cost_ratio = 0", "insights.logging_cost_ratio"),
            (
                "[insights]\narm64_min_monthly_saving_usd = -1",
                "insights.arm64_min_monthly_saving_usd",
            ),
            ("[insights]\ninactive = \"12h\"", "insights.inactive"),
            ("[insights]\ninactive = \"36h\"", "whole days"),
            ("[insights]\nruntime_soon = \"soon\"", "insights.runtime_soon"),
            ("[insights]\nspike_lookback = \"10m\"", "insights.spike_lookback"),
            ("[insights]\nspike_lookback = \"30d\"", "insights.spike_lookback"),
            ("[insights]\ngenerous_timeout_min = \"1h\"", "insights.generous_timeout_min"),
            (
                "[insights]\nerror_rate_warning = 0.2\nerror_rate_critical = 0.1",
                "insights.error_rate_critical",
            ),
            ("[insights]\nunder_provisioned_ratio = 0.4", "insights.under_provisioned_ratio"),
            (
                "[insights]\ndisable = [\"memory.over_provisioned\", \"memroy.out_of_memory\"]",
                "insights.disable[1]",
            ),
            ("[insights]\nerror_rate = 0.5", "unknown field `error_rate`"),
            ("[insights]\ninactive_days = 30", "unknown field `inactive_days`"),
            ("[insights]\ninactive = 30", "inactive"),
        ] {
            let e = err(text);
            assert!(e.contains(needle), "{text:?}: {e:?} lacks {needle:?}");
        }
}

#[test]
fn insights_section_parses() {
    assert_eq!(
        Config::parse("").unwrap().insights,
        InsightSettings::default()
    );
    assert_eq!(
        Config::parse("[insights]").unwrap().insights,
        InsightSettings::default()
    );
    let c = Config::parse(
        r#"
[insights]
min_invocations = 20
over_provisioned_ratio = 0.4
memory_headroom = 0
under_provisioned_ratio = 0.9
near_timeout_ratio = 0.8
hang_window = 0.7
generous_timeout_factor = 5
generous_timeout_min = "1m"
error_rate_warning = 0.05
error_rate_critical = 0.05
error_min_invocations = 100
cold_start_rate = 0.02
low_reuse_invocations_per_environment = 3
arm64_min_monthly_saving_usd = 0
runtime_soon = "90d"
logging_cost_ratio = 0.5
spike_factor = 2
spike_min_invocations_per_5min = 50
spike_lookback = "24h"
inactive = "14d"
disable = ["memory.over_provisioned", "logs.no_retention", "memory.over_provisioned"]
"#,
    )
    .unwrap();
    let t = c.insights.thresholds;
    assert_eq!(
        t,
        Thresholds {
            min_invocations: 20,
            over_provisioned_ratio: 0.4,
            memory_headroom: 0.0,
            under_provisioned_ratio: 0.9,
            near_timeout_ratio: 0.8,
            hang_window: 0.7,
            generous_timeout_factor: 5.0,
            generous_timeout_min_ms: 60_000,
            error_rate_warning: 0.05,
            error_rate_critical: 0.05,
            error_min_invocations: 100,
            cold_start_rate: 0.02,
            low_reuse_invocations_per_environment: 3.0,
            arm64_min_monthly_saving_usd: 0.0,
            runtime_soon_days: 90,
            logging_cost_ratio: 0.5,
            spike_factor: 2.0,
            spike_min_invocations_per_5min: 50,
            spike_lookback_ms: 86_400_000,
            inactive_days: 14,
        }
    );
    assert_eq!(
        c.insights.disabled,
        [RuleId::MemoryOverProvisioned, RuleId::LogsNoRetention]
    );
    assert!(!c.insights.is_enabled(RuleId::LogsNoRetention));
    assert!(c.insights.is_enabled(RuleId::ErrorRateHigh));
    // One key leaves the others at their defaults.
    let one = Config::parse("[insights]\nerror_rate_warning = 0.5")
        .unwrap()
        .insights;
    assert_eq!(one.thresholds.error_rate_warning, 0.5);
    // … except the critical bound, lifted to the warning one.
    assert_eq!(one.thresholds.error_rate_critical, 0.5);
    assert_eq!(
        Thresholds {
            error_rate_warning: Thresholds::default().error_rate_warning,
            error_rate_critical: Thresholds::default().error_rate_critical,
            ..one.thresholds
        },
        Thresholds::default()
    );
    assert!(one.disabled.is_empty());
    // Bounds are inclusive: 1 is a valid fraction and factor.
    let edge = Config::parse(
        "[insights]\nerror_rate_warning = 1\nerror_rate_critical = 1\nspike_factor = 1",
    )
    .unwrap()
    .insights;
    assert_eq!(edge.thresholds.error_rate_critical, 1.0);
    assert_eq!(edge.thresholds.spike_factor, 1.0);
}

#[test]
fn alerts_example_parses() {
    let c = Config::parse(
        r#"
[alerts]
evaluate_every = "1s"
disable_builtin = ["builtin.memory"]
default_channels = ["ops-slack"]
dashboard_url = "https://tern.example.com/"
resolve_after = "2s"
resolve_after_evals = 2
retry_base = "200ms"
[[channels]]
name = "ops-slack"
type = "slack"
webhook_url = "https://hooks.slack.com/services/T/B/x"
[[channels]]
name = "pager"
type = "webhook"
url = "https://example.com/h"
secret = "0123456789abcdef0123"
[[policies]]
name = "checkout-errors"
functions = ["checkout-*"]
tags = { team = "pay" }
metric = "error_rate"
comparison = ">="
threshold = 0.05
window = "10m"
min_invocations = 20
severity = "critical"
channels = ["pager"]
[[error_policies]]
name = "every"
on = "every"
cooldown = "30m"
"#,
    )
    .unwrap();
    let a = &c.alerts;
    assert_eq!(a.evaluate_every, Duration::from_secs(1));
    assert_eq!(a.dashboard_url.as_deref(), Some("https://tern.example.com"));
    assert_eq!(a.damping.resolve_after_ms, 2000);
    assert_eq!(a.damping.resolve_after_evals, 2);
    assert_eq!(a.retry_base, Duration::from_millis(200));
    assert_eq!(a.policies[0].channels, ["pager"]);
    assert_eq!(a.policies[0].policy.window_ms, 600_000);
    assert_eq!(
        a.policies[0].policy.target.tags,
        [("team".to_string(), "pay".to_string())]
    );
    assert_eq!(a.error_policies[0].channels, ["ops-slack"]);
    assert_eq!(a.error_policies[0].policy.cooldown_ms, 1_800_000);
    let (rules, _) = crate::alert::rules::Rules::effective(a, &[]);
    let memory = rules.find_metric("builtin.memory").unwrap();
    assert!(!memory.policy.enabled);
    // Secrets stay out of Debug.
    assert!(!format!("{c:?}").contains("0123456789abcdef0123"));
    assert!(!format!("{c:?}").contains("services/T/B/x"));
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    assert!(format!("{:#}", Config::load(&missing).unwrap_err()).contains("nope.toml"));
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; (MAX_CONFIG_BYTES + 1) as usize]).unwrap();
    assert!(format!("{:#}", Config::load(&big).unwrap_err()).contains("at most"));
    let bin = dir.path().join("bin.toml");
    std::fs::write(&bin, b"a = \"\xff\"").unwrap();
    assert!(format!("{:#}", Config::load(&bin).unwrap_err()).contains("not UTF-8"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlisten = \"nowhere\"\n").unwrap();
    let e = format!("{:#}", Config::load(&bad).unwrap_err());
    assert!(e.contains("bad.toml") && e.contains("server.listen"), "{e}");
    assert!(format!("{:#}", Config::load(dir.path()).unwrap_err()).contains("not a file"));
}

#[test]
fn token_hashes_round_trip_and_hide() {
    let h = TokenHash::of("abc");
    assert_eq!(TokenHash::parse(&h.render()), Some(h.clone()));
    assert_eq!(format!("{h:?}"), "TokenHash(<redacted>)");
    assert!(TokenHash::parse("sha256:zz").is_none());
    assert!(TokenHash::parse(&"sha256:".repeat(2)).is_none());
    assert!(TokenHash::parse(&format!("sha256:{}", "é".repeat(32))).is_none());
    assert!(!TokenHash::matches_any(&[], "abc"));
}
