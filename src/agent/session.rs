//! Sessions: one leased container serving several runs, its files (and,
//! with `keep_state`, its interpreter) kept between them.
//!
//! A session holds a lease of its pool like a run does, so it counts
//! toward `max_size`. Its runs take the session's lease lock in arrival
//! order (tokio's mutex is fair), which serialises them. A session ends
//! on `SessionStop`, after its idle timeout or at its lifetime; its
//! container then gets the full wipe-and-verify (`ToGuest::Reset`) and
//! goes back to its pool only if the guest proves it clean. A draining
//! pool or a stopping agent ends its sessions without a wipe: their
//! containers are removed.
//!
//! Sessions live in the agent's memory only: an agent restart loses them.

use super::Agent;
use crate::guest::wire::ToGuest;
use crate::pool::{Lease, Pool};
use crate::protocol::{ErrorKind, Response, SessionInfo, SessionStart};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the guest gets to wipe and verify a session's container.
const RESET_GRACE: Duration = Duration::from_secs(15);

/// Ended sessions remembered so that a run naming one is told why it is
/// gone rather than that it never existed.
const REMEMBERED: usize = 1024;

use crate::model::run::KEEP_STATE_LANGUAGES;

pub struct Session {
    pub id: String,
    pub name: Option<String>,
    pub lang: String,
    pub profile: String,
    pub pool: Arc<Pool>,
    pub keep_state: bool,
    pub container: String,
    idle_timeout: Duration,
    max_lifetime: Duration,
    started: Instant,
    /// Taken by each run in turn; `None` once the session has given its
    /// container back.
    pub lease: tokio::sync::Mutex<Option<Lease>>,
    state: Mutex<State>,
}

struct State {
    /// When the last run ended (or the session started).
    last: Instant,
    runs: u64,
    busy: bool,
    size: u64,
    /// Why it ended, once it has.
    ended: Option<String>,
}

impl Session {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why the session has ended, if it has.
    pub fn ended(&self) -> Option<String> {
        self.state().ended.clone()
    }

    pub fn begin_run(&self) {
        self.state().busy = true;
    }

    /// A run ended; `size` is what its scratch locations now hold.
    pub fn end_run(&self, size: u64) {
        let mut s = self.state();
        s.busy = false;
        s.runs += 1;
        s.size = size;
        s.last = Instant::now();
    }

    /// A run that failed before it began.
    pub fn abort_run(&self) {
        let mut s = self.state();
        s.busy = false;
        s.last = Instant::now();
    }

    pub fn info(&self) -> SessionInfo {
        let s = self.state();
        SessionInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            lang: self.lang.clone(),
            profile: self.profile.clone(),
            pool: self.pool.spec.name(),
            keep_state: self.keep_state,
            container: self.container.clone(),
            age_ms: self.started.elapsed().as_millis() as u64,
            idle_ms: if s.busy {
                0
            } else {
                s.last.elapsed().as_millis() as u64
            },
            runs: s.runs,
            busy: s.busy,
            idle_timeout_ms: self.idle_timeout.as_millis() as u64,
            max_lifetime_ms: self.max_lifetime.as_millis() as u64,
            size_bytes: s.size,
        }
    }

    /// When the session is due to end, and why, as things stand.
    fn due(&self) -> (Instant, String) {
        let s = self.state();
        let lifetime = self.started + self.max_lifetime;
        let idle = if s.busy {
            // Looked at again once the run is over.
            Instant::now() + self.idle_timeout
        } else {
            s.last + self.idle_timeout
        };
        if lifetime <= idle {
            (
                lifetime,
                format!(
                    "it reached its lifetime ({})",
                    crate::model::units::format_duration(self.max_lifetime)
                ),
            )
        } else {
            (
                idle,
                format!(
                    "it expired after {} idle",
                    crate::model::units::format_duration(self.idle_timeout)
                ),
            )
        }
    }
}

#[derive(Default)]
struct Registry {
    open: HashMap<String, Arc<Session>>,
    /// (id, name, why) of ended sessions, oldest first.
    ended: VecDeque<(String, Option<String>, String)>,
}

#[derive(Default)]
pub struct Sessions {
    inner: Mutex<Registry>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_empty(&self) -> bool {
        self.lock().open.is_empty()
    }

    /// Open sessions holding a container of `pool`.
    pub fn count_in(&self, pool: &Arc<Pool>) -> usize {
        self.lock()
            .open
            .values()
            .filter(|s| Arc::ptr_eq(&s.pool, pool))
            .count()
    }

