//! One client connection: handshake, then dispatch its single request.

use super::Agent;
use crate::protocol::{
    ErrorKind, Frame, PROTOCOL_VERSION, Request, Response, read_frame, write_frame,
};
use interprocess::local_socket::tokio::Stream;
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

pub async fn handle(agent: Arc<Agent>, stream: Stream) {
    let (mut r, mut w) = tokio::io::split(stream);

    match read_request(&mut r).await {
        Ok(Request::Hello { protocol, .. }) if protocol == PROTOCOL_VERSION => {
            reply(
                &mut w,
                &Response::Hello {
                    protocol: PROTOCOL_VERSION,
                    version: env!("CARGO_PKG_VERSION").into(),
                    pid: std::process::id(),
                },
            )
            .await;
        }
        Ok(Request::Hello { protocol, version }) => {
            reply_error(
                &mut w,
                ErrorKind::VersionMismatch,
                format!(
                    "the running agent speaks protocol {PROTOCOL_VERSION} (sbx {}), this client speaks {protocol} (sbx {version}); run `sbx agent stop` and retry",
                    env!("CARGO_PKG_VERSION")
                ),
            )
            .await;
            return;
        }
        Ok(other) => {
            eprintln!("sbx agent: client skipped the handshake ({other:?}); dropped");
            reply_error(&mut w, ErrorKind::BadRequest, "expected a hello first").await;
            return;
        }
        Err(e) => {
            eprintln!("sbx agent: bad handshake: {e}; connection dropped");
            return;
        }
    }

    let req = match read_request(&mut r).await {
        Ok(req) => req,
        Err(e) => {
            eprintln!("sbx agent: bad request: {e}; connection dropped");
            reply_error(&mut w, ErrorKind::BadRequest, e).await;
            return;
        }
    };
    match req {
        Request::Run(run) => super::run::handle(agent, run, r, w).await,
        Request::PoolUp { pool, warm } => super::pools::up(agent, pool, warm, &mut w).await,
        Request::PoolStats => super::pools::stats(agent, &mut w).await,
        Request::PoolDown => super::pools::down(agent, &mut w).await,
        Request::PoolDrain { force } => super::pools::drain(agent, force, &mut w).await,
        Request::Status => super::pools::status(agent, &mut w).await,
        Request::Hello { .. } | Request::StdinEof => {
            reply_error(&mut w, ErrorKind::BadRequest, "unexpected message").await
        }
    }
}
