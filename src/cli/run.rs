//! `sbx run FILE`: run a program file in a warm sandbox.

use super::{Globals, RunOptions};
use crate::UsageError;
use crate::client::{Client, RunOutput, RunStdin};
use crate::config::{Config, Resolved};
use crate::exit;
use crate::lang::{self, Language};
use crate::model::run::RunSpec;
use crate::protocol::{InputFile, OutFile, Request, RunRequest};
use base64::Engine;
use clap::Args;
use serde::Serialize;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

#[derive(Args, Debug)]
#[command(
    about = "Run a program file in a warm sandbox",
    after_help = "Examples:\n  \
sbx run hello.py                    language from the extension\n  \
sbx run tool.js -- --verbose in.txt arguments for the program after --\n  \
llm-generate | sbx run --lang python -   program from stdin\n  \
sbx run plot.py --file data.csv --out results/   files in, $SBX_OUT back\n  \
sbx run main.go --json | jq .exit_code     one JSON result for scripts"
)]
pub struct RunArgs {
    /// Program file, or `-` to read the program from stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Language, when the file extension does not say (`sbx languages`)
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

/// Most input (program plus `--file`s) one run takes: it travels in one
/// message, base64-encoded, below the protocol's frame limit.
pub const MAX_INPUT: u64 = 8 * 1024 * 1024;

/// A path inside the program's directory: relative, with normal
/// components only (no `..`, no root).
pub fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The language of the selected profile, for a program whose command line
/// and file name do not say.
pub fn profile_lang(g: &Globals) -> anyhow::Result<Option<&'static Language>> {
    Ok(g.load()?.selected(&g.choice)?.lang)
}

/// Build the request for one run, stream it (or collect it for `--json`);
/// returns the exit code.
pub async fn submit(
    g: &Globals,
    lang: &'static Language,
    source: Vec<u8>,
    args: Vec<String>,
    opts: &RunOptions,
    forward_stdin: bool,
) -> anyhow::Result<i32> {
    let mut files = vec![InputFile {
        path: lang.source_name.into(),
        mode: 0o644,
        contents: source,
    }];
    for spec in &opts.files {
        let f = input_file(spec)?;
        if let Some(dup) = files.iter().find(|g| g.path == f.path) {
            let what = if dup.path == lang.source_name {
                "the program itself"
            } else {
                "another --file"
            };
            return Err(UsageError(format!(
                "--file {spec}: {} would replace {what}; give it another name with LOCAL:REMOTE",
                f.path
            ))
            .into());
        }
        files.push(f);
    }
    let total: u64 = files.iter().map(|f| f.contents.len() as u64).sum();
    if total > MAX_INPUT {
        return Err(UsageError(format!(
            "the program and its --file inputs total {total} bytes; at most {MAX_INPUT} go into one run"
        ))
        .into());
    }
    if let Some(dir) = &opts.workdir {
        let p = Path::new(dir);
        if dir.is_empty()
            || (p.is_relative() && p.components().any(|c| !matches!(c, Component::Normal(_))))
        {
            return Err(UsageError(format!(
                "-w {dir}: a relative working directory must stay inside the program's directory (no `..`); or give an absolute path"
            ))
            .into());
        }
    }
    let mut out = match &opts.out {
        Some(dir) => Some(OutWriter::new(dir)?),
        None => None,
    };
    let cfg = g.load()?;
    let resolved = cfg.resolve(&g.choice, lang, None)?;
    let mut req = request(&cfg, &resolved, lang, files, args);
    let run = &mut req.run;
    if let Some(t) = opts.timeout {
        run.timeout_ms = t.as_millis() as u64;
    }
    if let Some(m) = opts.max_output {
        run.max_output = m;
    }
    run.env.extend(opts.env.iter().cloned());
    run.workdir = opts.workdir.clone();
    run.collect_out = out.is_some();
    run.cpus = opts.cpus;
    req.no_pool = opts.no_pool;
    req.session = opts.session.clone();
    let no_pool = req.no_pool;
    let req = Request::Run(req);
    let result = async {
        let mut on_file = |f: OutFile| {
            if let Some(w) = out.as_mut() {
                w.chunk(f);
            }
        };
        let stdin = if forward_stdin {
            RunStdin::Forward
        } else {
            RunStdin::Empty
        };
        Client::run(&resolved.target, req, stdin, opts.json, &mut on_file).await
    }
    .await;
    let output = match result {
        Ok(o) => o,
        Err(e) => {
            let e = anyhow::Error::from(e);
            if opts.json {
                // The document and the process agree on the code.
                let doc = serde_json::json!({ "error": e.to_string(), "exit_code": super::exit_code_of(&e) });
                let _ = writeln!(std::io::stdout(), "{doc}");
            }
            return Err(e);
        }
    };
    let code = if output.stdout_closed {
        exit::STDOUT_CLOSED
    } else if output.exit.outcome.timed_out {
        exit::TIMEOUT
    } else {
        output.exit.outcome.code
    };
    if opts.json {
        let files = out.map(|w| w.written).unwrap_or_default();
        let mut doc = JsonResult::new(lang.name, code, output, files);
        if no_pool {
            doc.pool = None;
        }
        let doc = serde_json::to_string(&doc).expect("results always serialize");
        // A reader that went away gets no panic, only the exit code.
        if writeln!(std::io::stdout(), "{doc}").is_err() {
            return Ok(exit::STDOUT_CLOSED);
        }
    }
    Ok(code)
}