    pub fn list(&self) -> Vec<SessionInfo> {
        let mut all: Vec<SessionInfo> = self.lock().open.values().map(|s| s.info()).collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.age_ms));
        all
    }

    /// The open session with this id or name, or why there is none.
    pub fn find(&self, key: &str) -> Result<Arc<Session>, String> {
        let reg = self.lock();
        if let Some(s) = reg.open.get(key) {
            return Ok(s.clone());
        }
        if let Some(s) = reg.open.values().find(|s| s.name.as_deref() == Some(key)) {
            return Ok(s.clone());
        }
        let gone = reg
            .ended
            .iter()
            .rev()
            .find(|(id, name, _)| id == key || name.as_deref() == Some(key));
        Err(match gone {
            Some(_) => format!(
                "session {key} has ended: {why}; start a new one with `sbx session start`",
                why = gone.map(|g| g.2.as_str()).unwrap_or_default()
            ),
            None => format!(
                "no session {key}: it never existed here (sessions live in the agent, which loses them when it restarts); start one with `sbx session start`, list them with `sbx session ls`"
            ),
        })
    }

    /// Mark the session ended (no new run gets it) and remember why.
    pub fn retire(&self, s: &Session, why: &str) {
        {
            let mut st = s.state();
            if st.ended.is_some() {
                return;
            }
            st.ended = Some(why.to_string());
        }
        let mut reg = self.lock();
        reg.open.remove(&s.id);
        reg.ended
            .push_back((s.id.clone(), s.name.clone(), why.to_string()));
        while reg.ended.len() > REMEMBERED {
            reg.ended.pop_front();
        }
        drop(reg);
        eprintln!("sbx agent: session {} ended: {why}", s.id);
    }

    /// End a session: once a running run is over, its container is wiped
    /// and verified and returns to its pool (with `wipe`), or is removed.
    pub async fn end(&self, s: &Session, why: &str, wipe: bool) {
        self.retire(s, why);
        let Some(mut lease) = s.lease.lock().await.take() else {
            return;
        };
        let mut clean = false;
        if wipe {
            let guest = &mut lease.sandbox().guest;
            if guest.send(&ToGuest::Reset).await.is_ok() {
                clean = guest.wait_ready(RESET_GRACE).await.unwrap_or_else(|e| {
                    eprintln!("sbx agent: session {}: the wipe did not finish: {e}", s.id);
                    false
                });
            }
        }
        // Not clean (or not wiped): recycled, never handed on.
        lease.give_back(clean);
    }

    /// End every session (of the pools `which` picks), for a drain: once a
    /// running run is over (a forced drain cancels it), the container is
    /// removed with its pool, not wiped.
    pub async fn end_all(&self, why: &str, which: impl Fn(&Session) -> bool) -> usize {
        let all = self.retire_all(why, which);
        let ends = all.iter().map(|s| async move {
            drop(s.lease.lock().await.take());
        });
        futures_util::future::join_all(ends).await;
        all.len()
    }

    /// End every session at once, for an agent that removes everything:
    /// idle sessions let go of their containers now; a running run is
    /// cancelled by its pool's shutdown and lets go when it ends.
    pub fn abandon_all(&self, why: &str) {
        for s in self.retire_all(why, |_| true) {
            if let Ok(mut slot) = s.lease.try_lock() {
                drop(slot.take());
            }
        }
    }

    fn retire_all(&self, why: &str, which: impl Fn(&Session) -> bool) -> Vec<Arc<Session>> {
        let all: Vec<Arc<Session>> = self
            .lock()
            .open
            .values()
            .filter(|s| which(s))
            .cloned()
            .collect();
        for s in &all {
            self.retire(s, why);
        }
        all
    }
}

/// A session id: short, unguessable enough not to collide with another of
/// this agent's.
fn new_id() -> String {
    let mut bytes = [0u8; 6];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut bytes);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    bytes[0] ^= nanos as u8;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("s-{hex}")
}

