//! Agents (= channels): CRUD, heartbeat status, presence expiry and read markers.

use crate::db::{self, Conn};
use crate::events;
use crate::rows::FromRow;
use crate::{Store, StoreError, rows};
use assent_core::model::{Agent, AgentStatus, AgentSummary, WebhookAuth};
use assent_core::{ChannelId, DomainEvent, Millis, UserId, new_id};
use serde_json::Value;

#[derive(Clone, Debug, Default)]
pub struct NewAgent {
    pub name: String,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub webhook_url: Option<String>,
    pub tag: Option<String>,
}

/// A partial update: `None` = leave as is, `Some(None)` = clear.
#[derive(Clone, Debug, Default)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub webhook_url: Option<Option<String>>,
    pub webhook_headers: Option<Option<Value>>,
    pub webhook_auth: Option<Option<WebhookAuth>>,
    pub tag: Option<Option<String>>,
    pub commands: Option<Option<Value>>,
}

impl AgentPatch {
    fn apply(self, a: &mut Agent) {
        if let Some(v) = self.name {
            a.name = v;
        }
        if let Some(v) = self.description {
            a.description = v;
        }
        if let Some(v) = self.avatar_url {
            a.avatar_url = v;
        }
        if let Some(v) = self.webhook_url {
            a.webhook_url = v;
        }
        if let Some(v) = self.webhook_headers {
            a.webhook_headers = v;
        }
        if let Some(v) = self.webhook_auth {
            a.webhook_auth = v;
        }
        if let Some(v) = self.tag {
            a.tag = v;
        }
        if let Some(v) = self.commands {
            a.commands = v;
        }
    }
}

/// What a heartbeat did.
#[derive(Clone, Debug)]
pub struct PingOutcome {
    pub agent: Agent,
    pub changed: bool,
}

/// An agent inside a writer job, locked on PostgreSQL: its updates, pings and the offline
/// sweep decide from what they read, and other nodes' writers may hold the same row.
async fn load_agent(conn: &mut Conn, id: &ChannelId) -> Result<Agent, StoreError> {
    let row = db::query(&format!(
        "SELECT {} FROM channels WHERE id = $1{}",
        rows::AGENT_COLS,
        rows::for_update(conn)
    ))
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    Agent::from_row(&row)
}