/// The request for one run of `files` (the program first) in `lang`, as
/// the configuration says: its pool, build and run steps, environment,
/// timeout and output limit. `sbx run` applies its options on top; `sbx
/// bench` sends it as it is.
pub fn request(
    cfg: &Config,
    resolved: &Resolved,
    lang: &'static Language,
    files: Vec<InputFile>,
    args: Vec<String>,
) -> RunRequest {
    let profile = &resolved.profile;
    let mut argv: Vec<String> = lang.run.iter().map(|s| s.to_string()).collect();
    argv.extend(args);
    let mut env = lang.env(cfg.cache_for(lang));
    env.extend(profile.run_env());
    RunRequest {
        pool: resolved.pool.clone(),
        no_pool: false,
        session: None,
        run: RunSpec {
            files,
            build: lang
                .build
                .map(|b| b.iter().map(|s| s.to_string()).collect()),
            argv,
            env,
            workdir: None,
            timeout_ms: profile.timeout.as_millis() as u64,
            max_output: profile.max_output,
            collect_out: false,
            keep_cache: lang.cache_dir(cfg.cache_for(lang)),
            cpus: None,
            keep_files: false,
            keep_state: false,
        },
    }
}

/// `--file LOCAL[:REMOTE]`. A local name that itself contains `:` wins
/// over the split when such a file exists.
fn input_file(spec: &str) -> Result<InputFile, UsageError> {
    let (local, remote) = match spec.rsplit_once(':') {
        Some((l, r)) if !Path::new(spec).exists() => (l, Some(r)),
        _ => (spec, None),
    };
    let local_path = Path::new(local);
    let meta = std::fs::metadata(local_path)
        .map_err(|e| UsageError(format!("--file {spec}: cannot read {local}: {e}")))?;
    if !meta.is_file() {
        return Err(UsageError(format!(
            "--file {spec}: {local} is not a regular file (directories are not supported; pass each file)"
        )));
    }
    let remote = match remote {
        Some(r) => r.to_string(),
        None => local_path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                UsageError(format!(
                    "--file {spec}: name it inside the sandbox with {local}:NAME"
                ))
            })?
            .to_string(),
    };
    if !is_plain_relative(&remote) {
        return Err(UsageError(format!(
            "--file {spec}: {remote:?} must be a relative path without `..` (it is placed next to the program)"
        )));
    }
    let contents = std::fs::read(local_path)
        .map_err(|e| UsageError(format!("--file {spec}: cannot read {local}: {e}")))?;
    let mode = if meta.permissions().mode() & 0o111 != 0 {
        0o755
    } else {
        0o644
    };
    Ok(InputFile {
        path: remote,
        mode,
        contents,
    })
}

