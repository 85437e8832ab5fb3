//! `sbx session start|ls|stop`: several runs in one sandbox.

use super::{Globals, RunOptions};
use crate::UsageError;
use crate::client::{Client, ClientError};
use crate::config::Choice;
use crate::model::units::{format_duration, format_size, parse_duration};
use crate::protocol::{ErrorKind, Request, Response, SessionInfo, SessionStart};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use std::time::Duration;

#[derive(Args, Debug)]
#[command(
    about = "Keep one sandbox for several runs: files, and optionally the interpreter's state",
    long_about = "Keep one sandbox for several runs. A session leases a warm container \
from its pool until it is stopped, idle for --idle-timeout or older than \
--max-lifetime; `sbx run`/`sbx exec --session ID` run in it, one run at a time. \
Files stay between runs; processes a run started do not. With --keep-state \
(python, javascript) every run is a cell of one long-lived interpreter, as in a \
notebook. When a session ends its container is wiped and verified before \
anyone else gets it. Sessions live in the agent: restarting it ends them.",
    after_help = "Examples:\n  \
S=$(sbx session start --lang python)\n  \
sbx exec --session $S 'open(\"data.csv\", \"w\").write(\"a,b\\n1,2\\n\")'\n  \
sbx exec --session $S 'print(open(\"data.csv\").read())'\n  \
sbx session start --lang python --keep-state --name nb\n  \
sbx exec --session nb 'x = 41'; sbx exec --session nb 'x + 1'\n  \
sbx session ls\n  \
sbx session stop $S nb"
)]
pub struct SessionArgs {
    #[command(subcommand)]
    pub cmd: SessionCmd,
}

#[derive(Subcommand, Debug)]
pub enum SessionCmd {
    /// Start a session and print its id
    Start(StartArgs),
    /// List the open sessions
    #[command(visible_alias = "list")]
    Ls {
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// End sessions: each one's container is wiped and verified (or removed)
    Stop {
        /// Session ids or names
        #[arg(value_name = "ID|NAME", required = true)]
        sessions: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Language of the session's runs [default: the profile's]
    #[arg(short, long, value_name = "LANG")]
    pub lang: Option<String>,

    /// A name to use instead of the id (unique among open sessions)
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    pub name: Option<String>,

    /// Run every program as a cell of one long-lived interpreter, so
    /// variables, functions and imports stay (python, javascript)
    #[arg(long)]
    pub keep_state: bool,

    /// End the session after this long without a run
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = positive_duration)]
    pub idle_timeout: Duration,

    /// End the session this long after it started
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = positive_duration)]
    pub max_lifetime: Duration,

    /// Print the session as a JSON object instead of its id
    #[arg(long)]
    pub json: bool,
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("must be longer than zero".into()),
        d => Ok(d),
    }
}

/// A session name is valid: up to 64 letters, digits, `-`, `_`, `.`.
pub fn check_name(s: &str) -> Result<(), String> {
    parse_name(s).map(|_| ())
}

fn parse_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a session name: use up to 64 letters, digits, `-`, `_` and `.`"
        ))
    }
}

pub async fn execute(args: SessionArgs, g: &Globals) -> anyhow::Result<i32> {
    match args.cmd {
        SessionCmd::Start(a) => start(a, g).await,
        SessionCmd::Ls { json } => list(json).await,
        SessionCmd::Stop { sessions } => stop(sessions).await,
    }
}

async fn start(a: StartArgs, g: &Globals) -> anyhow::Result<i32> {
    let info = start_session(
        g,
        a.lang.as_deref(),
        a.name,
        a.keep_state,
        a.idle_timeout,
        a.max_lifetime,
    )
    .await?;
    if a.json {
        println!("{}", serde_json::to_string(&info)?);
    } else {
        println!("{}", info.id);
    }
    Ok(0)
}

/// Start a session (`sbx session start`, and the MCP server's tool).
pub async fn start_session(
    g: &Globals,
    lang: Option<&str>,
    name: Option<String>,
    keep_state: bool,
    idle_timeout: Duration,
    max_lifetime: Duration,
) -> anyhow::Result<SessionInfo> {
    let cfg = g.load()?;
    let lang = match lang {
        Some(name) => super::run::language(name)?,
        None => cfg.selected(&g.choice)?.lang.ok_or_else(|| {
            UsageError("session start needs --lang (or a profile that sets lang)".into())
        })?,
    };
    if keep_state && !crate::model::run::KEEP_STATE_LANGUAGES.contains(&lang.name) {
        return Err(UsageError(format!(
            "--keep-state works for {} sessions, not {}; start the session without it (files are still kept)",
            crate::model::run::KEEP_STATE_LANGUAGES.join(" and "),
            lang.name
        ))
        .into());
    }
    let resolved = cfg.resolve(&g.choice, lang, None)?;
    let req = Request::SessionStart(SessionStart {
        pool: resolved.pool,
        name,
        keep_state,
        idle_timeout_ms: idle_timeout.as_millis() as u64,
        max_lifetime_ms: max_lifetime.as_millis() as u64,
        max_sessions: cfg.sessions.max(),
        profile: g.choice.profile.clone().filter(|p| !p.is_empty()),
    });
    let mut client = Client::connect(Some(&resolved.target)).await?;
    match client.request(&req).await? {
        Response::Session(info) => Ok(info),
        other => anyhow::bail!("unexpected reply from the agent: {other:?}"),
    }
}

