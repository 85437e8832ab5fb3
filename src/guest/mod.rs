//! The guest runner: `sbx guest`, the command of every pooled container.
//!
//! It is started once per container and serves runs over the container's
//! attached stdin/stdout for as long as the agent holds the stream open, so a
//! run costs one round trip on an open stream plus the interpreter's start,
//! instead of an engine exec (~70 ms) per run.
//!
//! Between runs it restores a pristine state: every process the run started
//! is killed (as PID 1 of the container's PID namespace a single
//! `kill(-1, SIGKILL)` reaches double-forked daemons and processes that left
//! their process group), every writable scratch location is wiped, and the
//! result is verified. If it cannot prove the container clean it says so and
//! the agent recycles the container.
//!
//! It uses plain threads rather than an async runtime: it handles one run at
//! a time and must stay small and predictable inside arbitrary images.

mod cell;
mod warm;
pub mod wire;

use crate::protocol::{Frame, FrameError, Kind, read_frame_sync, write_frame_sync};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use wire::{
    BUILD_DIR, CACHE_DIR, FromGuest, GuestFile, HOME_DIR, OUT_DIR, OutFile, RunOutcome, RunSpec,
    ToGuest, WORK_DIR,
};

/// Writable places a run can leave traces in; wiped after every run. With
/// the read-only root filesystem the agent sets up, these tmpfs mounts
/// (`wire::SCRATCH_MOUNTS`) are every place the program can write, plus
/// POSIX message queues (wiped) and System V IPC objects (removed). The
/// cache area `wire::CACHE_DIR` is wiped too, except the directory of the
/// toolchain cache the run's language keeps on purpose (see lang.rs).
const SCRATCH_DIRS: &[&str] = &[
    WORK_DIR, HOME_DIR, BUILD_DIR, OUT_DIR, "/tmp", "/var/tmp", "/dev/shm",
];
/// POSIX message queues outlive their creator; wiped but not a tmpfs of
/// ours (the engine mounts it), so its root is left as it is.
const MQUEUE_DIR: &str = "/dev/mqueue";

/// The unprivileged user programs run as (`wire::GUEST_USER_ENV`), or
/// `None` to run them as the guest's own user (a guest started without
/// the agent's container set-up).
fn program_user() -> Option<(u32, u32)> {
    static USER: std::sync::OnceLock<Option<(u32, u32)>> = std::sync::OnceLock::new();
    *USER.get_or_init(|| {
        let v = std::env::var(wire::GUEST_USER_ENV).ok()?;
        let (u, g) = v.split_once(':')?;
        Some((u.parse().ok()?, g.parse().ok()?))
    })
}

/// The program user's name: its `/etc/passwd` entry's (which the agent
/// adds for a uid of the container's own), else `sandbox`, so tools that
/// read `USER`/`LOGNAME` first (Python's `getpass`) work even where the
/// image's passwd cannot be given an entry (a remote engine).
fn program_user_name() -> Option<&'static str> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let (uid, _) = program_user()?;
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let name = passwd.lines().find_map(|line| {
            let mut f = line.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        });
        Some(name.unwrap_or_else(|| "sandbox".into()))
    })
    .as_deref()
}

/// Chunk size of `--out` file transfers. Small like the output chunks: the
/// agent buffers up to `backend::EVENT_BUFFER` events per container, so
/// this bounds what a slow client can make the agent hold (~5 MiB).
const OUT_CHUNK: usize = 64 * 1024;
/// Most bytes `--out` brings back from one run; the rest is reported, not
/// sent, so a program cannot make the client write without bound.
const OUT_TOTAL_LIMIT: u64 = 256 * 1024 * 1024;

fn send(frame: &Frame) {
    // StdoutLock serializes whole frames between the output threads.
    let mut out = io::stdout().lock();
    if write_frame_sync(&mut out, frame).is_err() {
        // The agent is gone; the main loop sees EOF on stdin and exits.
    }
}

fn send_msg(msg: &FromGuest) {
    send(&Frame::control(msg));
}

/// A line on the program's stderr from sbx itself (not counted against the
/// output limit, so it is never what gets cut).
fn tell(msg: &str) {
    send(&Frame::data(Kind::Stderr, format!("sbx: {msg}\n")));
}

fn log(msg: &str) {
    eprintln!("sbx-guest[{}]: {msg}", std::process::id());
}

/// Shared between the main loop (cancel), the watchdog (timeout) and the
/// thread that runs the steps.
#[derive(Default)]
struct Control {
    /// Process group of the step running now (0: none yet).
    pgid: AtomicI32,
    timed_out: AtomicBool,
    cancelled: AtomicBool,
    /// 1 + the stream (0 stdout, 1 stderr) whose output limit stopped the
    /// run first; 0 while none has.
    output_limit: AtomicUsize,
    /// The step running now is the run's last, and nothing reads the
    /// container between it and the clean-up: what it leaves running may
    /// be killed there, after the exit is reported, rather than before.
    last_step: AtomicBool,
}

impl Control {
    fn stopped(&self) -> bool {
        self.timed_out.load(Ordering::SeqCst)
            || self.cancelled.load(Ordering::SeqCst)
            || self.output_limit.load(Ordering::SeqCst) != 0
    }

    /// The stream whose output limit stopped the run, if one did.
    fn output_limit(&self) -> Option<usize> {
        self.output_limit.load(Ordering::SeqCst).checked_sub(1)
    }

    fn kill(&self) {
        kill_all(self.pgid.load(Ordering::SeqCst));
    }
}

struct Run {
    stdin_tx: Option<mpsc::Sender<Vec<u8>>>,
    finished: Arc<AtomicBool>,
    ctl: Arc<Control>,
}

