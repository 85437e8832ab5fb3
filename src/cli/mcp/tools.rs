//! The tools `sbx mcp` offers, one method each in the `#[tool_router]`
//! block below: the SDK derives each tool's JSON schema from its
//! parameter struct (field doc comments become the descriptions a model
//! reads) and routes calls to it. A new tool is one more method there.
//!
//! Failures of sbx itself (unknown language, pool exhausted, engine down,
//! bad input) are tool errors (`isError: true`) carrying the one-line
//! message the CLI would print: the model reads them and can correct its
//! call. A program's non-zero exit is a normal result.

use super::content::{OutFiles, run_result};
use crate::cli::Globals;
use crate::cli::run::{MAX_INPUT, is_plain_relative, language, request};
use crate::client::{Client, RunStdin};
use crate::exit;
use crate::protocol::{InputFile, Request};
use base64::Engine;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, ErrorCode, ErrorData, Implementation, ProgressNotificationParam,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The server: the command line's choices (`--config`, `--profile`,
/// `--backend`), applied to every call, and the tool table.
#[derive(Clone)]
pub struct Sandbox {
    globals: Arc<Globals>,
    tool_router: ToolRouter<Sandbox>,
}

/// `run_code`'s arguments, as the model sees them in the tool's schema.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCodeArgs {
    /// The program's language: a name or alias from `list_languages`,
    /// e.g. "python", "javascript", "typescript", "go", "bash".
    pub language: String,
    /// The complete source code of the program.
    pub code: String,
    /// Command-line arguments passed to the program.
    #[serde(default)]
    pub args: Vec<String>,
    /// Text the program reads on its standard input (it reads end-of-file
    /// right away when this is omitted).
    #[serde(default)]
    pub stdin: Option<String>,
    /// Environment variables for the program, name to value.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Files placed next to the program before it starts, keyed by relative
    /// path (e.g. "data.csv" or "input/a.json"): the value is the file's
    /// text, or {"base64": "..."} for binary contents. The program finds
    /// them in its working directory.
    #[serde(default)]
    pub files: BTreeMap<String, FileContents>,
    /// Kill the program after this many seconds (default: the configured
    /// timeout, usually 60). A program killed this way reports exit code
    /// 124 and `timed_out`.
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Run in this session (the id or name start_session returned) instead
    /// of a fresh sandbox: files written by earlier calls in the session
    /// are there, and in a keep_state session its variables, functions and
    /// imports too. `language` must be the session's.
    #[serde(default)]
    pub session: Option<String>,
}

/// `start_session`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSessionArgs {
    /// The language of every program run in the session, e.g. "python".
    pub language: String,
    /// A name to refer to the session by instead of its id (letters,
    /// digits, `-`, `_`, `.`); unique among open sessions.
    #[serde(default)]
    pub name: Option<String>,
    /// Keep the interpreter's state between calls, like notebook cells:
    /// variables, functions and imports defined in one call are there in
    /// the next, and the value of a final expression is printed (python
    /// and javascript only). Without it only files are kept.
    #[serde(default)]
    pub keep_state: bool,
    /// End the session after this many seconds without a call (default
    /// 600).
    #[serde(default)]
    pub idle_timeout: Option<f64>,
    /// End the session this many seconds after it started (default 3600).
    #[serde(default)]
    pub max_lifetime: Option<f64>,
}

/// `stop_session`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopSessionArgs {
    /// The id or name of the session to end.
    pub session: String,
}

/// Seconds as given to a tool, checked.
fn seconds(field: &str, value: Option<f64>, default: u64) -> anyhow::Result<Duration> {
    match value {
        None => Ok(Duration::from_secs(default)),
        Some(t) if t.is_finite() && t > 0.0 && t <= 8760.0 * 3600.0 => {
            Ok(Duration::from_secs_f64(t))
        }
        Some(t) => {
            anyhow::bail!("{field}: {t} is not a positive number of seconds (at most a year)")
        }
    }
}

/// A file's contents: text as is, or binary as base64.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FileContents {
    /// The file's text (UTF-8).
    Text(String),
    /// Binary contents.
    Binary {
        /// The file's bytes, base64-encoded (standard alphabet, padded).
        base64: String,
    },
}

