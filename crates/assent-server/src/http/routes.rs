//! The route table: every API route on one line — method, path, credential, handler, the
//! body schema it reads (if any), and the summary the OpenAPI document shows. The router and
//! `/api/openapi.json` are both built from it.

use super::webhooks;
use super::{Route, accounts, agents, messages, reviews, schemas, session, streams, system};

/// `METHOD "path" Auth handler [, body = schema]; "summary"`.
macro_rules! table {
    ($($m:ident $path:literal $auth:ident $h:path $(, body = $b:path)? ; $sum:literal)*) => {
        vec![$(Route {
            method: axum::http::Method::$m,
            path: $path,
            auth: super::Auth::$auth,
            summary: $sum,
            handler: axum::routing::on(axum::routing::MethodFilter::$m, $h),
            body: None$(.or(Some($b as fn() -> serde_json::Value)))?,
        }),*]
    };
}

/// Every API route, once.
pub fn routes() -> Vec<Route> {
    table! {
        GET    "/health"                                  None         system::health; "Readiness: 200 once the server serves requests"
        GET    "/metrics"                                 MetricsToken system::metrics; "Prometheus metrics (needs the metrics token; not served without one)"
        GET    "/api/openapi.json"                        None         system::openapi; "This document"
        // agent API
        GET    "/api/v1/agents"                           ApiKey  agents::list; "List the key owner's agents"
        POST   "/api/v1/agents"                           ApiKey  agents::create, body = schemas::create_agent; "Create an agent (channel)"
        PATCH  "/api/v1/agents/{id}"                      ApiKey  agents::update, body = schemas::update_agent; "Update an agent"
        DELETE "/api/v1/agents/{id}"                      ApiKey  agents::delete; "Delete an agent and its messages"
        POST   "/api/v1/agents/setTag"                    ApiKey  agents::set_tag, body = schemas::set_tag; "Set or clear an agent's grouping tag"
        POST   "/api/v1/agents/setWebhook"                ApiKey  webhooks::set, body = schemas::set_webhook; "Set the agent's webhook URL, headers and credentials; returns the signing secret the first time"
        POST   "/api/v1/agents/deleteWebhook"             ApiKey  webhooks::delete, body = schemas::delete_webhook; "Remove the agent's webhook URL, headers and credentials"
        POST   "/api/v1/agents/{id}/webhook-secret/rotate" ApiKey webhooks::rotate_secret; "Replace the webhook signing secret (returned once)"
        GET    "/api/v1/agents/{id}/deliveries"           ApiKey  webhooks::agent_deliveries; "The agent's newest webhook deliveries with their attempts (?state=&limit=)"
        PUT    "/api/v1/agents/{id}/commands"             ApiKey  agents::set_commands, body = schemas::set_commands; "Replace an agent's slash commands"
        POST   "/api/v1/messages"                         ApiKey  messages::post_agent, body = schemas::agent_message; "Post a message (idempotent on clientId)"
        GET    "/api/v1/messages"                         ApiKey  messages::list; "Page messages: newest first by cursor, or forward with after=<seq>"
        GET    "/api/v1/messages/{id}"                    ApiKey  messages::get; "Read one message (?channel=)"
        DELETE "/api/v1/messages/{id}"                    ApiKey  messages::delete; "Delete a message (?channel=); emits message:deleted"
        POST   "/api/v1/messages/{id}/ack"                ApiKey  messages::ack; "Acknowledge receipt (?channel=); emits message:delivery"
        GET    "/api/v1/messages/{id}/deliveries"         ApiKey  webhooks::message_deliveries; "A message's webhook deliveries with their attempts (?channel=)"
        POST   "/api/v1/messages/{id}/retry"              ApiKey  webhooks::retry; "Retry the message's webhook delivery now (?channel=)"
        GET    "/api/v1/messages/iterations/{id}"         ApiKey  messages::iterations; "An iteration chain (?channel=)"
        PATCH  "/api/v1/messages/streams/{id}"            ApiKey  streams::patch, body = schemas::update_stream; "Update a streamed draft: text, complete, or streamState"
        POST   "/api/v1/messages/streams/{id}/status"     ApiKey  streams::status, body = schemas::stream_status; "Append a status step to a stream; emits message:status"
        POST   "/api/v1/messages/streams/{id}/delta"      ApiKey  streams::delta, body = schemas::stream_delta; "Append a text delta to a draft; emits message:delta / text_delta"
        POST   "/api/v1/threads/{id}/events"              ApiKey  streams::thread_event, body = schemas::thread_event; "Report a lifecycle event (tool calls, escalation, conversation) to the thread stream"
        GET    "/api/v1/reviews/pending"                  ApiKey  reviews::pending; "Pending reviews of a channel (?channel=)"
        GET    "/api/v1/reviews/{id}"                     ApiKey  reviews::get; "A review message (?channel=)"
        GET    "/api/v1/reviews/{id}/wait"                ApiKey  reviews::wait; "Long-poll a review until answered, expired or timeout (?channel=&timeout=ms)"
        POST   "/api/v1/status/ping"                      ApiKey  agents::ping, body = schemas::ping_status; "Agent heartbeat; emits agent:status"
        POST   "/api/v1/ws-ticket"                        ApiKey  session::ws_ticket; "Single-use 30 s ticket for sockets"
        // human API
        POST   "/api/auth/login"                          None    session::login, body = schemas::login; "Log in: session cookie + bearer token"
        GET    "/api/auth/me"                             Session session::me; "The current user"
        POST   "/api/auth/logout"                         None    session::logout; "Revoke the session and clear the cookie"
        POST   "/api/auth/refresh"                        Session session::refresh; "Replace the session by a fresh one"
        POST   "/api/auth/change-password"                Session session::change_password, body = schemas::change_password; "Change password; revokes other sessions"
        POST   "/api/auth/ws-ticket"                      Session session::ws_ticket; "Single-use 30 s ticket for sockets"
        GET    "/api/users"                               Session accounts::list_users; "List users (owner)"
        POST   "/api/users"                               Session accounts::create_user, body = schemas::create_user; "Create a user (owner)"
        PATCH  "/api/users/{id}"                          Session accounts::update_user, body = schemas::update_user; "Update a user (owner)"
        DELETE "/api/users/{id}"                          Session accounts::delete_user; "Delete a user (owner)"
        GET    "/api/api-keys"                            Session accounts::list_keys; "List your API keys"
        POST   "/api/api-keys"                            Session accounts::create_key, body = schemas::create_api_key; "Create an API key (shown once)"
        DELETE "/api/api-keys/{id}"                       Session accounts::delete_key; "Delete an API key"
        POST   "/api/api-keys/{id}/rotate"                Session accounts::rotate_key; "Rotate an API key (new secret, shown once)"
        GET    "/api/agents"                              Session agents::list; "List your agents with last message and unread count"
        POST   "/api/agents"                              Session agents::create, body = schemas::create_agent; "Create an agent"
        GET    "/api/agents/{id}"                         Session agents::get; "Read an agent"
        PATCH  "/api/agents/{id}"                         Session agents::update, body = schemas::update_agent; "Update an agent"
        DELETE "/api/agents/{id}"                         Session agents::delete; "Delete an agent"
        POST   "/api/agents/setTag"                       Session agents::set_tag, body = schemas::set_tag; "Set or clear an agent's tag"
        PUT    "/api/agents/{id}/commands"                Session agents::set_commands, body = schemas::set_commands; "Replace an agent's slash commands"
        POST   "/api/agents/{id}/webhook-secret/rotate"   Session webhooks::rotate_secret; "Replace the webhook signing secret (returned once)"
        GET    "/api/agents/{id}/deliveries"              Session webhooks::agent_deliveries; "The agent's newest webhook deliveries with their attempts (?state=&limit=)"
        POST   "/api/agents/{id}/read"                    Session agents::mark_read; "Mark the channel read"
        POST   "/api/messages"                            Session messages::post_human, body = schemas::user_message; "Post a message as the human (idempotent on clientId)"
        GET    "/api/messages"                            Session messages::list; "Page a channel's messages"
        GET    "/api/messages/{id}"                       Session messages::get; "Read one message"
        GET    "/api/messages/reviews"                    Session reviews::list; "Reviews across your agents (?status=pending|completed|expired|all&channel=)"
        POST   "/api/messages/{id}/respond"               Session reviews::respond, body = schemas::respond; "Answer a review (first answer wins)"
        GET    "/api/messages/{id}/deliveries"            Session webhooks::message_deliveries; "A message's webhook deliveries with their attempts"
        POST   "/api/messages/{id}/retry"                 Session webhooks::retry; "Retry the message's webhook delivery now"
        GET    "/api/messages/{id}/iterations"            Session messages::iterations; "An iteration chain"
    }
}
