//! `Run`: lease a warm sandbox, relay the program's streams, give it back;
//! or, for a `no_pool` run, make a container for the run alone and remove
//! it before answering.

use super::Agent;
use super::conn::{ConnReader, ConnWriter, reply, reply_error};
use crate::backend::{GuestConn, GuestEvent, Sandbox, SandboxSpec};
use crate::guest::wire::{FromGuest, ToGuest};
use crate::model::run::RunOutcome;
use crate::pool::PoolError;
use crate::protocol::{
    ErrorKind, Frame, Kind, Request, Response, RunExit, RunRequest, read_frame, write_frame,
};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// What the client sends while its program runs.
enum ClientInput {
    Stdin(Vec<u8>),
    Eof,
    /// The client's reader went away (`| head -1`): stop the run, but
    /// still answer it.
    StdoutClosed,
}

/// Extra time the guest gets beyond the run's own timeout before the agent
/// gives up on the container altogether.
const GUEST_GRACE: Duration = Duration::from_secs(15);

/// How long a forced drain waits for cancelled `no_pool` runs to end before
/// their containers are removed regardless.
const FRESH_FORCE_GRACE: Duration = Duration::from_secs(10);

pub async fn handle(agent: Arc<Agent>, mut req: RunRequest, r: ConnReader, mut w: ConnWriter) {
    // Only a session's run keeps its files or state, and only the agent
    // says which run that is: a client's say-so would leave files (or an
    // interpreter) in a container the pool hands to the next run.
    req.run.keep_files = false;
    req.run.keep_state = false;
    if let Err(e) = agent.check_backend(&req.pool) {
        reply_error(&mut w, ErrorKind::BadRequest, e).await;
        return;
    }
    // The first run of a pool pulls its image (a warm run never asks the
    // engine about it).
    // A session's run uses the session's container, whatever the config
    // now says its pool's image is.
    if req.session.is_none()
        && (req.no_pool || !agent.has_pool(&req.pool))
        && let Err(e) = agent
            .ensure_image(
                &req.pool.image,
                req.pool.profile.pull,
                req.pool.profile.pull_timeout,
                &mut w,
            )
            .await
    {
        reply_error(&mut w, ErrorKind::Engine, e).await;
        return;
    }
    if req.no_pool {
        return fresh(agent, req, r, w).await;
    }
    if let Some(key) = req.session.clone() {
        return in_session(agent, req, &key, r, w).await;
    }
    // Build output is not shown to a run; `sbx pool up` shows it.
    let pool = match agent
        .pool_prepared(&req.pool, mpsc::unbounded_channel().0)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            reply_error(&mut w, ErrorKind::Engine, e.to_string()).await;
            return;
        }
    };
    let asked = Instant::now();
    let mut lease = match agent.acquire_live(&pool).await {
        Ok(l) => l,
        Err(e) => {
            reply_error(&mut w, error_kind(&e), e.to_string()).await;
            return;
        }
    };
    let wait_ms = asked.elapsed().as_millis() as u64;
    let mut cancel = lease.cancel_signal();
    let container = short(&lease.sandbox().id);
    let relayed = relay(
        &mut lease.sandbox().guest,
        &req,
        r,
        &mut w,
        cancel.cancelled(),
    )
    .await;

    match relayed.outcome {
        Ok(exit) => {
            // Counted before the client has its answer, so `pool stats`
            // after it shows the run.
            lease.record_run(Duration::from_millis(relayed.duration_ms), exit.timed_out);
            lease.count_run();
            if lease.single_use() {
                // Removed, not cleaned: its successor is made at once.
                lease.give_back(false);
                if relayed.client_open {
                    let exit = run_exit(exit, relayed.duration_ms, wait_ms, container, &req);
                    reply(&mut w, &Response::Exit(exit)).await;
                }
                return;
            }
            // From here the container is only cleaning up: a run arriving
            // meanwhile waits for it rather than creating a new one.
            lease.finishing();
            // The guest sends Exit before its clean-up and Ready after it:
            // the client has its answer meanwhile, and the container goes
            // back to the pool only once it is proved clean.
            if relayed.client_open {
                let exit = run_exit(exit, relayed.duration_ms, wait_ms, container, &req);
                reply(&mut w, &Response::Exit(exit)).await;
            }
            drop(w);
            let guest = &mut lease.sandbox().guest;
            let clean = guest.wait_ready(GUEST_GRACE).await.unwrap_or_else(|e| {
                eprintln!("sbx agent: guest did not finish cleaning up: {e}");
                false
            });
            lease.give_back(clean);
        }
        Err(why) => {
            // Dropping the lease unreleased recycles the container.
            let oom = match relayed.guest_closed {
                true => {
                    let id = lease.sandbox().id.clone();
                    oom_outcome(&*agent.backend, &id, relayed.since, memory_limit(&req)).await
                }
                false => None,
            };
            if let Some((outcome, line)) = oom {
                eprintln!(
                    "sbx agent: container {container}: the kernel's OOM killer killed the guest during a run; replacing the container"
                );
                if relayed.client_open {
                    let exit = run_exit(outcome, relayed.duration_ms, wait_ms, container, &req);
                    report_oom(&mut w, line, exit).await;
                }
                return;
            }
            eprintln!("sbx agent: {why}");
            if relayed.client_open {
                reply_error(&mut w, ErrorKind::Engine, format!("{why}; retry the run")).await;
            }
        }
    }
}

