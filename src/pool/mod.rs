//! The pool engine: warm sandboxes handed out as RAII leases, and the
//! maintenance that keeps them fresh.
//!
//! Independent of any engine API: it sees only [`Backend`], so its logic is
//! unit-tested with an in-memory backend and paused tokio time.
//!
//! # Capacity
//!
//! Capacity is a fair (FIFO) semaphore of `max_size` permits. A permit is
//! held by every member that is busy, being created, or out for a health
//! check; idle members hold none. A caller takes a permit first, then
//! reuses an idle sandbox if there is one or creates a new one. So
//! `idle + busy + initializing <= max_size` always holds (a creation only
//! starts when nothing is idle, at which point every other member holds a
//! permit), and any freed slot — a release or a removal — serves exactly
//! one waiter, oldest first. When no permit is free the pool's exhaustion
//! strategy decides: wait (up to `acquisition_timeout`), fail at once, or
//! run in a temporary container outside the pool that is removed after its
//! one run.
//!
//! # States
//!
//! `initializing` (being created), `idle`, `busy` (leased), `unhealthy`
//! (found dead or failing a health check, being removed), `removing`
//! (retired: expired, used up, dirty, idle too long, or drained). Every
//! transition happens under the state lock, which is a plain mutex never
//! held across I/O: a container is taken out of the idle list before any
//! engine call about it (so maintenance and acquirers can never both own
//! it), and counts are updated before and after.
//!
//! # One run per container
//!
//! With `isolation = "container"` a released container is removed rather
//! than reused, and its replacement is created at once in the background
//! (up to the member count before the removal, within `max_size`), so the
//! next run finds a warm container unless runs come faster than creations.
//!
//! # Maintenance
//!
//! One task per pool, woken every tick and whenever a container is
//! removed: idle containers whose stream has ended are removed as
//! unhealthy; expired ones (`max_lifetime`) are recycled; containers idle
//! longer than `idle_timeout` are removed while the pool is above
//! `min_size` and replaced (new one first, when capacity allows) at it;
//! idle containers due a health check are asked the engine's view and
//! pinged through the guest runner; and the pool is refilled to `min_size`
//! in the background, with back-off when creations fail.

mod metrics;

use crate::backend::{Backend, BackendError, Sandbox, SandboxSpec};
use crate::model::isolation::IsolationMode;
use crate::model::pool::Exhaustion;
use crate::model::units::format_duration;
use crate::protocol::{PoolSpec, PoolStats, StateCounts};
use metrics::{Counters, Creation, Removal};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, TryAcquireError, watch};
use tokio::time::Instant;

/// Longest pause between two maintenance passes.
const TICK: Duration = Duration::from_secs(1);
/// A guest that does not answer a ping within this is unhealthy.
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest pause between two refill attempts after creations failed.
const REFILL_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long a run with no idle container waits for one that is finishing
/// its clean-up (usually milliseconds) before creating a new one (hundreds
/// of milliseconds).
const RETURN_WAIT: Duration = Duration::from_millis(500);
/// How long a forced drain waits for cancelled runs to hand back their
/// containers before removing them regardless.
const FORCE_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Every container is busy: `waited` is `Some` when the caller waited
    /// that long (exhaustion = wait), `None` when it failed at once.
    #[error("{}", exhausted_message(pool, *max, *waited))]
    Exhausted {
        pool: String,
        max: usize,
        waited: Option<Duration>,
    },
    #[error("pool `{0}` is shutting down; retry once the agent is back")]
    Closed(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

fn exhausted_message(pool: &str, max: usize, waited: Option<Duration>) -> String {
    match waited {
        Some(d) => format!(
            "pool `{pool}` is exhausted: all {max} of its containers (max_size) stayed busy for {} (acquisition_timeout); raise max_size or acquisition_timeout in the [pool] section of the sbx config, or retry later",
            format_duration(d)
        ),
        None => format!(
            "pool `{pool}` is exhausted: all {max} of its containers (max_size) are busy and exhaustion is fail-fast; raise max_size, or set exhaustion to \"wait\" or \"temporary\" in the [pool] section of the sbx config"
        ),
    }
}

/// What a container has been through, carried with it between states.
#[derive(Debug, Clone, Copy)]
struct Meta {
    born: Instant,
    uses: u64,
}

struct Idle {
    sb: Sandbox,
    meta: Meta,
    /// Idle since (last release or creation).
    since: Instant,
    /// Last proven healthy (creation, a clean release, or a health check).
    checked: Instant,
    /// A replacement is being created for it (idle too long at min_size).
    replacing: bool,
}

/// Why a container is being removed; decides which count it sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retire {
    /// A member retired normally: `removing`.
    Recycle(Removal),
    /// A member found dead or failing its check: `unhealthy`.
    Unhealthy,
    /// An overflow container after its run: `temporary`.
    Temporary,
    /// Already counted as removed by a shutdown; removal is idempotent.
    Untracked,
}

