//! `sbx agent start|stop|status` (and the hidden `serve` the client spawns).

use crate::client::{Client, ClientError};
use crate::protocol::{Request, Response};
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
#[command(about = "Control the per-user background agent (normally started on demand)")]
pub struct AgentArgs {
    #[command(subcommand)]
    pub cmd: AgentCmd,
}

#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Start the agent if it is not running
    Start,
    /// Remove the agent's containers and stop it (same as `sbx pool down`)
    Stop,
    /// Show whether the agent runs, its engine and socket; exit 1 if not running
    Status,
    /// Run the agent in the foreground (what `start` spawns)
    #[command(hide = true)]
    Serve,
}

pub async fn execute(args: AgentArgs) -> anyhow::Result<i32> {
    match args.cmd {
        AgentCmd::Start => {
            let mut client = Client::connect(true).await?;
            if let Response::Status { pid, socket, .. } = client.request(&Request::Status).await? {
                println!("agent running (pid {pid}) on {socket}");
            }
            Ok(0)
        }
        AgentCmd::Stop => match Client::connect(false).await {
            Ok(mut client) => {
                if let Response::Done { message } = client.request(&Request::PoolDown).await? {
                    println!("{message}");
                }
                Ok(0)
            }
            Err(ClientError::NotRunning) => {
                println!("no agent running");
                Ok(0)
            }
            Err(e) => Err(e.into()),
        },
        AgentCmd::Status => match Client::connect(false).await {
            Ok(mut client) => {
                if let Response::Status {
                    pid,
                    version,
                    engine,
                    socket,
                    pools,
                    label,
                } = client.request(&Request::Status).await?
                {
                    println!("agent: running, pid {pid}, sbx {version}");
                    println!("socket: {socket}");
                    println!("engine: {engine}");
                    println!("pools: {pools}");
                    let cli = engine.split_whitespace().next().unwrap_or("docker");
                    println!("containers: {cli} ps --filter label={label}");
                }
                Ok(0)
            }
            Err(ClientError::NotRunning) => {
                println!("agent: not running (it starts with the first `sbx run`)");
                Ok(1)
            }
            Err(e) => Err(e.into()),
        },
        AgentCmd::Serve => unreachable!("dispatched in main before the client runtime starts"),
    }
}