/// A `no_pool` run: a container of the run's image made for it alone, the
/// same relay as a pooled run, and the container removed before the answer
/// (like `docker run --rm`: nothing is left when the client returns, and
/// `sbx bench` measures the whole cost). No pool is created or touched.
async fn fresh(agent: Arc<Agent>, req: RunRequest, r: ConnReader, mut w: ConnWriter) {
    let Some(_tracked) = agent.fresh.enter() else {
        reply_error(
            &mut w,
            ErrorKind::ShuttingDown,
            "the agent is shutting its pools down; retry once it is back",
        )
        .await;
        return;
    };
    let asked = Instant::now();
    let name = format!("{}-no-pool", req.pool.name());
    let spec = SandboxSpec {
        image: req.pool.image.clone(),
        labels: agent.sandbox_labels(&name),
        pool: name,
        limits: req.pool.profile.limits,
        network: req.pool.profile.network.clone(),
        isolation: req.pool.isolation.clone(),
        kubernetes: req.pool.kubernetes.clone(),
        warm_interpreter: req.pool.profile.warm_interpreter.clone(),
        group: String::new(),
        max_lifetime: None,
    };
    let mut sandbox = match agent.backend.create(&spec).await {
        Ok(sb) => Removed::new(agent.clone(), sb),
        Err(e) => {
            // As for pooled runs: an engine that went away says so.
            let e = match agent.backend.ping().await {
                Err(unreachable) => unreachable,
                Ok(()) => e,
            };
            reply_error(&mut w, ErrorKind::Engine, e.to_string()).await;
            return;
        }
    };
    let wait_ms = asked.elapsed().as_millis() as u64;
    let container = short(&sandbox.get().id);
    let cancel = agent.fresh.cancelled();
    let relayed = relay(&mut sandbox.get().guest, &req, r, &mut w, cancel).await;
    let id = sandbox.get().id.clone();
    let oom = match (&relayed.outcome, relayed.guest_closed) {
        (Err(_), true) => {
            oom_outcome(&*agent.backend, &id, relayed.since, memory_limit(&req)).await
        }
        _ => None,
    };
    sandbox.remove().await;
    if let Some((outcome, line)) = oom {
        eprintln!(
            "sbx agent: container {container}: the kernel's OOM killer killed the guest during a run"
        );
        if relayed.client_open {
            let mut exit = run_exit(outcome, relayed.duration_ms, wait_ms, container, &req);
            exit.pool = String::new();
            report_oom(&mut w, line, exit).await;
        }
        return;
    }
    match relayed.outcome {
        Ok(exit) if relayed.client_open => {
            let mut exit = run_exit(exit, relayed.duration_ms, wait_ms, container, &req);
            exit.pool = String::new();
            reply(&mut w, &Response::Exit(exit)).await;
        }
        Ok(_) => {}
        Err(why) => {
            eprintln!("sbx agent: {why}");
            if relayed.client_open {
                reply_error(&mut w, ErrorKind::Engine, format!("{why}; retry the run")).await;
            }
        }
    }
}

