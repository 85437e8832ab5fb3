//! Messages between the agent and the guest runner inside a container.
//!
//! They travel over the container's attached stdin (agent → guest) and
//! stdout (guest → agent) using the framing of [`crate::protocol`]: control
//! frames carry these JSON messages, `Stdin` frames carry program input,
//! `Stdout`/`Stderr` frames carry program output. The guest's own stderr is
//! free text for the agent's log.
//!
//! A guest announces `Ready` once at start-up and again after every run
//! once it has cleaned up; the agent never sends a `Run` before that.

use serde::{Deserialize, Serialize};

/// Where the guest keeps itself and where runs happen, inside the container.
pub const GUEST_BIN: &str = "/sbx/bin/sbx";
pub const WORK_DIR: &str = "/sbx/work";
pub const HOME_DIR: &str = "/sbx/home";
/// Set in the container's environment; the guest refuses to run without it.
pub const GUEST_MARKER_ENV: &str = "SBX_GUEST_CONTAINER";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuestFile {
    /// Relative to the working directory.
    pub path: String,
    pub contents: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToGuest {
    Run {
        argv: Vec<String>,
        files: Vec<GuestFile>,
        env: Vec<(String, String)>,
        timeout_ms: u64,
    },
    StdinEof,
    /// Kill the current run (the client went away).
    Cancel,
    Ping,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromGuest {
    /// Ready for a run. `clean` is false when the guest could not prove
    /// that the previous run left nothing behind; the agent then recycles
    /// the container instead of reusing it.
    Ready {
        version: String,
        clean: bool,
    },
    Exit {
        code: i32,
        timed_out: bool,
    },
    Pong,
}
