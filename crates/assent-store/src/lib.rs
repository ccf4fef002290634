//! assent-store owns persistence: SQLite (always, through rusqlite) and PostgreSQL (through
//! sqlx), behind one connection type ([`db`]) and one SQL dialect both accept (`$n`
//! parameters, `RETURNING`, partial indexes). One module per aggregate; one migration tree;
//! every public method is atomic.
//!
//! All writes go through the [`writer`]: a thread per shard (one on SQLite) that owns its
//! connection and runs queued jobs in one transaction (group commit: one fsync for many
//! writes), acknowledging each job only after that transaction is durable. A job is an
//! `async` closure given to [`Store::write`]. Events appended by a job are handed to the bus only
//! after commit, in `seq` order. This crate must never talk to the network (beyond the
//! database), know about HTTP, or render wire payloads.

mod attachments;
mod channels;
mod db;
mod error;
mod events;
mod keys;
mod messages;
mod migrate;
mod outbox;
mod reviews;
mod rows;
mod streams;
mod users;
mod webhooks;
pub mod writer;

pub use attachments::{FileEntry, FileFilter, FilePage};
pub use channels::{AgentPatch, NewAgent, PingOutcome};
pub use error::{Rejection, StoreError};
pub use events::{CommittedEvent, EventPage};
pub use messages::{MessageQuery, NewMessage, Page};
pub use outbox::{OutboxSettings, RenderWebhook};
pub use reviews::{RespondOutcome, ReviewFilter};
pub use streams::AppendedDelta;
pub use users::{NewUser, UserWithHash};
pub use webhooks::{
    AgentEndpoint, AttemptOutcome, AttemptRecord, ClaimedDelivery, WebhookAttempt, WebhookDelivery,
};

use db::{Conn, LitePool, PgConn};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Tuning knobs for opening a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub read_pool_size: u32,
    /// Writer threads. SQLite has one writer whatever this says; on PostgreSQL jobs are sharded
    /// by channel so that a channel's events always commit in `seq` order.
    pub writers: usize,
    /// Most jobs one transaction may carry.
    pub max_batch: usize,
    /// Fills the webhook outbox in the transaction of the events that cause deliveries.
    /// `None`: no webhooks (tools and tests that do not need them).
    pub outbox: Option<OutboxSettings>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            read_pool_size: 8,
            writers: 4,
            max_batch: 512,
            outbox: None,
        }
    }
}

#[derive(Clone)]
pub struct Store {
    reads: Reads,
    backend: Backend,
    writer: writer::WriterHandle,
}

/// The connections reads borrow.
#[derive(Clone)]
enum Reads {
    Pg(sqlx::AnyPool),
    Lite(Arc<LitePool>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

/// Normalises a database URL: SQLite files are created if missing.
fn normalise_url(url: &str) -> Result<(String, Backend), StoreError> {
    if url.starts_with("sqlite:") {
        let u = if url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        Ok((u, Backend::Sqlite))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((url.to_owned(), Backend::Postgres))
    } else {
        Err(StoreError::Config(
            "database URL must start with sqlite:// or postgres://".into(),
        ))
    }
}

impl Store {
    /// Opens the database, applies migrations and starts the writer(s). The returned receiver
    /// yields every committed event, per channel in `seq` order: it is the bus's input.
    pub async fn open(
        url: &str,
        opts: StoreOptions,
    ) -> Result<(Store, mpsc::UnboundedReceiver<CommittedEvent>), StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = normalise_url(url)?;
        {
            let mut conn = db::connect(&url, backend).await?;
            migrate::run(&mut conn).await?;
            conn.close().await;
        }
        let reads = match backend {
            Backend::Sqlite => Reads::Lite(LitePool::new(&url, opts.read_pool_size as usize)),
            Backend::Postgres => {
                let pool = sqlx::any::AnyPoolOptions::new()
                    .max_connections(opts.read_pool_size.max(1))
                    // Also how long a read waits for an unreachable database before answering 503.
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(db::pg_options(&url)?)
                    .await?;
                Reads::Pg(pool)
            }
        };
        let writers = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => opts.writers.max(1),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        // Before each commit, in this order: the batch's events, then the webhook deliveries
        // they cause (read from those events).
        let mut hooks: Vec<Box<dyn writer::BeforeCommit>> = vec![Box::new(events::WriteLog)];
        if let Some(outbox) = opts.outbox {
            hooks.push(Box::new(outbox));
        }
        let writer = writer::start(
            &url,
            backend,
            writers,
            opts.max_batch.max(1),
            hooks.into(),
            tx,
        )
        .await?;
        Ok((
            Store {
                reads,
                backend,
                writer,
            },
            rx,
        ))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for reads (SQLite: one of the read pool's, used on this task).
    pub(crate) async fn read(&self) -> Result<Conn, StoreError> {
        match &self.reads {
            Reads::Pg(pool) => Ok(Conn::Pg(PgConn::Pooled(pool.acquire().await?))),
            Reads::Lite(pool) => pool.acquire().await,
        }
    }

    /// Runs `job` inside the writer's transaction for `key` and returns its result once that
    /// transaction has committed. `key` is the rows the job decides on: a channel id (so that
    /// one channel's events are always appended by one writer, in order) or an aggregate's
    /// name. The job gets the connection and the list its events go to; it makes any refusal
    /// before its first write (see [`writer`]).
    pub(crate) async fn write<T, F>(&self, key: &str, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> AsyncFnOnce(&'c mut db::Conn, &'c mut events::Events) -> Result<T, StoreError>
            + Send
            + 'static,
    {
        self.writer.run(key, job).await
    }

    /// Waits until every queued write has committed and the writers stopped. Call after the
    /// last request finished; later writes fail with `StoreError::Closed`.
    pub async fn close(&self) {
        self.writer.close().await;
        match &self.reads {
            Reads::Pg(pool) => pool.close().await,
            Reads::Lite(pool) => pool.close(),
        }
    }

    /// Copies committed WAL pages into the database file (SQLite; a no-op on PostgreSQL).
    /// PASSIVE: it never waits for, nor blocks, the writer. Driven by a background job, on
    /// a blocking thread (it writes and syncs the database file).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            let mut conn = self.read().await?;
            tokio::task::spawn_blocking(move || db::run_here(db::passive_checkpoint(&mut conn)))
                .await
                .map_err(|e| StoreError::CommitFailed(format!("checkpoint: {e}")))??;
            // The writer copies the rest, so that the log can start over (see there).
            self.writer.checkpointed();
        }
        Ok(())
    }

    /// Cheap liveness check used by `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        db::query("SELECT 1")
            .execute(&mut self.read().await?)
            .await?;
        Ok(())
    }
}
