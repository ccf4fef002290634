//! Users and their sessions, tickets and API keys' owners.

use crate::db;
use crate::rows::FromRow;
use crate::{Store, StoreError, rows};
use assent_core::model::{Role, User};
use assent_core::{Millis, UserId};

#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub must_change_password: bool,
}

#[derive(Clone, Debug)]
pub struct UserWithHash {
    pub user: User,
    pub password_hash: String,
}

impl Store {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        db::query_scalar::<i64>("SELECT COUNT(*) FROM users")
            .fetch_one(&mut self.read().await?)
            .await
    }

    /// Creates a user; `Conflict("email")` when the email is taken.
    pub async fn create_user(&self, new: NewUser, now: Millis) -> Result<User, StoreError> {
        let user = User {
            id: UserId::generate(now.0),
            email: new.email,
            display_name: new.display_name,
            role: new.role,
            must_change_password: new.must_change_password,
            created_at: now,
        };
        let u = user.clone();
        let hash = new.password_hash;
        self.write("users", async move |conn, _| {
                    let taken: Option<String> =
                        db::query_scalar("SELECT id FROM users WHERE email = $1")
                            .bind(&u.email)
                            .fetch_optional(&mut *conn)
                            .await?;
                    if taken.is_some() {
                        return Err(StoreError::Conflict("email"));
                    }
                    db::query(
                        "INSERT INTO users (id, email, display_name, password_hash, role, must_change_password, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(u.id.as_str())
                    .bind(&u.email)
                    .bind(&u.display_name)
                    .bind(&hash)
                    .bind(u.role.as_str())
                    .bind(u.must_change_password as i64)
                    .bind(u.created_at.0)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
            })
            .await?;
        Ok(user)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserWithHash>, StoreError> {
        let row = db::query(&format!(
            "SELECT {}, password_hash FROM users WHERE email = $1",
            rows::USER_COLS
        ))
        .bind(email)
        .fetch_optional(&mut self.read().await?)
        .await?;
        row.map(|r| {
            Ok(UserWithHash {
                user: User::from_row(&r)?,
                password_hash: r.get("password_hash")?,
            })
        })
        .transpose()
    }

    pub async fn user_by_id(&self, id: &UserId) -> Result<Option<UserWithHash>, StoreError> {
        let row = db::query(&format!(
            "SELECT {}, password_hash FROM users WHERE id = $1",
            rows::USER_COLS
        ))
        .bind(id.as_str())
        .fetch_optional(&mut self.read().await?)
        .await?;
        row.map(|r| {
            Ok(UserWithHash {
                user: User::from_row(&r)?,
                password_hash: r.get("password_hash")?,
            })
        })
        .transpose()
    }

    /// All users, oldest first.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = db::query(&format!(
            "SELECT {} FROM users ORDER BY created_at ASC, id ASC",
            rows::USER_COLS
        ))
        .fetch_all(&mut self.read().await?)
        .await?;
        rows.iter().map(User::from_row).collect()
    }

    pub async fn update_user(
        &self,
        id: &UserId,
        display_name: Option<String>,
        role: Option<Role>,
    ) -> Result<User, StoreError> {
        let id = id.clone();
        self.write("users", async move |conn, _| {
                    let row = db::query(&format!(
                        "UPDATE users SET display_name = COALESCE($2, display_name), role = COALESCE($3, role) \
                         WHERE id = $1 RETURNING {}",
                        rows::USER_COLS
                    ))
                    .bind(id.as_str())
                    .bind(display_name)
                    .bind(role.map(|r| r.as_str()))
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    User::from_row(&row)
            })
            .await
    }

    /// Deletes a user and, by cascade, their keys, sessions, agents and messages.
    pub async fn delete_user(&self, id: &UserId) -> Result<bool, StoreError> {
        let id = id.clone();
        self.write("users", async move |conn, _| {
            let filter = "channel_id IN (SELECT id FROM channels WHERE owner_id = $1)";
            let due = assent_core::Millis(0);
            crate::attachments::doom_where(conn, filter, id.as_str(), due).await?;
            let r = db::query("DELETE FROM users WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(r.rows_affected() > 0)
        })
        .await
    }

    /// Sets a new password hash, clears `must_change_password` and revokes every session of
    /// the user except `keep_session`.
    pub async fn set_password(
        &self,
        id: &UserId,
        password_hash: String,
        keep_session: Option<String>,
    ) -> Result<(), StoreError> {
        let id = id.clone();
        self.write("users", async move |conn, _| {
            db::query(
                "UPDATE users SET password_hash = $2, must_change_password = 0 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(&password_hash)
            .execute(&mut *conn)
            .await?;
            db::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
                .bind(id.as_str())
                .bind(keep_session.unwrap_or_default())
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
        .await
    }
}
