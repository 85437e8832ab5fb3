//! `sbx pool up|stats|down`.

use crate::client::{Client, ClientError};
use crate::config::Config;
use crate::protocol::{PoolSpec, PoolStats, Request, Response};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use std::path::Path;

#[derive(Args, Debug)]
#[command(about = "Manage the pools of warm containers")]
pub struct PoolArgs {
    #[command(subcommand)]
    pub cmd: PoolCmd,
}

#[derive(Subcommand, Debug)]
pub enum PoolCmd {
    /// Start the agent and warm a pool so the next run is fast
    #[command(after_help = "Examples:\n  sbx pool up\n  sbx pool up --lang javascript --warm 3")]
    Up {
        /// Language of the pool
        #[arg(short, long, default_value = "python", value_name = "LANG")]
        lang: String,
        /// Containers to have warm when this returns [default: the pool's min_size, at least 1]
        #[arg(long, value_name = "N")]
        warm: Option<usize>,
    },
    /// Show each pool's size, states and runs
    #[command(
        after_help = "Examples:\n  sbx pool stats\n  sbx pool stats --json | jq '.pools[].idle'"
    )]
    Stats {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Remove every container of this user's agent and stop the agent
    Down,
}

pub async fn execute(args: PoolArgs, config: Option<&Path>) -> anyhow::Result<i32> {
    match args.cmd {
        PoolCmd::Up { lang, warm } => {
            let lang = super::run::language(&lang)?;
            let cfg = Config::load(config)?;
            let pool = PoolSpec {
                backend: crate::backend::select_engine()
                    .map_err(crate::UsageError)?
                    .name()
                    .into(),
                lang: lang.name.into(),
                image: cfg.image_for(lang),
                min_size: cfg.pool.min_size,
                max_size: cfg.pool.max_size,
            };
            let warm = warm
                .unwrap_or(cfg.pool.min_size.max(1))
                .min(cfg.pool.max_size);
            let mut client = Client::connect(true).await?;
            if let Response::Done { message } =
                client.request(&Request::PoolUp { pool, warm }).await?
            {
                println!("{message}");
            }
            Ok(0)
        }
        PoolCmd::Stats { json } => {
            let pools = match Client::connect(false).await {
                Ok(mut client) => match client.request(&Request::PoolStats).await? {
                    Response::Stats { pools } => pools,
                    other => anyhow::bail!("unexpected reply from the agent: {other:?}"),
                },
                Err(ClientError::NotRunning) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "pools": pools }))?
                );
            } else if pools.is_empty() {
                println!("no pools (the agent starts with the first `sbx run` or `sbx pool up`)");
            } else {
                println!("{}", table(&pools));
            }
            Ok(0)
        }
        PoolCmd::Down => match Client::connect(false).await {
            Ok(mut client) => {
                if let Response::Done { message } = client.request(&Request::PoolDown).await? {
                    println!("{message}");
                }
                Ok(0)
            }
            Err(ClientError::NotRunning) => {
                println!("no agent running; nothing to remove");
                Ok(0)
            }
            Err(e) => Err(e.into()),
        },
    }
}

fn table(pools: &[PoolStats]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header(vec![
        "pool", "backend", "image", "size/max", "min", "init", "idle", "busy", "removing", "runs",
        "state",
    ]);
    for p in pools {
        t.add_row(vec![
            p.name.clone(),
            p.backend.clone(),
            p.image.clone(),
            format!("{}/{}", p.total_size, p.max_size),
            p.min_size.to_string(),
            p.initializing.to_string(),
            p.idle.to_string(),
            p.busy.to_string(),
            p.removing.to_string(),
            p.runs.to_string(),
            if p.closed { "closed" } else { "open" }.to_string(),
        ]);
    }
    t
}