/// A run of a session: served by the session's container, after the
/// session's earlier runs (they queue on its lease in arrival order), its
/// files kept for the next.
async fn in_session(
    agent: Arc<Agent>,
    mut req: RunRequest,
    key: &str,
    r: ConnReader,
    mut w: ConnWriter,
) {
    let session = match agent.sessions.find(key) {
        Ok(s) => s,
        Err(why) => return reply_error(&mut w, ErrorKind::NoSession, why).await,
    };
    if session.lang != req.pool.lang {
        let message = format!(
            "session {key} runs {}, not {}; drop --lang (a session's runs are in its language)",
            session.lang, req.pool.lang
        );
        return reply_error(&mut w, ErrorKind::BadRequest, message).await;
    }
    let mut slot = session.lease.lock().await;
    // It may have ended while this run waited for the one before.
    let lease = match (session.ended(), slot.as_mut()) {
        (None, Some(lease)) => lease,
        (why, _) => {
            let why = why.unwrap_or_else(|| "its container is gone".into());
            let message =
                format!("session {key} has ended: {why}; start a new one with `sbx session start`");
            return reply_error(&mut w, ErrorKind::NoSession, message).await;
        }
    };
    session.begin_run();
    req.run.keep_files = true;
    req.run.keep_state = session.keep_state;
    let mut cancel = lease.cancel_signal();
    let container = short(&lease.sandbox().id);
    let relayed = relay(
        &mut lease.sandbox().guest,
        &req,
        r,
        &mut w,
        cancel.cancelled(),
    )
    .await;
    match relayed.outcome {
        Ok(exit) => {
            lease.record_run(Duration::from_millis(relayed.duration_ms), exit.timed_out);
            lease.count_run();
            let ready = lease.sandbox().guest.wait_ready_sized(GUEST_GRACE).await;
            let (clean, size) = ready.unwrap_or_else(|e| {
                eprintln!(
                    "sbx agent: session {}: guest did not finish cleaning up: {e}",
                    session.id
                );
                (false, 0)
            });
            session.end_run(size);
            if !clean {
                // Dropping the lease unreleased recycles the container.
                let why = "its container could not be proven free of a run's processes, so it was replaced";
                agent.sessions.retire(&session, why);
                slot.take();
                if relayed.client_open {
                    let line = format!("sbx: session {key} has ended: {why}\n");
                    let _ =
                        write_frame(&mut w, &Frame::data(Kind::Stderr, line.into_bytes())).await;
                }
            }
            if session.ended().is_some() && slot.as_ref().is_some_and(|l| l.pool_closed()) {
                // Ended while this run went on because the agent is
                // stopping (a stop or expiry wipes it once we let go): the
                // container goes with its pool.
                slot.take();
            }
            drop(slot);
            if relayed.client_open {
                let exit = run_exit(exit, relayed.duration_ms, 0, container, &req);
                reply(&mut w, &Response::Exit(exit)).await;
            }
        }
        Err(why) => {
            session.abort_run();
            let oom = match relayed.guest_closed {
                true => {
                    let id = lease.sandbox().id.clone();
                    oom_outcome(&*agent.backend, &id, relayed.since, memory_limit(&req)).await
                }
                false => None,
            };
            let ended = if oom.is_some() {
                "its container exceeded its memory limit and was killed".to_string()
            } else {
                format!("its container failed ({why})")
            };
            agent.sessions.retire(&session, &ended);
            slot.take();
            drop(slot);
            eprintln!("sbx agent: session {}: {why}", session.id);
            if !relayed.client_open {
                return;
            }
            match oom {
                Some((outcome, line)) => {
                    let exit = run_exit(outcome, relayed.duration_ms, 0, container, &req);
                    report_oom(&mut w, line, exit).await;
                }
                None => {
                    let message = format!("{why}; the session has ended, start a new one");
                    reply_error(&mut w, ErrorKind::Engine, message).await;
                }
            }
        }
    }
}

