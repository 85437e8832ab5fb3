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
//! After the program ends the guest sends, when asked, one `OutFile` per
//! chunk of every file under the output directory, then `Exit`.

pub use crate::model::run::{InputFile as GuestFile, OutFile, RunOutcome, RunSpec};
use serde::{Deserialize, Serialize};

/// Where sbx's locations live inside a container: the guest's directory
/// and the scratch mounts below.
pub const SBX_ROOT: &str = "/sbx";
/// The guest's directory: on Docker and Podman the engine's guest volume,
/// mounted read-only (backend/docker/guest_volume.rs); in a pod an
/// emptyDir it is copied into.
pub const GUEST_DIR: &str = "/sbx/bin";
/// The guest runner itself (the `sbx-guest` program).
pub const GUEST_BIN: &str = "/sbx/bin/sbx-guest";
/// The guest's own scratch directory (the FIFOs of `--keep-state` cells,
/// each given to the program's user): root's, mode 0755, so the program
/// can open what it is given but plant no links there; a small tmpfs of
/// its own on Docker and Podman, /sbx being part of the read-only root.
pub const GUEST_PRIVATE_DIR: &str = "/sbx/cell";
/// The program's source and `--file` inputs; the default working directory.
pub const WORK_DIR: &str = "/sbx/work";
pub const HOME_DIR: &str = "/sbx/home";
/// Compiled artefacts of the build step, kept out of the user's directory.
pub const BUILD_DIR: &str = "/sbx/build";
/// What the program writes here comes back with `--out` (`$SBX_OUT`).
pub const OUT_DIR: &str = "/sbx/out";
/// Toolchain caches that survive between runs (never wiped; see lang.rs for
/// why sharing them is safe, and how to turn them off).
pub const CACHE_DIR: &str = "/sbx/cache";
/// `uid:gid` the program runs as, set in the container's environment.
pub const GUEST_USER_ENV: &str = "SBX_GUEST_USER";
/// The tmpfs mounts of a container (path, mode, executables allowed):
/// with a read-only root filesystem, every place a program can write.
/// The guest wipes them all after every run (the cache excepted, see
/// lang.rs) and gives the program's own ones to its user. /dev/shm is
/// `noexec` like the engine's own; the others allow programs that build
/// and run binaries.
pub const SCRATCH_MOUNTS: &[(&str, u32, bool)] = &[
    (WORK_DIR, 0o755, true),
    (HOME_DIR, 0o755, true),
    (BUILD_DIR, 0o755, true),
    (OUT_DIR, 0o755, true),
    (CACHE_DIR, 0o755, true),
    ("/tmp", 0o1777, true),
    ("/var/tmp", 0o1777, true),
    ("/dev/shm", 0o1777, false),
];
/// sbx's locations in every run's environment (after the image's own,
/// before the language's settings and `-e`).
pub const RUN_ENV: &[(&str, &str)] =
    &[("HOME", HOME_DIR), ("TMPDIR", "/tmp"), ("SBX_OUT", OUT_DIR)];
/// What every setting of the guest's own in its environment starts with;
/// none of them reaches a program.
pub const GUEST_ENV_PREFIX: &str = "SBX_GUEST_";
/// Set in the container's environment; the guest refuses to run without it.
pub const GUEST_MARKER_ENV: &str = "SBX_GUEST_CONTAINER";
/// Set in a pod's environment: the guest is not PID 1 but comes in through
/// an exec, PID 1 is an idle keeper, and the PID namespace is the pod
/// container's own, so killing every process but PID 1 is the clean-up.
pub const GUEST_KEEPER_ENV: &str = "SBX_GUEST_KEEPER";
/// The interpreter to keep warm (`guest::warm`), as JSON
/// ([`crate::model::run::WarmInterpreter`]); absent: none.
pub const GUEST_WARM_ENV: &str = "SBX_GUEST_WARM";
/// In a pod: the largest file a program may write, in bytes (its
/// `RLIMIT_FSIZE`), for the files outside the size-limited volumes.
pub const GUEST_FSIZE_ENV: &str = "SBX_GUEST_FSIZE";

/// Where a sandbox has no cgroup of its own (bubblewrap as an ordinary
/// user): the limits the guest sets as rlimits on every program it
/// starts, as JSON ([`ProcessLimits`]); absent: none.
pub const GUEST_RLIMITS_ENV: &str = "SBX_GUEST_RLIMITS";

/// The limits of [`GUEST_RLIMITS_ENV`]: `memory` becomes each process's
/// `RLIMIT_DATA`, `pids` the program user's `RLIMIT_NPROC`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessLimits {
    /// Bytes of memory.
    pub memory: Option<u64>,
    /// Processes and threads.
    pub pids: Option<u64>,
}

/// Limits in force in a container, read from its cgroup or, with
/// `per_process`, the rlimits the guest sets on each program
/// ([`GUEST_RLIMITS_ENV`]); `None`: none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenLimits {
    /// Bytes of memory.
    pub memory: Option<u64>,
    /// Processes and threads.
    pub pids: Option<u64>,
    /// The limits are rlimits of each program process, not a cgroup's:
    /// memory bounds each process's data (not the sum), processes are
    /// counted per uid, and there is no CPU limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_process: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToGuest {
    Run(RunSpec),
    StdinEof,
    /// Kill the current run (the client went away).
    Cancel,
    Ping,
    /// The session this container served has ended: stop its interpreter
    /// and wipe everything as after a run, then announce `Ready`.
    Reset,
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
        /// After a session's run: bytes of files its scratch locations
        /// hold (0 otherwise).
        #[serde(default)]
        scratch_bytes: u64,
        /// At start-up only: the limits the guest finds its container
        /// under, so the agent can tell limits it asked for from limits
        /// the engine applied (rootless Podman on cgroup v1 accepts them
        /// and ignores them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limits: Option<SeenLimits>,
    },
    Exit(RunOutcome),
    OutFile(OutFile),
    Pong,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_limits_are_sent_as_before_and_per_process_ones_say_so() {
        let cgroup = SeenLimits {
            memory: Some(1 << 30),
            pids: Some(256),
            per_process: false,
        };
        let text = serde_json::to_string(&cgroup).unwrap();
        assert_eq!(text, r#"{"memory":1073741824,"pids":256}"#);
        assert_eq!(serde_json::from_str::<SeenLimits>(&text).unwrap(), cgroup);
        let rlimits = SeenLimits {
            per_process: true,
            ..cgroup
        };
        let text = serde_json::to_string(&rlimits).unwrap();
        assert_eq!(
            text,
            r#"{"memory":1073741824,"pids":256,"per_process":true}"#
        );
        assert_eq!(serde_json::from_str::<SeenLimits>(&text).unwrap(), rlimits);
    }
}
