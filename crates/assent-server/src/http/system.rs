//! The system endpoints: `/health`, `/metrics` (and the separate metrics listener) and
//! `/api/openapi.json`, generated from the route table so that it cannot drift.

use super::routes::routes;
use super::{Auth, Ctx, ok, schemas};
use crate::app::App;
use crate::error::{ApiError, EdgeError};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) async fn health(State(c): State<Ctx>) -> Response {
    match c.app.ping_store().await {
        // Without Redis a cluster node still serves (other nodes' events arrive from the log
        // within a second), so it is degraded, not down.
        Ok(()) => {
            let mut body = json!({"status": "ok", "timestamp": c.app.now().to_iso(), "version": env!("CARGO_PKG_VERSION")});
            if let Some(reason) = c.app.cluster_problem() {
                body["status"] = json!("degraded");
                body["reason"] = json!(reason);
            }
            ok(&body)
        }
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

pub(super) async fn metrics(State(c): State<Ctx>, headers: axum::http::HeaderMap) -> Response {
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
        app.metrics().render(),
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

pub(super) async fn openapi() -> Response {
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
                "2XX": {"description": "Success", "content": match route.reply {
                    Some(schema) => {
                        let (media, schema) = schemas::media(schema(), "application/json");
                        json!({media: {"schema": schema}})
                    }
                    None => json!({"application/json": {}}),
                }},
                "4XX": {"description": "Client error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            }
        });
        if let Some(schema) = route.body {
            let (media, schema) = schemas::media(schema(), "application/json");
            op["requestBody"] = json!({"required": true, "content": {media: {"schema": schema}}});
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