/// Entry point of `sbx guest`. Returns the process exit code.
pub fn main() -> i32 {
    // The clean-up wipes /tmp and kills every process it can see: harmless in
    // a container made for it, destructive anywhere else.
    if std::env::var_os(wire::GUEST_MARKER_ENV).is_none() {
        eprintln!(
            "sbx: `sbx guest` runs only inside containers created by the sbx agent; use `sbx run` instead"
        );
        return 2;
    }
    // If we are not PID 1 (e.g. run by hand), still adopt orphans so that
    // the clean-up below can reap them.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    // Where programs run as our own user (a pod: no capability to switch
    // users), they must still not trace us or read our /proc entries (our
    // stdin is the agent's stream). Not dumpable denies both to same-user
    // processes without CAP_SYS_PTRACE; the program's own execve resets it
    // for itself.
    if program_user().is_none() {
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
    }
    if keeper_pid1()
        && let Err(e) = wait_for_keeper()
    {
        log(&e);
        return 1;
    }
    let clean = clean_up(None);
    warm::ensure(true);
    send_msg(&FromGuest::Ready {
        version: env!("CARGO_PKG_VERSION").into(),
        clean,
        scratch_bytes: 0,
        limits: Some(seen_limits()),
    });

    let mut input = io::stdin().lock();
    let mut current: Option<Run> = None;
    loop {
        let frame = match read_frame_sync(&mut input) {
            Ok(f) => f,
            Err(FrameError::Closed) => break,
            Err(e) => {
                log(&format!("bad frame from agent, exiting: {e}"));
                break;
            }
        };
        match frame.kind {
            Kind::Stdin => {
                if let Some(tx) = current.as_ref().and_then(|r| r.stdin_tx.as_ref()) {
                    let _ = tx.send(frame.payload);
                }
            }
            Kind::Control => match frame.parse::<ToGuest>() {
                Ok(ToGuest::Run(spec)) => {
                    if current
                        .as_ref()
                        .is_some_and(|r| !r.finished.load(Ordering::SeqCst))
                    {
                        log("run request while a run is active; ignored");
                        continue;
                    }
                    current = Some(start_run(spec));
                }
                Ok(ToGuest::StdinEof) => {
                    if let Some(r) = current.as_mut() {
                        r.stdin_tx = None;
                    }
                }
                Ok(ToGuest::Cancel) => {
                    // A cancel that crosses the run's end must not kill
                    // what outlives the run (a session's interpreter).
                    if let Some(r) = current
                        .as_ref()
                        .filter(|r| !r.finished.load(Ordering::SeqCst))
                    {
                        r.ctl.cancelled.store(true, Ordering::SeqCst);
                        r.ctl.kill();
                    }
                }
                Ok(ToGuest::Ping) => send_msg(&FromGuest::Pong),
                Ok(ToGuest::Reset) => {
                    if current
                        .as_ref()
                        .is_some_and(|r| !r.finished.load(Ordering::SeqCst))
                    {
                        log("reset while a run is active; ignored");
                        continue;
                    }
                    // A session ended: its interpreter and every file go,
                    // as after any other run, before anyone else gets the
                    // container.
                    cell::stop_driver();
                    let clean = clean_up(None);
                    warm::ensure(true);
                    ready(clean, false);
                }
                Err(e) => log(&format!("unreadable message: {e}")),
            },
            other => log(&format!("unexpected frame kind {other:?}")),
        }
    }
    // Agent gone: nothing may outlive it.
    if let Some(r) = current {
        r.ctl.kill();
    }
    warm::stop();
    kill_all(0);
    if keeper_pid1() {
        // In a pod the keeper would idle on; ending it ends the pod's
        // container, which then holds no resources until it is reaped.
        unsafe {
            libc::kill(1, libc::SIGTERM);
        }
    }
    0
}

/// `sbx keeper`: PID 1 of a Kubernetes sandbox pod. The program runs as
/// the same user, so PID 1 must be nothing it can take over: not
/// dumpable (no ptrace, no writes to /proc/1/mem), holding nothing,
/// doing nothing but reap. It ends on SIGTERM (the guest sends one when
/// the agent goes away) and the pod's container with it.
pub fn keeper_main() -> i32 {
    if std::env::var_os(wire::GUEST_KEEPER_ENV).is_none() {
        eprintln!("sbx: `sbx keeper` runs only as PID 1 of pods created by the sbx agent");
        return 2;
    }
    extern "C" fn on_term(_: libc::c_int) {
        unsafe { libc::_exit(0) }
    }
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::signal(libc::SIGTERM, on_term as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_term as *const () as libc::sighandler_t);
    }
    loop {
        let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) };
        if r < 0 {
            // No children (the guest adopts the program's orphans): wait
            // for a signal.
            unsafe { libc::pause() };
        }
    }
}

/// Beside a keeper, the clean-up relies on PID 1 being `sbx keeper`,
/// which the pod's shell becomes once the guest binary is in place (and
/// the first clean-up deletes that binary): wait for it, or refuse to
/// serve.
fn wait_for_keeper() -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let comm = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
        // The keeper is this same program (`sbx-guest keeper`).
        let me = Path::new(wire::GUEST_BIN)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if comm.trim() == me {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "PID 1 is `{}`, not `{me} keeper`, after 10s; the pod's command was changed?",
                comm.trim()
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Largest file the program may write where the pod's limits do not
/// reach (the kubelet's termination-message file lives on the node's
/// disk); `None` outside pods.
fn file_size_limit() -> Option<u64> {
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| std::env::var(wire::GUEST_FSIZE_ENV).ok()?.parse().ok())
}

/// The limits the agent asks the guest to set on each program because
/// the sandbox has no cgroup ([`wire::GUEST_RLIMITS_ENV`]).
fn process_limits() -> Option<wire::ProcessLimits> {
    static LIMITS: std::sync::OnceLock<Option<wire::ProcessLimits>> = std::sync::OnceLock::new();
    *LIMITS.get_or_init(|| serde_json::from_str(&std::env::var(wire::GUEST_RLIMITS_ENV).ok()?).ok())
}

/// The limits runs are under, for the first `Ready`: the cgroup's, or
/// where the agent made none, the rlimits every program gets.
fn seen_limits() -> wire::SeenLimits {
    match process_limits() {
        Some(p) => wire::SeenLimits {
            memory: p.memory,
            pids: p.pids,
            per_process: true,
        },
        None => wire::SeenLimits {
            memory: memory_limit(),
            pids: pids_limit(),
            per_process: false,
        },
    }
}

/// `(resource, limit)` of every rlimit a program starts with (soft and
/// hard alike, so it cannot raise them): the largest file where the
/// pod's limits do not reach, and without a cgroup its memory as
/// `RLIMIT_DATA` (not `RLIMIT_AS`, which counts the address space V8,
/// the JVM and Go reserve without using) and its processes as
/// `RLIMIT_NPROC`. The kernel counts those per real uid in the user
/// namespace, so a program with a uid of its own is held to its own
/// processes and threads; the guest, root or without the rlimit itself,
/// keeps forking past them to clean up.
pub(crate) fn program_rlimits() -> Vec<(libc::__rlimit_resource_t, u64)> {
    let mut v = Vec::new();
    if let Some(n) = file_size_limit() {
        v.push((libc::RLIMIT_FSIZE, n));
    }
    if let Some(p) = process_limits() {
        v.extend(p.memory.map(|m| (libc::RLIMIT_DATA, m)));
        v.extend(p.pids.map(|n| (libc::RLIMIT_NPROC, n)));
        // The main stack is not data: held at its soft limit (no larger
        // than the memory limit), which the program then cannot raise.
        if let Some(m) = p.memory {
            let mut cur = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            let soft = if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut cur) } == 0 {
                cur.rlim_cur
            } else {
                8 << 20
            };
            v.push((libc::RLIMIT_STACK, soft.min(m)));
        }
    }
    // A guest without CAP_SYS_RESOURCE (one uid shared with its programs)
    // cannot raise a hard limit it was given lower: keep that one.
    for (resource, n) in &mut v {
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if unsafe { libc::getrlimit(*resource, &mut cur) } == 0 {
            *n = (*n).min(cur.rlim_max);
        }
    }
    v
}

/// Report a run that never started, then get ready for the next.
fn fail_run(msg: &str, code: i32, spec: &RunSpec) {
    tell(msg);
    send_msg(&FromGuest::Exit(RunOutcome {
        code,
        ..Default::default()
    }));
    let clean = after_run(spec);
    warm::ensure(!spec.keep_files);
    ready(clean, spec.keep_files);
}

