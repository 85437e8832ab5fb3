//! Cells of a `--keep-state` session: every run of the session is executed
//! by one long-lived interpreter, the driver, so what a run defines is
//! there for the next, as in a notebook.
//!
//! The driver is the language's interpreter running a small program of
//! ours (`cell.py`, `cell.js`) as the program's user, confined like any
//! run. It talks to the guest over two extra pipes:
//!
//! * fd 3, guest → driver: one JSON line per cell: the source file to
//!   execute, its arguments, working directory, environment, and the FIFO
//!   its stdin comes through;
//! * fd 4, driver → guest: one JSON line when the cell is over, `{"code": N}`,
//!   written after the driver flushed its output.
//!
//! Its stdout and stderr are pipes the guest reads during a cell. The guest
//! reads all three with one `poll`, so when the end-of-cell line arrives
//! everything the cell wrote is already in the output pipes, and draining
//! them before reporting the exit keeps the output complete and in order.
//!
//! A timeout, cancellation, output limit or OOM kill ends the driver with
//! the run: the state is lost (files stay) and the next run starts a new
//! driver, which the run is told on stderr.

use super::{Control, Limits, StepResult, confine, forward_output, program_user, step_env, tell};
use crate::guest::wire::RunSpec;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

const PYTHON_DRIVER: &str = include_str!("cell.py");
const NODE_DRIVER: &str = include_str!("cell.js");

/// Where a cell's stdin FIFO is made: a directory of the guest's (not a
/// scratch location the program could plant a link in).
const FIFO_DIR: &str = crate::guest::wire::GUEST_PRIVATE_DIR;

struct Driver {
    child: Child,
    /// The interpreter it runs (`python3`, `node`): a cell of another
    /// language gets a driver of its own.
    interpreter: String,
    cmd: std::fs::File,
    res: std::fs::File,
    out: std::process::ChildStdout,
    err: std::process::ChildStderr,
}

/// The session's driver between cells (taken out while a cell runs, so no
/// lock is held across its I/O).
static DRIVER: Mutex<Option<Driver>> = Mutex::new(None);

/// The driver's process id, which the clean-up after a session's run
/// spares.
pub fn driver_pid() -> Option<u32> {
    DRIVER.lock().unwrap().as_ref().map(|d| d.child.id())
}

