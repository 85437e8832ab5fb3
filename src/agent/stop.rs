//! `Stop`: drain and exit (see the agent module comment).

use super::Agent;
use crate::protocol::Response;

pub async fn handle(agent: &Agent, wait: bool) -> Response {
    let pid = std::process::id();
    agent.request_stop();
    let message = if wait {
        let removed = agent.finished().await;
        format!("agent stopped (pid {pid}); removed {removed} container(s)")
    } else {
        agent.released().await;
        format!("agent (pid {pid}) is stopping; it finishes its running requests first")
    };
    Response::Done { message }
}