/// Announce that the next run may come; `clean` as [`FromGuest::Ready`].
fn ready(clean: bool, session: bool) {
    send_msg(&FromGuest::Ready {
        version: env!("CARGO_PKG_VERSION").into(),
        clean,
        scratch_bytes: if session { scratch_bytes() } else { 0 },
        limits: None,
    });
}

/// The clean-up after a run: a session's run leaves its files for the
/// next one and only loses its processes (the session's interpreter
/// excepted); any other run gets the full wipe.
fn after_run(spec: &RunSpec) -> bool {
    if spec.keep_files {
        kill_all_but(cell::driver_pid())
    } else {
        cell::stop_driver();
        clean_up(spec.keep_cache.as_deref())
    }
}

/// Bytes of the files in the scratch locations (what `sbx session ls`
/// shows as a session's size). Bounded, so a tree of millions of files
/// costs a bounded walk: past the bound the figure is a lower bound.
fn scratch_bytes() -> u64 {
    let mut total = 0u64;
    let mut budget = 100_000usize;
    let mut stack: Vec<PathBuf> = SCRATCH_DIRS
        .iter()
        .chain([&CACHE_DIR])
        .map(PathBuf::from)
        .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if budget == 0 {
                return total;
            }
            budget -= 1;
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn start_run(spec: RunSpec) -> Run {
    let finished = Arc::new(AtomicBool::new(false));
    let ctl = Arc::new(Control::default());
    let not_started = |finished: Arc<AtomicBool>, ctl: Arc<Control>| {
        finished.store(true, Ordering::SeqCst);
        Run {
            stdin_tx: None,
            finished,
            ctl,
        }
    };

    if let Err(e) = place_files(&spec.files) {
        fail_run(
            &format!("cannot place the program's files: {e}"),
            125,
            &spec,
        );
        return not_started(finished, ctl);
    }
    let workdir = match resolve_workdir(spec.workdir.as_deref()) {
        Ok(d) => d,
        Err(msg) => {
            fail_run(&msg, crate::exit::USAGE, &spec);
            return not_started(finished, ctl);
        }
    };
    if spec.argv.is_empty() || spec.build.as_ref().is_some_and(|b| b.is_empty()) {
        fail_run("empty command line", 125, &spec);
        return not_started(finished, ctl);
    }

    let (stdin_tx, stdin_rx) = mpsc::channel::<Vec<u8>>();
    let fin = finished.clone();
    let c = ctl.clone();
    thread::spawn(move || {
        let (clean, exit, spec) = run_steps(spec, workdir, stdin_rx, &c);
        // The exit first: the client has its answer while the container
        // cleans up, off its clock. The agent hands the container to no
        // one before Ready, and a run that arrives meanwhile waits for it
        // (the clean-up takes milliseconds, a new container hundreds).
        // Finished first: a cancel crossing the exit must not reach what
        // outlives the run (a session's interpreter).
        fin.store(true, Ordering::SeqCst);
        send_msg(&FromGuest::Exit(exit));
        let clean = after_run(&spec) && clean;
        // A warm interpreter that ended is replaced, and a spare started,
        // before the next run is taken.
        warm::ensure(!spec.keep_files);
        ready(clean, spec.keep_files);
    });
    Run {
        stdin_tx: Some(stdin_tx),
        finished,
        ctl,
    }
}

/// Build (if the language has a step for it), run, collect the output
/// directory. Returns how the run ended, and false when something of the
/// run could not be proved gone.
fn run_steps(
    spec: RunSpec,
    workdir: PathBuf,
    stdin_rx: mpsc::Receiver<Vec<u8>>,
    ctl: &Arc<Control>,
) -> (bool, RunOutcome, RunSpec) {
    // A session's output directory holds its earlier runs' files: what is
    // there now, and unchanged at the end, is not this run's. (Time stamps
    // cannot tell: the kernel's coarse clock gives a file written by the
    // previous run, a few ms ago, this run's tick.)
    let before = (spec.keep_files && spec.collect_out).then(out_snapshot);
    // Before anything of the run starts: a spare that cannot serve it
    // must not run beside it.
    let claimed = warm::claim(
        spec.build.is_none() && !spec.keep_state,
        &spec.argv,
        &workdir,
        &spec.env,
        spec.cpus.is_some(),
    );
    if let Some(n) = spec.cpus {
        pin_to_cpus(n);
    }
    let limits = Arc::new(Limits::new(spec.max_output));
    let ooms_before = oom_kills();
    let done = watchdog(ctl.clone(), Duration::from_millis(spec.timeout_ms));
    let mut clean = true;
    let mut exit = RunOutcome::default();

    let mut code = 0;
    if let Some(build) = &spec.build {
        let step = run_step(build, Path::new(WORK_DIR), &spec.env, None, ctl, &limits);
        clean &= step.clean;
        code = step.code;
        exit.build_failed = code != 0 && !ctl.stopped();
    }
    if code == 0 && !ctl.stopped() && spec.keep_state {
        let step = cell::run_cell(&spec, &workdir, stdin_rx, ctl, &limits);
        clean &= step.clean;
        code = step.code;
    } else if code == 0 && !ctl.stopped() {
        // With `--out`, nothing the program left may still write there
        // while it is collected.
        ctl.last_step.store(!spec.collect_out, Ordering::SeqCst);
        let warm = match spec.build {
            None => warm::run(
                &spec.argv,
                &workdir,
                &spec.env,
                spec.cpus.is_some(),
                claimed,
                stdin_rx,
                ctl,
                &limits,
            ),
            Some(_) => Err(stdin_rx),
        };
        let step = warm.unwrap_or_else(|stdin_rx| {
            run_step(
                &spec.argv,
                &workdir,
                &spec.env,
                Some(stdin_rx),
                ctl,
                &limits,
            )
        });
        clean &= step.clean;
        code = step.code;
    }
    done();

    exit.timed_out = ctl.timed_out.load(Ordering::SeqCst);
    if let Some(i) = ctl.output_limit().filter(|_| !exit.timed_out) {
        exit.output_limit = Some(STREAMS[i].to_string());
        code = crate::exit::OUTPUT_LIMIT;
    }
    if exit.timed_out {
        tell(&format!(
            "the run exceeded its timeout ({}) and was killed with every process it started",
            crate::model::units::format_duration(Duration::from_millis(spec.timeout_ms))
        ));
        code = crate::exit::TIMEOUT;
    }
    if oom_kills() > ooms_before {
        let limit = memory_limit()
            .map(|m| format!(" ({})", crate::model::units::format_size(m)))
            .unwrap_or_default();
        tell(&format!(
            "the run exceeded its memory limit{limit} and was killed"
        ));
        exit.oom_killed = true;
    }
    if spec.collect_out && !ctl.cancelled.load(Ordering::SeqCst) {
        // A session's output directory holds its earlier runs' files too:
        // each run gets back what it wrote.
        collect_out(before.as_ref());
    }
    exit.code = code;
    exit.stdout_truncated = limits.truncated[0].load(Ordering::SeqCst);
    exit.stderr_truncated = limits.truncated[1].load(Ordering::SeqCst);
    (clean, exit, spec)
}

const STREAMS: [&str; 2] = ["stdout", "stderr"];

/// What sbx says when a stream exceeded its limit (`sbx: ` before it).
pub fn output_limit_message(stream: &str, max: u64) -> String {
    format!(
        "{stream} exceeded the output limit ({}) and the run was stopped with every process it started",
        crate::model::units::format_size(max)
    )
}

/// Start the timeout clock; the returned closure stops it. On expiry the
/// current step's whole process tree is killed with SIGKILL, which neither
/// a forked child nor a SIGTERM handler can survive.
fn watchdog(ctl: Arc<Control>, limit: Duration) -> impl FnOnce() {
    let timer = Arc::new((Mutex::new(false), Condvar::new()));
    let t = timer.clone();
    thread::spawn(move || {
        let (lock, cv) = &*t;
        let guard = lock.lock().unwrap();
        let (_guard, res) = cv.wait_timeout_while(guard, limit, |done| !*done).unwrap();
        // A run the output limit already stopped did not time out.
        if res.timed_out() && ctl.output_limit().is_none() {
            ctl.timed_out.store(true, Ordering::SeqCst);
            ctl.kill();
        }
    });
    move || {
        let (lock, cv) = &*timer;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
}

/// Output limit per stream, shared by the build and run steps.
struct Limits {
    max: u64,
    used: [AtomicU64; 2],
    truncated: [AtomicBool; 2],
}

impl Limits {
    fn new(max: u64) -> Limits {
        Limits {
            max,
            used: Default::default(),
            truncated: Default::default(),
        }
    }

    /// How much of a chunk of `n` bytes on stream `i` may still be sent.
    fn allow(&self, i: usize, n: usize) -> usize {
        let before = self.used[i].fetch_add(n as u64, Ordering::SeqCst);
        let room = self.max.saturating_sub(before);
        (n as u64).min(room) as usize
    }
}

struct StepResult {
    code: i32,
    clean: bool,
}

/// The environment a step sees: the image's own (PATH, JAVA_HOME, GOPATH,
/// ... as `docker run` would give it), minus the guest's marker, plus sbx's
/// locations, the language's settings and the user's `-e`.
fn step_env(extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| !k.starts_with(wire::GUEST_ENV_PREFIX))
        .collect();
    let mut set = |k: &str, v: &str| {
        env.retain(|(ek, _)| ek != k);
        env.push((k.into(), v.into()));
    };
    if std::env::var_os("PATH").is_none() {
        set(
            "PATH",
            "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin",
        );
    }
    if std::env::var_os("LANG").is_none() {
        set("LANG", "C.UTF-8");
    }
    for (k, v) in wire::RUN_ENV {
        set(k, v);
    }
    if let Some(name) = program_user_name() {
        set("USER", name);
        set("LOGNAME", name);
    }
    for (k, v) in extra {
        set(k, v);
    }
    env
}

/// `--cpus N`: keep this run to N of the sandbox's CPUs. The run has a
/// thread of its own, and every process it starts inherits the thread's
/// CPU mask, so narrowing the thread's mask to its first N CPUs is enough
/// (like `taskset`). N at or above what the sandbox has changes nothing.
fn pin_to_cpus(n: u32) {
    // SAFETY: cpu_set_t is plain data; the calls only read and write the
    // set we pass, for this thread (pid 0).
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 {
            log(&format!(
                "cannot read the CPU mask: {}",
                io::Error::last_os_error()
            ));
            return;
        }
        let mut pinned: libc::cpu_set_t = std::mem::zeroed();
        let mut kept = 0;
        for cpu in 0..libc::CPU_SETSIZE as usize {
            if kept < n && libc::CPU_ISSET(cpu, &allowed) {
                libc::CPU_SET(cpu, &mut pinned);
                kept += 1;
            }
        }
        if libc::sched_setaffinity(0, size, &pinned) != 0 {
            log(&format!(
                "cannot set the CPU mask: {}",
                io::Error::last_os_error()
            ));
        }
    }
}

