//! Row decoding shared by the aggregate modules.

use crate::StoreError;
use crate::db::{Conn, Row};
use assent_core::model::*;
use assent_core::{ChannelId, MessageId, Millis, UserId};
use serde_json::Value;

pub(crate) fn s(row: &Row, col: &str) -> Result<String, StoreError> {
    row.try_get::<String, _>(col)
}
pub(crate) fn os(row: &Row, col: &str) -> Result<Option<String>, StoreError> {
    row.try_get::<Option<String>, _>(col)
}
pub(crate) fn i(row: &Row, col: &str) -> Result<i64, StoreError> {
    row.try_get::<i64, _>(col)
}
pub(crate) fn oi(row: &Row, col: &str) -> Result<Option<i64>, StoreError> {
    row.try_get::<Option<i64>, _>(col)
}
pub(crate) fn ot(row: &Row, col: &str) -> Result<Option<Millis>, StoreError> {
    Ok(oi(row, col)?.map(Millis))
}
pub(crate) fn t(row: &Row, col: &str) -> Result<Millis, StoreError> {
    Ok(Millis(i(row, col)?))
}
pub(crate) fn oj(row: &Row, col: &str) -> Result<Option<Value>, StoreError> {
    match os(row, col)? {
        None => Ok(None),
        Some(text) => Ok(Some(serde_json::from_str(&text)?)),
    }
}
pub(crate) fn en<T>(v: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(v).ok_or_else(|| StoreError::Corrupt(format!("unknown enum value {v:?}")))
}
pub(crate) fn json_text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

pub(crate) fn review_text(v: &Option<assent_core::review::Review>) -> Option<String> {
    v.as_ref().map(|r| r.to_json().to_string())
}

/// `$1, $2, …, $n` for an `IN (…)` list.
pub(crate) fn in_list(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` FOR UPDATE` on PostgreSQL: a job that reads a row to decide a write locks it, so that
/// the writers of several nodes decide one after the other (SQLite has one writer).
pub(crate) fn for_update(conn: &Conn) -> &'static str {
    if conn.is_pg() { " FOR UPDATE" } else { "" }
}

pub(crate) const USER_COLS: &str =
    "id, email, display_name, role, must_change_password, created_at";

pub(crate) fn user(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::from_trusted(s(row, "id")?),
        email: s(row, "email")?,
        display_name: s(row, "display_name")?,
        role: en(&s(row, "role")?, Role::parse)?,
        must_change_password: i(row, "must_change_password")? != 0,
        created_at: t(row, "created_at")?,
    })
}

pub(crate) const AGENT_COLS: &str = "id, owner_id, name, description, avatar_url, webhook_url, \
    webhook_headers, webhook_auth, status, status_message, status_since, last_active_at, \
    commands, tag, is_subagent, parent_agent_id, created_at, head_seq, webhook_disabled_at, \
    webhook_disabled_reason";

pub(crate) fn agent(row: &Row) -> Result<Agent, StoreError> {
    let webhook_auth = match os(row, "webhook_auth")? {
        None => None,
        Some(text) => Some(serde_json::from_str(&text)?),
    };
    Ok(Agent {
        id: ChannelId::from_trusted(s(row, "id")?),
        owner_id: UserId::from_trusted(s(row, "owner_id")?),
        name: s(row, "name")?,
        description: os(row, "description")?,
        avatar_url: os(row, "avatar_url")?,
        webhook_url: os(row, "webhook_url")?,
        webhook_headers: oj(row, "webhook_headers")?,
        webhook_auth,
        status: en(&s(row, "status")?, AgentStatus::parse)?,
        status_message: os(row, "status_message")?,
        status_since: ot(row, "status_since")?,
        last_active_at: ot(row, "last_active_at")?,
        commands: oj(row, "commands")?,
        tag: os(row, "tag")?,
        is_subagent: i(row, "is_subagent")? != 0,
        parent_agent_id: os(row, "parent_agent_id")?.map(ChannelId::from_trusted),
        created_at: t(row, "created_at")?,
        head_seq: i(row, "head_seq")?,
        webhook_disabled_at: ot(row, "webhook_disabled_at")?,
        webhook_disabled_reason: os(row, "webhook_disabled_reason")?,
    })
}

pub(crate) const MESSAGE_COLS: &str = "id, channel_id, seq, sender_type, sender_id, text, status, \
    review, metadata, client_id, stream_id, stream_state, delivery_status, iteration_group_id, \
    iteration, created_at, updated_at, attachment_count";

pub(crate) fn message(row: &Row) -> Result<Message, StoreError> {
    Ok(Message {
        id: MessageId::from_trusted(s(row, "id")?),
        channel_id: ChannelId::from_trusted(s(row, "channel_id")?),
        seq: i(row, "seq")?,
        sender_type: en(&s(row, "sender_type")?, SenderType::parse)?,
        sender_id: s(row, "sender_id")?,
        text: os(row, "text")?,
        status: os(row, "status")?
            .map(|v| en(&v, MessageStatus::parse))
            .transpose()?,
        review: match os(row, "review")? {
            None => None,
            Some(text) => Some(serde_json::from_str(&text)?),
        },
        metadata: oj(row, "metadata")?,
        client_id: os(row, "client_id")?,
        stream_id: os(row, "stream_id")?,
        stream_state: os(row, "stream_state")?
            .map(|v| en(&v, StreamState::parse))
            .transpose()?,
        delivery_status: en(&s(row, "delivery_status")?, DeliveryStatus::parse)?,
        iteration_group_id: os(row, "iteration_group_id")?,
        iteration: oi(row, "iteration")?,
        created_at: t(row, "created_at")?,
        updated_at: t(row, "updated_at")?,
        attachments: Vec::new(),
    })
}
