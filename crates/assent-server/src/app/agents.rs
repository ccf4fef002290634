//! Agents (channels): ownership, CRUD, heartbeats and read markers.

use super::{App, AppError, ChannelInfo};
use assent_core::model::{Agent, AgentStatus, AgentSummary, WebhookAuth};
use assent_core::secret::MASKED;
use assent_core::validate::{
    Checker, MAX_DESCRIPTION_CHARS, MAX_HEADER_VALUE, MAX_NAME_CHARS, MAX_STATUS_MESSAGE_CHARS,
    MAX_TAG_CHARS, MAX_URL_CHARS,
};
use assent_core::{ChannelId, UserId};
use assent_store::{AgentPatch, NewAgent, StoreError};
use serde_json::Value;

/// Fields of a new agent, unvalidated.
#[derive(Debug, Default)]
pub struct AgentInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub webhook_url: Option<String>,
    pub tag: Option<String>,
}

/// A partial update, unvalidated: `None` = unchanged, `Some(None)` = clear.
#[derive(Debug, Default)]
pub struct AgentUpdate {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub webhook_url: Option<Option<String>>,
    pub webhook_headers: Option<Option<Value>>,
    pub webhook_auth: Option<Option<Value>>,
    pub tag: Option<Option<String>>,
}

const MAX_COMMANDS: usize = 100;

fn tag(c: &mut Checker, v: Option<String>) -> Option<String> {
    let v = c.opt_text("tag", v, MAX_TAG_CHARS)?;
    let t = v.trim().to_owned();
    (!t.is_empty()).then_some(t)
}

/// Validates webhook credentials (`field` names it in errors).
pub(super) fn webhook_auth(c: &mut Checker, field: &str, v: Option<Value>) -> Option<WebhookAuth> {
    let obj = c.opt_object(field, v)?;
    let text = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_owned);
    let auth = WebhookAuth {
        username: text("username"),
        password: text("password"),
        token: text("token"),
    };
    let basic = auth.username.is_some() && auth.password.is_some();
    if !basic && auth.token.is_none() {
        c.fail(field, "must have username and password, or token");
    }
    let too_long = [&auth.username, &auth.password, &auth.token]
        .iter()
        .any(|v| {
            v.as_ref()
                .is_some_and(|s| s.len() > MAX_HEADER_VALUE || s.contains(['\r', '\n']))
        });
    if too_long {
        c.fail(field, "values must be single-line and at most 4096 bytes");
    }
    Some(auth)
}

/// Agents (channels) per user.
pub const MAX_AGENTS_PER_USER: i64 = 2_000;

impl App {
    /// The channel if `user` owns it; `NotYourAgent` for foreign and unknown channels alike.
    pub async fn owned_channel(
        &self,
        user: &UserId,
        channel: &str,
    ) -> Result<(ChannelId, ChannelInfo), AppError> {
        let id = ChannelId::parse(channel).ok_or(AppError::NotYourAgent)?;
        let cached = self
            .channels
            .lock()
            .expect("cache lock poisoned")
            .get(&id)
            .cloned();
        let info = match cached {
            Some(info) => info,
            None => {
                let agent = self
                    .store
                    .agent_by_id(&id)
                    .await?
                    .ok_or(AppError::NotYourAgent)?;
                let info = ChannelInfo {
                    owner_id: agent.owner_id,
                    name: agent.name,
                };
                self.channels
                    .lock()
                    .expect("cache lock poisoned")
                    .insert(id.clone(), info.clone());
                info
            }
        };
        if &info.owner_id != user {
            return Err(AppError::NotYourAgent);
        }
        Ok((id, info))
    }

    fn remember(&self, agent: &Agent) {
        self.channels.lock().expect("cache lock poisoned").insert(
            agent.id.clone(),
            ChannelInfo {
                owner_id: agent.owner_id.clone(),
                name: agent.name.clone(),
            },
        );
    }

    pub async fn list_agents(&self, user: &UserId) -> Result<Vec<Agent>, AppError> {
        Ok(self.store.list_agents(user).await?)
    }

    pub async fn list_agent_summaries(&self, user: &UserId) -> Result<Vec<AgentSummary>, AppError> {
        Ok(self.store.list_agent_summaries(user).await?)
    }

    pub async fn get_agent(&self, user: &UserId, id: &str) -> Result<Agent, AppError> {
        let (id, _) = self.owned_channel(user, id).await?;
        self.store
            .agent_by_id(&id)
            .await?
            .ok_or(AppError::NotYourAgent)
    }