/// How a failed acquisition is reported to the client.
pub fn error_kind(e: &PoolError) -> ErrorKind {
    match e {
        PoolError::Exhausted { .. } => ErrorKind::Exhausted,
        PoolError::Closed(_) => ErrorKind::ShuttingDown,
        PoolError::Backend(_) => ErrorKind::Engine,
    }
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

fn run_exit(
    outcome: RunOutcome,
    duration_ms: u64,
    wait_ms: u64,
    container: String,
    req: &RunRequest,
) -> RunExit {
    RunExit {
        outcome,
        duration_ms,
        wait_ms,
        container,
        image: req.pool.image.clone(),
        pool: req.pool.name(),
    }
}

/// How a relayed run ended.
struct Relayed {
    /// The guest's report, or why the container failed.
    outcome: Result<RunOutcome, String>,
    /// The client is still there to be told (it did not go away, and no
    /// cancellation already answered it).
    client_open: bool,
    /// From handing the program to the guest until its exit.
    duration_ms: u64,
    /// The run failed because the guest's stream ended (the container
    /// died, perhaps of the memory limit: see [`oom_outcome`]).
    guest_closed: bool,
    /// When the run was handed to the guest.
    since: std::time::SystemTime,
}

/// Hand the run to the guest and relay: the program's output to the client
/// as it comes, the client's stdin to the program, a client that goes away
/// or `cancel` resolving (pool drain, agent stop) as a cancellation.
async fn relay(
    guest: &mut GuestConn,
    req: &RunRequest,
    mut r: ConnReader,
    w: &mut ConnWriter,
    cancel: impl Future<Output = ()>,
) -> Relayed {
    // Read the client on a task of its own so that waiting for it never
    // delays the program's output, and its disconnect is noticed at once.
    let (input_tx, mut input_rx) = mpsc::channel::<ClientInput>(16);
    let reader = tokio::spawn(async move {
        loop {
            let frame = match read_frame(&mut r).await {
                Ok(f) => f,
                Err(_) => return, // disconnected or junk: the run is cancelled
            };
            let msg = match frame.kind {
                Kind::Stdin => ClientInput::Stdin(frame.payload),
                Kind::Control => match frame.parse::<Request>() {
                    Ok(Request::StdinEof) => ClientInput::Eof,
                    Ok(Request::StdoutClosed) => ClientInput::StdoutClosed,
                    _ => return,
                },
                _ => return,
            };
            if input_tx.send(msg).await.is_err() {
                return;
            }
        }
    });

    let started = Instant::now();
    let since = std::time::SystemTime::now();
    let run = ToGuest::Run(req.run.clone());
    if let Err(e) = guest.send(&run).await {
        reader.abort();
        return Relayed {
            outcome: Err(format!("lost the container before the run started: {e}")),
            client_open: true,
            duration_ms: 0,
            guest_closed: false,
            since,
        };
    }
    let mut guest_closed = false;

    tokio::pin!(cancel);
    let mut cancelled = false;
    let deadline =
        tokio::time::sleep(Duration::from_millis(req.run.timeout_ms).saturating_add(GUEST_GRACE));
    tokio::pin!(deadline);
    let mut client_open = true;
    let mut stdin_open = true;
    // The client's reader went away: its stdout is not relayed any more.
    let mut stdout_closed = false;
    let outcome = loop {
        tokio::select! {
            ev = guest.next() => match ev {
                GuestEvent::Stdout(_) if stdout_closed => {}
                GuestEvent::Stdout(b) => {
                    if client_open && write_frame(w, &Frame::data(Kind::Stdout, b)).await.is_err() {
                        client_open = false;
                        let _ = guest.send(&ToGuest::Cancel).await;
                    }
                }
                GuestEvent::Stderr(b) => {
                    if client_open && write_frame(w, &Frame::data(Kind::Stderr, b)).await.is_err() {
                        client_open = false;
                        let _ = guest.send(&ToGuest::Cancel).await;
                    }
                }
                GuestEvent::Msg(FromGuest::OutFile(f)) => {
                    if client_open && write_frame(w, &Frame::control(&Response::OutFile(f))).await.is_err() {
                        client_open = false;
                    }
                }
                GuestEvent::Msg(FromGuest::Exit(exit)) => break Ok(exit),
                GuestEvent::Msg(_) => {}
                GuestEvent::Closed(why) => {
                    guest_closed = true;
                    break Err(format!("the container failed during the run: {why}"));
                }
            },
            // Watched until the client goes away, not just until its stdin
            // ends: a client killed after sending EOF must cancel the run.
            input = input_rx.recv(), if client_open => match input {
                Some(ClientInput::Stdin(data)) => {
                    if stdin_open {
                        let _ = guest.send_stdin(data).await;
                    }
                }
                Some(ClientInput::Eof) => {
                    if stdin_open {
                        stdin_open = false;
                        let _ = guest.send(&ToGuest::StdinEof).await;
                    }
                }
                Some(ClientInput::StdoutClosed) => {
                    // Like a timeout, an end of the run: the program tree
                    // is killed, the guest reports the exit and cleans up,
                    // and the container goes back through the normal path.
                    if !stdout_closed {
                        stdout_closed = true;
                        let _ = guest.send(&ToGuest::Cancel).await;
                    }
                }
                None => {
                    // The client went away mid-run: nobody wants the result.
                    eprintln!("sbx agent: a client went away mid-run; cancelling its run");
                    client_open = false;
                    let _ = guest.send(&ToGuest::Cancel).await;
                }
            },
            // `sbx pool down --force`, agent stop or a signal: stop the program;
            // the guest still reports its exit, and the container is then
            // removed (a closed pool's, or a no-pool run's).
            _ = &mut cancel, if !cancelled => {
                cancelled = true;
                let _ = guest.send(&ToGuest::Cancel).await;
                if client_open {
                    client_open = false;
                    reply_error(
                        w,
                        ErrorKind::ShuttingDown,
                        "the run was cancelled because the agent is shutting its pools down (`sbx pool down --force`, `sbx agent stop` or a signal); run it again",
                    )
                    .await;
                }
            }
            _ = &mut deadline => break Err("the guest runner stopped responding".to_string()),
        }
    };
    reader.abort();
    Relayed {
        outcome,
        client_open,
        duration_ms: started.elapsed().as_millis() as u64,
        guest_closed,
        since,
    }
}

/// A run whose container died under it: if the engine says the kernel's
/// OOM killer killed the guest, the run exceeded its memory limit, and is
/// reported as the guest reports a program it saw OOM-killed (137 and the
/// documented line on stderr), not as a failure of sbx. The guest cannot
/// say so itself, being dead; the caller writes the returned line.
async fn oom_outcome(
    backend: &dyn crate::backend::Backend,
    id: &str,
    since: std::time::SystemTime,
    memory: Option<u64>,
) -> Option<(RunOutcome, String)> {
    if backend.died_of_oom(id, since).await != Some(true) {
        return None;
    }
    let limit = memory
        .map(|m| format!(" ({})", crate::model::units::format_size(m)))
        .unwrap_or_default();
    let outcome = RunOutcome {
        code: crate::exit::OOM_KILLED,
        oom_killed: true,
        ..Default::default()
    };
    Some((
        outcome,
        format!("sbx: the run exceeded its memory limit{limit} and was killed\n"),
    ))
}

/// The memory limit a run's container has: the profile's, else the
/// `[isolation]` one (as the backend applies them).
fn memory_limit(req: &RunRequest) -> Option<u64> {
    req.pool.profile.limits.memory.or(req.pool.isolation.memory)
}

/// Tell the client its run ended at the memory limit (see [`oom_outcome`]).
async fn report_oom(w: &mut ConnWriter, line: String, exit: RunExit) {
    let _ = write_frame(w, &Frame::data(Kind::Stderr, line.into_bytes())).await;
    reply(w, &Response::Exit(exit)).await;
}

/// A `no_pool` run's container: removed by [`Removed::remove`] before the
/// run is answered, or — if the handler ends any other way — in the
/// background when dropped, so it is never left behind.
struct Removed {
    agent: Arc<Agent>,
    sandbox: Option<Sandbox>,
}

impl Removed {
    fn new(agent: Arc<Agent>, sandbox: Sandbox) -> Removed {
        Removed {
            agent,
            sandbox: Some(sandbox),
        }
    }

    fn get(&mut self) -> &mut Sandbox {
        self.sandbox.as_mut().expect("present until removed")
    }

    async fn remove(mut self) {
        if let Some(sb) = self.sandbox.take() {
            // Removed while its guest stream is still open: once the stream
            // closes, the guest exits and auto-remove starts, and a removal
            // racing that reports success before the container is gone.
            if let Err(e) = self.agent.backend.destroy(&sb.id).await {
                eprintln!("sbx agent: cannot remove container {}: {e}", short(&sb.id));
            }
        }
    }
}

impl Drop for Removed {
    fn drop(&mut self) {
        if let Some(sb) = self.sandbox.take() {
            let backend = self.agent.backend.clone();
            tokio::spawn(async move {
                if let Err(e) = backend.destroy(&sb.id).await {
                    eprintln!("sbx agent: cannot remove container {}: {e}", short(&sb.id));
                }
                drop(sb);
            });
        }
    }
}

/// The `no_pool` runs in progress, so that `sbx pool down` lets them
/// finish (or cancels them with `--force`) like the pools' busy runs.
pub struct FreshRuns {
    running: watch::Sender<usize>,
    closed: AtomicBool,
    cancel: watch::Sender<bool>,
}

/// Counts one `no_pool` run while it lives.
pub struct FreshRun<'a>(&'a FreshRuns);

