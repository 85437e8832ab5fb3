//! The wire protocol between the `sbx` client and the per-user agent.
//!
//! # Framing
//!
//! Every message on the local socket is one frame:
//!
//! ```text
//! +----------------+---------+---------------------+
//! | length: u32 BE | kind: u8| payload (length - 1) |
//! +----------------+---------+---------------------+
//! ```
//!
//! `length` counts the kind byte and the payload and may not exceed
//! [`MAX_FRAME`]. The kinds are:
//!
//! * [`Kind::Control`]: a JSON document, a [`Request`] (client → agent) or a
//!   [`Response`] (agent → client);
//! * [`Kind::Stdout`] / [`Kind::Stderr`]: raw bytes a program wrote, in the
//!   order it wrote them, agent → client;
//! * [`Kind::Stdin`]: raw bytes for the program's stdin, client → agent.
//!
//! Program output travels as raw bytes rather than inside JSON so that
//! binary output costs nothing to encode and arrives exactly as written.
//! The same framing carries the agent ⇄ guest protocol (see `guest::wire`).
//!
//! # Conversation
//!
//! 0. On accept the agent checks the peer's credentials: a process of any
//!    other uid gets `Response::Error { kind: Forbidden }` and is closed.
//! 1. The client sends `Request::Hello` with [`PROTOCOL_VERSION`]; the agent
//!    answers `Response::Hello` with its own version, or
//!    `Response::Error { kind: VersionMismatch }`. The client need not wait
//!    for the answer: `sbx run` sends its `Run` right behind the greeting
//!    (one round trip less). After a mismatch the agent drops such a `Run`
//!    unread, and the only request it then accepts is `Request::Stop` (a
//!    client of another version retiring it); anything else closes the
//!    connection.
//! 2. The client sends one request. For `Run` it then streams `Stdin` frames
//!    and a final `Request::StdinEof` (and `Request::StdoutClosed` if its
//!    reader goes away, which stops the run); the agent streams `Stdout`/`Stderr`
//!    frames, then (when the run asked for its output directory) one
//!    `Response::OutFile` per chunk of each file the program left there, and
//!    ends with `Response::Exit` (or `Response::Error`). A `Run` with
//!    `no_pool` is served the same way by a container made for it alone,
//!    which is removed before `Exit` is sent. `PoolUp` gets any number of
//!    `Response::Build` (while the pool's libraries are installed into its
//!    image) and `Response::Progress` before its `Done`; other requests get
//!    a single reply. Before any of that, `Run`, `PoolUp` and
//!    `SessionStart` get `Response::Pull` messages while the agent pulls
//!    the pool's image (two clients needing one image share one pull), and
//!    `Pull` gets them for each image it names, then `Done`.
//!
//!    Sessions: `SessionStart` leases a container that stays the session's
//!    until `SessionStop`, its idle timeout or its lifetime; a `Run` naming
//!    the session (`RunRequest::session`) is served by that container, one
//!    run at a time in arrival order. `SessionInfo` (one session) and
//!    `SessionList` answer with what the agent knows of them.
//!
//! File contents inside JSON messages (`RunSpec::files`,
//! `Response::OutFile`) are base64 strings: JSON cannot carry arbitrary bytes,
//! and base64 keeps them exact.
//! 3. Either side closes. A client that disconnects mid-run cancels the run.
//!
//! # Stability across versions
//!
//! The framing, `Request::Hello`, `Request::Stop`, `Response::Hello`,
//! `Response::Error` and `Response::Done` never change shape, so any client
//! can recognise an agent of another version and ask it to make way. The
//! rest may change with [`PROTOCOL_VERSION`].

use crate::model::kube::KubeSettings;
use crate::model::pool::{Limits, PoolSettings};
pub use crate::model::pull::{PullPolicy, PullProgress};
pub use crate::model::run::{InputFile, OutFile};
use crate::model::run::{RunOutcome, RunSpec};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bumped whenever a message changes shape; client and agent must agree.
pub const PROTOCOL_VERSION: u32 = 13;