    /// Creates an agent; returns it and, when it was created with a webhook URL, its signing
    /// secret (shown this once).
    pub async fn create_agent(
        &self,
        user: &UserId,
        input: AgentInput,
    ) -> Result<(Agent, Option<String>), AppError> {
        let mut c = Checker::new();
        let name = c
            .required_text("name", input.name, MAX_NAME_CHARS)
            .trim()
            .to_owned();
        let description = c.opt_text("description", input.description, MAX_DESCRIPTION_CHARS);
        let avatar_url = c.opt_url("avatarUrl", input.avatar_url);
        let webhook_url = c.opt_url("webhookUrl", input.webhook_url);
        let tag = tag(&mut c, input.tag);
        c.finish()?;
        if self.store.count_agents(user).await? >= MAX_AGENTS_PER_USER {
            return Err(super::Limit::Agents(MAX_AGENTS_PER_USER).into());
        }
        let agent = self
            .store
            .create_agent(
                user,
                NewAgent {
                    name,
                    description,
                    avatar_url,
                    webhook_url,
                    tag,
                },
                self.now(),
            )
            .await?;
        self.remember(&agent);
        tracing::info!(agent_id = %agent.id, user_id = %user, "agent created");
        let secret = self.reveal_webhook_secret(&agent).await?;
        Ok((agent, secret))
    }

    /// Applies a partial update; returns the agent and, when this set its first webhook
    /// URL, its signing secret (shown this once).
    pub async fn update_agent(
        &self,
        user: &UserId,
        id: &str,
        u: AgentUpdate,
    ) -> Result<(Agent, Option<String>), AppError> {
        let mut c = Checker::new();
        let patch = AgentPatch {
            name: u
                .name
                .map(|v| c.required_text("name", v, MAX_NAME_CHARS).trim().to_owned()),
            description: u
                .description
                .map(|v| c.opt_text("description", v, MAX_DESCRIPTION_CHARS)),
            avatar_url: u.avatar_url.map(|v| c.opt_url("avatarUrl", v)),
            webhook_url: u.webhook_url.map(|v| c.opt_url("webhookUrl", v)),
            webhook_headers: u.webhook_headers.map(|v| c.header_map("webhookHeaders", v)),
            webhook_auth: u
                .webhook_auth
                .map(|v| webhook_auth(&mut c, "webhookAuth", v)),
            tag: u.tag.map(|v| tag(&mut c, v)),
            commands: None,
        };
        c.finish()?;
        let (id, _) = self.owned_channel(user, id).await?;
        let mut patch = patch;
        if let Some(Some(headers)) = &mut patch.webhook_headers {
            self.keep_masked_headers(&id, "webhookHeaders", headers)
                .await?;
        }
        let sets_url = matches!(patch.webhook_url, Some(Some(_)));
        let agent = self.patch_agent(&id, patch).await?;
        tracing::info!(agent_id = %agent.id, "agent updated");
        let secret = if sets_url {
            self.reveal_webhook_secret(&agent).await?
        } else {
            None
        };
        Ok((agent, secret))
    }

    /// In new webhook headers, `***` (what listings show for a stored value) keeps the stored
    /// value of that header; a `***` for a header that has none is refused.
    pub(super) async fn keep_masked_headers(
        &self,
        id: &ChannelId,
        path: &str,
        headers: &mut Value,
    ) -> Result<(), AppError> {
        let Some(map) = headers.as_object_mut() else {
            return Ok(());
        };
        if !map.values().any(|v| v == MASKED) {
            return Ok(());
        }
        let stored = self
            .store
            .agent_by_id(id)
            .await?
            .and_then(|a| a.webhook_headers);
        let stored = stored.as_ref().and_then(Value::as_object);
        let mut c = Checker::new();
        for (name, value) in map.iter_mut() {
            if value != MASKED {
                continue;
            }
            match stored.and_then(|s| s.get(name)) {
                Some(kept) => *value = kept.clone(),
                None => c.fail(
                    format!("{path}.{name}"),
                    "is *** (a stored value), but this header has no stored value",
                ),
            }
        }
        c.finish()?;
        Ok(())
    }

