//! The settings of a pool and of its sandboxes, as the config file gives
//! them after validation and as the client sends them to the agent inside
//! each `PoolSpec` (one type: nothing is copied field by field between the
//! file, the wire and the pool engine).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `[pool]` keys of the config (or of a profile's `[profiles.P.pool]`):
/// how big a pool is and when its containers are replaced.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolSettings {
    pub min_size: usize,
    pub max_size: usize,
    /// An idle container older than this is recycled (replaced at
    /// `min_size`); `None`: never.
    pub idle_timeout: Option<Duration>,
    /// How long `Exhaustion::Wait` waits for a container; `None`: forever.
    pub acquisition_timeout: Option<Duration>,
    /// How often idle containers are checked; `None`: never.
    pub health_check_interval: Option<Duration>,
    /// A container older than this is recycled; `None`: no limit.
    pub max_lifetime: Option<Duration>,
    /// A container is recycled after this many runs; `None`: no limit.
    pub max_uses: Option<u64>,
    pub exhaustion: Exhaustion,
    /// Create `min_size` containers as soon as the pool exists (otherwise
    /// from its first run on).
    pub prewarm: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            min_size: 0,
            max_size: 10,
            idle_timeout: Some(Duration::from_secs(300)),
            acquisition_timeout: Some(Duration::from_secs(30)),
            health_check_interval: Some(Duration::from_secs(60)),
            max_lifetime: Some(Duration::from_secs(3600)),
            max_uses: None,
            exhaustion: Exhaustion::Wait,
            prewarm: true,
        }
    }
}

impl PoolSettings {
    /// Checks that involve more than one field; each message names them.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_size == 0 {
            return Err("max_size must be at least 1".into());
        }
        if self.min_size > self.max_size {
            return Err(format!(
                "min_size ({}) is larger than max_size ({}); lower min_size or raise max_size",
                self.min_size, self.max_size
            ));
        }
        Ok(())
    }
}

/// What a run gets when every container of its pool is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exhaustion {
    /// Queue (first come, first served) for up to `acquisition_timeout`.
    #[default]
    Wait,
    /// Fail at once.
    FailFast,
    /// Run in an extra container outside the pool, removed afterwards.
    Temporary,
}

impl Exhaustion {
    pub const NAMES: &str = "wait, fail-fast, temporary";

    pub fn as_str(self) -> &'static str {
        match self {
            Exhaustion::Wait => "wait",
            Exhaustion::FailFast => "fail-fast",
            Exhaustion::Temporary => "temporary",
        }
    }
}

impl std::str::FromStr for Exhaustion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wait" => Ok(Exhaustion::Wait),
            "fail-fast" => Ok(Exhaustion::FailFast),
            "temporary" => Ok(Exhaustion::Temporary),
            _ => Err(format!(
                "`{s}` is not an exhaustion strategy (use {})",
                Exhaustion::NAMES
            )),
        }
    }
}

/// Resource limits of every container of a pool (a profile's `[limits]`;
/// the `[isolation]` defaults apply where these are `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// Bytes of memory (swap included: no swap beyond it).
    pub memory: Option<u64>,
    /// CPU quota in billionths of a CPU (the engine's `NanoCpus`).
    pub nano_cpus: Option<u64>,
    pub pids: Option<i64>,
}

/// CPUs as people write them (`0.5`, `2`) in billionths of a CPU; the
/// range is what engines accept and a machine can have.
pub fn nano_cpus(cpus: f64) -> Result<u64, String> {
    if cpus.is_finite() && (0.01..=1024.0).contains(&cpus) {
        Ok((cpus * 1e9).round() as u64)
    } else {
        Err(format!(
            "cpus = {cpus} is out of range; use a number of CPUs such as 0.5 or 2"
        ))
    }
}