/// The protocol version this process speaks: [`PROTOCOL_VERSION`], unless
/// `SBX_TEST_PROTOCOL_VERSION` pretends otherwise. That variable exists so
/// the upgrade path (an agent of another version already running) can be
/// tested with one binary.
pub fn protocol_version() -> u32 {
    static V: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *V.get_or_init(|| {
        std::env::var("SBX_TEST_PROTOCOL_VERSION")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(PROTOCOL_VERSION)
    })
}

/// Largest frame either side accepts. Program output is chunked well below
/// this; the limit exists so junk on the socket cannot make us allocate
/// gigabytes.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Control = 0,
    Stdout = 1,
    Stderr = 2,
    Stdin = 3,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            0 => Some(Kind::Control),
            1 => Some(Kind::Stdout),
            2 => Some(Kind::Stderr),
            3 => Some(Kind::Stdin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: Kind,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn control<T: Serialize>(msg: &T) -> Frame {
        Frame {
            kind: Kind::Control,
            payload: serde_json::to_vec(msg).expect("protocol messages always serialize"),
        }
    }

    pub fn data(kind: Kind, payload: impl Into<Vec<u8>>) -> Frame {
        Frame {
            kind,
            payload: payload.into(),
        }
    }

    /// Decode a control payload; a data frame where a control frame was
    /// expected is a protocol error.
    pub fn parse<T: for<'de> Deserialize<'de>>(&self) -> Result<T, FrameError> {
        if self.kind != Kind::Control {
            return Err(FrameError::UnexpectedKind(self.kind as u8));
        }
        serde_json::from_slice(&self.payload).map_err(|e| FrameError::BadJson(e.to_string()))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.payload.len());
        out.extend_from_slice(&((self.payload.len() + 1) as u32).to_be_bytes());
        out.push(self.kind as u8);
        out.extend_from_slice(&self.payload);
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    #[error("empty frame")]
    Empty,
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("unexpected frame kind {0}")]
    UnexpectedKind(u8),
    #[error("malformed control message: {0}")]
    BadJson(String),
    #[error("truncated frame: the connection closed inside a {0}-byte frame")]
    Truncated(usize),
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn check_len(len: usize) -> Result<(), FrameError> {
    if len == 0 {
        Err(FrameError::Empty)
    } else if len > MAX_FRAME {
        Err(FrameError::TooLarge(len))
    } else {
        Ok(())
    }
}

fn finish(buf: Vec<u8>) -> Result<Frame, FrameError> {
    let kind = Kind::from_byte(buf[0]).ok_or(FrameError::UnknownKind(buf[0]))?;
    Ok(Frame {
        kind,
        payload: buf[1..].to_vec(),
    })
}

/// Read one frame. A clean EOF before the first byte is `Closed`; EOF inside
/// a frame is `Truncated`.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Frame, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    check_len(len)?;
    let mut buf = vec![0u8; len];
    match r.read_exact(&mut buf).await {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(FrameError::Truncated(len)),
        Err(e) => Err(e.into()),
        Ok(_) => finish(buf),
    }
}

pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &Frame) -> io::Result<()> {
    w.write_all(&frame.encode()).await?;
    w.flush().await
}

/// Blocking variants for the guest runner, which uses plain threads.
pub fn read_frame_sync<R: Read>(r: &mut R) -> Result<Frame, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    check_len(len)?;
    let mut buf = vec![0u8; len];
    match r.read_exact(&mut buf) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(FrameError::Truncated(len)),
        Err(e) => Err(e.into()),
        Ok(_) => finish(buf),
    }
}

pub fn write_frame_sync<W: Write>(w: &mut W, frame: &Frame) -> io::Result<()> {
    w.write_all(&frame.encode())?;
    w.flush()
}

/// Incremental decoder for byte streams that arrive in arbitrary chunks
/// (the container attach stream).
#[derive(Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
}

impl FrameDecoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Next complete frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes(self.buf[..4].try_into().unwrap()) as usize;
        check_len(len)?;
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let rest = self.buf.split_off(4 + len);
        let frame_bytes = std::mem::replace(&mut self.buf, rest);
        finish(frame_bytes[4..].to_vec()).map(Some)
    }
}

