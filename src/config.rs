//! The user's configuration file (TOML).
//!
//! Looked up at `--config`, else `$SBX_CONFIG`, else
//! `$XDG_CONFIG_HOME/sbx/config.toml`. No file at all means built-in
//! defaults: sbx works without configuration wherever the official images
//! can be pulled.
//!
//! ```toml
//! [languages.python]
//! image = "sbx-local/bookworm-runtime:e40f3f22692c"
//!
//! [pool]
//! min_size = 1
//! max_size = 10
//! idle_timeout = "5m"           # durations: 500ms, 30s, 5m, 1h, or "none"
//! exhaustion = "wait"           # wait | fail-fast | temporary
//!
//! [run]
//! timeout = "60s"        # default of --timeout
//! max_output = "10MiB"   # default of --max-output, per stream
//!
//! [isolation]            # see isolation.rs and the README's table
//! mode = "run"           # run | container
//! memory = "1GiB"
//! ```
//!
//! Unknown keys are errors, so a typo never silently falls back to a default.

use crate::lang::Language;
use crate::protocol::{Exhaustion, PoolSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub languages: BTreeMap<String, LanguageConfig>,
    #[serde(default)]
    pub pool: PoolConfig,
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub isolation: crate::isolation::IsolationConfig,
}

/// Defaults of the run options; the command line overrides them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub timeout: Option<String>,
    pub max_output: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageConfig {
    pub image: Option<String>,
    /// Keep the toolchain's cache between runs (default true; see lang.rs).
    pub cache: Option<bool>,
}

/// The `[pool]` section, validated: every pool a client asks for carries
/// these settings in its [`PoolSpec`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawPoolConfig")]
pub struct PoolConfig {
    pub min_size: usize,
    pub max_size: usize,
    pub idle_timeout: Option<Duration>,
    pub acquisition_timeout: Option<Duration>,
    pub health_check_interval: Option<Duration>,
    pub max_lifetime: Option<Duration>,
    pub max_uses: Option<u64>,
    pub exhaustion: Exhaustion,
    pub prewarm: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
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

impl PoolConfig {
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

    pub fn spec(&self, backend: &str, lang: &str, image: String) -> PoolSpec {
        PoolSpec {
            backend: backend.into(),
            lang: lang.into(),
            image,
            min_size: self.min_size,
            max_size: self.max_size,
            idle_timeout: self.idle_timeout,
            acquisition_timeout: self.acquisition_timeout,
            health_check_interval: self.health_check_interval,
            max_lifetime: self.max_lifetime,
            max_uses: self.max_uses,
            exhaustion: self.exhaustion,
            prewarm: self.prewarm,
            isolation: Default::default(),
        }
    }
}

/// A limit as written in TOML: a number, a string, or `"none"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawLimit {
    Int(i64),
    Text(String),
}

/// The `[pool]` section as written, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoolConfig {
    min_size: Option<usize>,
    max_size: Option<usize>,
    idle_timeout: Option<RawLimit>,
    acquisition_timeout: Option<RawLimit>,
    health_check_interval: Option<RawLimit>,
    max_lifetime: Option<RawLimit>,
    max_uses: Option<RawLimit>,
    exhaustion: Option<String>,
    prewarm: Option<bool>,
}

/// A duration setting: `"30s"`-style text, a bare number of seconds, or
/// `"none"` to disable the limit.
pub fn parse_limit_duration(field: &str, s: &str) -> Result<Option<Duration>, String> {
    if s.trim() == "none" {
        return Ok(None);
    }
    crate::cli::parse_duration(s)
        .map(Some)
        .map_err(|e| format!("pool.{field}: {e}, or \"none\" to disable it"))
}

fn limit_duration(
    field: &str,
    raw: Option<RawLimit>,
    default: Option<Duration>,
) -> Result<Option<Duration>, String> {
    match raw {
        None => Ok(default),
        Some(RawLimit::Int(n)) if n > 0 => Ok(Some(Duration::from_secs(n as u64))),
        Some(RawLimit::Int(n)) => Err(format!(
            "pool.{field}: {n} is not a positive duration (try \"30s\", \"5m\", or \"none\" to disable it)"
        )),
        Some(RawLimit::Text(s)) => parse_limit_duration(field, &s),
    }
}