/// Feed the run's stdin to the program; dropping `pipe` at the end is
/// its EOF.
fn feed_stdin(ctl: &Arc<Control>, rx: mpsc::Receiver<Vec<u8>>, pipe: impl Write + Send + 'static) {
    let _ = stdin_feeder(ctl, pipe).send(rx);
}

/// The thread of `feed_stdin`, started now, its source given later (or
/// never: dropping the sender ends it). A program that starts at once (a
/// warm interpreter's) can use up the process limit before the guest
/// starts a thread (a fork bomb counts the guest's threads too), so the
/// guest's threads of a run must exist before its program does.
fn stdin_feeder(
    ctl: &Arc<Control>,
    mut pipe: impl Write + Send + 'static,
) -> mpsc::Sender<mpsc::Receiver<Vec<u8>>> {
    let (give, given) = mpsc::channel::<mpsc::Receiver<Vec<u8>>>();
    spawn_or_kill(ctl, move || {
        let Ok(rx) = given.recv() else { return };
        while let Ok(chunk) = rx.recv() {
            if pipe.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    give
}

/// Forward the program's stdout and stderr; the receiver gets one message
/// per stream when it closes.
fn pump_output(
    ctl: &Arc<Control>,
    limits: &Arc<Limits>,
    stdout: Box<dyn Read + Send>,
    stderr: Box<dyn Read + Send>,
) -> mpsc::Receiver<()> {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    for (i, mut src) in [stdout, stderr].into_iter().enumerate() {
        let limits = limits.clone();
        let ctl2 = ctl.clone();
        let done = done_tx.clone();
        spawn_or_kill(ctl, move || {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = match src.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                forward_output(i, &buf[..n], &limits, &ctl2);
            }
            let _ = done.send(());
        });
    }
    done_rx
}

/// A step is over when its main process is: whatever it left running
/// dies now, which also closes the output pipes it may have inherited.
/// Returns false when something could not be proved gone.
fn end_step(ctl: &Arc<Control>, done: mpsc::Receiver<()>) -> bool {
    // Usually the program took its output pipes with it: then nothing of
    // it can still reach the run's output, and the clean-up (which kills
    // and reaps everything, and proves it) follows the reported exit.
    let mut ended = 0;
    if ctl.last_step.load(Ordering::SeqCst) && !ctl.stopped() {
        while ended < 2 && done.recv_timeout(Duration::from_millis(20)).is_ok() {
            ended += 1;
        }
        if ended == 2 {
            return true;
        }
    }
    ctl.kill();
    let mut clean = reap_all(Duration::from_secs(2));
    for _ in ended..2 {
        if done.recv_timeout(Duration::from_secs(2)).is_err() {
            log("output pipes still open after the run was killed");
            clean = false;
        }
    }
    clean
}

fn run_step(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    stdin: Option<mpsc::Receiver<Vec<u8>>>,
    ctl: &Arc<Control>,
    limits: &Arc<Limits>,
) -> StepResult {
    let (program, args) = argv.split_first().expect("checked non-empty");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(step_env(env))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    confine(&mut cmd, Vec::new());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let why = if e.kind() == io::ErrorKind::PermissionDenied {
                unreachable_why(program, env)
                    .map(|w| format!("; {w}"))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            tell(&format!(
                "cannot start `{program}` in the container: {e}{why}"
            ));
            return StepResult { code, clean: true };
        }
    };
    ctl.pgid.store(child.id() as i32, Ordering::SeqCst);
    // The clock may have run out between the check before this step and
    // the spawn; the new process must not escape it.
    if ctl.stopped() {
        ctl.kill();
    }

    if let (Some(rx), Some(pipe)) = (stdin, child.stdin.take()) {
        feed_stdin(ctl, rx, pipe);
    }
    let done = pump_output(
        ctl,
        limits,
        Box::new(child.stdout.take().expect("piped")),
        Box::new(child.stderr.take().expect("piped")),
    );
    let status = child.wait();
    let clean = end_step(ctl, done);
    let code = match status {
        Ok(s) => s.code().unwrap_or_else(|| {
            128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0)
        }),
        Err(_) => 125,
    };
    StepResult { code, clean }
}

