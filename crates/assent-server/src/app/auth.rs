//! Humans, sessions, tickets and API keys.

use super::{App, AppError, CachedKey, Missing};
use crate::metrics::Metrics;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, SaltString, rand_core::OsRng};
use assent_core::model::{ApiKey, Principal, PrincipalKind, Role, User};
use assent_core::secret::{self, sha256_hex};
use assent_core::validate::{Checker, MAX_LABEL_CHARS, MAX_NAME_CHARS};
use assent_core::{Millis, UserId};
use assent_store::{NewUser, StoreError};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Bounded password hashing: argon2 takes ~19 MiB and a core for tens of milliseconds per
/// call, so at most `permits` run at once (one per core) and at most `max_waiting` more
/// queue for a permit; past that a login or password change gets `429 server_busy`.
pub struct Hashing {
    permits: tokio::sync::Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    metrics: Arc<Metrics>,
    /// The hashing threads' queue. Hashes run on these few threads, not on the blocking
    /// pool: each thread's allocator keeps the ~19 MiB it last used, so memory is bounded by
    /// the number of threads, not by how many pool threads a burst happened to wake.
    jobs: std::sync::mpsc::Sender<HashJob>,
}

type HashJob = Box<dyn FnOnce() + Send>;

impl Hashing {
    pub fn new(permits: usize, max_waiting: usize, metrics: Arc<Metrics>) -> Hashing {
        let permits = permits.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..permits {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("assent-hash-{i}"))
                .spawn(move || {
                    loop {
                        // Ends when the `Hashing` (the only sender) is dropped.
                        let Ok(job) = queue.lock().expect("hash queue poisoned").recv() else {
                            return;
                        };
                        // A panicking hash loses its answer, not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .expect("starting a password-hashing thread");
        }
        Hashing {
            permits: tokio::sync::Semaphore::new(permits),
            waiting: AtomicUsize::new(0),
            max_waiting,
            metrics,
            jobs,
        }
    }

    /// One permit per core, 64 waiting at most.
    pub fn for_this_machine(metrics: Arc<Metrics>) -> Hashing {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hashing::new(cores, 64, metrics)
    }

    /// Runs `work` on a hashing thread once a permit is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::Busy);
        }
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let _permit = permit.map_err(|_| AppError::Busy)?;
        let running = &self.metrics.password_hashes_running;
        running.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.jobs.send(Box::new(move || {
            let _ = tx.send(work());
        }));
        let out = match queued {
            Ok(()) => rx.await.ok(),
            Err(_) => None,
        };
        running.fetch_sub(1, Ordering::Relaxed);
        out.ok_or_else(|| AppError::Internal("a password-hashing thread failed".into()))
    }

    async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || {
            argon2_hash(password.as_bytes())
                .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
        })
        .await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown account), a dummy one is
    /// verified so that timing does not reveal which accounts exist.
    async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, AppError> {
        self.run(move || {
            let real = hash.is_some();
            let hash = hash.unwrap_or_else(|| {
                DUMMY_HASH
                    .get_or_init(|| argon2_hash(b"assent-dummy").unwrap_or_default())
                    .clone()
            });
            let matches = argon2_verify(password.as_bytes(), &hash);
            real && matches
        })
        .await
    }
}

thread_local! {
    /// Argon2's working memory (~19 MiB with the default parameters), kept by each hashing
    /// thread and reused: allocating it per call left the allocator holding a fresh block
    /// after most calls (RSS grew by ~19 MiB a login, up to ~250 MiB, with only two threads).
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const {
        std::cell::RefCell::new(Vec::new())
    };
}

