//! Humans, sessions, tickets and API keys.

use super::cluster::Revocation;
use super::{App, AppError, CachedKey, Missing};
use assent_core::model::{ApiKey, Principal, PrincipalKind, Role, User};
use assent_core::secret::{self, sha256_hex};
use assent_core::validate::{Checker, MAX_LABEL_CHARS};
use assent_core::{Millis, UserId};
use assent_store::{NewUser, StoreError};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Lifetime of a socket ticket.
pub const TICKET_TTL_SECS: i64 = 30;
/// How long a resolved API key is trusted without re-reading the store (deletion and
/// rotation on this node invalidate it at once).
const KEY_CACHE_TTL: Duration = Duration::from_secs(30);
/// `lastUsedAt` is written at most this often per key.
const KEY_TOUCH_EVERY: Duration = Duration::from_secs(300);

const SESSION_PREFIX: &str = "as_";
/// Sessions kept per user: a login past it revokes the oldest (a user is never locked out).
pub const MAX_SESSIONS_PER_USER: i64 = 50;
/// API keys per user.
pub const MAX_API_KEYS_PER_USER: usize = 100;
const TICKET_PREFIX: &str = "wt_";

/// A fresh login: the user, the raw token (shown once) and when it expires.
pub struct SessionGrant {
    pub user: User,
    pub token: String,
    pub expires_at: Millis,
}

impl App {
    /// Creates the first owner when the database has no user. Returns the generated
    /// password when none was configured, so that the caller prints it once.
    pub async fn bootstrap_owner(
        &self,
        email: &str,
        password: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        if self.store.user_count().await? > 0 {
            return Ok(None);
        }
        let mut c = Checker::new();
        let email = c.email("ASSENT_ADMIN_EMAIL", Some(email.to_owned()));
        let (password, generated) = match password {
            Some(p) => (
                c.new_password("ASSENT_ADMIN_PASSWORD", Some(p.to_owned())),
                false,
            ),
            None => (secret::generate_password(), true),
        };
        c.finish()?;
        let hash = self.hashing.hash(password.clone()).await?;
        let user = self
            .store
            .create_user(
                NewUser {
                    email,
                    display_name: "Owner".into(),
                    password_hash: hash,
                    role: Role::Owner,
                    must_change_password: generated,
                },
                self.now(),
            )
            .await?;
        tracing::info!(user_id = %user.id, email = %user.email, generated, "created the first owner account");
        Ok(generated.then_some(password))
    }

    async fn open_session(&self, user: User) -> Result<SessionGrant, AppError> {
        let token = secret::new_token(SESSION_PREFIX);
        let now = self.now();
        let expires_at = now.plus_secs(self.settings.session_ttl_secs);
        let (_, evicted) = self
            .store
            .create_session(
                &user.id,
                sha256_hex(&token),
                now,
                expires_at,
                MAX_SESSIONS_PER_USER,
            )
            .await?;
        for old in evicted {
            self.revoke(Revocation::Session { id: old });
        }
        Ok(SessionGrant {
            user,
            token,
            expires_at,
        })
    }

    /// Checks a password login from `client` (the peer address, for throttling).
    pub async fn login(
        &self,
        email: Option<String>,
        password: Option<String>,
        client: Option<IpAddr>,
    ) -> Result<SessionGrant, AppError> {
        let mut c = Checker::new();
        let email = c.required_text("email", email, 254).trim().to_lowercase();
        let password = c.required_text("password", password, 1024);
        c.finish()?;
        let attempt =
            self.throttle
                .lock()
                .expect("throttle lock poisoned")
                .begin(&email, client, self.now());
        let attempt = match attempt {
            Ok(a) => a,
            Err(wait) => {
                self.metrics
                    .logins_throttled
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(client = ?client, "login throttled after repeated failures");
                return Err(AppError::TooManyAttempts {
                    retry_after_secs: wait.secs(),
                });
            }
        };
        let found = self.store.user_by_email(&email).await?;
        let (hash, user) = match found {
            Some(f) => (Some(f.password_hash), Some(f.user)),
            None => (None, None),
        };
        let matches = self.hashing.verify(password, hash).await?;
        let Some(user) = user.filter(|_| matches) else {
            return Err(AppError::InvalidCredentials);
        };
        self.throttle
            .lock()
            .expect("throttle lock poisoned")
            .succeeded(attempt);
        tracing::info!(user_id = %user.id, "user logged in");
        self.open_session(user).await
    }

    /// Resolves a session token (cookie or bearer).
    pub async fn session(&self, token: &str) -> Result<Option<(String, User)>, AppError> {
        if !token.starts_with(SESSION_PREFIX) {
            return Ok(None);
        }
        Ok(self
            .store
            .session_by_token(&sha256_hex(token), self.now())
            .await?)
    }