#[derive(Default)]
struct Inner {
    /// Most recently used last: reuse takes the warmest.
    idle: Vec<Idle>,
    /// Idle members out for a health check (shown as idle).
    checking: usize,
    busy: HashSet<String>,
    /// Busy members whose run is over and which are cleaning up.
    finishing: usize,
    /// Callers waiting for one of those (never more than there are).
    finishing_waiters: usize,
    initializing: usize,
    unhealthy: usize,
    removing: usize,
    temporary: usize,
    runs: u64,
    created: u64,
    removed: u64,
    temporary_created: u64,
    temporary_removed: u64,
    unhealthy_total: u64,
    counters: Counters,
    closed: bool,
    /// `min_size` is maintained: from the start with prewarm, else from
    /// the first run or `pool up` on.
    warm: bool,
    refill_failures: u32,
    refill_after: Option<Instant>,
}

impl Inner {
    /// Members: the containers `max_size` bounds.
    fn members(&self) -> usize {
        self.idle.len() + self.checking + self.busy.len() + self.initializing
    }

    fn mark(&mut self, why: Retire) {
        match why {
            Retire::Recycle(_) => self.removing += 1,
            Retire::Unhealthy => {
                self.unhealthy += 1;
                self.unhealthy_total += 1;
            }
            Retire::Temporary | Retire::Untracked => {}
        }
    }
}

pub struct Pool {
    pub spec: PoolSpec,
    backend: Arc<dyn Backend>,
    sandbox_spec: SandboxSpec,
    permits: Arc<Semaphore>,
    inner: Mutex<Inner>,
    /// Wakes the maintenance task early (a container was removed).
    wake: Notify,
    /// Signalled on every release and removal (drains wait on it).
    changed: Notify,
    /// Set when busy runs must stop (`pool down --force`, shutdown).
    cancel: watch::Sender<bool>,
    /// When the pool came up (wall clock, for stats).
    started: SystemTime,
}

impl Pool {
    /// A pool with no maintenance task: the engine's building block, and
    /// what unit tests drive by hand. The agent uses [`Pool::start`].
    pub fn new(
        spec: PoolSpec,
        backend: Arc<dyn Backend>,
        labels: Vec<(String, String)>,
    ) -> Arc<Pool> {
        let sandbox_spec = SandboxSpec {
            image: spec.image.clone(),
            pool: spec.name(),
            labels,
            limits: spec.profile.limits,
            network: spec.profile.network.clone(),
            isolation: spec.isolation.clone(),
            kubernetes: spec.kubernetes.clone(),
            warm_interpreter: spec.profile.warm_interpreter.clone(),
            group: spec_id(&spec),
            max_lifetime: spec.settings.max_lifetime,
        };
        Arc::new(Pool {
            permits: Arc::new(Semaphore::new(spec.settings.max_size)),
            inner: Mutex::new(Inner {
                warm: spec.settings.prewarm,
                ..Default::default()
            }),
            spec,
            backend,
            sandbox_spec,
            wake: Notify::new(),
            changed: Notify::new(),
            cancel: watch::channel(false).0,
            started: SystemTime::now(),
        })
    }

    /// A pool with its maintenance task running; with `prewarm`, filling to
    /// `min_size` starts at once.
    pub fn start(
        spec: PoolSpec,
        backend: Arc<dyn Backend>,
        labels: Vec<(String, String)>,
    ) -> Arc<Pool> {
        let pool = Pool::new(spec, backend, labels);
        let weak = Arc::downgrade(&pool);
        tokio::spawn(maintenance(weak));
        pool
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the whole pool down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn closed_err(&self) -> PoolError {
        PoolError::Closed(self.spec.name())
    }

    fn exhausted(&self, waited: Option<Duration>) -> PoolError {
        PoolError::Exhausted {
            pool: self.spec.name(),
            max: self.spec.settings.max_size,
            waited,
        }
    }

    /// Too old (`Lifetime`) or used too often (`Uses`) to take another run.
    /// Why an idle container must go instead of serving (its stream ended,
    /// or it expired), or `None` if it may serve.
    fn retire_idle(&self, idle: &mut Idle, now: Instant) -> Option<Retire> {
        if !idle.sb.guest.is_alive() {
            log_gone(&idle.sb.id, &self.spec.name());
            Some(Retire::Unhealthy)
        } else {
            self.expiry(&idle.meta, now).map(Retire::Recycle)
        }
    }

    fn expiry(&self, meta: &Meta, now: Instant) -> Option<Removal> {
        if self
            .spec
            .settings
            .max_lifetime
            .is_some_and(|l| now.duration_since(meta.born) >= l)
        {
            Some(Removal::Lifetime)
        } else if self.spec.settings.max_uses.is_some_and(|m| meta.uses >= m) {
            Some(Removal::Uses)
        } else {
            None
        }
    }

    /// Get a sandbox for one run: the most recently used idle one if any,
    /// else a new one if capacity allows, else what the exhaustion strategy
    /// says. Counts how long that took, whether it queued, and refusals.
    pub async fn acquire(self: &Arc<Self>) -> Result<Lease, PoolError> {
        let asked = Instant::now();
        let mut queued = false;
        let res = self.acquire_uncounted(&mut queued).await;
        let mut inner = self.lock();
        let c = &mut inner.counters;
        c.waited += u64::from(queued);
        match &res {
            Ok(_) => c.wait.observe(asked.elapsed()),
            Err(PoolError::Exhausted { .. }) => c.exhausted += 1,
            Err(_) => {}
        }
        res
    }

    /// Returns once no container is finishing its clean-up (or after
    /// `limit`): a snapshot taken right after a run's answer then shows
    /// that run's container back in the pool, as a script expects.
    pub async fn settled(&self, limit: Duration) {
        let until = Instant::now() + limit;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the check, so a release in between is seen.
            changed.as_mut().enable();
            if self.lock().finishing == 0 {
                return;
            }
            if tokio::time::timeout_at(until, changed).await.is_err() {
                return;
            }
        }
    }