/// Writes `--out` files under a local directory. Every path is checked
/// again here (the sandbox is not trusted): only plain relative paths,
/// never through or onto a link, so nothing lands outside the directory.
struct OutWriter {
    root: PathBuf,
    current: Option<(String, std::fs::File)>,
    written: Vec<String>,
}

impl OutWriter {
    fn new(root: &Path) -> Result<OutWriter, UsageError> {
        std::fs::create_dir_all(root)
            .map_err(|e| UsageError(format!("--out {}: {e}", root.display())))?;
        Ok(OutWriter {
            root: root.to_path_buf(),
            current: None,
            written: Vec::new(),
        })
    }

    fn chunk(&mut self, f: OutFile) {
        if !f.append {
            self.current = None;
            match self.create(&f.path, f.mode) {
                Ok(file) => {
                    self.written.push(f.path.clone());
                    self.current = Some((f.path.clone(), file));
                }
                Err(why) => eprintln!("sbx: --out: refused {}: {why}", f.path),
            }
        }
        if let Some((path, file)) = self.current.as_mut().filter(|(p, _)| *p == f.path)
            && let Err(e) = file.write_all(&f.data)
        {
            eprintln!("sbx: --out: cannot write {path}: {e}");
            self.current = None;
        }
    }

    fn create(&self, rel: &str, mode: u32) -> Result<std::fs::File, String> {
        if !is_plain_relative(rel) {
            return Err("the path escapes the output directory".into());
        }
        let rp = Path::new(rel);
        let mut dir = self.root.clone();
        let parents: Vec<_> = rp
            .parent()
            .into_iter()
            .flat_map(|p| p.components())
            .collect();
        for comp in parents {
            dir.push(comp);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(format!("{} is not a directory", dir.display())),
                Err(_) => std::fs::create_dir(&dir).map_err(|e| e.to_string())?,
            }
        }
        // O_NOFOLLOW: an existing link at the destination is refused, not
        // written through.
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode & 0o777 | 0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.root.join(rp))
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    "a link is in the way".to_string()
                } else {
                    e.to_string()
                }
            })
    }
}

/// The `--json` document (README: "JSON results"). Field order is fixed
/// for readers that grep.
#[derive(Serialize)]
struct JsonResult {
    language: String,
    exit_code: i32,
    timed_out: bool,
    build_failed: bool,
    oom_killed: bool,
    /// `"stdout"` or `"stderr"`: the stream whose output limit stopped the
    /// run (exit code 123); `null` otherwise.
    output_limit: Option<String>,
    truncated: bool,
    stdout_truncated: bool,
    stderr_truncated: bool,
    stdout: String,
    stdout_encoding: &'static str,
    stderr: String,
    stderr_encoding: &'static str,
    duration_ms: u64,
    wait_ms: u64,
    image: String,
    container: String,
    /// `null` for a `--no-pool` run.
    pool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    out_files: Option<Vec<String>>,
}

/// Text as is when it is UTF-8, else base64: lossless either way.
fn text_or_base64(bytes: Vec<u8>) -> (String, &'static str) {
    match String::from_utf8(bytes) {
        Ok(s) => (s, "utf-8"),
        Err(e) => (
            base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
            "base64",
        ),
    }
}

impl JsonResult {
    fn new(lang: &str, code: i32, o: RunOutput, files: Vec<String>) -> JsonResult {
        let (stdout, stdout_encoding) = text_or_base64(o.stdout);
        let (stderr, stderr_encoding) = text_or_base64(o.stderr);
        let e = o.exit;
        let outcome = e.outcome;
        JsonResult {
            language: lang.into(),
            exit_code: code,
            timed_out: outcome.timed_out,
            build_failed: outcome.build_failed,
            oom_killed: outcome.oom_killed,
            output_limit: outcome.output_limit.clone(),
            truncated: outcome.stdout_truncated || outcome.stderr_truncated,
            stdout_truncated: outcome.stdout_truncated,
            stderr_truncated: outcome.stderr_truncated,
            stdout,
            stdout_encoding,
            stderr,
            stderr_encoding,
            duration_ms: e.duration_ms,
            wait_ms: e.wait_ms,
            image: e.image,
            container: e.container,
            pool: Some(e.pool),
            out_files: (!files.is_empty()).then_some(files),
        }
    }
}