/// A count setting: a positive number or `"none"`.
pub fn parse_limit_count(field: &str, s: &str) -> Result<Option<u64>, String> {
    match s.trim() {
        "none" => Ok(None),
        t => match t.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(format!(
                "pool.{field}: `{s}` is not a positive whole number (or \"none\" for no limit)"
            )),
        },
    }
}

impl TryFrom<RawPoolConfig> for PoolConfig {
    type Error = String;
    fn try_from(raw: RawPoolConfig) -> Result<Self, String> {
        let d = PoolConfig::default();
        let max_uses = match raw.max_uses {
            None => d.max_uses,
            Some(RawLimit::Int(n)) => parse_limit_count("max_uses", &n.to_string())?,
            Some(RawLimit::Text(s)) => parse_limit_count("max_uses", &s)?,
        };
        let cfg = PoolConfig {
            min_size: raw.min_size.unwrap_or(d.min_size),
            max_size: raw.max_size.unwrap_or(d.max_size),
            idle_timeout: limit_duration("idle_timeout", raw.idle_timeout, d.idle_timeout)?,
            acquisition_timeout: limit_duration(
                "acquisition_timeout",
                raw.acquisition_timeout,
                d.acquisition_timeout,
            )?,
            health_check_interval: limit_duration(
                "health_check_interval",
                raw.health_check_interval,
                d.health_check_interval,
            )?,
            max_lifetime: limit_duration("max_lifetime", raw.max_lifetime, d.max_lifetime)?,
            max_uses,
            exhaustion: match raw.exhaustion {
                None => d.exhaustion,
                Some(s) => s.parse().map_err(|e| format!("pool.exhaustion: {e}"))?,
            },
            prewarm: raw.prewarm.unwrap_or(d.prewarm),
        };
        cfg.validate().map_err(|e| format!("pool.{e}"))?;
        Ok(cfg)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// Where the configuration is read from, in order of precedence.
pub fn config_path(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("SBX_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "sbx").map(|d| d.config_dir().join("config.toml"))
}

impl Config {
    /// Load the configuration. A missing file at the default location means
    /// defaults; a missing file that was named explicitly is an error.
    pub fn load(flag: Option<&Path>) -> Result<Config, ConfigError> {
        let explicit =
            flag.is_some() || std::env::var_os("SBX_CONFIG").is_some_and(|p| !p.is_empty());
        let Some(path) = config_path(flag) else {
            return Ok(Config::default());
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Config::default());
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Config::parse(&text).map_err(|message| ConfigError::Parse { path, message })
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        for name in cfg.languages.keys() {
            if crate::lang::by_name(name).is_none() {
                return Err(format!(
                    "unknown language `{name}` in [languages]; known: {}",
                    crate::lang::names()
                ));
            }
        }
        if let Some(t) = &cfg.run.timeout {
            crate::cli::parse_duration(t).map_err(|e| format!("run.timeout: {e}"))?;
        }
        if let Some(m) = &cfg.run.max_output {
            crate::cli::parse_size(m).map_err(|e| format!("run.max_output: {e}"))?;
        }
        Ok(cfg)
    }

    /// The pool a run in `lang` goes to.
    pub fn pool_spec(&self, backend: &str, lang: &Language) -> PoolSpec {
        let mut spec = self.pool.spec(backend, lang.name, self.image_for(lang));
        spec.isolation = self.isolation.0.clone();
        spec
    }

    fn language(&self, lang: &Language) -> Option<&LanguageConfig> {
        self.languages
            .iter()
            .find(|(k, _)| crate::lang::by_name(k).is_some_and(|l| l.name == lang.name))
            .map(|(_, v)| v)
    }

    pub fn image_for(&self, lang: &Language) -> String {
        self.language(lang)
            .and_then(|v| v.image.clone())
            .unwrap_or_else(|| lang.default_image.to_string())
    }

    pub fn cache_for(&self, lang: &Language) -> bool {
        self.language(lang).and_then(|v| v.cache).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_configuration_means_official_images() {
        let cfg = Config::parse("").unwrap();
        let py = crate::lang::by_name("python").unwrap();
        assert_eq!(cfg.image_for(py), "python:3.12-slim");
        assert_eq!(cfg.pool.max_size, 10);
    }

    #[test]
    fn a_language_image_can_be_overridden_by_alias() {
        let cfg = Config::parse("[languages.js]\nimage = \"local/node\"\n").unwrap();
        let js = crate::lang::by_name("javascript").unwrap();
        assert_eq!(cfg.image_for(js), "local/node");
    }

    #[test]
    fn typos_and_bad_sizes_are_errors() {
        let err = Config::parse("[pool]\nmax_sise = 3\n").unwrap_err();
        assert!(err.contains("max_sise"), "{err}");
        let err = Config::parse("[pool]\nmin_size = 5\nmax_size = 2\n").unwrap_err();
        assert!(err.contains("min_size"), "{err}");
        let err = Config::parse("[languages.cobol]\nimage = \"x\"\n").unwrap_err();
        assert!(err.contains("cobol"), "{err}");
        let err = Config::parse("[run]\ntimeout = \"soon\"\n").unwrap_err();
        assert!(err.contains("run.timeout"), "{err}");
        let err = Config::parse("[run]\nmax_output = \"lots\"\n").unwrap_err();
        assert!(err.contains("run.max_output"), "{err}");
    }

    #[test]
    fn caches_are_on_unless_a_language_turns_them_off() {
        let cfg = Config::parse("[languages.golang]\ncache = false\n").unwrap();
        assert!(!cfg.cache_for(crate::lang::by_name("go").unwrap()));
        assert!(cfg.cache_for(crate::lang::by_name("java").unwrap()));
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let p = Config::parse("").unwrap().pool;
        assert_eq!((p.min_size, p.max_size), (0, 10));
        assert_eq!(p.idle_timeout, Some(Duration::from_secs(300)));
        assert_eq!(p.acquisition_timeout, Some(Duration::from_secs(30)));
        assert_eq!(p.health_check_interval, Some(Duration::from_secs(60)));
        assert_eq!(p.max_lifetime, Some(Duration::from_secs(3600)));
        assert_eq!(p.max_uses, None);
        assert_eq!(p.exhaustion, Exhaustion::Wait);
        assert!(p.prewarm);
    }

    #[test]
    fn every_pool_option_is_read_from_human_values() {
        let p = Config::parse(
            "[pool]\nmin_size = 2\nmax_size = 4\nidle_timeout = \"90s\"\n\
             acquisition_timeout = \"none\"\nhealth_check_interval = 15\n\
             max_lifetime = \"2h\"\nmax_uses = 50\nexhaustion = \"fail-fast\"\nprewarm = false\n",
        )
        .unwrap()
        .pool;
        assert_eq!((p.min_size, p.max_size), (2, 4));
        assert_eq!(p.idle_timeout, Some(Duration::from_secs(90)));
        assert_eq!(p.acquisition_timeout, None, "none waits forever");
        assert_eq!(p.health_check_interval, Some(Duration::from_secs(15)));
        assert_eq!(p.max_lifetime, Some(Duration::from_secs(7200)));
        assert_eq!(p.max_uses, Some(50));
        assert_eq!(p.exhaustion, Exhaustion::FailFast);
        assert!(!p.prewarm);
        let p = Config::parse("[pool]\nmax_uses = \"none\"\nmax_lifetime = \"none\"\n")
            .unwrap()
            .pool;
        assert_eq!((p.max_uses, p.max_lifetime), (None, None));
    }

    #[test]
    fn a_bad_pool_value_is_an_error_naming_its_field() {
        for (text, field) in [
            ("max_size = 0", "max_size"),
            ("idle_timeout = \"-5s\"", "idle_timeout"),
            ("idle_timeout = -5", "idle_timeout"),
            ("acquisition_timeout = \"soon\"", "acquisition_timeout"),
            ("health_check_interval = \"0s\"", "health_check_interval"),
            ("max_lifetime = \"3 weeks\"", "max_lifetime"),
            ("max_uses = 0", "max_uses"),
            ("max_uses = \"many\"", "max_uses"),
            ("exhaustion = \"panic\"", "exhaustion"),
            ("min_size = 3\nmax_size = 2", "min_size"),
        ] {
            let err = Config::parse(&format!("[pool]\n{text}\n")).unwrap_err();
            assert!(err.contains(&format!("pool.{field}")), "{text}: {err}");
        }
    }
}
