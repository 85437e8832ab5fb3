//! The client side: reach the agent (starting it if needed), make requests,
//! stream a run's output.
//!
//! Start-up follows a lock-probe-spawn pattern: try the socket; if nobody
//! answers, take the spawn lock (so racing clients start one agent, not
//! twenty), probe again, then spawn `sbx agent serve` detached from the
//! terminal with its stderr in the agent log, and poll until it answers.
//! If the agent exits instead, its last log line — its real reason — is
//! the error the user sees.
//!
//! An agent of another protocol version (sbx was upgraded while it ran) is
//! asked to make way: it gives up the socket at once, finishes its own runs
//! in the background, and this client starts a current agent.

use crate::model::target::Target;
use crate::paths::{RuntimePaths, lock_file};
use crate::protocol::{
    ErrorKind, Frame, FrameError, Kind, OutFile, Request, Response, RunExit, protocol_version,
    read_frame, write_frame,
};
use interprocess::local_socket::GenericFilePath;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

/// How long a new agent may take to come up (engine connection and reaping
/// included) before the client gives up.
const SPAWN_TIMEOUT: Duration = Duration::from_secs(30);

/// A log bigger than this is rotated before a new agent appends to it.
const LOG_ROTATE_AT_SPAWN: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no sbx agent is running")]
    NotRunning,
    #[error("the sbx agent could not start: {0}")]
    AgentFailed(String),
    #[error("{0}")]
    Paths(#[from] crate::paths::PathError),
    #[error("lost the connection to the sbx agent ({0}); see {1} and retry")]
    Lost(String, String),
    #[error("{message}")]
    Agent { kind: ErrorKind, message: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub struct Client {
    r: ReadHalf<Stream>,
    w: WriteHalf<Stream>,
    paths: RuntimePaths,
}

async fn try_connect(paths: &RuntimePaths) -> std::io::Result<Stream> {
    let sock = paths.socket();
    let name = sock.as_path().to_fs_name::<GenericFilePath>()?;
    Stream::connect(name).await
}

/// The agent's statement of the two versions (older agents appended advice
/// of their own after a `;`), with what to do about it.
fn mismatch(message: &str) -> ClientError {
    let facts = message.split(';').next().unwrap_or(message);
    ClientError::Agent {
        kind: ErrorKind::VersionMismatch,
        message: format!("{facts}; run `sbx agent restart` to replace it"),
    }
}

/// How a handshake ended.
enum Handshake {
    Ok(Client),
    /// The agent speaks another protocol; the connection is still open for
    /// a `Stop`.
    Mismatch(Client, String),
}

impl Client {
    /// Connect to the running agent; with `spawn`, start one serving that
    /// target if needed (or replace one of another version).
    pub async fn connect(spawn: Option<&Target>) -> Result<Client, ClientError> {
        Client::open(spawn, None).await
    }

    /// As `connect`, with `first` sent right behind the greeting instead
    /// of after its answer: a run saves a round trip to the agent. An agent
    /// that turns the greeting down drops `first` unread (see agent/conn.rs),
    /// and each agent this reaches gets it anew, so it is acted on once.
    async fn open(spawn: Option<&Target>, first: Option<&Request>) -> Result<Client, ClientError> {
        let paths = RuntimePaths::from_env();
        let handshake = match (try_connect(&paths).await, spawn) {
            (Ok(s), _) => Client::handshake(s, paths.clone(), first).await,
            (Err(e), None) => {
                crate::verbose!("no agent on {} ({e})", paths.socket().display());
                return Err(ClientError::NotRunning);
            }
            (Err(e), Some(target)) => {
                crate::verbose!(
                    "no agent on {} ({e}); starting one",
                    paths.socket().display()
                );
                let stream = spawn_agent(&paths, target).await?;
                Client::handshake(stream, paths.clone(), first).await
            }
        };
        let handshake = match (handshake, spawn) {
            // An agent that was dying as we connected (killed a moment
            // ago: its socket still took the connection) is replaced.
            (Err(ClientError::Lost(why, _)), Some(target)) => {
                crate::verbose!("the agent hung up during the handshake ({why}); starting one");
                let stream = spawn_agent(&paths, target).await?;
                Client::handshake(stream, paths.clone(), first).await?
            }
            (other, _) => other?,
        };
        match (handshake, spawn) {
            (Handshake::Ok(client), _) => Ok(client),
            (Handshake::Mismatch(_, message), None) => Err(mismatch(&message)),
            (Handshake::Mismatch(old, message), Some(target)) => {
                crate::verbose!("{message}");
                let reply = match old.retire(false, true).await {
                    Err(ClientError::Lost(..)) => terminate_old_agent(&paths).await?,
                    other => other?,
                };
                crate::verbose!("{reply}");
                let stream = spawn_agent(&paths, target).await?;
                match Client::handshake(stream, paths, first).await? {
                    Handshake::Ok(client) => Ok(client),
                    Handshake::Mismatch(_, message) => Err(mismatch(&message)),
                }
            }
        }
    }

    async fn handshake(
        stream: Stream,
        paths: RuntimePaths,
        first: Option<&Request>,
    ) -> Result<Handshake, ClientError> {
        // Our code and environment go to whoever listens on the socket: make
        // sure that is us, as the agent makes sure we are its owner.
        let me = crate::paths::uid();
        if let Some(uid) = stream.peer_creds().ok().and_then(|c| c.euid())
            && uid != me
        {
            return Err(ClientError::Agent {
                kind: ErrorKind::Forbidden,
                message: format!(
                    "the sbx agent at {} belongs to uid {uid}, not to you (uid {me}); nothing was sent to it (unset SBX_RUNTIME_DIR to use your own)",
                    paths.socket().display()
                ),
            });
        }
        let (r, w) = tokio::io::split(stream);
        let mut client = Client { r, w, paths };
        // One write: the agent wakes once for both.
        let mut bytes = Frame::control(&Request::Hello {
            protocol: protocol_version(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
        .encode();
        if let Some(req) = first {
            bytes.extend(Frame::control(req).encode());
        }
        if let Err(e) = client.w.write_all(&bytes).await {
            return Err(client.lost(e.to_string()));
        }
        match client.recv_control().await? {
            Response::Hello {
                protocol,
                version,
                pid,
            } => {
                crate::verbose!(
                    "agent pid {pid} (sbx {version}, protocol {protocol}) on {}",
                    client.paths.socket().display()
                );
                Ok(Handshake::Ok(client))
            }
            Response::Error {
                kind: ErrorKind::VersionMismatch,
                message,
            } => Ok(Handshake::Mismatch(client, message)),
            Response::Error { kind, message } => Err(ClientError::Agent { kind, message }),
            other => Err(client.lost(format!("unexpected handshake reply {other:?}"))),
        }
    }

    /// Ask the agent at the other end to stop (see `Request::Stop`); works
    /// after a mismatched handshake too. Returns the agent's answer.
    async fn retire(mut self, wait: bool, upgrade: bool) -> Result<String, ClientError> {
        match self.request(&Request::Stop { wait, upgrade }).await? {
            Response::Done { message } => Ok(message),
            other => Err(self.lost(format!("unexpected reply to stop: {other:?}"))),
        }
    }

    fn lost(&self, why: impl Into<String>) -> ClientError {
        ClientError::Lost(why.into(), self.paths.log().display().to_string())
    }

    pub async fn send(&mut self, req: &Request) -> Result<(), ClientError> {
        write_frame(&mut self.w, &Frame::control(req))
            .await
            .map_err(|e| self.lost(e.to_string()))
    }

    async fn recv(&mut self) -> Result<Frame, ClientError> {
        match read_frame(&mut self.r).await {
            Ok(f) => Ok(f),
            Err(FrameError::Closed) => Err(self.lost("the agent closed the connection")),
            Err(e) => Err(self.lost(e.to_string())),
        }
    }

    pub async fn recv_control(&mut self) -> Result<Response, ClientError> {
        let frame = self.recv().await?;
        frame
            .parse::<Response>()
            .map_err(|e| self.lost(e.to_string()))
    }

    /// Send one request and return its single reply (shown before it: the
    /// progress of an image pull it waited for); agent errors become
    /// `ClientError::Agent`.
    pub async fn request(&mut self, req: &Request) -> Result<Response, ClientError> {
        self.send(req).await?;
        let mut pulls = PullView::new();
        loop {
            match self.recv_control().await? {
                Response::Pull(p) => pulls.show(&p),
                Response::Error { kind, message } => {
                    return Err(ClientError::Agent { kind, message });
                }
                other => return Ok(other),
            }
        }
    }

    /// Run a program through the agent serving `spawn` (started if need
    /// be): give it `stdin`, pass each chunk of an
    /// output-directory file to `on_file`, and return how it ended. Its
    /// output is written to ours as it arrives, or with `collect` kept in
    /// the result instead.
    pub async fn run(
        spawn: &Target,
        req: Request,
        stdin: RunStdin,
        collect: bool,
        on_file: &mut (dyn FnMut(OutFile) + Send),
    ) -> Result<RunOutput, ClientError> {
        let Client { mut r, w, paths } = Client::open(Some(spawn), Some(&req)).await?;
        // Shared by the stdin forwarder and the loop below, which tells the
        // agent when our own stdout is closed.
        let w = std::sync::Arc::new(tokio::sync::Mutex::new(w));
        let stdin_w = w.clone();
        let stdin_task = tokio::spawn(async move {
            match stdin {
                RunStdin::Forward => {
                    let mut stdin = tokio::io::stdin();
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        match stdin.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                let frame = Frame::data(Kind::Stdin, buf[..n].to_vec());
                                if write_frame(&mut *stdin_w.lock().await, &frame)
                                    .await
                                    .is_err()
                                {
                                    return;
                                }
                            }
                        }
                    }
                }
                RunStdin::Bytes(data) => {
                    for chunk in data.chunks(32 * 1024) {
                        let frame = Frame::data(Kind::Stdin, chunk.to_vec());
                        if write_frame(&mut *stdin_w.lock().await, &frame)
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
                RunStdin::Empty => {}
            }
            let eof = Frame::control(&Request::StdinEof);
            let _ = write_frame(&mut *stdin_w.lock().await, &eof).await;
        });

        let lost = |why: String| ClientError::Lost(why, paths.log().display().to_string());
        let mut out = std::io::stdout();
        let mut err = std::io::stderr();
        let mut collected = RunOutput::default();
        let mut pulls = PullView::new();
        let result = loop {
            let frame = match read_frame(&mut r).await {
                Ok(f) => f,
                Err(FrameError::Closed) => {
                    break Err(lost("the agent closed the connection mid-run".into()));
                }
                Err(e) => break Err(lost(e.to_string())),
            };
            match frame.kind {
                Kind::Stdout if collect => collected.stdout.extend_from_slice(&frame.payload),
                Kind::Stderr if collect => collected.stderr.extend_from_slice(&frame.payload),
                Kind::Stdout => {
                    // Whoever read our stdout went away (`| head -1`): the
                    // run ends now, as a pipeline's writer would on
                    // SIGPIPE, but its exit still arrives (the container
                    // goes back to its pool before the agent answers).
                    if !collected.stdout_closed
                        && (out.write_all(&frame.payload).is_err() || out.flush().is_err())
                    {
                        collected.stdout_closed = true;
                        crate::verbose!("stdout was closed by its reader; stopping the run");
                        let stop = Frame::control(&Request::StdoutClosed);
                        if write_frame(&mut *w.lock().await, &stop).await.is_err() {
                            break Err(lost("the agent closed the connection mid-run".into()));
                        }
                    }
                }
                Kind::Stderr => {
                    let _ = err.write_all(&frame.payload);
                    let _ = err.flush();
                }
                Kind::Control => match frame.parse::<Response>() {
                    Ok(Response::OutFile(f)) => on_file(f),
                    Ok(Response::Pull(p)) => pulls.show(&p),
                    Ok(Response::Exit(exit)) => {
                        collected.exit = exit;
                        break Ok(collected);
                    }
                    Ok(Response::Error { kind, message }) => {
                        break Err(ClientError::Agent { kind, message });
                    }
                    Ok(other) => break Err(lost(format!("unexpected reply {other:?}"))),
                    Err(e) => break Err(lost(e.to_string())),
                },
                Kind::Stdin => break Err(lost("the agent sent a stdin frame".into())),
            }
        };
        stdin_task.abort();
        result
    }
}

/// What a run reads on its stdin.
pub enum RunStdin {
    /// Ours, as it arrives.
    Forward,
    /// These bytes, then EOF.
    Bytes(Vec<u8>),
    /// EOF at once.
    Empty,
}

/// The outcome of one run; `stdout`/`stderr` are filled only when the
/// caller asked to collect them rather than stream them.
#[derive(Debug, Default)]
pub struct RunOutput {
    pub exit: RunExit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Our stdout was closed by its reader, so the run was stopped.
    pub stdout_closed: bool,
}

/// Stop the running agent of any version, waiting until it has drained and
/// removed its containers. `None` when no agent is running.
pub async fn stop_agent() -> Result<Option<String>, ClientError> {
    let paths = RuntimePaths::from_env();
    let stream = match try_connect(&paths).await {
        Ok(s) => s,
        Err(_) => return Ok(None),
    };
    let client = match Client::handshake(stream, paths.clone(), None).await? {
        Handshake::Ok(c) => c,
        Handshake::Mismatch(c, message) => {
            crate::verbose!("{message}");
            c
        }
    };
    match client.retire(true, false).await {
        Err(ClientError::Lost(..)) => terminate_old_agent(&paths).await.map(Some),
        other => other.map(Some),
    }
}

/// For an agent too old to understand `Stop` (protocol 1 hangs up after a
/// version mismatch): SIGTERM the pid in its lock file, once it is certain
/// to be an sbx agent of this user, and wait until it is gone.
async fn terminate_old_agent(paths: &RuntimePaths) -> Result<String, ClientError> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |why: String| {
        ClientError::AgentFailed(format!(
            "the running agent is of an older sbx and did not stop: {why}; stop it by hand (its pid is in {})",
            paths.agent_lock().display()
        ))
    };
    let pid: i32 = std::fs::read_to_string(paths.agent_lock())
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| refuse("no pid in its lock file".into()))?;
    let proc_dir = format!("/proc/{pid}");
    let cmdline = std::fs::read(format!("{proc_dir}/cmdline")).unwrap_or_default();
    let ours = std::fs::metadata(&proc_dir).is_ok_and(|m| m.uid() == crate::paths::uid());
    if !ours || !cmdline.windows(12).any(|w| w == b"agent\0serve\0") {
        return Err(refuse(format!("pid {pid} is not an sbx agent of yours")));
    }
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Err(refuse(std::io::Error::last_os_error().to_string()));
    }
    let started = Instant::now();
    // A zombie counts as gone: it holds no lock and no socket any more.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
            st.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X']))
        })
    };
    while running() {
        if started.elapsed() > SPAWN_TIMEOUT {
            return Err(refuse(format!("pid {pid} is still running")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(format!("agent stopped (pid {pid})"))
}

/// The agent's last words in its log after byte `from` (where this client's
/// spawn began), for when it exits before answering.
fn log_tail(paths: &RuntimePaths, from: u64) -> String {
    std::fs::read(paths.log())
        .ok()
        .map(|log| {
            String::from_utf8_lossy(log.get(from as usize..).unwrap_or_default()).into_owned()
        })
        .and_then(|log| {
            log.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim_start_matches("sbx agent: ").to_string())
        })
        .unwrap_or_else(|| format!("it exited without a message; see {}", paths.log().display()))
}

/// Start an agent serving `target` and connect to it. The target reaches
/// it through its environment, the one place it leaves this process.
async fn spawn_agent(paths: &RuntimePaths, target: &Target) -> Result<Stream, ClientError> {
    paths.ensure()?;
    let lock_path = paths.spawn_lock();
    let _lock = tokio::task::spawn_blocking(move || lock_file(&lock_path, true))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    // Another client may have started it while we waited for the lock.
    if let Ok(s) = try_connect(paths).await {
        return Ok(s);
    }

    // The log is appended to, so a predecessor's last words survive for
    // `sbx agent logs`; it is rotated here and by the agent as it grows.
    let _ = paths.rotate_log(LOG_ROTATE_AT_SPAWN);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.log())
        .map_err(|e| {
            ClientError::AgentFailed(format!(
                "cannot open its log {}: {e}; fix the path (SBX_LOG) or its directory",
                paths.log().display()
            ))
        })?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    if crate::verbose::on() {
        cmd.arg("-v");
    }
    for (var, value) in target.agent_env() {
        match value {
            Some(v) => cmd.env(var, v),
            None => cmd.env_remove(var),
        };
    }
    cmd.args(["agent", "serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .current_dir("/");
    // A session of its own: the terminal's Ctrl-C or hang-up must not reach
    // the agent, which outlives this client.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| ClientError::AgentFailed(format!("cannot execute sbx: {e}")))?;
    crate::verbose!(
        "spawned agent pid {} (log: {})",
        child.id(),
        paths.log().display()
    );

    let started = Instant::now();
    let mut delay = Duration::from_millis(5);
    loop {
        if let Ok(s) = try_connect(paths).await {
            return Ok(s);
        }
        if let Ok(Some(_status)) = child.try_wait() {
            // It may have lost a race to an agent that is now serving.
            if let Ok(s) = try_connect(paths).await {
                return Ok(s);
            }
            return Err(ClientError::AgentFailed(log_tail(paths, log_start)));
        }
        if started.elapsed() > SPAWN_TIMEOUT {
            return Err(ClientError::AgentFailed(format!(
                "it did not answer within {SPAWN_TIMEOUT:?}; last log line: {}",
                log_tail(paths, log_start)
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

/// An image pull as the user sees it while a request waits for it: on a
/// terminal one bar per image on stderr (bytes of layers downloaded, or
/// layers done where the engine reports no bytes), cleared when the pull
/// ends; without one, a plain line when it starts and one when it ends.
/// Nothing with `-q`. A pull always ends before a program starts, so
/// neither ever mixes with the program's output.
#[derive(Default)]
pub struct PullView {
    bars: std::collections::HashMap<String, indicatif::ProgressBar>,
    started: std::collections::HashSet<String>,
}

impl PullView {
    pub fn new() -> PullView {
        PullView::default()
    }

    pub fn show(&mut self, p: &crate::protocol::PullProgress) {
        use std::io::IsTerminal;
        if crate::verbose::quiet() {
            return;
        }
        if p.done {
            if let Some(bar) = self.bars.remove(&p.image) {
                bar.finish_and_clear();
            }
            eprintln!("sbx: {}", pulled_line(p));
            return;
        }
        if !std::io::stderr().is_terminal() {
            if self.started.insert(p.image.clone()) {
                eprintln!("sbx: pulling {}", p.image);
            }
            return;
        }
        let bar = self.bars.entry(p.image.clone()).or_insert_with(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_prefix(format!("pulling {}", p.image));
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        let (template, len, pos) = if p.bytes > 0 {
            (
                "{prefix} {bar:30} {binary_bytes}/{binary_total_bytes} {msg} ({elapsed})",
                p.bytes,
                p.bytes_done,
            )
        } else {
            (
                "{prefix} {bar:30} {pos}/{len} layers ({elapsed})",
                p.layers as u64,
                p.layers_done as u64,
            )
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_length(len);
        bar.set_position(pos);
        bar.set_message(format!("{}/{} layers", p.layers_done, p.layers));
    }
}

impl Drop for PullView {
    /// A pull that failed leaves no half-drawn bar above the error.
    fn drop(&mut self) {
        for (_, bar) in self.bars.drain() {
            bar.finish_and_clear();
        }
    }
}

/// `pulled IMAGE in 12.3s, 48.2 MiB downloaded`: the bytes downloaded
/// (in the bar's units), else (every layer was already there, or the
/// engine does not count bytes) the image's size.
pub fn pulled_line(p: &crate::protocol::PullProgress) -> String {
    let secs = p.elapsed_ms as f64 / 1000.0;
    let mb = |b: u64| format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64);
    match (p.bytes_done, p.size) {
        (0, Some(size)) => format!("pulled {} in {secs:.1}s, {}", p.image, mb(size)),
        (0, None) => format!("pulled {} in {secs:.1}s", p.image),
        (bytes, _) => format!("pulled {} in {secs:.1}s, {} downloaded", p.image, mb(bytes)),
    }
}