/// Runs argon2 with `params` into `out`, on this thread's reused memory.
fn argon2_into(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    ARGON2_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let count = argon.params().block_count();
        if memory.len() < count {
            memory.resize(count, argon2::Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..count])
    })
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for `password`, with the
/// default parameters and a random salt: the same format `Argon2::hash_password` writes.
fn argon2_hash(password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{Output, ParamsString};
    let salt = SaltString::generate(&mut OsRng);
    let argon = Argon2::default();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon, password, salt_bytes, &mut out)?;
    let phc = PasswordHash {
        algorithm: argon2::Algorithm::default().ident(),
        version: Some(argon2::Version::default().into()),
        params: ParamsString::try_from(argon.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash` (any argon2 variant and parameters).
fn argon2_verify(password: &[u8], hash: &str) -> bool {
    let check = || -> Result<bool, argon2::password_hash::Error> {
        let parsed = PasswordHash::new(hash)?;
        let algorithm = argon2::Algorithm::try_from(parsed.algorithm)?;
        let version = parsed
            .version
            .map(argon2::Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = argon2::Params::try_from(&parsed)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let mut out = vec![0u8; expected.len()];
        argon2_into(
            &Argon2::new(algorithm, version, params),
            password,
            salt_bytes,
            &mut out,
        )?;
        // `Output`'s equality is constant-time.
        Ok(argon2::password_hash::Output::new(&out)? == expected)
    };
    check().unwrap_or(false)
}

/// A hash of nothing, verified against when the email is unknown.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn is_key(p: &Principal, id: &str) -> bool {
    matches!(&p.kind, PrincipalKind::ApiKey { key_id } if key_id == id)
}

fn is_session(p: &Principal, id: &str) -> bool {
    matches!(&p.kind, PrincipalKind::Session { session_id } if session_id == id)
}

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
        for old in &evicted {
            self.hub.close_where(|p| is_session(p, old));
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
        self.hub.close_where(|p| is_session(p, session_id));
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
        self.hub.close_where(|p| {
            p.user_id == user.id
                && matches!(&p.kind, PrincipalKind::Session { session_id: s } if s != session_id)
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
                .filter(|k| k.fetched.elapsed() < KEY_CACHE_TTL)
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

    fn forget_key(&self, key_id: &str) {
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
        self.forget_key(id);
        self.hub.close_where(|p| is_key(p, id));
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
        self.forget_key(id);
        self.hub.close_where(|p| is_key(p, id));
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

    fn require_owner(actor: &User) -> Result<(), AppError> {
        if actor.is_owner() {
            Ok(())
        } else {
            Err(AppError::OwnerRequired)
        }
    }

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
        // Keys and channels of the user are gone with it.
        self.keys
            .lock()
            .expect("cache lock poisoned")
            .retain(|_, k| k.user_id != id);
        self.channels
            .lock()
            .expect("cache lock poisoned")
            .retain(|_, c| c.owner_id != id);
        self.hub.close_where(|p| p.user_id == id);
        tracing::info!(user_id = %id, by = %actor.id, "user deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_on_reused_memory_reads_and_writes_the_standard_phc_strings() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = argon2_hash(b"correct horse").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(argon2_verify(b"correct horse", &ours));
        assert!(!argon2_verify(b"wrong horse", &ours));
        // What the library writes (and what older releases stored) verifies here, and ours
        // verifies with the library.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(argon2_verify(b"correct horse", &theirs));
        assert!(!argon2_verify(b"correct hors", &theirs));
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // Other parameters and variants are read from the string.
        let light = Argon2::new(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x10,
            argon2::Params::new(1024, 1, 1, Some(16)).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(argon2_verify(b"pw", &light));
        for garbage in [
            "",
            "$argon2id$",
            "not a hash",
            "$argon2id$v=19$m=1,t=1,p=1$$",
        ] {
            assert!(!argon2_verify(b"pw", garbage), "{garbage:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_runs_at_most_its_permits_at_once_and_refuses_past_the_queue() {
        let metrics = Arc::new(Metrics::default());
        let hashing = Arc::new(Hashing::new(2, 6, metrics.clone()));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (hashing, running, peak) = (hashing.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    hashing
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(30));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        let mut done = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => done += 1,
                Err(AppError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(peak.load(Ordering::SeqCst) <= 2, "at most 2 hashes at once");
        assert!(done >= 8, "2 running + 6 waiting are served: {done}");
        assert!(busy > 0 && done + busy == 32, "the rest is refused: {busy}");
        assert_eq!(metrics.password_hashes_running.load(Ordering::Relaxed), 0);
        // Once the queue has drained, hashing is accepted again.
        assert!(hashing.run(|| ()).await.is_ok());
    }
}
