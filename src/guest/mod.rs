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

pub mod wire;

use crate::protocol::{Frame, FrameError, Kind, read_frame_sync, write_frame_sync};
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Component, Path};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use wire::{FromGuest, GuestFile, HOME_DIR, ToGuest, WORK_DIR};

/// Writable places a run can leave traces in; wiped after every run.
/// (A read-only root filesystem that makes this list exhaustive comes with
/// container hardening.)
const SCRATCH_DIRS: &[&str] = &[WORK_DIR, HOME_DIR, "/tmp", "/var/tmp", "/dev/shm"];

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

fn log(msg: &str) {
    eprintln!("sbx-guest[{}]: {msg}", std::process::id());
}

struct Run {
    stdin_tx: Option<mpsc::Sender<Vec<u8>>>,
    finished: Arc<AtomicBool>,
    pgid: i32,
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
    let clean = clean_up();
    send_msg(&FromGuest::Ready {
        version: env!("CARGO_PKG_VERSION").into(),
        clean,
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
                Ok(ToGuest::Run {
                    argv,
                    files,
                    env,
                    timeout_ms,
                }) => {
                    if current
                        .as_ref()
                        .is_some_and(|r| !r.finished.load(Ordering::SeqCst))
                    {
                        log("run request while a run is active; ignored");
                        continue;
                    }
                    current = Some(start_run(argv, files, env, timeout_ms));
                }
                Ok(ToGuest::StdinEof) => {
                    if let Some(r) = current.as_mut() {
                        r.stdin_tx = None;
                    }
                }
                Ok(ToGuest::Cancel) => {
                    if let Some(r) = current.as_ref() {
                        kill_all(r.pgid);
                    }
                }
                Ok(ToGuest::Ping) => send_msg(&FromGuest::Pong),
                Err(e) => log(&format!("unreadable message: {e}")),
            },
            other => log(&format!("unexpected frame kind {other:?}")),
        }
    }
    // Agent gone: nothing may outlive it.
    kill_all(current.map(|r| r.pgid).unwrap_or(0));
    0
}

