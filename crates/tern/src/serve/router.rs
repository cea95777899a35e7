//! Every route of `tern serve`, in one place.
//!
//! [`routes`] is the table `router()` is built from; the OpenAPI document is checked
//! against it in a test, both ways.

use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;

use super::api::{
    changes, errors, fleet, functions, incidents, insights, invocations, openapi, policies,
    recommendation, system,
};
use super::state::AppState;
use super::{cloudwatch, firehose, ui};

/// (method, path, handler). Paths use axum's `{param}` syntax, which is OpenAPI's too.
pub fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("get", "/healthz", get(system::health)),
        ("get", "/metrics", get(system::metrics)),
        ("post", "/ingest/firehose", post(firehose::ingest)),
        ("post", "/ingest/cloudwatch", post(cloudwatch::ingest)),
        ("get", "/api/v1/openapi.json", get(openapi::document)),
        ("get", "/", get(ui::index)),
        ("get", "/ui/app.js", get(ui::script)),
        ("get", "/ui/app.css", get(ui::style)),
        ("post", "/ui/login", post(ui::login)),
        ("get", "/ui/session", get(ui::current)),
        ("post", "/ui/logout", post(ui::logout)),
        ("get", "/api/v1/functions", get(functions::list)),
        ("get", "/api/v1/inventory", get(functions::inventory)),
        ("get", "/api/v1/fleet", get(fleet::show)),
        (
            "get",
            "/api/v1/functions/{name}/series",
            get(functions::series),
        ),
        (
            "get",
            "/api/v1/functions/{name}/recommendation",
            get(recommendation::show),
        ),
        (
            "get",
            "/api/v1/functions/{name}/changes",
            get(changes::list),
        ),
        ("get", "/api/v1/changes", get(changes::fleet)),
        ("get", "/api/v1/markers", get(changes::list_markers)),
        ("post", "/api/v1/markers", post(changes::create_marker)),
        ("get", "/api/v1/invocations", get(invocations::list)),
        ("get", "/api/v1/invocations/logs", get(invocations::logs)),
        ("get", "/api/v1/errors", get(errors::list)),
        ("get", "/api/v1/errors/{id}", get(errors::show)),
        (
            "post",
            "/api/v1/errors/{id}/status",
            post(errors::set_status),
        ),
        ("get", "/api/v1/incidents", get(incidents::list)),
        (
            "get",
            "/api/v1/notifications",
            get(incidents::notifications),
        ),
        ("get", "/api/v1/insights", get(insights::list)),
        ("get", "/api/v1/policies", get(policies::list)),
        ("post", "/api/v1/policies", post(policies::create)),
        (
            "delete",
            "/api/v1/policies/{name}",
            delete(policies::delete),
        ),
    ]
}

pub fn router(state: AppState) -> Router {
    routes()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
        .with_state(state)
}
