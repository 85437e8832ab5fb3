//! The warm interpreter of a Python container: a fork server (zygote)
//! that has started and imported the profile's `preload` modules once, so
//! that a run is a fork of it instead of a fresh `python3` (see
//! `zygote.py` for its side).
//!
//! Why it is out of the program's reach: it runs as root (the guest's
//! user), the program as `program_user()`; without capabilities the
//! program can neither signal, trace nor read the memory of a process of
//! another user. The child it keeps forked for the next run stays root
//! until it has its run, and is forked only after the previous program
//! has ended. The child closes every descriptor of the zygote's before it
//! drops to the program's user, so the program holds nothing of it; what
//! it inherits is memory, a copy of which it may change at will without
//! the zygote (or the next run) seeing it.
//!
//! The clean-up after a run spares exactly the zygote and its parked
//! child ([`protects`]) and proves every other process gone. A run whose
//! interpreter settings differ from the zygote's (a `PYTHON*` or locale
//! variable given with `-e`) is spawned as usual, and so is any run while
//! the zygote is gone; a dead zygote is restarted after that run.
//!
//! Node cannot fork once started, so a javascript container keeps a
//! pre-started interpreter instead (a spare, `spare.js`): started as the
//! program's user after each run's clean-up, with the next run's pipes in
//! place, it boots, waits for its run and becomes the program. Each spare
//! serves one run. It never runs beside a program: a run it cannot serve
//! (a build step, `--cpus`, other interpreter settings, a session's
//! state) kills it before anything of the run starts, and every clean-up
//! kills it like any process of the program's user (a new one is started
//! after). Nothing of the program's user runs while it waits, so nothing
//! can reach it.

use super::{Control, Limits, StepResult, log, program_user, step_env};
use crate::model::run::WarmInterpreter;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

const ZYGOTE: &str = include_str!("zygote.py");
const SPARE: &str = include_str!("spare.js");

/// How long the zygote may take to start and import its preloads before
/// the container serves runs without it.
const START_LIMIT: Duration = Duration::from_secs(120);
/// How long a spare may take to boot before the container is announced
/// ready without it (well within the agent's patience for a clean-up).
const SPARE_BOOT_LIMIT: Duration = Duration::from_secs(10);

struct Zygote {
    pid: u32,
    /// Our end of its run socket (its fd 3).
    sock: OwnedFd,
    /// The read end of its report pipe (its fd 4).
    results: OwnedFd,
    /// A report line read in part.
    pending: Vec<u8>,
}

/// The zygote between runs (taken out while a run uses it, so no lock is
/// held across its I/O).
static ZYGOTE_STATE: Mutex<Option<Zygote>> = Mutex::new(None);
/// Its process id (0: none), for the clean-up, which must not wait for
/// the lock a run holds; a waiting spare's likewise.
static ZYGOTE_PID: AtomicU32 = AtomicU32::new(0);

/// A pre-started interpreter waiting for its run.
struct Spare {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::process::ChildStdout,
    stderr: std::process::ChildStderr,
    /// Our end of its fd 3, where its run is written.
    run: std::fs::File,
}

static SPARE_STATE: Mutex<Option<Spare>> = Mutex::new(None);
/// When a spare last failed to start: none is tried again for a while
/// (each try holds the container back for up to SPARE_BOOT_LIMIT).
static SPARE_FAILED: Mutex<Option<Instant>> = Mutex::new(None);
const SPARE_RETRY: Duration = Duration::from_secs(60);

/// The spare a run has taken (see [`claim`]).
pub struct Claimed(Spare);

