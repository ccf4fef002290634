//! The write path. Jobs are queued to a writer thread; it takes everything queued (up to
//! `max_batch`), runs them one after the other inside one transaction, commits once, and
//! only then acknowledges the jobs and publishes their events.
//!
//! The contract of a job: it decides any refusal (not found, conflict, invalid, rejected)
//! *before* its first write, so a refused job leaves nothing behind and the batch goes on.
//! A database error is different (the job may be half-written): the whole batch is rolled
//! back and every job in it fails. Savepoints would make that finer, at two extra round
//! trips to SQLite's thread per job, which was the largest cost of the write path. Under load this is group
//! commit: one fsync carries hundreds of writes, and no POST is acknowledged before its row
//! is durable. The batch's events, then the webhook outbox rows they cause, are written
//! just before the commit.

use crate::db::{self, Conn};
use crate::events::{CommittedEvent, Events};
use crate::{Backend, StoreError};
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A job's future: it runs on its writer's own thread, so it need not be `Send` (which is
/// what lets a job be a plain `async` closure).
type LocalFut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;
type AnyBox = Box<dyn Any + Send>;
type JobFn = Box<
    dyn for<'c> FnOnce(&'c mut Conn, &'c mut Events) -> LocalFut<'c, Result<AnyBox, StoreError>>
        + Send,
>;

struct Job {
    /// The shard key (a channel id, or an aggregate's name): the rows the job locks.
    key: Box<str>,
    run: JobFn,
    reply: oneshot::Sender<Result<AnyBox, StoreError>>,
}

const QUEUE_DEPTH: usize = 16_384;

/// A step that runs after a batch's jobs, inside its transaction, just before the commit,
/// with the events the batch appended: writing them to the log, filling the webhook outbox.
/// An error rolls the whole batch back. The store lists them, in order, when it opens.
pub(crate) trait BeforeCommit: Send + Sync {
    fn run<'c>(
        &'c self,
        conn: &'c mut Conn,
        events: &'c [CommittedEvent],
    ) -> BoxFut<'c, Result<(), StoreError>>;
}

pub(crate) type Hooks = Arc<[Box<dyn BeforeCommit>]>;

struct BatchSettings {
    max_batch: usize,
    hooks: Hooks,
    /// Run a batch's jobs ordered by key (PostgreSQL), see `writer_loop`.
    lock_order: bool,
    /// SQLite: set when a checkpoint off the write path has copied most of the log into the
    /// database (see `WriterHandle::checkpointed`).
    wal_tail: Arc<AtomicBool>,
}

#[derive(Clone)]
pub(crate) struct WriterHandle {
    inner: Arc<Inner>,
}

struct Inner {
    senders: RwLock<Option<Vec<mpsc::Sender<Job>>>>,
    wal_tail: Arc<AtomicBool>,
    /// Each writer answers here when it stopped.
    stopped: Mutex<Vec<oneshot::Receiver<()>>>,
}

pub(crate) async fn start(
    url: &str,
    backend: Backend,
    writers: usize,
    max_batch: usize,
    hooks: Hooks,
    bus: mpsc::UnboundedSender<CommittedEvent>,
) -> Result<WriterHandle, StoreError> {
    let mut senders = Vec::with_capacity(writers);
    let mut stopped = Vec::with_capacity(writers);
    let wal_tail = Arc::new(AtomicBool::new(false));
    for shard in 0..writers {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let (done, stop) = oneshot::channel();
        let (ready, connected) = oneshot::channel();
        let writer = Writer {
            shard,
            url: url.to_owned(),
            backend,
            settings: BatchSettings {
                max_batch,
                hooks: hooks.clone(),
                lock_order: backend == Backend::Postgres,
                wal_tail: wal_tail.clone(),
            },
            bus: bus.clone(),
        };
        // Every writer is a thread of its own that owns its connection. SQLite's runs each
        // whole batch synchronously, so a batch costs one wake-up (its first job's), not one
        // per statement; PostgreSQL's drives its socket on a one-thread runtime. Either way
        // a job's future stays on that thread, so jobs are plain `async` closures.
        let name = match backend {
            Backend::Sqlite => "assent-sqlite-writer".to_owned(),
            Backend::Postgres => format!("assent-pg-writer-{shard}"),
        };
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                match backend {
                    Backend::Sqlite => db::run_here(writer.run(Queue::Blocking(rx), ready)),
                    Backend::Postgres => match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt.block_on(writer.run(Queue::Async(rx), ready)),
                        Err(e) => {
                            let _ = ready.send(Err(StoreError::Config(format!(
                                "cannot start the writer's runtime: {e}"
                            ))));
                        }
                    },
                }
                let _ = done.send(());
            })
            .map_err(|e| StoreError::Config(format!("cannot start the writer: {e}")))?;
        connected.await.map_err(|_| StoreError::Closed)??;
        senders.push(tx);
        stopped.push(stop);
    }
    Ok(WriterHandle {
        inner: Arc::new(Inner {
            senders: RwLock::new(Some(senders)),
            wal_tail,
            stopped: Mutex::new(stopped),
        }),
    })
}

