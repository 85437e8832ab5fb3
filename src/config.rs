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
//!
//! [run]
//! timeout = "60s"        # default of --timeout
//! max_output = "10MiB"   # default of --max-output, per stream
//! ```
//!
//! Unknown keys are errors, so a typo never silently falls back to a default.

use crate::lang::Language;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub languages: BTreeMap<String, LanguageConfig>,
    #[serde(default)]
    pub pool: PoolConfig,
    #[serde(default)]
    pub run: RunConfig,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    pub min_size: usize,
    pub max_size: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            min_size: 0,
            max_size: 10,
        }
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
        if cfg.pool.max_size == 0 {
            return Err("pool.max_size must be at least 1".into());
        }
        if cfg.pool.min_size > cfg.pool.max_size {
            return Err(format!(
                "pool.min_size ({}) is larger than pool.max_size ({})",
                cfg.pool.min_size, cfg.pool.max_size
            ));
        }
        Ok(cfg)
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
}
