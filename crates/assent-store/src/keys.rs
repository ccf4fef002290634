//! Credentials: sessions, single-use socket tickets and API keys. Only SHA-256 digests of the
//! raw secrets are stored.

use crate::db::{self, Row};
use crate::rows::FromRow;
use crate::{Store, StoreError, rows};
use assent_core::model::{ApiKey, User};
use assent_core::{Millis, UserId, new_id};

const KEY_COLS: &str = "id, user_id, label, key_prefix, last_used_at, created_at";

impl FromRow for ApiKey {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(ApiKey {
            id: row.get("id")?,
            user_id: row.get("user_id")?,
            label: row.get("label")?,
            key_prefix: row.get("key_prefix")?,
            last_used_at: row.get("last_used_at")?,
            created_at: row.get("created_at")?,
        })
    }
}

impl Store {
    // ---- sessions ----

    /// Stores a session; returns its id (not the token).
    /// Creates a session; past `keep` sessions of the user, the oldest are revoked. Returns
    /// the new id and the revoked ones.
    pub async fn create_session(
        &self,
        user_id: &UserId,
        token_hash: String,
        now: Millis,
        expires_at: Millis,
        keep: i64,
    ) -> Result<(String, Vec<String>), StoreError> {
        let id = new_id(now.0);
        let (sid, uid) = (id.clone(), user_id.clone());
        let evicted = self
            .write("users", async move |conn, _| {
                    db::query("INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(&sid)
                        .bind(&token_hash)
                        .bind(uid.as_str())
                        .bind(now.0)
                        .bind(expires_at.0)
                        .execute(&mut *conn)
                        .await?;
                    let old: Vec<String> = db::query_scalar(
                        "SELECT id FROM sessions WHERE user_id = $1 \
                         ORDER BY created_at DESC, id DESC LIMIT 1000000 OFFSET $2",
                    )
                    .bind(uid.as_str())
                    .bind(keep)
                    .fetch_all(&mut *conn)
                    .await?;
                    for old_id in &old {
                        db::query("DELETE FROM sessions WHERE id = $1")
                            .bind(old_id)
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(old)
            })
            .await?;
        Ok((id, evicted))
    }

    /// The live session with this token digest and its user.
    pub async fn session_by_token(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<(String, User)>, StoreError> {
        let row = db::query(&format!(
            "SELECT s.id AS session_id, {} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
            rows::USER_COLS
                .split(", ")
                .map(|c| format!("u.{c} AS {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(token_hash)
        .bind(now.0)
        .fetch_optional(&mut self.read().await?)
        .await?;
        row.map(|r| Ok((r.get::<String>("session_id")?, User::from_row(&r)?)))
            .transpose()
    }

    /// Whether a session id is still valid.
    pub async fn session_alive(&self, session_id: &str, now: Millis) -> Result<bool, StoreError> {
        let n: i64 =
            db::query_scalar("SELECT COUNT(*) FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(session_id)
                .bind(now.0)
                .fetch_one(&mut self.read().await?)
                .await?;
        Ok(n > 0)
    }

    pub async fn revoke_session(&self, session_id: &str) -> Result<(), StoreError> {
        let sid = session_id.to_owned();
        self.write("users", async move |conn, _| {
            db::query("DELETE FROM sessions WHERE id = $1")
                .bind(&sid)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
        .await
    }

    /// Replaces a session by a new one (sliding refresh). Returns the new session id, or
    /// `NotFound` when the old one is gone (already revoked or refreshed).
    pub async fn rotate_session(
        &self,
        old_session_id: &str,
        new_token_hash: String,
        now: Millis,
        expires_at: Millis,
    ) -> Result<String, StoreError> {
        let old = old_session_id.to_owned();
        let new_id_ = new_id(now.0);
        let nid = new_id_.clone();
        self.write("users", async move |conn, _| {
                    let user: Option<String> =
                        db::query_scalar("DELETE FROM sessions WHERE id = $1 RETURNING user_id")
                            .bind(&old)
                            .fetch_optional(&mut *conn)
                            .await?;
                    let user = user.ok_or(StoreError::NotFound)?;
                    db::query("INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(&nid)
                        .bind(&new_token_hash)
                        .bind(&user)
                        .bind(now.0)
                        .bind(expires_at.0)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
            })
            .await?;
        Ok(new_id_)
    }

    // ---- tickets ----

    /// Stores a single-use ticket for `user_id`, minted by a principal (`session`/`api_key` +
    /// its id) so that the socket it opens acts with the same rights.
    pub async fn create_ticket(
        &self,
        ticket_hash: String,
        user_id: &UserId,
        principal_kind: &'static str,
        principal_ref: String,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let uid = user_id.clone();
        self.write("users", async move |conn, _| {
                    db::query("INSERT INTO ws_tickets (ticket_hash, user_id, principal_kind, principal_ref, expires_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(&ticket_hash)
                        .bind(uid.as_str())
                        .bind(principal_kind)
                        .bind(&principal_ref)
                        .bind(expires_at.0)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
            })
            .await
    }

    /// Consumes a ticket atomically: the first caller gets `(user, kind, ref)`, every later
    /// caller (and any caller after expiry) gets `None`.
    pub async fn consume_ticket(
        &self,
        ticket_hash: &str,
        now: Millis,
    ) -> Result<Option<(UserId, String, String)>, StoreError> {
        // A read first: a guessed or replayed ticket costs no write (on SQLite the writer is
        // shared by every request).
        let live: Option<i64> = db::query_scalar(
            "SELECT expires_at FROM ws_tickets WHERE ticket_hash = $1 AND expires_at > $2",
        )
        .bind(ticket_hash)
        .bind(now.0)
        .fetch_optional(&mut self.read().await?)
        .await?;
        if live.is_none() {
            return Ok(None);
        }
        let hash = ticket_hash.to_owned();
        self.write("users", async move |conn, _| {
                    let row = db::query(
                        "DELETE FROM ws_tickets WHERE ticket_hash = $1 RETURNING user_id, principal_kind, principal_ref, expires_at",
                    )
                    .bind(&hash)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    if row.get::<i64>("expires_at")? <= now.0 {
                        return Ok(None);
                    }
                    Ok(Some((
                        row.get("user_id")?,
                        row.get::<String>("principal_kind")?,
                        row.get::<String>("principal_ref")?,
                    )))
            })
            .await
    }

    /// Removes expired tickets and sessions.
    pub async fn prune_credentials(&self, now: Millis) -> Result<u64, StoreError> {
        self.write("users", async move |conn, _| {
            let a = db::query("DELETE FROM ws_tickets WHERE expires_at <= $1")
                .bind(now.0)
                .execute(&mut *conn)
                .await?;
            let b = db::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now.0)
                .execute(&mut *conn)
                .await?;
            Ok(a.rows_affected() + b.rows_affected())
        })
        .await
    }

    // ---- API keys ----

    pub async fn create_api_key(
        &self,
        user_id: &UserId,
        label: String,
        key_hash: String,
        key_prefix: String,
        now: Millis,
    ) -> Result<ApiKey, StoreError> {
        let key = ApiKey {
            id: new_id(now.0),
            user_id: user_id.clone(),
            label,
            key_prefix,
            last_used_at: None,
            created_at: now,
        };
        let k = key.clone();
        self.write("users", async move |conn, _| {
                    db::query("INSERT INTO api_keys (id, user_id, label, key_hash, key_prefix, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&k.id)
                        .bind(k.user_id.as_str())
                        .bind(&k.label)
                        .bind(&key_hash)
                        .bind(&k.key_prefix)
                        .bind(k.created_at.0)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
            })
            .await?;
        Ok(key)
    }

    pub async fn list_api_keys(&self, user_id: &UserId) -> Result<Vec<ApiKey>, StoreError> {
        let rows = db::query(&format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id.as_str())
        .fetch_all(&mut self.read().await?)
        .await?;
        rows.iter().map(ApiKey::from_row).collect()
    }

    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = db::query(&format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE key_hash = $1"
        ))
        .bind(key_hash)
        .fetch_optional(&mut self.read().await?)
        .await?;
        row.as_ref().map(ApiKey::from_row).transpose()
    }

    pub async fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = db::query(&format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut self.read().await?)
            .await?;
        row.as_ref().map(ApiKey::from_row).transpose()
    }

    /// Deletes one of the user's keys; `false` when it is not theirs or does not exist.
    pub async fn delete_api_key(&self, user_id: &UserId, id: &str) -> Result<bool, StoreError> {
        let (uid, id) = (user_id.clone(), id.to_owned());
        self.write("users", async move |conn, _| {
            let r = db::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
                .bind(&id)
                .bind(uid.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(r.rows_affected() > 0)
        })
        .await
    }

    /// Replaces a key's secret in place (same id and label) and drops the socket tickets the
    /// old secret minted; `NotFound` if not the user's.
    pub async fn rotate_api_key(
        &self,
        user_id: &UserId,
        id: &str,
        key_hash: String,
        key_prefix: String,
    ) -> Result<ApiKey, StoreError> {
        let (uid, id) = (user_id.clone(), id.to_owned());
        self.write("users", async move |conn, _| {
            let row = db::query(&format!(
                "UPDATE api_keys SET key_hash = $3, key_prefix = $4, last_used_at = NULL \
                         WHERE id = $1 AND user_id = $2 RETURNING {KEY_COLS}"
            ))
            .bind(&id)
            .bind(uid.as_str())
            .bind(&key_hash)
            .bind(&key_prefix)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
            // Tickets minted with the old secret die with it.
            db::query(
                "DELETE FROM ws_tickets WHERE principal_kind = 'api_key' AND principal_ref = $1",
            )
            .bind(&id)
            .execute(&mut *conn)
            .await?;
            ApiKey::from_row(&row)
        })
        .await
    }

    pub async fn touch_api_key(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write("users", async move |conn, _| {
            db::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                .bind(&id)
                .bind(now.0)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
        .await
    }
}
