//! One client connection: peer check, handshake, then dispatch its single
//! request.
//!
//! Anything malformed (garbage, a truncated or oversized frame, silence)
//! is logged and ends that connection only; the agent serves everyone else.

use super::Agent;
use crate::protocol::{
    ErrorKind, Frame, Request, Response, protocol_version, read_frame, write_frame,
};
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::traits::StreamCommon as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{ReadHalf, WriteHalf};

pub type ConnReader = ReadHalf<Stream>;
pub type ConnWriter = WriteHalf<Stream>;

/// A client gets this long to say hello and name its request.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn reply(w: &mut ConnWriter, resp: &Response) {
    // A client that went away cannot be told anything; that is not an error
    // of the agent.
    let _ = write_frame(w, &Frame::control(resp)).await;
}

pub async fn reply_error(w: &mut ConnWriter, kind: ErrorKind, message: impl Into<String>) {
    reply(
        w,
        &Response::Error {
            kind,
            message: message.into(),
        },
    )
    .await;
}

async fn read_request(r: &mut ConnReader) -> Result<Request, String> {
    let frame = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame(r))
        .await
        .map_err(|_| "client sent nothing within 10s".to_string())?
        .map_err(|e| e.to_string())?;
    frame.parse::<Request>().map_err(|e| e.to_string())
}

/// Only processes of the agent's own uid may use it: the socket is a door
/// to this user's container engine. Returns a description of a refused
/// peer.
fn check_peer(stream: &Stream) -> Result<String, String> {
    let me = crate::paths::uid();
    match stream.peer_creds() {
        Ok(creds) => match creds.euid() {
            Some(uid) if uid == me => Ok(creds
                .pid()
                .map_or("a client".into(), |p| format!("client pid {p}"))),
            Some(uid) => Err(format!(
                "uid {uid} (pid {})",
                creds.pid().map_or("?".into(), |p| p.to_string())
            )),
            None => Err("a peer whose uid the system does not report".into()),
        },
        Err(e) => Err(format!("a peer whose credentials cannot be read ({e})")),
    }
}

