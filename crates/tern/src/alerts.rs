//! `tern alerts`: dry-run a policy over stored data (`test`), list the policies in force
//! (`list`), list incidents (`incidents`), and send a test notification (`send-test`).
//!
//! JSON output uses the API's wire types (`GET /api/v1/policies`, `/incidents`), so scripts
//! see one shape.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use tern_core::alert::MetricPolicy;
use tern_store::{IncidentQuery, IncidentState, Store, StoreBackend, TimeRange};

use crate::alert::channels::{self, Kind, Notification, SendContext};
use crate::alert::dry;
use crate::alert::engine::rules_now;
use crate::alert::rules::{AlertConfig, Rules};
use crate::cli::{
    AlertsAction, AlertsArgs, AlertsIncidentsArgs, AlertsListArgs, AlertsSendTestArgs,
    AlertsTestArgs, TableOrJson,
};
use crate::config::Config;

use crate::serve::api::incidents::JsonIncident;
use crate::serve::api::policies::JsonPolicy;
use crate::text::printable;
use crate::timeutil::{self, format_ms, rfc3339_ms};

pub fn run(args: AlertsArgs) -> Result<String> {
    match args.action {
        AlertsAction::Test(a) => test(&a),
        AlertsAction::List(a) => list(&a),
        AlertsAction::Incidents(a) => incidents(&a),
        AlertsAction::SendTest(a) => send_test(&a),
    }
}

fn load_config(path: Option<&Path>) -> Result<AlertConfig> {
    Ok(match path {
        Some(p) => Config::load(p)?.alerts,
        None => Config::default().alerts,
    })
}

fn open_db(backend: &StoreBackend) -> Result<Box<dyn Store>> {
    if !crate::ingest::store_exists(backend) {
        bail!(
            "no such {} (create it with `tern ingest --db PATH …` or run `tern serve`)",
            crate::config::describe(backend)
        );
    }
    crate::ingest::open_store_read(backend)
}

/// The policies in force: built-ins, the config's, and the API's stored in the database.
fn rules(store: Option<&dyn Store>, cfg: &AlertConfig) -> Result<Rules> {
    match store {
        Some(s) => rules_now(s, cfg),
        None => Ok(Rules::effective(cfg, &[]).0),
    }
}

// ---------------------------------------------------------------------------------------------
// tern alerts test

#[derive(Serialize)]
struct JsonWouldBe {
    function: String,
    opened_at: String,
    resolved_at: Option<String>,
    resolve_reason: Option<&'static str>,
    value: f64,
    worst_value: f64,
    threshold: f64,
}

#[derive(Serialize)]
struct JsonEvaluations {
    firing: usize,
    ok: usize,
    no_data: usize,
    below_minimum: usize,
}

#[derive(Serialize)]
struct JsonDryRun {
    policy: JsonPolicy,
    from: String,
    to: String,
    functions: usize,
    evaluations: JsonEvaluations,
    incidents: Vec<JsonWouldBe>,
}

/// A one-line description of a metric policy: `error_rate avg > 0.01 over 5m, ≥ 10 invocations`.
pub fn describe(p: &MetricPolicy) -> String {
    let mut s = format!(
        "{} {} {} {} over {}",
        p.metric.as_str(),
        p.aggregation.as_str(),
        p.comparison.as_str(),
        channels::fmt_number(p.threshold),
        humantime::format_duration(std::time::Duration::from_millis(p.window_ms.max(0) as u64))
    );
    if p.min_invocations > 0 {
        let _ = write!(s, ", at least {} invocations", p.min_invocations);
    }
    s
}