impl Store {
    pub async fn create_agent(
        &self,
        owner: &UserId,
        new: NewAgent,
        now: Millis,
    ) -> Result<Agent, StoreError> {
        let agent = Agent {
            id: ChannelId::generate(now.0),
            owner_id: owner.clone(),
            name: new.name,
            description: new.description,
            avatar_url: new.avatar_url,
            webhook_url: new.webhook_url,
            webhook_headers: None,
            webhook_auth: None,
            status: AgentStatus::Offline,
            status_message: None,
            status_since: None,
            last_active_at: None,
            commands: None,
            tag: new.tag,
            is_subagent: false,
            parent_agent_id: None,
            created_at: now,
            head_seq: 0,
            webhook_disabled_at: None,
            webhook_disabled_reason: None,
        };
        let a = agent.clone();
        let key = agent.id.to_string();
        self.write(&key, async move |conn, _| {
                    db::query(
                        "INSERT INTO channels (id, owner_id, name, description, avatar_url, webhook_url, status, tag, created_at, last_event_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                    )
                    .bind(a.id.as_str())
                    .bind(a.owner_id.as_str())
                    .bind(&a.name)
                    .bind(&a.description)
                    .bind(&a.avatar_url)
                    .bind(&a.webhook_url)
                    .bind(a.status.as_str())
                    .bind(&a.tag)
                    .bind(a.created_at.0)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
            })
            .await?;
        Ok(agent)
    }

    pub async fn agent_by_id(&self, id: &ChannelId) -> Result<Option<Agent>, StoreError> {
        let row = db::query(&format!(
            "SELECT {} FROM channels WHERE id = $1",
            rows::AGENT_COLS
        ))
        .bind(id.as_str())
        .fetch_optional(&mut self.read().await?)
        .await?;
        row.as_ref().map(Agent::from_row).transpose()
    }

    /// The owner of a channel, if it exists.
    pub async fn channel_owner(&self, id: &ChannelId) -> Result<Option<UserId>, StoreError> {
        let owner: Option<String> = db::query_scalar("SELECT owner_id FROM channels WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut self.read().await?)
            .await?;
        Ok(owner.map(UserId::from_trusted))
    }

    /// The owner's agents, newest first.
    /// How many agents (channels) `owner` has.
    pub async fn count_agents(&self, owner: &UserId) -> Result<i64, StoreError> {
        let n: i64 = db::query_scalar("SELECT COUNT(*) FROM channels WHERE owner_id = $1")
            .bind(owner.as_str())
            .fetch_one(&mut self.read().await?)
            .await?;
        Ok(n)
    }

    pub async fn list_agents(&self, owner: &UserId) -> Result<Vec<Agent>, StoreError> {
        let rows = db::query(&format!(
            "SELECT {} FROM channels WHERE owner_id = $1 ORDER BY created_at DESC, id DESC",
            rows::AGENT_COLS
        ))
        .bind(owner.as_str())
        .fetch_all(&mut self.read().await?)
        .await?;
        rows.iter().map(Agent::from_row).collect()
    }

    /// The log heads (`head_seq`) and owners of the channels named, and of every channel of
    /// the users named (cluster mode compares them with what this node has fanned out).
    pub async fn channel_heads(
        &self,
        channels: &[ChannelId],
        owners: &[UserId],
    ) -> Result<Vec<(ChannelId, i64, UserId)>, StoreError> {
        let mut out = Vec::new();
        for (ids, column) in [
            (
                channels.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "id",
            ),
            (
                owners.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
                "owner_id",
            ),
        ] {
            for chunk in ids.chunks(500) {
                let sql = format!(
                    "SELECT id, head_seq, owner_id FROM channels WHERE {column} IN ({})",
                    rows::in_list(chunk.len())
                );
                let mut q = db::query(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                for r in q.fetch_all(&mut self.read().await?).await? {
                    out.push((
                        r.get::<ChannelId>("id")?,
                        r.get::<i64>("head_seq")?,
                        r.get::<UserId>("owner_id")?,
                    ));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        Ok(out)
    }

    /// The owner's agents with last message (its text, or `📎 <first file's name>`), its time
    /// and the unread count of agent messages after the user's read marker; most recently
    /// active first.
    pub async fn list_agent_summaries(
        &self,
        owner: &UserId,
    ) -> Result<Vec<AgentSummary>, StoreError> {
        let cols = rows::AGENT_COLS
            .split(", ")
            .map(|c| format!("c.{c} AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = db::query(&format!(
            "SELECT {cols}, \
               (SELECT COALESCE(m.text, (SELECT '📎 ' || a.filename FROM attachments a \
                  WHERE a.message_id = m.id ORDER BY a.position LIMIT 1)) \
                FROM messages m WHERE m.channel_id = c.id ORDER BY m.seq DESC LIMIT 1) AS last_text, \
               (SELECT m.created_at FROM messages m WHERE m.channel_id = c.id ORDER BY m.seq DESC LIMIT 1) AS last_at, \
               (SELECT COUNT(*) FROM messages m WHERE m.channel_id = c.id AND m.sender_type = 'agent' \
                  AND m.seq > COALESCE((SELECT r.last_read_seq FROM channel_reads r WHERE r.user_id = $1 AND r.channel_id = c.id), 0)) AS unread \
             FROM channels c WHERE c.owner_id = $1 \
             ORDER BY COALESCE(c.last_event_at, c.created_at) DESC, c.id DESC"
        ))
        .bind(owner.as_str())
        .fetch_all(&mut self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AgentSummary {
                    agent: Agent::from_row(r)?,
                    last_message: r.get("last_text")?,
                    last_message_at: r.get("last_at")?,
                    unread_count: r.get("unread")?,
                })
            })
            .collect()
    }

    /// Applies a patch and returns the updated agent.
    pub async fn update_agent(
        &self,
        id: &ChannelId,
        patch: AgentPatch,
    ) -> Result<Agent, StoreError> {
        let id = id.clone();
        let key = id.to_string();
        self.write(&key, async move |conn, _| {
                    let mut a = load_agent(conn, &id).await?;
                    // Setting the URL (a new one or the same again) re-enables an endpoint
                    // that a 410 disabled.
                    let url_changed = patch.webhook_url.is_some();
                    patch.apply(&mut a);
                    if url_changed {
                        a.webhook_disabled_at = None;
                        a.webhook_disabled_reason = None;
                    }
                    db::query(
                        "UPDATE channels SET name = $2, description = $3, avatar_url = $4, webhook_url = $5, \
                         webhook_headers = $6, webhook_auth = $7, tag = $8, commands = $9, \
                         webhook_disabled_at = CASE WHEN $10 THEN NULL ELSE webhook_disabled_at END, \
                         webhook_disabled_reason = CASE WHEN $10 THEN NULL ELSE webhook_disabled_reason END \
                         WHERE id = $1",
                    )
                    .bind(a.id.as_str())
                    .bind(&a.name)
                    .bind(&a.description)
                    .bind(&a.avatar_url)
                    .bind(&a.webhook_url)
                    .bind(rows::json_text(&a.webhook_headers))
                    .bind(
                        a.webhook_auth
                            .as_ref()
                            .map(serde_json::to_string)
                            .transpose()?,
                    )
                    .bind(&a.tag)
                    .bind(rows::json_text(&a.commands))
                    .bind(url_changed)
                    .execute(&mut *conn)
                    .await?;
                    Ok(a)
            })
            .await
    }

    pub async fn delete_agent(&self, id: &ChannelId) -> Result<bool, StoreError> {
        let id = id.clone();
        let key = id.to_string();
        self.write(&key, async move |conn, _| {
            // Due at once (time 0): the sweep deletes the objects of its files.
            let filter = "channel_id = $1";
            crate::attachments::doom_where(conn, filter, id.as_str(), Millis(0)).await?;
            let r = db::query("DELETE FROM channels WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(r.rows_affected() > 0)
        })
        .await
    }

    /// Records a heartbeat: sets status and message, bumps `last_active_at`, moves
    /// `status_since` and writes history only on a real transition, and logs `agent:status`.
    pub async fn ping_agent(
        &self,
        id: &ChannelId,
        status: AgentStatus,
        message: Option<String>,
        now: Millis,
    ) -> Result<PingOutcome, StoreError> {
        let id = id.clone();
        let key = id.to_string();
        self.write(&key, async move |conn, events| {
                    let mut a = load_agent(conn, &id).await?;
                    let changed = a.status != status;
                    if changed {
                        a.status_since = Some(now);
                        db::query("INSERT INTO agent_status_history (id, agent_id, status, message, created_at) VALUES ($1, $2, $3, $4, $5)")
                            .bind(new_id(now.0))
                            .bind(id.as_str())
                            .bind(status.as_str())
                            .bind(&message)
                            .bind(now.0)
                            .execute(&mut *conn)
                            .await?;
                    }
                    let reported = changed || a.status_message != message;
                    a.status = status;
                    a.status_message = message;
                    a.last_active_at = Some(now);
                    db::query("UPDATE channels SET status = $2, status_message = $3, status_since = $4, last_active_at = $5 WHERE id = $1")
                        .bind(id.as_str())
                        .bind(a.status.as_str())
                        .bind(&a.status_message)
                        .bind(a.status_since.map(|t| t.0))
                        .bind(now.0)
                        .execute(&mut *conn)
                        .await?;
                    // Only a change is news; an unchanged heartbeat just bumps `last_active_at`.
                    if reported {
                        let ev = DomainEvent::AgentStatus {
                            agent_id: id.clone(),
                            status: a.status,
                            status_message: a.status_message.clone(),
                            status_since: a.status_since,
                        };
                        a.head_seq = events::append(conn, events, &id, ev, now).await?;
                    }
                    Ok(PingOutcome { agent: a, changed })
            })
            .await
    }

    /// Agents not `offline` whose last heartbeat is older than `cutoff`.
    pub async fn stale_agents(
        &self,
        cutoff: Millis,
        limit: i64,
    ) -> Result<Vec<ChannelId>, StoreError> {
        let ids: Vec<String> = db::query_scalar(
            "SELECT id FROM channels WHERE status <> 'offline' AND (last_active_at IS NULL OR last_active_at < $1) \
             ORDER BY last_active_at ASC LIMIT $2",
        )
        .bind(cutoff.0)
        .bind(limit)
        .fetch_all(&mut self.read().await?)
        .await?;
        Ok(ids.into_iter().map(ChannelId::from_trusted).collect())
    }

    /// Marks an agent offline if it is still silent since `cutoff` (re-checked inside the
    /// write, so a heartbeat that raced the sweep wins). Returns whether it changed.
    pub async fn mark_offline_if_silent(
        &self,
        id: &ChannelId,
        cutoff: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let id = id.clone();
        let key = id.to_string();
        self.write(&key, async move |conn, events| {
                    let a = match load_agent(conn, &id).await {
                        Ok(a) => a,
                        Err(StoreError::NotFound) => return Ok(false),
                        Err(e) => return Err(e),
                    };
                    let silent = a.last_active_at.is_none_or(|t| t < cutoff);
                    if a.status == AgentStatus::Offline || !silent {
                        return Ok(false);
                    }
                    db::query("UPDATE channels SET status = 'offline', status_message = NULL, status_since = $2 WHERE id = $1")
                        .bind(id.as_str())
                        .bind(now.0)
                        .execute(&mut *conn)
                        .await?;
                    db::query("INSERT INTO agent_status_history (id, agent_id, status, message, created_at) VALUES ($1, $2, 'offline', $3, $4)")
                        .bind(new_id(now.0))
                        .bind(id.as_str())
                        .bind("no heartbeat")
                        .bind(now.0)
                        .execute(&mut *conn)
                        .await?;
                    let ev = DomainEvent::AgentStatus {
                        agent_id: id.clone(),
                        status: AgentStatus::Offline,
                        status_message: None,
                        status_since: Some(now),
                    };
                    events::append(conn, events, &id, ev, now).await?;
                    Ok(true)
            })
            .await
    }

    /// Moves the user's read marker of a channel to its head.
    pub async fn mark_read(
        &self,
        user: &UserId,
        channel: &ChannelId,
        now: Millis,
    ) -> Result<(), StoreError> {
        let (user, channel) = (user.clone(), channel.clone());
        let key = channel.to_string();
        self.write(&key, async move |conn, events| {
                    let head: Option<i64> = db::query_scalar("SELECT head_seq FROM channels WHERE id = $1")
                        .bind(channel.as_str())
                        .fetch_optional(&mut *conn)
                        .await?;
                    let head = head.ok_or(StoreError::NotFound)?;
                    let marker: Option<i64> = db::query_scalar("SELECT last_read_seq FROM channel_reads WHERE user_id = $1 AND channel_id = $2")
                        .bind(user.as_str())
                        .bind(channel.as_str())
                        .fetch_optional(&mut *conn)
                        .await?;
                    if marker == Some(head) {
                        return Ok(()); // nothing new since the last read: no event
                    }
                    // The event itself takes a seq; the marker covers it.
                    let seq = events::append(conn, events, &channel, DomainEvent::ChannelRead { user_id: user.clone() }, now).await?;
                    db::query(
                        "INSERT INTO channel_reads (user_id, channel_id, last_read_seq) VALUES ($1, $2, $3) \
                         ON CONFLICT (user_id, channel_id) DO UPDATE SET last_read_seq = excluded.last_read_seq",
                    )
                    .bind(user.as_str())
                    .bind(channel.as_str())
                    .bind(seq)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
            })
            .await
    }
}
