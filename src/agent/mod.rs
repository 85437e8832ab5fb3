//! The per-user agent: holds the pools and serves clients on a local socket.
//!
//! Start-up, in order: make sure the runtime directory is ours; read the
//! agent's settings from the environment; take the agent lock (an `flock`
//! held while the agent owns the socket, so two agents can never serve one
//! directory, and a socket file left by a dead agent can be replaced
//! safely); connect to the engine; remove containers that crashed
//! predecessors of this directory left behind (an instance that is still
//! alive and draining is left alone); bind the socket. Any failure is
//! printed to stderr (the agent log) as one line, where the spawning client
//! reads it.
//!
//! Shutdown comes in two speeds. `sbx pool down` removes everything at once.
//! SIGTERM, SIGINT, `sbx agent stop` and a client of a newer protocol
//! version *drain*: the agent gives up its socket and lock at once (a new
//! agent may start right away), lets running requests finish for up to the
//! drain timeout (a second signal cuts that short), then removes its own
//! containers and exits. An agent whose pools were not brought up explicitly
//! exits the same way after a configurable idle time.
//!
//! If the engine goes away (a Docker restart), the agent keeps running: it
//! logs the outage, containers whose streams closed are discovered when they
//! would be handed out, replaced, and runs resume once the engine is back.

mod conn;
mod pools;
mod pull;
mod run;
mod session;
mod status;
mod stop;

use crate::backend::docker::DockerBackend;
use crate::backend::{Backend, LABEL_INSTANCE};
use crate::model::target::{BACKEND_ENV, CONTEXT_ENV, EngineKind, NAMESPACE_ENV, Target};
use crate::paths::{RuntimePaths, lock_file};
use crate::pool::{Lease, Pool, PoolError};
use crate::protocol::{PoolSpec, protocol_version};
use anyhow::{Context, bail};
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

pub struct Agent {
    pub backend: Arc<dyn Backend>,
    pub paths: RuntimePaths,
    pub agent_id: String,
    instance: String,
    pools: Mutex<HashMap<PoolSpec, Arc<Pool>>>,
    shutdown: watch::Sender<bool>,
    pub settings: Settings,
    started: Instant,
    activity: Mutex<Activity>,
    activity_changed: Notify,
    /// Set by `sbx pool up`: the user wants this agent kept warm.
    pinned: AtomicBool,
    engine_ok: AtomicBool,
    /// Asked to stop (drain), by a client or a signal.
    stop: watch::Sender<bool>,
    /// The socket and lock have been given up.
    released: watch::Sender<bool>,
    /// Everything is removed: how many containers that took.
    finished: watch::Sender<Option<usize>>,
    /// One library build per derived image at a time: a second pool or run
    /// asking for it waits, then finds it built.
    builds: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// `--no-pool` runs in progress (they belong to no pool).
    pub fresh: run::FreshRuns,
    /// Image pulls, shared by the clients that need one image.
    pulls: pull::Pulls,
    /// Open sessions, each holding a container of its pool.
    pub sessions: session::Sessions,
}

/// The agent's own settings, read from the environment at start-up (a bad
/// value stops the start-up with a message naming the variable).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `SBX_AGENT_IDLE_EXIT`: exit after this long without clients, unless
    /// pools were brought up explicitly. `None` (`never`/`0`) disables it.
    pub idle_exit: Option<Duration>,
    /// `SBX_AGENT_DRAIN_TIMEOUT`: how long a stopping agent waits for runs.
    pub drain_timeout: Duration,
    /// `SBX_AGENT_LOG_MAX` (bytes): the log is rotated past this size.
    pub log_max: u64,
    /// The engine it drives: `SBX_BACKEND`, `SBX_KUBE_CONTEXT` and
    /// `SBX_KUBE_NAMESPACE` as the client that spawned it set them (see
    /// `Target::agent_env`); detected when started without them.
    pub target: Target,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        fn duration(name: &str, default: Duration) -> anyhow::Result<Option<Duration>> {
            match std::env::var(name) {
                Err(_) => Ok(Some(default)),
                Ok(v) if matches!(v.trim(), "0" | "never" | "none" | "off") => Ok(None),
                Ok(v) => crate::model::units::parse_duration(&v)
                    .map(Some)
                    .map_err(|e| anyhow::anyhow!("invalid {name}: {e}; fix or unset it")),
            }
        }
        let drain_timeout =
            duration("SBX_AGENT_DRAIN_TIMEOUT", Duration::from_secs(30))?.unwrap_or(Duration::ZERO);
        let log_max = match std::env::var("SBX_AGENT_LOG_MAX") {
            Err(_) => 4 << 20,
            Ok(v) => v.trim().parse::<u64>().map_err(|_| {
                anyhow::anyhow!("invalid SBX_AGENT_LOG_MAX `{v}`: expected a size in bytes")
            })?,
        };
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let engine = EngineKind::parse(var(BACKEND_ENV).as_deref())
            .map_err(|e| anyhow::anyhow!("invalid {BACKEND_ENV}: {e}"))?
            .unwrap_or_else(crate::backend::detect);
        let target = Target {
            engine,
            context: var(CONTEXT_ENV).filter(|_| engine == EngineKind::Kubernetes),
            namespace: var(NAMESPACE_ENV).filter(|_| engine == EngineKind::Kubernetes),
        };
        Ok(Settings {
            target,
            idle_exit: duration("SBX_AGENT_IDLE_EXIT", Duration::from_secs(15 * 60))?,
            drain_timeout,
            log_max,
        })
    }
}