/// The open sessions (none when no agent runs).
pub async fn list_sessions() -> anyhow::Result<Vec<SessionInfo>> {
    match Client::connect(None).await {
        Ok(mut client) => match client.request(&Request::SessionList).await? {
            Response::Sessions { sessions } => Ok(sessions),
            other => anyhow::bail!("unexpected reply from the agent: {other:?}"),
        },
        // No agent, no sessions: nothing to list is not an error.
        Err(ClientError::NotRunning) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// End one session; returns the agent's one-line confirmation.
pub async fn stop_session(key: &str) -> Result<String, ClientError> {
    let result = match Client::connect(None).await {
        Ok(mut client) => {
            client
                .request(&Request::SessionStop {
                    session: key.to_string(),
                })
                .await
        }
        Err(ClientError::NotRunning) => Err(no_agent(key)),
        Err(e) => Err(e),
    };
    match result? {
        Response::Done { message } => Ok(message),
        other => Err(ClientError::Agent {
            kind: ErrorKind::Internal,
            message: format!("unexpected reply from the agent: {other:?}"),
        }),
    }
}

async fn list(json: bool) -> anyhow::Result<i32> {
    let sessions = list_sessions().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&sessions)?);
        return Ok(0);
    }
    if sessions.is_empty() {
        crate::say!("no open sessions; start one with `sbx session start --lang LANG`");
        return Ok(0);
    }
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header(vec![
        "id",
        "name",
        "lang",
        "profile",
        "age",
        "idle",
        "runs",
        "keep-state",
        "size",
    ]);
    let ms = |m: u64| format_duration(Duration::from_secs(m / 1000));
    for s in &sessions {
        t.add_row(vec![
            s.id.clone(),
            s.name.clone().unwrap_or_else(|| "-".into()),
            s.lang.clone(),
            if s.profile.is_empty() {
                "default".into()
            } else {
                s.profile.clone()
            },
            ms(s.age_ms),
            if s.busy {
                "running".into()
            } else {
                ms(s.idle_ms)
            },
            s.runs.to_string(),
            if s.keep_state { "yes" } else { "no" }.into(),
            format_size(s.size_bytes),
        ]);
    }
    println!("{t}");
    Ok(0)
}

async fn stop(sessions: Vec<String>) -> anyhow::Result<i32> {
    let mut failed = None;
    for key in sessions {
        match stop_session(&key).await {
            Ok(message) => crate::say!("{message}"),
            Err(e) => {
                // The others are still stopped; the exit code tells.
                eprintln!("sbx: {e}");
                failed = Some(super::exit_code_of(&e.into()));
            }
        }
    }
    Ok(failed.unwrap_or(0))
}

/// A session named while no agent runs: it cannot exist.
fn no_agent(key: &str) -> ClientError {
    ClientError::Agent {
        kind: ErrorKind::NoSession,
        message: format!(
            "no session {key}: no sbx agent is running (sessions live in the agent and end with it); start one with `sbx session start`"
        ),
    }
}

/// For a run given `--session`: the session's language and the command's
/// globals with the session's profile, asked of the agent.
pub async fn for_run(
    opts: &RunOptions,
    g: &Globals,
) -> anyhow::Result<Option<(SessionInfo, Globals)>> {
    let Some(key) = &opts.session else {
        return Ok(None);
    };
    let info = lookup(key).await?;
    let globals = globals_for(&info, g, key)?;
    Ok(Some((info, globals)))
}

/// The open session with this id or name, as the agent knows it.
pub async fn lookup(key: &str) -> anyhow::Result<SessionInfo> {
    let info = match Client::connect(None).await {
        Ok(mut client) => match client
            .request(&Request::SessionInfo {
                session: key.to_string(),
            })
            .await?
        {
            Response::Session(info) => info,
            other => anyhow::bail!("unexpected reply from the agent: {other:?}"),
        },
        Err(ClientError::NotRunning) => return Err(no_agent(key).into()),
        Err(e) => return Err(e.into()),
    };
    Ok(info)
}

/// The command's globals with the session's profile, which its runs use.
pub fn globals_for(info: &SessionInfo, g: &Globals, key: &str) -> anyhow::Result<Globals> {
    let profile = (!info.profile.is_empty()).then(|| info.profile.clone());
    if let Some(given) = g.choice.profile.as_deref().filter(|p| !p.is_empty())
        && Some(given) != profile.as_deref()
    {
        return Err(UsageError(format!(
            "session {key} was started with profile `{}`, not `{given}`; drop --profile (a session's runs use its own)",
            profile.as_deref().unwrap_or("default")
        ))
        .into());
    }
    Ok(Globals {
        config: g.config.clone(),
        choice: Choice {
            profile,
            backend: g.choice.backend.clone(),
        },
    })
}
