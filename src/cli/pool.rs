//! `sbx pool up|stats|down`.

use super::Globals;
use crate::UsageError;
use crate::client::{Client, ClientError};
use crate::config::{parse_limit_count, parse_limit_duration};
use crate::model::pool::Exhaustion;
use crate::model::pool::PoolSettings;
use crate::protocol::PoolStats;
use crate::protocol::{Request, Response};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

#[derive(Args, Debug)]
#[command(about = "Manage the pools of warm containers")]
pub struct PoolArgs {
    #[command(subcommand)]
    pub cmd: PoolCmd,
}

#[derive(Subcommand, Debug)]
pub enum PoolCmd {
    /// Start the agent and warm a pool so the next run is fast
    #[command(after_help = "\
Options left out come from the [pool] section of the config file. A pool is
identified by all of its settings: runs use a pool brought up with flags only
if the config says the same.

Examples:
  sbx pool up
  sbx pool up --lang javascript --warm 3
  sbx pool up --min 4 --max 8 --exhaustion temporary --idle-timeout 10m")]
    Up {
        /// Language of the pool [default: the profile's, else python]
        #[arg(short, long, value_name = "LANG")]
        lang: Option<String>,
        /// Containers to have warm when this returns [default: the pool's min_size, at least 1]
        #[arg(long, value_name = "N")]
        warm: Option<usize>,
        #[command(flatten)]
        options: PoolOptions,
    },
    /// Show each pool's size, states, runs and latencies
    Stats(super::stats::StatsArgs),
    /// Drain every pool, remove every container of this user's agent and
    /// stop the agent
    #[command(
        after_help = "Busy runs are allowed to finish first (new runs are refused meanwhile);\n--force cancels them instead.\n\nExamples:\n  sbx pool down\n  sbx pool down --force"
    )]
    Down {
        /// Cancel busy runs instead of waiting for them
        #[arg(long)]
        force: bool,
    },
}

/// Per-pool settings on the command line; each overrides its config key.
#[derive(Args, Debug, Default)]
pub struct PoolOptions {
    /// Containers kept warm [config: min_size]
    #[arg(long = "min", value_name = "N")]
    pub min_size: Option<usize>,
    /// Never more containers than this [config: max_size]
    #[arg(long = "max", value_name = "N")]
    pub max_size: Option<usize>,
    /// Recycle containers idle longer than this, never below --min [config: idle_timeout]
    #[arg(long, value_name = "DURATION|none", value_parser = duration_limit("idle_timeout"))]
    pub idle_timeout: Option<Limit<Duration>>,
    /// How long a run waits for a free container [config: acquisition_timeout]
    #[arg(long, value_name = "DURATION|none", value_parser = duration_limit("acquisition_timeout"))]
    pub acquisition_timeout: Option<Limit<Duration>>,
    /// How often idle containers are checked [config: health_check_interval]
    #[arg(long, value_name = "DURATION|none", value_parser = duration_limit("health_check_interval"))]
    pub health_check_interval: Option<Limit<Duration>>,
    /// Recycle containers older than this [config: max_lifetime]
    #[arg(long, value_name = "DURATION|none", value_parser = duration_limit("max_lifetime"))]
    pub max_lifetime: Option<Limit<Duration>>,
    /// Recycle a container after this many runs [config: max_uses]
    #[arg(long, value_name = "N|none", value_parser = count_limit)]
    pub max_uses: Option<Limit<u64>>,
    /// When every container is busy: wait, fail-fast or temporary [config: exhaustion]
    #[arg(long, value_name = "STRATEGY")]
    pub exhaustion: Option<Exhaustion>,
    /// Create --min containers as soon as the pool exists [config: prewarm]
    #[arg(long, value_name = "BOOL")]
    pub prewarm: Option<bool>,
}

/// A limit given on the command line; `None` inside means `none`.
#[derive(Debug, Clone, Copy)]
pub struct Limit<T>(pub Option<T>);

fn duration_limit(field: &'static str) -> impl Fn(&str) -> Result<Limit<Duration>, String> + Clone {
    move |s| parse_limit_duration(field, s).map(Limit)
}

fn count_limit(s: &str) -> Result<Limit<u64>, String> {
    parse_limit_count("max_uses", s).map(Limit)
}

impl PoolOptions {
    /// `base` (the config's [pool] section) with these flags applied.
    pub fn apply(&self, base: &PoolSettings) -> Result<PoolSettings, UsageError> {
        let mut p = base.clone();
        p.min_size = self.min_size.unwrap_or(p.min_size);
        p.max_size = self.max_size.unwrap_or(p.max_size);
        if let Some(Limit(v)) = self.idle_timeout {
            p.idle_timeout = v;
        }
        if let Some(Limit(v)) = self.acquisition_timeout {
            p.acquisition_timeout = v;
        }
        if let Some(Limit(v)) = self.health_check_interval {
            p.health_check_interval = v;
        }
        if let Some(Limit(v)) = self.max_lifetime {
            p.max_lifetime = v;
        }
        if let Some(Limit(v)) = self.max_uses {
            p.max_uses = v;
        }
        p.exhaustion = self.exhaustion.unwrap_or(p.exhaustion);
        p.prewarm = self.prewarm.unwrap_or(p.prewarm);
        p.validate().map_err(|e| {
            UsageError(format!(
                "pool settings: {e} (--min/--max or the [pool] config)"
            ))
        })?;
        Ok(p)
    }
}

