//! The MCP edge: Streamable HTTP at `/mcp` (sessions, SSE answers for long calls), on the
//! server's own port, with Placet's tool set (`tools.rs`). Every request carries the agent's
//! API key (`x-api-key` or `Authorization: Bearer hp_…`); a missing or bad key is a 401
//! before any MCP processing, and every tool runs with exactly that key's rights, through
//! the same use cases as the REST API. `?channel=` on the URL is the default `channelId`.
//!
//! Built on the official Rust SDK (`rmcp`): it implements the transport (sessions, SSE,
//! cancellation) and the protocol types; this module only maps tools onto `App`.

mod ask;
mod plugins;
pub mod stdio;
mod tools;

use crate::app::App;
use crate::error::{ApiError, EdgeError};
use assent_core::model::Principal;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, InitializeResult, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Who calls, resolved from the key before MCP sees the request.
#[derive(Clone)]
pub(crate) struct McpCaller {
    pub(crate) principal: Principal,
    /// `?channel=` on the URL: the `channelId` of tools that are not given one.
    pub(crate) default_channel: Option<String>,
}

/// The `/mcp` router: authentication, then the Streamable HTTP service.
pub fn router(app: Arc<App>, closing: CancellationToken) -> axum::Router {
    let server = McpServer { app: app.clone() };
    let config = StreamableHttpServerConfig::default()
        // Any Host: callers authenticate with an API key, which a rebinding page cannot send.
        .disable_allowed_hosts()
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
        .with_cancellation_token(closing.child_token());
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        LocalSessionManager::default().into(),
        config,
    );
    axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(app, authenticate))
}

/// 401 (the API's own error body) unless the request carries a valid agent key.
async fn authenticate(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let (key, default_channel) = credentials(&req);
    let Some(raw) = key else {
        return ApiError::from(EdgeError::MissingApiKey).into_response();
    };
    let principal = match app.api_key_principal(&raw).await {
        Ok(Some(p)) => p,
        Ok(None) => return ApiError::from(EdgeError::InvalidApiKey).into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    req.extensions_mut().insert(McpCaller {
        principal,
        default_channel,
    });
    next.run(req).await
}

/// The key (`x-api-key`, or `Authorization: Bearer hp_…`) and `?channel=` of a request.
fn credentials(req: &Request) -> (Option<String>, Option<String>) {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let key = assent_core::secret::agent_key(header("x-api-key"), header("authorization"))
        .map(str::to_owned);
    let channel = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "channel")
            .map(|(_, v)| v.to_owned())
            .filter(|v| !v.is_empty())
    });
    (key, channel)
}

#[derive(Clone)]
struct McpServer {
    app: Arc<App>,
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> InitializeResult {
        let mut info = InitializeResult::default();
        info.capabilities = ServerCapabilities::builder().enable_tools().build();
        info.server_info = Implementation::new("assent", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Ask humans through Assent: send messages and reviews (approval, selection, form, \
             text-input, freeform) to a channel, then wait_for_review for the answer."
                .into(),
        );
        info
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::catalog(&self.app)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<McpCaller>())
            .cloned()
            .ok_or_else(|| ErrorData::internal_error("the request was not authenticated", None))?;
        let result = tools::call(&self.app, &caller, request, &context).await?;
        Ok(CallToolResponse::Complete(result))
    }
}
