//! The client side: reach the agent (starting it if needed), make requests,
//! stream a run's output.
//!
//! Start-up follows a lock-probe-spawn pattern: try the socket; if nobody
//! answers, take the spawn lock (so racing clients start one agent, not
//! twenty), probe again, then spawn `sbx agent serve` detached from the
//! terminal with its stderr in the agent log, and poll until it answers.
//! If the agent exits instead, its last log line — its real reason — is
//! the error the user sees.

use crate::paths::{RuntimePaths, lock_file};
use crate::protocol::{
    ErrorKind, Frame, FrameError, Kind, OutFile, PROTOCOL_VERSION, Request, Response, RunExit,
    read_frame, write_frame,
};
use interprocess::local_socket::GenericFilePath;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, ReadHalf, WriteHalf};

/// How long a new agent may take to come up (engine connection and reaping
/// included) before the client gives up.
const SPAWN_TIMEOUT: Duration = Duration::from_secs(30);

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

impl Client {
    /// Connect to the running agent; with `spawn`, start one if needed.
    pub async fn connect(spawn: bool) -> Result<Client, ClientError> {
        let paths = RuntimePaths::from_env();
        let stream = match try_connect(&paths).await {
            Ok(s) => s,
            Err(_) if !spawn => return Err(ClientError::NotRunning),
            Err(_) => spawn_agent(&paths).await?,
        };
        let (r, w) = tokio::io::split(stream);
        let mut client = Client { r, w, paths };
        client
            .send(&Request::Hello {
                protocol: PROTOCOL_VERSION,
                version: env!("CARGO_PKG_VERSION").into(),
            })
            .await?;
        match client.recv_control().await? {
            Response::Hello { .. } => Ok(client),
            Response::Error { kind, message } => Err(ClientError::Agent { kind, message }),
            other => Err(client.lost(format!("unexpected handshake reply {other:?}"))),
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

    /// Send one request and return its single reply; agent errors become
    /// `ClientError::Agent`.
    pub async fn request(&mut self, req: &Request) -> Result<Response, ClientError> {
        self.send(req).await?;
        match self.recv_control().await? {
            Response::Error { kind, message } => Err(ClientError::Agent { kind, message }),
            other => Ok(other),
        }
    }

    /// Run a program: forward our stdin (if `forward_stdin`), pass each
    /// chunk of an output-directory file to `on_file`, and return how it
    /// ended. Its output is written to ours as it arrives, or with
    /// `collect` kept in the result instead.
    pub async fn run(
        mut self,
        req: Request,
        forward_stdin: bool,
        collect: bool,
        on_file: &mut dyn FnMut(OutFile),
    ) -> Result<RunOutput, ClientError> {
        self.send(&req).await?;
        let Client {
            mut r,
            mut w,
            paths,
        } = self;
        let stdin_task = tokio::spawn(async move {
            if forward_stdin {
                let mut stdin = tokio::io::stdin();
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    match stdin.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if write_frame(&mut w, &Frame::data(Kind::Stdin, buf[..n].to_vec()))
                                .await
                                .is_err()
                            {
                                return w;
                            }
                        }
                    }
                }
            }
            let _ = write_frame(&mut w, &Frame::control(&Request::StdinEof)).await;
            w
        });

        let lost = |why: String| ClientError::Lost(why, paths.log().display().to_string());
        let mut out = std::io::stdout();
        let mut err = std::io::stderr();
        let mut out_open = true;
        let mut collected = RunOutput::default();
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
                    // A closed stdout (`| head -1`) must not stop the run's
                    // stderr or exit code from arriving.
                    if out_open && (out.write_all(&frame.payload).is_err() || out.flush().is_err())
                    {
                        out_open = false;
                    }
                }
                Kind::Stderr => {
                    let _ = err.write_all(&frame.payload);
                    let _ = err.flush();
                }
                Kind::Control => match frame.parse::<Response>() {
                    Ok(Response::OutFile(f)) => on_file(f),
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

/// The outcome of one run; `stdout`/`stderr` are filled only when the
/// caller asked to collect them rather than stream them.
#[derive(Debug, Default)]
pub struct RunOutput {
    pub exit: RunExit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

fn log_tail(paths: &RuntimePaths) -> String {
    std::fs::read_to_string(paths.log())
        .ok()
        .and_then(|log| {
            log.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim_start_matches("sbx agent: ").to_string())
        })
        .unwrap_or_else(|| format!("it exited without a message; see {}", paths.log().display()))
}

async fn spawn_agent(paths: &RuntimePaths) -> Result<Stream, ClientError> {
    paths.ensure()?;
    let lock_path = paths.spawn_lock();
    let _lock = tokio::task::spawn_blocking(move || lock_file(&lock_path, true))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    // Another client may have started it while we waited for the lock.
    if let Ok(s) = try_connect(paths).await {
        return Ok(s);
    }

    let log = std::fs::File::create(paths.log())?;
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
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
            return Err(ClientError::AgentFailed(log_tail(paths)));
        }
        if started.elapsed() > SPAWN_TIMEOUT {
            return Err(ClientError::AgentFailed(format!(
                "it did not answer within {SPAWN_TIMEOUT:?}; last log line: {}",
                log_tail(paths)
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}
