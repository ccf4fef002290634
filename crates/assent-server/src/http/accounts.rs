//! Accounts: users (owners manage them) and each user's API keys.

use super::extract::{Human, JsonBody};
use super::{Ctx, Reply, created, ok};
use crate::wire;
use assent_proto as p;
use axum::extract::{Path, State};
use serde_json::json;

pub(super) async fn list_users(State(c): State<Ctx>, Human(s): Human) -> Reply {
    let users = c.app.list_users(&s.user).await?;
    Ok(ok(&users.iter().map(wire::user).collect::<Vec<_>>()))
}

pub(super) async fn create_user(
    State(c): State<Ctx>,
    Human(s): Human,
    JsonBody(b): JsonBody<p::CreateUser>,
) -> Reply {
    let u = c
        .app
        .create_user(&s.user, b.email, b.display_name, b.password, b.role)
        .await?;
    Ok(created(&wire::user(&u)))
}

pub(super) async fn update_user(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::UpdateUser>,
) -> Reply {
    let u = c
        .app
        .update_user(&s.user, &id, b.display_name, b.role)
        .await?;
    Ok(ok(&wire::user(&u)))
}

pub(super) async fn delete_user(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Reply {
    c.app.delete_user(&s.user, &id).await?;
    Ok(ok(&json!({"deleted": true})))
}

// API keys

pub(super) async fn list_keys(State(c): State<Ctx>, Human(s): Human) -> Reply {
    let keys = c.app.list_api_keys(&s.user.id).await?;
    Ok(ok(&keys
        .iter()
        .map(|k| wire::api_key(k, None))
        .collect::<Vec<_>>()))
}

pub(super) async fn create_key(
    State(c): State<Ctx>,
    Human(s): Human,
    JsonBody(b): JsonBody<p::CreateApiKey>,
) -> Reply {
    let (k, raw) = c.app.create_api_key(&s.user.id, b.label).await?;
    Ok(created(&wire::api_key(&k, Some(raw))))
}

pub(super) async fn delete_key(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Reply {
    c.app.delete_api_key(&s.user.id, &id).await?;
    Ok(ok(&json!({"deleted": true})))
}

pub(super) async fn rotate_key(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Reply {
    let (k, raw) = c.app.rotate_api_key(&s.user.id, &id).await?;
    Ok(ok(&wire::api_key(&k, Some(raw))))
}
