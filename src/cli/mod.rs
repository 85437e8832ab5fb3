//! Command-line definitions (clap), one file per command.

pub mod agent;
pub mod bench;
pub mod doctor;
pub mod exec;
pub mod generate;
pub mod languages;
pub mod pool;
pub mod profile;
pub mod run;
pub mod stats;

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
    /// the kubeconfig, see [kubernetes] in the config), or auto (Docker if
    /// its socket or DOCKER_HOST is there, else Podman)
    #[arg(long, global = true, env = "SBX_BACKEND", value_name = "ENGINE",
          value_parser = ["auto", "docker", "podman", "kubernetes"])]
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
    Pool(pool::PoolArgs),
    Agent(agent::AgentArgs),
    Doctor(doctor::DoctorArgs),
    Profile(profile::ProfileArgs),
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
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
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
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub max_output: Option<u64>,

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
    #[arg(long)]
    pub no_pool: bool,
}

/// Sizes: `65536`, `64K`/`64KiB`, `10M`/`10MiB`, `1G`/`1GiB` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (try 65536, 64KiB, 10MiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{s}` (use KiB, MiB or GiB)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size `{s}` is too large"))
}

pub fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// Human durations: `250ms`, `30s`, `5m`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 500ms, 30s, 5m, 1h)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{s}` (use ms, s, m or h)"
            ));
        }
    };
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("duration `{s}` must be positive"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_like_humans_write_them() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 weeks").is_err());
    }

    #[test]
    fn sizes_read_like_humans_write_them() {
        assert_eq!(parse_size("65536").unwrap(), 65536);
        assert_eq!(parse_size("64K").unwrap(), 64 * 1024);
        assert_eq!(parse_size("10MiB").unwrap(), 10 * 1024 * 1024);
        assert_eq!(parse_size("1 gb").unwrap(), 1 << 30);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

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