pub async fn execute(args: PoolArgs, g: &Globals) -> anyhow::Result<i32> {
    match args.cmd {
        PoolCmd::Up {
            lang,
            warm,
            options,
        } => {
            let cfg = g.load()?;
            let lang = match lang {
                Some(name) => super::run::language(&name)?,
                None => cfg
                    .selected(&g.choice)?
                    .lang
                    .unwrap_or(&crate::lang::LANGUAGES[0]),
            };
            let settings = options.apply(&cfg.profile_for(&g.choice, lang)?.pool)?;
            let resolved = cfg.resolve(&g.choice, lang, Some(&settings))?;
            let pool = resolved.pool;
            let warm = warm
                .unwrap_or(settings.min_size.max(1))
                .min(settings.max_size);
            let mut client = Client::connect(Some(&resolved.target)).await?;
            client.send(&Request::PoolUp { pool, warm }).await?;
            let bar = progress_bar();
            let mut building: Option<ProgressBar> = None;
            let mut pulls = crate::client::PullView::new();
            loop {
                match client.recv_control().await? {
                    Response::Pull(p) => pulls.show(&p),
                    Response::Build { message, output } => {
                        show_build(&mut building, &message, output);
                    }
                    Response::Progress {
                        ready,
                        target,
                        starting,
                    } => {
                        if let Some(b) = building.take() {
                            b.finish_and_clear();
                        }
                        let phases = summarize_phases(&starting);
                        if phases != bar.message() {
                            if bar.is_hidden() && !phases.is_empty() {
                                crate::verbose!("starting: {phases}");
                            }
                            bar.set_message(phases);
                        }
                        // Drawn from the first report on, never as 0/0.
                        if bar.length() != Some(target as u64) {
                            bar.set_length(target as u64);
                            bar.enable_steady_tick(Duration::from_millis(100));
                        }
                        bar.set_position(ready as u64);
                    }
                    Response::Done { message } => {
                        bar.finish_and_clear();
                        crate::say!("{message}");
                        return Ok(0);
                    }
                    Response::Error { kind, message } => {
                        if let Some(b) = building.take() {
                            b.abandon();
                        }
                        bar.abandon();
                        return Err(ClientError::Agent { kind, message }.into());
                    }
                    other => anyhow::bail!("unexpected reply from the agent: {other:?}"),
                }
            }
        }
        PoolCmd::Stats(args) => {
            let profile = check_profile(g)?;
            super::stats::execute(args, profile).await
        }
        PoolCmd::Down { force } => match Client::connect(None).await {
            Ok(mut client) => {
                let profile = check_profile(g)?.map(String::from);
                if let Response::Done { message } = client
                    .request(&Request::PoolDrain { force, profile })
                    .await?
                {
                    crate::say!("{message}");
                }
                Ok(0)
            }
            Err(ClientError::NotRunning) => {
                crate::say!("no agent running; nothing to remove");
                Ok(0)
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// The `--profile NAME` given, checked: one the config file does not
/// define is a typo, not "no pools" or "nothing to do".
pub fn check_profile(g: &Globals) -> anyhow::Result<Option<&str>> {
    let name = g.choice.profile.as_deref().filter(|n| !n.is_empty());
    if let Some(name) = name {
        g.load()?.profile(Some(name)).map_err(UsageError)?;
    }
    Ok(name)
}

/// With `--profile NAME`, only that profile's pools.
pub fn of_profile(pools: Vec<PoolStats>, profile: Option<&str>) -> Vec<PoolStats> {
    let Some(name) = profile else {
        return pools;
    };
    let prefix = format!("{name}-");
    pools
        .into_iter()
        .filter(|p| p.name == name || p.name.starts_with(&prefix))
        .collect()
}

/// A library build's progress: on a terminal a spinner with the current
/// step, else one plain line per step on stderr; the installer's own output
/// with `-v`. Nothing with `-q`.
fn show_build(spinner: &mut Option<ProgressBar>, message: &str, output: bool) {
    if crate::verbose::quiet() {
        return;
    }
    let tty = std::io::stderr().is_terminal();
    if output {
        if crate::verbose::on() {
            match spinner {
                Some(s) => s.suspend(|| eprintln!("  {message}")),
                None => eprintln!("  {message}"),
            }
        }
        return;
    }
    if !tty {
        eprintln!("sbx: {message}");
        return;
    }
    let s = spinner.get_or_insert_with(|| {
        let s = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            s.set_style(style);
        }
        s.enable_steady_tick(Duration::from_millis(100));
        s
    });
    s.set_message(message.to_string());
}

/// "2 Pending, 1 ContainerCreating": where the members being created are,
/// in the order they get there.
fn summarize_phases(starting: &[String]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for phase in starting {
        match counts.iter_mut().find(|(p, _)| p == phase) {
            Some((_, n)) => *n += 1,
            None => counts.push((phase, 1)),
        }
    }
    counts
        .iter()
        .map(|(p, n)| format!("{n} {p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A bar on a terminal's stderr; nothing at all when stderr is not one.
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() || crate::verbose::quiet() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "warming {bar:30} {pos}/{len} containers idle ({elapsed}) {msg}",
    ) {
        bar.set_style(style);
    }
    bar
}