/// What this container keeps warm: the agent's setting, where the zygote
/// can be kept apart from programs (as root, programs as another user, in
/// a PID namespace of our own). Elsewhere (a pod runs the guest as the
/// program's user) every run starts its interpreter.
fn config() -> Option<&'static WarmInterpreter> {
    static CONFIG: std::sync::OnceLock<Option<WarmInterpreter>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let text = std::env::var(crate::guest::wire::GUEST_WARM_ENV).ok()?;
            let warm: WarmInterpreter = match serde_json::from_str(&text) {
                Ok(w) => w,
                Err(e) => {
                    log(&format!("unreadable warm interpreter setting: {e}"));
                    return None;
                }
            };
            let apart = program_user().is_some_and(|(uid, _)| uid != 0)
                && unsafe { libc::geteuid() } == 0
                && super::owns_pid_namespace();
            if !apart {
                log("no warm interpreter here: programs do not run as a user of their own");
                return None;
            }
            Some(warm)
        })
        .as_ref()
}

/// The zygote's process id, while there is one.
pub fn pid() -> Option<u32> {
    Some(ZYGOTE_PID.load(Ordering::SeqCst)).filter(|&p| p != 0)
}

/// `p` is the zygote, or a child of it that has not become a program
/// yet (still root), or one that ended and waits for it to reap it.
pub fn protects(p: u32) -> bool {
    let Some(z) = pid() else {
        return false;
    };
    if p == z {
        return true;
    }
    let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_string)
    };
    field("PPid:").and_then(|v| v.parse().ok()) == Some(z)
        && (field("Uid:").as_deref() == Some("0") || field("State:").as_deref() == Some("Z"))
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().next() != Some("Z"))
        })
        .unwrap_or(false)
}

/// Start the zygote if this container keeps one and it is not running
/// (at start-up, and after a run that found it gone). Waits until it has
/// imported its preloads, so a container announced ready is warm.
pub fn ensure(spare_too: bool) {
    let Some(cfg) = config() else {
        return;
    };
    if !cfg.forks() {
        // A session's container gets none: its runs are answered only
        // after Ready, which would wait for the boot.
        if spare_too {
            ensure_spare(cfg);
        }
        return;
    }
    let mut state = ZYGOTE_STATE.lock().unwrap();
    if state.as_ref().is_some_and(|z| alive(z.pid)) {
        return;
    }
    if let Some(old) = state.take() {
        log(&format!(
            "the warm interpreter (pid {}) has ended; starting a new one",
            old.pid
        ));
        unsafe {
            libc::kill(old.pid as i32, libc::SIGKILL);
        }
    }
    ZYGOTE_PID.store(0, Ordering::SeqCst);
    drop(state);
    let started = Instant::now();
    match spawn(cfg) {
        Ok(z) => {
            log(&format!(
                "warm interpreter `{}` ready (pid {}, {} ms{})",
                cfg.interpreter,
                z.pid,
                started.elapsed().as_millis(),
                if cfg.preload.is_empty() {
                    String::new()
                } else {
                    format!(", preloaded {}", cfg.preload.join(" "))
                }
            ));
            ZYGOTE_PID.store(z.pid, Ordering::SeqCst);
            *ZYGOTE_STATE.lock().unwrap() = Some(z);
        }
        Err(e) => log(&format!(
            "cannot start the warm interpreter `{}`, so runs start it each time: {e}",
            cfg.interpreter
        )),
    }
}

/// End the zygote or the spare (the agent is gone).
pub fn stop() {
    if let Some(z) = ZYGOTE_STATE.lock().unwrap().take() {
        unsafe {
            libc::kill(z.pid as i32, libc::SIGKILL);
        }
    }
    if let Some(mut sp) = SPARE_STATE.lock().unwrap().take() {
        let _ = sp.child.kill();
        let _ = sp.child.wait();
    }
    ZYGOTE_PID.store(0, Ordering::SeqCst);
}

/// Start a spare unless one waits, and wait for it to boot: the
/// container is announced ready with its interpreter warm, and a run that
/// came sooner goes to another idle container.
fn ensure_spare(cfg: &WarmInterpreter) {
    let mut state = SPARE_STATE.lock().unwrap();
    if let Some(sp) = state.as_mut() {
        if alive(sp.child.id()) {
            return;
        }
        // Killed by a clean-up (of a session's end, say): expected.
        let _ = sp.child.try_wait();
        *state = None;
    }
    if SPARE_FAILED
        .lock()
        .unwrap()
        .is_some_and(|t| t.elapsed() < SPARE_RETRY)
    {
        return;
    }
    match spawn_spare(cfg) {
        Ok(sp) => *state = Some(sp),
        Err(e) => {
            *SPARE_FAILED.lock().unwrap() = Some(Instant::now());
            log(&format!(
                "cannot pre-start the interpreter `{}`, so runs start it each time (tried again in {} s): {e}",
                cfg.interpreter,
                SPARE_RETRY.as_secs()
            ));
        }
    }
}