/// `SessionStart`: lease a container and keep it for the session.
pub async fn start(agent: Arc<Agent>, req: SessionStart) -> Response {
    let error = |kind, message: String| Response::Error { kind, message };
    if let Err(e) = agent.check_backend(&req.pool) {
        return error(ErrorKind::BadRequest, e);
    }
    if req.keep_state && !KEEP_STATE_LANGUAGES.contains(&req.pool.lang.as_str()) {
        return error(
            ErrorKind::BadRequest,
            format!(
                "--keep-state works for {} sessions, not {}; start the session without it (files are still kept)",
                KEEP_STATE_LANGUAGES.join(" and "),
                req.pool.lang
            ),
        );
    }
    let check = |reg: &Registry| -> Result<(), Box<Response>> {
        if let Some(name) = &req.name
            && reg.open.values().any(|s| s.name.as_ref() == Some(name))
        {
            return Err(Box::new(error(
                ErrorKind::BadRequest,
                format!(
                    "a session named {name} is already open; use it, stop it (`sbx session stop {name}`) or choose another name"
                ),
            )));
        }
        if reg.open.len() >= req.max_sessions {
            return Err(Box::new(error(
                ErrorKind::Exhausted,
                format!(
                    "{} session(s) are open, the most `[sessions] max` allows ({}); stop one with `sbx session stop` or raise the limit",
                    reg.open.len(),
                    req.max_sessions
                ),
            )));
        }
        Ok(())
    };
    if let Err(resp) = check(&agent.sessions.lock()) {
        return *resp;
    }
    let pool = match agent
        .pool_prepared(&req.pool, tokio::sync::mpsc::unbounded_channel().0)
        .await
    {
        Ok(p) => p,
        Err(e) => return error(ErrorKind::Engine, e.to_string()),
    };
    if req.idle_timeout_ms == 0 || req.max_lifetime_ms == 0 {
        return error(
            ErrorKind::BadRequest,
            "a session's idle timeout and lifetime must be longer than zero".into(),
        );
    }
    let mut lease = match agent.acquire_live(&pool).await {
        // An overflow container would let sessions hold containers beyond
        // `max_size` for as long as they live.
        Ok(l) if l.is_temporary() => {
            drop(l);
            return error(
                ErrorKind::Exhausted,
                format!(
                    "pool `{}` has no free container for a session (all {} are busy; sessions never take temporary ones); stop a session or raise max_size",
                    pool.spec.name(),
                    pool.spec.settings.max_size
                ),
            );
        }
        Ok(l) => l,
        Err(e) => {
            return error(super::run::error_kind(&e), e.to_string());
        }
    };
    let container: String = lease.sandbox().id.chars().take(12).collect();
    let session = Arc::new(Session {
        id: new_id(),
        name: req.name.clone(),
        lang: req.pool.lang.clone(),
        profile: req.profile.clone().unwrap_or_default(),
        pool,
        keep_state: req.keep_state,
        container,
        idle_timeout: Duration::from_millis(req.idle_timeout_ms),
        max_lifetime: Duration::from_millis(req.max_lifetime_ms),
        started: Instant::now(),
        lease: tokio::sync::Mutex::new(Some(lease)),
        state: Mutex::new(State {
            last: Instant::now(),
            runs: 0,
            busy: false,
            size: 0,
            ended: None,
        }),
    });
    {
        // Checked again: others may have started meanwhile.
        let mut reg = agent.sessions.lock();
        if let Err(resp) = check(&reg) {
            drop(reg);
            // Its container goes back unused (a run never touched it).
            if let Some(l) = session.lease.try_lock().ok().and_then(|mut l| l.take()) {
                l.give_back(true);
            }
            return *resp;
        }
        reg.open.insert(session.id.clone(), session.clone());
    }
    eprintln!(
        "sbx agent: session {} started ({}, pool `{}`, container {}{})",
        session.id,
        session.lang,
        session.pool.spec.name(),
        session.container,
        if session.keep_state {
            ", keeping state"
        } else {
            ""
        }
    );
    tokio::spawn(expire(agent.clone(), session.clone()));
    Response::Session(session.info())
}

/// End the session when it has been idle too long or reached its lifetime.
async fn expire(agent: Arc<Agent>, s: Arc<Session>) {
    loop {
        let (at, why) = s.due();
        tokio::time::sleep_until(at.into()).await;
        if s.ended().is_some() {
            return;
        }
        let (again, _) = s.due();
        if again <= Instant::now() {
            agent.sessions.end(&s, &why, true).await;
            return;
        }
    }
}

pub async fn stop(agent: &Agent, key: &str) -> Response {
    match agent.sessions.find(key) {
        Ok(s) => {
            agent
                .sessions
                .end(&s, "stopped by `sbx session stop`", true)
                .await;
            Response::Done {
                message: format!("session {} stopped", s.id),
            }
        }
        Err(why) => Response::Error {
            kind: ErrorKind::NoSession,
            message: why,
        },
    }
}

pub fn info(agent: &Agent, key: &str) -> Response {
    match agent.sessions.find(key) {
        Ok(s) => Response::Session(s.info()),
        Err(why) => Response::Error {
            kind: ErrorKind::NoSession,
            message: why,
        },
    }
}

pub fn list(agent: &Agent) -> Response {
    Response::Sessions {
        sessions: agent.sessions.list(),
    }
}
