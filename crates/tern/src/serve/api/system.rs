//! `GET /healthz` (no auth) and `GET /metrics` (API token: Prometheus can send
//! `authorization: Bearer`, and the figures reveal traffic, so they are not public).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::serve::auth::ApiToken;
use crate::serve::state::AppState;

pub async fn health() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        "{\"status\":\"ok\"}\n",
    )
        .into_response()
}

pub async fn metrics(State(state): State<AppState>, _auth: ApiToken) -> Response {
    let mut out = String::with_capacity(4096);
    state.metrics.render(&state.writer.metrics, &mut out);
    if let Some(extra) = &state.extra_metrics {
        extra(&mut out);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
