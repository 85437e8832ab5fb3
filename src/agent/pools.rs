//! `PoolUp`, `PoolStats`, `PoolDown` and `PoolDrain`.

use super::Agent;
use super::conn::{ConnWriter, reply, reply_error};
use crate::protocol::{ErrorKind, PoolSpec, Response};
use std::sync::Arc;
use std::time::Duration;

/// Bring a pool to `warm` members (at least its `min_size`), reporting
/// progress as containers become idle.
pub async fn up(agent: Arc<Agent>, spec: PoolSpec, warm: usize, w: &mut ConnWriter) {
    if let Err(e) = agent.check_backend(&spec) {
        reply_error(w, ErrorKind::BadRequest, e).await;
        return;
    }
    let pool = agent.pool(&spec);
    let target = warm.max(spec.min_size).min(spec.max_size);
    let fill = pool.warm_up(target);
    tokio::pin!(fill);
    let mut shown = None;
    let result = loop {
        let ready = pool.stats().idle.min(target);
        if shown != Some(ready) {
            shown = Some(ready);
            reply(w, &Response::Progress { ready, target }).await;
        }
        tokio::select! {
            r = &mut fill => break r,
            _ = tokio::time::sleep(PROGRESS_EVERY) => {}
        }
    };
    match result {
        Ok(()) => {
            let s = pool.stats();
            let busy = if s.busy > 0 {
                format!(", {} busy", s.busy)
            } else {
                String::new()
            };
            reply(
                w,
                &Response::Done {
                    message: format!(
                        "pool `{}` is up: {} warm container(s){busy} of {} (min {}, max {}, exhaustion {})",
                        s.name, s.idle, s.image, s.min_size, s.max_size, s.exhaustion
                    ),
                },
            )
            .await
        }
        Err(e) => reply_error(w, ErrorKind::Engine, e.to_string()).await,
    }
}

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// `sbx pool down`: every pool stops taking runs, busy runs finish (or are
/// cancelled with `force`), then every container goes and the agent stops.
pub async fn drain(agent: Arc<Agent>, force: bool, w: &mut ConnWriter) {
    let pools = agent.all_pools();
    let drains = pools.iter().map(|p| p.drain(force));
    // `--no-pool` runs are busy runs too; their containers go with them.
    let (drained, ()) = tokio::join!(
        futures_util::future::join_all(drains),
        agent.fresh.drain(force)
    );
    let drained: usize = drained.into_iter().sum();
    let removed = drained + agent.remove_everything().await;
    reply(
        w,
        &Response::Done {
            message: format!("removed {removed} container(s); agent stopped"),
        },
    )
    .await;
    agent.request_shutdown();
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
