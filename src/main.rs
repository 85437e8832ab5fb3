//! sbx: run untrusted code in pre-warmed containers. See README.md.

mod agent;
mod backend;
mod cli;
mod client;
mod config;
mod exit;
mod guest;
mod isolation;
mod lang;
mod libraries;
mod paths;
mod pool;
mod protocol;
mod verbose;

use clap::Parser;
use cli::{Cli, Command};

/// Bad input from the user (exit code 2), as opposed to a failure of sbx.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn main() {
    let cli = Cli::parse();
    if let Some(backend) = &cli.backend {
        // The agent a client spawns inherits the choice through the
        // environment. Sound here: no other thread exists yet.
        unsafe { std::env::set_var(backend::BACKEND_ENV, backend) };
    }
    config::select_profile(cli.profile.clone());
    verbose::set(cli.verbose);
    verbose::set_quiet(cli.quiet);
    let streams_a_program = matches!(cli.command, Command::Run(_) | Command::Exec(_));
    let long_lived = matches!(
        cli.command,
        Command::Guest
            | Command::Keeper
            | Command::Agent(cli::agent::AgentArgs {
                cmd: cli::agent::AgentCmd::Serve
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
    let code = match cli.command {
        // Neither needs the client's runtime; the guest uses no runtime at all.
        Command::Guest => guest::main(),
        Command::Keeper => guest::keeper_main(),
        Command::Generate(args) => match cli::generate::execute(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("sbx: cannot write the generated files: {e:#}");
                exit::SBX_ERROR
            }
        },
        Command::Agent(cli::agent::AgentArgs {
            cmd: cli::agent::AgentCmd::Serve,
        }) => agent::serve(paths::RuntimePaths::from_env()),
        command => run_client(command, cli.config),
    };
    std::process::exit(code);
}

fn run_client(command: Command, config: Option<std::path::PathBuf>) -> i32 {
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
    let config = config.as_deref();
    let result = rt.block_on(async {
        match command {
            Command::Run(args) => cli::run::execute(args, config).await,
            Command::Exec(args) => cli::exec::execute(args, config).await,
            Command::Bench(args) => cli::bench::execute(args, config).await,
            Command::Languages(args) => cli::languages::execute(args, config).await,
            Command::Pool(args) => cli::pool::execute(args, config).await,
            Command::Agent(args) => cli::agent::execute(args, config).await,
            Command::Doctor(args) => cli::doctor::execute(args, config).await,
            Command::Profile(args) => cli::profile::execute(args, config),
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
            if e.is::<UsageError>() {
                exit::USAGE
            } else if matches!(
                e.downcast_ref::<client::ClientError>(),
                Some(client::ClientError::Agent {
                    kind: protocol::ErrorKind::Exhausted,
                    ..
                })
            ) {
                exit::EXHAUSTED
            } else {
                exit::SBX_ERROR
            }
        }
    }
}
