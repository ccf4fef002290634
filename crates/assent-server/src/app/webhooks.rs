//! Webhook use cases: signing secrets, Placet's `setWebhook`/`deleteWebhook`, the attempt
//! log and manual retries. Sending is the `webhooks` edge's job.

use super::{App, AppError, Missing};
use crate::app::agents::webhook_auth;
use assent_core::UserId;
use assent_core::model::{Agent, WebhookState};
use assent_core::validate::Checker;
use assent_store::{AgentPatch, WebhookDelivery};
use base64::Engine;
use rand::RngCore;
use serde_json::Value;

/// A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_webhook_secret() -> String {
    let mut buf = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut buf);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(buf)
    )
}

/// Placet's `POST /api/v1/agents/setWebhook` body, unvalidated.
#[derive(Debug, Default)]
pub struct SetWebhookInput {
    pub channel_id: Option<String>,
    pub url: Option<String>,
    pub headers: Option<Value>,
    pub auth: Option<Value>,
    /// Placet fields Assent does not implement that the caller set (`management`,
    /// `isSubagent`, `parentChannelId`): refused, never accepted and ignored.
    pub unsupported: Vec<&'static str>,
}

/// Most deliveries one listing returns.
const MAX_LIST: i64 = 200;

impl App {
    /// The agent's signing secret when this is the first time it has a webhook URL (the
    /// only time it is shown, with `rotate` the way to get a new one later).
    pub async fn reveal_webhook_secret(&self, agent: &Agent) -> Result<Option<String>, AppError> {
        if agent.webhook_url.is_none() {
            return Ok(None);
        }
        Ok(self
            .store
            .reveal_webhook_secret_once(&agent.id, new_webhook_secret())
            .await?)
    }

    /// A new signing secret for the agent, returned once.
    pub async fn rotate_webhook_secret(&self, user: &UserId, id: &str) -> Result<String, AppError> {
        let (id, _) = self.owned_channel(user, id).await?;
        let secret = new_webhook_secret();
        self.store.set_webhook_secret(&id, secret.clone()).await?;
        tracing::info!(agent_id = %id, "webhook signing secret rotated");
        Ok(secret)
    }

    /// Placet's `setWebhook`: sets the URL and replaces headers and credentials (cleared
    /// when omitted). Returns the agent and, the first time, its signing secret.
    pub async fn set_webhook(
        &self,
        user: &UserId,
        input: SetWebhookInput,
    ) -> Result<(Agent, Option<String>), AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channelId", input.channel_id);
        let url = c.opt_url("url", input.url);
        if url.is_none() {
            c.fail("url", "is required");
        }
        for field in input.unsupported {
            c.fail(
                field,
                "sub-agents and management credentials are not supported by Assent: leave it out",
            );
        }
        let patch = AgentPatch {
            webhook_url: Some(url),
            webhook_headers: Some(c.header_map("headers", input.headers)),
            webhook_auth: Some(webhook_auth(&mut c, "auth", input.auth)),
            ..Default::default()
        };
        c.finish()?;
        let (id, _) = self.owned_channel(user, channel.as_str()).await?;
        let mut patch = patch;
        if let Some(Some(headers)) = &mut patch.webhook_headers {
            self.keep_masked_headers(&id, "headers", headers).await?;
        }
        let agent = self.patch_agent(&id, patch).await?;
        let secret = self.reveal_webhook_secret(&agent).await?;
        tracing::info!(agent_id = %agent.id, "webhook set");
        Ok((agent, secret))
    }

    /// Placet's `deleteWebhook`: clears URL, headers and credentials.
    pub async fn delete_webhook(
        &self,
        user: &UserId,
        channel: Option<String>,
    ) -> Result<Agent, AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channelId", channel);
        c.finish()?;
        let (id, _) = self.owned_channel(user, channel.as_str()).await?;
        let agent = self
            .patch_agent(
                &id,
                AgentPatch {
                    webhook_url: Some(None),
                    webhook_headers: Some(None),
                    webhook_auth: Some(None),
                    ..Default::default()
                },
            )
            .await?;
        tracing::info!(agent_id = %agent.id, "webhook removed");
        Ok(agent)
    }

    /// A message's deliveries with their attempts (agents pass `channel`, humans may not).
    pub async fn message_deliveries(
        &self,
        user: &UserId,
        channel: Option<&str>,
        id: &str,
    ) -> Result<Vec<WebhookDelivery>, AppError> {
        let m = self.get_message(user, channel, id).await?;
        Ok(self.store.webhook_deliveries_of_message(&m.id).await?)
    }

    /// An agent's newest deliveries, optionally in one state (`pending`, `delivered`, `failed`).
    pub async fn agent_deliveries(
        &self,
        user: &UserId,
        id: &str,
        state: Option<&str>,
        limit: Option<&str>,
    ) -> Result<Vec<WebhookDelivery>, AppError> {
        let mut c = Checker::new();
        let state = match state {
            None | Some("") | Some("all") => None,
            Some(s) => match WebhookState::parse(s) {
                Some(st) => Some(st),
                None => {
                    c.fail("state", "must be pending, delivered, failed or all");
                    None
                }
            },
        };
        let limit = match limit {
            None => 50,
            Some(l) => l.parse::<i64>().unwrap_or(0),
        };
        if !(1..=MAX_LIST).contains(&limit) {
            c.fail("limit", format!("must be between 1 and {MAX_LIST}"));
        }
        c.finish()?;
        let (id, _) = self.owned_channel(user, id).await?;
        Ok(self
            .store
            .webhook_deliveries_of_channel(&id, state, limit)
            .await?)
    }

    /// Placet's `POST /api/messages/:id/retry`: one more attempt of the message's delivery,
    /// now, with the same `webhook-id`.
    pub async fn retry_delivery(
        &self,
        user: &UserId,
        channel: Option<&str>,
        id: &str,
    ) -> Result<(), AppError> {
        let m = self.get_message(user, channel, id).await?;
        match self
            .store
            .retry_webhook(&m.channel_id, &m.id, self.now())
            .await
        {
            Ok(()) => {}
            Err(assent_store::StoreError::NotFound) => {
                return Err(AppError::NotFound(Missing::Message));
            }
            Err(e) => return Err(e.into()),
        }
        self.webhook_wake.notify_one();
        tracing::info!(message_id = %m.id, "webhook delivery retried by hand");
        Ok(())
    }
}