/// Take the waiting spare for this run if it can serve it (the program
/// step of `argv` in `cwd` with `env`, nothing before it), else kill it
/// now, before anything of the run starts.
pub fn claim(
    program_only: bool,
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    cpus: bool,
) -> Option<Claimed> {
    let cfg = config().filter(|c| !c.forks())?;
    let mut sp = SPARE_STATE.lock().unwrap().take()?;
    let pid = sp.child.id();
    if !alive(pid) {
        log(&format!(
            "the pre-started interpreter (pid {pid}) has ended before its run; this run starts its own, and a new one starts after it"
        ));
        let _ = sp.child.try_wait();
        return None;
    }
    // Node cannot narrow its own CPUs (its threads run already), and it
    // enters the directory as the program's user.
    let usable = program_only
        && !cpus
        && serves(cfg, argv, env)
        && program_user().is_some_and(|(uid, gid)| user_can_enter(cwd, uid, gid));
    if usable {
        return Some(Claimed(sp));
    }
    let _ = sp.child.kill();
    let _ = sp.child.wait();
    None
}

/// Whether `uid`/`gid` (no supplementary groups) may enter `dir`.
fn user_can_enter(dir: &Path, uid: u32, gid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    dir.ancestors().all(|d| {
        std::fs::metadata(d).is_ok_and(|m| {
            let bit = if m.uid() == uid {
                0o100
            } else if m.gid() == gid {
                0o010
            } else {
                0o001
            };
            m.is_dir() && m.mode() & bit != 0
        })
    })
}

fn spawn_spare(cfg: &WarmInterpreter) -> io::Result<Spare> {
    let (run_r, run_w) = pipe()?;
    let (ready_r, ready_w) = pipe()?;
    let mut cmd = Command::new(&cfg.interpreter);
    cmd.args(["-e", SPARE])
        .current_dir("/")
        .env_clear()
        .envs(step_env(&cfg.env))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A program from the start: its user, session, limits, OOM score.
    super::confine(
        &mut cmd,
        vec![(run_r.as_raw_fd(), 3), (ready_w.as_raw_fd(), 4)],
    );
    let mut child = cmd.spawn()?;
    drop((run_r, ready_w));
    if !booted(&ready_r, Instant::now() + SPARE_BOOT_LIMIT) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(io::Error::other("it ended or did not boot in time"));
    }
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        unreachable!("all three piped")
    };
    Ok(Spare {
        child,
        stdin,
        stdout,
        stderr,
        run: std::fs::File::from(run_w),
    })
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