/// How often a call that asked for progress hears that its run goes on.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Progress notifications for a call whose client sent a progress token:
/// the seconds since the call began, every [`PROGRESS_EVERY`], until the
/// call ends. A run can wait minutes before its program starts (a pool
/// warming, an image pulled or built with its libraries), and a client
/// that resets its request timeout on progress keeps waiting instead of
/// giving up. Never resolves.
async fn ticker(ctx: &RequestContext<RoleServer>, lang: &str) {
    let Some(token) = ctx.meta.get_progress_token() else {
        return std::future::pending().await;
    };
    let started = Instant::now();
    let mut every = tokio::time::interval_at(started + PROGRESS_EVERY, PROGRESS_EVERY);
    loop {
        every.tick().await;
        let secs = started.elapsed().as_secs_f64().floor();
        let note = ProgressNotificationParam::new(token.clone(), secs)
            .with_message(format!("{lang} run in progress ({secs}s)"));
        if ctx.peer.notify_progress(note).await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// A tool error: the one-line message, `isError: true`.
fn failure(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// A run ready to send, or why not.
struct Prepared {
    lang: &'static crate::lang::Language,
    target: crate::model::target::Target,
    request: crate::protocol::RunRequest,
    stdin: Vec<u8>,
}

impl Sandbox {
    pub fn new(globals: Globals) -> Sandbox {
        Sandbox {
            globals: Arc::new(globals),
            tool_router: Self::tool_router(),
        }
    }

    /// Check the arguments and build the agent's request, for a run in a
    /// fresh sandbox or in the session named.
    async fn prepare(&self, a: RunCodeArgs) -> anyhow::Result<Prepared> {
        let session = match &a.session {
            Some(key) => {
                let info = crate::cli::session::lookup(key).await?;
                Some(crate::cli::session::globals_for(&info, &self.globals, key)?)
            }
            None => None,
        };
        let g = session.as_ref().unwrap_or(&*self.globals);
        let lang = language(&a.language)?;
        let mut files = vec![InputFile {
            path: lang.source_name.into(),
            mode: 0o644,
            contents: a.code.into_bytes(),
        }];
        for (path, contents) in a.files {
            if !is_plain_relative(&path) {
                anyhow::bail!(
                    "files: {path:?} must be a relative path without `..` (files are placed next to the program)"
                );
            }
            if path == lang.source_name {
                anyhow::bail!(
                    "files: {path:?} would replace the program itself ({} is where `code` goes); give the file another name",
                    lang.source_name
                );
            }
            let contents = match contents {
                FileContents::Text(t) => t.into_bytes(),
                FileContents::Binary { base64 } => base64::engine::general_purpose::STANDARD
                    .decode(base64.trim())
                    .map_err(|e| anyhow::anyhow!("files: {path:?} is not valid base64 ({e})"))?,
            };
            files.push(InputFile {
                path,
                mode: 0o644,
                contents,
            });
        }
        let total: u64 = files.iter().map(|f| f.contents.len() as u64).sum();
        if total > MAX_INPUT {
            anyhow::bail!(
                "the code and its files total {total} bytes; at most {MAX_INPUT} go into one run"
            );
        }
        for key in a.env.keys() {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                anyhow::bail!("env: {key:?} is not a variable name");
            }
        }
        let cfg = g.load()?;
        let resolved = cfg.resolve(&g.choice, lang, None)?;
        let mut request = request(&cfg, &resolved, lang, files, a.args);
        let run = &mut request.run;
        if let Some(t) = a.timeout {
            if !(t.is_finite() && t > 0.0 && t <= 86_400.0) {
                anyhow::bail!("timeout: {t} is not a number of seconds between 0 and 86400");
            }
            run.timeout_ms = ((t * 1000.0).ceil() as u64).max(1);
        }
        run.env.extend(a.env);
        run.collect_out = true;
        request.session = a.session;
        Ok(Prepared {
            lang,
            target: resolved.target,
            request,
            stdin: a.stdin.map(String::into_bytes).unwrap_or_default(),
        })
    }

    /// Send the run to the agent (starting one if needed) on a connection
    /// of its own, and shape its outcome.
    async fn execute(p: Prepared) -> anyhow::Result<CallToolResult> {
        let timeout_ms = p.request.run.timeout_ms;
        let max_output = p.request.run.max_output;
        let mut files = OutFiles::default();
        let out = Client::run(
            &p.target,
            Request::Run(p.request),
            RunStdin::Bytes(p.stdin),
            true,
            &mut |f| files.chunk(f),
        )
        .await?;
        let code = if out.exit.outcome.timed_out {
            exit::TIMEOUT
        } else {
            out.exit.outcome.code
        };
        Ok(run_result(
            p.lang.name,
            code,
            &out,
            &files,
            timeout_ms,
            max_output,
        ))
    }
}

#[tool_router]
impl Sandbox {
    #[tool(
        description = "Run a program in a fresh, isolated sandbox (a warm container; no network unless the user's configuration allows it) and return its exit code, stdout and stderr. Files the program writes under the directory named by the environment variable SBX_OUT (/sbx/out) come back with the result: images (PNG, JPEG, SVG) as images you can see, text files as text, other files as embedded resources. Each call starts from a clean state, unless it names a session (start_session), where files (and with keep_state, variables) persist between calls. A non-zero exit code is a normal result, not a failure of the tool. Output past the configured limit is cut off and marked.",
        annotations(
            title = "Run code in a sandbox",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn run_code(
        &self,
        Parameters(args): Parameters<RunCodeArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let prepared = match self.prepare(args).await {
            Ok(p) => p,
            Err(e) => return Ok(failure(format!("{e:#}"))),
        };
        let progress = ticker(&ctx, prepared.lang.name);
        // A cancelled call drops the run's connection to the agent, which
        // kills the program and takes its container back.
        tokio::select! {
            result = Self::execute(prepared) => Ok(result.unwrap_or_else(|e| failure(format!("{e:#}")))),
            _ = ctx.ct.cancelled() => {
                crate::verbose!("MCP: request {} was cancelled; its run is stopped", ctx.id);
                Err(ErrorData::new(ErrorCode::INTERNAL_ERROR, "the call was cancelled", None))
            }
            _ = progress => unreachable!("the ticker never ends"),
        }
    }

    #[tool(
        description = "Start a session: one sandbox kept for several run_code calls (pass its id as `session`), so files a program writes are there for the next call, and with keep_state the interpreter's variables too (python, javascript), like notebook cells. Calls in one session run one after the other. A session ends with stop_session, after idle_timeout without a call, or at max_lifetime; then its sandbox is wiped. Stop sessions you no longer need: each holds a sandbox.",
        annotations(
            title = "Start a session",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn start_session(
        &self,
        Parameters(a): Parameters<StartSessionArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let started = async {
            let idle = seconds("idle_timeout", a.idle_timeout, 600)?;
            let lifetime = seconds("max_lifetime", a.max_lifetime, 3600)?;
            if let Some(name) = &a.name {
                crate::cli::session::check_name(name).map_err(anyhow::Error::msg)?;
            }
            crate::cli::session::start_session(
                &self.globals,
                Some(&a.language),
                a.name,
                a.keep_state,
                idle,
                lifetime,
            )
            .await
        };
        match started.await {
            Ok(info) => {
                let text = format!(
                    "session {} started ({}{}); pass \"session\": \"{}\" to run_code, and call stop_session when done",
                    info.id,
                    info.lang,
                    if info.keep_state {
                        ", keeping state"
                    } else {
                        ""
                    },
                    info.name.as_deref().unwrap_or(&info.id)
                );
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.structured_content = serde_json::to_value(&info).ok();
                Ok(result)
            }
            Err(e) => Ok(failure(format!("{e:#}"))),
        }
    }

    #[tool(
        description = "End a session started with start_session: its sandbox, files and interpreter state are wiped. Later run_code calls naming it fail.",
        annotations(
            title = "Stop a session",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn stop_session(
        &self,
        Parameters(a): Parameters<StopSessionArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match crate::cli::session::stop_session(&a.session).await {
            Ok(message) => CallToolResult::success(vec![ContentBlock::text(message)]),
            Err(e) => failure(e.to_string()),
        })
    }

    #[tool(
        description = "List the open sessions: id, name, language, whether they keep state, age and idle time in milliseconds, runs so far, and the bytes of files they hold.",
        annotations(
            title = "List sessions",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_sessions(&self) -> Result<CallToolResult, ErrorData> {
        match crate::cli::session::list_sessions().await {
            Ok(sessions) => {
                let mut text = String::new();
                for s in &sessions {
                    text += &format!(
                        "{}{}: {}{}, {} run(s), idle {}s\n",
                        s.id,
                        s.name
                            .as_ref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default(),
                        s.lang,
                        if s.keep_state { ", keeping state" } else { "" },
                        s.runs,
                        s.idle_ms / 1000
                    );
                }
                if sessions.is_empty() {
                    text = "no open sessions\n".into();
                }
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.structured_content = Some(serde_json::json!({ "sessions": sessions }));
                Ok(result)
            }
            Err(e) => Ok(failure(format!("{e:#}"))),
        }
    }

    #[tool(
        description = "List the programming languages run_code accepts (with aliases and file extensions), the container image each runs in, and whether that image is already on this machine (a missing one is pulled or built on first use, which makes that first run slower).",
        annotations(
            title = "List languages",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_languages(&self) -> Result<CallToolResult, ErrorData> {
        let (rows, engine) = match crate::cli::languages::rows(&self.globals).await {
            Ok(r) => r,
            Err(e) => return Ok(failure(format!("{e:#}"))),
        };
        let mut text = String::new();
        for r in &rows {
            let aliases = match r.aliases {
                [] => String::new(),
                a => format!(" (also {})", a.join(", ")),
            };
            let present = match r.present {
                Some(true) => "present",
                Some(false) => "not present yet",
                None => "presence unknown",
            };
            text += &format!("{}{aliases}: image {} ({present})\n", r.name, r.image);
        }
        if let Err(e) = &engine {
            text += &format!(
                "(the container engine could not be asked which images are present: {e})\n"
            );
        }
        let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
        result.structured_content = Some(serde_json::json!({
            "languages": rows,
            "engine_error": engine.err(),
        }));
        Ok(result)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Sandbox {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("sbx", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "sbx runs code in isolated, pre-warmed sandboxes. Use run_code to execute a program (python, javascript, typescript, go, java, c, cpp, ruby, r, bash, ...; list_languages has the full list) and read its exit code and output. To get files or plots back, write them under the directory in the SBX_OUT environment variable. For work in several steps (write a file, then analyse it; define a function, then call it), start_session keeps one sandbox, and with keep_state the interpreter itself, across run_code calls.",
            )
    }
}
