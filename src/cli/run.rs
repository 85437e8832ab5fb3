//! `sbx run FILE`: run a program file in a warm sandbox.

use super::RunOptions;
use crate::UsageError;
use crate::client::Client;
use crate::config::Config;
use crate::lang::{self, Language};
use crate::protocol::{Request, RunRequest};
use clap::Args;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
#[command(
    about = "Run a program file in a warm sandbox",
    after_help = "Examples:\n  \
sbx run hello.py                    language from the extension\n  \
sbx run tool.js -- --verbose in.txt arguments for the program after --\n  \
llm-generate | sbx run --lang python -   program from stdin"
)]
pub struct RunArgs {
    /// Program file, or `-` to read the program from stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Language, when the file extension does not say (python, javascript)
    #[arg(short, long, value_name = "LANG")]
    pub lang: Option<String>,

    #[command(flatten)]
    pub opts: RunOptions,

    /// Arguments passed to the program
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

pub fn language(name: &str) -> Result<&'static Language, UsageError> {
    lang::by_name(name).ok_or_else(|| {
        UsageError(format!(
            "unknown language `{name}`; supported: {}",
            lang::names()
        ))
    })
}

/// The language of the selected profile, for a program whose command line
/// and file name do not say.
pub fn profile_lang(config: Option<&Path>) -> anyhow::Result<Option<&'static Language>> {
    Ok(Config::load(config)?.selected()?.lang)
}

/// Build the request for one run and stream it; returns the exit code.
pub async fn submit(
    config: Option<&Path>,
    lang: &'static Language,
    source: String,
    args: Vec<String>,
    opts: &RunOptions,
    forward_stdin: bool,
) -> anyhow::Result<i32> {
    let cfg = Config::load(config)?;
    let profile = cfg.profile_for(lang)?;
    profile.apply_backend();
    let backend = crate::backend::select_engine().map_err(UsageError)?;
    let pool = profile.pool_spec(&cfg, backend.name(), lang, &profile.pool);
    let mut argv: Vec<String> = lang.run.iter().map(|s| s.to_string()).collect();
    argv.extend(args);
    let mut env: Vec<(String, String)> = lang
        .env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.extend(profile.run_env());
    env.extend(opts.env.iter().cloned());
    let req = Request::Run(RunRequest {
        pool,
        source_name: lang.source_name.into(),
        source,
        argv,
        env,
        timeout_ms: opts
            .timeout
            .or(profile.timeout)
            .unwrap_or(crate::config::DEFAULT_TIMEOUT)
            .as_millis() as u64,
    });
    let client = Client::connect(true).await?;
    Ok(client.run(req, forward_stdin).await?)
}

pub async fn execute(args: RunArgs, config: Option<&Path>) -> anyhow::Result<i32> {
    let from_stdin = args.file.as_os_str() == "-";
    let lang = match (&args.lang, from_stdin) {
        (Some(name), _) => language(name)?,
        (None, true) => match profile_lang(config)? {
            Some(l) => l,
            None => {
                return Err(
                    UsageError("reading the program from stdin needs --lang".into()).into(),
                );
            }
        },
        (None, false) => match lang::by_extension(&args.file) {
            Some(l) => l,
            None => profile_lang(config)?.ok_or_else(|| {
                UsageError(format!(
                    "cannot tell the language of {} from its extension; pass --lang ({})",
                    args.file.display(),
                    lang::names()
                ))
            })?,
        },
    };
    let source = if from_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| UsageError(format!("cannot read the program from stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(&args.file)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", args.file.display())))?
    };
    let forward = !from_stdin && !args.opts.no_stdin;
    submit(config, lang, source, args.args, &args.opts, forward).await
}
