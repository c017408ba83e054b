//! Operational endpoints (/healthz, /readyz, /metrics), the token endpoint,
//! and the middleware that logs and counts every request.

use super::reply::{self, ApiError};
use super::route::{self, Query};
use super::{App, Shared};
use crate::auth::Denial;
use crate::metrics::Metrics;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Alive: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: the storage backend answers.
pub async fn readyz(State(app): State<Shared>) -> Response {
    match app.storage.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            Metrics::add(&app.metrics.storage_errors, 1);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("storage not ready: {e}\n"),
            )
                .into_response()
        }
    }
}

pub async fn metrics(State(app): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render() + &app.limits.render() + &cache_gauges(&app),
    )
        .into_response()
}

/// What the manifest read cache holds (storage/read_cache.rs), as gauges.
fn cache_gauges(app: &super::App) -> String {
    let (manifest_bytes, link_entries) = app.storage.cache_usage();
    format!(
        "# HELP hoist_registry_cache_manifest_bytes Manifest bytes held by the read cache.\n\
         # TYPE hoist_registry_cache_manifest_bytes gauge\n\
         hoist_registry_cache_manifest_bytes {manifest_bytes}\n\
         # HELP hoist_registry_cache_link_entries Tag and revision entries held by the read cache.\n\
         # TYPE hoist_registry_cache_link_entries gauge\n\
         hoist_registry_cache_link_entries {link_entries}\n"
    )
}

/// `GET /token?service=..&scope=..`: docker's token endpoint.
pub async fn token(State(app): State<Shared>, req: Request) -> Response {
    if app.auth.mode() != crate::config::AuthMode::Token {
        return ApiError::status(
            StatusCode::NOT_FOUND,
            "UNSUPPORTED",
            "this registry does not issue tokens",
        )
        .into_response();
    }
    let query = Query::parse(req.uri().query());
    let authz = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match app.auth.issue(authz, &query.all("scope")) {
        Ok(t) => reply::json(
            StatusCode::OK,
            "application/json",
            &serde_json::json!({
                "token": t.token,
                "access_token": t.token,
                "expires_in": t.expires_in,
                "issued_at": rfc3339(t.issued_at),
            }),
        ),
        Err(Denial::Challenge { header: h, message }) => {
            let mut r = ApiError::status(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", &message)
                .into_response();
            reply::set(&mut r, "www-authenticate", h);
            r
        }
        Err(Denial::Denied(m)) => {
            ApiError::status(StatusCode::FORBIDDEN, "DENIED", &m).into_response()
        }
    }
}

/// `POST /token`: docker's OAuth2 form (password and refresh_token grants).
pub async fn token_post(State(app): State<Shared>, req: Request) -> Response {
    let body = match axum::body::to_bytes(req.into_body(), 64 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "SIZE_INVALID",
                "token request body over 64 KiB",
            )
            .into_response()
        }
    };
    let form = crate::auth::oauth::OAuthRequest::parse(&body);
    match app.auth.oauth(&form) {
        Ok(t) => {
            let mut answer = serde_json::json!({
                "access_token": t.access.token,
                "token": t.access.token,
                "expires_in": t.access.expires_in,
                "issued_at": rfc3339(t.access.issued_at),
                "scope": t.scope,
            });
            if let Some(refresh) = t.refresh_token {
                answer["refresh_token"] = refresh.into();
            }
            reply::json(StatusCode::OK, "application/json", &answer)
        }
        Err(e) => reply::json(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            "application/json",
            &serde_json::json!({"error": e.code(), "error_description": e.to_string()}),
        ),
    }
}

/// Seconds since the epoch as an RFC 3339 UTC timestamp.
/// Now as RFC 3339 (UTC, whole seconds).
pub(crate) fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = secs / 86400;
    let rem = secs % 86400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Logs each request, counts it by route and status, counts body bytes, and
/// adds the API version header every `/v2/` response carries.
pub async fn observe(
    app: &App,
    req: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // Cloning a Uri shares its buffer; nothing is copied per request.
    let uri = req.uri().clone();
    let path = uri.path();
    let bytes_in = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut response = next(req).await;
    // `dispatch` says which /v2/ endpoint it served; parsing the path a
    // second time here would double the routing work.
    let label = match response.extensions().get::<RouteLabel>() {
        Some(l) => l.0,
        None => route_label(path),
    };
    if path.starts_with("/v2") {
        response.headers_mut().insert(
            "docker-distribution-api-version",
            axum::http::HeaderValue::from_static("registry/2.0"),
        );
    }
    let status = response.status().as_u16();
    let bytes_out = if method == axum::http::Method::HEAD {
        0
    } else {
        response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let elapsed = started.elapsed();
    Metrics::add(&app.metrics.bytes_in, bytes_in);
    Metrics::add(&app.metrics.bytes_out, bytes_out);
    app.metrics
        .record(label, method.as_str(), status, elapsed.as_secs_f64());
    tracing::info!(
        method = %method,
        path = %path,
        route = label,
        status,
        bytes_in,
        bytes_out,
        micros = elapsed.as_micros() as u64,
        "request"
    );
    response
}

/// The metrics label of the /v2/ endpoint a response came from.
#[derive(Clone, Copy)]
pub struct RouteLabel(pub &'static str);

fn route_label(path: &str) -> &'static str {
    match path {
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        "/token" => "token",
        p if p.starts_with("/v2") => route::parse(p).map(|r| r.label()).unwrap_or("unknown"),
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