/// Which pool serves a run, as resolved by the client from the language
/// table and the user's configuration. Pools are keyed by this whole value,
/// so a changed image, size or policy gets a pool of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolSpec {
    /// Engine the client expects ("docker", "podman"); an agent connected
    /// to another engine refuses rather than silently using its own.
    pub backend: String,
    pub lang: String,
    pub image: String,
    /// Size and replacement policy (`[pool]` and the profile's own keys).
    pub settings: PoolSettings,
    /// What a config profile adds (empty for the built-in defaults).
    #[serde(default)]
    pub profile: ProfileSpec,
    /// How its containers are locked down and what one serves.
    #[serde(default)]
    pub isolation: crate::model::isolation::Isolation,
    /// `[kubernetes]` of the client's config, for pools of the Kubernetes
    /// backend (`None` for the others).
    #[serde(default)]
    pub kubernetes: Option<KubeSettings>,
}

impl PoolSpec {
    /// The language for the default profile, else the profile's pool name.
    pub fn name(&self) -> String {
        if self.profile.name.is_empty() {
            self.lang.clone()
        } else {
            self.profile.name.clone()
        }
    }

    /// Pools with the same identity but another `config_hash` were made
    /// from an older version of the config file.
    pub fn same_identity(&self, other: &PoolSpec) -> bool {
        self.backend == other.backend && self.lang == other.lang && self.name() == other.name()
    }
}

/// The part of a pool that comes from a `[profiles.NAME]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProfileSpec {
    /// Pool name: the profile's (with `-LANG` when the profile fixes no
    /// language); empty for the default profile, whose pools are named by
    /// language.
    pub name: String,
    /// Hash of the profile's settings as the config file has them.
    pub config_hash: String,
    /// Installed once into a derived image the pool's containers run.
    pub libraries: Vec<String>,
    pub limits: Limits,
    /// `none` or `bridge`.
    pub network: String,
    /// Most bytes of output a run may produce (enforced by the run path).
    pub output_limit: Option<u64>,
    /// CA bundle (host path, read by the agent) the library install trusts.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Environment of the library install only.
    pub build_env: Vec<(String, String)>,
    /// Network of the library install: `bridge` (default) or `host`.
    pub build_network: Option<String>,
    /// When the agent pulls the pool's image (`pull` of the profile).
    #[serde(default)]
    pub pull: PullPolicy,
    /// A pull that makes no progress for this long fails (`[images]
    /// pull_timeout`); `None`: never.
    #[serde(default)]
    pub pull_timeout: Option<std::time::Duration>,
    /// The interpreter each container keeps warm for runs (`None`: off,
    /// or nothing to keep warm for the language).
    #[serde(default)]
    pub warm_interpreter: Option<crate::model::run::WarmInterpreter>,
}

/// A run for the agent: which pool (or, with `no_pool`, which image and
/// engine) serves it, and the run itself, passed to the guest unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRequest {
    pub pool: PoolSpec,
    /// Run in a container made for this run alone and removed before the
    /// reply (`--no-pool`); `pool` then only names the image and engine,
    /// and no pool is created or touched.
    #[serde(default)]
    pub no_pool: bool,
    /// Served by this session's container (id or name) instead of a pooled
    /// one; `pool` must be the session's language.
    #[serde(default)]
    pub session: Option<String>,
    pub run: RunSpec,
}

/// `sbx session start`: what the session runs and how long it may live.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionStart {
    pub pool: PoolSpec,
    /// A name scripts can use instead of the id; unique among open sessions.
    pub name: Option<String>,
    /// Runs are cells of one long-lived interpreter (python, javascript).
    pub keep_state: bool,
    /// Ended after this long without a run.
    pub idle_timeout_ms: u64,
    /// Ended this long after it started, whatever it is doing.
    pub max_lifetime_ms: u64,
    /// `[sessions] max` of the client's config: open sessions per agent.
    pub max_sessions: usize,
    /// The profile chosen (`--profile`), which the session's runs use.
    pub profile: Option<String>,
}