fn start_run(
    argv: Vec<String>,
    files: Vec<GuestFile>,
    env: Vec<(String, String)>,
    timeout_ms: u64,
) -> Run {
    let finished = Arc::new(AtomicBool::new(false));
    let fail = |msg: String, code: i32| {
        send(&Frame::data(Kind::Stderr, format!("sbx: {msg}\n")));
        send_msg(&FromGuest::Exit {
            code,
            timed_out: false,
        });
        let clean = clean_up();
        send_msg(&FromGuest::Ready {
            version: env!("CARGO_PKG_VERSION").into(),
            clean,
        });
    };
    let not_started = |finished: Arc<AtomicBool>| {
        finished.store(true, Ordering::SeqCst);
        Run {
            stdin_tx: None,
            finished,
            pgid: 0,
        }
    };

    if let Err(e) = place_files(&files) {
        fail(format!("cannot place the program's files: {e}"), 125);
        return not_started(finished);
    }
    let Some((program, args)) = argv.split_first() else {
        fail("empty command line".into(), 125);
        return not_started(finished);
    };

    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(WORK_DIR)
        .env_clear()
        .env(
            "PATH",
            std::env::var("PATH").unwrap_or_else(|_| {
                "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin".into()
            }),
        )
        .env("HOME", HOME_DIR)
        .env("TMPDIR", "/tmp")
        .env("LANG", "C.UTF-8")
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A session of its own gives the run a process group to kill when we are
    // not PID 1, and detaches it from anything the guest holds.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            fail(
                format!("cannot start `{program}` in the container: {e}"),
                code,
            );
            return not_started(finished);
        }
    };
    let pgid = child.id() as i32;

    let (stdin_tx, stdin_rx) = mpsc::channel::<Vec<u8>>();
    let mut child_stdin = child.stdin.take().expect("piped");
    thread::spawn(move || {
        while let Ok(chunk) = stdin_rx.recv() {
            if child_stdin.write_all(&chunk).is_err() {
                break;
            }
        }
        // Dropping the pipe is the program's EOF.
    });

    let (done_tx, done_rx) = mpsc::channel::<()>();
    let pump = |mut src: Box<dyn Read + Send>, kind: Kind, done: mpsc::Sender<()>| {
        thread::spawn(move || {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match src.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => send(&Frame::data(kind, buf[..n].to_vec())),
                }
            }
            let _ = done.send(());
        });
    };
    pump(
        Box::new(child.stdout.take().expect("piped")),
        Kind::Stdout,
        done_tx.clone(),
    );
    pump(
        Box::new(child.stderr.take().expect("piped")),
        Kind::Stderr,
        done_tx,
    );

    // Watchdog: on timeout kill the whole run; the waiter below reports it.
    let timer = Arc::new((Mutex::new(false), Condvar::new()));
    let timed_out = Arc::new(AtomicBool::new(false));
    {
        let timer = timer.clone();
        let timed_out = timed_out.clone();
        thread::spawn(move || {
            let (lock, cv) = &*timer;
            let guard = lock.lock().unwrap();
            let (_guard, res) = cv
                .wait_timeout_while(guard, Duration::from_millis(timeout_ms), |done| !*done)
                .unwrap();
            if res.timed_out() {
                timed_out.store(true, Ordering::SeqCst);
                kill_all(pgid);
            }
        });
    }

    let fin = finished.clone();
    thread::spawn(move || {
        let status = child.wait();
        {
            let (lock, cv) = &*timer;
            *lock.lock().unwrap() = true;
            cv.notify_all();
        }
        // The run is over when its main process is: whatever it left running
        // dies now, which also closes the output pipes it may have inherited.
        kill_all(pgid);
        let mut clean = reap_all(Duration::from_secs(2));
        for _ in 0..2 {
            if done_rx.recv_timeout(Duration::from_secs(2)).is_err() {
                log("output pipes still open after the run was killed");
                clean = false;
            }
        }
        let code = match status {
            Ok(s) => s.code().unwrap_or_else(|| {
                128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0)
            }),
            Err(_) => 125,
        };
        // Clean before reporting the exit: the agent hands the container
        // back to the pool when the client gets its answer, so a script's
        // next run (or `pool stats`) finds it idle. Processes are already
        // gone; what is left is wiping a few files.
        let clean = clean_up() && clean;
        send_msg(&FromGuest::Exit {
            code,
            timed_out: timed_out.load(Ordering::SeqCst),
        });
        fin.store(true, Ordering::SeqCst);
        send_msg(&FromGuest::Ready {
            version: env!("CARGO_PKG_VERSION").into(),
            clean,
        });
    });

    Run {
        stdin_tx: Some(stdin_tx),
        finished,
        pgid,
    }
}

fn place_files(files: &[GuestFile]) -> io::Result<()> {
    std::fs::create_dir_all(WORK_DIR)?;
    std::fs::create_dir_all(HOME_DIR)?;
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
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(dest, &f.contents)?;
    }
    Ok(())
}

fn is_pid1() -> bool {
    std::process::id() == 1
}

/// Kill every process of the run. As PID 1 of the container, `kill(-1)`
/// reaches every other process in the namespace, whatever session or group
/// it moved to; otherwise fall back to the run's process group.
fn kill_all(pgid: i32) {
    unsafe {
        if is_pid1() {
            libc::kill(-1, libc::SIGKILL);
        } else if pgid > 0 {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
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
        if Instant::now() >= deadline {
            return false;
        }
        if is_pid1() {
            // Processes forked after the first kill (a fork bomb) die too.
            kill_all(0);
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Wipe every scratch location and verify the container holds nothing of
/// the previous run. Returns whether it is provably clean.
fn clean_up() -> bool {
    let mut clean = true;
    if is_pid1() {
        kill_all(0);
        clean &= reap_all(Duration::from_secs(2));
        clean &= other_processes().is_empty();
    }
    for dir in SCRATCH_DIRS {
        let path = Path::new(dir);
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
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
        let empty = std::fs::read_dir(path)
            .map(|mut d| d.next().is_none())
            .unwrap_or(true);
        if !empty {
            log(&format!("{dir} is not empty after clean-up"));
            clean = false;
        }
    }
    if let Err(e) = std::fs::create_dir_all(WORK_DIR).and(std::fs::create_dir_all(HOME_DIR)) {
        log(&format!("cannot recreate the working directories: {e}"));
        clean = false;
    }
    clean
}

fn other_processes() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|&pid| pid != me)
                .collect()
        })
        .unwrap_or_default()
}
