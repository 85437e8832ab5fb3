//! `sbx agent start|stop|restart|status|logs` (and the hidden `serve` the
//! client spawns).

use crate::client::{Client, ClientError, stop_agent};
use crate::model::units::format_duration;
use crate::paths::RuntimePaths;
use crate::protocol::{Request, Response};
use clap::{Args, Subcommand};
use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

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
    /// Stop the agent: running requests finish first (bounded), then its
    /// containers are removed
    Stop,
    /// Stop the agent (of any version) and start a current one
    Restart,
    /// Show the agent's pid, version, uptime, socket, engine and pools; exit 1
    /// if it is not running
    Status,
    /// Print the agent's log
    #[command(after_help = "Examples:\n  sbx agent logs\n  sbx agent logs -f -n 20")]
    Logs {
        /// Keep printing new lines as the agent writes them (across rotation)
        #[arg(short, long)]
        follow: bool,
        /// Print only the last N lines
        #[arg(short = 'n', long, value_name = "N")]
        lines: Option<usize>,
    },
    /// Run the agent in the foreground (what `start` spawns)
    #[command(hide = true)]
    Serve,
}

pub async fn execute(args: AgentArgs, g: &super::Globals) -> anyhow::Result<i32> {
    match args.cmd {
        AgentCmd::Start => {
            let mut client = Client::connect(Some(&target(g)?)).await?;
            if let Response::Status { pid, socket, .. } = client.request(&Request::Status).await? {
                crate::say!("agent running (pid {pid}) on {socket}");
            }
            Ok(0)
        }
        AgentCmd::Stop => {
            match stop_agent().await? {
                Some(message) => crate::say!("{message}"),
                None => crate::say!("no agent running"),
            }
            Ok(0)
        }
        AgentCmd::Restart => {
            if let Some(message) = stop_agent().await? {
                crate::say!("{message}");
            }
            let mut client = Client::connect(Some(&target(g)?)).await?;
            if let Response::Status { pid, socket, .. } = client.request(&Request::Status).await? {
                crate::say!("agent running (pid {pid}) on {socket}");
            }
            Ok(0)
        }
        AgentCmd::Status => match Client::connect(None).await {
            Ok(mut client) => {
                if let Response::Status {
                    pid,
                    version,
                    protocol,
                    uptime_ms,
                    engine,
                    engine_ok,
                    socket,
                    log,
                    pools,
                    pinned,
                    idle_exit_ms,
                    label,
                    memory,
                } = client.request(&Request::Status).await?
                {
                    // Built first and written once: `| head` must not make us panic.
                    let mut out = String::new();
                    let _ = writeln!(
                        out,
                        "agent: running, pid {pid}, sbx {version}, protocol {protocol}"
                    );
                    let _ = writeln!(
                        out,
                        "uptime: {}",
                        format_duration(Duration::from_secs(uptime_ms / 1000))
                    );
                    let _ = writeln!(out, "socket: {socket}");
                    let _ = writeln!(out, "log: {log}");
                    let _ = writeln!(
                        out,
                        "memory: {:.1} MiB resident, {:.1} MiB at most so far",
                        memory.rss_bytes as f64 / f64::from(1 << 20),
                        memory.peak_rss_bytes as f64 / f64::from(1 << 20)
                    );
                    let health = if engine_ok {
                        "reachable"
                    } else {
                        "UNREACHABLE"
                    };
                    let _ = writeln!(out, "engine: {engine}, {health}");
                    if pools.is_empty() {
                        let _ = writeln!(out, "pools: none");
                    }
                    for p in &pools {
                        let _ = writeln!(
                            out,
                            "pool: {} ({}), {}/{} containers, {} busy, {} runs",
                            p.name, p.image, p.total_size, p.max_size, p.busy, p.runs
                        );
                    }
                    let lifetime = if pinned {
                        "stays up: pools were brought up explicitly (`sbx agent stop` ends it)"
                            .to_string()
                    } else if idle_exit_ms == 0 {
                        "stays up: idle exit disabled".to_string()
                    } else {
                        format!(
                            "exits after {} without clients",
                            format_duration(Duration::from_secs(idle_exit_ms / 1000))
                        )
                    };
                    let _ = writeln!(out, "lifetime: {lifetime}");
                    let cli = engine.split_whitespace().next().unwrap_or("docker");
                    let _ = writeln!(out, "containers: {cli} ps --filter label={label}");
                    let _ = std::io::stdout().write_all(out.as_bytes());
                }
                Ok(0)
            }
            Err(ClientError::NotRunning) => {
                println!("agent: not running (it starts with the first `sbx run`)");
                Ok(1)
            }
            Err(e) => Err(e.into()),
        },
        AgentCmd::Logs { follow, lines } => logs(follow, lines).await,
        AgentCmd::Serve => unreachable!("dispatched in main before the client runtime starts"),
    }
}

