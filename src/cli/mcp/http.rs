//! `sbx mcp --http ADDR`: the same server over MCP's streamable-HTTP
//! transport, at `http://ADDR/mcp`.
//!
//! The agent's socket admits only its owner's uid; a TCP port admits any
//! local process, so every request must carry `Authorization: Bearer
//! TOKEN` (`SBX_MCP_TOKEN`, else a random token printed on stderr). The
//! SDK's own checks stay on: the `Host` header must name a loopback host
//! (DNS rebinding), and a request from a web page (one with an `Origin`)
//! is refused. A non-loopback address is refused unless `--allow-remote`.

use super::tools::Sandbox;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, header};
use hyper_util::rt::TokioIo;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

/// The path the endpoint is served at.
const PATH: &str = "/mcp";

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(
        "--http {0}: not a loopback address; anyone who can reach it could run code as you. Pass --allow-remote if that is what you want"
    )]
    NotLoopback(SocketAddr),
    #[error("--http {0}: cannot listen there: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("cannot make a token: {0}; set SBX_MCP_TOKEN")]
    Token(std::io::Error),
}

/// The token clients must present: `SBX_MCP_TOKEN`, else 128 random bits.
fn token() -> Result<(String, bool), HttpError> {
    if let Ok(t) = std::env::var("SBX_MCP_TOKEN")
        && !t.is_empty()
    {
        return Ok((t, false));
    }
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(HttpError::Token)?,
        &mut bytes,
    )
    .map_err(HttpError::Token)?;
    Ok((bytes.iter().map(|b| format!("{b:02x}")).collect(), true))
}

/// Compare without an early exit, so that timing tells nothing of the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same(t.trim().as_bytes(), token.as_bytes()))
}

fn plain(
    status: StatusCode,
    text: &str,
) -> Response<http_body_util::combinators::BoxBody<Bytes, Infallible>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

pub async fn serve(addr: SocketAddr, allow_remote: bool, server: Sandbox) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(crate::UsageError(HttpError::NotLoopback(addr).to_string()).into());
    }
    let (token, generated) = token()?;
    let mut config = StreamableHttpServerConfig::default().enforce_origin_validation();
    if !addr.ip().is_loopback() {
        // Clients name this machine however they reach it.
        config = config.disable_allowed_hosts();
    }
    let service = Arc::new(StreamableHttpService::new(
        move || Ok(server.clone()),
        LocalSessionManager::default().into(),
        config,
    ));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| HttpError::Bind(addr, e))?;
    let bound = listener.local_addr()?;
    eprintln!("sbx: serving MCP at http://{bound}{PATH}");
    if generated {
        eprintln!(
            "sbx: clients must send the header `Authorization: Bearer {token}` (set SBX_MCP_TOKEN to choose the token)"
        );
    }
    let token: Arc<str> = token.into();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and the like: the listener itself is fine.
                crate::verbose!("MCP over HTTP: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = service.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |req: Request<Incoming>| {
                let service = service.clone();
                let token = token.clone();
                async move {
                    if req.uri().path() != PATH {
                        return Ok::<_, Infallible>(plain(
                            StatusCode::NOT_FOUND,
                            &format!("the MCP endpoint is {PATH}"),
                        ));
                    }
                    if !authorized(&req, &token) {
                        crate::verbose!("MCP over HTTP: refused {peer}: no valid bearer token");
                        let mut r = plain(
                            StatusCode::UNAUTHORIZED,
                            "send `Authorization: Bearer TOKEN` (the token sbx mcp printed, or SBX_MCP_TOKEN)",
                        );
                        r.headers_mut().insert(
                            header::WWW_AUTHENTICATE,
                            header::HeaderValue::from_static("Bearer"),
                        );
                        return Ok(r);
                    }
                    Ok(service.handle(req).await)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler);
            if let Err(e) = conn.await {
                crate::verbose!("MCP over HTTP: connection from {peer}: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_compared_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(!same(b"", b"a"));
    }
}
