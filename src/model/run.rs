//! One run: what it asks of a sandbox ([`RunSpec`]) and how it ended
//! ([`RunOutcome`]). The client builds the spec, the agent passes it to the
//! guest as it is (inside `protocol::RunRequest` and `guest::wire::ToGuest`),
//! and the guest's outcome comes back to the client inside
//! `protocol::RunExit`: a new run option is a field here, set by the CLI
//! and applied by the guest, and nothing in between changes.

use serde::{Deserialize, Serialize};

/// Languages whose sessions can keep the interpreter's state between runs
/// (`--keep-state`): those the guest has a cell driver for.
pub const KEEP_STATE_LANGUAGES: &[&str] = &["python", "javascript"];

/// A run as the guest carries it out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// The source file first, then the `--file` inputs, all placed in the
    /// sandbox's source directory (`/sbx/work`).
    pub files: Vec<InputFile>,
    /// Compile step, run in the source directory before `argv`; a non-zero
    /// exit ends the run with that code and the compiler's output.
    pub build: Option<Vec<String>>,
    /// Full command line, e.g. `["python3", "/sbx/work/main.py", "arg1"]`.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Working directory of the program (`-w`); `None` is the source dir,
    /// relative paths are inside it.
    pub workdir: Option<String>,
    /// For the build and run steps together.
    pub timeout_ms: u64,
    /// Bytes kept per output stream; the rest is discarded and reported.
    pub max_output: u64,
    /// Send back what the program wrote under its output directory.
    pub collect_out: bool,
    /// The toolchain cache directory to keep after the run; everything
    /// else under the cache area is wiped like the rest (see lang.rs).
    #[serde(default)]
    pub keep_cache: Option<String>,
    /// `--cpus`: the run's processes may use at most this many of the
    /// sandbox's CPUs at once (`None`: all the sandbox has).
    #[serde(default)]
    pub cpus: Option<u32>,
    /// Set by the agent for a run of a session: every file stays for the
    /// session's next run (processes the run started are still killed).
    #[serde(default)]
    pub keep_files: bool,
    /// Set by the agent for a run of a `--keep-state` session: the program
    /// is a cell executed by the session's long-lived interpreter (see
    /// `guest::cell`) instead of a fresh process.
    #[serde(default)]
    pub keep_state: bool,
}

/// How a run ended, as the guest saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Program exit code, or 128 + signal number when killed by a signal;
    /// the compiler's code when the build step failed.
    pub code: i32,
    pub timed_out: bool,
    /// The build step failed; `code` is the compiler's.
    pub build_failed: bool,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The kernel's OOM killer killed a process of the run: it exceeded
    /// the container's memory limit.
    #[serde(default)]
    pub oom_killed: bool,
    /// The stream (`stdout` or `stderr`) that exceeded the output limit
    /// and so ended the run; `code` is then `exit::OUTPUT_LIMIT`.
    #[serde(default)]
    pub output_limit: Option<String>,
}

/// A file placed in the sandbox before a run: the program's source and any
/// `--file` inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Relative to the working directory; normal components only.
    pub path: String,
    /// Permission bits (e.g. 0o644, 0o755 for an executable input).
    pub mode: u32,
    #[serde(with = "b64")]
    pub contents: Vec<u8>,
}

/// A chunk of a file the program wrote under its output directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutFile {
    /// Relative to the output directory.
    pub path: String,
    pub mode: u32,
    #[serde(with = "b64")]
    pub data: Vec<u8>,
    /// False for a file's first chunk (create or truncate), true after.
    pub append: bool,
}

/// Serde adapter: bytes as a base64 string (JSON cannot carry arbitrary
/// bytes, and base64 keeps them exact).
pub mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// A pool's warm interpreter (see `guest::warm`): an interpreter each of
/// its containers keeps started, with the profile's `preload` modules
/// imported, so that a run of that interpreter is a fork of it instead of
/// a fresh start. Part of the pool's identity: a changed preload list is
/// another pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WarmInterpreter {
    /// The interpreter as a run's command line names it (`python3`); runs
    /// that start another program are spawned as usual.
    pub interpreter: String,
    /// Modules imported once, before any run.
    pub preload: Vec<String>,
    /// The environment it starts with: the language's and the profile's,
    /// as every run gets them. A run whose interpreter settings
    /// (`PYTHON*`, locale) differ from these is spawned as usual, since a
    /// forked interpreter cannot take them.
    pub env: Vec<(String, String)>,
}

impl WarmInterpreter {
    /// A fork server (Python); otherwise one pre-started interpreter per
    /// run (Node, which cannot fork once started).
    pub fn forks(&self) -> bool {
        self.interpreter.starts_with("python")
    }

    /// One line for `pool stats`: `on`, or `on, preloads numpy pandas`.
    pub fn describe(warm: Option<&WarmInterpreter>) -> String {
        match warm {
            None => "off".into(),
            Some(w) if w.preload.is_empty() => "on".into(),
            Some(w) => format!("on, preloads {}", w.preload.join(" ")),
        }
    }
}