/// Make `cmd` start as a program of a run: in a session of its own (a
/// process group to kill when we are not PID 1, detached from anything
/// the guest holds), as the unprivileged user (no capability survives the
/// switch, so it cannot signal the guest, read its /proc entries and
/// through them the agent's stream, or undo the clean-up), volunteering
/// as the OOM killer's first choice (a memory hog is what dies, not the
/// guest), and with `fds` (from, to) moved into place. Only
/// async-signal-safe calls after fork.
fn confine(cmd: &mut Command, fds: Vec<(i32, i32)>) {
    confine_as(cmd, fds, program_user());
}

/// [`confine`], switching to `user` (`None`: staying root, for a
/// pre-started interpreter that switches itself when its run comes).
fn confine_as(cmd: &mut Command, mut fds: Vec<(i32, i32)>, user: Option<(u32, u32)>) {
    let rlimits = program_rlimits();
    unsafe {
        cmd.pre_exec(move || {
            place_fds(&mut fds)?;
            libc::setsid();
            for &(resource, n) in &rlimits {
                let lim = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                if libc::setrlimit(resource, &lim) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            let fd = libc::open(c"/proc/self/oom_score_adj".as_ptr(), libc::O_WRONLY);
            if fd >= 0 {
                libc::write(fd, b"1000".as_ptr().cast(), 4);
                libc::close(fd);
            }
            if let Some((uid, gid)) = user
                && (libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0)
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Move each `(from, to)` descriptor to `to`, in a child between fork and
/// exec (async-signal-safe calls only).
fn place_fds(fds: &mut [(i32, i32)]) -> io::Result<()> {
    // Through copies above any target first: a source may already sit at
    // another's target, or at its own (where dup2 would leave it
    // close-on-exec).
    for pair in fds.iter_mut() {
        pair.0 = unsafe { libc::fcntl(pair.0, libc::F_DUPFD_CLOEXEC, 100) };
        if pair.0 < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    for &(from, to) in fds.iter() {
        if unsafe { libc::dup2(from, to) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Send output of stream `i` (0 stdout, 1 stderr) to the agent. Past the
/// limit the run is stopped (like a timeout: the whole tree is killed) and
/// what is still in the pipe is drained and discarded.
fn forward_output(i: usize, data: &[u8], limits: &Limits, ctl: &Control) {
    let n = data.len();
    let keep = limits.allow(i, n);
    if keep > 0 {
        send(&Frame::data(
            [Kind::Stdout, Kind::Stderr][i],
            data[..keep].to_vec(),
        ));
    }
    if keep < n && !limits.truncated[i].swap(true, Ordering::SeqCst) {
        let first = !ctl.timed_out.load(Ordering::SeqCst)
            && !ctl.cancelled.load(Ordering::SeqCst)
            && ctl
                .output_limit
                .compare_exchange(0, i + 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok();
        if first {
            ctl.kill();
            // On stderr the cut may fall mid-line: start a new one.
            send(&Frame::data(
                Kind::Stderr,
                format!(
                    "{}sbx: {}\n",
                    if i == 1 { "\n" } else { "" },
                    output_limit_message(STREAMS[i], limits.max)
                ),
            ));
        }
    }
}

/// Start a helper thread of a running step. A program that used up the
/// container's process limit (a fork bomb) can make that fail: then the
/// step is killed, which frees the limit, rather than the guest panicking.
fn spawn_or_kill(ctl: &Arc<Control>, f: impl FnOnce() + Send + 'static) {
    let f = Arc::new(Mutex::new(Some(f)));
    for attempt in 0..2 {
        let f2 = f.clone();
        let started = thread::Builder::new().spawn(move || {
            if let Some(f) = f2.lock().unwrap().take() {
                f();
            }
        });
        match started {
            Ok(_) => return,
            Err(e) => {
                log(&format!("cannot start a thread ({e}); killing the run"));
                ctl.kill();
                if attempt == 0 {
                    reap_all(Duration::from_millis(500));
                }
            }
        }
    }
}

/// Kills of the container's processes by the kernel's OOM killer so far
/// (the memory cgroup's `oom_kill` counter, cgroup v2 or v1); 0 if the
/// counter cannot be read.
fn oom_kills() -> u64 {
    [
        "/sys/fs/cgroup/memory.events",
        "/sys/fs/cgroup/memory/memory.oom_control",
    ]
    .iter()
    .find_map(|p| {
        let text = std::fs::read_to_string(p).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
    })
    .unwrap_or(0)
}

/// The container's memory limit in bytes, if it has one.
fn memory_limit() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok())
    // cgroup v1 reports "no limit" as a huge number.
    .filter(|&m| m < 1 << 60)
}

/// Why the program's user cannot start `program` (found on the run's
/// PATH): the first directory on the way it may not enter, or the file
/// itself not executable to it. Images made from a directory that
/// `mktemp -d` created carry its mode 0700 on `/`: Docker's overlay root
/// hides that, rootless Podman's storage does not.
fn unreachable_why(program: &str, env: &[(String, String)]) -> Option<String> {
    let (uid, gid) = program_user()?;
    let path = if program.contains('/') {
        PathBuf::from(program)
    } else {
        let search = step_env(env)
            .into_iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v)
            .unwrap_or_default();
        search
            .split(':')
            .map(|d| Path::new(d).join(program))
            .find(|p| p.exists())?
    };
    let allowed = |m: &std::fs::Metadata, bit: u32| {
        let mode = m.mode();
        if m.uid() == uid {
            mode & (bit << 6) != 0
        } else if m.gid() == gid {
            mode & (bit << 3) != 0
        } else {
            mode & bit != 0
        }
    };
    let fix = "make the image's directories searchable and its interpreter executable by any user (chmod 755; see the README, \"Without root\")";
    let mut dir = PathBuf::from("/");
    let parents = path.parent()?.components().skip(1);
    for part in std::iter::once(None).chain(parents.map(Some)) {
        if let Some(p) = part {
            dir.push(p);
        }
        let m = std::fs::metadata(&dir).ok()?;
        if !allowed(&m, 0o1) {
            return Some(format!(
                "the program's user (uid {uid}) cannot enter `{}` (mode {:04o}, owner uid {}): {fix}",
                dir.display(),
                m.mode() & 0o7777,
                m.uid()
            ));
        }
    }
    let m = std::fs::metadata(&path).ok()?;
    (!allowed(&m, 0o1)).then(|| {
        format!(
            "`{}` is not executable by the program's user (uid {uid}; mode {:04o}, owner uid {}): {fix}",
            path.display(),
            m.mode() & 0o7777,
            m.uid()
        )
    })
}

/// The container's process limit (cgroup v2, then v1's pids controller);
/// `None` when there is none or no cgroup says so.
fn pids_limit() -> Option<u64> {
    ["/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok())
}

/// Give `path` and everything under it to the program's user (links
/// themselves, never their targets).
fn give_to_user(path: &Path) -> io::Result<()> {
    let Some((uid, gid)) = program_user() else {
        return Ok(());
    };
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if std::fs::symlink_metadata(path)?.is_dir() {
        for entry in std::fs::read_dir(path)? {
            give_to_user(&entry?.path())?;
        }
    }
    Ok(())
}

fn place_files(files: &[GuestFile]) -> io::Result<()> {
    for dir in [WORK_DIR, HOME_DIR, BUILD_DIR, OUT_DIR] {
        std::fs::create_dir_all(dir)?;
    }
    for f in files {
        let rel = Path::new(&f.path);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "file path {:?} must be relative and stay inside the working directory",
                    f.path
                ),
            ));
        }
        let dest = Path::new(WORK_DIR).join(rel);
        if let Some(parent) = rel.parent() {
            make_dirs_in(Path::new(WORK_DIR), parent)?;
        }
        // A session's earlier run may have left a link where the file goes:
        // the guest writes as root, so it writes only to a file of its own.
        match std::fs::symlink_metadata(&dest) {
            Ok(m) if m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} is a directory", f.path),
                ));
            }
            Ok(m) if !m.is_file() => std::fs::remove_file(&dest)?,
            _ => {}
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&dest)?;
        file.write_all(&f.contents)?;
        // No set-id bits: they would mean nothing (no-new-privileges) but
        // they have no business in a sandbox either.
        file.set_permissions(std::fs::Permissions::from_mode(f.mode & 0o1777))?;
    }
    for entry in std::fs::read_dir(WORK_DIR)? {
        give_to_user(&entry?.path())?;
    }
    Ok(())
}