fn shard_of(key: &str, n: usize) -> usize {
    // FNV-1a: stable, cheap, good enough to spread channel ids.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in key.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    (h % n as u64) as usize
}

impl WriterHandle {
    /// Runs `f` inside the writer's transaction for `shard_key` (a channel id, so that one
    /// channel's events are always appended by the same writer) and returns its result once
    /// the transaction has committed.
    pub(crate) async fn run<T, F>(&self, shard_key: &str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> AsyncFnOnce(&'c mut Conn, &'c mut Events) -> Result<T, StoreError>
            + Send
            + 'static,
    {
        let sender = {
            let guard = self.inner.senders.read().expect("writer lock poisoned");
            let senders = guard.as_ref().ok_or(StoreError::Closed)?;
            senders[shard_of(shard_key, senders.len())].clone()
        };
        let (reply, rx) = oneshot::channel();
        let run: JobFn = Box::new(move |conn, events| {
            Box::pin(async move { f(conn, events).await.map(|t| Box::new(t) as AnyBox) })
        });
        sender
            .send(Job {
                key: shard_key.into(),
                run,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        let boxed = rx.await.map_err(|_| StoreError::Closed)??;
        Ok(*boxed
            .downcast::<T>()
            .expect("writer job returned the type it was created with"))
    }

    /// SQLite: a checkpoint on another connection has copied the log into the database up
    /// to where it was when it began. While the writer keeps appending, such a checkpoint
    /// never catches up with the end of the log, and SQLite only starts the log over once a
    /// checkpoint has copied all of it: under sustained load the log grew without bound
    /// (1.4 GB in 15 s of saturation), and every frame went into a newly allocated block
    /// that the kernel zeroes first. So the writer, after its next batch, checkpoints the
    /// little that is left on its own connection, where nothing is appended meanwhile; its
    /// next transaction then writes the log from its start again, over blocks it already has.
    pub(crate) fn checkpointed(&self) {
        self.inner.wal_tail.store(true, Ordering::Release);
    }

    pub(crate) async fn close(&self) {
        let senders = self
            .inner
            .senders
            .write()
            .expect("writer lock poisoned")
            .take();
        drop(senders);
        let stopped: Vec<_> =
            std::mem::take(&mut *self.inner.stopped.lock().expect("writer lock poisoned"));
        for s in stopped {
            let _ = s.await;
        }
    }
}

/// A writer's queue: awaited by a task (PostgreSQL), or blocked on by SQLite's thread.
enum Queue {
    Async(mpsc::Receiver<Job>),
    Blocking(mpsc::Receiver<Job>),
}

impl Queue {
    async fn recv_many(&mut self, batch: &mut Vec<Job>, max: usize) -> usize {
        match self {
            Queue::Async(rx) => rx.recv_many(batch, max).await,
            Queue::Blocking(rx) => {
                let Some(first) = rx.blocking_recv() else {
                    return 0;
                };
                batch.push(first);
                while batch.len() < max {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                batch.len()
            }
        }
    }
}

/// One writer: its shard, where to (re)connect, and where its committed events go.
struct Writer {
    shard: usize,
    url: String,
    backend: Backend,
    settings: BatchSettings,
    bus: mpsc::UnboundedSender<CommittedEvent>,
}

impl Writer {
    /// Connects (answering `ready` with the outcome), then runs batches until every sender
    /// is gone.
    async fn run(self, mut rx: Queue, ready: oneshot::Sender<Result<(), StoreError>>) {
        let (shard, settings) = (self.shard, &self.settings);
        let mut conn = match db::connect(&self.url, self.backend).await {
            Ok(c) => c,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let mut batch = Vec::with_capacity(settings.max_batch);
        while rx.recv_many(&mut batch, settings.max_batch).await > 0 {
            // Writers of other nodes (cluster mode) batch the same channels: taking the rows'
            // locks in one order everywhere (by key; stable, so a channel's jobs keep their
            // order) means two batches never wait for each other in a cycle.
            if settings.lock_order {
                batch.sort_by(|a, b| a.key.cmp(&b.key));
            }
            let result = run_batch(&mut conn, &mut batch, &settings.hooks, &self.bus).await;
            if result.is_ok()
                && settings.wal_tail.swap(false, Ordering::AcqRel)
                && let Err(e) = db::passive_checkpoint(&mut conn).await
            {
                tracing::warn!(shard, error = %e, "checkpoint on the writer failed");
            }
            if let Err(e) = result {
                tracing::error!(shard, error = %e, "write batch failed; reconnecting the writer");
                match db::connect(&self.url, self.backend).await {
                    Ok(c) => conn = c,
                    Err(e) => tracing::error!(shard, error = %e, "writer could not reconnect"),
                }
            }
        }
        conn.close().await;
        tracing::debug!(shard, "writer stopped");
    }
}

type Reply = oneshot::Sender<Result<AnyBox, StoreError>>;

/// Runs one batch. Returns an error only when the connection itself looks broken.
async fn run_batch(
    conn: &mut Conn,
    batch: &mut Vec<Job>,
    hooks: &[Box<dyn BeforeCommit>],
    bus: &mpsc::UnboundedSender<CommittedEvent>,
) -> Result<(), StoreError> {
    match conn.begin().await {
        Ok(()) => {}
        Err(e) => {
            let msg = e.to_string();
            for job in batch.drain(..) {
                let _ = job.reply.send(Err(StoreError::CommitFailed(msg.clone())));
            }
            return Err(e);
        }
    };
    match run_jobs(conn, batch).await {
        Some((done, published)) if !done.is_empty() => {
            commit(conn, done, published, hooks, bus).await
        }
        _ => conn.batch("ROLLBACK").await,
    }
}

/// Runs the batch's jobs in one transaction. A refused job is answered and left out; a
/// failed one fails the whole batch (`None`: every job answered, roll back).
async fn run_jobs(
    tx: &mut Conn,
    batch: &mut Vec<Job>,
) -> Option<(Vec<(Reply, AnyBox)>, Vec<CommittedEvent>)> {
    let mut done = Vec::with_capacity(batch.len());
    let mut published = Vec::new();
    let mut broken: Option<String> = None;
    for job in batch.drain(..) {
        if let Some(msg) = &broken {
            let _ = job.reply.send(Err(StoreError::CommitFailed(msg.clone())));
            continue;
        }
        let mut events = Events::default();
        match (job.run)(tx, &mut events).await {
            Ok(v) => {
                done.push((job.reply, v));
                published.extend(events.0);
            }
            // A refusal is decided before the job writes anything (the contract of every
            // job), so the batch goes on without it.
            Err(e) if e.is_refusal() => {
                let _ = job.reply.send(Err(e));
            }
            // A database error may leave the job half-written: the whole batch rolls back.
            Err(e) => {
                let msg = e.to_string();
                let _ = job.reply.send(Err(e));
                for (reply, _) in done.drain(..) {
                    let _ = reply.send(Err(StoreError::CommitFailed(msg.clone())));
                }
                broken = Some(msg);
            }
        }
    }
    broken.is_none().then_some((done, published))
}

/// Runs the before-commit hooks (the batch's events, their webhook deliveries), commits,
/// then answers the jobs and publishes the events (only what committed is ever published).
async fn commit(
    tx: &mut Conn,
    done: Vec<(Reply, AnyBox)>,
    published: Vec<CommittedEvent>,
    hooks: &[Box<dyn BeforeCommit>],
    bus: &mpsc::UnboundedSender<CommittedEvent>,
) -> Result<(), StoreError> {
    let fail = |done: Vec<(Reply, AnyBox)>, msg: String| {
        for (reply, _) in done {
            let _ = reply.send(Err(StoreError::CommitFailed(msg.clone())));
        }
    };
    for hook in hooks {
        if let Err(e) = hook.run(tx, &published).await {
            let _ = tx.batch("ROLLBACK").await;
            fail(done, e.to_string());
            return Err(e);
        }
    }
    match tx.batch("COMMIT").await {
        Ok(()) => {
            for e in published {
                let _ = bus.send(e);
            }
            for (reply, v) in done {
                let _ = reply.send(Ok(v));
            }
            Ok(())
        }
        Err(e) => {
            fail(done, e.to_string());
            Err(e)
        }
    }
}
