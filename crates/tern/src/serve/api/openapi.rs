//! `GET /api/v1/openapi.json`: a hand-written OpenAPI 3.0 document for every route. A test
//! checks it lists exactly the routes of `router()`.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The document (no auth: it describes, it reveals nothing).
pub async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        spec().to_string(),
    )
        .into_response()
}

fn range_params() -> Vec<Value> {
    vec![
        json!({"name": "since", "in": "query", "schema": {"type": "string"}, "example": "7d",
               "description": "Only the last span of time (30m, 24h, 7d). Not with from/to."}),
        json!({"name": "from", "in": "query", "schema": {"type": "string"},
               "description": "Start, inclusive: RFC 3339, a date (2026-11-01) or epoch ms."}),
        json!({"name": "to", "in": "query", "schema": {"type": "string"},
               "description": "End, exclusive; same forms as from."}),
    ]
}

fn error_responses(extra: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    m.insert(
        "401".into(),
        json!({"description": "Missing or invalid token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
    );
    for (code, what) in extra {
        m.insert(
            (*code).into(),
            json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Value::Object(m)
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// The document, with the alerting part (a second `json!`: one would hit the macro
/// recursion limit).
pub fn spec() -> Value {
    let mut doc = base();
    for (schemas, paths) in [
        (alerting_schemas(), alerting_paths()),
        (insights_schemas(), insights_paths()),
        (impact_schemas(), impact_paths()),
        (dashboard_schemas(), dashboard_paths()),
    ] {
        if let (Some(s), Value::Object(add)) =
            (doc["components"]["schemas"].as_object_mut(), schemas)
        {
            s.extend(add);
        }
        if let (Some(p), Value::Object(add)) = (doc["paths"].as_object_mut(), paths) {
            p.extend(add);
        }
    }
    doc
}

fn dashboard_schemas() -> Value {
    json!({
      "Fleet": {"type": "object", "description": "The whole fleet over a range, compact: totals, quick wins and filter choices of every function, then one page of rows, filtered and sorted on the server, with per-bucket sparkline arrays.", "properties": {
        "from": {"type": "string"}, "to": {"type": "string"}, "observed_hours": {"type": "number"},
        "bucket_seconds": {"type": "integer", "description": "Sparkline bucket width; buckets are aligned to multiples of it, the first and last cut by the range."},
        "bucket_starts": {"type": "array", "items": {"type": "integer"}, "description": "Epoch ms of each bucket's start."},
        "totals": {"type": "object", "properties": {"functions": {"type": "integer"}, "invocations": {"type": "integer"}, "errors": {"type": "integer"},
          "cold_starts": {"type": "integer"}, "cost_usd": {"type": "number"}, "monthly_cost_usd": {"type": "number"}}},
        "quick_wins": {"type": "array", "description": "The 20 biggest, by monthly_usd.", "items": {"type": "object", "properties": {
          "kind": {"type": "string"}, "function": {"type": "string"}, "detail": {"type": "string"}, "monthly_usd": {"type": "number"}}}},
        "savings_monthly_usd": {"type": "number", "description": "Σ of the memory advice's monthly savings in the quick wins (the same figures as `tern recommend` for a function seen at one size; 0 for a size kept)."},
        "facets": {"type": "object", "description": "Distinct values over every function, for filter choices.", "properties": {
          "runtime": {"type": "array", "items": {"type": "string"}}, "architecture": {"type": "array", "items": {"type": "string"}},
          "region": {"type": "array", "items": {"type": "string"}}, "account": {"type": "array", "items": {"type": "string"}}}},
        "matched": {"type": "integer", "description": "Functions matching the filters."},
        "offset": {"type": "integer"}, "limit": {"type": "integer"}, "sort": {"type": "string"}, "dir": {"type": "string", "enum": ["asc", "desc"]},
        "functions": {"type": "array", "items": {"$ref": "#/components/schemas/FleetRow"}}}},
      "FunctionRecommendation": {"type": "object", "properties": {
        "function": {"type": "string"}, "strategy": {"type": "string"},
        "recommendation": {"type": "object", "nullable": true, "description": "One entry of `tern recommend --format json`'s functions: the decision (change or keep, with the reason and a one-sentence summary), the gain and saving with their 95% intervals, certainty (0 to 1 and a label), current and recommended figures, observed sizes, floor, curve (memory_mb, p50, p95, monthly_cost_usd, allowed, current, support: measured, interpolated or estimated), the `tern tune` command for an unmeasured size, architecture advice."},
        "skipped": {"type": "string", "nullable": true, "description": "Why there is no recommendation."},
        "tuning": {"type": "array", "description": "`tern tune` runs, newest first.", "items": {"type": "object", "properties": {
          "started_at": {"type": "string"}, "finished_at": {"type": "string"}, "complete": {"type": "boolean"},
          "original_memory_mb": {"type": "integer"}, "applied_memory_mb": {"type": "integer", "nullable": true}, "invocations_per_size": {"type": "integer"},
          "points": {"type": "array", "items": {"type": "object", "properties": {
            "memory_mb": {"type": "integer"}, "architecture": {"type": "string"}, "invocations": {"type": "integer"}, "errors": {"type": "integer"},
            "p50_ms": {"type": "number", "nullable": true}, "p95_ms": {"type": "number", "nullable": true},
            "cost_usd": {"type": "number", "nullable": true, "description": "One invocation at this size."}, "error": {"type": "string", "nullable": true}}}}}}}}},
      "Notification": {"type": "object", "properties": {
        "id": {"type": "integer"}, "key": {"type": "string", "description": "What it reports: incident-<id>-opened, incident-<id>-resolved, error-<group>-new, …"},
        "channel": {"type": "string"}, "state": {"type": "string", "enum": ["pending", "sent", "failed"]},
        "attempts": {"type": "integer"}, "created_at": {"type": "string"}, "next_attempt_at": {"type": "string", "nullable": true},
        "sent_at": {"type": "string", "nullable": true}, "last_error": {"type": "string", "nullable": true},
        "payload": {"type": "string", "description": "The message as queued for the channel (JSON)."}}},
      "FleetRow": {"type": "object", "properties": {
        "function": {"type": "string"}, "invocations": {"type": "integer"}, "errors": {"type": "integer"}, "error_rate": {"type": "number"},
        "p50_ms": {"type": "number", "nullable": true}, "p99_ms": {"type": "number", "nullable": true},
        "memory_size_mb": {"type": "integer", "nullable": true}, "max_memory_used_mb": {"type": "integer", "nullable": true},
        "cold_starts": {"type": "integer"}, "cost_usd": {"type": "number"}, "monthly_cost_usd": {"type": "number"},
        "runtime": {"type": "string", "nullable": true}, "architecture": {"type": "string"}, "region": {"type": "string"},
        "account": {"type": "string", "nullable": true}, "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "spark": {"type": "object", "description": "One entry per bucket of bucket_starts; quantiles null where a bucket has no invocation.", "properties": {
          "invocations": {"type": "array", "items": {"type": "integer"}}, "errors": {"type": "array", "items": {"type": "integer"}},
          "p50_ms": {"type": "array", "items": {"type": "number", "nullable": true}}, "p99_ms": {"type": "array", "items": {"type": "number", "nullable": true}}}}}}
    })
}

fn dashboard_paths() -> Value {
    let bearer = json!([{"bearer": []}]);
    let text = |name: &str, what: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "maxLength": 256}, "description": what});
    json!({
      "/api/v1/functions/{name}/recommendation": {"get": {"summary": "One function's memory recommendation (as `tern recommend --format json`: the curve over memory sizes, the sizes observed, the floor) and its `tern tune` runs", "security": bearer,
        "parameters": range_params().into_iter().chain([
          json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}),
          json!({"name": "strategy", "in": "query", "schema": {"type": "string", "enum": ["cost", "speed", "balanced"], "default": "balanced"}})]).collect::<Vec<_>>(),
        "responses": merge(json!({"200": {"description": "The recommendation", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FunctionRecommendation"}}}}}), error_responses(&[("400", "Bad parameter"), ("404", "No such function")]))}},
      "/api/v1/notifications": {"get": {"summary": "The notification history (the outbox), newest first: what was sent, where, when, and how delivery went", "security": bearer,
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
        "responses": merge(json!({"200": {"description": "Notifications", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}}}}}}), error_responses(&[("400", "Bad parameter")]))}},
      "/api/v1/fleet": {"get": {"summary": "The fleet over a range, compact and paged (the dashboard's overview and functions table)", "security": bearer,
        "parameters": range_params().into_iter().chain([
          text("name", "Substring of the function name, any case"),
          text("runtime", "Exact runtime"), text("architecture", "x86_64 or arm64"), text("region", "Exact region"),
          text("account", "Exact account"), text("tag", "Substring of any key=value tag, any case"),
          json!({"name": "sort", "in": "query", "schema": {"type": "string", "enum": super::fleet::SORTS, "default": "cost_usd"}}),
          json!({"name": "dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}, "description": "Default: desc for numbers, asc for text"}),
          json!({"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}),
          json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 100}})]).collect::<Vec<_>>(),
        "responses": merge(json!({"200": {"description": "The fleet", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Fleet"}}}}}), error_responses(&[("400", "Bad parameter")]))}}
    })
}

fn insights_schemas() -> Value {
    json!({
      "Insights": {"type": "object", "description": "Same document as `tern insights --format json`.", "properties": {
        "from": {"type": "string", "nullable": true}, "to": {"type": "string", "nullable": true},
        "total": {"type": "integer", "description": "Insights that matched, before `limit`"},
        "insights": {"type": "array", "items": {"$ref": "#/components/schemas/Insight"}}}},
      "Insight": {"type": "object", "description": "One finding of the rule catalogue (also in the report's `insights`).", "properties": {
        "rule": {"type": "string", "example": "memory.over_provisioned"}, "title": {"type": "string"},
        "severity": {"type": "string", "enum": ["info", "warning", "critical"]}, "function": {"type": "string"},
        "summary": {"type": "string"}, "suggestion": {"type": "string"},
        "evidence": {"type": "object", "description": "Rule-specific key/values (numbers or strings)."},
        "effects": {"type": "array", "items": {"type": "object", "properties": {
          "kind": {"type": "string", "enum": ["monthly_saving", "monthly_cost", "change_monthly_cost", "runaway_exposure", "one_off_cost", "latency"]},
          "usd": {"type": "number"}, "ms": {"type": "number"}}}},
        "monthly_saving_usd": {"type": "number", "nullable": true}}}
    })
}

fn insights_paths() -> Value {
    let bearer = json!([{"bearer": []}]);
    json!({
        "/api/v1/insights": {"get": {"summary": "Insights: the rule catalogue's findings, most severe first (as `tern insights --format json`)", "security": bearer,
          "parameters": range_params().into_iter().chain([
            json!({"name": "function", "in": "query", "schema": {"type": "string"}, "description": "Glob over function names"}),
            json!({"name": "rule", "in": "query", "schema": {"type": "string"}, "description": "Rule ids, comma-separated"}),
            json!({"name": "min_severity", "in": "query", "schema": {"type": "string", "enum": ["info", "warning", "critical"]}}),
            json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}, "description": "At most this many, most severe first; `total` counts all"})]).collect::<Vec<_>>(),
          "responses": merge(json!({"200": {"description": "The insights", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Insights"}}}}}), error_responses(&[("400", "Bad parameter")]))}}
    })
}

/// Change impact: markers and a function's changes.
fn impact_schemas() -> Value {
    json!({
          "MarkerInput": {"type": "object", "required": ["function", "note"], "properties": {
            "function": {"type": "string"}, "note": {"type": "string", "example": "deployed v42"},
            "at": {"type": "string", "description": "RFC 3339, a date or epoch ms; default now"}}},
          "Marker": {"type": "object", "properties": {
            "id": {"type": "integer"}, "change_id": {"type": "string", "example": "marker-1"},
            "function": {"type": "string"}, "at": {"type": "string"}, "at_ms": {"type": "integer"},
            "note": {"type": "string"}, "created": {"type": "string"}}},
          "Verdict": {"type": "object", "properties": {
            "before": {"type": "number", "nullable": true}, "after": {"type": "number", "nullable": true},
            "change": {"type": "number", "nullable": true, "description": "(after - before) / before"},
            "verdict": {"type": "string", "enum": ["better", "worse", "no significant change", "not enough data"]}}},
          "Impact": {"type": "object", "properties": {
            "function": {"type": "string"}, "id": {"type": "string", "example": "version-1772323200020"},
            "attribute": {"type": "string", "enum": ["version", "memory_size", "runtime_version", "architecture", "configuration", "marker"]},
            "at": {"type": "string"}, "at_ms": {"type": "integer"},
            "from": {"type": "string", "nullable": true}, "to": {"type": "string", "nullable": true},
            "note": {"type": "string", "nullable": true},
            "rollback": {"type": "boolean", "description": "A return to an earlier value: `to` is the earlier value"},
            "enough_data": {"type": "boolean"}, "before_invocations": {"type": "integer"}, "after_invocations": {"type": "integer"},
            "confidence": {"type": "number", "example": 0.95},
            "duration_p95": {"$ref": "#/components/schemas/Verdict"}, "error_rate": {"$ref": "#/components/schemas/Verdict"},
            "cost_per_invocation": {"$ref": "#/components/schemas/Verdict"}}},
          "RecentChanges": {"type": "object", "properties": {
            "changes": {"type": "array", "items": {"$ref": "#/components/schemas/Impact"}, "description": "Newest first"},
            "omitted": {"type": "integer", "description": "Older changes in the range that were not compared"}}},
          "Changes": {"type": "object", "properties": {
            "function": {"type": "string"},
            "changes": {"type": "array", "items": {"type": "object", "description": "As `tern compare --format json`: change, grouping, before, after, hours_of_day, confidence, multiple_comparisons, metrics (name, before, after, before_ci, after_ci, change, change_ci, p_value, test, verdict: better | worse | no significant change | not enough data)"}}}}
    })
}

fn impact_paths() -> Value {
    let bearer = json!([{"bearer": []}]);
    json!({
        "/api/v1/changes": {"get": {"summary": "The fleet's newest changes in the range (version, memory size, runtime version, architecture, LastModified, markers, rollbacks), newest first, each with its p95 duration, error rate and cost-per-invocation verdicts; as `changes` in `tern report --format json`", "security": bearer,
          "parameters": range_params().into_iter().chain([
            json!({"name": "function", "in": "query", "schema": {"type": "string"}, "description": "Glob of function names"}),
            json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}, "description": "Changes compared (default 50); older ones are counted in `omitted`"})]).collect::<Vec<_>>(),
          "responses": merge(json!({"200": {"description": "Changes with their verdicts", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RecentChanges"}}}}}), error_responses(&[("400", "Bad parameter")]))}},
        "/api/v1/functions/{name}/changes": {"get": {"summary": "The function's most recent changes (version, memory size, runtime version, architecture, LastModified, markers, rollbacks; at most 20, newest first), each with its before/after comparison as `tern compare --format json`", "security": bearer,
          "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
          "responses": merge(json!({"200": {"description": "Changes with impact", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Changes"}}}}}), error_responses(&[("404", "No such function")]))}},
        "/api/v1/markers": {
          "get": {"summary": "Change markers, by time", "security": bearer,
            "parameters": [{"name": "function", "in": "query", "schema": {"type": "string"}, "description": "Exact function name (default: every function)"}],
            "responses": merge(json!({"200": {"description": "Markers", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Marker"}}}}}}), error_responses(&[("400", "Bad parameter")]))},
          "post": {"summary": "Record that a function changed (a deploy); `tern compare --change marker-<id>` compares around it", "security": bearer,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MarkerInput"}}}},
            "responses": merge(json!({"201": {"description": "Stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Marker"}}}}}), error_responses(&[("400", "Missing function or note, or a bad time")]))}}
    })
}

fn alerting_schemas() -> Value {
    json!({
          "ErrorGroup": {"type": "object", "description": "Same shape as `tern errors --format json`.", "properties": {
            "id": {"type": "string", "description": "16 hex digits"}, "function": {"type": "string"}, "title": {"type": "string"},
            "error_type": {"type": "string", "nullable": true}, "message": {"type": "string", "nullable": true}, "culprit": {"type": "string", "nullable": true},
            "basis": {"type": "string"}, "outcome": {"type": "string"}, "grouping_version": {"type": "integer"}, "count": {"type": "integer"}, "count_in_range": {"type": "integer"},
            "first_seen": {"type": "string"}, "last_seen": {"type": "string"}, "status": {"type": "string", "enum": ["open", "resolved", "muted"]},
            "status_changed": {"type": "string", "nullable": true}, "muted_until": {"type": "string", "nullable": true}, "resolved_at": {"type": "string", "nullable": true},
            "regressions": {"type": "integer"}, "regressed_at": {"type": "string", "nullable": true}}},
          "ErrorGroupDetail": {"type": "object", "description": "Same shape as `tern errors show --format json`: the group plus frames, timeline_bucket_ms, timeline [{start, count}] and samples (invocations with logs)."},
          "Session": {"type": "object", "required": ["csrf"], "properties": {"csrf": {"type": "string", "nullable": true, "description": "Send as X-Tern-CSRF on cookie-authenticated POST/DELETE"}}},
          "ErrorStatusChange": {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": ["open", "resolved", "muted"]},
            "muted_for": {"type": "string", "example": "7d", "description": "Only with muted; default: until reopened."}}},
          "Incident": {"type": "object", "properties": {
            "id": {"type": "integer"}, "policy": {"type": "string"}, "function": {"type": "string"}, "state": {"type": "string", "enum": ["open", "resolved"]},
            "opened_at": {"type": "string"}, "last_firing_at": {"type": "string"}, "resolved_at": {"type": "string", "nullable": true},
            "value": {"type": "number", "nullable": true}, "threshold": {"type": "number", "nullable": true}, "detail": {"type": "string", "nullable": true}}},
          "Policy": {"type": "object", "description": "A policy in force. Metric policies carry metric, aggregation, comparison, threshold, window_seconds, min_invocations; error policies carry on and cooldown_seconds.", "properties": {
            "name": {"type": "string"}, "type": {"type": "string", "enum": ["metric", "error"]}, "source": {"type": "string", "enum": ["builtin", "config", "api"]},
            "enabled": {"type": "boolean"}, "severity": {"type": "string"}, "channels": {"type": "array", "items": {"type": "string"}},
            "target": {"type": "object", "properties": {"functions": {"type": "array", "items": {"type": "string"}}, "tags": {"type": "object"}, "accounts": {"type": "array", "items": {"type": "string"}}, "regions": {"type": "array", "items": {"type": "string"}}}},
            "metric": {"type": "string"}, "aggregation": {"type": "string"}, "comparison": {"type": "string"}, "threshold": {"type": "number"}, "window_seconds": {"type": "number"}, "min_invocations": {"type": "integer"},
            "on": {"type": "string", "enum": ["new_group", "regression", "every_occurrence"]}, "cooldown_seconds": {"type": "number"}}},
          "PolicyInput": {"type": "object", "required": ["type", "name"], "description": "The keys of a [[policies]] (type metric) or [[error_policies]] (type error) entry of tern.toml, validated the same way. Unknown keys are errors.", "properties": {
            "type": {"type": "string", "enum": ["metric", "error"]}, "name": {"type": "string"}, "functions": {"type": "array", "items": {"type": "string"}}, "tags": {"type": "object"},
            "accounts": {"type": "array", "items": {"type": "string"}}, "regions": {"type": "array", "items": {"type": "string"}},
            "metric": {"type": "string"}, "aggregation": {"type": "string"}, "comparison": {"type": "string"}, "threshold": {"type": "number"}, "window": {"type": "string", "example": "5m"}, "min_invocations": {"type": "integer"},
            "on": {"type": "string", "enum": ["new", "regression", "every"]}, "cooldown": {"type": "string", "example": "1h"},
            "severity": {"type": "string", "enum": ["info", "warning", "critical"]}, "channels": {"type": "array", "items": {"type": "string"}}, "enabled": {"type": "boolean"}}}
    })
}

fn alerting_paths() -> Value {
    let bearer = json!([{"bearer": []}]);
    json!({
        "/api/v1/errors": {"get": {"summary": "Error groups, latest occurrence first (as `tern errors --format json`)", "security": bearer,
          "parameters": range_params().into_iter().chain([
            json!({"name": "function", "in": "query", "schema": {"type": "string"}, "description": "Glob over function names"}),
            json!({"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "resolved", "muted"]}}),
            json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}),
            json!({"name": "spark", "in": "query", "schema": {"type": "boolean", "default": false}, "description": "Add `spark` (occurrences per bucket over the range) and `spark_starts` (bucket starts, epoch ms) to each group"})]).collect::<Vec<_>>(),
          "responses": merge(json!({"200": {"description": "Groups", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorGroup"}}}}}}), error_responses(&[("400", "Bad parameter")]))}},
        "/api/v1/errors/{id}": {"get": {"summary": "One error group with its stack, timeline and samples", "security": bearer,
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
          "responses": merge(json!({"200": {"description": "The group", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorGroupDetail"}}}}}), error_responses(&[("400", "Not a group id"), ("404", "No such group")]))}},
        "/api/v1/errors/{id}/status": {"post": {"summary": "Resolve, mute (optionally for a while) or reopen a group", "security": bearer,
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorStatusChange"}}}},
          "responses": merge(json!({"200": {"description": "The group as it is now", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorGroup"}}}}}), error_responses(&[("400", "Bad id or body"), ("404", "No such group")]))}},
        "/api/v1/incidents": {"get": {"summary": "Alert incidents, newest first", "security": bearer,
          "parameters": [
            {"name": "state", "in": "query", "schema": {"type": "string", "enum": ["open", "resolved"]}},
            {"name": "policy", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
          "responses": merge(json!({"200": {"description": "Incidents", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Incident"}}}}}}), error_responses(&[("400", "Bad parameter")]))}},
        "/api/v1/policies": {
          "get": {"summary": "Every alert policy in force: built-in, from tern.toml, and API-managed", "security": bearer,
            "responses": merge(json!({"200": {"description": "Policies", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Policy"}}}}}}), error_responses(&[]))},
          "post": {"summary": "Create or replace an API-managed policy", "security": bearer,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PolicyInput"}}}},
            "responses": merge(json!({"201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Policy"}}}}, "200": {"description": "Replaced", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Policy"}}}}}), error_responses(&[("400", "Invalid policy; the message names the key"), ("409", "A built-in or config policy has this name")]))}},
        "/": {"get": {"summary": "The web dashboard (HTML; strict CSP, no inline script)", "security": [], "responses": {"200": {"description": "The page", "content": {"text/html": {}}}}}},
        "/ui/app.js": {"get": {"summary": "The dashboard's script", "security": [], "responses": {"200": {"description": "JavaScript", "content": {"text/javascript": {}}}}}},
        "/ui/app.css": {"get": {"summary": "The dashboard's stylesheet", "security": [], "responses": {"200": {"description": "CSS", "content": {"text/css": {}}}}}},
        "/ui/login": {"post": {"summary": "Open a dashboard session with an API token: sets an HttpOnly, SameSite=Strict cookie (Secure off loopback) and answers the session's CSRF token. Cookie-authenticated API requests other than GET must send it in X-Tern-CSRF.", "security": [],
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}}}}},
          "responses": merge(json!({"200": {"description": "Logged in", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}}}), error_responses(&[("400", "Bad body"), ("403", "Cross-origin request")]))}},
        "/ui/session": {"get": {"summary": "The CSRF token of the cookie's session (null when not logged in)", "security": [],
          "responses": {"200": {"description": "The session", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}}}}},
        "/ui/logout": {"post": {"summary": "End the cookie's session (needs X-Tern-CSRF)", "security": [],
          "responses": merge(json!({"204": {"description": "Logged out"}}), error_responses(&[("403", "Missing or wrong CSRF token")]))}},
        "/api/v1/policies/{name}": {"delete": {"summary": "Delete an API-managed policy (its open incidents resolve as withdrawn)", "security": bearer,
          "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
          "responses": merge(json!({"204": {"description": "Deleted"}}), error_responses(&[("404", "No such API policy"), ("409", "Built-in or config policy: read-only")]))}}
    })
}

fn base() -> Value {
    let bearer = json!([{"bearer": []}]);
    let firehose_body = json!({"$ref": "#/components/schemas/FirehoseResponse"});
    json!({
      "openapi": "3.0.3",
      "info": {
        "title": "Tern",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Lambda monitoring from CloudWatch logs: push ingest (Firehose, CloudWatch subscription payloads) and the query API. API routes take `Authorization: Bearer <API token>`; ingest routes take an ingest key."
      },
      "components": {
        "securitySchemes": {
          "bearer": {"type": "http", "scheme": "bearer", "description": "An API token (auth.api_tokens, TERN_API_TOKEN, or <db>.api-token)."},
          "firehoseKey": {"type": "apiKey", "in": "header", "name": "X-Amz-Firehose-Access-Key"},
          "ingestKey": {"type": "apiKey", "in": "header", "name": "X-Tern-Ingest-Key", "description": "Or `Authorization: Bearer <ingest key>`."}
        },
        "schemas": {
          "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
          "FirehoseRequest": {"type": "object", "required": ["requestId", "records"], "properties": {
            "requestId": {"type": "string"}, "timestamp": {"type": "integer", "format": "int64"},
            "records": {"type": "array", "maxItems": 10000, "items": {"type": "object", "required": ["data"], "properties": {"data": {"type": "string", "format": "byte", "description": "base64 of a (gzipped) CloudWatch Logs subscription payload"}}}}}},
          "FirehoseResponse": {"type": "object", "required": ["requestId", "timestamp"], "properties": {
            "requestId": {"type": "string"}, "timestamp": {"type": "integer", "format": "int64"}, "errorMessage": {"type": "string"}}},
          "Report": {"type": "object", "description": "Same document as `tern report --format json`: from, to, observed_hours, free_tier, totals, functions[], quick_wins[], insights[] (see Insight). Functions and totals carry log_lines and log_bytes (log volume stored in the range)."},
          "Invocation": {"type": "object", "description": "Same shape as `tern invocations --format json`; with `logs` [{timestamp, message}] in the log view.",
            "properties": {"function": {"type": "string"}, "request_id": {"type": "string"}, "log_group": {"type": "string"}, "log_stream": {"type": "string"}, "outcome": {"type": "string"}, "cold_start": {"type": "boolean"}, "duration_ms": {"type": "number", "nullable": true}}},
          "Inventory": {"type": "object", "properties": {
            "data_from": {"type": "string", "nullable": true}, "data_to": {"type": "string", "nullable": true},
            "data_from_ms": {"type": "integer", "nullable": true}, "data_to_ms": {"type": "integer", "nullable": true},
            "functions": {"type": "array", "items": {"type": "object", "properties": {
              "function": {"type": "string"}, "region": {"type": "string", "nullable": true}, "account": {"type": "string", "nullable": true},
              "architecture": {"type": "string", "nullable": true}, "runtime": {"type": "string", "nullable": true},
              "memory_size_mb": {"type": "integer", "nullable": true}, "timeout_ms": {"type": "integer", "nullable": true},
              "tags": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
          "Series": {"type": "object", "properties": {
            "function": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"}, "bucket_seconds": {"type": "integer"},
            "points": {"type": "array", "items": {"type": "object", "properties": {
              "start": {"type": "string"}, "start_ms": {"type": "integer"}, "invocations": {"type": "integer"}, "errors": {"type": "integer"},
              "cold_starts": {"type": "integer"}, "duration_ms": {"type": "object", "nullable": true, "properties": {"p50": {"type": "number"}, "p95": {"type": "number"}, "p99": {"type": "number"}}},
              "max_memory_used_mb": {"type": "integer", "nullable": true}, "memory_size_mb": {"type": "integer", "nullable": true},
              "billed_duration_ms": {"type": "number"}, "gb_seconds": {"type": "number"}, "cost_usd": {"type": "number"},
              "log_lines": {"type": "integer", "description": "Log lines stored in the bucket (an invocation's by its time, unattributed stream lines by their chunk's first line)"},
              "log_bytes": {"type": "integer", "description": "UTF-8 bytes of those lines' messages"}}}}}}
        }
      },
      "paths": {
        "/healthz": {"get": {"summary": "Liveness (no auth)", "security": [],
          "responses": {"200": {"description": "ok"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (API token)", "security": bearer,
          "responses": merge(json!({"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}}), error_responses(&[]))}},
        "/ingest/firehose": {"post": {"summary": "Amazon Data Firehose HTTP endpoint delivery (protocol 1.0)", "security": [{"firehoseKey": []}],
          "description": "Records are base64 of gzipped subscription payloads; CONTROL_MESSAGEs are acknowledged and dropped. 200 only once stored. A request whose records are partly unreadable stores the readable ones and answers 200 (the rest are logged and counted); 400 only when no record is usable. `Content-Encoding: gzip` bodies are accepted.",
          "parameters": [{"name": "X-Amz-Firehose-Request-Id", "in": "header", "required": true, "schema": {"type": "string"}}],
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FirehoseRequest"}}}},
          "responses": {
            "200": {"description": "Stored", "content": {"application/json": {"schema": firehose_body}}},
            "400": {"description": "Malformed; errorMessage names the record", "content": {"application/json": {"schema": firehose_body}}},
            "401": {"description": "No access key", "content": {"application/json": {"schema": firehose_body}}},
            "403": {"description": "Wrong access key", "content": {"application/json": {"schema": firehose_body}}},
            "408": {"description": "The body did not arrive within 60 s", "content": {"application/json": {"schema": firehose_body}}},
            "413": {"description": "Body or inflated size over the limit", "content": {"application/json": {"schema": firehose_body}}},
            "503": {"description": "Store busy; retry", "content": {"application/json": {"schema": firehose_body}}}}}},
        "/ingest/cloudwatch": {"post": {"summary": "One CloudWatch Logs subscription payload (JSON, gzip, base64 of gzip, or a Lambda awslogs event)", "security": [{"ingestKey": []}],
          "requestBody": {"required": true, "content": {"application/json": {}, "application/octet-stream": {}}},
          "responses": merge(json!({"200": {"description": "Stored: {events, control_messages, invocations_new}"}}), error_responses(&[("400", "Not a subscription payload"), ("413", "Too large"), ("503", "Store busy; retry")]))}},
        "/api/v1/inventory": {"get": {"summary": "Every stored function's metadata (region, account, architecture, runtime, memory, timeout, tags) and the span of stored data", "security": bearer,
          "responses": merge(json!({"200": {"description": "Inventory", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Inventory"}}}}}), error_responses(&[]))}},
        "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3 document"}}}},
        "/api/v1/functions": {"get": {"summary": "Functions with stats, cost and quick wins (as `tern report --format json`)", "security": bearer,
          "parameters": range_params().into_iter().chain([
            json!({"name": "function", "in": "query", "schema": {"type": "string"}, "description": "Glob over function names"}),
            json!({"name": "free_tier", "in": "query", "schema": {"type": "boolean"}})]).collect::<Vec<_>>(),
          "responses": merge(json!({"200": {"description": "The report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}}}}), error_responses(&[("400", "Bad parameter")]))}},
        "/api/v1/functions/{name}/series": {"get": {"summary": "One function per time bucket", "security": bearer,
          "parameters": range_params().into_iter().chain([
            json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}),
            json!({"name": "bucket", "in": "query", "schema": {"type": "string", "default": "1h"}, "description": "Bucket width (at least 1m; at most 10,000 buckets)"})]).collect::<Vec<_>>(),
          "responses": merge(json!({"200": {"description": "The series", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Series"}}}}}), error_responses(&[("400", "Bad parameter"), ("404", "No such function")]))}},
        "/api/v1/invocations": {"get": {"summary": "Invocations, newest first", "security": bearer,
          "parameters": range_params().into_iter().chain([
            json!({"name": "function", "in": "query", "schema": {"type": "string"}, "description": "Glob over function names"}),
            json!({"name": "outcome", "in": "query", "schema": {"type": "string", "enum": ["success", "error", "timeout", "out_of_memory", "crash", "init_error"]}}),
            json!({"name": "cold", "in": "query", "schema": {"type": "boolean"}}),
            json!({"name": "request_id", "in": "query", "schema": {"type": "string"}}),
            json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}})]).collect::<Vec<_>>(),
          "responses": merge(json!({"200": {"description": "Invocations", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Invocation"}}}}}}), error_responses(&[("400", "Bad parameter")]))}},
        "/api/v1/invocations/logs": {"get": {"summary": "One invocation with its log lines. Query parameters, as log groups contain slashes.", "security": bearer,
          "parameters": [
            {"name": "log_group", "in": "query", "required": true, "schema": {"type": "string"}},
            {"name": "log_stream", "in": "query", "required": true, "schema": {"type": "string"}},
            {"name": "request_id", "in": "query", "required": true, "schema": {"type": "string"}}],
          "responses": merge(json!({"200": {"description": "The invocation with `logs`", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invocation"}}}}}), error_responses(&[("400", "Missing parameter"), ("404", "No such invocation")]))}}
      }
    })
}