    pub(super) async fn patch_agent(
        &self,
        id: &ChannelId,
        patch: AgentPatch,
    ) -> Result<Agent, AppError> {
        match self.store.update_agent(id, patch).await {
            Ok(a) => {
                self.remember(&a);
                // Other nodes read the agent again (its name goes into events).
                self.revoke_elsewhere(super::cluster::Revocation::Channel { id: a.id.clone() });
                Ok(a)
            }
            Err(StoreError::NotFound) => Err(AppError::NotYourAgent),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn set_tag(
        &self,
        user: &UserId,
        channel: Option<String>,
        tag_v: Option<Option<String>>,
    ) -> Result<Agent, AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channelId", channel);
        if tag_v.is_none() {
            c.fail("tag", "is required (a string or null)");
        }
        let tag = tag(&mut c, tag_v.flatten());
        c.finish()?;
        let (id, _) = self.owned_channel(user, channel.as_str()).await?;
        self.patch_agent(
            &id,
            AgentPatch {
                tag: Some(tag),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn set_commands(
        &self,
        user: &UserId,
        id: &str,
        commands: Option<Vec<Value>>,
    ) -> Result<Agent, AppError> {
        let mut c = Checker::new();
        let Some(commands) = commands else {
            c.fail("commands", "is required");
            return Err(c.finish().unwrap_err().into());
        };
        if commands.len() > MAX_COMMANDS {
            c.fail(
                "commands",
                format!("must have at most {MAX_COMMANDS} entries"),
            );
        }
        for (i, cmd) in commands.iter().enumerate() {
            let p = format!("commands[{i}]");
            let Some(obj) = cmd.as_object() else {
                c.fail(p, "must be an object");
                continue;
            };
            match obj.get("command").and_then(Value::as_str) {
                Some(s) if !s.trim().is_empty() && s.len() <= 64 => {}
                _ => c.fail(
                    format!("{p}.command"),
                    "must be a non-empty string of at most 64 characters",
                ),
            }
            match obj.get("description") {
                Some(Value::String(s)) if s.len() <= MAX_URL_CHARS => {}
                None => {}
                _ => c.fail(format!("{p}.description"), "must be a string"),
            }
            if let Some(v) = obj.get("acceptsArgs")
                && !v.is_boolean()
            {
                c.fail(format!("{p}.acceptsArgs"), "must be a boolean");
            }
        }
        c.finish()?;
        let (id, _) = self.owned_channel(user, id).await?;
        self.patch_agent(
            &id,
            AgentPatch {
                commands: Some(Some(Value::Array(commands))),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn delete_agent(&self, user: &UserId, id: &str) -> Result<(), AppError> {
        let (id, _) = self.owned_channel(user, id).await?;
        self.store.delete_agent(&id).await?;
        self.files_doomed();
        self.revoke(super::cluster::Revocation::Channel { id: id.clone() });
        tracing::info!(agent_id = %id, "agent deleted");
        Ok(())
    }

    /// `POST /api/v1/status/ping`.
    pub async fn ping(
        &self,
        user: &UserId,
        agent_id: Option<String>,
        status: Option<String>,
        message: Option<String>,
    ) -> Result<Agent, AppError> {
        let mut c = Checker::new();
        let agent_id = c.channel_id("agentId", agent_id);
        let status = c.agent_status("status", status);
        let message = c.opt_text("message", message, MAX_STATUS_MESSAGE_CHARS);
        c.finish()?;
        let (id, _) = self.owned_channel(user, agent_id.as_str()).await?;
        let status = status.unwrap_or(AgentStatus::Active);
        match self
            .store
            .ping_agent(&id, status, message, self.now())
            .await
        {
            Ok(o) => {
                if o.changed {
                    tracing::info!(agent_id = %id, status = status.as_str(), "agent status changed");
                }
                Ok(o.agent)
            }
            Err(StoreError::NotFound) => Err(AppError::NotYourAgent),
            Err(e) => Err(e.into()),
        }
    }

    /// Marks agents offline whose heartbeat is older than the configured silence.
    /// Returns how many changed. Driven by the presence job.
    pub async fn sweep_presence(&self) -> Result<usize, AppError> {
        let now = self.now();
        let cutoff = now.plus_secs(-self.settings.agent_offline_after_secs);
        let mut changed = 0;
        for id in self.store.stale_agents(cutoff, 500).await? {
            if self.store.mark_offline_if_silent(&id, cutoff, now).await? {
                tracing::info!(agent_id = %id, "agent marked offline after missing heartbeats");
                changed += 1;
            }
        }
        Ok(changed)
    }

    pub async fn mark_read(&self, user: &UserId, channel: &str) -> Result<(), AppError> {
        let (id, _) = self.owned_channel(user, channel).await?;
        Ok(self.store.mark_read(user, &id, self.now()).await?)
    }
}