struct Activity {
    /// Open client connections.
    connections: usize,
    /// Connections doing work that a drain waits for (runs, pool ups).
    busy: usize,
    last: Instant,
}

/// Held by each client connection; counts it for idle exit and draining.
pub struct ConnGuard {
    agent: Arc<Agent>,
    busy: bool,
    observer: bool,
}

impl ConnGuard {
    /// This connection does work a drain must wait for.
    pub fn mark_busy(&mut self) {
        if !self.busy {
            self.busy = true;
            self.agent.activity().busy += 1;
        }
    }

    /// This connection only looks (`pool stats`): it does not count as use
    /// for the idle exit, so watching an agent does not keep it alive.
    pub fn mark_observer(&mut self) {
        self.observer = true;
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut a = self.agent.activity();
        a.connections -= 1;
        if self.busy {
            a.busy -= 1;
        }
        if !self.observer {
            a.last = Instant::now();
        }
        drop(a);
        self.agent.activity_changed.notify_waiters();
    }
}

impl Agent {
    /// An agent driving `backend`, holding nothing yet. `serve` adds the
    /// socket, the lock and the maintenance loops; unit tests use it as it
    /// is, with the in-memory backend.
    pub fn new(backend: Arc<dyn Backend>, paths: RuntimePaths, settings: Settings) -> Arc<Agent> {
        Arc::new(Agent {
            backend,
            agent_id: paths.agent_id(),
            paths,
            instance: instance_id(std::process::id()),
            pools: Mutex::new(HashMap::new()),
            shutdown: watch::channel(false).0,
            settings,
            started: Instant::now(),
            activity: Mutex::new(Activity {
                connections: 0,
                busy: 0,
                last: Instant::now(),
            }),
            activity_changed: Notify::new(),
            pinned: AtomicBool::new(false),
            engine_ok: AtomicBool::new(true),
            stop: watch::channel(false).0,
            released: watch::channel(false).0,
            finished: watch::channel(None).0,
            builds: Mutex::new(HashMap::new()),
            fresh: run::FreshRuns::new(),
            pulls: Default::default(),
            sessions: Default::default(),
        })
    }

    /// Labels shared by everything this agent creates.
    fn base_labels(&self) -> Vec<(String, String)> {
        crate::backend::sandbox_labels(&self.agent_id, None, None)
    }

    /// The pool for `spec`, created on first use with its maintenance
    /// running (and, with prewarm, filling to `min_size` in the background).
    ///
    /// A pool of the same name made from an older version of the config
    /// file (another `config_hash`) is retired here: it leaves the map at
    /// once, so nothing new goes to it, and drains in the background, so
    /// runs already on its containers finish there.
    pub fn pool(self: &Arc<Self>, spec: &PoolSpec) -> Arc<Pool> {
        self.pool_with_image(spec, spec.image.clone())
    }

