//! The web dashboard: one HTML page, one script and one stylesheet, hand-written and embedded
//! in the binary (no framework, no CDN, no Node toolchain), plus the session endpoints.
//!
//! - `GET /` (the page), `GET /ui/app.js`, `GET /ui/app.css`: served with a strict
//!   Content-Security-Policy (`default-src 'self'`, no inline script or style), an ETag and
//!   `Cache-Control: no-cache` (the browser revalidates; unchanged assets answer 304).
//! - `POST /ui/login` `{"token": …}` or `{"username": …, "password": …}`: an API token, or a
//!   `[[dashboard.users]]` name and password (Argon2, [`throttle`]d), opens a session
//!   ([`session`]): an `HttpOnly; SameSite=Strict` cookie (`Secure` unless the server listens
//!   on loopback) and a CSRF token in the answer.
//! - `GET /ui/session`: the CSRF token of the cookie's session (`null` without one), so a
//!   reloaded page can act.
//! - `POST /ui/logout`: ends the session (needs the CSRF token).
//!
//! The API's [`ApiToken`](super::auth::ApiToken) extractor accepts the cookie in place of a
//! bearer token; requests other than GET/HEAD made with it must carry the CSRF header.
//!
//! **Architecture Invariant:** the dashboard gets its data only from the JSON API under
//! `/api/v1`; there is no page-only data path.

pub mod throttle;

use std::sync::OnceLock;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::key_matches;
use super::error::ApiError;
use super::session::{self, cross_origin};
use super::state::AppState;
use crate::timeutil::now_ms;

pub const INDEX: &str = include_str!("assets/index.html");
pub const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// No inline script or style, no other origin, no framing.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                       frame-ancestors 'none'";

struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: String,
}

fn asset(body: &'static str, content_type: &'static str) -> Asset {
    let d = Sha256::digest(body.as_bytes());
    let etag = format!(
        "\"{}\"",
        d.iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Asset {
        body,
        content_type,
        etag,
    }
}

fn serve(a: &Asset, headers: &HeaderMap) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, a.content_type)], a.body).into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    security_headers(h);
    resp
}

/// CSP and friends, on every dashboard response.
fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

pub async fn index(headers: HeaderMap) -> Response {
    static A: OnceLock<Asset> = OnceLock::new();
    serve(
        A.get_or_init(|| asset(INDEX, "text/html; charset=utf-8")),
        &headers,
    )
}

pub async fn script(headers: HeaderMap) -> Response {
    static A: OnceLock<Asset> = OnceLock::new();
    serve(
        A.get_or_init(|| asset(APP_JS, "text/javascript; charset=utf-8")),
        &headers,
    )
}

pub async fn style(headers: HeaderMap) -> Response {
    static A: OnceLock<Asset> = OnceLock::new();
    serve(
        A.get_or_init(|| asset(APP_CSS, "text/css; charset=utf-8")),
        &headers,
    )
}

/// Either `token`, or `username` and `password`. Its `Debug` prints no secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for LoginBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginBody")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
pub struct SessionInfo {
    /// `null` when not logged in (a 200 all the same: the page asks on every load, and a
    /// 401 would be a console error).
    csrf: Option<String>,
}

fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    if cross_origin(&headers) {
        return Err(ApiError::Forbidden("cross-origin login refused"));
    }
    let Json(body) =
        body.map_err(|e| ApiError::BadRequest(format!("bad body: {}", e.body_text())))?;
    let fail = || {
        state
            .metrics
            .auth_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    match (body.token, body.username, body.password) {
        (Some(token), None, None) => {
            if !key_matches(&state.api_tokens, token.trim()) {
                fail();
                tokio::time::sleep(throttle::FAIL_DELAY).await;
                return Err(ApiError::Unauthorized("the API token is not valid"));
            }
        }
        (None, Some(name), Some(password)) => {
            check_password(&state, &name, password)
                .await
                .inspect_err(|_| fail())?;
        }
        _ => {
            return Err(ApiError::BadRequest(
                "give either \"token\", or \"username\" and \"password\"".into(),
            ))
        }
    }
    let s = state.sessions.create(now_ms());
    let resp = Json(SessionInfo { csrf: Some(s.csrf) }).into_response();
    Ok(with_cookie(
        resp,
        &session::set_cookie(&s.id, state.secure_cookies),
    ))
}

/// A name and password against `[[dashboard.users]]`, throttled. An unknown name costs the
/// same Argon2 check as a wrong password, and both get the same answer.
async fn check_password(state: &AppState, name: &str, password: String) -> Result<(), ApiError> {
    use crate::password::{decoy, MAX_PASSWORD_BYTES};
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::BadRequest(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    if name.len() > 256 {
        return Err(ApiError::BadRequest(
            "the user name is longer than 256 bytes".into(),
        ));
    }
    let name = name.trim();
    if let Some(secs) = state.logins.blocked(name, now_ms()) {
        return Err(ApiError::TooManyRequests(format!(
            "too many failed logins for this user; try again in {secs} s"
        )));
    }
    let user = state.users.iter().find(|u| u.name == name);
    let hash = user.map_or_else(|| decoy().clone(), |u| u.password_hash.clone());
    let ok = {
        let _permit = state
            .logins
            .checks
            .acquire()
            .await
            .map_err(|_| ApiError::Unavailable("the server is stopping".into()))?;
        tokio::task::spawn_blocking(move || hash.verify(&password))
            .await
            .unwrap_or(false)
    };
    if ok && user.is_some() {
        state.logins.succeeded(name);
        return Ok(());
    }
    state.logins.failed(name, now_ms());
    tracing::warn!(user = %name.chars().take(64).collect::<String>(), "Failed dashboard login.");
    tokio::time::sleep(throttle::FAIL_DELAY).await;
    Err(ApiError::Unauthorized(
        "the user name or password is not valid",
    ))
}

pub async fn current(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let csrf = session::cookie_value(&headers).and_then(|id| state.sessions.csrf(id, now_ms()));
    let mut resp = Json(SessionInfo { csrf }).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = session::cookie_value(&headers).ok_or(ApiError::Unauthorized("not logged in"))?;
    let csrf = headers
        .get(session::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if cross_origin(&headers) || !state.sessions.check_csrf(id, csrf, now_ms()) {
        return Err(ApiError::Forbidden("missing or wrong CSRF token"));
    }
    state.sessions.remove(id);
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &session::clear_cookie(state.secure_cookies),
    ))
}
