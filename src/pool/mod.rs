//! The pool engine: warm sandboxes handed out as RAII leases.
//!
//! Independent of any engine API: it sees only [`Backend`], so its logic is
//! unit-tested with an in-memory backend.
//!
//! Capacity is a semaphore of `max_size` permits. A permit is held by every
//! sandbox that is busy or being created; idle sandboxes hold none. A caller
//! takes a permit first, then reuses an idle sandbox if there is one or
//! creates a new one. So `idle + busy + initializing <= max_size` always
//! holds (a creation only starts when nothing is idle, at which point every
//! existing sandbox holds a permit), and any freed slot — a release or a
//! destruction — wakes exactly one waiter.
//!
//! The state lock is a plain mutex that is never held across I/O: engine
//! calls happen outside it, with counts updated before and after.

use crate::backend::{Backend, BackendError, Sandbox, SandboxSpec};
use crate::protocol::{PoolSpec, PoolStats};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(
        "no container of pool `{pool}` became free within {waited:?} (all {max} busy); retry, or raise the pool's max_size"
    )]
    Exhausted {
        pool: String,
        waited: Duration,
        max: usize,
    },
    #[error("pool `{0}` is shutting down")]
    Closed(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

#[derive(Default)]
struct Inner {
    /// Most recently used last: reuse takes the warmest.
    idle: Vec<Sandbox>,
    busy: HashSet<String>,
    initializing: usize,
    removing: usize,
    runs: u64,
    created: u64,
    removed: u64,
    closed: bool,
}

pub struct Pool {
    pub spec: PoolSpec,
    backend: Arc<dyn Backend>,
    sandbox_spec: SandboxSpec,
    permits: Arc<Semaphore>,
    acquisition_timeout: Duration,
    inner: Mutex<Inner>,
}

impl Pool {
    pub fn new(
        spec: PoolSpec,
        backend: Arc<dyn Backend>,
        labels: Vec<(String, String)>,
        acquisition_timeout: Duration,
    ) -> Arc<Pool> {
        let sandbox_spec = SandboxSpec {
            image: spec.image.clone(),
            pool: spec.name(),
            labels,
        };
        Arc::new(Pool {
            permits: Arc::new(Semaphore::new(spec.max_size)),
            spec,
            backend,
            sandbox_spec,
            acquisition_timeout,
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the whole pool down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Get a sandbox for one run: a warm idle one if any, else a new one if
    /// capacity allows, else wait up to the acquisition timeout.
    pub async fn acquire(self: &Arc<Self>) -> Result<Lease, PoolError> {
        if self.lock().closed {
            return Err(PoolError::Closed(self.spec.name()));
        }
        let permit = tokio::time::timeout(
            self.acquisition_timeout,
            self.permits.clone().acquire_owned(),
        )
        .await
        .map_err(|_| PoolError::Exhausted {
            pool: self.spec.name(),
            waited: self.acquisition_timeout,
            max: self.spec.max_size,
        })?
        .map_err(|_| PoolError::Closed(self.spec.name()))?;

        {
            let mut inner = self.lock();
            if let Some(sb) = inner.idle.pop() {
                inner.busy.insert(sb.id.clone());
                return Ok(Lease::new(self.clone(), sb, permit));
            }
            inner.initializing += 1;
        }
        let sb = self.create_counted().await?;
        let mut inner = self.lock();
        if inner.closed {
            drop(inner);
            self.spawn_destroy(sb.id);
            return Err(PoolError::Closed(self.spec.name()));
        }
        inner.busy.insert(sb.id.clone());
        Ok(Lease::new(self.clone(), sb, permit))
    }

    /// Create a sandbox; the caller has already counted it as initializing.
    async fn create_counted(&self) -> Result<Sandbox, PoolError> {
        let res = self.backend.create(&self.sandbox_spec).await;
        let mut inner = self.lock();
        inner.initializing -= 1;
        match res {
            Ok(sb) => {
                inner.created += 1;
                Ok(sb)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Create sandboxes in parallel until `min_size` exist (counting busy
    /// and initializing ones). Returns the first creation error, if any.
    pub async fn fill_to_min(self: &Arc<Self>) -> Result<(), PoolError> {
        self.fill_to(self.spec.min_size).await
    }

    /// Create sandboxes in parallel until `target` (capped by capacity)
    /// exist.
    pub async fn fill_to(self: &Arc<Self>, target: usize) -> Result<(), PoolError> {
        let mut tasks = Vec::new();
        loop {
            let permit = {
                let mut inner = self.lock();
                let total = inner.idle.len() + inner.busy.len() + inner.initializing;
                if inner.closed || total >= target {
                    break;
                }
                let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                    break;
                };
                inner.initializing += 1;
                permit
            };
            let pool = self.clone();
            tasks.push(tokio::spawn(async move {
                let sb = pool.create_counted().await?;
                let mut inner = pool.lock();
                if inner.closed {
                    drop(inner);
                    pool.spawn_destroy(sb.id);
                } else {
                    inner.idle.push(sb);
                }
                drop(permit);
                Ok::<(), PoolError>(())
            }));
        }
        let mut first_err = None;
        for t in tasks {
            if let Ok(Err(e)) = t.await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn spawn_destroy(self: &Arc<Self>, id: String) {
        self.lock().removing += 1;
        let pool = self.clone();
        tokio::spawn(async move {
            if let Err(e) = pool.backend.destroy(&id).await {
                eprintln!("sbx agent: cannot remove container {id}: {e}");
            }
            let mut inner = pool.lock();
            inner.removing -= 1;
            inner.removed += 1;
        });
    }

    /// Close the pool and remove every sandbox it holds, busy ones included
    /// (their runs fail). Waits for the removals.
    pub async fn shut_down(self: &Arc<Self>) -> usize {
        let ids: Vec<String> = {
            let mut inner = self.lock();
            inner.closed = true;
            let mut ids: Vec<String> = inner.idle.drain(..).map(|sb| sb.id).collect();
            ids.extend(inner.busy.iter().cloned());
            inner.removing += ids.len();
            ids
        };
        self.permits.close();
        let removals = ids.iter().map(|id| self.backend.destroy(id));
        let results = futures_util::future::join_all(removals).await;
        let mut inner = self.lock();
        inner.removing -= ids.len();
        inner.removed += ids.len() as u64;
        for (id, r) in ids.iter().zip(results) {
            if let Err(e) = r {
                eprintln!("sbx agent: cannot remove container {id}: {e}");
            }
        }
        ids.len()
    }

    pub fn stats(&self) -> PoolStats {
        let inner = self.lock();
        let (idle, busy) = (inner.idle.len(), inner.busy.len());
        PoolStats {
            name: self.spec.name(),
            backend: self.backend.name().into(),
            image: self.spec.image.clone(),
            lang: self.spec.lang.clone(),
            total_size: idle + busy + inner.initializing,
            max_size: self.spec.max_size,
            min_size: self.spec.min_size,
            initializing: inner.initializing,
            idle,
            busy,
            removing: inner.removing,
            runs: inner.runs,
            created: inner.created,
            removed: inner.removed,
            closed: inner.closed,
        }
    }
}

/// Exclusive use of one sandbox. Dropping it always gives the capacity back:
/// the sandbox returns to the idle list if it was released clean, otherwise
/// it is destroyed. A run that fails half-way can therefore never leak a
/// container as busy.
pub struct Lease {
    pool: Arc<Pool>,
    sandbox: Option<Sandbox>,
    permit: Option<OwnedSemaphorePermit>,
    reusable: bool,
}

impl Lease {
    fn new(pool: Arc<Pool>, sandbox: Sandbox, permit: OwnedSemaphorePermit) -> Lease {
        Lease {
            pool,
            sandbox: Some(sandbox),
            permit: Some(permit),
            reusable: false,
        }
    }

    pub fn sandbox(&mut self) -> &mut Sandbox {
        self.sandbox.as_mut().expect("sandbox present until drop")
    }

    /// Count a completed run and give the sandbox back; `clean` says whether
    /// the guest proved it pristine (otherwise it is recycled).
    pub fn release(mut self, clean: bool) {
        self.pool.lock().runs += 1;
        self.reusable = clean;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(sb) = self.sandbox.take() else {
            return;
        };
        let mut inner = self.pool.lock();
        inner.busy.remove(&sb.id);
        if self.reusable && !inner.closed {
            inner.idle.push(sb);
            drop(inner);
        } else {
            drop(inner);
            self.pool.spawn_destroy(sb.id);
        }
        // The permit goes last, after the sandbox is back in the idle list,
        // so the waiter it wakes finds it there.
        drop(self.permit.take());
    }
}

#[cfg(test)]
mod tests;