/// Create `rel`'s directories under `root` without following links: in a
/// session the program's earlier runs own these directories, and a link
/// planted there must not make the guest create directories elsewhere
/// (a link in the way is the program's own and is replaced).
fn make_dirs_in(root: &Path, rel: &Path) -> io::Result<()> {
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => std::fs::remove_file(&at)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir(&at)?;
    }
    Ok(())
}

/// The program's working directory: relative paths live in the source
/// directory; an absolute one must exist in the image, or be under a
/// scratch directory (created, and wiped after the run like the rest).
fn resolve_workdir(dir: Option<&str>) -> Result<PathBuf, String> {
    let Some(dir) = dir else {
        return Ok(PathBuf::from(WORK_DIR));
    };
    let path = Path::new(WORK_DIR).join(dir);
    if path.is_dir() {
        return Ok(path);
    }
    let in_scratch = path
        .components()
        .all(|c| !matches!(c, Component::ParentDir))
        && SCRATCH_DIRS.iter().any(|s| path.starts_with(s));
    if !in_scratch {
        return Err(format!(
            "working directory {dir} does not exist in the image; use an existing directory, or one under {WORK_DIR} or /tmp (created for the run)"
        ));
    }
    let root = SCRATCH_DIRS
        .iter()
        .find(|s| path.starts_with(s))
        .expect("checked");
    let inside = path.strip_prefix(root).unwrap_or(Path::new(""));
    let created = make_dirs_in(Path::new(root), inside).and_then(|_| {
        // Each directory made here belongs to the program, like the rest
        // of its scratch space.
        match path
            .strip_prefix(root)
            .ok()
            .and_then(|r| r.components().next())
        {
            Some(first) => give_to_user(&Path::new(root).join(first)),
            None => Ok(()),
        }
    });
    created
        .map(|_| path)
        .map_err(|e| format!("cannot create working directory {dir}: {e}"))
}

/// Regular files under the output directory: relative path → what
/// changes when a file is written or replaced.
type OutSnapshot = std::collections::HashMap<PathBuf, FileState>;
type FileState = (u64, i64, i64, i64, i64, u64);

fn file_state(m: &std::fs::Metadata) -> FileState {
    (
        m.ino(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.len(),
    )
}

fn out_snapshot() -> OutSnapshot {
    let mut files = OutSnapshot::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(Path::new(OUT_DIR).join(&rel))
            .into_iter()
            .flatten()
            .flatten()
        {
            let rel = rel.join(entry.file_name());
            match std::fs::symlink_metadata(entry.path()) {
                Ok(m) if m.is_dir() => stack.push(rel),
                Ok(m) if m.is_file() => {
                    files.insert(rel, file_state(&m));
                }
                _ => {}
            }
        }
    }
    files
}

/// Send back every regular file under the output directory, with its path
/// relative to it. Links and special files are reported, never followed,
/// so nothing outside the directory can be reached through them.
fn collect_out(earlier: Option<&OutSnapshot>) {
    let mut sent = 0u64;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = Path::new(OUT_DIR).join(&rel);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries.into_iter().rev() {
            let rel = rel.join(entry.file_name());
            let shown = format!("{}/{}", OUT_DIR, rel.display());
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            let Some(name) = rel.to_str() else {
                tell(&format!("--out: skipped {shown}: its name is not UTF-8"));
                continue;
            };
            if meta.file_type().is_symlink() {
                tell(&format!("--out: refused {shown}: links are not copied"));
            } else if meta.is_dir() {
                stack.push(rel);
            } else if !meta.is_file() {
                tell(&format!("--out: skipped {shown}: not a regular file"));
            } else if earlier.is_some_and(|e| e.get(&rel) == Some(&file_state(&meta))) {
                // Left by an earlier run of the session, untouched since.
            } else if sent + meta.len() > OUT_TOTAL_LIMIT {
                tell(&format!(
                    "--out: skipped {shown}: the output directory exceeds {OUT_TOTAL_LIMIT} bytes"
                ));
            } else {
                sent += send_out_file(&entry.path(), name, meta.permissions().mode() & 0o777);
            }
        }
    }
}

fn send_out_file(path: &Path, name: &str, mode: u32) -> u64 {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            tell(&format!("--out: cannot read {}: {e}", path.display()));
            return 0;
        }
    };
    let mut buf = vec![0u8; OUT_CHUNK];
    let mut append = false;
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                tell(&format!("--out: cannot read {}: {e}", path.display()));
                break;
            }
        };
        if n == 0 && append {
            break;
        }
        send_msg(&FromGuest::OutFile(OutFile {
            path: name.into(),
            mode,
            data: buf[..n].to_vec(),
            append,
        }));
        append = true;
        total += n as u64;
        if n == 0 || total >= OUT_TOTAL_LIMIT {
            break;
        }
    }
    total
}

/// Whether every other process in our PID namespace is the run's, so that
/// `kill(-1)` is the clean-up: as PID 1 of a container, or beside an idle
/// keeper as PID 1 (a Kubernetes pod, where the guest comes in through an
/// exec; `kill(-1)` spares PID 1 and the caller).
fn owns_pid_namespace() -> bool {
    std::process::id() == 1 || keeper_pid1()
}

