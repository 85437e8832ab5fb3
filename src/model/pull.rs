//! Pulling images from registries: the per-profile policy, the stall limit
//! and the progress the agent reports to clients while a pull runs.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[images] pull_timeout` when the config does not set it: how long a
/// pull may go without any progress before it fails. Generous, because it
/// only ever ends pulls that stand still: a slow one that moves is fine.
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(300);

/// A profile's `pull`: when the agent contacts the registry for the image
/// of a pool (or of a `--no-pool` container) it is about to make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullPolicy {
    /// Pull only when the engine does not hold the image.
    #[default]
    Missing,
    /// Pull every time a pool is made, so a moving tag is followed.
    Always,
    /// Never pull: a missing image is an error (air-gapped machines).
    Never,
}

impl PullPolicy {
    pub const NAMES: &'static str = "missing, always, never";

    pub fn parse(s: &str) -> Option<PullPolicy> {
        match s {
            "missing" => Some(PullPolicy::Missing),
            "always" => Some(PullPolicy::Always),
            "never" => Some(PullPolicy::Never),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Missing => "missing",
            PullPolicy::Always => "always",
            PullPolicy::Never => "never",
        }
    }
}

/// One pull as far as it got. Bytes are what the engine reports for the
/// layers it downloads (Podman's compatible API reports none, only
/// layers); layers found locally count as done without bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullProgress {
    pub image: String,
    pub layers: u32,
    pub layers_done: u32,
    pub bytes: u64,
    pub bytes_done: u64,
    pub elapsed_ms: u64,
    /// The pull finished (successfully: a failure ends the request with an
    /// error instead).
    pub done: bool,
    /// When done: the image's size on the engine, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}