    /// A permit now; or, when every one is held but some only by a
    /// container finishing its clean-up (its client already has its
    /// answer), that one's permit as it comes back, within RETURN_WAIT.
    /// A script's next run is not exhausted by the run before it.
    /// Only as many callers wait as containers are finishing: the rest
    /// get the exhaustion strategy's answer at once.
    async fn permit_unless_all_busy(&self) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        match self.permits.clone().try_acquire_owned() {
            Err(TryAcquireError::NoPermits) => {
                {
                    let mut inner = self.lock();
                    if inner.finishing <= inner.finishing_waiters {
                        return Err(TryAcquireError::NoPermits);
                    }
                    inner.finishing_waiters += 1;
                }
                let got =
                    tokio::time::timeout(RETURN_WAIT, self.permits.clone().acquire_owned()).await;
                self.lock().finishing_waiters -= 1;
                match got {
                    Ok(Ok(p)) => Ok(p),
                    Ok(Err(_)) => Err(TryAcquireError::Closed),
                    Err(_) => Err(TryAcquireError::NoPermits),
                }
            }
            other => other,
        }
    }

    async fn acquire_uncounted(self: &Arc<Self>, queued: &mut bool) -> Result<Lease, PoolError> {
        if self.lock().closed {
            return Err(self.closed_err());
        }
        let permit = match self.spec.settings.exhaustion {
            Exhaustion::Wait => match self.permits.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(TryAcquireError::Closed) => return Err(self.closed_err()),
                Err(TryAcquireError::NoPermits) => {
                    // Every member is busy: queue (first come, first served).
                    // Waiting for one that is only finishing its clean-up
                    // (back in moments) is not counted as queueing.
                    *queued = self.lock().finishing == 0;
                    let acquire = self.permits.clone().acquire_owned();
                    let got = match self.spec.settings.acquisition_timeout {
                        Some(limit) => tokio::time::timeout(limit, acquire)
                            .await
                            .map_err(|_| self.exhausted(Some(limit)))?,
                        None => acquire.await,
                    };
                    got.map_err(|_| self.closed_err())?
                }
            },
            strategy => match self.permit_unless_all_busy().await {
                Ok(p) => p,
                Err(TryAcquireError::Closed) => return Err(self.closed_err()),
                Err(TryAcquireError::NoPermits) if strategy == Exhaustion::FailFast => {
                    return Err(self.exhausted(None));
                }
                Err(TryAcquireError::NoPermits) => return self.acquire_temporary().await,
            },
        };

        enum Step {
            Take(Idle),
            Wait,
            Create,
            Closed,
        }
        let wait_until = Instant::now() + RETURN_WAIT;
        loop {
            let returned = self.changed.notified();
            tokio::pin!(returned);
            // Registered before the check, so a release in between is seen.
            returned.as_mut().enable();
            let now = Instant::now();
            let mut doomed = Vec::new();
            let step = {
                let mut inner = self.lock();
                inner.warm = true;
                let mut step = Step::Create;
                while let Some(mut idle) = inner.idle.pop() {
                    // Expired or dead containers are never handed out.
                    let Some(why) = self.retire_idle(&mut idle, now) else {
                        inner.busy.insert(idle.sb.id.clone());
                        step = Step::Take(idle);
                        break;
                    };
                    inner.mark(why);
                    doomed.push((idle.sb.id, why));
                }
                match step {
                    Step::Take(_) => {}
                    _ if inner.closed => step = Step::Closed,
                    _ if inner.finishing > 0 && now < wait_until => step = Step::Wait,
                    _ => inner.initializing += 1,
                }
                step
            };
            for (id, why) in doomed {
                self.spawn_destroy(id, why);
            }
            match step {
                Step::Take(idle) => {
                    return Ok(Lease::new(self.clone(), idle.sb, idle.meta, Some(permit)));
                }
                Step::Closed => return Err(self.closed_err()),
                Step::Wait => {
                    let _ = tokio::time::timeout_at(wait_until, returned).await;
                }
                Step::Create => break,
            }
        }

        let sb = self.create_counted(Creation::Demand).await?;
        let mut inner = self.lock();
        if inner.closed {
            let why = Retire::Recycle(Removal::Shutdown);
            inner.mark(why);
            drop(inner);
            self.spawn_destroy(sb.id, why);
            return Err(self.closed_err());
        }
        inner.busy.insert(sb.id.clone());
        drop(inner);
        Ok(Lease::new(self.clone(), sb, Meta::new(), Some(permit)))
    }

    /// An overflow container for one run, outside `max_size`.
    async fn acquire_temporary(self: &Arc<Self>) -> Result<Lease, PoolError> {
        {
            let mut inner = self.lock();
            inner.temporary += 1;
            inner.temporary_created += 1;
        }
        match self.backend.create(&self.sandbox_spec).await {
            Ok(sb) => {
                if self.lock().closed {
                    self.spawn_destroy(sb.id, Retire::Temporary);
                    return Err(self.closed_err());
                }
                Ok(Lease::new(self.clone(), sb, Meta::new(), None))
            }
            Err(e) => {
                self.lock().temporary -= 1;
                self.changed.notify_waiters();
                Err(e.into())
            }
        }
    }

    /// Create a sandbox; the caller has already counted it as initializing.
    async fn create_counted(self: &Arc<Self>, why: Creation) -> Result<Sandbox, PoolError> {
        let res = self.backend.create(&self.sandbox_spec).await;
        let mut inner = self.lock();
        inner.initializing -= 1;
        match res {
            Ok(sb) if inner.closed => {
                // Closed while it was being made: counted as being removed
                // in the same breath as it stops counting as initializing,
                // so a drain never sees the pool empty while it still exists.
                inner.created += 1;
                inner.counters.created(why);
                let retire = Retire::Recycle(Removal::Shutdown);
                inner.mark(retire);
                drop(inner);
                self.spawn_destroy(sb.id, retire);
                Err(self.closed_err())
            }
            Ok(sb) => {
                inner.created += 1;
                inner.counters.created(why);
                Ok(sb)
            }
            Err(e) => {
                drop(inner);
                self.changed.notify_waiters();
                Err(e.into())
            }
        }
    }

    /// Create sandboxes in parallel until `min_size` members exist.
    pub async fn fill_to_min(self: &Arc<Self>) -> Result<(), PoolError> {
        self.fill_to(self.spec.settings.min_size).await
    }

    /// Create sandboxes in parallel until `target` members (busy and
    /// initializing ones included, capped by `max_size`) exist. Returns the
    /// first creation error, if any.
    pub async fn fill_to(self: &Arc<Self>, target: usize) -> Result<(), PoolError> {
        let mut tasks = Vec::new();
        loop {
            let permit = {
                let mut inner = self.lock();
                inner.warm = true;
                if inner.closed || inner.members() >= target {
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
                let sb = pool.create_counted(Creation::Warm).await?;
                pool.add_idle(sb, Meta::new());
                drop(permit);
                pool.changed.notify_waiters();
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

    /// Like [`Pool::fill_to`], but also waits for creations already in
    /// flight (the prewarm, a refill): returns once `target` members exist
    /// and none is still being created, so they are idle unless in use.
    pub async fn warm_up(self: &Arc<Self>, target: usize) -> Result<(), PoolError> {
        loop {
            self.fill_to(target).await?;
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                {
                    let inner = self.lock();
                    if inner.closed {
                        return Err(self.closed_err());
                    }
                    if inner.initializing == 0 {
                        if inner.members() >= target.min(self.spec.settings.max_size) {
                            return Ok(());
                        }
                        // Someone else's creation failed: ours will retry.
                        break;
                    }
                }
                // The timeout guards against a missed notification.
                let _ = tokio::time::timeout(Duration::from_millis(200), changed).await;
            }
        }
    }

    /// Put a new or checked container into the idle list, keeping the list
    /// ordered by idle time (most recent last); on a closed pool, remove it.
    fn add_idle(self: &Arc<Self>, sb: Sandbox, meta: Meta) {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.closed {
            let why = Retire::Recycle(Removal::Shutdown);
            inner.mark(why);
            drop(inner);
            self.spawn_destroy(sb.id, why);
            return;
        }
        inner.idle.push(Idle {
            sb,
            meta,
            since: now,
            checked: now,
            replacing: false,
        });
    }

    /// Remove a container in the background; the caller has already
    /// counted it with [`Inner::mark`]. Its removal wakes maintenance (to
    /// refill) and drains.
    fn spawn_destroy(self: &Arc<Self>, id: String, why: Retire) {
        let pool = self.clone();
        tokio::spawn(async move {
            if let Err(e) = pool.backend.destroy(&id).await {
                eprintln!("sbx agent: cannot remove container {id}: {e}");
            }
            {
                let mut inner = pool.lock();
                match why {
                    Retire::Recycle(reason) => {
                        inner.removing -= 1;
                        inner.removed += 1;
                        inner.counters.removed(reason, 1);
                    }
                    Retire::Unhealthy => {
                        inner.unhealthy -= 1;
                        inner.removed += 1;
                        inner.counters.removed_by.unhealthy += 1;
                    }
                    Retire::Temporary => {
                        inner.temporary -= 1;
                        inner.temporary_removed += 1;
                    }
                    Retire::Untracked => {}
                }
            }
            pool.wake.notify_one();
            pool.changed.notify_waiters();
        });
    }

    /// The maintenance pause: short enough to honour the tightest limit.
    fn tick(&self) -> Duration {
        [
            self.spec.settings.health_check_interval,
            self.spec.settings.idle_timeout,
            self.spec.settings.max_lifetime,
        ]
        .into_iter()
        .flatten()
        .fold(TICK, Duration::min)
        .max(Duration::from_millis(10))
    }

    /// One maintenance pass (see the module documentation).
    async fn maintain(self: &Arc<Self>) {
        let now = Instant::now();
        let mut doomed = Vec::new();
        let mut checks = Vec::new();
        let mut replace = Vec::new();
        {
            let mut guard = self.lock();
            let inner = &mut *guard;
            if inner.closed {
                return;
            }
            let mut keep = Vec::with_capacity(inner.idle.len());
            for mut it in std::mem::take(&mut inner.idle) {
                let Some(why) = self.retire_idle(&mut it, now) else {
                    keep.push(it);
                    continue;
                };
                inner.mark(why);
                doomed.push((it.sb.id, why));
            }
            inner.idle = keep;

            if let Some(limit) = self.spec.settings.idle_timeout {
                // Least recently used first.
                let mut i = 0;
                while i < inner.idle.len() {
                    let it = &inner.idle[i];
                    if it.replacing || now.duration_since(it.since) < limit {
                        i += 1;
                        continue;
                    }
                    // A container being replaced and its replacement
                    // count once: the pair ends as one.
                    let pending = inner.idle.iter().filter(|it| it.replacing).count();
                    let members = inner.members() - pending;
                    if members > self.spec.settings.min_size {
                        let it = inner.idle.remove(i);
                        let why = Retire::Recycle(Removal::Idle);
                        inner.mark(why);
                        doomed.push((it.sb.id, why));
                        continue;
                    }
                    // At min_size: a fresh container takes its place, made
                    // first when capacity allows so the pool never dips.
                    if inner.members() < self.spec.settings.max_size
                        && let Ok(permit) = self.permits.clone().try_acquire_owned()
                    {
                        inner.idle[i].replacing = true;
                        inner.initializing += 1;
                        replace.push((inner.idle[i].sb.id.clone(), permit));
                        i += 1;
                    } else {
                        let it = inner.idle.remove(i);
                        let why = Retire::Recycle(Removal::Idle);
                        inner.mark(why);
                        doomed.push((it.sb.id, why));
                    }
                }
            }

            if let Some(interval) = self.spec.settings.health_check_interval {
                let mut i = 0;
                while i < inner.idle.len() {
                    if now.duration_since(inner.idle[i].checked) < interval {
                        i += 1;
                        continue;
                    }
                    // Out of the idle list while checked, with a permit so
                    // that capacity stays bounded meanwhile.
                    let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                        break;
                    };
                    let it = inner.idle.remove(i);
                    inner.checking += 1;
                    checks.push((it, permit));
                }
            }
        }
        for (id, why) in doomed {
            self.spawn_destroy(id, why);
        }
        for (old, permit) in replace {
            let pool = self.clone();
            tokio::spawn(async move { pool.replace(old, permit).await });
        }
        let checked = checks.into_iter().map(|(it, permit)| {
            let pool = self.clone();
            async move {
                pool.check(it).await;
                drop(permit);
            }
        });
        futures_util::future::join_all(checked).await;
        self.refill(now);
    }

    /// Create a replacement for the idle container `old`, then retire
    /// `old` if it is still idle (it may have been handed out meanwhile).
    async fn replace(self: Arc<Self>, old: String, permit: OwnedSemaphorePermit) {
        match self.create_counted(Creation::Replacement).await {
            Ok(sb) => {
                self.add_idle(sb, Meta::new());
                let mut inner = self.lock();
                if let Some(i) = inner.idle.iter().position(|it| it.sb.id == old) {
                    let it = inner.idle.remove(i);
                    let why = Retire::Recycle(Removal::Idle);
                    inner.mark(why);
                    drop(inner);
                    self.spawn_destroy(it.sb.id, why);
                }
            }
            Err(e) => {
                eprintln!(
                    "sbx agent: cannot replace an idle container of pool `{}`: {e}",
                    self.spec.name()
                );
                let mut inner = self.lock();
                if let Some(it) = inner.idle.iter_mut().find(|it| it.sb.id == old) {
                    it.replacing = false;
                    it.since = Instant::now();
                }
            }
        }
        drop(permit);
    }

    /// Health check of one idle container taken out of the idle list: the
    /// engine must report it running and the guest must answer a ping.
    async fn check(self: &Arc<Self>, mut it: Idle) {
        let verdict = match self.backend.is_running(&it.sb.id).await {
            Ok(true) => it.sb.guest.ping(PING_TIMEOUT).await,
            Ok(false) => Err("the engine reports it stopped".to_string()),
            Err(e) => Err(e.to_string()),
        };
        let mut inner = self.lock();
        inner.checking -= 1;
        let why = match verdict {
            Ok(()) if !inner.closed => {
                it.checked = Instant::now();
                // Back in its place by idle time, so MRU order holds.
                let at = inner.idle.partition_point(|o| o.since <= it.since);
                inner.idle.insert(at, it);
                return;
            }
            Ok(()) => Retire::Recycle(Removal::Shutdown),
            Err(why) => {
                eprintln!(
                    "sbx agent: container {} of pool `{}` is unhealthy ({why}); replacing it",
                    short(&it.sb.id),
                    self.spec.name()
                );
                Retire::Unhealthy
            }
        };
        inner.mark(why);
        drop(inner);
        self.spawn_destroy(it.sb.id, why);
    }

    /// Start creating what is missing below `min_size`, in the background,
    /// backing off while creations fail.
    fn refill(self: &Arc<Self>, now: Instant) {
        {
            let inner = self.lock();
            if inner.closed
                || !inner.warm
                || inner.members() >= self.spec.settings.min_size
                || inner.refill_after.is_some_and(|t| now < t)
            {
                return;
            }
        }
        let pool = self.clone();
        tokio::spawn(async move {
            let res = pool.fill_to_min().await;
            let mut inner = pool.lock();
            match res {
                Ok(()) => {
                    inner.refill_failures = 0;
                    inner.refill_after = None;
                }
                Err(e) => {
                    inner.refill_failures += 1;
                    let pause = (TICK * 2u32.saturating_pow(inner.refill_failures - 1))
                        .min(REFILL_BACKOFF_MAX);
                    inner.refill_after = Some(Instant::now() + pause);
                    eprintln!(
                        "sbx agent: cannot refill pool `{}` to min_size {}: {e}; retrying in {}",
                        pool.spec.name(),
                        pool.spec.settings.min_size,
                        format_duration(pause)
                    );
                }
            }
        });
    }

    /// Stop taking runs and remove every container once busy runs have
    /// finished; with `force`, cancel busy runs first. Returns how many
    /// containers were removed.
    pub async fn drain(self: &Arc<Self>, force: bool) -> usize {
        let before;
        let idle: Vec<String> = {
            let mut inner = self.lock();
            before = inner.removed + inner.temporary_removed;
            inner.closed = true;
            let ids: Vec<String> = inner.idle.drain(..).map(|it| it.sb.id).collect();
            for _ in &ids {
                inner.mark(Retire::Recycle(Removal::Shutdown));
            }
            ids
        };
        self.permits.close();
        if force {
            let _ = self.cancel.send(true);
        }
        self.backend
            .abandon_starting(&self.sandbox_spec.group)
            .await;
        for id in idle {
            self.spawn_destroy(id, Retire::Recycle(Removal::Shutdown));
        }
        let deadline = force.then(|| Instant::now() + FORCE_GRACE);
        loop {
            let changed = self.changed.notified();
            {
                let inner = self.lock();
                let settled = inner.members() == 0
                    && inner.removing == 0
                    && inner.unhealthy == 0
                    && inner.temporary == 0;
                if settled {
                    return (inner.removed + inner.temporary_removed - before) as usize;
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            // The timeout guards against a missed notification.
            let _ = tokio::time::timeout(Duration::from_millis(200), changed).await;
        }
        self.shut_down().await;
        let inner = self.lock();
        (inner.removed + inner.temporary_removed - before) as usize
    }

    /// Close the pool at once and remove every container it holds, busy
    /// ones included (their runs are cancelled and fail). Waits for the
    /// removals.
    pub async fn shut_down(self: &Arc<Self>) -> usize {
        let ids: Vec<String> = {
            let mut inner = self.lock();
            inner.closed = true;
            let mut ids: Vec<String> = inner.idle.drain(..).map(|it| it.sb.id).collect();
            // Busy ones are forgotten here; their leases remove them again
            // (idempotently) without counting them twice.
            ids.extend(inner.busy.drain());
            inner.removing += ids.len();
            ids
        };
        self.permits.close();
        let _ = self.cancel.send(true);
        let removals = ids.iter().map(|id| self.backend.destroy(id));
        let results = futures_util::future::join_all(removals).await;
        {
            let mut inner = self.lock();
            inner.removing -= ids.len();
            inner.removed += ids.len() as u64;
            inner.counters.removed(Removal::Shutdown, ids.len() as u64);
        }
        self.changed.notify_waiters();
        for (id, r) in ids.iter().zip(results) {
            if let Err(e) = r {
                eprintln!("sbx agent: cannot remove container {id}: {e}");
            }
        }
        ids.len()
    }

    /// The group of this pool's sandboxes ([`SandboxSpec::group`]).
    pub fn group(&self) -> &str {
        &self.sandbox_spec.group
    }

    pub fn stats(&self) -> PoolStats {
        let inner = self.lock();
        let (idle, busy) = (inner.idle.len() + inner.checking, inner.busy.len());
        let (wait, run) = (
            inner.counters.wait.snapshot(),
            inner.counters.run.snapshot(),
        );
        let state_counts = StateCounts {
            initializing: inner.initializing,
            idle,
            busy,
            unhealthy: inner.unhealthy,
            removing: inner.removing,
        };
        let c = &inner.counters;
        let stats = PoolStats {
            name: self.spec.name(),
            id: spec_id(&self.spec),
            // Pools are per language until profiles exist.
            profile: if self.spec.profile.name.is_empty() {
                "default".into()
            } else {
                self.spec.profile.name.clone()
            },
            backend: self.backend.name().into(),
            image: self.spec.image.clone(),
            lang: self.spec.lang.clone(),
            total_size: inner.members(),
            max_size: self.spec.settings.max_size,
            min_size: self.spec.settings.min_size,
            state_counts,
            initializing: inner.initializing,
            idle,
            busy,
            unhealthy: inner.unhealthy,
            removing: inner.removing,
            temporary: inner.temporary,
            utilization: busy as f64 / self.spec.settings.max_size.max(1) as f64,
            exhaustion: self.spec.settings.exhaustion.as_str().into(),
            start_time_seconds: self
                .started
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            runs: inner.runs,
            timeouts: c.timeouts,
            waited: c.waited,
            exhausted: c.exhausted,
            wait_seconds: Default::default(),
            run_seconds: Default::default(),
            created: inner.created,
            created_by_reason: c.created_by,
            removed: inner.removed,
            removed_by_reason: c.removed_by,
            temporary_created: inner.temporary_created,
            temporary_removed: inner.temporary_removed,
            unhealthy_total: inner.unhealthy_total,
            closed: inner.closed,
            // Known to the agent, which holds the sessions.
            sessions: 0,
            limits_unapplied: false,
            limits_per_process: false,
            warm_interpreter: if crate::lang::by_name(&self.spec.lang)
                .is_some_and(|l| l.warm_interpreter().is_some())
            {
                crate::model::run::WarmInterpreter::describe(
                    self.spec.profile.warm_interpreter.as_ref(),
                )
            } else {
                String::new()
            },
        };
        drop(inner);
        // Sorting the samples happens outside the lock.
        PoolStats {
            wait_seconds: wait.latency(),
            run_seconds: run.latency(),
            ..stats
        }
    }
}

/// A short id that stays the same for the same settings (across agent
/// restarts too): FNV-1a of the pool's specification.
fn spec_id(spec: &PoolSpec) -> String {
    let text = serde_json::to_string(spec).unwrap_or_default();
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{:08x}", hash >> 32)
}

impl Meta {
    fn new() -> Meta {
        Meta {
            born: Instant::now(),
            uses: 0,
        }
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The maintenance loop of one pool; ends when the pool closes or is gone.
async fn maintenance(pool: Weak<Pool>) {
    if let Some(p) = pool.upgrade()
        && p.spec.settings.prewarm
    {
        p.refill(Instant::now());
    }
    loop {
        let Some(p) = pool.upgrade() else { return };
        if p.lock().closed {
            return;
        }
        let tick = p.tick();
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = p.wake.notified() => {}
        }
        p.maintain().await;
    }
}

/// Resolves when the run holding a lease must stop (`pool down --force`,
/// agent shutdown).
pub struct CancelSignal(watch::Receiver<bool>);

impl CancelSignal {
    pub async fn cancelled(&mut self) {
        // An error means the pool is gone, which also ends the run.
        let _ = self.0.wait_for(|c| *c).await;
    }
}

/// A container whose stream ended while idle: someone removed it, or the
/// engine restarted. Worth a line in the agent log (stderr is a file, not
/// I/O on the engine, so writing it under the state lock is harmless).
fn log_gone(id: &str, pool: &str) {
    let short: String = id.chars().take(12).collect();
    eprintln!(
        "sbx agent: container {short} of pool `{pool}` is gone (engine restarted or container removed); replacing it"
    );
}

/// Exclusive use of one sandbox. Dropping it always gives the capacity back:
/// the sandbox returns to the idle list if it was released clean and is
/// not expired, otherwise it is removed. A run that fails half-way can
/// therefore never leak a container as busy.
pub struct Lease {
    pool: Arc<Pool>,
    sandbox: Option<Sandbox>,
    meta: Meta,
    /// `None` for a temporary container, which holds no capacity.
    permit: Option<OwnedSemaphorePermit>,
    reusable: bool,
    /// Served its one run (`isolation = "container"`): replace it.
    used_up: bool,
    finishing: bool,
    /// How long the run took and whether it timed out, counted on release.
    run: Option<(Duration, bool)>,
}

impl Lease {
    fn new(
        pool: Arc<Pool>,
        sandbox: Sandbox,
        meta: Meta,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Lease {
        Lease {
            pool,
            sandbox: Some(sandbox),
            meta,
            permit,
            reusable: false,
            used_up: false,
            finishing: false,
            run: None,
        }
    }

    pub fn sandbox(&mut self) -> &mut Sandbox {
        self.sandbox.as_mut().expect("sandbox present until drop")
    }

    /// Its pool takes no more runs (drained or shut down).
    pub fn pool_closed(&self) -> bool {
        self.pool.lock().closed
    }

    /// An overflow container outside `max_size` (`exhaustion = "temporary"`).
    pub fn is_temporary(&self) -> bool {
        self.permit.is_none()
    }

    pub fn cancel_signal(&self) -> CancelSignal {
        CancelSignal(self.pool.cancel.subscribe())
    }

    /// The sandbox serves one run only (`isolation = "container"`): no
    /// clean-up of it is worth waiting for.
    pub fn single_use(&self) -> bool {
        self.pool.spec.isolation.mode == IsolationMode::Container
    }

    /// The run is over and the sandbox is cleaning up: it will be back in
    /// moments, so a caller finding nothing idle waits for it a little
    /// instead of creating a container.
    pub fn finishing(&mut self) {
        if !self.finishing && self.permit.is_some() {
            self.finishing = true;
            self.pool.lock().finishing += 1;
        }
    }

    /// How long the program ran and whether it was killed for its
    /// timeout; counted with the run when the lease is released.
    pub fn record_run(&mut self, duration: Duration, timed_out: bool) {
        self.run = Some((duration, timed_out));
    }

    /// Count the recorded run now, keeping the sandbox (a session's run:
    /// the lease outlives it).
    pub fn count_run(&mut self) {
        {
            let mut inner = self.pool.lock();
            inner.runs += 1;
            if let Some((took, timed_out)) = self.run.take() {
                inner.counters.run.observe(took);
                inner.counters.timeouts += u64::from(timed_out);
            }
        }
        self.meta.uses += 1;
    }

    /// Count a completed run and give the sandbox back; `clean` says whether
    /// the guest proved it pristine (otherwise it is recycled). With
    /// `isolation = "container"` it is removed regardless, and a fresh one
    /// takes its place in the background.
    pub fn release(mut self, clean: bool) {
        self.count_run();
        self.give_back(clean);
    }

    /// Give the sandbox back without counting a run (a session's end: its
    /// runs were counted as they ended).
    pub fn give_back(mut self, clean: bool) {
        self.used_up = self.pool.spec.isolation.mode == IsolationMode::Container;
        self.reusable = clean && !self.used_up;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut sb) = self.sandbox.take() else {
            return;
        };
        let pool = self.pool.clone();
        let Some(permit) = self.permit.take() else {
            pool.spawn_destroy(sb.id, Retire::Temporary);
            return;
        };
        let now = Instant::now();
        let mut inner = pool.lock();
        if self.finishing {
            inner.finishing -= 1;
        }
        // Counted before it leaves: a replacement restores this many.
        let members = inner.members();
        let member = inner.busy.remove(&sb.id);
        let replace = member && self.used_up && !inner.closed;
        let why = if !member {
            Some(Retire::Untracked)
        } else if inner.closed {
            Some(Retire::Recycle(Removal::Shutdown))
        } else if self.used_up {
            // `isolation = "container"`: it served its one run.
            Some(Retire::Recycle(Removal::Uses))
        } else if !self.reusable && !sb.guest.is_alive() {
            Some(Retire::Unhealthy)
        } else if !self.reusable {
            // Dirty after its run, or its run failed half-way.
            Some(Retire::Recycle(Removal::Error))
        } else {
            pool.expiry(&self.meta, now).map(Retire::Recycle)
        };
        if let Some(why) = why {
            inner.mark(why);
            drop(inner);
            pool.spawn_destroy(sb.id, why);
        } else {
            inner.idle.push(Idle {
                sb,
                meta: self.meta,
                since: now,
                // The guest just proved itself clean: as good as a check.
                checked: now,
                replacing: false,
            });
            drop(inner);
        }
        // The permit goes last, after the sandbox is back in the idle list,
        // so the waiter it wakes finds it there.
        drop(permit);
        pool.changed.notify_waiters();
        if replace {
            // Warm latency holds while the pool is not saturated: the next
            // run finds this one's successor ready. A waiter that took the
            // permit first creates its own container instead, and this
            // replacement then finds no room.
            tokio::spawn(async move {
                if let Err(e) = pool.fill_to(members).await {
                    eprintln!(
                        "sbx agent: cannot replace a used container of pool `{}`: {e}",
                        pool.spec.name()
                    );
                }
            });
        }
    }
}

#[cfg(test)]
mod tests;
