//! The HTTP API: the OCI Distribution Spec's `/v2/` endpoints, the token
//! endpoint and the operational ones (/healthz, /readyz, /metrics).
//!
//! Repository names contain slashes, so `/v2/...` paths are taken apart by
//! hand (`route.rs`) rather than by the router; each kind of endpoint then has
//! its own handler file.

mod blobs;
mod discovery;
#[doc(hidden)]
pub mod fuzz_hooks;
mod manifests;
pub(crate) mod ops;
mod reply;
mod route;
mod unread_body;
mod uploads;

use crate::auth::{Auth, Denial, Need};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::storage::Storage;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use reply::ApiError;
use route::{Endpoint, Route};
use std::sync::Arc;

/// Everything a handler needs, shared by all requests.
pub struct App {
    pub storage: Storage,
    pub auth: Auth,
    pub metrics: Metrics,
    pub config: Config,
    pub tls: bool,
    /// Timeouts, upload-session and JSON-depth limits (limits/).
    pub limits: Arc<crate::limits::Limits>,
    /// The pull-through cache, when `[proxy]` is configured.
    pub proxy: Option<crate::proxy::Proxy>,
    /// Notification endpoints (notify/); handlers only enqueue.
    pub notify: Arc<crate::notify::Notifier>,
}

pub type Shared = Arc<App>;

/// The whole HTTP surface as an axum router.
pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/token", get(ops::token).post(ops::token_post))
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(app.clone(), edge))
        .with_state(app)
}

/// What every request passes through, outermost first: the log line and
/// metrics (`ops::observe`), body pacing (`limits::body::pace`), and
/// settling what the handler left of the body (`unread_body::settle`).
/// One middleware calling the three: as three layers each boxed its future
/// and cloned the service behind it on every request.
async fn edge(State(app): State<Shared>, req: Request, next: Next) -> Response {
    ops::observe(&app, req, async |req| {
        crate::limits::body::pace(&app.limits, req, async |req| {
            unread_body::settle(req, async |req| next.run(req).await).await
        })
        .await
    })
    .await
}

/// Routes a `/v2/` request after checking who may make it.
async fn dispatch(State(app): State<Shared>, req: Request) -> Response {
    let route = match route::parse(req.uri().path()) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let method = req.method().clone();
    let query = route::Query::parse(req.uri().query());
    let need = match route.need(&method) {
        Some(n) => n,
        None => {
            return ApiError::status(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNSUPPORTED",
                "method not allowed here",
            )
            .into_response()
        }
    };
    // A token naming an unknown key may need the JWKS fetched first.
    let authz = req.headers().get(axum::http::header::AUTHORIZATION);
    app.auth.prepare(authz.and_then(|v| v.to_str().ok())).await;
    let identity = match authorize(&app, req.headers(), &need) {
        Ok(i) => i,
        Err(resp) => return *resp,
    };
    // Who asked, only when an event may be sent (ids and header copies cost on every request).
    let request = app
        .notify
        .enabled()
        .then(|| crate::notify::RequestInfo::from_headers(method.as_str(), req.headers()));
    let deleting = method == Method::DELETE;
    if deleting && !app.config.delete_enabled && !matches!(route.endpoint, Endpoint::Upload(_)) {
        return ApiError::status(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "deletes are disabled on this registry (delete_enabled = false)",
        )
        .into_response();
    }
    let ctx = Ctx {
        app: &app,
        route: &route,
        query: &query,
        identity,
        request,
    };
    let (parts, body) = req.into_parts();
    let result = match &route.endpoint {
        Endpoint::Base => Ok(reply::empty(StatusCode::OK)),
        Endpoint::Catalog => discovery::catalog(&ctx).await,
        Endpoint::Tags => discovery::tags(&ctx).await,
        Endpoint::Referrers(d) => discovery::referrers(&ctx, d).await,
        Endpoint::Manifest(r) => {
            manifests::handle(&ctx, &parts.method, &parts.headers, r, body).await
        }
        Endpoint::BadManifestRef { reference, error } => Err(manifests::bad_reference(
            &ctx,
            &parts.method,
            reference,
            error,
        )),
        Endpoint::Blob(d) => blobs::handle(&ctx, &parts.method, &parts.headers, d).await,
        Endpoint::UploadStart => uploads::start(&ctx, &parts.headers, body).await,
        Endpoint::Upload(id) => {
            uploads::handle(&ctx, &parts.method, &parts.headers, id, body).await
        }
    };
    let mut response = match result {
        Ok(r) => r,
        Err(e) => {
            if e.is_storage_fault() {
                Metrics::add(&app.metrics.storage_errors, 1);
            }
            e.into_response()
        }
    };
    response
        .extensions_mut()
        .insert(ops::RouteLabel(route.label()));
    response
}

/// Per-request context handed to endpoint handlers.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub route: &'a Route,
    pub query: &'a route::Query,
    pub identity: crate::auth::Identity,
    /// Who asked, for notification events (None when no endpoint is configured).
    pub request: Option<crate::notify::RequestInfo>,
}

impl Ctx<'_> {
    pub fn name(&self) -> &str {
        &self.route.name
    }

    /// Queues a notification about `kind` (`manifests` or `blobs`) `digest`
    /// in this request's repository. `target` is only built when notifications
    /// are on.
    pub fn notify(
        &self,
        action: crate::notify::Action,
        kind: &str,
        target: impl FnOnce() -> crate::notify::Target,
    ) {
        let Some(request) = &self.request else {
            return;
        };
        let mut target = target();
        target.repository = self.name().to_string();
        if !target.digest.is_empty() {
            let scheme = if self.app.tls { "https" } else { "http" };
            target.url = format!(
                "{scheme}://{}/v2/{}/{kind}/{}",
                request.host,
                self.name(),
                target.digest
            );
        }
        self.app
            .notify
            .emit(action, target, request, self.identity.user.as_deref());
    }
}

fn authorize(
    app: &App,
    headers: &HeaderMap,
    need: &Need,
) -> Result<crate::auth::Identity, Box<Response>> {
    if app.auth.mode() == crate::config::AuthMode::None {
        // Nothing to check, so no realm to build either.
        return Ok(crate::auth::Identity::default());
    }
    let authz = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let scheme = if app.tls { "https" } else { "http" };
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let realm = format!("{scheme}://{host}/token");
    app.auth.check(authz, &realm, need).map_err(|d| {
        Box::new(match d {
            Denial::Challenge { header, message } => {
                let mut r = ApiError::status(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", &message)
                    .into_response();
                if let Ok(v) = header.parse() {
                    r.headers_mut()
                        .insert(axum::http::header::WWW_AUTHENTICATE, v);
                }
                r
            }
            Denial::Denied(message) => {
                ApiError::status(StatusCode::FORBIDDEN, "DENIED", &message).into_response()
            }
        })
    })
}

/// A request body as a byte stream for storage.
pub fn body_stream(body: Body) -> crate::driver::ByteStream {
    use futures::TryStreamExt;
    Box::pin(body.into_data_stream().map_err(std::io::Error::other))
}
