//! The HTTP edge: the route table (which also generates `/api/openapi.json`, so the document
//! cannot drift from the router), middleware (request ids, metrics, access logs) and the
//! small system endpoints.

mod accounts;
mod agents;
mod extract;
mod files;
mod messages;
mod plugins;
mod reviews;
mod routes;
mod schemas;
mod session;
mod streams;
mod system;
mod webhooks;

pub use routes::routes;
pub use system::{metrics_router, openapi_document};

use crate::app::App;
use crate::error::{ApiError, EdgeError};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Shared state of HTTP handlers.
#[derive(Clone)]
pub struct Ctx {
    pub app: Arc<App>,
    pub secure_cookies: bool,
    pub max_body: usize,
    /// Take the client address from the last `X-Forwarded-For` entry (behind a proxy).
    pub trust_forwarded_for: bool,
    /// The bearer token `/metrics` requires; `None`: `/metrics` is not served here.
    pub metrics_token: Option<Arc<str>>,
    /// Serves every non-API path (the dashboard); injected so that edges stay apart.
    pub pages: fn(&str) -> Response,
}

/// What every handler returns.
pub(crate) type Reply = Result<Response, ApiError>;

pub(crate) fn ok<T: Serialize>(v: &T) -> Response {
    (StatusCode::OK, Json(v)).into_response()
}

pub(crate) fn created<T: Serialize>(v: &T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    ApiKey,
    Session,
    /// `Authorization: Bearer <metrics token>`.
    MetricsToken,
}

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub handler: MethodRouter<Ctx>,
    /// The JSON body it reads, as a schema (`schemas.rs`); `None`: no body.
    pub body: Option<fn() -> Value>,
    /// The JSON body of its 2xx answer, as a schema; `None`: not described.
    pub reply: Option<fn() -> Value>,
}

/// The HTTP router (without the Socket.IO layer).
pub fn router(ctx: Ctx) -> Router {
    let mut router: Router<Ctx> = Router::new();
    for route in routes() {
        // `Caller` reads which credential the route takes from the request.
        let handler = route.handler.layer(axum::Extension(route.auth));
        router = router.route(route.path, handler);
    }
    router
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(csrf_guard))
        .layer(middleware::from_fn_with_state(ctx.clone(), observe))
        .with_state(ctx)
}

/// Refuses state-changing requests that carry the session cookie and that the browser says
/// come from another site or origin. The cookie is `SameSite=Lax`, which still lets a
/// same-site page (another subdomain) post a form with it, and a form can send an empty or
/// `text/plain` body without a CORS preflight. Browsers mark every request with
/// `Sec-Fetch-Site` (and non-GET requests with `Origin`); scripts and agents that send the
/// cookie by hand send neither, and bearer-token or API-key requests are not affected.
async fn csrf_guard(req: Request, next: Next) -> Response {
    if is_cross_site_cookie_write(&req) {
        return ApiError::from(EdgeError::CrossSiteRequest).into_response();
    }
    next.run(req).await
}

fn is_cross_site_cookie_write(req: &Request) -> bool {
    use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
    let h = req.headers();
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if !writes || h.contains_key(AUTHORIZATION) || extract::session_token_cookie(h).is_none() {
        return false;
    }
    let header = |name| h.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (header(ORIGIN.as_str()), header(HOST.as_str())) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            !origin_host.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

async fn fallback(State(c): State<Ctx>, req: Request) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/") || path == "/api" {
        ApiError::from(EdgeError::RouteNotFound).into_response()
    } else {
        (c.pages)(path)
    }
}

async fn method_not_allowed() -> Response {
    ApiError::from(EdgeError::MethodNotAllowed).into_response()
}

/// Request id, access log and latency metric for every request.
async fn observe(State(ctx): State<Ctx>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| assent_core::secret::random_hex(8));
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", v);
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let span = tracing::info_span!("http", request_id = %id, method = %method, route = %route);
    let mut res = next.run(req).instrument(span).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let status = res.status().as_u16();
    ctx.app
        .metrics()
        .observe_http(method.as_str(), &route, status, ms);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    if status > 500 {
        // A 500 was logged, with its cause, where it was rendered (`ApiError::into_response`).
        tracing::warn!(request_id = %id, %method, %route, status, ms, "request failed");
    } else {
        tracing::debug!(request_id = %id, %method, %route, status, ms, "request served");
    }
    res
}
