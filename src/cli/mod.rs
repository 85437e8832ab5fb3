//! Command-line definitions (clap), one file per command.

pub mod agent;
pub mod bench;
pub mod doctor;
pub mod exec;
pub mod generate;
pub mod languages;
pub mod mcp;
pub mod pool;
pub mod profile;
pub mod pull;
pub mod run;
pub mod session;
pub mod stats;

use crate::UsageError;
use crate::config::{Choice, Config};
use crate::exit;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "sbx",
    version,
    about = "Run untrusted code in pre-warmed containers, fast",
    long_about = "Run untrusted code (typically written by an LLM) in containers, fast.\n\n\
A per-user background agent, started on first use, keeps pools of warm \
containers; a run costs about as much as starting the interpreter.",
    after_help = crate::exit::HELP
)]
pub struct Cli {
    /// Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]
    #[arg(long, global = true, env = "SBX_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Container engine: docker, podman, kubernetes (pods in the cluster of
    /// the kubeconfig, see [kubernetes] in the config), bubblewrap (no
    /// engine: namespaces made by `bwrap`), or auto (Docker if its socket
    /// or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is
    /// installed)
    #[arg(long, global = true, env = "SBX_BACKEND", value_name = "ENGINE",
          value_parser = ["auto", "docker", "podman", "kubernetes", "bubblewrap"])]
    pub backend: Option<String>,

    /// Config profile for run, exec and pool up/stats/down [default: the
    /// `default` profile, else built-in defaults]
    #[arg(long, global = true, env = "SBX_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// Say on stderr what sbx itself does: agent, socket, spawn, handshake
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print none of sbx's own messages or progress bars, only errors (a
    /// program's output and requested data are unaffected)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Run(run::RunArgs),
    Exec(exec::ExecArgs),
    Bench(bench::BenchArgs),
    Languages(languages::LanguagesArgs),
    Pull(pull::PullArgs),
    Pool(pool::PoolArgs),
    Session(session::SessionArgs),
    Agent(agent::AgentArgs),
    Doctor(doctor::DoctorArgs),
    Profile(profile::ProfileArgs),
    Mcp(mcp::McpArgs),
    /// The runner inside each container (started by the agent, not by hand)
    #[command(hide = true)]
    Guest,
    /// PID 1 of each Kubernetes sandbox pod (started by the pod, not by hand)
    #[command(hide = true)]
    Keeper,
    /// Write shell completions and man pages (for packagers and CI)
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

/// Options shared by `run` and `exec`.
#[derive(Args, Debug, Clone)]
pub struct RunOptions {
    /// Kill the run (build included) after this long, e.g. 500ms, 30s, 2m;
    /// exit code 124 [default: the profile's timeout, else `[run] timeout`
    /// of the config, else 60s]
    #[arg(long, value_parser = crate::model::units::parse_duration, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,

    /// Set an environment variable for the program (repeatable)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// Working directory of the program inside the sandbox: relative to the
    /// directory holding the program and its --file inputs, or absolute
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,

    /// Place a local file next to the program, as REMOTE (a relative path;
    /// default: the file's name) (repeatable)
    #[arg(long = "file", value_name = "LOCAL[:REMOTE]")]
    pub files: Vec<String>,

    /// Copy what the program wrote under $SBX_OUT (/sbx/out) into DIR,
    /// keeping relative paths; links are refused
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,

    /// At most this much output per stream, e.g. 64KiB, 10MiB; a program
    /// that writes more is stopped there and sbx exits 123 [default: `[run]
    /// max_output` of the config, else 10MiB]
    #[arg(long, value_parser = crate::model::units::parse_size, value_name = "SIZE")]
    pub max_output: Option<u64>,

    /// Let the program use at most N of the sandbox's CPUs at once (its
    /// processes are pinned to N of them) [default: all the sandbox has]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub cpus: Option<u32>,

    /// Print one JSON object with the outcome and both outputs instead of
    /// streaming them (see README: "JSON results")
    #[arg(long)]
    pub json: bool,

    /// Do not pass stdin to the program, which reads EOF (like `ssh -n`; for
    /// loops such as `while read f; do sbx run -n "$f"; done < list`)
    #[arg(short = 'n', long)]
    pub no_stdin: bool,

    /// Run in a fresh container made for this run and removed before sbx
    /// returns, instead of a warm one from the pool (slower: the container
    /// is created first; `sbx bench` shows by how much)
    #[arg(long, conflicts_with = "session")]
    pub no_pool: bool,

