//! `PoolUp`, `PoolStats`, `PoolDown` and `PoolDrain`.

use super::Agent;
use super::conn::{ConnWriter, reply, reply_error};
use crate::libraries::BuildEvent;
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
    if !agent.has_pool(&spec)
        && let Err(e) = agent
            .ensure_image(&spec.image, spec.profile.pull, spec.profile.pull_timeout, w)
            .await
    {
        reply_error(w, ErrorKind::Engine, e).await;
        return;
    }
    let (events, mut build) = tokio::sync::mpsc::unbounded_channel();
    let prepare = agent.pool_prepared(&spec, events);
    tokio::pin!(prepare);
    let prepared = loop {
        tokio::select! {
            r = &mut prepare => break r,
            Some(ev) = build.recv() => send_build_event(w, ev).await,
        }
    };
    while let Ok(ev) = build.try_recv() {
        send_build_event(w, ev).await;
    }
    let pool = match prepared {
        Ok(p) => p,
        Err(e) => return reply_error(w, ErrorKind::Engine, e.to_string()).await,
    };
    let target = warm.max(spec.settings.min_size).min(spec.settings.max_size);
    let fill = pool.warm_up(target);
    tokio::pin!(fill);
    let mut shown = None;
    let result = loop {
        let ready = pool.stats().idle.min(target);
        let starting = agent.backend.starting(pool.group());
        let now = (ready, starting);
        if shown.as_ref() != Some(&now) {
            let (ready, starting) = now.clone();
            shown = Some(now);
            reply(
                w,
                &Response::Progress {
                    ready,
                    target,
                    starting,
                },
            )
            .await;
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

async fn send_build_event(w: &mut ConnWriter, ev: BuildEvent) {
    let (message, output) = match ev {
        BuildEvent::Status(m) => (m, false),
        BuildEvent::Output(m) => (m, true),
    };
    reply(w, &Response::Build { message, output }).await;
}

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// `sbx pool down`: every pool stops taking runs, busy runs finish (or are
/// cancelled with `force`), then every container goes. The caller stops
/// the agent once the client has the answer.
pub async fn drain(agent: &Agent, force: bool) -> Response {
    let pools = agent.all_pools();
    let drains = pools.iter().map(|p| p.drain(force));
    // `--no-pool` runs are busy runs too; their containers go with them.
    // Sessions end (a running one's run finishes first, or is cancelled
    // with `force`) and their containers are removed with their pools'.
    let (drained, (), _) = tokio::join!(
        futures_util::future::join_all(drains),
        agent.fresh.drain(force),
        agent.sessions.end_all("ended by `sbx pool down`", |_| true)
    );
    let drained: usize = drained.into_iter().sum();
    let removed = drained + agent.remove_everything().await;
    Response::Done {
        message: format!("removed {removed} container(s); agent stopped"),
    }
}

/// `sbx pool down --profile NAME`: drain that profile's pools only; the
/// agent and its other pools stay.
pub async fn drain_profile(agent: &Agent, force: bool, name: &str) -> Response {
    let prefix = format!("{name}-");
    let pools = agent.take_pools(|s| {
        !s.profile.name.is_empty()
            && (s.profile.name == name || s.profile.name.starts_with(&prefix))
    });
    let n = pools.len();
    let drains = pools.iter().map(|p| p.drain(force));
    let ours = |s: &super::session::Session| pools.iter().any(|p| Arc::ptr_eq(p, &s.pool));
    let why = format!("ended by `sbx pool down --profile {name}`");
    let (drained, _) = tokio::join!(
        futures_util::future::join_all(drains),
        agent.sessions.end_all(&why, ours)
    );
    let removed: usize = drained.into_iter().sum();
    Response::Done {
        message: format!(
            "profile `{name}`: removed {n} pool(s), {removed} container(s); the agent keeps running"
        ),
    }
}

/// How long `pool stats` waits for containers finishing their clean-up.
pub const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_millis(500);

pub fn stats(agent: &Agent) -> Response {
    let mut pools = agent.pool_stats();
    pools.sort_by(|a, b| {
        (a.name.as_str(), a.image.as_str(), a.id.as_str()).cmp(&(
            b.name.as_str(),
            b.image.as_str(),
            b.id.as_str(),
        ))
    });
    Response::Stats {
        pools,
        agent: crate::protocol::AgentMemory::of_self(),
    }
}

/// Remove every container at once; the caller stops the agent once the
/// client has the answer.
pub async fn down(agent: &Agent) -> Response {
    let removed = agent.remove_everything().await;
    Response::Done {
        message: format!("removed {removed} container(s); agent stopped"),
    }
}
