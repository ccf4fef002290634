//! Password hashing off the async runtime, bounded in threads, memory and queue.

use super::AppError;
use crate::metrics::Metrics;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, SaltString, rand_core::OsRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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

    pub(crate) async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || {
            argon2_hash(password.as_bytes())
                .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
        })
        .await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown account), a dummy one is
    /// verified so that timing does not reveal which accounts exist.
    pub(crate) async fn verify(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, AppError> {
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
                            std::thread::sleep(std::time::Duration::from_millis(30));
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