impl Drop for FreshRun<'_> {
    fn drop(&mut self) {
        self.0.running.send_modify(|n| *n -= 1);
    }
}

impl FreshRuns {
    pub fn new() -> FreshRuns {
        FreshRuns {
            running: watch::Sender::new(0),
            closed: AtomicBool::new(false),
            cancel: watch::Sender::new(false),
        }
    }

    /// Count a new run; `None` once a drain has begun.
    fn enter(&self) -> Option<FreshRun<'_>> {
        self.running.send_modify(|n| *n += 1);
        let run = FreshRun(self);
        (!self.closed.load(Ordering::SeqCst)).then_some(run)
    }

    /// Resolves when running `no_pool` runs must stop.
    fn cancelled(&self) -> impl Future<Output = ()> + use<> {
        let mut rx = self.cancel.subscribe();
        async move {
            let _ = rx.wait_for(|c| *c).await;
        }
    }

    /// Refuse new runs and wait for the running ones to end; with `force`,
    /// cancel them first and wait only a little.
    pub async fn drain(&self, force: bool) {
        self.closed.store(true, Ordering::SeqCst);
        if force {
            self.cancel.send_replace(true);
        }
        let mut rx = self.running.subscribe();
        let settled = rx.wait_for(|n| *n == 0);
        if force {
            let _ = tokio::time::timeout(FRESH_FORCE_GRACE, settled).await;
        } else {
            let _ = settled.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::timeout;

    async fn sandbox(backend: &crate::backend::memory::MemoryBackend) -> crate::backend::Sandbox {
        use crate::backend::Backend;
        let spec = SandboxSpec {
            image: "img".into(),
            pool: "python".into(),
            group: String::new(),
            labels: Vec::new(),
            limits: Default::default(),
            network: "none".into(),
            isolation: Default::default(),
            kubernetes: None,
            warm_interpreter: None,
            max_lifetime: None,
        };
        backend.create(&spec).await.unwrap()
    }

    #[tokio::test]
    async fn a_guest_killed_by_the_oom_killer_is_reported_as_the_memory_limit() {
        let backend =
            crate::backend::memory::MemoryBackend::with_delays(Duration::ZERO, Duration::ZERO);
        let mut sb = sandbox(&backend).await;
        let since = std::time::SystemTime::now();
        assert_eq!(
            oom_outcome(&*backend, &sb.id, since, Some(1 << 30)).await,
            None,
            "a live container was not killed"
        );
        backend.oom_kill(&sb.id);
        assert!(matches!(sb.guest.next().await, GuestEvent::Closed(_)));
        let (outcome, line) = oom_outcome(&*backend, &sb.id, since, Some(1 << 30))
            .await
            .expect("reported as the memory limit");
        assert_eq!(
            outcome,
            RunOutcome {
                code: 137,
                oom_killed: true,
                ..Default::default()
            }
        );
        assert_eq!(
            line,
            "sbx: the run exceeded its memory limit (1GiB) and was killed\n"
        );
        let (_, line) = oom_outcome(&*backend, &sb.id, since, None).await.unwrap();
        assert_eq!(
            line,
            "sbx: the run exceeded its memory limit and was killed\n"
        );
    }

    #[tokio::test]
    async fn a_guest_that_died_otherwise_is_not_blamed_on_memory() {
        let backend =
            crate::backend::memory::MemoryBackend::with_delays(Duration::ZERO, Duration::ZERO);
        let mut sb = sandbox(&backend).await;
        backend.kill(&sb.id);
        assert!(matches!(sb.guest.next().await, GuestEvent::Closed(_)));
        let since = std::time::SystemTime::now();
        assert_eq!(
            oom_outcome(&*backend, &sb.id, since, Some(1 << 30)).await,
            None
        );
    }

    #[tokio::test]
    async fn a_drain_waits_for_running_no_pool_runs_and_refuses_new_ones() {
        let runs = FreshRuns::new();
        let run = runs.enter().expect("open before a drain");
        let drain = runs.drain(false);
        tokio::pin!(drain);
        assert!(
            timeout(Duration::from_millis(50), &mut drain)
                .await
                .is_err(),
            "the drain waits while a run is counted"
        );
        assert!(runs.enter().is_none(), "new runs are refused meanwhile");
        drop(run);
        timeout(Duration::from_secs(5), drain)
            .await
            .expect("the drain ends once the run has");
    }

    #[tokio::test]
    async fn a_forced_drain_cancels_running_no_pool_runs() {
        let runs = FreshRuns::new();
        let run = runs.enter().unwrap();
        let cancelled = runs.cancelled();
        tokio::pin!(cancelled);
        assert!(
            timeout(Duration::from_millis(50), &mut cancelled)
                .await
                .is_err(),
            "no cancellation without a forced drain"
        );
        let drain = runs.drain(true);
        tokio::pin!(drain);
        tokio::select! {
            _ = &mut cancelled => {}
            _ = &mut drain => panic!("the drain ended while a run was still counted"),
        }
        drop(run);
        timeout(Duration::from_secs(5), drain)
            .await
            .expect("the drain ends once the cancelled run has");
    }
}