    /// [`Agent::pool`] whose containers run `image` (a derived image with
    /// the profile's libraries) instead of the spec's base image.
    pub fn pool_with_image(self: &Arc<Self>, spec: &PoolSpec, image: String) -> Arc<Pool> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pools.get(spec) {
            return p.clone();
        }
        let stale: Vec<PoolSpec> = pools
            .keys()
            .filter(|k| k.same_identity(spec) && k.profile.config_hash != spec.profile.config_hash)
            .cloned()
            .collect();
        for key in stale {
            if let Some(old) = pools.remove(&key) {
                eprintln!(
                    "sbx agent: the config of pool `{}` changed; draining its old containers",
                    key.name()
                );
                tokio::spawn(async move {
                    let n = old.drain(false).await;
                    eprintln!(
                        "sbx agent: old pool `{}` drained ({n} container(s) removed)",
                        old.spec.name()
                    );
                });
            }
        }
        let labels = self.sandbox_labels(&spec.name());
        let mut pool_spec = spec.clone();
        pool_spec.image = image;
        let pool = Pool::start(pool_spec, self.backend.clone(), labels);
        pools.insert(spec.clone(), pool.clone());
        pool
    }

    /// Whether the pool for `spec` exists already (its image is then there:
    /// nothing to pull).
    /// Every pool's figures, with the sessions holding its containers
    /// (which only the agent knows).
    pub fn pool_stats(&self) -> Vec<crate::protocol::PoolStats> {
        self.all_pools()
            .iter()
            .map(|p| {
                let mut s = p.stats();
                s.sessions = self.sessions.count_in(p);
                s.limits_unapplied =
                    p.spec.isolation.allow_unlimited && self.backend.limits_unapplied();
                s.limits_per_process = self.backend.limits_per_process();
                s
            })
            .collect()
    }

    pub fn has_pool(&self, spec: &PoolSpec) -> bool {
        self.pools
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(spec)
    }

    /// The pool for `spec` with its image prepared first: a profile's
    /// libraries are built into a derived image once (build progress goes
    /// to `events`), or the existing image reused. A failed build fails
    /// here, before any container exists.
    pub async fn pool_prepared(
        self: &Arc<Self>,
        spec: &PoolSpec,
        events: tokio::sync::mpsc::UnboundedSender<crate::libraries::BuildEvent>,
    ) -> Result<Arc<Pool>, crate::backend::BackendError> {
        let existing = {
            let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
            pools.get(spec).cloned()
        };
        if let Some(p) = existing {
            return Ok(p);
        }
        if spec.profile.libraries.is_empty() {
            return Ok(self.pool(spec));
        }
        let ca_bundle = match &spec.profile.ca_bundle {
            None => None,
            Some(path) => Some(tokio::fs::read(path).await.map_err(|e| {
                crate::backend::BackendError::Engine {
                    action: format!(
                        "read the CA bundle {} for the library install",
                        path.display()
                    ),
                    reason: format!("{e}; fix ca_bundle in the profile's [build] table"),
                }
            })?),
        };
        let build = crate::libraries::ImageBuild {
            base: spec.image.clone(),
            lang: spec.lang.clone(),
            libraries: spec.profile.libraries.clone(),
            ca_bundle,
            env: spec.profile.build_env.clone(),
            network: spec.profile.build_network.clone(),
            pool: spec.name(),
        };
        let key = format!(
            "{}\0{}\0{}",
            build.base,
            build.lang,
            build.libraries.join("\0")
        );
        let lock = {
            let mut builds = self.builds.lock().unwrap_or_else(|e| e.into_inner());
            builds.entry(key).or_default().clone()
        };
        let image = {
            let _one_at_a_time = lock.lock().await;
            self.backend.prepare_image(&build, events).await?
        };
        Ok(self.pool_with_image(spec, image))
    }

    /// Remove the pools whose spec matches `which` from the agent and hand
    /// them over (to be drained).
    pub fn take_pools(&self, which: impl Fn(&PoolSpec) -> bool) -> Vec<Arc<Pool>> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<PoolSpec> = pools.keys().filter(|k| which(k)).cloned().collect();
        keys.iter().filter_map(|k| pools.remove(k)).collect()
    }

    /// Labels of a container this agent creates for `pool` (a pool's
    /// name, or what a `--no-pool` run's container is called instead).
    pub fn sandbox_labels(&self, pool: &str) -> Vec<(String, String)> {
        crate::backend::sandbox_labels(&self.agent_id, Some(pool), Some(&self.instance))
    }

    /// A client that asks for another engine than the one this agent drives
    /// gets told so instead of being served by the wrong engine.
    pub fn check_backend(&self, spec: &PoolSpec) -> Result<(), String> {
        if spec.backend == self.backend.name() {
            return match self.backend.mismatch(spec.kubernetes.as_ref()) {
                Some(why) => Err(why),
                None => Ok(()),
            };
        }
        Err(format!(
            "the running agent uses {}, but this command asks for {}; run `sbx agent stop` and retry (or use --backend {})",
            self.backend.name(),
            spec.backend,
            self.backend.name()
        ))
    }

    pub fn all_pools(&self) -> Vec<Arc<Pool>> {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.values().cloned().collect()
    }

    pub fn request_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    fn activity(&self) -> std::sync::MutexGuard<'_, Activity> {
        self.activity.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count a new client connection until the guard drops.
    pub fn enter(self: &Arc<Self>) -> ConnGuard {
        let mut a = self.activity();
        // Idle time restarts when a connection that was a use ends (while
        // one is open the agent is not idle anyway).
        a.connections += 1;
        ConnGuard {
            agent: self.clone(),
            busy: false,
            observer: false,
        }
    }

    pub fn pin(&self) {
        self.pinned.store(true, Ordering::Relaxed);
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Ask the agent to drain and stop; see the module comment.
    pub fn request_stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Wait until the agent has given up its socket and lock.
    pub async fn released(&self) {
        let mut rx = self.released.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// Wait until the agent has removed everything; returns how many
    /// containers that was.
    pub async fn finished(&self) -> usize {
        let mut rx = self.finished.subscribe();
        let n = rx.wait_for(|f| f.is_some()).await.map(|f| *f);
        n.ok().flatten().unwrap_or(0)
    }

    /// How long no client has been connected, or `None` while one is.
    fn idle_for(&self) -> Option<Duration> {
        let a = self.activity();
        (a.connections == 0).then(|| a.last.elapsed())
    }

    /// Wait (up to `limit`) until no connection has work a drain waits for.
    /// Returns how many were still busy when it gave up.
    async fn wait_until_quiet(&self, limit: Duration, busy_only: bool) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.activity_changed.notified();
            let n = {
                let a = self.activity();
                if busy_only { a.busy } else { a.connections }
            };
            if n == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return n;
            }
        }
    }

    /// Lease a sandbox from `pool`, skipping sandboxes whose container is
    /// already known to be gone (the engine restarted, or someone removed
    /// it): those are replaced, and the run goes ahead on a live one.
    pub async fn acquire_live(&self, pool: &Arc<Pool>) -> Result<Lease, PoolError> {
        let mut lost = 0usize;
        loop {
            let mut lease = match pool.acquire().await {
                Ok(lease) => lease,
                // A failure to create is most often the engine being away
                // (restarting); say so, with what to do, rather than the
                // HTTP client's words.
                Err(PoolError::Backend(e)) => match self.backend.ping().await {
                    Err(unreachable) => return Err(PoolError::Backend(unreachable)),
                    Ok(()) => return Err(PoolError::Backend(e)),
                },
                Err(e) => return Err(e),
            };
            if lease.sandbox().guest.is_alive() {
                if lost > 0 {
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        if let Err(e) = pool.fill_to_min().await {
                            eprintln!("sbx agent: cannot refill pool `{}`: {e}", pool.spec.name());
                        }
                    });
                }
                return Ok(lease);
            }
            lost += 1;
            let id: String = lease.sandbox().id.chars().take(12).collect();
            eprintln!(
                "sbx agent: container {id} of pool `{}` is gone (engine restarted or container removed); replacing it",
                pool.spec.name()
            );
            // Dropped unreleased: the pool forgets it and frees its slot.
            drop(lease);
            if lost > 256 {
                return Err(PoolError::Backend(crate::backend::BackendError::Engine {
                    action: "find a live container".into(),
                    reason: format!("{lost} containers in a row were gone"),
                }));
            }
        }
    }

    /// Remove every container of this agent: the pools' own, then anything
    /// else carrying our labels (e.g. a creation that was in flight).
    pub async fn remove_everything(&self) -> usize {
        // Sessions first: their containers are removed with the pools.
        self.sessions.abandon_all("the agent stopped");
        let pools = self.all_pools();
        let mut removed = 0;
        for p in &pools {
            removed += p.shut_down().await;
        }
        // Only our own instance: after a drain handed the directory over, a
        // successor's containers carry the same agent label.
        let mut labels = self.base_labels();
        labels.push((LABEL_INSTANCE.into(), self.instance.clone()));
        match self.backend.remove_labelled(&labels, None).await {
            Ok(n) => removed += n,
            Err(e) => eprintln!("sbx agent: final sweep failed: {e}"),
        }
        removed
    }
}

