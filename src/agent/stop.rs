//! `Stop`: drain and exit (see the agent module comment).

use super::Agent;
use super::conn::{ConnWriter, reply};
use crate::protocol::Response;
use std::sync::Arc;

pub async fn handle(agent: Arc<Agent>, wait: bool, w: &mut ConnWriter) {
    let pid = std::process::id();
    agent.request_stop();
    let message = if wait {
        let removed = agent.finished().await;
        format!("agent stopped (pid {pid}); removed {removed} container(s)")
    } else {
        agent.released().await;
        format!("agent (pid {pid}) is stopping; it finishes its running requests first")
    };
    reply(w, &Response::Done { message }).await;
}
