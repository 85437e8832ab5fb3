//! `sbx exec --lang L [CODE]`: run a snippet given inline or on stdin.

use super::{Globals, RunOptions};
use crate::UsageError;
use clap::Args;
use std::io::Read;

#[derive(Args, Debug)]
#[command(
    about = "Run a code snippet given as an argument or on stdin",
    after_help = "Examples:\n  \
sbx exec --lang python 'print(6*7)'\n  \
echo 'console.log(6*7)' | sbx exec --lang javascript\n  \
sbx exec --lang python 'import sys; print(sys.argv[1:])' -- a b"
)]
pub struct ExecArgs {
    /// Language of the snippet (`sbx languages` lists them) [default: the profile's]
    #[arg(short, long, value_name = "LANG")]
    pub lang: Option<String>,

    /// The code; read from stdin when omitted or `-`
    #[arg(value_name = "CODE")]
    pub code: Option<String>,

    #[command(flatten)]
    pub opts: RunOptions,

    /// Arguments passed to the program
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

pub async fn execute(args: ExecArgs, g: &Globals) -> anyhow::Result<i32> {
    let session = super::session::for_run(&args.opts, g).await?;
    let lang = match (&args.lang, &session) {
        (Some(name), _) => super::run::language(name)?,
        (None, Some((info, _))) => super::run::language(&info.lang)?,
        (None, None) => super::run::profile_lang(g)?
            .ok_or_else(|| UsageError("exec needs --lang (or a profile that sets lang)".into()))?,
    };
    let g = session.as_ref().map_or(g, |(_, sg)| sg);
    // `-` is stdin, as for `sbx run -` and most Unix tools; the one-character
    // program `-` is not one anybody means.
    let (source, forward_stdin) = match args.code.filter(|c| c != "-") {
        Some(code) => (code.into_bytes(), !args.opts.no_stdin),
        None => {
            let mut s = Vec::new();
            std::io::stdin()
                .read_to_end(&mut s)
                .map_err(|e| UsageError(format!("cannot read the code from stdin: {e}")))?;
            (s, false)
        }
    };
    super::run::submit(g, lang, source, args.args, &args.opts, forward_stdin).await
}