fn spawn(cfg: &WarmInterpreter) -> io::Result<Zygote> {
    let mut pair = [0; 2];
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            pair.as_mut_ptr(),
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(pair[0]), OwnedFd::from_raw_fd(pair[1])) };
    let (res_r, res_w) = pipe()?;
    let preload = serde_json::to_string(&cfg.preload).expect("strings serialize");
    let mut cmd = Command::new(&cfg.interpreter);
    cmd.args(["-c", ZYGOTE, &preload])
        .current_dir("/")
        .env_clear()
        .envs(step_env(&cfg.env))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut fds = vec![(theirs.as_raw_fd(), 3), (res_w.as_raw_fd(), 4)];
    unsafe {
        cmd.pre_exec(move || {
            super::place_fds(&mut fds)?;
            // Out of the guest's session: nothing the guest's terminal or
            // process group gets reaches it.
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    drop((theirs, res_w));
    let mut z = Zygote {
        pid: child.id(),
        sock: ours,
        results: res_r,
        pending: Vec::new(),
    };
    // Reaped by the guest's clean-up (it is our child) once it ends.
    drop(child);
    let line = read_line(&mut z, Some(Instant::now() + START_LIMIT));
    let ready = line
        .as_ref()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v.get("ready").cloned());
    match ready {
        Some(failed) => {
            for f in failed.as_array().into_iter().flatten() {
                log(&format!(
                    "warm interpreter: cannot preload {}",
                    f.as_str().unwrap_or_default()
                ));
            }
            Ok(z)
        }
        None => {
            unsafe {
                libc::kill(z.pid as i32, libc::SIGKILL);
            }
            Err(io::Error::other(match line {
                Some(l) => format!("unexpected first line {l:?}"),
                None => "it ended or did not report ready in time".into(),
            }))
        }
    }
}

/// Whether a spare said it has booted (a byte on `ready`) by `deadline`.
fn booted(ready: &OwnedFd, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = libc::pollfd {
            fd: ready.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        match unsafe { libc::poll(&mut p, 1, ms) } {
            0 => return false,
            r if r < 0 => {
                if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    return false;
                }
            }
            _ => {
                let mut b = [0u8; 1];
                return unsafe { libc::read(ready.as_raw_fd(), b.as_mut_ptr().cast(), 1) } == 1;
            }
        }
    }
}

/// The next line the zygote (or its child) reported, without its newline;
/// `None` at EOF, or at `deadline`.
fn read_line(z: &mut Zygote, deadline: Option<Instant>) -> Option<String> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = z.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = z.pending.drain(..=end).collect();
            return Some(String::from_utf8_lossy(&line[..end]).into_owned());
        }
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            let mut p = libc::pollfd {
                fd: z.results.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            let r = unsafe { libc::poll(&mut p, 1, ms) };
            if r == 0 {
                return None;
            }
            if r < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return None;
            }
        }
        let n = unsafe { libc::read(z.results.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return None;
        }
        if n == 0 {
            return None;
        }
        z.pending.extend_from_slice(&buf[..n as usize]);
    }
}

/// Variables a started interpreter has already read: a run that sets them
/// otherwise than the zygote (or spare) got them needs an interpreter of
/// its own. Node reads its own and libuv's, and takes its default locale
/// from the environment at start-up.
fn interpreter_setting(cfg: &WarmInterpreter, key: &str) -> bool {
    let own: &[&str] = if cfg.forks() {
        &["PYTHON"]
    } else {
        &["NODE_", "UV_", "OPENSSL_", "SSL_"]
    };
    // The dynamic loader's and the C library's, the locale, and HOME
    // (user site-packages, node's global module paths).
    let common = ["LC_", "LD_", "MALLOC_"];
    own.iter().chain(common.iter()).any(|p| key.starts_with(p))
        || ["LANG", "HOME", "GLIBC_TUNABLES"].contains(&key)
}

/// Whether the zygote can serve a run with this command line and
/// environment.
fn serves(cfg: &WarmInterpreter, argv: &[String], env: &[(String, String)]) -> bool {
    let settings = |env: &[(String, String)]| {
        let mut s: Vec<(String, String)> = step_env(env)
            .into_iter()
            .filter(|(k, _)| interpreter_setting(cfg, k))
            .collect();
        s.sort();
        s
    };
    argv.len() >= 2
        && argv[0] == cfg.interpreter
        && !argv[1].starts_with('-')
        // Node takes a first word that is no path for a subcommand.
        && (cfg.forks() || argv[1].starts_with('/'))
        && settings(env) == settings(&cfg.env)
}

