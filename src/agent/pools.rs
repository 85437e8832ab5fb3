//! `PoolUp`, `PoolStats`, `PoolDown` and `Status`.

use super::Agent;
use super::conn::{ConnWriter, reply, reply_error};
use crate::protocol::{ErrorKind, PoolSpec, Response};
use std::sync::Arc;

pub async fn up(agent: Arc<Agent>, spec: PoolSpec, warm: usize, w: &mut ConnWriter) {
    if let Err(e) = agent.check_backend(&spec) {
        reply_error(w, ErrorKind::BadRequest, e).await;
        return;
    }
    let pool = agent.pool(&spec);
    match pool.fill_to(warm.max(spec.min_size)).await {
        Ok(()) => {
            let s = pool.stats();
            reply(
                w,
                &Response::Done {
                    message: format!(
                        "pool `{}` is up: {} warm container(s) of {} (max {})",
                        s.name, s.idle, s.image, s.max_size
                    ),
                },
            )
            .await
        }
        Err(e) => reply_error(w, ErrorKind::Engine, e.to_string()).await,
    }
}

pub async fn stats(agent: Arc<Agent>, w: &mut ConnWriter) {
    let mut pools: Vec<_> = agent.all_pools().iter().map(|p| p.stats()).collect();
    pools.sort_by(|a, b| a.name.cmp(&b.name).then(a.image.cmp(&b.image)));
    reply(w, &Response::Stats { pools }).await;
}

pub async fn down(agent: Arc<Agent>, w: &mut ConnWriter) {
    let removed = agent.remove_everything().await;
    reply(
        w,
        &Response::Done {
            message: format!("removed {removed} container(s); agent stopped"),
        },
    )
    .await;
    agent.request_shutdown();
}

pub async fn status(agent: Arc<Agent>, w: &mut ConnWriter) {
    reply(
        w,
        &Response::Status {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").into(),
            engine: agent.backend.describe(),
            socket: agent.paths.socket().display().to_string(),
            pools: agent.all_pools().len(),
            label: format!("{}={}", crate::backend::LABEL_AGENT, agent.agent_id),
        },
    )
    .await;
}