/// End the driver (the session is over, or a run outside any session
/// comes): its state must not reach anyone else.
pub fn stop_driver() {
    if let Some(mut d) = DRIVER.lock().unwrap().take() {
        let _ = d.child.kill();
        let _ = d.child.wait();
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

fn spawn(spec: &RunSpec, interpreter: &str) -> io::Result<Driver> {
    let (source, args): (&str, &[&str]) = match interpreter {
        "node" | "nodejs" => (NODE_DRIVER, &["-e"]),
        _ => (PYTHON_DRIVER, &["-u", "-c"]),
    };
    let (cmd_r, cmd_w) = pipe()?;
    let (res_r, res_w) = pipe()?;
    let mut cmd = Command::new(interpreter);
    cmd.args(args)
        .arg(source)
        .current_dir(super::WORK_DIR)
        .env_clear()
        .envs(step_env(&spec.env))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // dup2 clears close-on-exec on the copies at 3 and 4; the originals
    // close at exec.
    confine(
        &mut cmd,
        vec![(cmd_r.as_raw_fd(), 3), (res_w.as_raw_fd(), 4)],
    );
    let mut child = cmd.spawn()?;
    drop((cmd_r, res_w));
    Ok(Driver {
        out: child.stdout.take().expect("piped"),
        err: child.stderr.take().expect("piped"),
        child,
        interpreter: interpreter.to_string(),
        cmd: std::fs::File::from(cmd_w),
        res: std::fs::File::from(res_r),
    })
}

/// The cell's stdin: a FIFO the driver opens, fed from the run's stdin by
/// a thread of ours. Opening a FIFO's write end waits for a reader, so the
/// thread blocks until the driver opens it (a driver that never does, such
/// as node's, is unblocked at the end of the cell by [`StdinFifo::close`]).
struct StdinFifo {
    path: std::path::PathBuf,
}

impl StdinFifo {
    fn new(n: u64, rx: mpsc::Receiver<Vec<u8>>) -> Option<StdinFifo> {
        std::fs::create_dir_all(FIFO_DIR).ok()?;
        let path = Path::new(FIFO_DIR).join(format!("stdin-{n}"));
        let _ = std::fs::remove_file(&path);
        let c = std::ffi::CString::new(path.to_str()?).ok()?;
        if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
            return None;
        }
        if let Some((uid, gid)) = program_user() {
            std::os::unix::fs::lchown(&path, Some(uid), Some(gid)).ok()?;
        }
        let p = path.clone();
        thread::spawn(move || {
            let Ok(mut fifo) = std::fs::OpenOptions::new().write(true).open(&p) else {
                return;
            };
            let _ = std::fs::remove_file(&p);
            while let Ok(chunk) = rx.recv() {
                if fifo.write_all(&chunk).is_err() {
                    return;
                }
            }
            // Dropping the write end is the cell's EOF.
        });
        Some(StdinFifo { path })
    }

    /// The cell is over: a writer still waiting for a reader gets one that
    /// closes at once, so its thread ends.
    fn close(self) {
        if self.path.exists() {
            let _ = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.path);
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Execute the run's program as a cell of the session's driver.
pub fn run_cell(
    spec: &RunSpec,
    workdir: &Path,
    stdin_rx: mpsc::Receiver<Vec<u8>>,
    ctl: &Arc<Control>,
    limits: &Arc<Limits>,
) -> StepResult {
    static CELLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let interpreter = spec.argv[0].clone();
    let source = spec.argv.get(1).cloned().unwrap_or_default();
    let args: Vec<String> = spec.argv.iter().skip(2).cloned().collect();

    let mut existing = DRIVER.lock().unwrap().take();
    let alive = existing
        .as_mut()
        .is_some_and(|d| matches!(d.child.try_wait(), Ok(None)));
    let reusable = alive
        && existing
            .as_ref()
            .is_some_and(|d| d.interpreter == interpreter);
    let mut driver = match existing {
        Some(d) if reusable => {
            // Stopped between cells (see below): it runs only during one.
            unsafe {
                libc::kill(d.child.id() as i32, libc::SIGCONT);
            }
            d
        }
        other => {
            if let Some(mut d) = other {
                if !alive {
                    tell(
                        "the session's interpreter had ended since the last run, so its state is lost (files are kept); this run starts a fresh one",
                    );
                }
                let _ = d.child.kill();
                let _ = d.child.wait();
            }
            match spawn(spec, &interpreter) {
                Ok(d) => d,
                Err(e) => {
                    let code = if e.kind() == io::ErrorKind::NotFound {
                        127
                    } else {
                        126
                    };
                    tell(&format!(
                        "cannot start `{interpreter}` for the session in the container: {e}"
                    ));
                    return StepResult { code, clean: true };
                }
            }
        }
    };
    let pid = driver.child.id();
    ctl.pgid.store(pid as i32, Ordering::SeqCst);
    if ctl.stopped() {
        ctl.kill();
    }

    let n = CELLS.fetch_add(1, Ordering::SeqCst);
    let fifo = StdinFifo::new(n, stdin_rx);
    let env: serde_json::Map<String, serde_json::Value> = step_env(&spec.env)
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let cell = serde_json::json!({
        "id": n,
        "path": source,
        "args": args,
        "cwd": workdir,
        "env": env,
        "stdin": fifo.as_ref().map(|f| f.path.clone()),
    });
    let sent = writeln!(driver.cmd, "{cell}").and_then(|_| driver.cmd.flush());

    let ended = match sent {
        Ok(()) => relay(&mut driver, n, ctl, limits),
        Err(_) => Ended::Died,
    };
    if let Some(f) = fifo {
        f.close();
    }
    let code = match ended {
        Ended::Code(code) => {
            // Between cells nothing of the session runs: threads and
            // timers a cell started wait, stopped, for the next cell, so
            // no code outlives its run's timeout, and the guest's file work
            // for the next run races nothing.
            unsafe {
                libc::kill(pid as i32, libc::SIGSTOP);
            }
            *DRIVER.lock().unwrap() = Some(driver);
            return StepResult { code, clean: true };
        }
        Ended::Died => {
            let _ = driver.child.kill();
            let status = driver.child.wait();
            status.map_or(125, |s| {
                s.code().unwrap_or_else(|| {
                    128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0)
                })
            })
        }
    };
    // The run's own outcome (timeout, output limit, OOM) is reported by the
    // caller; this says what it cost the session.
    if !ctl.cancelled.load(Ordering::SeqCst) {
        tell(
            "the session's interpreter ended with this run, so its state is lost (files are kept); the next run starts a fresh one",
        );
    }
    StepResult { code, clean: true }
}

enum Ended {
    /// The cell finished; the driver lives on.
    Code(i32),
    /// The driver is gone (or must go): killed with the run, or it exited.
    Died,
}

/// Relay the driver's output until it reports the cell's end, dies, or the
/// run is stopped.
fn relay(driver: &mut Driver, cell: u64, ctl: &Control, limits: &Limits) -> Ended {
    let fds = [
        driver.out.as_raw_fd(),
        driver.err.as_raw_fd(),
        driver.res.as_raw_fd(),
    ];
    let mut open = [true; 3];
    let mut result = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    let mut code: Option<i32> = None;
    loop {
        if ctl.stopped() {
            ctl.kill();
            return Ended::Died;
        }
        let mut polls: Vec<libc::pollfd> = fds
            .iter()
            .map(|&fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        for (p, o) in polls.iter_mut().zip(open) {
            if !o {
                p.fd = -1;
            }
        }
        // Once the end is known, only what is already in the pipes is
        // left to read.
        let wait = if code.is_some() { 0 } else { 50 };
        let ready = unsafe { libc::poll(polls.as_mut_ptr(), 3, wait) };
        if ready < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Ended::Died;
        }
        if ready == 0 {
            if let Some(c) = code {
                return Ended::Code(c);
            }
            continue;
        }
        for i in 0..3 {
            if !open[i] || polls[i].revents == 0 {
                continue;
            }
            let read = match i {
                0 => driver.out.read(&mut buf),
                1 => driver.err.read(&mut buf),
                _ => driver.res.read(&mut buf),
            };
            let n = match read {
                Ok(0) | Err(_) => {
                    open[i] = false;
                    // Its output closed: the driver is gone.
                    if code.is_none() {
                        return Ended::Died;
                    }
                    continue;
                }
                Ok(n) => n,
            };
            if i < 2 {
                forward_output(i, &buf[..n], limits, ctl);
                continue;
            }
            result.extend_from_slice(&buf[..n]);
            if let Some(end) = result.iter().position(|&b| b == b'\n') {
                let line: serde_json::Value =
                    serde_json::from_slice(&result[..end]).unwrap_or_default();
                // The cell's own id: a line a program forged on fd 4 (or
                // a late one of an earlier cell) is not this cell's end.
                match line.get("code").and_then(|c| c.as_i64()) {
                    Some(c) if line.get("id").and_then(|i| i.as_u64()) == Some(cell) => {
                        code = Some(c as i32)
                    }
                    Some(_) => {}
                    None => return Ended::Died,
                }
                result.drain(..=end);
            }
        }
        if open[..2].iter().all(|o| !o) && code.is_some() {
            return Ended::Code(code.unwrap_or(0));
        }
    }
}