/// PID 1 is the idle keeper of a pod ([`wire::GUEST_KEEPER_ENV`]).
fn keeper_pid1() -> bool {
    static KEEPER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KEEPER.get_or_init(|| std::env::var_os(wire::GUEST_KEEPER_ENV).is_some())
}

/// Kill every process of the run. As PID 1 of the container, `kill(-1)`
/// reaches every other process in the namespace, whatever session or group
/// it moved to; otherwise fall back to the run's process group.
fn kill_all(pgid: i32) {
    unsafe {
        if owns_pid_namespace() && warm::pid().is_some() {
            // The warm interpreter (root) lives on: everything of the
            // program's user dies, and the run's first process, which may
            // still be root for a moment as a child of it.
            if pgid > 0 {
                libc::kill(pgid, libc::SIGKILL);
            }
            kill_program_user();
        } else if owns_pid_namespace() {
            libc::kill(-1, libc::SIGKILL);
        } else if pgid > 0 {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// `kill(-1)` as the program's user: every process it may signal, which
/// is every process of that user (programs cannot change users) and none
/// of root's, in one call that a fork bomb cannot outrun. Where no process
/// can be made for it (the bomb holds the container's process limit), one
/// by one. Everything after the fork is async-signal-safe.
fn kill_program_user() {
    let Some((uid, gid)) = program_user() else {
        return;
    };
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            if libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                libc::_exit(1);
            }
            libc::kill(-1, libc::SIGKILL);
            libc::_exit(0);
        }
        if pid > 0 {
            libc::waitpid(pid, std::ptr::null_mut(), 0);
            return;
        }
    }
    for p in leftovers() {
        unsafe {
            libc::kill(p as i32, libc::SIGKILL);
        }
    }
}

/// Every process in the container but the guest and the warm
/// interpreter (see [`warm::protects`]).
fn leftovers() -> Vec<u32> {
    other_processes()
        .into_iter()
        .filter(|&p| !warm::protects(p))
        .collect()
}

/// Kill every process but the guest and `spare` (a session's interpreter),
/// reaping what dies, until none is left: the clean-up after a session's
/// run, which keeps its files. Zombies whose parent is `spare` hold
/// nothing but a process id until it reaps them, and are left to it.
/// Returns false if processes are still alive at the deadline.
fn kill_all_but(spare: Option<u32>) -> bool {
    if !owns_pid_namespace() {
        return true; // the run's process group is already gone
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
        let left: Vec<u32> = leftovers()
            .into_iter()
            .filter(|&p| Some(p) != spare && !zombie_of(p, spare))
            .collect();
        if left.is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            log(&format!(
                "{} process(es) still alive after a session's run",
                left.len()
            ));
            return false;
        }
        for p in left {
            unsafe {
                libc::kill(p as i32, libc::SIGKILL);
            }
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// `pid` is a zombie whose parent is `parent`.
fn zombie_of(pid: u32, parent: Option<u32>) -> bool {
    let Some(parent) = parent else {
        return false;
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's closing parenthesis: state, then parent pid.
    let mut rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace())
        .into_iter()
        .flatten();
    rest.next() == Some("Z") && rest.next().and_then(|p| p.parse().ok()) == Some(parent)
}

/// Reap every child (the run's orphans are reparented to us). Returns false
/// if some are still alive at the deadline.
fn reap_all(limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
        if r > 0 {
            continue;
        }
        if r < 0 {
            return true; // ECHILD: nothing left
        }
        // The warm interpreter is a child that stays.
        if warm::pid().is_some() && leftovers().is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        if owns_pid_namespace() {
            // Processes forked after the first kill (a fork bomb) die too.
            kill_all(0);
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Wipe every scratch location and verify the container holds nothing of
/// the previous run but `keep_cache` (the toolchain cache the run's
/// language keeps; the rest of the cache area is wiped too). Returns
/// whether it is provably clean.
fn clean_up(keep_cache: Option<&str>) -> bool {
    let mut clean = true;
    if owns_pid_namespace() {
        kill_all(0);
        clean &= reap_all(Duration::from_secs(2));
        clean &= leftovers().is_empty();
    }
    for dir in SCRATCH_DIRS.iter().chain([&MQUEUE_DIR]) {
        clean &= wipe(Path::new(dir), None);
    }
    for (dir, tree) in engine_scratch() {
        clean &= wipe_within(dir);
        // Directories the engine put there (/run/lock) are part of what
        // every run starts from.
        for (path, mode, uid, gid) in tree {
            let made = std::fs::create_dir_all(path)
                .and_then(|_| std::os::unix::fs::lchown(path, Some(*uid), Some(*gid)))
                .and_then(|_| {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))
                });
            if let Err(e) = made {
                log(&format!("cannot recreate {}: {e}", path.display()));
                clean = false;
            }
        }
    }
    let keep = keep_cache
        .map(Path::new)
        .filter(|k| k.parent() == Some(Path::new(CACHE_DIR)))
        .and_then(Path::file_name);
    clean &= wipe(Path::new(CACHE_DIR), keep);
    clean &= remove_sysv_ipc();
    if keeper_pid1() {
        clean &= clean_pod_extras();
    }
    // The program may have changed the modes of its own directories (or
    // the root of the cache); each run starts from the same ones.
    for (dir, mode, _) in wire::SCRATCH_MOUNTS {
        let path = Path::new(dir);
        if let Err(e) = std::fs::create_dir_all(path) {
            log(&format!("cannot recreate {dir}: {e}"));
            clean = false;
            continue;
        }
        // Without root (a pod runs the guest as the program's user), a
        // directory we do not own (a pod's emptyDir: root's, group
        // fsGroup) is beyond the program's chmod as well as ours: nothing
        // to reset, and nothing worth a log line after every run.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 && std::fs::metadata(path).is_ok_and(|m| m.uid() != euid) {
            continue;
        }
        // Without root the owner is already right and cannot be changed.
        let owner = if euid != 0 {
            None
        } else if mode & 0o1000 != 0 {
            Some((0, 0))
        } else {
            program_user()
        };
        let reset = owner
            .map_or(Ok(()), |(u, g)| {
                std::os::unix::fs::lchown(path, Some(u), Some(g))
            })
            .and_then(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)));
        // A directory that is not a mount of ours (the guest run by hand,
        // a read-only image path) may refuse; only a run could have
        // changed it, so that is not worth failing the container for
        // unless it is writable by the program.
        if let Err(e) = reset {
            log(&format!("cannot reset the owner and mode of {dir}: {e}"));
        }
    }
    clean
}

/// Writable tmpfs mounts the engine added on its own, beyond ours: Podman
/// mounts one on `/run` (and `/run/lock`) of a read-only container where
/// its `read-only-tmpfs` default says so, rootless Podman among others.
/// A program could leave files there for the next run, so they are wiped
/// like ours. /dev (device nodes; its shm and mqueue are wiped above),
/// /proc and /sys are the engine's and never touched.
/// Each comes with the directories it held at start-up (path, mode,
/// owner), recreated after every wipe.
type EngineScratch = Vec<(PathBuf, Vec<(PathBuf, u32, u32, u32)>)>;

