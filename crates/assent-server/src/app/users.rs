//! Users: owners list, create, update and delete them.

use super::{App, AppError, Missing};
use assent_core::UserId;
use assent_core::model::{Role, User};
use assent_core::validate::{Checker, MAX_NAME_CHARS};
use assent_store::{NewUser, StoreError};

impl App {
    pub async fn list_users(&self, actor: &User) -> Result<Vec<User>, AppError> {
        Self::require_owner(actor)?;
        Ok(self.store.list_users().await?)
    }

    pub async fn create_user(
        &self,
        actor: &User,
        email: Option<String>,
        display_name: Option<String>,
        password: Option<String>,
        role: Option<String>,
    ) -> Result<User, AppError> {
        Self::require_owner(actor)?;
        let mut c = Checker::new();
        let email = c.email("email", email);
        let display_name = c
            .required_text("displayName", display_name, MAX_NAME_CHARS)
            .trim()
            .to_owned();
        let password = c.new_password("password", password);
        let role = c.role("role", role).unwrap_or(Role::Member);
        c.finish()?;
        let hash = self.hashing.hash(password).await?;
        let new = NewUser {
            email,
            display_name,
            password_hash: hash,
            role,
            must_change_password: true,
        };
        match self.store.create_user(new, self.now()).await {
            Ok(u) => {
                tracing::info!(user_id = %u.id, by = %actor.id, "user created");
                Ok(u)
            }
            Err(StoreError::Conflict(_)) => Err(AppError::EmailInUse),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn update_user(
        &self,
        actor: &User,
        id: &str,
        display_name: Option<String>,
        role: Option<String>,
    ) -> Result<User, AppError> {
        Self::require_owner(actor)?;
        let mut c = Checker::new();
        let display_name = display_name.map(|d| {
            c.required_text("displayName", Some(d), MAX_NAME_CHARS)
                .trim()
                .to_owned()
        });
        let role = c.role("role", role);
        c.finish()?;
        let id = UserId::parse(id).ok_or(AppError::NotFound(Missing::User))?;
        if id == actor.id && role == Some(Role::Member) {
            return Err(AppError::CannotDemoteSelf);
        }
        match self.store.update_user(&id, display_name, role).await {
            Ok(u) => Ok(u),
            Err(StoreError::NotFound) => Err(AppError::NotFound(Missing::User)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete_user(&self, actor: &User, id: &str) -> Result<(), AppError> {
        Self::require_owner(actor)?;
        let id = UserId::parse(id).ok_or(AppError::NotFound(Missing::User))?;
        if id == actor.id {
            return Err(AppError::CannotDeleteSelf);
        }
        if !self.store.delete_user(&id).await? {
            return Err(AppError::NotFound(Missing::User));
        }
        self.files_doomed();
        // Keys, channels and sockets of the user are gone with it, on every node.
        self.revoke(super::cluster::Revocation::User { id: id.clone() });
        tracing::info!(user_id = %id, by = %actor.id, "user deleted");
        Ok(())
    }
}
