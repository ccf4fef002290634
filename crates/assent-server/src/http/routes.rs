//! The route table: every API route on one line — method, path, credential, handler, the
//! body schema it reads (if any), and the summary the OpenAPI document shows. The router and
//! `/api/openapi.json` are both built from it.

use super::webhooks;
use super::{
    Route, accounts, agents, files, messages, plugins, reviews, schemas, session, streams, system,
};

/// `METHOD "path" Auth handler [, body = schema] [, reply = schema]; "summary"`.
macro_rules! table {
    ($($m:ident $path:literal $auth:ident $h:path $(, body = $b:path)? $(, reply = $r:path)? ; $sum:literal)*) => {
        vec![$(Route {
            method: axum::http::Method::$m,
            path: $path,
            auth: super::Auth::$auth,
            summary: $sum,
            handler: axum::routing::on(axum::routing::MethodFilter::$m, $h),
            body: None$(.or(Some($b as fn() -> serde_json::Value)))?,
            reply: None$(.or(Some($r as fn() -> serde_json::Value)))?,
        }),*]
    };
}

/// Every API route, once.
pub fn routes() -> Vec<Route> {
    let mut all = agent_routes();
    all.extend(human_routes());
    all
}

/// System routes and the agent API (`x-api-key`).
fn agent_routes() -> Vec<Route> {
    table! {
        GET    "/health"                                  None         system::health; "Readiness: 200 once the server serves requests"
        GET    "/metrics"                                 MetricsToken system::metrics; "Prometheus metrics (needs the metrics token; not served without one)"
        GET    "/api/openapi.json"                        None         system::openapi; "This document"
        // agent API
        GET    "/api/v1/agents"                           ApiKey  agents::list, reply = schemas::agent_list; "List the key owner's agents"
        POST   "/api/v1/agents"                           ApiKey  agents::create, body = schemas::create_agent, reply = schemas::agent_record; "Create an agent (channel)"
        PATCH  "/api/v1/agents/{id}"                      ApiKey  agents::update, body = schemas::update_agent, reply = schemas::agent_record; "Update an agent"
        DELETE "/api/v1/agents/{id}"                      ApiKey  agents::delete, reply = schemas::deleted; "Delete an agent and its messages"
        POST   "/api/v1/agents/setTag"                    ApiKey  agents::set_tag, body = schemas::set_tag, reply = schemas::agent_record; "Set or clear an agent's grouping tag"
        POST   "/api/v1/agents/setWebhook"                ApiKey  webhooks::set, body = schemas::set_webhook, reply = schemas::agent_record; "Set the agent's webhook URL, headers and credentials; returns the signing secret the first time"
        POST   "/api/v1/agents/deleteWebhook"             ApiKey  webhooks::delete, body = schemas::delete_webhook, reply = schemas::agent_record; "Remove the agent's webhook URL, headers and credentials"
        POST   "/api/v1/agents/{id}/webhook-secret/rotate" ApiKey webhooks::rotate_secret, reply = schemas::webhook_secret; "Replace the webhook signing secret (returned once)"
        GET    "/api/v1/agents/{id}/deliveries"           ApiKey  webhooks::agent_deliveries, reply = schemas::deliveries; "The agent's newest webhook deliveries with their attempts (?state=&limit=)"
        PUT    "/api/v1/agents/{id}/commands"             ApiKey  agents::set_commands, body = schemas::set_commands, reply = schemas::agent_record; "Replace an agent's slash commands"
        POST   "/api/v1/messages"                         ApiKey  messages::post_agent, body = schemas::agent_message, reply = schemas::message_record; "Post a message (idempotent on clientId)"
        GET    "/api/v1/messages"                         ApiKey  messages::list, reply = schemas::message_page; "Page messages: newest first by cursor, or forward with after=<seq>"
        GET    "/api/v1/messages/{id}"                    ApiKey  messages::get, reply = schemas::message_record; "Read one message (?channel=)"
        DELETE "/api/v1/messages/{id}"                    ApiKey  messages::delete, reply = schemas::deleted; "Delete a message (?channel=); emits message:deleted"
        POST   "/api/v1/messages/{id}/ack"                ApiKey  messages::ack, reply = schemas::acknowledged; "Acknowledge receipt (?channel=); emits message:delivery"
        GET    "/api/v1/messages/{id}/deliveries"         ApiKey  webhooks::message_deliveries, reply = schemas::deliveries; "A message's webhook deliveries with their attempts (?channel=)"
        POST   "/api/v1/messages/{id}/retry"              ApiKey  webhooks::retry, reply = schemas::retried; "Retry the message's webhook delivery now (?channel=)"
        GET    "/api/v1/messages/iterations/{id}"         ApiKey  messages::iterations, reply = schemas::iteration_chain; "An iteration chain (?channel=)"
        PATCH  "/api/v1/messages/streams/{id}"            ApiKey  streams::patch, body = schemas::update_stream, reply = schemas::message_record; "Update a streamed draft: text, complete, or streamState"
        POST   "/api/v1/messages/streams/{id}/status"     ApiKey  streams::status, body = schemas::stream_status, reply = schemas::status_step; "Append a status step to a stream; emits message:status"
        POST   "/api/v1/messages/streams/{id}/delta"      ApiKey  streams::delta, body = schemas::stream_delta, reply = schemas::ok_flag; "Append a text delta to a draft; emits message:delta / text_delta"
        POST   "/api/v1/threads/{id}/events"              ApiKey  streams::thread_event, body = schemas::thread_event, reply = schemas::ok_flag; "Report a lifecycle event (tool calls, escalation, conversation) to the thread stream"
        GET    "/api/v1/reviews/pending"                  ApiKey  reviews::pending, reply = schemas::message_list; "Pending reviews of a channel (?channel=)"
        GET    "/api/v1/reviews/{id}"                     ApiKey  reviews::get, reply = schemas::message_record; "A review message (?channel=)"
        GET    "/api/v1/reviews/{id}/wait"                ApiKey  reviews::wait, reply = schemas::wait_response; "Long-poll a review until answered, expired or timeout (?channel=&timeout=ms)"
        POST   "/api/v1/status/ping"                      ApiKey  agents::ping, body = schemas::ping_status, reply = schemas::agent_record; "Agent heartbeat; emits agent:status"
        POST   "/api/v1/ws-ticket"                        ApiKey  session::ws_ticket, reply = schemas::ticket; "Single-use 30 s ticket for sockets"
        POST   "/api/v1/files/store"                      ApiKey  files::store, body = schemas::upload_form, reply = schemas::attachment_record; "Store a file (multipart: channelId, file) for a later message's attachmentIds"
        POST   "/api/v1/files/store-text"                 ApiKey  files::store_text, body = schemas::store_text, reply = schemas::attachment_record; "Store a text file for a later message's attachmentIds"
        POST   "/api/v1/files/upload"                     ApiKey  files::upload, body = schemas::upload_form, reply = schemas::upload_record; "Upload a file (multipart: channelId, file) as an agent message; emits message:created"
        GET    "/api/v1/files"                            ApiKey  files::list, reply = schemas::file_page; "A channel's files, newest first (?channel=&limit=&cursor=)"
        GET    "/api/v1/files/{id}/download"              ApiKey  files::download, reply = schemas::file_bytes; "A file's bytes (active types always as a download)"
        GET    "/api/v1/plugins"                          ApiKey  plugins::list, reply = schemas::plugin_list; "The installed plugins' manifests"
        GET    "/api/v1/plugins/{name}"                   ApiKey  plugins::get, reply = schemas::plugin_manifest; "One plugin's manifest"
    }
}

