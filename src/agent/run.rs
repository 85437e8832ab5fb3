//! `Run`: lease a warm sandbox, relay the program's streams, give it back.

use super::Agent;
use super::conn::{ConnReader, ConnWriter, reply, reply_error};
use crate::backend::GuestEvent;
use crate::guest::wire::{FromGuest, GuestExit, RunSpec, ToGuest};
use crate::pool::PoolError;
use crate::protocol::{
    ErrorKind, Frame, Kind, Request, Response, RunExit, RunRequest, read_frame, write_frame,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the client sends while its program runs.
enum ClientInput {
    Stdin(Vec<u8>),
    Eof,
}

/// Extra time the guest gets beyond the run's own timeout before the agent
/// gives up on the container altogether.
const GUEST_GRACE: Duration = Duration::from_secs(15);

pub async fn handle(agent: Arc<Agent>, req: RunRequest, mut r: ConnReader, mut w: ConnWriter) {
    if let Err(e) = agent.check_backend(&req.pool) {
        reply_error(&mut w, ErrorKind::BadRequest, e).await;
        return;
    }
    let pool = agent.pool(&req.pool);
    let asked = Instant::now();
    let mut lease = match agent.acquire_live(&pool).await {
        Ok(l) => l,
        Err(e) => {
            let kind = match e {
                PoolError::Exhausted { .. } => ErrorKind::Exhausted,
                PoolError::Closed(_) => ErrorKind::ShuttingDown,
                PoolError::Backend(_) => ErrorKind::Engine,
            };
            reply_error(&mut w, kind, e.to_string()).await;
            return;
        }
    };

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
    let mut cancel = lease.cancel_signal();
    let mut cancelled = false;
    let wait_ms = started.duration_since(asked).as_millis() as u64;
    let container: String = lease.sandbox().id.chars().take(12).collect();
    let guest = &mut lease.sandbox().guest;
    let run = ToGuest::Run(RunSpec {
        build: req.build,
        argv: req.argv,
        files: req.files,
        env: req.env,
        workdir: req.workdir,
        timeout_ms: req.timeout_ms,
        max_output: req.max_output,
        collect_out: req.collect_out,
        keep_cache: req.keep_cache,
    });
    if let Err(e) = guest.send(&run).await {
        reader.abort();
        reply_error(
            &mut w,
            ErrorKind::Engine,
            format!("lost the container before the run started: {e}; retry"),
        )
        .await;
        return; // lease dropped unreleased: the container is recycled
    }

    let deadline = tokio::time::sleep(Duration::from_millis(req.timeout_ms) + GUEST_GRACE);
    tokio::pin!(deadline);
    let mut client_open = true;
    let mut stdin_open = true;
    let outcome = loop {
        tokio::select! {
            ev = guest.next() => match ev {
                GuestEvent::Stdout(b) => {
                    if client_open && write_frame(&mut w, &Frame::data(Kind::Stdout, b)).await.is_err() {
                        client_open = false;
                        let _ = guest.send(&ToGuest::Cancel).await;
                    }
                }
                GuestEvent::Stderr(b) => {
                    if client_open && write_frame(&mut w, &Frame::data(Kind::Stderr, b)).await.is_err() {
                        client_open = false;
                        let _ = guest.send(&ToGuest::Cancel).await;
                    }
                }
                GuestEvent::Msg(FromGuest::OutFile(f)) => {
                    if client_open && write_frame(&mut w, &Frame::control(&Response::OutFile(f))).await.is_err() {
                        client_open = false;
                    }
                }
                GuestEvent::Msg(FromGuest::Exit(exit)) => break Ok(exit),
                GuestEvent::Msg(_) => {}
                GuestEvent::Closed(why) => break Err(format!("the container failed during the run: {why}")),
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
                None => {
                    // The client went away mid-run: nobody wants the result.
                    eprintln!("sbx agent: a client went away mid-run; cancelling its run");
                    client_open = false;
                    let _ = guest.send(&ToGuest::Cancel).await;
                }
            },
            // `sbx pool down --force`, agent stop or a signal: stop the program;
            // the guest still reports its exit, and the closed pool then
            // removes the container.
            _ = cancel.cancelled(), if !cancelled => {
                cancelled = true;
                let _ = guest.send(&ToGuest::Cancel).await;
                if client_open {
                    client_open = false;
                    reply_error(
                        &mut w,
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

    match outcome {
        Ok(exit) => {
            let duration_ms = started.elapsed().as_millis() as u64;
            // From here the container is only cleaning up: a run arriving
            // meanwhile waits for it rather than creating a new one.
            lease.finishing();
            // The guest sends Ready right after Exit, its clean-up done:
            // release first, so that when the client has its answer the
            // container is already idle for the next run.
            let guest = &mut lease.sandbox().guest;
            let clean = guest.wait_ready(GUEST_GRACE).await.unwrap_or_else(|e| {
                eprintln!("sbx agent: guest did not finish cleaning up: {e}");
                false
            });
            lease.release(clean);
            if client_open {
                let GuestExit {
                    code,
                    timed_out,
                    build_failed,
                    stdout_truncated,
                    stderr_truncated,
                    oom_killed,
                } = exit;
                let exit = RunExit {
                    code,
                    timed_out,
                    build_failed,
                    stdout_truncated,
                    stderr_truncated,
                    oom_killed,
                    duration_ms,
                    wait_ms,
                    container,
                    image: req.pool.image.clone(),
                    pool: req.pool.name(),
                };
                reply(&mut w, &Response::Exit(exit)).await;
            }
        }
        Err(why) => {
            eprintln!("sbx agent: {why}");
            if client_open {
                reply_error(&mut w, ErrorKind::Engine, format!("{why}; retry the run")).await;
            }
            // Dropping the lease unreleased recycles the container.
        }
    }
}
