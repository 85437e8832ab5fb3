//! `PoolUp`, `PoolStats` and `PoolDown`.

use super::Agent;
use super::conn::{ConnWriter, reply, reply_error};
use crate::protocol::{ErrorKind, PoolSpec, Response};
use std::sync::Arc;

pub async fn up(agent: Arc<Agent>, spec: PoolSpec, warm: usize, w: &mut ConnWriter) {
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