async fn logs(follow: bool, lines: Option<usize>) -> anyhow::Result<i32> {
    let path = RuntimePaths::from_env().log();
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => {
            anyhow::bail!(
                "no agent log at {} yet (it is written once an agent starts)",
                path.display()
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => wait_for_file(&path).await,
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    let start = match lines {
        Some(n) => tail_start(&text, n),
        None => 0,
    };
    let mut out = std::io::stdout().lock();
    if out
        .write_all(&text[start..])
        .and_then(|_| out.flush())
        .is_err()
    {
        return Ok(0); // `| head`: the reader has seen enough
    }
    drop(out);
    if !follow {
        return Ok(0);
    }
    let mut pos = text.len() as u64;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Rotated (a new file under the name) or truncated: start over on
        // whatever is there now.
        let rotated = match (std::fs::metadata(&path), file.metadata()) {
            (Ok(now), Ok(open)) => {
                use std::os::unix::fs::MetadataExt;
                now.ino() != open.ino() || now.dev() != open.dev() || now.len() < pos
            }
            _ => false,
        };
        let mut buf = Vec::new();
        file.seek(SeekFrom::Start(pos))?;
        file.read_to_end(&mut buf)?;
        pos += buf.len() as u64;
        if rotated && let Ok(f) = std::fs::File::open(&path) {
            file = f;
            pos = 0;
        }
        if !buf.is_empty() {
            let mut out = std::io::stdout().lock();
            if out.write_all(&buf).and_then(|_| out.flush()).is_err() {
                return Ok(0);
            }
        }
    }
}

async fn wait_for_file(path: &std::path::Path) -> std::fs::File {
    loop {
        if let Ok(f) = std::fs::File::open(path) {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Byte offset where the last `n` lines of `text` begin.
fn tail_start(text: &[u8], n: usize) -> usize {
    if n == 0 {
        return text.len();
    }
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let mut seen = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return i + 1;
            }
        }
    }
    0
}

/// An agent started by hand serves the backend a run would choose: the
/// selected profile's `backend` (and on Kubernetes the `[kubernetes]`
/// context and namespace) unless `--backend` or the environment says
/// otherwise. A config that does not load leaves the choice to
/// `--backend` and detection: the next run reports the config's error.
fn target(g: &super::Globals) -> anyhow::Result<crate::model::target::Target> {
    let cfg = g.load().unwrap_or_default();
    let profile = cfg
        .selected(&g.choice)
        .or_else(|_| cfg.profile(None).map_err(crate::UsageError))?;
    Ok(cfg.target(&profile, &g.choice)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_finds_the_start_of_the_last_n_lines() {
        let t = b"a\nb\nc\n";
        assert_eq!(&t[tail_start(t, 2)..], b"b\nc\n");
        assert_eq!(&t[tail_start(t, 9)..], b"a\nb\nc\n");
        assert_eq!(&t[tail_start(t, 0)..], b"");
        assert_eq!(&b"x\ny"[tail_start(b"x\ny", 1)..], b"y");
    }
}
