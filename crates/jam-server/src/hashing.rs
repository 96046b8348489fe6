//! Password hashing on a pool of its own. argon2id takes 19 MiB and tens of milliseconds per
//! password, so a flood of sign-ins on the shared blocking pool (where rankings and downloads run)
//! would queue them all behind it and hold 19 MiB per waiting request. Here `threads` hash at once,
//! as many again may wait, and beyond that the answer is 503 with Retry-After at once.
//!
//! One pool per process, set up by `startup` from `auth.hash_concurrency` (a process-wide value
//! because `jamd admin create` and every password route hash through the same two functions in
//! `auth`; before set-up, as in unit tests, a pool of one thread per core is made on first use).

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

type Job = Box<dyn FnOnce() + Send>;

pub struct HashPool {
    /// Hashing jobs for the pool's threads; each thread takes one at a time.
    jobs: Mutex<mpsc::Sender<Job>>,
    /// Admission: a permit per job running or waiting (twice the threads).
    admitted: Arc<Semaphore>,
    threads: usize,
}

static POOL: OnceLock<HashPool> = OnceLock::new();

impl HashPool {
    fn new(threads: usize) -> HashPool {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("jam-hash-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job, not while hashing.
                        let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        HashPool {
            jobs: Mutex::new(tx),
            admitted: Arc::new(Semaphore::new(threads * 2)),
            threads,
        }
    }

    /// Threads hashing at once.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// Sets the pool up with `threads` threads (0: one per core); a second call changes nothing.
pub fn init(threads: usize) -> &'static HashPool {
    POOL.get_or_init(|| HashPool::new(threads))
}

fn pool() -> &'static HashPool {
    init(0)
}

/// Runs `work` on the hashing pool, or answers 503 with Retry-After when it is full.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let pool = pool();
    let permit: OwnedSemaphorePermit =
        pool.admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Unavailable {
                detail: "too many sign-ins at once; try again in a moment".into(),
                retry_after_secs: 1,
            })?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(work());
        drop(permit);
    });
    pool.jobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(job)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("the hashing pool has stopped")))?;
    rx.await
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("a hashing job failed")))
}
