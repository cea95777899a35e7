//! Slack incoming webhook with Block Kit.
//!
//! The message is a `header` (the title), a `section` (the summary as mrkdwn, plus up to 10
//! labelled fields), a `context` line (kind, severity, time), and an `actions` block with an
//! "Open in Tern" button when the notification has a dashboard link. The top-level `text` is
//! the fallback Slack shows in notifications and in clients without blocks.
//!
//! Untrusted text (function names, error messages) is escaped for mrkdwn (`&`, `<`, `>`), so it
//! can't form links or mentions like `<!channel>`; everything is cut to Slack's limits.
//! <https://api.slack.com/reference/block-kit/blocks>

use serde_json::{json, Value};

use super::config::SlackConfig;
use super::{facts, rfc3339_ms, truncate_chars, Delivery, Notification, SendContext, SendError};

/// Block Kit limits, in characters.
const HEADER_MAX: usize = 150;
const SECTION_TEXT_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const FIELDS_MAX: usize = 10;
const CONTEXT_MAX: usize = 3000;
const BUTTON_URL_MAX: usize = 3000;
const FALLBACK_MAX: usize = 3000;

/// Escape Slack's three control characters and cut to `max` characters (after escaping,
/// without splitting an entity), ending with `…` when cut.
pub fn escape_mrkdwn(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 2));
    let mut used = 0;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let piece = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            _ => "",
        };
        let width = if piece.is_empty() { 1 } else { piece.len() };
        // Keep one character for the ellipsis unless this is the last piece.
        let room = if chars.peek().is_some() {
            max.saturating_sub(1)
        } else {
            max
        };
        if used + width > room {
            out.push('…');
            return out;
        }
        if piece.is_empty() {
            out.push(c);
        } else {
            out.push_str(piece);
        }
        used += width;
    }
    out
}

fn severity_emoji(n: &Notification) -> &'static str {
    use super::{Kind, Severity};
    match (n.kind, n.severity) {
        (Kind::IncidentResolved, _) => ":large_green_circle:",
        (_, Severity::Critical) => ":red_circle:",
        (_, Severity::Warning) => ":large_orange_circle:",
        (_, Severity::Info) => ":large_blue_circle:",
    }
}

/// The whole message body.
pub fn message(n: &Notification) -> Value {
    let emoji = severity_emoji(n);
    let mut blocks = Vec::new();
    // plain_text is not parsed for links or mentions, so it needs no escaping.
    blocks.push(json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate_chars(&n.title, HEADER_MAX), "emoji": true }
    }));
    let summary = if n.summary.trim().is_empty() {
        escape_mrkdwn(&n.title, SECTION_TEXT_MAX)
    } else {
        escape_mrkdwn(&n.summary, SECTION_TEXT_MAX)
    };
    let mut section = json!({ "type": "section", "text": { "type": "mrkdwn", "text": summary } });
    let fields: Vec<Value> = facts(n)
        .iter()
        .take(FIELDS_MAX)
        .map(|(k, v)| {
            let label = escape_mrkdwn(k, 100);
            let budget = FIELD_MAX.saturating_sub(label.chars().count() + 4);
            json!({ "type": "mrkdwn", "text": format!("*{label}*\n{}", escape_mrkdwn(v, budget)) })
        })
        .collect();
    if !fields.is_empty() {
        section["fields"] = Value::Array(fields);
    }
    blocks.push(section);
    let context = format!(
        "{emoji} *{}* · {} · {} · Tern",
        n.kind.label(),
        n.severity.as_str(),
        rfc3339_ms(n.occurred_ms)
    );
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": truncate_chars(&context, CONTEXT_MAX) }]
    }));
    if let Some(url) = dashboard_link(n) {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": "Open in Tern", "emoji": true },
                "url": url,
                "action_id": "tern_open_dashboard"
            }]
        }));
    }
    let mut fallback = format!(
        "{emoji} [{}] {}",
        n.severity.as_str().to_uppercase(),
        n.title
    );
    if let Some(f) = &n.function {
        fallback.push_str(&format!(" ({f})"));
    }
    json!({ "text": escape_mrkdwn(&fallback, FALLBACK_MAX), "blocks": blocks })
}

/// The dashboard URL if it is a plain http(s) link Slack will accept as a button.
fn dashboard_link(n: &Notification) -> Option<&str> {
    let url = n.dashboard_url.as_deref()?;
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= BUTTON_URL_MAX
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(url)
}

pub(super) async fn send(
    c: &SlackConfig,
    n: &Notification,
    ctx: &SendContext,
) -> Result<Delivery, SendError> {
    let what = format!("slack {:?}", c.name);
    let body = serde_json::to_vec(&message(n))
        .map_err(|e| SendError::Permanent(format!("{what}: cannot encode the message: {e}")))?;
    let headers = [
        (
            "content-type".to_string(),
            "application/json; charset=utf-8".to_string(),
        ),
        ("user-agent".to_string(), super::webhook::user_agent()),
    ];
    ctx.http
        .post(&what, c.webhook_url.expose(), &headers, body, ctx.timeout)
        .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn escaping_covers_the_three_characters() {
        assert_eq!(
            escape_mrkdwn("a & <b> <!channel>", 100),
            "a &amp; &lt;b&gt; &lt;!channel&gt;"
        );
    }

    #[test]
    fn escaping_never_splits_an_entity_and_respects_the_limit() {
        let s = "<".repeat(100);
        let out = escape_mrkdwn(&s, 10);
        assert_eq!(out, "&lt;&lt;…");
        assert!(out.chars().count() <= 10);
        let out = escape_mrkdwn(&"x".repeat(5000), SECTION_TEXT_MAX);
        assert_eq!(out.chars().count(), SECTION_TEXT_MAX);
        assert!(out.ends_with('…'));
        assert_eq!(escape_mrkdwn("abc", 3), "abc");
    }

    #[test]
    fn blocks_have_the_expected_shape() {
        let m = message(&sample());
        let blocks = m["blocks"].as_array().unwrap();
        let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "section", "context", "actions"]);
        assert_eq!(
            blocks[0]["text"]["text"],
            "Error rate above 1% on <checkout> & co"
        );
        let summary = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(summary.contains("&lt;undefined&gt; &amp; more"));
        assert!(summary.contains("&lt;!channel&gt;"));
        assert!(!summary.contains("<!channel>"));
        assert_eq!(
            blocks[1]["fields"][0]["text"],
            "*Function*\ncheckout-&lt;prod&gt;"
        );
        assert_eq!(
            blocks[3]["elements"][0]["url"],
            "https://tern.example.com/functions/checkout?x=1&y=2"
        );
        let text = m["text"].as_str().unwrap();
        assert!(text.contains("[CRITICAL]") && text.contains("&lt;checkout&gt;"));
    }

    #[test]
    fn long_titles_and_many_fields_are_cut() {
        let mut n = sample();
        n.title = "t".repeat(400);
        n.fields = (0..30)
            .map(|i| (format!("k{i}"), "v".repeat(5000)))
            .collect();
        n.dashboard_url = Some("javascript:alert(1)".to_string());
        let m = message(&n);
        let blocks = m["blocks"].as_array().unwrap();
        assert_eq!(
            blocks[0]["text"]["text"].as_str().unwrap().chars().count(),
            HEADER_MAX
        );
        let fields = blocks[1]["fields"].as_array().unwrap();
        assert_eq!(fields.len(), FIELDS_MAX);
        for f in fields {
            assert!(f["text"].as_str().unwrap().chars().count() <= FIELD_MAX);
        }
        // Not an http(s) link: no button.
        assert_eq!(blocks.len(), 3);
    }
}