fn test(a: &AlertsTestArgs) -> Result<String> {
    let cfg = load_config(a.config.as_deref())?;
    let store = open_db(&crate::config::store_backend(
        a.db.as_deref(),
        a.config.as_deref(),
    )?)?;
    let rules = rules(Some(store.as_ref()), &cfg)?;
    let Some(rule) = rules.find_metric(&a.rule) else {
        if rules.error.iter().any(|r| r.policy.name == a.rule) {
            bail!(
                "{:?} is an error policy; dry runs take metric policies (error policies react \
                 to new and recurring error groups: see `tern errors`)",
                a.rule
            );
        }
        let names: Vec<&str> = rules
            .metric
            .iter()
            .map(|r| r.policy.name.as_str())
            .collect();
        bail!(
            "no metric policy named {:?} (in force: {})",
            a.rule,
            names.join(", ")
        );
    };
    let selected = match crate::views::selection::matching(&store, a.function.as_deref())? {
        Some(f) => f,
        None => crate::report::select_functions(&store, None)?,
    };
    if selected.is_empty() {
        bail!(match &a.function {
            Some(g) => format!("no stored function matches --function {g:?}"),
            None => "the database has no functions yet".to_string(),
        });
    }
    let metas: Vec<_> = store
        .functions()?
        .into_iter()
        .filter(|m| selected.contains(&m.function))
        .collect();
    let now = timeutil::now_ms();
    let range = a.range.resolve(now)?;
    let (from, to) = clamp(&store, range, now)?;
    let policy = rule.policy.clone();
    let runs = dry::run(
        &store,
        std::slice::from_ref(&policy),
        &metas,
        from,
        to,
        &cfg.damping,
    )?;
    let mut evaluations = JsonEvaluations {
        firing: 0,
        ok: 0,
        no_data: 0,
        below_minimum: 0,
    };
    let mut incidents = Vec::new();
    for r in &runs {
        evaluations.firing += r.run.firing;
        evaluations.ok += r.run.ok;
        evaluations.no_data += r.run.no_data;
        evaluations.below_minimum += r.run.below_minimum;
        for i in &r.run.incidents {
            incidents.push(JsonWouldBe {
                function: r.function.clone(),
                opened_at: rfc3339_ms(i.opened_at_ms),
                resolved_at: i.resolved_at_ms.map(rfc3339_ms),
                resolve_reason: i.resolve_reason.map(|r| r.as_str()),
                value: i.value,
                worst_value: i.worst_value,
                threshold: i.threshold,
            });
        }
    }
    incidents.sort_by(|a, b| {
        a.opened_at
            .cmp(&b.opened_at)
            .then(a.function.cmp(&b.function))
    });
    let doc = JsonDryRun {
        policy: JsonPolicy::metric(rule),
        from: rfc3339_ms(from),
        to: rfc3339_ms(to),
        functions: metas.len(),
        evaluations,
        incidents,
    };
    match a.format {
        TableOrJson::Json => Ok(serde_json::to_string_pretty(&doc)? + "\n"),
        TableOrJson::Table => Ok(dry_run_table(&doc, &policy)),
    }
}

/// The requested range cut to the stored data (walking empty windows finds nothing).
fn clamp(store: &dyn Store, range: TimeRange, now: i64) -> Result<(i64, i64)> {
    let Some((lo, hi)) = store.time_bounds()? else {
        bail!("the database has no invocations yet");
    };
    let from = range.from_ms.unwrap_or(lo).max(lo);
    let to = range.to_ms.unwrap_or(now).min(hi + 1);
    if to <= from {
        bail!(
            "no stored data in the range (data spans {} to {})",
            format_ms(lo),
            format_ms(hi)
        );
    }
    Ok((from, to))
}

fn dry_run_table(d: &JsonDryRun, p: &MetricPolicy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Dry run of {} ({}) on {} function(s), {} to {}",
        p.name,
        describe(p),
        d.functions,
        d.from,
        d.to
    );
    let e = &d.evaluations;
    let _ = writeln!(
        out,
        "Evaluations: {} firing, {} ok, {} no data, {} below the invocation minimum\n",
        e.firing, e.ok, e.no_data, e.below_minimum
    );
    if d.incidents.is_empty() {
        out.push_str("It would not have fired.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<28}  {:<20}  {:<20}  {:>12}  {:>12}",
        "FUNCTION", "OPENED (UTC)", "RESOLVED (UTC)", "WORST", "THRESHOLD"
    );
    let short = |s: &str| s.replace('T', " ").chars().take(19).collect::<String>();
    for i in &d.incidents {
        let _ = writeln!(
            out,
            "{:<28}  {:<20}  {:<20}  {:>12}  {:>12}",
            printable(&i.function),
            short(&i.opened_at),
            i.resolved_at
                .as_deref()
                .map(short)
                .unwrap_or_else(|| "still open".into()),
            channels::fmt_number(i.worst_value),
            format!(
                "{} {}",
                p.comparison.as_str(),
                channels::fmt_number(i.threshold)
            ),
        );
    }
    let mut fns: Vec<&str> = d.incidents.iter().map(|i| i.function.as_str()).collect();
    fns.sort_unstable();
    fns.dedup();
    let _ = writeln!(
        out,
        "\n{} would-be incident(s) on {} function(s).",
        d.incidents.len(),
        fns.len()
    );
    out
}

// ---------------------------------------------------------------------------------------------
// tern alerts list / incidents