/// A session as `sbx session ls` and `start --json` show it (field names
/// documented in the README and kept stable for scripts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub name: Option<String>,
    pub lang: String,
    /// Profile the session was started with (empty: the default one).
    pub profile: String,
    /// The pool its container was leased from.
    pub pool: String,
    pub keep_state: bool,
    pub container: String,
    pub age_ms: u64,
    /// Since its last run ended (or since it started); 0 while one runs.
    pub idle_ms: u64,
    pub runs: u64,
    /// A run is going on right now.
    pub busy: bool,
    pub idle_timeout_ms: u64,
    pub max_lifetime_ms: u64,
    /// Bytes of files in the sandbox's scratch locations after its last run.
    pub size_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    Hello {
        protocol: u32,
        version: String,
    },
    Run(RunRequest),
    SessionStart(SessionStart),
    /// End a session (id or name): its container is wiped and verified,
    /// then returned to its pool (or removed).
    SessionStop {
        session: String,
    },
    SessionInfo {
        session: String,
    },
    SessionList,
    StdinEof,
    /// During a run: the client's own stdout was closed by its reader
    /// (`| head -1`). The agent stops the run as it would for a client
    /// that went away, but still answers with `Exit`, after the container
    /// is back in its pool.
    StdoutClosed,
    PoolUp {
        pool: PoolSpec,
        warm: usize,
    },
    PoolStats,
    /// Remove every container and stop the agent.
    PoolDown,
    /// Drain every pool (busy runs finish, or are cancelled with `force`),
    /// remove every container and stop the agent.
    PoolDrain {
        force: bool,
        /// Only this profile's pools; the agent keeps running.
        #[serde(default)]
        profile: Option<String>,
    },
    Status,
    /// Pull `images` from their registries as `policy` says (`sbx pull`:
    /// always, whether or not the engine holds them; `sbx bench`: the
    /// profile's, before it measures anything); each pull gets
    /// `Response::Pull` progress, then one `Done` ends the request.
    Pull {
        backend: String,
        images: Vec<String>,
        timeout: Option<std::time::Duration>,
        policy: PullPolicy,
    },
    /// Stop the agent: it stops taking clients and gives up its socket at
    /// once (so a new agent can start), lets running requests finish
    /// (bounded), removes its containers and exits. With `wait` the reply
    /// (`Done`) comes after all that; without it, as soon as the socket is
    /// released. `upgrade` marks a client of another protocol version asking
    /// an older agent to make way; a newer agent refuses that.
    Stop {
        wait: bool,
        upgrade: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    VersionMismatch,
    BadRequest,
    /// The container engine failed (create, start, attach, ...).
    Engine,
    /// No container became free in time, or the pool is full and fails fast.
    Exhausted,
    /// The agent is shutting down.
    ShuttingDown,
    /// The connecting process is not the agent's owner.
    Forbidden,
    /// The run named a session that never existed or has ended.
    NoSession,
    Internal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Hello {
        protocol: u32,
        version: String,
        pid: u32,
    },
    Exit(RunExit),
    /// A chunk of a file the program wrote under its output directory
    /// (sent only when the run asked for it, before `Exit`).
    OutFile(OutFile),
    Error {
        kind: ErrorKind,
        message: String,
    },
    Stats {
        pools: Vec<PoolStats>,
        /// The agent's own memory.
        agent: AgentMemory,
    },
    Session(SessionInfo),
    Sessions {
        sessions: Vec<SessionInfo>,
    },
    Status {
        pid: u32,
        version: String,
        protocol: u32,
        uptime_ms: u64,
        engine: String,
        /// Whether the engine answered the agent's last check.
        engine_ok: bool,
        socket: String,
        log: String,
        pools: Vec<PoolStats>,
        /// Pools brought up explicitly (`sbx pool up`) keep the agent alive.
        pinned: bool,
        /// Idle time after which an unpinned agent exits; 0 means never.
        idle_exit_ms: u64,
        /// `key=value` label on every container of this agent.
        label: String,
        memory: AgentMemory,
    },
    Done {
        message: String,
    },
    /// `PoolUp` building the pool's image with its libraries: a step of
    /// sbx's own, or (`output`) a line of the installer's output.
    Build {
        message: String,
        output: bool,
    },
    /// `PoolUp` in progress: `ready` of `target` containers are warm;
    /// `starting`: the phase of each one still being created, where the
    /// backend reports one (Kubernetes: `Pending`, `ContainerCreating`).
    Progress {
        ready: usize,
        target: usize,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        starting: Vec<String>,
    },
    /// An image being pulled for this request (`Run`, `PoolUp`,
    /// `SessionStart`, `Pull`),
    /// before anything else of it happens; the last one has `done`.
    Pull(PullProgress),
}