/// `sbx agent serve`: run the agent in the foreground until shut down.
pub fn serve(paths: RuntimePaths) -> i32 {
    crate::verbose::set_agent();
    // A long-lived process that mostly waits: glibc's default of up to
    // eight malloc arenas per core keeps, in every arena a thread ever
    // used, the memory freed there; two arenas serve two workers.
    // SAFETY: called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Blocking threads only read files and resolve names here; each
        // one that lingers holds its stack and arena.
        .max_blocking_threads(16)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sbx agent: cannot start the async runtime: {e}");
            return 125;
        }
    };
    match rt.block_on(serve_async(paths)) {
        Ok(()) => 0,
        Err(e) => {
            // One line: the spawning client shows the last line of the log.
            eprintln!("sbx agent: {e:#}");
            125
        }
    }
}

/// Why the serving loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// `sbx pool down`: everything was already removed.
    Now,
    /// Stop request or signal: let running requests finish first.
    Drain,
    /// Nobody used the agent for the idle-exit time.
    Idle,
}

async fn serve_async(paths: RuntimePaths) -> anyhow::Result<()> {
    paths.ensure()?;
    let settings = Settings::from_env()?;
    // A predecessor that is handing the directory over removes its socket
    // just before it drops the lock: give it a moment.
    let waited = Instant::now();
    let lock = loop {
        let lock = lock_file(&paths.agent_lock(), false)
            .with_context(|| format!("cannot open {}", paths.agent_lock().display()))?;
        match lock {
            Some(l) => break l,
            None if waited.elapsed() < Duration::from_secs(3) => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            None => bail!(
                "another sbx agent is already serving {} (see `sbx agent status`)",
                paths.dir.display()
            ),
        }
    };
    let mut lock = Some(lock);
    if let Some(l) = lock.as_mut() {
        l.set_len(0)?;
        writeln!(l, "{}", std::process::id())?;
    }

    DockerBackend::check_guest()?;
    let backend: Arc<dyn Backend> = crate::backend::connect(&settings.target).await?;
    let agent = Agent::new(backend, paths.clone(), settings);
    let mut shutdown_rx = agent.shutdown.subscribe();
    let mut stop_rx = agent.stop.subscribe();

    reap_predecessors(&agent).await?;
    // Off the start-up path: what older builds left is no hurry.
    tokio::spawn({
        let backend = agent.backend.clone();
        async move { log_outdated_removed(backend.remove_outdated().await) }
    });

    let sock = paths.socket();
    // Safe: we hold the agent lock, so no live agent owns this file.
    match std::fs::remove_file(&sock) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("cannot remove stale socket {}: {e}", sock.display()),
    }
    let name = sock
        .as_path()
        .to_fs_name::<GenericFilePath>()
        .with_context(|| format!("invalid socket path {}", sock.display()))?;
    // Owner-only even if the directory's mode is ever loosened; peer
    // credentials are checked on every connection as well.
    let listener = ListenerOptions::new()
        .name(name)
        .mode(0o600)
        .create_tokio()
        .with_context(|| format!("cannot listen on {}", sock.display()))?;
    eprintln!(
        "sbx agent: pid {} (sbx {}, protocol {}) serving {} with {} since {}",
        std::process::id(),
        env!("CARGO_PKG_VERSION"),
        protocol_version(),
        sock.display(),
        agent.backend.describe(),
        utc_now()
    );

    tokio::spawn(watch_engine(agent.clone()));
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut log_checked = Instant::now();
    let exit = loop {
        tokio::select! {
            conn = listener.accept() => match conn {
                Ok(stream) => {
                    let agent = agent.clone();
                    tokio::spawn(async move { conn::handle(agent, stream).await });
                }
                Err(e) => {
                    eprintln!("sbx agent: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown_rx.changed() => break Exit::Now,
            _ = stop_rx.changed() => break Exit::Drain,
            _ = sigterm.recv() => {
                eprintln!("sbx agent: SIGTERM received");
                break Exit::Drain;
            }
            _ = sigint.recv() => {
                eprintln!("sbx agent: SIGINT received");
                break Exit::Drain;
            }
            _ = tick.tick() => {
                if let Some(limit) = agent.settings.idle_exit {
                    let idle = agent.idle_for();
                    // An open session is a use: it ends on its own timeouts.
                    if !agent.pinned.load(Ordering::Relaxed)
                        && agent.sessions.is_empty()
                        && idle.is_some_and(|d| d >= limit)
                    {
                        break Exit::Idle;
                    }
                }
                if log_checked.elapsed() >= Duration::from_secs(30) {
                    log_checked = Instant::now();
                    rotate_own_log(&paths, agent.settings.log_max);
                }
            }
        }
    };

    // Stop taking clients first so nobody starts a run on a closing pool,
    // then hand the directory over: a new agent may start while we drain.
    drop(listener);
    let _ = std::fs::remove_file(&sock);
    drop(lock.take());
    agent.released.send_replace(true);

    match exit {
        Exit::Drain => {
            let limit = agent.settings.drain_timeout;
            let busy = agent.activity().busy;
            if busy > 0 {
                eprintln!(
                    "sbx agent: stopping; waiting up to {limit:?} for {busy} running request(s)"
                );
            } else {
                eprintln!("sbx agent: stopping");
            }
            let left = tokio::select! {
                n = agent.wait_until_quiet(limit, true) => n,
                _ = sigterm.recv() => usize::MAX,
                _ = sigint.recv() => usize::MAX,
            };
            match left {
                0 => {}
                usize::MAX => eprintln!("sbx agent: second signal: not waiting any longer"),
                n => eprintln!("sbx agent: {n} request(s) still running after {limit:?}; cut off"),
            }
        }
        Exit::Idle => eprintln!(
            "sbx agent: unused for {:?} and no pool brought up explicitly; exiting (SBX_AGENT_IDLE_EXIT)",
            agent.settings.idle_exit.unwrap_or_default()
        ),
        Exit::Now => {}
    }
    let removed = agent.remove_everything().await;
    agent.finished.send_replace(Some(removed));
    // Let a waiting `sbx agent stop` receive its answer before we exit.
    agent.wait_until_quiet(Duration::from_secs(2), false).await;
    eprintln!("sbx agent: removed {removed} container(s); exiting");
    Ok(())
}

/// Say in the log what `Backend::remove_outdated` removed.
pub fn log_outdated_removed(removed: Vec<String>) {
    if !removed.is_empty() {
        eprintln!(
            "sbx agent: removed what older builds of sbx left and nothing uses: {}",
            removed.join(", ")
        );
    }
}

/// Remove containers of crashed predecessors of this directory. A
/// predecessor that is still alive is draining after handing the directory
/// over and removes its own when done.
async fn reap_predecessors(agent: &Agent) -> anyhow::Result<()> {
    let base = agent.base_labels();
    let mut reaped = 0;
    for instance in agent.backend.list_instances(&base).await? {
        if instance == agent.instance || instance_alive(&instance) {
            continue;
        }
        let mut labels = base.clone();
        labels.push((LABEL_INSTANCE.into(), instance));
        reaped += agent.backend.remove_labelled(&labels, None).await?;
    }
    if reaped > 0 {
        eprintln!("sbx agent: removed {reaped} container(s) left by a previous agent");
    }
    Ok(())
}

/// Check the engine every few seconds so an outage (a Docker restart) is
/// noticed and logged, and pools are refilled once it is back.
async fn watch_engine(agent: Arc<Agent>) {
    let mut down_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        match agent.backend.ping().await {
            Ok(()) => {
                agent.engine_ok.store(true, Ordering::Relaxed);
                if let Some(t) = down_since.take() {
                    eprintln!(
                        "sbx agent: the container engine is back after {:?}; replacing lost containers",
                        t.elapsed()
                    );
                    for pool in agent.all_pools() {
                        tokio::spawn(async move {
                            if let Err(e) = pool.fill_to_min().await {
                                eprintln!(
                                    "sbx agent: cannot refill pool `{}`: {e}",
                                    pool.spec.name()
                                );
                            }
                        });
                    }
                }
            }
            Err(e) => {
                agent.engine_ok.store(false, Ordering::Relaxed);
                if down_since.is_none() {
                    down_since = Some(Instant::now());
                    eprintln!("sbx agent: {e}; runs will fail until it is back");
                }
            }
        }
    }
}

/// `pid-starttime`: unique for the machine's uptime, and checkable from the
/// outside, unlike a pid alone (which gets reused).
fn instance_id(pid: u32) -> String {
    match proc_start_time(pid) {
        Some(t) => format!("{pid}-{t}"),
        None => format!("{pid}-x{}", utc_now().replace([' ', ':', '-'], "")),
    }
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks
/// since boot.
/// A dead process that was not reaped yet (a zombie) has none.
fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it don't.
    let rest = stat.rsplit_once(") ")?.1;
    let mut fields = rest.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X")) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

fn instance_alive(instance: &str) -> bool {
    let Some((pid, start)) = instance.split_once('-') else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    proc_start_time(pid) == Some(start)
}

/// Rotate the log when the agent's stderr is that log (it was spawned by a
/// client) and it has grown too big: rename it and point stderr at a fresh
/// file, so every later message lands in the new one.
fn rotate_own_log(paths: &RuntimePaths, limit: u64) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    let Ok(log_meta) = std::fs::metadata(paths.log()) else {
        return;
    };
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(2, &mut st) } != 0
        || st.st_dev != log_meta.dev()
        || st.st_ino != log_meta.ino()
    {
        return;
    }
    match paths.rotate_log(limit) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            eprintln!("sbx agent: cannot rotate {}: {e}", paths.log().display());
            return;
        }
    }
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.log())
    {
        Ok(f) => {
            unsafe { libc::dup2(f.as_raw_fd(), 2) };
            eprintln!(
                "sbx agent: log rotated at {} (previous: {})",
                utc_now(),
                paths.old_log().display()
            );
        }
        Err(e) => eprintln!("sbx agent: cannot reopen {}: {e}", paths.log().display()),
    }
}