    /// Run in this session's sandbox (id or name, from `sbx session
    /// start`): files of its earlier runs are there, and with --keep-state
    /// its variables too; runs sent at once go one after the other
    #[arg(long, value_name = "ID|NAME", env = "SBX_SESSION")]
    pub session: Option<String>,
}

pub fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// Parse the command line and run the command; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    crate::verbose::set(cli.verbose);
    crate::verbose::set_quiet(cli.quiet);
    let streams_a_program = matches!(cli.command, Command::Run(_) | Command::Exec(_));
    let long_lived = matches!(
        cli.command,
        Command::Guest
            | Command::Keeper
            | Command::Agent(agent::AgentArgs {
                cmd: agent::AgentCmd::Serve
            })
    );
    if !streams_a_program && !long_lived {
        // Commands that print reports end quietly when their reader goes
        // away (`sbx pool stats | head -1`), as Unix tools do, instead of
        // panicking on EPIPE. A run keeps ignoring SIGPIPE: its stderr and
        // exit code must still arrive after stdout is closed, and the agent
        // and guest must survive a vanished peer.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let globals = Globals {
        config: cli.config,
        choice: Choice {
            profile: cli.profile,
            backend: cli.backend,
        },
    };
    match cli.command {
        // Neither needs the client's runtime; the guest uses no runtime at all.
        Command::Guest => crate::guest::main(),
        Command::Keeper => crate::guest::keeper_main(),
        Command::Generate(args) => match generate::execute(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("sbx: cannot write the generated files: {e:#}");
                exit::SBX_ERROR
            }
        },
        Command::Agent(agent::AgentArgs {
            cmd: agent::AgentCmd::Serve,
        }) => crate::agent::serve(crate::paths::RuntimePaths::from_env()),
        command => run_client(command, &globals),
    }
}

fn run_client(command: Command, g: &Globals) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sbx: cannot start the async runtime: {e}");
            return exit::SBX_ERROR;
        }
    };
    let result = rt.block_on(async {
        match command {
            Command::Run(args) => run::execute(args, g).await,
            Command::Exec(args) => exec::execute(args, g).await,
            Command::Bench(args) => bench::execute(args, g).await,
            Command::Languages(args) => languages::execute(args, g).await,
            Command::Pull(args) => pull::execute(args, g).await,
            Command::Pool(args) => pool::execute(args, g).await,
            Command::Session(args) => session::execute(args, g).await,
            Command::Agent(args) => agent::execute(args, g).await,
            Command::Doctor(args) => doctor::execute(args, g).await,
            Command::Profile(args) => profile::execute(args, g),
            Command::Mcp(args) => {
                let owned = Globals {
                    config: g.config.clone(),
                    choice: g.choice.clone(),
                };
                mcp::execute(args, owned).await
            }
            Command::Guest | Command::Keeper | Command::Generate(_) => {
                unreachable!("dispatched in main")
            }
        }
    });
    // Not dropped: a pending read of our stdin would block the runtime's
    // shutdown, and the process exits right after this anyway.
    std::mem::forget(rt);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sbx: {e:#}");
            exit_code_of(&e)
        }
    }
}

/// The exit code for a failure of the command itself (README, exit codes).
pub fn exit_code_of(e: &anyhow::Error) -> i32 {
    if e.is::<UsageError>() {
        exit::USAGE
    } else if matches!(
        e.downcast_ref::<crate::client::ClientError>(),
        Some(crate::client::ClientError::Agent {
            kind: crate::protocol::ErrorKind::Exhausted,
            ..
        })
    ) {
        exit::EXHAUSTED
    } else if matches!(
        e.downcast_ref::<crate::client::ClientError>(),
        Some(crate::client::ClientError::Agent {
            kind: crate::protocol::ErrorKind::NoSession,
            ..
        })
    ) {
        exit::NO_SESSION
    } else {
        exit::SBX_ERROR
    }
}

/// The global options every client command gets.
pub struct Globals {
    /// `--config` / `SBX_CONFIG`.
    pub config: Option<PathBuf>,
    /// `--profile` and `--backend`.
    pub choice: Choice,
}

impl Globals {
    pub fn config_path(&self) -> Option<&std::path::Path> {
        self.config.as_deref()
    }

    pub fn load(&self) -> Result<Config, crate::config::ConfigError> {
        Config::load(self.config_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_pairs_need_a_key() {
        assert_eq!(parse_env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("novalue").is_err());
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