/// How a run ended, with what a script needs to account for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunExit {
    /// What the guest reported.
    pub outcome: RunOutcome,
    /// From sending the program to the container until it ended (build
    /// step included), in milliseconds.
    pub duration_ms: u64,
    /// Time spent waiting for a container (warm: ~0; cold: creation).
    pub wait_ms: u64,
    pub container: String,
    pub image: String,
    pub pool: String,
}

/// The agent process's memory, from `/proc/self/status` (in the stats
/// JSON as `agent`; field names kept stable for scripts).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentMemory {
    /// Resident now (VmRSS), bytes.
    pub rss_bytes: u64,
    /// The most ever resident (VmHWM), bytes.
    pub peak_rss_bytes: u64,
}

impl AgentMemory {
    /// This process's figures; zeros where /proc cannot tell.
    pub fn of_self() -> AgentMemory {
        AgentMemory::parse(&std::fs::read_to_string("/proc/self/status").unwrap_or_default())
    }

    fn parse(status: &str) -> AgentMemory {
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(0, |k| k * 1024)
        };
        AgentMemory {
            rss_bytes: kib("VmRSS:"),
            peak_rss_bytes: kib("VmHWM:"),
        }
    }
}

/// Counters and latency summaries run from when the pool came up.
/// One pool's figures, as `sbx pool stats --json` prints them (the field
/// names are documented in the README and kept stable for scripts).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PoolStats {
    pub name: String,
    /// Stable short id of the pool's whole configuration: two pools of one
    /// language with different settings have different ids.
    pub id: String,
    pub profile: String,
    pub backend: String,
    pub image: String,
    pub lang: String,
    /// Members: initializing, idle and busy containers (bounded by `max_size`).
    pub total_size: usize,
    pub max_size: usize,
    pub min_size: usize,
    pub state_counts: StateCounts,
    // The state counts again at the top level, as the first version of
    // this document had them (scripts read `.idle`).
    pub initializing: usize,
    pub idle: usize,
    pub busy: usize,
    /// Failed a health check (or died) and is being removed.
    pub unhealthy: usize,
    pub removing: usize,
    /// Overflow containers outside `max_size` (exhaustion = temporary),
    /// alive now in any state.
    pub temporary: usize,
    /// busy / max_size, from 0 to 1.
    pub utilization: f64,
    pub exhaustion: String,
    /// When the pool came up, in seconds since the Unix epoch.
    pub start_time_seconds: f64,
    /// Completed runs (a run whose container failed mid-run is not one).
    pub runs: u64,
    /// Runs killed for exceeding their timeout.
    pub timeouts: u64,
    /// Acquisitions that found all `max_size` containers busy and queued.
    pub waited: u64,
    /// Acquisitions refused because the pool was exhausted (fail-fast, or
    /// `acquisition_timeout` passed).
    pub exhausted: u64,
    /// From asking for a container to having one, per acquisition served.
    pub wait_seconds: Latency,
    /// From a run's start to its program's exit, per run.
    pub run_seconds: Latency,
    /// Pool containers created (temporaries not included).
    pub created: u64,
    pub created_by_reason: CreatedByReason,
    /// Pool containers removed (temporaries not included).
    pub removed: u64,
    pub removed_by_reason: RemovedByReason,
    pub temporary_created: u64,
    pub temporary_removed: u64,
    /// Containers found dead or failing a health check since the pool began.
    pub unhealthy_total: u64,
    /// The pool takes no more runs (it is draining or shut down).
    pub closed: bool,
    /// Open sessions holding one of its containers (counted in `busy`).
    #[serde(default)]
    pub sessions: usize,
    /// Its containers run without the memory and process limits asked
    /// for: the engine does not apply them (rootless on cgroup v1) and
    /// `[isolation] allow_unlimited = true` accepted that.
    #[serde(default)]
    pub limits_unapplied: bool,
    /// Its sandboxes have no cgroup and run each program under rlimits
    /// instead: memory bounds each process, not their sum, and there is
    /// no CPU limit (bubblewrap as an ordinary user).
    #[serde(default)]
    pub limits_per_process: bool,
    /// The interpreter its containers keep warm: `on`, `on, preloads
    /// numpy pandas` or `off`; empty for a language without one.
    #[serde(default)]
    pub warm_interpreter: String,
}

