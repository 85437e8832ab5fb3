//! `Status`: who the agent is, how long it has run, what it holds.

use super::Agent;
use crate::protocol::{Response, protocol_version};
use std::sync::atomic::Ordering;

pub async fn handle(agent: &Agent) -> Response {
    // Asked now rather than taken from the last periodic check, so a status
    // right after an outage is not stale.
    let engine_ok = agent.backend.ping().await.is_ok();
    agent.engine_ok.store(engine_ok, Ordering::Relaxed);
    let mut pools = agent.pool_stats();
    pools.sort_by(|a, b| a.name.cmp(&b.name).then(a.image.cmp(&b.image)));
    Response::Status {
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol: protocol_version(),
        uptime_ms: agent.uptime().as_millis() as u64,
        engine: agent.backend.describe(),
        engine_ok,
        socket: agent.paths.socket().display().to_string(),
        log: agent.paths.log().display().to_string(),
        pools,
        pinned: agent.pinned.load(Ordering::Relaxed),
        idle_exit_ms: agent.settings.idle_exit.map_or(0, |d| d.as_millis() as u64),
        label: format!("{}={}", crate::backend::LABEL_AGENT, agent.agent_id),
        memory: crate::protocol::AgentMemory::of_self(),
    }
}