/// The current time as `YYYY-MM-DD HH:MM:SS UTC`, for the log.
pub fn utc_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_under_its_instance_id_and_a_stale_id_is_not() {
        let me = instance_id(std::process::id());
        assert!(instance_alive(&me), "{me}");
        let (pid, start) = me.split_once('-').unwrap();
        let older = format!("{pid}-{}", start.parse::<u64>().unwrap() + 1);
        assert!(!instance_alive(&older), "same pid, other start time");
        assert!(!instance_alive("garbage"));
    }

    #[test]
    fn timestamps_are_civil_utc() {
        let t = utc_now();
        assert_eq!(t.len(), "2026-11-28 10:27:02 UTC".len(), "{t}");
        assert!(t.starts_with("20"), "{t}");
    }

    /// Request handlers that answer once return their answer, so they are
    /// specified here against the in-memory backend, without a socket.
    mod handlers {
        use super::super::{Agent, Settings, pools, session, status, stop};
        use crate::backend::memory::MemoryBackend;
        use crate::model::target::{EngineKind, Target};
        use crate::paths::RuntimePaths;
        use crate::protocol::{ErrorKind, SessionStart};
        use crate::protocol::{PoolSpec, Response};
        use std::sync::Arc;
        use std::time::Duration;

        fn agent(name: &str) -> (Arc<Agent>, Arc<MemoryBackend>) {
            let dir = std::env::temp_dir().join(format!("sbx-agent-{}-{name}", std::process::id()));
            let backend = MemoryBackend::with_delays(Duration::ZERO, Duration::ZERO);
            let settings = Settings {
                idle_exit: None,
                drain_timeout: Duration::from_secs(1),
                log_max: 1 << 20,
                target: Target::engine(EngineKind::Docker),
            };
            (
                Agent::new(backend.clone(), RuntimePaths::at(dir), settings),
                backend,
            )
        }

        fn spec(profile: &str, lang: &str) -> PoolSpec {
            let mut s = PoolSpec {
                backend: "memory".into(),
                lang: lang.into(),
                image: "img".into(),
                settings: Default::default(),
                profile: Default::default(),
                isolation: Default::default(),
                kubernetes: None,
            };
            s.profile.name = profile.into();
            s
        }

        async fn warm(agent: &Arc<Agent>, spec: &PoolSpec, n: usize) {
            let (events, _) = tokio::sync::mpsc::unbounded_channel();
            let pool = agent.pool_prepared(spec, events).await.unwrap();
            pool.warm_up(n).await.unwrap();
        }

        fn done(r: Response) -> String {
            match r {
                Response::Done { message } => message,
                other => panic!("expected Done, got {other:?}"),
            }
        }

        #[tokio::test]
        async fn status_names_the_engine_and_the_pools_it_holds() {
            let (agent, _) = agent("status");
            warm(&agent, &spec("", "python"), 1).await;
            match status::handle(&agent).await {
                Response::Status {
                    engine,
                    engine_ok,
                    pools,
                    pid,
                    ..
                } => {
                    assert_eq!(engine, "in-memory");
                    assert!(engine_ok);
                    assert_eq!(pid, std::process::id());
                    assert_eq!(pools.len(), 1);
                    assert_eq!((pools[0].name.as_str(), pools[0].idle), ("python", 1));
                }
                other => panic!("expected Status, got {other:?}"),
            }
        }

        #[tokio::test]
        async fn stats_list_every_pool_in_name_order() {
            let (agent, _) = agent("stats");
            warm(&agent, &spec("web", "javascript"), 1).await;
            warm(&agent, &spec("", "python"), 2).await;
            let Response::Stats { pools, .. } = pools::stats(&agent) else {
                panic!("expected Stats")
            };
            let names: Vec<(&str, usize)> =
                pools.iter().map(|p| (p.name.as_str(), p.idle)).collect();
            assert_eq!(names, [("python", 2), ("web", 1)]);
        }

        #[tokio::test]
        async fn draining_a_profile_removes_only_its_pools() {
            let (agent, backend) = agent("drain-profile");
            warm(&agent, &spec("ds", "python"), 2).await;
            warm(&agent, &spec("ds-javascript", "javascript"), 1).await;
            warm(&agent, &spec("", "python"), 1).await;
            assert_eq!(
                done(pools::drain_profile(&agent, false, "ds").await),
                "profile `ds`: removed 2 pool(s), 3 container(s); the agent keeps running"
            );
            assert_eq!(backend.live(), 1);
            let Response::Stats { pools, .. } = pools::stats(&agent) else {
                panic!("expected Stats")
            };
            assert_eq!(pools.len(), 1);
            assert_eq!(pools[0].name, "python");
        }

        #[tokio::test]
        async fn pool_down_removes_every_container_and_says_how_many() {
            let (agent, backend) = agent("drain");
            warm(&agent, &spec("", "python"), 2).await;
            warm(&agent, &spec("web", "javascript"), 1).await;
            assert_eq!(
                done(pools::drain(&agent, false).await),
                "removed 3 container(s); agent stopped"
            );
            assert_eq!(backend.live(), 0);
        }

        #[tokio::test]
        async fn a_pool_for_another_engine_is_refused_with_what_to_do() {
            let (agent, _) = agent("engine");
            let mut s = spec("", "python");
            s.backend = "podman".into();
            assert_eq!(
                agent.check_backend(&s),
                Err("the running agent uses memory, but this command asks for podman; run `sbx agent stop` and retry (or use --backend memory)".into())
            );
        }

        fn session_start(lang: &str, name: Option<&str>, max: usize) -> SessionStart {
            SessionStart {
                pool: spec("", lang),
                name: name.map(String::from),
                keep_state: false,
                idle_timeout_ms: 600_000,
                max_lifetime_ms: 3_600_000,
                max_sessions: max,
                profile: None,
            }
        }

        fn pool_counts(agent: &Agent) -> (usize, usize, usize) {
            let Response::Stats { pools, .. } = pools::stats(agent) else {
                panic!("expected Stats")
            };
            (pools[0].idle, pools[0].busy, pools[0].sessions)
        }

        #[tokio::test]
        async fn a_session_holds_a_container_until_stopped_then_gives_it_back() {
            let (agent, backend) = agent("session");
            warm(&agent, &spec("", "python"), 1).await;
            let Response::Session(info) =
                session::start(agent.clone(), session_start("python", Some("nb"), 16)).await
            else {
                panic!("expected Session")
            };
            assert!(info.id.starts_with("s-"), "{info:?}");
            assert_eq!(pool_counts(&agent), (0, 1, 1), "busy, held by the session");
            assert!(matches!(
                session::info(&agent, "nb"),
                Response::Session(ref i) if i.id == info.id
            ));
            assert_eq!(
                done(session::stop(&agent, "nb").await),
                format!("session {} stopped", info.id)
            );
            assert_eq!(
                pool_counts(&agent),
                (1, 0, 0),
                "back in the pool once the guest proved it clean"
            );
            assert_eq!(backend.live(), 1, "and not replaced");
            match session::info(&agent, &info.id) {
                Response::Error { kind, message } => {
                    assert_eq!(kind, ErrorKind::NoSession);
                    assert!(
                        message.contains("stopped by `sbx session stop`"),
                        "{message}"
                    );
                }
                other => panic!("expected an error, got {other:?}"),
            }
        }

        #[tokio::test]
        async fn sessions_beyond_the_maximum_or_with_a_taken_name_are_refused() {
            let (agent, _) = agent("session-max");
            assert!(matches!(
                session::start(agent.clone(), session_start("python", Some("a"), 2)).await,
                Response::Session(_)
            ));
            let kind = |r: Response| match r {
                Response::Error { kind, message } => (kind, message),
                other => panic!("expected an error, got {other:?}"),
            };
            let (k, m) =
                kind(session::start(agent.clone(), session_start("python", Some("a"), 2)).await);
            assert_eq!(k, ErrorKind::BadRequest);
            assert!(m.contains("already open"), "{m}");
            assert!(matches!(
                session::start(agent.clone(), session_start("python", None, 2)).await,
                Response::Session(_)
            ));
            let (k, m) =
                kind(session::start(agent.clone(), session_start("python", None, 2)).await);
            assert_eq!(k, ErrorKind::Exhausted);
            assert!(m.contains("`[sessions] max` allows (2)"), "{m}");
            let (k, m) = kind(session::info(&agent, "s-nothing"));
            assert_eq!(k, ErrorKind::NoSession);
            assert!(m.contains("never existed"), "{m}");
            // Draining ends them and removes their containers.
            assert_eq!(
                done(pools::drain(&agent, false).await),
                "removed 2 container(s); agent stopped"
            );
            assert!(agent.sessions.is_empty());
        }

        #[tokio::test]
        async fn stop_with_wait_answers_after_the_containers_are_gone() {
            let (agent, backend) = agent("stop");
            warm(&agent, &spec("", "python"), 2).await;
            let stopping = tokio::spawn({
                let agent = agent.clone();
                async move { done(stop::handle(&agent, true).await) }
            });
            // What serve does when asked to stop: remove everything, then
            // report the count to whoever waits.
            let removed = agent.remove_everything().await;
            agent.finished.send_replace(Some(removed));
            assert_eq!(
                stopping.await.unwrap(),
                format!(
                    "agent stopped (pid {}); removed 2 container(s)",
                    std::process::id()
                )
            );
            assert_eq!(backend.live(), 0);
        }
    }
}