    pub async fn logout(&self, session_id: &str) -> Result<(), AppError> {
        self.store.revoke_session(session_id).await?;
        self.revoke(Revocation::Session {
            id: session_id.to_owned(),
        });
        Ok(())
    }

    /// Replaces the session by a new one with a full lifetime.
    pub async fn refresh(&self, session_id: &str, user: User) -> Result<SessionGrant, AppError> {
        let token = secret::new_token(SESSION_PREFIX);
        let now = self.now();
        let expires_at = now.plus_secs(self.settings.session_ttl_secs);
        match self
            .store
            .rotate_session(session_id, sha256_hex(&token), now, expires_at)
            .await
        {
            Ok(_) => Ok(SessionGrant {
                user,
                token,
                expires_at,
            }),
            Err(StoreError::NotFound) => Err(AppError::Unauthorized("Session expired")),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes the password and revokes every other session of the user.
    pub async fn change_password(
        &self,
        user: &User,
        session_id: &str,
        current: Option<String>,
        new: Option<String>,
    ) -> Result<(), AppError> {
        let mut c = Checker::new();
        let current = c.required_text("currentPassword", current, 1024);
        let new = c.new_password("newPassword", new);
        c.finish()?;
        let found = self
            .store
            .user_by_id(&user.id)
            .await?
            .ok_or(AppError::Unauthorized("User not found"))?;
        if !self
            .hashing
            .verify(current, Some(found.password_hash))
            .await?
        {
            return Err(AppError::WrongPassword);
        }
        let hash = self.hashing.hash(new).await?;
        self.store
            .set_password(&user.id, hash, Some(session_id.to_owned()))
            .await?;
        self.revoke(Revocation::OtherSessions {
            user: user.id.clone(),
            keep: session_id.to_owned(),
        });
        tracing::info!(user_id = %user.id, "password changed; other sessions revoked");
        Ok(())
    }

    // ---- API keys ----

    /// Resolves a raw `x-api-key`.
    pub async fn api_key_principal(&self, raw: &str) -> Result<Option<Principal>, AppError> {
        if !secret::is_api_key_shape(raw) {
            return Ok(None);
        }
        let hash = sha256_hex(raw);
        let cached = {
            let keys = self.keys.lock().expect("cache lock poisoned");
            keys.get(&hash)
                .filter(|k| k.fetched.elapsed() < self.key_cache_ttl())
                .map(|k| (k.key_id.clone(), k.user_id.clone()))
        };
        let (key_id, user_id) = match cached {
            Some(v) => v,
            None => {
                let Some(key) = self.store.api_key_by_hash(&hash).await? else {
                    return Ok(None);
                };
                self.keys.lock().expect("cache lock poisoned").insert(
                    hash,
                    CachedKey {
                        key_id: key.id.clone(),
                        user_id: key.user_id.clone(),
                        fetched: Instant::now(),
                    },
                );
                (key.id, key.user_id)
            }
        };
        self.touch_key(&key_id);
        Ok(Some(Principal {
            user_id,
            kind: PrincipalKind::ApiKey { key_id },
        }))
    }

    fn touch_key(&self, key_id: &str) {
        let due = {
            let mut touched = self.key_touched.lock().expect("cache lock poisoned");
            let due = touched
                .get(key_id)
                .is_none_or(|t| t.elapsed() >= KEY_TOUCH_EVERY);
            if due {
                touched.insert(key_id.to_owned(), Instant::now());
            }
            due
        };
        if due {
            let store = self.store.clone();
            let (id, now) = (key_id.to_owned(), self.now());
            tokio::spawn(async move {
                if let Err(e) = store.touch_api_key(&id, now).await {
                    tracing::warn!(key_id = %id, error = %e, "could not record API key use");
                }
            });
        }
    }

    /// How long a resolved key is trusted without the database. In cluster mode another
    /// node may revoke it: Redis says so at once, and this bounds it when Redis is down.
    fn key_cache_ttl(&self) -> Duration {
        if self.in_cluster() {
            Duration::from_secs(1)
        } else {
            KEY_CACHE_TTL
        }
    }

    pub(super) fn forget_key(&self, key_id: &str) {
        self.keys
            .lock()
            .expect("cache lock poisoned")
            .retain(|_, k| k.key_id != key_id);
    }

    pub async fn list_api_keys(&self, user: &UserId) -> Result<Vec<ApiKey>, AppError> {
        Ok(self.store.list_api_keys(user).await?)
    }

    /// Creates a key; returns it with its raw secret (shown once).
    pub async fn create_api_key(
        &self,
        user: &UserId,
        label: Option<String>,
    ) -> Result<(ApiKey, String), AppError> {
        if self.store.list_api_keys(user).await?.len() >= MAX_API_KEYS_PER_USER {
            return Err(super::Limit::ApiKeys(MAX_API_KEYS_PER_USER).into());
        }
        let mut c = Checker::new();
        let label = match label {
            None => "Default".to_owned(),
            Some(l) => c
                .required_text("label", Some(l), MAX_LABEL_CHARS)
                .trim()
                .to_owned(),
        };
        c.finish()?;
        let raw = secret::new_api_key();
        let key = self
            .store
            .create_api_key(
                user,
                label,
                sha256_hex(&raw),
                secret::key_prefix(&raw),
                self.now(),
            )
            .await?;
        tracing::info!(user_id = %user, key_id = %key.id, "API key created");
        Ok((key, raw))
    }

    pub async fn delete_api_key(&self, user: &UserId, id: &str) -> Result<(), AppError> {
        if !self.store.delete_api_key(user, id).await? {
            return Err(AppError::NotFound(Missing::ApiKey));
        }
        self.revoke(Revocation::ApiKey { id: id.to_owned() });
        tracing::info!(user_id = %user, key_id = %id, "API key deleted");
        Ok(())
    }

    pub async fn rotate_api_key(
        &self,
        user: &UserId,
        id: &str,
    ) -> Result<(ApiKey, String), AppError> {
        let raw = secret::new_api_key();
        let key = match self
            .store
            .rotate_api_key(user, id, sha256_hex(&raw), secret::key_prefix(&raw))
            .await
        {
            Ok(k) => k,
            Err(StoreError::NotFound) => return Err(AppError::NotFound(Missing::ApiKey)),
            Err(e) => return Err(e.into()),
        };
        self.revoke(Revocation::ApiKey { id: id.to_owned() });
        tracing::info!(user_id = %user, key_id = %id, "API key rotated");
        Ok((key, raw))
    }

    // ---- tickets ----

    /// Mints a single-use ticket for a raw socket or the Socket.IO gateway, acting as
    /// `principal`. Its lifetime never exceeds the credential that minted it.
    pub async fn issue_ticket(&self, principal: &Principal) -> Result<(String, Millis), AppError> {
        let ticket = secret::new_token(TICKET_PREFIX);
        let expires_at = self.now().plus_secs(TICKET_TTL_SECS);
        let (kind, reference) = match &principal.kind {
            PrincipalKind::ApiKey { key_id } => ("api_key", key_id.clone()),
            PrincipalKind::Session { session_id } => ("session", session_id.clone()),
        };
        self.store
            .create_ticket(
                sha256_hex(&ticket),
                &principal.user_id,
                kind,
                reference,
                expires_at,
            )
            .await?;
        Ok((ticket, expires_at))
    }

    /// Consumes a ticket (once) and returns the principal it stands for, provided the
    /// credential that minted it is still valid.
    pub async fn redeem_ticket(&self, ticket: &str) -> Result<Option<Principal>, AppError> {
        if !ticket.starts_with(TICKET_PREFIX) || ticket.len() > 128 {
            return Ok(None);
        }
        let Some((user_id, kind, reference)) = self
            .store
            .consume_ticket(&sha256_hex(ticket), self.now())
            .await?
        else {
            return Ok(None);
        };
        let kind = match kind.as_str() {
            "api_key" => {
                if self.store.api_key_by_id(&reference).await?.is_none() {
                    return Ok(None);
                }
                PrincipalKind::ApiKey { key_id: reference }
            }
            _ => {
                if !self.store.session_alive(&reference, self.now()).await? {
                    return Ok(None);
                }
                PrincipalKind::Session {
                    session_id: reference,
                }
            }
        };
        Ok(Some(Principal { user_id, kind }))
    }

    /// Socket authentication: an API key, a ticket or a session token.
    pub async fn socket_principal(
        &self,
        api_key: Option<&str>,
        token: Option<&str>,
    ) -> Result<Option<Principal>, AppError> {
        if let Some(key) = api_key {
            return self.api_key_principal(key).await;
        }
        let Some(token) = token else { return Ok(None) };
        if token.starts_with(TICKET_PREFIX) {
            return self.redeem_ticket(token).await;
        }
        Ok(self
            .session(token)
            .await?
            .filter(|(_, user)| !user.must_change_password)
            .map(|(session_id, user)| Principal {
                user_id: user.id,
                kind: PrincipalKind::Session { session_id },
            }))
    }

    // ---- users (owner only) ----

    pub(super) fn require_owner(actor: &User) -> Result<(), AppError> {
        if actor.is_owner() {
            Ok(())
        } else {
            Err(AppError::OwnerRequired)
        }
    }
}
