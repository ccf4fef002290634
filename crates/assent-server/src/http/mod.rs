//! The HTTP edge: the route table (which also generates `/api/openapi.json`, so the document
//! cannot drift from the router), middleware (request ids, metrics, access logs) and the
//! small system endpoints.

mod extract;
mod human;
mod schemas;
mod v1;

use crate::app::App;
use crate::error::{ApiError, EdgeError};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
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
}

impl Route {
    fn body(mut self, schema: fn() -> Value) -> Route {
        self.body = Some(schema);
        self
    }
}

fn r(
    method: Method,
    path: &'static str,
    auth: Auth,
    summary: &'static str,
    handler: MethodRouter<Ctx>,
) -> Route {
    Route {
        method,
        path,
        summary,
        auth,
        handler,
        body: None,
    }
}

/// Every API route, once.
pub fn routes() -> Vec<Route> {
    use Auth::*;
    use Method as M;
    vec![
        r(
            M::GET,
            "/health",
            None,
            "Readiness: 200 once the server serves requests",
            get(health),
        ),
        r(
            M::GET,
            "/metrics",
            MetricsToken,
            "Prometheus metrics (needs the metrics token; not served without one)",
            get(metrics),
        ),
        r(
            M::GET,
            "/api/openapi.json",
            None,
            "This document",
            get(openapi),
        ),
        // agent API
        r(
            M::GET,
            "/api/v1/agents",
            ApiKey,
            "List the key owner's agents",
            get(v1::list_agents),
        ),
        r(
            M::POST,
            "/api/v1/agents",
            ApiKey,
            "Create an agent (channel)",
            post(v1::create_agent),
        )
        .body(schemas::create_agent),
        r(
            M::PATCH,
            "/api/v1/agents/{id}",
            ApiKey,
            "Update an agent",
            patch(v1::update_agent),
        )
        .body(schemas::update_agent),
        r(
            M::DELETE,
            "/api/v1/agents/{id}",
            ApiKey,
            "Delete an agent and its messages",
            delete(v1::delete_agent),
        ),
        r(
            M::POST,
            "/api/v1/agents/setTag",
            ApiKey,
            "Set or clear an agent's grouping tag",
            post(v1::set_tag),
        )
        .body(schemas::set_tag),
        r(
            M::POST,
            "/api/v1/agents/setWebhook",
            ApiKey,
            "Set the agent's webhook URL, headers and credentials; returns the signing secret the first time",
            post(v1::set_webhook),
        )
        .body(schemas::set_webhook),
        r(
            M::POST,
            "/api/v1/agents/deleteWebhook",
            ApiKey,
            "Remove the agent's webhook URL, headers and credentials",
            post(v1::delete_webhook),
        )
        .body(schemas::delete_webhook),
        r(
            M::POST,
            "/api/v1/agents/{id}/webhook-secret/rotate",
            ApiKey,
            "Replace the webhook signing secret (returned once)",
            post(v1::rotate_webhook_secret),
        ),
        r(
            M::GET,
            "/api/v1/agents/{id}/deliveries",
            ApiKey,
            "The agent's newest webhook deliveries with their attempts (?state=&limit=)",
            get(v1::agent_deliveries),
        ),
        r(
            M::PUT,
            "/api/v1/agents/{id}/commands",
            ApiKey,
            "Replace an agent's slash commands",
            put(v1::set_commands),
        )
        .body(schemas::set_commands),
        r(
            M::POST,
            "/api/v1/messages",
            ApiKey,
            "Post a message (idempotent on clientId)",
            post(v1::post_message),
        )
        .body(schemas::agent_message),
        r(
            M::GET,
            "/api/v1/messages",
            ApiKey,
            "Page messages: newest first by cursor, or forward with after=<seq>",
            get(v1::list_messages),
        ),
        r(
            M::GET,
            "/api/v1/messages/{id}",
            ApiKey,
            "Read one message (?channel=)",
            get(v1::get_message),
        ),
        r(
            M::DELETE,
            "/api/v1/messages/{id}",
            ApiKey,
            "Delete a message (?channel=); emits message:deleted",
            delete(v1::delete_message),
        ),
        r(
            M::POST,
            "/api/v1/messages/{id}/ack",
            ApiKey,
            "Acknowledge receipt (?channel=); emits message:delivery",
            post(v1::ack_message),
        ),
        r(
            M::GET,
            "/api/v1/messages/{id}/deliveries",
            ApiKey,
            "A message's webhook deliveries with their attempts (?channel=)",
            get(v1::message_deliveries),
        ),
        r(
            M::POST,
            "/api/v1/messages/{id}/retry",
            ApiKey,
            "Retry the message's webhook delivery now (?channel=)",
            post(v1::retry_delivery),
        ),
        r(
            M::GET,
            "/api/v1/messages/iterations/{id}",
            ApiKey,
            "An iteration chain (?channel=)",
            get(v1::iterations),
        ),
        r(
            M::PATCH,
            "/api/v1/messages/streams/{id}",
            ApiKey,
            "Update a streamed draft: text, complete, or streamState",
            patch(v1::patch_stream),
        )
        .body(schemas::update_stream),
        r(
            M::POST,
            "/api/v1/messages/streams/{id}/status",
            ApiKey,
            "Append a status step to a stream; emits message:status",
            post(v1::stream_status),
        )
        .body(schemas::stream_status),
        r(
            M::POST,
            "/api/v1/messages/streams/{id}/delta",
            ApiKey,
            "Append a text delta to a draft; emits message:delta / text_delta",
            post(v1::stream_delta),
        )
        .body(schemas::stream_delta),
        r(
            M::POST,
            "/api/v1/threads/{id}/events",
            ApiKey,
            "Report a lifecycle event (tool calls, escalation, conversation) to the thread stream",
            post(v1::thread_event),
        )
        .body(schemas::thread_event),
        r(
            M::GET,
            "/api/v1/reviews/pending",
            ApiKey,
            "Pending reviews of a channel (?channel=)",
            get(v1::pending_reviews),
        ),
        r(
            M::GET,
            "/api/v1/reviews/{id}",
            ApiKey,
            "A review message (?channel=)",
            get(v1::get_review),
        ),
        r(
            M::GET,
            "/api/v1/reviews/{id}/wait",
            ApiKey,
            "Long-poll a review until answered, expired or timeout (?channel=&timeout=ms)",
            get(v1::wait_review),
        ),
        r(
            M::POST,
            "/api/v1/status/ping",
            ApiKey,
            "Agent heartbeat; emits agent:status",
            post(v1::ping),
        )
        .body(schemas::ping_status),
        r(
            M::POST,
            "/api/v1/ws-ticket",
            ApiKey,
            "Single-use 30 s ticket for sockets",
            post(v1::ws_ticket),
        ),
        // human API
        r(
            M::POST,
            "/api/auth/login",
            None,
            "Log in: session cookie + bearer token",
            post(human::login),
        )
        .body(schemas::login),
        r(
            M::GET,
            "/api/auth/me",
            Session,
            "The current user",
            get(human::me),
        ),
        r(
            M::POST,
            "/api/auth/logout",
            None,
            "Revoke the session and clear the cookie",
            post(human::logout),
        ),
        r(
            M::POST,
            "/api/auth/refresh",
            Session,
            "Replace the session by a fresh one",
            post(human::refresh),
        ),
        r(
            M::POST,
            "/api/auth/change-password",
            Session,
            "Change password; revokes other sessions",
            post(human::change_password),
        )
        .body(schemas::change_password),
        r(
            M::POST,
            "/api/auth/ws-ticket",
            Session,
            "Single-use 30 s ticket for sockets",
            post(human::ws_ticket),
        ),
        r(
            M::GET,
            "/api/users",
            Session,
            "List users (owner)",
            get(human::list_users),
        ),
        r(
            M::POST,
            "/api/users",
            Session,
            "Create a user (owner)",
            post(human::create_user),
        )
        .body(schemas::create_user),
        r(
            M::PATCH,
            "/api/users/{id}",
            Session,
            "Update a user (owner)",
            patch(human::update_user),
        )
        .body(schemas::update_user),
        r(
            M::DELETE,
            "/api/users/{id}",
            Session,
            "Delete a user (owner)",
            delete(human::delete_user),
        ),
        r(
            M::GET,
            "/api/api-keys",
            Session,
            "List your API keys",
            get(human::list_keys),
        ),
        r(
            M::POST,
            "/api/api-keys",
            Session,
            "Create an API key (shown once)",
            post(human::create_key),
        )
        .body(schemas::create_api_key),
        r(
            M::DELETE,
            "/api/api-keys/{id}",
            Session,
            "Delete an API key",
            delete(human::delete_key),
        ),
        r(
            M::POST,
            "/api/api-keys/{id}/rotate",
            Session,
            "Rotate an API key (new secret, shown once)",
            post(human::rotate_key),
        ),
        r(
            M::GET,
            "/api/agents",
            Session,
            "List your agents with last message and unread count",
            get(human::list_agents),
        ),
        r(
            M::POST,
            "/api/agents",
            Session,
            "Create an agent",
            post(human::create_agent),
        )
        .body(schemas::create_agent),
        r(
            M::GET,
            "/api/agents/{id}",
            Session,
            "Read an agent",
            get(human::get_agent),
        ),
        r(
            M::PATCH,
            "/api/agents/{id}",
            Session,
            "Update an agent",
            patch(human::update_agent),
        )
        .body(schemas::update_agent),
        r(
            M::DELETE,
            "/api/agents/{id}",
            Session,
            "Delete an agent",
            delete(human::delete_agent),
        ),
        r(
            M::POST,
            "/api/agents/setTag",
            Session,
            "Set or clear an agent's tag",
            post(human::set_tag),
        )
        .body(schemas::set_tag),
        r(
            M::PUT,
            "/api/agents/{id}/commands",
            Session,
            "Replace an agent's slash commands",
            put(human::set_commands),
        )
        .body(schemas::set_commands),
        r(
            M::POST,
            "/api/agents/{id}/webhook-secret/rotate",
            Session,
            "Replace the webhook signing secret (returned once)",
            post(human::rotate_webhook_secret),
        ),
        r(
            M::GET,
            "/api/agents/{id}/deliveries",
            Session,
            "The agent's newest webhook deliveries with their attempts (?state=&limit=)",
            get(human::agent_deliveries),
        ),
        r(
            M::POST,
            "/api/agents/{id}/read",
            Session,
            "Mark the channel read",
            post(human::mark_read),
        ),
        r(
            M::POST,
            "/api/messages",
            Session,
            "Post a message as the human (idempotent on clientId)",
            post(human::post_message),
        )
        .body(schemas::user_message),
        r(
            M::GET,
            "/api/messages",
            Session,
            "Page a channel's messages",
            get(human::list_messages),
        ),
        r(
            M::GET,
            "/api/messages/{id}",
            Session,
            "Read one message",
            get(human::get_message),
        ),
        r(
            M::GET,
            "/api/messages/reviews",
            Session,
            "Reviews across your agents (?status=pending|completed|expired|all&channel=)",
            get(human::list_reviews),
        ),
        r(
            M::POST,
            "/api/messages/{id}/respond",
            Session,
            "Answer a review (first answer wins)",
            post(human::respond),
        )
        .body(schemas::respond),
        r(
            M::GET,
            "/api/messages/{id}/deliveries",
            Session,
            "A message's webhook deliveries with their attempts",
            get(human::message_deliveries),
        ),
        r(
            M::POST,
            "/api/messages/{id}/retry",
            Session,
            "Retry the message's webhook delivery now",
            post(human::retry_delivery),
        ),
        r(
            M::GET,
            "/api/messages/{id}/iterations",
            Session,
            "An iteration chain",
            get(human::iterations),
        ),
    ]
}