pub async fn handle(agent: Arc<Agent>, stream: Stream) {
    let mut guard = agent.enter();
    let peer = match check_peer(&stream) {
        Ok(peer) => peer,
        Err(who) => {
            eprintln!(
                "sbx agent: refused a connection from {who}: only uid {} may use this agent",
                crate::paths::uid()
            );
            let (_r, mut w) = tokio::io::split(stream);
            let message = format!(
                "this sbx agent belongs to uid {} and serves no other user; use your own (unset SBX_RUNTIME_DIR)",
                crate::paths::uid()
            );
            reply_error(&mut w, ErrorKind::Forbidden, message).await;
            return;
        }
    };
    let (mut r, mut w) = tokio::io::split(stream);

    match read_request(&mut r).await {
        Ok(Request::Hello { protocol, .. }) if protocol == protocol_version() => {
            reply(
                &mut w,
                &Response::Hello {
                    protocol: protocol_version(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    pid: std::process::id(),
                },
            )
            .await;
        }
        Ok(Request::Hello { protocol, version }) => {
            let mine = protocol_version();
            // Facts only: what to do depends on what the client wants.
            reply_error(
                &mut w,
                ErrorKind::VersionMismatch,
                format!(
                    "the running agent speaks protocol {mine} (sbx {}), this client speaks {protocol} (sbx {version})",
                    env!("CARGO_PKG_VERSION")
                ),
            )
            .await;
            // The one request a client of another version may still make,
            // after the run it may have sent behind its greeting (dropped:
            // this agent does not run for a client it cannot speak with).
            let mut next = read_request(&mut r).await;
            if let Ok(Request::Run(_)) = next {
                next = read_request(&mut r).await;
            }
            if let Ok(Request::Stop { wait, upgrade }) = next {
                if upgrade && protocol < mine {
                    reply_error(
                        &mut w,
                        ErrorKind::VersionMismatch,
                        format!(
                            "the running agent (protocol {mine}, sbx {}) is newer than this client (protocol {protocol}); use the newer sbx, or stop it explicitly with `sbx agent stop`",
                            env!("CARGO_PKG_VERSION")
                        ),
                    )
                    .await;
                    return;
                }
                eprintln!(
                    "sbx agent: {peer} of protocol {protocol} (sbx {version}) asked this agent (protocol {mine}) to stop"
                );
                reply(&mut w, &super::stop::handle(&agent, wait).await).await;
            }
            return;
        }
        Ok(other) => {
            eprintln!("sbx agent: {peer} skipped the handshake ({other:?}); dropped");
            reply_error(&mut w, ErrorKind::BadRequest, "expected a hello first").await;
            return;
        }
        Err(e) => {
            eprintln!("sbx agent: bad handshake from {peer}: {e}; connection dropped");
            return;
        }
    }

    let req = match read_request(&mut r).await {
        Ok(req) => req,
        Err(e) => {
            eprintln!("sbx agent: bad request from {peer}: {e}; connection dropped");
            reply_error(&mut w, ErrorKind::BadRequest, e).await;
            return;
        }
    };
    if crate::verbose::on() {
        eprintln!("sbx agent: {peer}: {}", request_name(&req));
    }
    // Runs and `pool up` stream; every other request is answered once,
    // by its handler's return value.
    let shuts_down = matches!(
        req,
        Request::PoolDown | Request::PoolDrain { profile: None, .. }
    );
    let response = match req {
        Request::Run(run) => {
            guard.mark_busy();
            return super::run::handle(agent, run, r, w).await;
        }
        Request::PoolUp { pool, warm } => {
            guard.mark_busy();
            agent.pin();
            return super::pools::up(agent, pool, warm, &mut w).await;
        }
        Request::Pull {
            backend,
            images,
            timeout,
            policy,
        } => {
            guard.mark_busy();
            return super::pull::handle(agent, backend, images, timeout, policy, &mut w).await;
        }
        Request::PoolStats => {
            guard.mark_observer();
            // A container that served the asker's last run is back within
            // milliseconds (its clean-up), not shown busy.
            let pools = agent.all_pools();
            futures_util::future::join_all(
                pools.iter().map(|p| p.settled(super::pools::SETTLE_LIMIT)),
            )
            .await;
            super::pools::stats(&agent)
        }
        Request::PoolDown => super::pools::down(&agent).await,
        Request::PoolDrain {
            force,
            profile: Some(name),
        } => super::pools::drain_profile(&agent, force, &name).await,
        Request::PoolDrain { force, .. } => super::pools::drain(&agent, force).await,
        Request::Status => super::status::handle(&agent).await,
        Request::SessionStart(start) => {
            // Leasing may create a container: a drain waits for it.
            guard.mark_busy();
            let pool = &start.pool;
            let pulled = match agent.has_pool(pool) {
                true => Ok(()),
                false => {
                    agent
                        .ensure_image(
                            &pool.image,
                            pool.profile.pull,
                            pool.profile.pull_timeout,
                            &mut w,
                        )
                        .await
                }
            };
            match pulled {
                Ok(()) => super::session::start(agent.clone(), start).await,
                Err(message) => Response::Error {
                    kind: ErrorKind::Engine,
                    message,
                },
            }
        }
        Request::SessionStop { session } => super::session::stop(&agent, &session).await,
        Request::SessionInfo { session } => super::session::info(&agent, &session),
        Request::SessionList => super::session::list(&agent),
        Request::Stop { wait, .. } => super::stop::handle(&agent, wait).await,
        Request::Hello { .. } | Request::StdinEof | Request::StdoutClosed => Response::Error {
            kind: ErrorKind::BadRequest,
            message: "unexpected message".into(),
        },
    };
    if shuts_down {
        // The answer says the agent stopped: by then it must take no
        // client, or a command right after `pool down` would reach its
        // drained pools ("shutting down") instead of starting a new agent.
        agent.request_shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(5), agent.released()).await;
    }
    reply(&mut w, &response).await;
}

fn request_name(req: &Request) -> &'static str {
    match req {
        Request::Hello { .. } => "hello",
        Request::Run(_) => "run",
        Request::StdinEof => "stdin_eof",
        Request::StdoutClosed => "stdout_closed",
        Request::PoolUp { .. } => "pool_up",
        Request::Pull { .. } => "pull",
        Request::PoolStats => "pool_stats",
        Request::PoolDown => "pool_down",
        Request::PoolDrain { .. } => "pool_drain",
        Request::Status => "status",
        Request::Stop { .. } => "stop",
        Request::SessionStart(_) => "session_start",
        Request::SessionStop { .. } => "session_stop",
        Request::SessionInfo { .. } => "session_info",
        Request::SessionList => "session_list",
    }
}