/// Containers in each state right now.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateCounts {
    pub initializing: usize,
    pub idle: usize,
    pub busy: usize,
    pub unhealthy: usize,
    pub removing: usize,
}

/// A latency summary: `count` observations adding up to `sum` seconds;
/// `median` and `p95` (nearest rank, seconds) are `null` before the first.
/// Past 1024 observations the quantiles come from a uniform random sample
/// of 1024 of them, so memory stays bounded.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub count: u64,
    pub sum: f64,
    pub median: Option<f64>,
    pub p95: Option<f64>,
}

/// Why pool containers were created.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreatedByReason {
    /// Prewarm, `sbx pool up`, refilling to `min_size`.
    pub warm: u64,
    /// A run found no idle container.
    pub demand: u64,
    /// Taking the place of a container idle too long at `min_size`.
    pub replacement: u64,
}

/// Why pool containers were removed.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RemovedByReason {
    /// Idle longer than `idle_timeout`.
    pub idle: u64,
    /// Older than `max_lifetime`.
    pub lifetime: u64,
    /// Used `max_uses` times.
    pub uses: u64,
    /// Found dead or failing a health check.
    pub unhealthy: u64,
    /// Its run failed or its clean-up could not be proven.
    pub error: u64,
    /// The pool was drained or shut down.
    pub shutdown: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_memory_is_read_from_proc_status_lines() {
        let status = "Name:\tsbx\nVmHWM:\t   40960 kB\nVmRSS:\t   12288 kB\nThreads:\t4\n";
        assert_eq!(
            AgentMemory::parse(status),
            AgentMemory {
                rss_bytes: 12 << 20,
                peak_rss_bytes: 40 << 20
            }
        );
        let me = AgentMemory::of_self();
        assert!(
            me.rss_bytes > 0 && me.peak_rss_bytes >= me.rss_bytes,
            "{me:?}"
        );
    }

    #[test]
    fn a_frame_survives_a_round_trip_through_arbitrary_chunking() {
        let frames = vec![
            Frame::control(&Request::PoolStats),
            Frame::data(Kind::Stdout, b"hello\n".to_vec()),
            Frame::data(Kind::Stderr, Vec::new()),
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(|f| f.encode()).collect();
        for chunk in [1, 2, 3, 7, bytes.len()] {
            let mut dec = FrameDecoder::default();
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                dec.push(piece);
                while let Some(f) = dec.next_frame().unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(got, frames, "chunk size {chunk}");
        }
    }

    #[test]
    fn binary_file_contents_survive_the_json_encoding_exactly() {
        let file = InputFile {
            path: "data.bin".into(),
            mode: 0o755,
            contents: (0..=255u8).chain([0xff, 0xfe, 0, b'\n']).collect(),
        };
        let json = serde_json::to_string(&file).unwrap();
        assert!(json.is_ascii(), "{json}");
        assert_eq!(serde_json::from_str::<InputFile>(&json).unwrap(), file);
        let bad = json.replace(
            &json[json.find("\"contents\":\"").unwrap() + 12..json.len() - 2],
            "!!",
        );
        assert!(serde_json::from_str::<InputFile>(&bad).is_err());
    }

    #[test]
    fn an_oversized_length_is_rejected_before_allocating() {
        let mut dec = FrameDecoder::default();
        dec.push(&u32::MAX.to_be_bytes());
        assert!(matches!(dec.next_frame(), Err(FrameError::TooLarge(_))));
    }

    #[test]
    fn an_unknown_kind_is_an_error_not_a_panic() {
        let mut r: &[u8] = &[0, 0, 0, 1, 9];
        assert!(matches!(
            read_frame_sync(&mut r),
            Err(FrameError::UnknownKind(9))
        ));
    }

    #[test]
    fn a_truncated_frame_is_an_error_and_a_clean_eof_is_closed() {
        let mut r: &[u8] = &[0, 0, 0, 5, 1, b'a'];
        assert!(matches!(
            read_frame_sync(&mut r),
            Err(FrameError::Truncated(5))
        ));
        let mut r: &[u8] = &[];
        assert!(matches!(read_frame_sync(&mut r), Err(FrameError::Closed)));
    }
}