fn list(a: &AlertsListArgs) -> Result<String> {
    let cfg = load_config(a.config.as_deref())?;
    let backend = crate::config::store_backend(a.db.as_deref(), a.config.as_deref())?;
    let store = if crate::ingest::store_exists(&backend) {
        Some(crate::ingest::open_store_read(&backend)?)
    } else {
        None
    };
    let rules = rules(store.as_deref(), &cfg)?;
    let all = JsonPolicy::all(&rules);
    if a.format == TableOrJson::Json {
        return Ok(serde_json::to_string_pretty(&all)? + "\n");
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28}  {:<6}  {:<7}  {:<3}  {:<60}  CHANNELS",
        "NAME", "TYPE", "SOURCE", "ON", "CONDITION"
    );
    for r in &rules.metric {
        let _ = writeln!(
            out,
            "{:<28}  {:<6}  {:<7}  {:<3}  {:<60}  {}",
            r.policy.name,
            "metric",
            r.source.as_str(),
            if r.policy.enabled { "yes" } else { "no" },
            describe(&r.policy),
            channel_list(&r.channels)
        );
    }
    for r in &rules.error {
        let p = &r.policy;
        let cond = if p.cooldown_ms > 0 {
            format!(
                "{}, cooldown {}",
                p.on.as_str(),
                humantime::format_duration(std::time::Duration::from_millis(p.cooldown_ms as u64))
            )
        } else {
            p.on.as_str().to_string()
        };
        let _ = writeln!(
            out,
            "{:<28}  {:<6}  {:<7}  {:<3}  {:<60}  {}",
            p.name,
            "error",
            r.source.as_str(),
            if p.enabled { "yes" } else { "no" },
            cond,
            channel_list(&r.channels)
        );
    }
    for r in &rules.regression {
        let p = &r.policy;
        let cond = format!(
            "latest change: p95 +{:.0}% or errors ×{} at {:.0}%, within {}",
            100.0 * p.p95_increase,
            p.error_rate_ratio,
            100.0 * p.confidence,
            humantime::format_duration(std::time::Duration::from_millis(p.max_age_ms as u64))
        );
        let _ = writeln!(
            out,
            "{:<28}  {:<6}  {:<7}  {:<3}  {:<60}  {}",
            p.name,
            "change",
            r.source.as_str(),
            if p.enabled { "yes" } else { "no" },
            cond,
            channel_list(&r.channels)
        );
    }
    if cfg.channels.is_empty() {
        out.push_str(
            "\nNo [[channels]] configured: incidents are recorded but nobody is notified.\n",
        );
    }
    Ok(out)
}

fn channel_list(c: &[String]) -> String {
    if c.is_empty() {
        "(none)".into()
    } else {
        c.join(", ")
    }
}

fn incidents(a: &AlertsIncidentsArgs) -> Result<String> {
    let store = open_db(&a.db.backend()?)?;
    let state = match a.state.as_deref() {
        None => None,
        Some(s) => Some(
            IncidentState::parse(s)
                .ok_or_else(|| anyhow!("--state {s:?}: use open or resolved"))?,
        ),
    };
    let rows = store.incidents(&IncidentQuery {
        state,
        policy: a.policy.clone(),
        limit: a.limit,
    })?;
    if a.format == TableOrJson::Json {
        let v: Vec<JsonIncident> = rows.iter().map(JsonIncident::of).collect();
        return Ok(serde_json::to_string_pretty(&v)? + "\n");
    }
    if rows.is_empty() {
        return Ok("No incidents.\n".into());
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6}  {:<26}  {:<24}  {:<8}  {:<19}  {:<19}  DETAIL",
        "ID", "POLICY", "FUNCTION", "STATE", "OPENED (UTC)", "RESOLVED (UTC)"
    );
    for i in &rows {
        let t = |ms: i64| format_ms(ms).chars().take(19).collect::<String>();
        let _ = writeln!(
            out,
            "{:>6}  {:<26}  {:<24}  {:<8}  {:<19}  {:<19}  {}",
            i.id,
            printable(&i.policy),
            printable(&i.subject),
            i.state.as_str(),
            t(i.opened_ms),
            i.resolved_ms.map(t).unwrap_or_default(),
            printable(i.detail.as_deref().unwrap_or(""))
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// tern alerts send-test

fn send_test(a: &AlertsSendTestArgs) -> Result<String> {
    let cfg = load_config(a.config.as_deref())?;
    let channel = cfg.channel(&a.channel).ok_or_else(|| {
        let names: Vec<&str> = cfg.channels.iter().map(|c| c.name()).collect();
        if names.is_empty() {
            anyhow!(
                "no channel {:?}: the config has no [[channels]] (give --config or TERN_CONFIG)",
                a.channel
            )
        } else {
            anyhow!(
                "no channel {:?} in the config (channels: {})",
                a.channel,
                names.join(", ")
            )
        }
    })?;
    let now = timeutil::now_ms();
    let n = Notification {
        dedupe_key: format!("test:{}:{now}", a.channel),
        kind: Kind::Test,
        severity: channels::Severity::Info,
        title: format!("Test notification from Tern to {}", a.channel),
        summary: "If you can read this, the channel works. Nothing is wrong.".into(),
        function: None,
        error_group: None,
        policy: None,
        metric: None,
        value: None,
        threshold: None,
        occurred_ms: now,
        dashboard_url: cfg.dashboard_url.clone(),
        fields: Vec::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let ctx = SendContext::new(cfg.send_timeout)?;
    match rt.block_on(channels::send(channel, &n, &ctx)) {
        Ok(d) => Ok(format!(
            "delivered to {} ({}): {}\n",
            a.channel,
            channel.type_name(),
            d.detail
        )),
        Err(e) => bail!(
            "{} ({}): {} — {}",
            a.channel,
            channel.type_name(),
            e,
            if e.is_retryable() {
                "a transient failure: the engine would retry it with backoff"
            } else {
                "a permanent failure: the engine would give up on it; fix the channel"
            }
        ),
    }
}
