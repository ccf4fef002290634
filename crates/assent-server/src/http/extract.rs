//! Request extractors: parse at the edge, once. Every rejection is an `ApiError` from the
//! one table.

use super::Ctx;
use crate::app::hub::View;
use crate::error::{ApiError, EdgeError};
use assent_core::UserId;
use assent_core::model::{Message, Principal, PrincipalKind, User};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A JSON body, size-limited, parsed with the offending field named on error.
pub(super) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<Ctx> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let v = v.to_ascii_lowercase();
                v.starts_with("application/json")
                    || (v.starts_with("application/") && v.contains("+json"))
            });
        let bytes = axum::body::to_bytes(req.into_body(), ctx.max_body)
            .await
            .map_err(|e| {
                if crate::serve::BodyTimedOut::caused(&e) {
                    EdgeError::RequestTimeout
                } else {
                    EdgeError::PayloadTooLarge
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return parse(b"{}");
        }
        if !is_json {
            return Err(EdgeError::UnsupportedMediaType.into());
        }
        let max = assent_core::validate::MAX_JSON_DEPTH;
        if assent_core::validate::json_depth(&bytes) > max {
            return Err(EdgeError::InvalidJson(format!(
                "arrays and objects may be nested at most {max} levels deep"
            ))
            .into());
        }
        parse(&bytes)
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<JsonBody<T>, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        // One JSON value and nothing after it but whitespace: `{"a":1} garbage` is refused.
        Ok(v) => match de.end() {
            Ok(()) => Ok(JsonBody(v)),
            Err(e) => Err(EdgeError::InvalidJson(e.to_string()).into()),
        },
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() || path == "." {
                Err(EdgeError::InvalidJson(inner.to_string()).into())
            } else {
                let msg = inner.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                Err(EdgeError::InvalidField { path, message: msg }.into())
            }
        }
    }
}

/// The client's address: the TCP peer, or with `--trust-forwarded-for` the last
/// `X-Forwarded-For` entry (what the proxy in front saw). `None` when neither is known.
pub(super) struct ClientIp(pub Option<std::net::IpAddr>);

impl FromRequestParts<Ctx> for ClientIp {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let forwarded = ctx
            .trust_forwarded_for
            .then(|| {
                let v = parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .next_back()?;
                let last = v.to_str().ok()?.rsplit(',').next()?.trim();
                last.parse().ok()
            })
            .flatten();
        let peer = || {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip())
        };
        Ok(ClientIp(forwarded.or_else(peer)))
    }
}

/// Query parameters as strings; use cases validate them.
pub struct Q(pub HashMap<String, String>);

impl Q {
    pub fn get(&self, k: &str) -> Option<String> {
        self.0.get(k).cloned()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Q {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let mut map = HashMap::new();
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |s: &str| percent_decode(&s.replace('+', " "));
            match (dec(k), dec(v)) {
                (Some(k), Some(v)) => {
                    map.insert(k, v);
                }
                _ => {
                    return Err(EdgeError::InvalidField {
                        path: "query".into(),
                        message: "is not valid percent-encoded UTF-8".into(),
                    }
                    .into());
                }
            }
        }
        Ok(Q(map))
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An agent authenticated by `x-api-key`.
pub(super) struct AgentAuth(pub Principal);

impl FromRequestParts<Ctx> for AgentAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let raw =
            assent_core::secret::agent_key(header("x-api-key"), header(AUTHORIZATION.as_str()))
                .ok_or(EdgeError::MissingApiKey)?;
        let p = ctx
            .app
            .api_key_principal(raw)
            .await?
            .ok_or(EdgeError::InvalidApiKey)?;
        Ok(AgentAuth(p))
    }
}

/// The session token of a request: the `access_token` cookie or a bearer token.
pub(super) fn session_token(parts: &Parts) -> Option<String> {
    if let Some(b) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    {
        return Some(b.trim().to_owned());
    }
    session_token_cookie(&parts.headers)
}

/// The `access_token` cookie, if the request carries one.
pub(super) fn session_token_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("access_token="))
        .map(str::to_owned)
        .next()
}

/// A human with a session, whatever the state of their password.
pub(super) struct AnySession {
    pub user: User,
    pub session_id: String,
}

impl AnySession {
    pub(super) fn principal(&self) -> Principal {
        Principal {
            user_id: self.user.id.clone(),
            kind: PrincipalKind::Session {
                session_id: self.session_id.clone(),
            },
        }
    }
}

impl FromRequestParts<Ctx> for AnySession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let token = session_token(parts).ok_or(EdgeError::NotAuthenticated)?;
        let (session_id, user) = ctx
            .app
            .session(&token)
            .await?
            .ok_or(EdgeError::NotAuthenticated)?;
        Ok(AnySession { user, session_id })
    }
}

/// A human whose account is usable: a user who must change their password gets 403 until
/// they do (only `/api/auth/me`, `change-password`, `logout` and `refresh` accept them).
pub(super) struct Human(pub AnySession);

impl FromRequestParts<Ctx> for Human {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let s = AnySession::from_request_parts(parts, ctx).await?;
        if s.user.must_change_password {
            return Err(EdgeError::PasswordChangeRequired.into());
        }
        Ok(Human(s))
    }
}

/// Who calls a route that the agent API and the dashboard both serve, and the view they get.
/// The route table says which credential a route takes (its `Auth`, put in the request's
/// extensions by `router`): an API key (`AgentAuth`, the agent view) or a session (`Human`,
/// the dashboard view: password answers redacted, message ids found without a channel).
pub(super) struct Caller {
    pub principal: Principal,
    pub view: View,
}

impl FromRequestParts<Ctx> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        match parts.extensions.get::<super::Auth>() {
            Some(super::Auth::ApiKey) => {
                let AgentAuth(principal) = AgentAuth::from_request_parts(parts, ctx).await?;
                Ok(Caller {
                    principal,
                    view: View::Agent,
                })
            }
            Some(super::Auth::Session) => {
                let Human(s) = Human::from_request_parts(parts, ctx).await?;
                Ok(Caller {
                    principal: s.principal(),
                    view: View::Dashboard,
                })
            }
            _ => Err(EdgeError::NotAuthenticated.into()),
        }
    }
}

impl Caller {
    pub(super) fn user(&self) -> &UserId {
        &self.principal.user_id
    }

    /// A message as this caller sees it.
    pub(super) fn message(&self, m: &Message) -> assent_proto::MessageRecord {
        match self.view {
            View::Agent => crate::wire::message(m, None),
            View::Dashboard => crate::wire::message_redacted(m, None),
        }
    }

    /// The channel a message id is looked up in: agents name it (`?channel=`; absent is
    /// the empty name, refused by the use case), dashboards do not (the id finds it).
    pub(super) fn channel_of(&self, q: &Q) -> Option<String> {
        match self.view {
            View::Agent => Some(q.get("channel").unwrap_or_default()),
            View::Dashboard => None,
        }
    }

    /// Like `channel_of`, but an agent without `?channel=` gets a 400 naming it.
    pub(super) fn required_channel(&self, q: &Q) -> Result<Option<String>, ApiError> {
        match (self.view, q.get("channel")) {
            (View::Dashboard, _) => Ok(None),
            (View::Agent, Some(v)) if !v.is_empty() => Ok(Some(v)),
            (View::Agent, _) => {
                Err(assent_core::ValidationError::single("channel", "is required").into())
            }
        }
    }
}