fn engine_scratch() -> &'static EngineScratch {
    static EXTRA: std::sync::OnceLock<EngineScratch> = std::sync::OnceLock::new();
    EXTRA.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let ours = |p: &str| {
            SCRATCH_DIRS.contains(&p)
                || p == CACHE_DIR
                || p == MQUEUE_DIR
                // The session interpreter's FIFOs: the guest's own.
                || p == wire::GUEST_PRIVATE_DIR
                || ["/dev", "/proc", "/sys"]
                    .iter()
                    .any(|s| p == *s || p.starts_with(&format!("{s}/")))
        };
        info.lines()
            .filter_map(|line| {
                let (mount, fs) = line.split_once(" - ")?;
                let mut f = mount.split(' ');
                let point = f.nth(4)?;
                let options = f.next()?;
                let writable = options.split(',').any(|o| o == "rw");
                (fs.starts_with("tmpfs ") && writable && !ours(point)).then(|| PathBuf::from(point))
            })
            .map(|point| {
                let dev = std::fs::symlink_metadata(&point).map_or(0, |m| m.dev());
                let mut dirs = Vec::new();
                let mut todo = vec![point.clone()];
                while let Some(dir) = todo.pop() {
                    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                        if let Ok(m) = e.path().symlink_metadata()
                            && m.is_dir()
                            && m.dev() == dev
                        {
                            dirs.push((e.path(), m.mode() & 0o7777, m.uid(), m.gid()));
                            todo.push(e.path());
                        }
                    }
                }
                // Parents before children.
                dirs.sort();
                (point, dirs)
            })
            .collect()
    })
}

/// In a pod the program runs as the guest's own user, so two more places
/// it can write outlive a run: the guest's directory (a world-writable
/// emptyDir; the guest never runs from its file again, so it goes too) and
/// the kubelet's termination-message file. Both are emptied, or the next
/// run could read what this one left.
fn clean_pod_extras() -> bool {
    let guest_dir = Path::new(wire::GUEST_BIN)
        .parent()
        .expect("the guest binary lives in a directory");
    let mut clean = wipe(guest_dir, None);
    let message = Path::new(TERMINATION_LOG);
    if message.exists() {
        match std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(message)
        {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {} // not ours to write
            Err(e) => {
                log(&format!("cannot empty {TERMINATION_LOG}: {e}"));
                clean = false;
            }
        }
    }
    clean
}

/// Where Kubernetes lets a container leave a message about its end.
const TERMINATION_LOG: &str = "/dev/termination-log";

/// Remove everything in `dir` but the entry named `keep`, and check that
/// nothing else is left.
fn wipe(dir: &Path, keep: Option<&std::ffi::OsStr>) -> bool {
    let kept = |name: &std::ffi::OsStr| keep == Some(name);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if kept(&entry.file_name()) {
                continue;
            }
            let p = entry.path();
            let res = match entry.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&p),
                _ => std::fs::remove_file(&p),
            };
            if let Err(e) = res {
                log(&format!("cannot remove {}: {e}", p.display()));
            }
        }
    }
    let empty = std::fs::read_dir(dir)
        .map(|d| d.flatten().all(|e| kept(&e.file_name())))
        .unwrap_or(true);
    if !empty {
        log(&format!("{} is not empty after clean-up", dir.display()));
    }
    empty
}

/// Empty `dir` of everything on its own filesystem, never crossing into
/// what the engine mounted inside it (Podman's `/run/.containerenv`, a
/// `/run/secrets` directory, a host directory of containers.conf's
/// `volumes`): those are the engine's, not a run's, and a host directory's
/// files must never be deleted. Symbolic links are removed, not followed.
fn wipe_within(dir: &Path) -> bool {
    let Ok(root) = std::fs::symlink_metadata(dir) else {
        return true;
    };
    fn empty(dir: &Path, dev: u64) -> bool {
        let mut clean = true;
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            let Ok(m) = p.symlink_metadata() else {
                continue;
            };
            if m.dev() != dev {
                continue; // a mount point: the engine's
            }
            let res = if m.is_dir() {
                if empty(&p, dev) {
                    std::fs::remove_dir(&p)
                } else {
                    // It holds a mount point; only the mount remains.
                    Ok(())
                }
            } else {
                std::fs::remove_file(&p)
            };
            if let Err(e) = res {
                log(&format!("cannot remove {}: {e}", p.display()));
                clean = false;
            }
        }
        // What is left is mount points and the directories leading to them.
        clean && holds_only_mounts(dir, dev)
    }
    fn holds_only_mounts(dir: &Path, dev: u64) -> bool {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .all(|e| {
                e.path().symlink_metadata().is_ok_and(|m| {
                    m.dev() != dev || (m.is_dir() && holds_only_mounts(&e.path(), dev))
                })
            })
    }
    let clean = empty(dir, root.dev());
    if !clean {
        log(&format!("{} is not empty after clean-up", dir.display()));
    }
    clean
}

/// System V shared memory, semaphores and message queues outlive the
/// processes that made them. Only their owner (or CAP_SYS_ADMIN, which the
/// guest does not have) may remove them, so a short-lived child switches to
/// the program's user to do it. Returns whether none is left.
fn remove_sysv_ipc() -> bool {
    const KINDS: [&str; 3] = ["shm", "sem", "msg"];
    let ids = |kind: &str| -> Vec<libc::c_int> {
        std::fs::read_to_string(format!("/proc/sysvipc/{kind}"))
            .unwrap_or_default()
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
            .collect()
    };
    let all: Vec<Vec<libc::c_int>> = KINDS.iter().map(|k| ids(k)).collect();
    if all.iter().all(Vec::is_empty) {
        return true;
    }
    let user = program_user();
    // Everything the child needs is prepared before the fork: after it,
    // only async-signal-safe calls.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            if let Some((uid, gid)) = user
                && (libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0)
            {
                libc::_exit(1);
            }
            for &id in &all[0] {
                libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut());
            }
            for &id in &all[1] {
                libc::semctl(id, 0, libc::IPC_RMID);
            }
            for &id in &all[2] {
                libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut());
            }
            libc::_exit(0);
        }
        if pid > 0 {
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    let left: usize = KINDS.iter().map(|k| ids(k).len()).sum();
    if left > 0 {
        log(&format!(
            "{left} System V IPC object(s) left after clean-up"
        ));
    }
    left == 0
}

fn other_processes() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|&pid| pid != me && !(pid == 1 && keeper_pid1()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_limit_keeps_exactly_the_first_max_bytes_per_stream() {
        let l = Limits::new(10);
        assert_eq!(l.allow(0, 4), 4);
        assert_eq!(l.allow(0, 4), 4);
        assert_eq!(l.allow(0, 4), 2, "cut inside the chunk that crosses it");
        assert_eq!(l.allow(0, 4), 0);
        assert_eq!(l.allow(1, 10), 10, "streams are counted apart");
        assert_eq!(l.allow(1, 1), 0);
    }

    #[test]
    fn a_working_directory_must_exist_or_be_scratch_space() {
        assert_eq!(resolve_workdir(None).unwrap(), Path::new(WORK_DIR));
        assert_eq!(resolve_workdir(Some("/")).unwrap(), Path::new("/"));
        let err = resolve_workdir(Some("/no/such/place")).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }
}