/// The human API (session) and the plugin frames.
fn human_routes() -> Vec<Route> {
    table! {
        POST   "/api/auth/login"                          None    session::login, body = schemas::login, reply = schemas::login_response; "Log in: session cookie + bearer token"
        GET    "/api/auth/me"                             Session session::me, reply = schemas::me; "The current user"
        POST   "/api/auth/logout"                         None    session::logout, reply = schemas::message_text; "Revoke the session and clear the cookie"
        POST   "/api/auth/refresh"                        Session session::refresh, reply = schemas::login_response; "Replace the session by a fresh one"
        POST   "/api/auth/change-password"                Session session::change_password, body = schemas::change_password, reply = schemas::message_text; "Change password; revokes other sessions"
        POST   "/api/auth/ws-ticket"                      Session session::ws_ticket, reply = schemas::ticket; "Single-use 30 s ticket for sockets"
        GET    "/api/users"                               Session accounts::list_users, reply = schemas::user_list; "List users (owner)"
        POST   "/api/users"                               Session accounts::create_user, body = schemas::create_user, reply = schemas::user_record; "Create a user (owner)"
        PATCH  "/api/users/{id}"                          Session accounts::update_user, body = schemas::update_user, reply = schemas::user_record; "Update a user (owner)"
        DELETE "/api/users/{id}"                          Session accounts::delete_user, reply = schemas::deleted; "Delete a user (owner)"
        GET    "/api/api-keys"                            Session accounts::list_keys, reply = schemas::api_key_list; "List your API keys"
        POST   "/api/api-keys"                            Session accounts::create_key, body = schemas::create_api_key, reply = schemas::api_key_record; "Create an API key (shown once)"
        DELETE "/api/api-keys/{id}"                       Session accounts::delete_key, reply = schemas::deleted; "Delete an API key"
        POST   "/api/api-keys/{id}/rotate"                Session accounts::rotate_key, reply = schemas::api_key_record; "Rotate an API key (new secret, shown once)"
        GET    "/api/agents"                              Session agents::list, reply = schemas::agent_list; "List your agents with last message and unread count"
        POST   "/api/agents"                              Session agents::create, body = schemas::create_agent, reply = schemas::agent_record; "Create an agent"
        GET    "/api/agents/{id}"                         Session agents::get, reply = schemas::agent_record; "Read an agent"
        PATCH  "/api/agents/{id}"                         Session agents::update, body = schemas::update_agent, reply = schemas::agent_record; "Update an agent"
        DELETE "/api/agents/{id}"                         Session agents::delete, reply = schemas::deleted; "Delete an agent"
        POST   "/api/agents/setTag"                       Session agents::set_tag, body = schemas::set_tag, reply = schemas::agent_record; "Set or clear an agent's tag"
        PUT    "/api/agents/{id}/commands"                Session agents::set_commands, body = schemas::set_commands, reply = schemas::agent_record; "Replace an agent's slash commands"
        POST   "/api/agents/{id}/webhook-secret/rotate"   Session webhooks::rotate_secret, reply = schemas::webhook_secret; "Replace the webhook signing secret (returned once)"
        GET    "/api/agents/{id}/deliveries"              Session webhooks::agent_deliveries, reply = schemas::deliveries; "The agent's newest webhook deliveries with their attempts (?state=&limit=)"
        POST   "/api/agents/{id}/read"                    Session agents::mark_read, reply = schemas::read_flag; "Mark the channel read"
        POST   "/api/messages"                            Session messages::post_human, body = schemas::user_message, reply = schemas::message_record; "Post a message as the human (idempotent on clientId)"
        GET    "/api/messages"                            Session messages::list, reply = schemas::message_page; "Page a channel's messages"
        GET    "/api/messages/{id}"                       Session messages::get, reply = schemas::message_record; "Read one message"
        GET    "/api/messages/reviews"                    Session reviews::list, reply = schemas::message_list; "Reviews across your agents (?status=pending|completed|expired|all&channel=)"
        POST   "/api/messages/{id}/respond"               Session reviews::respond, body = schemas::respond, reply = schemas::message_record; "Answer a review (first answer wins)"
        GET    "/api/messages/{id}/deliveries"            Session webhooks::message_deliveries, reply = schemas::deliveries; "A message's webhook deliveries with their attempts"
        POST   "/api/messages/{id}/retry"                 Session webhooks::retry, reply = schemas::retried; "Retry the message's webhook delivery now"
        GET    "/api/messages/{id}/iterations"            Session messages::iterations, reply = schemas::iteration_chain; "An iteration chain"
        POST   "/api/files/upload"                        Session files::upload, body = schemas::upload_form, reply = schemas::upload_record; "Send a file (multipart: channelId, text?, file) as the human; reaches the agent like any message"
        POST   "/api/files/store"                         Session files::store, body = schemas::upload_form, reply = schemas::attachment_record; "Store a file (multipart) for a message's attachmentIds or a review answer's modifiedFileIds"
        GET    "/api/files"                               Session files::list, reply = schemas::file_page; "Your files across agents (?agent=&type=&search=&limit=&cursor=)"
        GET    "/api/files/{id}/download"                 Session files::download, reply = schemas::file_bytes; "A file's bytes (?download=1 forces a download)"
        DELETE "/api/files/{id}"                          Session files::delete, reply = schemas::deleted; "Delete a file (and take it off its message)"
        GET    "/api/plugins"                             Session plugins::list, reply = schemas::plugin_list; "The installed plugins' manifests"
        GET    "/api/plugins/{name}"                      Session plugins::get, reply = schemas::plugin_manifest; "One plugin's manifest"
        GET    "/plugins/{name}/frame"                    None    plugins::frame; "A plugin's sandboxed frame (its render.html after the bridge; context in the URL fragment)"
    }
}