/// The HTTP router (without the Socket.IO layer).
pub fn router(ctx: Ctx) -> Router {
    let mut router: Router<Ctx> = Router::new();
    for route in routes() {
        router = router.route(route.path, route.handler);
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
        .metrics
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

async fn health(State(c): State<Ctx>) -> Response {
    match c.app.store.ping().await {
        Ok(()) => ok(
            &json!({"status": "ok", "timestamp": c.app.now().to_iso(), "version": env!("CARGO_PKG_VERSION")}),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

async fn metrics(State(c): State<Ctx>, headers: axum::http::HeaderMap) -> Response {
    match &c.metrics_token {
        None => ApiError::from(EdgeError::RouteNotFound).into_response(),
        Some(token) => metrics_answer(&c.app, Some(token), &headers),
    }
}

/// The metrics text, if `headers` carry `token` (when there is one).
fn metrics_answer(app: &App, token: Option<&str>, headers: &axum::http::HeaderMap) -> Response {
    if let Some(token) = token {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !assent_core::secret::same_secret(given, token) {
            return ApiError::from(EdgeError::NotAuthenticated).into_response();
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// The router of the separate `--metrics-addr` listener: `GET /metrics` only.
pub fn metrics_router(app: Arc<App>, token: Option<Arc<str>>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move |headers: axum::http::HeaderMap| async move {
                metrics_answer(&app, token.as_deref(), &headers)
            }),
        )
        .fallback(|| async { ApiError::from(EdgeError::RouteNotFound).into_response() })
}

async fn openapi() -> Response {
    ok(&openapi_document())
}

/// OpenAPI 3.1 generated from `routes()`.
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for route in routes() {
        let security = match route.auth {
            Auth::None => json!([]),
            Auth::ApiKey => json!([{"apiKey": []}]),
            Auth::Session => json!([{"cookie": []}, {"bearer": []}]),
            Auth::MetricsToken => json!([{"bearer": []}]),
        };
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": route.summary,
            "security": security,
            "parameters": params,
            "responses": {
                "2XX": {"description": "Success", "content": {"application/json": {}}},
                "4XX": {"description": "Client error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            }
        });
        if let Some(schema) = route.body {
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema()}},
            });
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.as_str().to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Assent", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Human-in-the-loop gateway for AI agents; Placet-compatible."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "access_token"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["statusCode", "message", "error", "code"],
                    "properties": {
                        "statusCode": {"type": "integer"},
                        "message": {"type": "string"},
                        "error": {"type": "string"},
                        "code": {"type": "string", "enum": assent_proto::ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                                 "description": "Stable; new codes may be added."},
                        "errors": {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}},
                    }
                }
            }
        }
    })
}