/// Send `data` with `fds` attached as one message.
fn send_with_fds(sock: RawFd, data: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let fd_bytes = std::mem::size_of_val(fds);
    // SAFETY: the control buffer is sized by CMSG_SPACE for these fds and
    // u64-aligned; the header and data pointers come from CMSG_FIRSTHDR
    // and CMSG_DATA over it.
    unsafe {
        let space = libc::CMSG_SPACE(fd_bytes as u32) as usize;
        let mut control = vec![0u64; space.div_ceil(8)];
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
        std::ptr::copy_nonoverlapping(
            fds.as_ptr(),
            libc::CMSG_DATA(cmsg).cast::<RawFd>(),
            fds.len(),
        );
        if libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The CPUs this thread may use (`--cpus` narrowed them), for the child,
/// which does not inherit our thread's mask.
fn thread_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data, read for this thread only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Run the program as a fork of the zygote. Gives the stdin receiver
/// back when the zygote cannot serve this run (the caller spawns it as
/// usual).
#[allow(clippy::too_many_arguments)]
pub fn run(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    cpus: bool,
    claimed: Option<Claimed>,
    stdin: mpsc::Receiver<Vec<u8>>,
    ctl: &Arc<Control>,
    limits: &Arc<Limits>,
) -> Result<StepResult, mpsc::Receiver<Vec<u8>>> {
    if let Some(Claimed(sp)) = claimed {
        return run_spare(sp, argv, cwd, env, stdin, ctl, limits);
    }
    let Some(cfg) = config().filter(|c| c.forks()) else {
        return Err(stdin);
    };
    if !serves(cfg, argv, env) {
        return Err(stdin);
    }
    let Some(mut z) = ZYGOTE_STATE.lock().unwrap().take() else {
        log(
            "the warm interpreter is not running; this run starts its interpreter, and a new one starts after it",
        );
        return Err(stdin);
    };
    if !alive(z.pid) {
        log(&format!(
            "the warm interpreter (pid {}) has ended; this run starts its interpreter, and a new one starts after it",
            z.pid
        ));
        // Left out: `ensure` after the run starts a new one.
        ZYGOTE_PID.store(0, Ordering::SeqCst);
        return Err(stdin);
    }
    let Some((uid, gid)) = program_user() else {
        *ZYGOTE_STATE.lock().unwrap() = Some(z);
        return Err(stdin);
    };
    let pipes = (|| Ok::<_, io::Error>((pipe()?, pipe()?, pipe()?)))();
    let Ok(((in_r, in_w), (out_r, out_w), (err_r, err_w))) = pipes else {
        *ZYGOTE_STATE.lock().unwrap() = Some(z);
        return Err(stdin);
    };
    let mut msg = handover(argv, cwd, env);
    msg["uid"] = uid.into();
    msg["gid"] = gid.into();
    msg["cpus"] = (if cpus { thread_cpus() } else { Vec::new() }).into();
    // As `confine` sets them on every other program.
    msg["rlimits"] = serde_json::json!(super::program_rlimits());
    // Before the program exists (see `stdin_feeder`); if the hand-over
    // fails, our ends of the pipes close and these threads end unused.
    let feeder = super::stdin_feeder(ctl, std::fs::File::from(in_w));
    let done = super::pump_output(
        ctl,
        limits,
        Box::new(std::fs::File::from(out_r)),
        Box::new(std::fs::File::from(err_r)),
    );
    let sent = send_with_fds(
        z.sock.as_raw_fd(),
        msg.to_string().as_bytes(),
        &[in_r.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()],
    );
    if let Err(e) = sent {
        // Too large a message (an environment of megabytes) or a zygote
        // gone: this run is spawned; a gone zygote is found by `ensure`.
        log(&format!(
            "cannot hand the run to the warm interpreter ({e}); this run starts its interpreter"
        ));
        *ZYGOTE_STATE.lock().unwrap() = Some(z);
        return Err(stdin);
    }
    // Only the child may hold these now: its exit is their EOF.
    drop((in_r, out_w, err_w));
    let _ = feeder.send(stdin);

    let mut child = 0u32;
    let mut status: Option<i32> = None;
    while let Some(line) = read_line(&mut z, None) {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        let Some(p) = v.get("pid").and_then(|p| p.as_u64()).map(|p| p as u32) else {
            continue;
        };
        match v.get("status").and_then(|s| s.as_i64()) {
            None => {
                child = p;
                ctl.pgid.store(p as i32, Ordering::SeqCst);
                // The clock may have run out before we knew whom to kill.
                if ctl.stopped() {
                    ctl.kill();
                }
            }
            Some(s) if p == child || child == 0 => {
                status = Some(s as i32);
                break;
            }
            Some(_) => {}
        }
    }
    let clean = super::end_step(ctl, done);
    let code = match status {
        Some(s) if libc::WIFEXITED(s) => libc::WEXITSTATUS(s),
        Some(s) if libc::WIFSIGNALED(s) => 128 + libc::WTERMSIG(s),
        Some(_) => 125,
        None => {
            log("the warm interpreter ended during a run; a new one starts after it");
            ZYGOTE_PID.store(0, Ordering::SeqCst);
            super::tell("the interpreter serving this run ended unexpectedly");
            return Ok(StepResult { code: 125, clean });
        }
    };
    *ZYGOTE_STATE.lock().unwrap() = Some(z);
    Ok(StepResult { code, clean })
}

/// What a waiting interpreter is told of its run: the script `argv[1]`,
/// its arguments, environment and directory.
fn handover(argv: &[String], cwd: &Path, env: &[(String, String)]) -> serde_json::Value {
    let run_env: serde_json::Map<String, serde_json::Value> = step_env(env)
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    serde_json::json!({
        "path": argv[1],
        "args": &argv[2..],
        "env": run_env,
        "cwd": cwd,
    })
}

/// Hand the run to the spare it claimed. Gives the stdin receiver back
/// when the spare is gone (the caller spawns the program as usual).
fn run_spare(
    mut sp: Spare,
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    stdin: mpsc::Receiver<Vec<u8>>,
    ctl: &Arc<Control>,
    limits: &Arc<Limits>,
) -> Result<StepResult, mpsc::Receiver<Vec<u8>>> {
    let pid = sp.child.id();
    let msg = handover(argv, cwd, env);
    ctl.pgid.store(pid as i32, Ordering::SeqCst);
    if ctl.stopped() {
        ctl.kill();
    }
    // Before the program exists (see `stdin_feeder`).
    let feeder = super::stdin_feeder(ctl, sp.stdin);
    let done = super::pump_output(ctl, limits, Box::new(sp.stdout), Box::new(sp.stderr));
    use std::io::Write;
    if let Err(e) = sp.run.write_all(format!("{msg}\n").as_bytes()) {
        log(&format!(
            "cannot hand the run to the pre-started interpreter ({e}); this run starts its own"
        ));
        let _ = sp.child.kill();
        let _ = sp.child.wait();
        return Err(stdin);
    }
    drop(sp.run);
    let _ = feeder.send(stdin);
    let status = sp.child.wait();
    let clean = super::end_step(ctl, done);
    let code = match status {
        Ok(s) => s.code().unwrap_or_else(|| {
            128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0)
        }),
        Err(_) => 125,
    };
    Ok(StepResult { code, clean })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> WarmInterpreter {
        WarmInterpreter {
            interpreter: "python3".into(),
            preload: vec![],
            env: vec![("PYTHONUNBUFFERED".into(), "1".into())],
        }
    }

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_zygote_serves_only_its_interpreter_running_a_script_with_its_settings() {
        let env = cfg().env;
        let script = argv(&["python3", "/sbx/work/main.py", "a"]);
        assert!(serves(&cfg(), &script, &env));
        assert!(!serves(&cfg(), &argv(&["python3", "-c", "pass"]), &env));
        assert!(!serves(&cfg(), &argv(&["node", "/sbx/work/main.js"]), &env));
        assert!(!serves(&cfg(), &argv(&["python3"]), &env));
        let mut other = env.clone();
        other.push(("PYTHONHASHSEED".into(), "0".into()));
        assert!(
            !serves(&cfg(), &script, &other),
            "a setting it started without"
        );
        let mut locale = env.clone();
        locale.push(("LC_ALL".into(), "C".into()));
        assert!(!serves(&cfg(), &script, &locale));
        let mut plain = env.clone();
        plain.push(("GREETING".into(), "hi".into()));
        assert!(
            serves(&cfg(), &script, &plain),
            "other variables are the run's own"
        );
    }
}