pub async fn execute(args: RunArgs, g: &Globals) -> anyhow::Result<i32> {
    let session = super::session::for_run(&args.opts, g).await?;
    let g = session.as_ref().map_or(g, |(_, sg)| sg);
    let from_stdin = args.file.as_os_str() == "-";
    let lang = match (&args.lang, from_stdin) {
        (Some(name), _) => language(name)?,
        // A session's runs are in its language, whatever the file's name.
        (None, _) if session.is_some() => language(&session.as_ref().unwrap().0.lang)?,
        (None, true) => match profile_lang(g)? {
            Some(l) => l,
            None => {
                return Err(
                    UsageError("reading the program from stdin needs --lang".into()).into(),
                );
            }
        },
        (None, false) => match lang::by_extension(&args.file) {
            Some(l) => l,
            None => profile_lang(g)?.ok_or_else(|| {
                UsageError(format!(
                    "cannot tell the language of {} from its extension; pass --lang ({})",
                    args.file.display(),
                    lang::names()
                ))
            })?,
        },
    };
    let source = if from_stdin {
        let mut s = Vec::new();
        std::io::stdin()
            .read_to_end(&mut s)
            .map_err(|e| UsageError(format!("cannot read the program from stdin: {e}")))?;
        s
    } else {
        std::fs::read(&args.file)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", args.file.display())))?
    };
    let forward = !from_stdin && !args.opts.no_stdin;
    submit(g, lang, source, args.args, &args.opts, forward).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(path: &str, data: &[u8], append: bool) -> OutFile {
        OutFile {
            path: path.into(),
            mode: 0o644,
            data: data.to_vec(),
            append,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sbx-out-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn out_files_keep_their_relative_paths_across_chunks() {
        let d = scratch("paths");
        let mut w = OutWriter::new(&d.join("out")).unwrap();
        w.chunk(chunk("a/b/c.txt", b"hello ", false));
        w.chunk(chunk("a/b/c.txt", b"world", true));
        w.chunk(chunk("top", b"", false));
        assert_eq!(
            std::fs::read(d.join("out/a/b/c.txt")).unwrap(),
            b"hello world"
        );
        assert_eq!(std::fs::read(d.join("out/top")).unwrap(), b"");
        assert_eq!(w.written, ["a/b/c.txt", "top"]);
    }

    #[test]
    fn out_paths_that_escape_the_directory_are_refused() {
        let d = scratch("escape");
        let mut w = OutWriter::new(&d.join("out")).unwrap();
        for bad in ["../evil", "a/../../evil", "/tmp/evil", "", "./x/../../evil"] {
            assert!(w.create(bad, 0o644).is_err(), "{bad:?} accepted");
            w.chunk(chunk(bad, b"x", false));
            w.chunk(chunk(bad, b"y", true));
        }
        assert!(!d.join("evil").exists());
        assert!(w.written.is_empty());
    }

    #[test]
    fn out_files_are_never_written_through_a_local_link() {
        let d = scratch("links");
        let target = d.join("elsewhere");
        std::fs::create_dir_all(&target).unwrap();
        let out = d.join("out");
        std::fs::create_dir_all(&out).unwrap();
        std::os::unix::fs::symlink(&target, out.join("dir")).unwrap();
        std::os::unix::fs::symlink(target.join("f"), out.join("file")).unwrap();
        let mut w = OutWriter::new(&out).unwrap();
        w.chunk(chunk("dir/f", b"x", false));
        w.chunk(chunk("file", b"x", false));
        assert!(
            w.create("dir/f", 0o644)
                .unwrap_err()
                .contains("not a directory")
        );
        assert!(w.create("file", 0o644).unwrap_err().contains("link"));
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    }

    #[test]
    fn invalid_utf8_is_carried_as_base64_and_text_as_text() {
        assert_eq!(
            text_or_base64(b"plain\n".to_vec()),
            ("plain\n".into(), "utf-8")
        );
        let (text, enc) = text_or_base64(vec![0xff, 0xfe, b'o', b'k']);
        assert_eq!(enc, "base64");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap(),
            [0xff, 0xfe, b'o', b'k']
        );
    }
}
