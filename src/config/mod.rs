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
//!
//! [kubernetes]           # see config/kubernetes.rs
//! namespace = "sbx"
//!
//! [images]
//! pull_timeout = "5m"    # a pull with no progress for this long fails
//!
//! [sessions]
//! max = 16               # open sessions per agent
//! ```
//!
//! Unknown keys are errors, so a typo never silently falls back to a default.

mod diagnostics;
pub mod kubernetes;
mod print;
mod profile;

pub use diagnostics::{SpanError, nearest};
use diagnostics::{explain_toml_error, find_header};
pub use kubernetes::KubeConfig;
pub use profile::{Choice, DEFAULT_MAX_OUTPUT, DEFAULT_TIMEOUT, Profile, Resolved};

use crate::lang::Language;
use crate::model::pool::{Limits, PoolSettings};
use crate::model::target::EngineKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub languages: BTreeMap<String, LanguageConfig>,
    #[serde(default, deserialize_with = "pool_section")]
    pub pool: PoolSettings,
    #[serde(default)]
    pub profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub isolation: crate::model::isolation::IsolationConfig,
    /// Where the Kubernetes backend puts its pods (config/kubernetes.rs).
    #[serde(default)]
    pub kubernetes: KubeConfig,
    #[serde(default)]
    pub images: ImagesConfig,
    #[serde(default)]
    pub sessions: SessionsConfig,
}

/// `[sessions]`: limits of `sbx session start`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// Open sessions per agent (default [`DEFAULT_MAX_SESSIONS`]).
    max: Option<usize>,
}

/// Open sessions an agent allows when `[sessions] max` is not set.
pub const DEFAULT_MAX_SESSIONS: usize = 16;

impl SessionsConfig {
    pub fn max(&self) -> usize {
        self.max.unwrap_or(DEFAULT_MAX_SESSIONS)
    }
}

/// `[images]`: how images are fetched from registries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesConfig {
    /// A pull that makes no progress for this long fails; `"none"`: never.
    pull_timeout: Option<StallLimit>,
}

impl ImagesConfig {
    pub fn pull_timeout(&self) -> Option<Duration> {
        match self.pull_timeout {
            None => Some(crate::model::pull::DEFAULT_PULL_TIMEOUT),
            Some(StallLimit(d)) => d,
        }
    }
}

/// A duration or `"none"`.
#[derive(Debug, Clone, Copy)]
struct StallLimit(Option<Duration>);

impl<'de> Deserialize<'de> for StallLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawLimit::deserialize(d)? {
            RawLimit::Text(s) if s.trim() == "none" => Ok(StallLimit(None)),
            RawLimit::Int(n) if n > 0 => Ok(StallLimit(Some(Duration::from_secs(n as u64)))),
            RawLimit::Int(n) => Err(serde::de::Error::custom(format!(
                "{n} is not a positive duration (try \"30s\", \"5m\", or \"none\")"
            ))),
            RawLimit::Text(s) => crate::model::units::parse_duration(&s)
                .map(|d| StallLimit(Some(d)))
                .map_err(|e| serde::de::Error::custom(format!("{e}, or \"none\""))),
        }
    }
}

/// A profile's `pull`.
#[derive(Debug, Clone, Copy)]
pub struct PullName(pub crate::model::pull::PullPolicy);

impl<'de> Deserialize<'de> for PullName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::model::pull::PullPolicy::parse(&s)
            .map(PullName)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "pull `{s}` is not one of {}",
                    crate::model::pull::PullPolicy::NAMES
                ))
            })
    }
}

/// Defaults of the run options; the command line and profiles override them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    timeout: Option<HumanDuration>,
    max_output: Option<ByteSize>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageConfig {
    pub image: Option<String>,
    /// Keep the toolchain's cache between runs (default true; see lang.rs).
    pub cache: Option<bool>,
}

/// A limit as written in TOML: a number, a string, or `"none"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawLimit {
    Int(i64),
    Text(String),
}

/// The `[pool]` section as written, before validation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
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
    crate::model::units::parse_duration(s)
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

/// `[pool]`: the keys written there over the built-in defaults, validated.
fn pool_section<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PoolSettings, D::Error> {
    RawPool::deserialize(d)?
        .apply(&PoolSettings::default())
        .map_err(serde::de::Error::custom)
}

impl RawPool {
    /// `base` with the keys written here replacing its own, validated.
    pub fn apply(self, d: &PoolSettings) -> Result<PoolSettings, String> {
        let raw = self;
        let max_uses = match raw.max_uses {
            None => d.max_uses,
            Some(RawLimit::Int(n)) => parse_limit_count("max_uses", &n.to_string())?,
            Some(RawLimit::Text(s)) => parse_limit_count("max_uses", &s)?,
        };
        let cfg = PoolSettings {
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
    #[error("cannot read config file {}: {error}; fix it or point --config / SBX_CONFIG elsewhere", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// One line: `FILE:LINE: what is wrong; what to do`.
    #[error("invalid config file {}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
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
            Err(error) => return Err(ConfigError::Read { path, error }),
        };
        Config::parse_file(&path, &text)
    }

    /// Parse and validate `text` read from `path`; errors name its line.
    pub fn parse_file(path: &Path, text: &str) -> Result<Config, ConfigError> {
        Config::parse_spanned(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            line: e.line(text),
            message: e.message,
        })
    }

    #[cfg(test)]
    pub fn parse(text: &str) -> Result<Config, String> {
        Config::parse_spanned(text).map_err(|e| e.message)
    }

    fn parse_spanned(text: &str) -> Result<Config, SpanError> {
        let cfg: Config = toml::from_str(text).map_err(|e| explain_toml_error(&e, text))?;
        for name in cfg.languages.keys() {
            if crate::lang::by_name(name).is_none() {
                let span = find_header(text, &format!("languages.{name}"));
                return Err(SpanError {
                    span,
                    message: format!(
                        "unknown language `{name}` in [languages]; known: {}",
                        crate::lang::names()
                    ),
                });
            }
        }
        if cfg.sessions.max == Some(0) {
            return Err(SpanError {
                span: find_header(text, "sessions"),
                message: "[sessions] max: 0 would refuse every session; give a positive number"
                    .into(),
            });
        }
        for (name, raw) in &cfg.profiles {
            if !valid_profile_name(name) {
                return Err(SpanError {
                    span: find_header(text, &format!("profiles.{name}")),
                    message: format!(
                        "profile name `{name}` may use only letters, digits, `-` and `_`; rename it"
                    ),
                });
            }
            // Settings that only conflict once merged with [pool].
            raw.pool_config(name, &cfg.pool, text)?;
            if let (Some(lang), Some(first)) = (&raw.lang, raw.libraries.first())
                && !crate::libraries::is_supported(lang.get_ref().0.name)
            {
                return Err(SpanError::at(
                    first.span(),
                    format!(
                        "[profiles.{name}] libraries: sbx cannot install libraries for {} yet (it can for {})",
                        lang.get_ref().0.name,
                        crate::libraries::supported()
                    ),
                ));
            }
            if let Some(lang) = &raw.lang
                && !raw.preload.is_empty()
                && lang.get_ref().0.name != "python"
            {
                return Err(SpanError::at(
                    lang.span(),
                    format!(
                        "[profiles.{name}] preload: only a python profile can preload modules, and this one is for {}; remove `preload`",
                        lang.get_ref().0.name
                    ),
                ));
            }
            for key in raw.build.iter().flat_map(|b| b.env.keys()) {
                let ok = key
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ok {
                    return Err(SpanError {
                        span: find_header(text, &format!("profiles.{name}.build.env"))
                            .or_else(|| find_header(text, &format!("profiles.{name}.build"))),
                        message: format!(
                            "[profiles.{name}.build] env: `{key}` is not a variable name (letters, digits and _)"
                        ),
                    });
                }
            }
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

    /// Names of the profiles in the file, `default` first when present.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.profiles.keys().cloned().collect();
        names.sort_by_key(|n| (n != DEFAULT_PROFILE, n.clone()));
        names
    }
}

pub const DEFAULT_PROFILE: &str = "default";

fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// One `[profiles.NAME]` table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    lang: Option<toml::Spanned<LangName>>,
    image: Option<String>,
    backend: Option<toml::Spanned<BackendName>>,
    #[serde(default)]
    libraries: Vec<toml::Spanned<Library>>,
    pool: Option<toml::Spanned<RawPool>>,
    limits: Option<RawLimits>,
    network: Option<Network>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    timeout: Option<HumanDuration>,
    output_limit: Option<ByteSize>,
    build: Option<BuildConfig>,
    /// When the image is pulled: missing (default), always, never.
    pull: Option<PullName>,
    /// Modules the warm interpreter imports once, before any run (python).
    #[serde(default)]
    preload: Vec<ModuleName>,
    /// Keep an interpreter warm for runs (default true where the language
    /// has one: python).
    warm_interpreter: Option<bool>,
}

impl RawProfile {
    /// `[pool]` with this profile's pool keys applied, validated. An error
    /// points at the offending key's line in `text` when it is there.
    fn pool_config(
        &self,
        name: &str,
        base: &PoolSettings,
        text: &str,
    ) -> Result<PoolSettings, SpanError> {
        let Some(p) = &self.pool else {
            return Ok(base.clone());
        };
        p.get_ref().clone().apply(base).map_err(|e| {
            let key = e
                .strip_prefix("pool.")
                .and_then(|r| {
                    r.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                })
                .unwrap_or("");
            // The table's span may cover only its header: look through
            // its lines up to the next header.
            let mut span = p.span();
            if let Some(body) = text.get(span.start..) {
                let mut offset = span.start;
                for (i, line) in body.split_inclusive('\n').enumerate() {
                    let t = line.trim_start();
                    if i > 0 && t.starts_with('[') {
                        break;
                    }
                    if !key.is_empty()
                        && t.strip_prefix(key)
                            .is_some_and(|r| r.trim_start().starts_with('='))
                    {
                        span = offset..offset + line.len();
                        break;
                    }
                    offset += line.len();
                }
            }
            SpanError::at(
                span,
                format!(
                    "[profiles.{name}.pool] {}",
                    e.strip_prefix("pool.").unwrap_or(&e)
                ),
            )
        })
    }
}

/// A module the warm interpreter imports (`numpy`, `xml.etree.ElementTree`):
/// dotted identifiers only, since it is imported by name, never evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleName(pub String);

impl<'de> Deserialize<'de> for ModuleName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ident = |p: &str| {
            p.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_alphanumeric() || c == '_')
        };
        if s.split('.').all(ident) {
            Ok(ModuleName(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "preload: `{s}` is not a module name (dotted identifiers, e.g. `numpy` or `xml.etree.ElementTree`)"
            )))
        }
    }
}

/// A language name, checked against the language table.
#[derive(Debug, Clone)]
struct LangName(&'static Language);

impl<'de> Deserialize<'de> for LangName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::lang::by_name(&s).map(LangName).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown language `{s}`; known: {}",
                crate::lang::names()
            ))
        })
    }
}

#[derive(Debug, Clone)]
struct BackendName(EngineKind);

impl<'de> Deserialize<'de> for BackendName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match EngineKind::parse(Some(&s)) {
            Ok(Some(e)) => Ok(BackendName(e)),
            _ => Err(serde::de::Error::custom(format!(
                "unknown backend `{s}`; use docker, podman, kubernetes or bubblewrap"
            ))),
        }
    }
}

/// A library to preinstall, as the language's installer names it
/// (`numpy`, `requests==2.32.3`, `@scope/pkg@1.2`). Passed to the installer
/// as one argv element, never through a shell; a leading `-` is refused so
/// a name can never become an installer option.
#[derive(Debug, Clone, PartialEq)]
pub struct Library(pub String);

impl<'de> Deserialize<'de> for Library {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::libraries::validate_library(&s).map_err(serde::de::Error::custom)?;
        Ok(Library(s))
    }
}

/// Container network: `none` (the default: no network at all) or `bridge`
/// (the engine's default network).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Network(String);

impl Default for Network {
    fn default() -> Self {
        Network("none".into())
    }
}

impl Network {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "none" | "bridge" => Ok(Network(s)),
            _ => Err(serde::de::Error::custom(format!(
                "network `{s}` is not supported; use \"none\" (default) or \"bridge\""
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct HumanDuration(Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawLimit::deserialize(d)? {
            RawLimit::Int(n) if n > 0 => Ok(HumanDuration(Duration::from_secs(n as u64))),
            RawLimit::Int(n) => Err(serde::de::Error::custom(format!(
                "{n} is not a positive duration (try \"30s\" or \"5m\")"
            ))),
            RawLimit::Text(s) => crate::model::units::parse_duration(&s)
                .map(HumanDuration)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// A positive size in bytes: a number, or text in the size grammar of
/// `model::units` (`512m`, `1GiB`, `1.5g`).
#[derive(Debug, Clone, Copy)]
struct ByteSize(u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawLimit::deserialize(d)? {
            RawLimit::Int(n) if n > 0 => Ok(ByteSize(n as u64)),
            RawLimit::Int(n) => Err(serde::de::Error::custom(format!(
                "{n} is not a positive size"
            ))),
            RawLimit::Text(s) => match crate::model::units::parse_size(&s) {
                Ok(0) => Err(serde::de::Error::custom(format!(
                    "`{s}` is not a positive size"
                ))),
                Ok(n) => Ok(ByteSize(n)),
                Err(e) => Err(serde::de::Error::custom(e)),
            },
        }
    }
}

/// `[profiles.NAME.limits]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    memory: Option<ByteSize>,
    cpus: Option<Cpus>,
    pids: Option<Pids>,
}

#[derive(Debug, Clone, Copy)]
struct Cpus(f64);

impl<'de> Deserialize<'de> for Cpus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum N {
            F(f64),
            I(i64),
        }
        let v = match N::deserialize(d)? {
            N::F(f) => f,
            N::I(i) => i as f64,
        };
        crate::model::pool::nano_cpus(v)
            .map(|_| Cpus(v))
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy)]
struct Pids(i64);

impl<'de> Deserialize<'de> for Pids {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        // The guest runner and the interpreter need a few processes.
        if n >= 8 {
            Ok(Pids(n))
        } else {
            Err(serde::de::Error::custom(format!(
                "pids = {n} is too low; allow at least 8 processes"
            )))
        }
    }
}

impl From<RawLimits> for Limits {
    fn from(r: RawLimits) -> Limits {
        Limits {
            memory: r.memory.map(|m| m.0),
            nano_cpus: r.cpus.and_then(|c| crate::model::pool::nano_cpus(c.0).ok()),
            pids: r.pids.map(|p| p.0),
        }
    }
}

/// `[profiles.NAME.build]`: what the library install needs to reach its
/// package index (a TLS-intercepting proxy's CA, proxy and index settings).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// A PEM bundle the installers trust (e.g. the host's
    /// `/etc/ssl/certs/ca-certificates.crt`).
    pub ca_bundle: Option<PathBuf>,
    /// Environment of the install only (`PIP_INDEX_URL`, `HTTPS_PROXY`,
    /// `npm_config_registry`, ...); never seen by runs.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Network of the build: the engine's default (`bridge`), or `host`
    /// (to reach an index or proxy on the host's loopback).
    pub network: Option<BuildNetwork>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct BuildNetwork(pub String);

impl<'de> Deserialize<'de> for BuildNetwork {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "bridge" | "host" => Ok(BuildNetwork(s)),
            _ => Err(serde::de::Error::custom(format!(
                "build network `{s}` is not supported; use \"bridge\" (default) or \"host\""
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pool::Exhaustion;

    #[test]
    fn preload_takes_module_names_and_only_in_python_profiles() {
        let cfg = Config::parse(
            "[profiles.ds]\nlang = \"python\"\npreload = [\"json\", \"xml.etree.ElementTree\"]\n",
        )
        .unwrap();
        let p = cfg.profile(Some("ds")).unwrap();
        assert_eq!(p.preload, ["json", "xml.etree.ElementTree"]);
        assert!(p.warm_interpreter, "on unless turned off");
        let bad = Config::parse("[profiles.x]\npreload = [\"os; import evil\"]\n")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("is not a module name"), "{bad}");
        let js = Config::parse("[profiles.x]\nlang = \"javascript\"\npreload = [\"fs\"]\n")
            .unwrap_err()
            .to_string();
        assert!(js.contains("only a python profile can preload"), "{js}");
        let off = Config::parse("[profiles.x]\nwarm_interpreter = false\n").unwrap();
        assert!(!off.profile(Some("x")).unwrap().warm_interpreter);
    }

    #[test]
    fn pulls_wait_five_minutes_for_progress_unless_images_says_otherwise() {
        use crate::model::pull::PullPolicy;
        let cfg = Config::parse("").unwrap();
        assert_eq!(cfg.images.pull_timeout(), Some(Duration::from_secs(300)));
        let p = cfg.profile(None).unwrap();
        assert_eq!(p.pull, PullPolicy::Missing);
        let cfg = Config::parse(
            "[images]\npull_timeout = \"90s\"\n[profiles.air]\nlang = \"python\"\npull = \"never\"\n",
        )
        .unwrap();
        let p = cfg.profile(Some("air")).unwrap();
        assert_eq!(
            (p.pull, p.pull_timeout),
            (PullPolicy::Never, Some(Duration::from_secs(90)))
        );
        let cfg = Config::parse("[images]\npull_timeout = \"none\"\n").unwrap();
        assert_eq!(cfg.images.pull_timeout(), None);
        let err = Config::parse("[profiles.x]\npull = \"sometimes\"\n").unwrap_err();
        assert!(err.contains("missing, always, never"), "{err}");
        let err = Config::parse("[images]\npull_timeout = \"soon\"\n").unwrap_err();
        assert!(err.contains("pull_timeout"), "{err}");
    }

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
        assert_eq!(
            err,
            "key `timeout` in [run]: `soon` is not a duration (try 500ms, 30s, 1m30s, 2h)"
        );
        let err = Config::parse("[run]\nmax_output = \"lots\"\n").unwrap_err();
        assert_eq!(
            err,
            "key `max_output` in [run]: `lots` is not a size (try 65536, 64KiB, 512m, 1.5g)"
        );
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

    fn err_at(text: &str) -> (Option<usize>, String) {
        let e = Config::parse_file(Path::new("cfg.toml"), text).unwrap_err();
        match e {
            ConfigError::Parse { line, message, .. } => (line, message),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_misspelt_key_is_reported_with_its_line_and_the_nearest_valid_key() {
        let (line, msg) =
            err_at("[profiles.ds]\nlang = \"python\"\n[profiles.ds.pool]\nmax_pool_sise = 8\n");
        assert_eq!(line, Some(4), "{msg}");
        assert!(
            msg.contains("`max_pool_sise`") && msg.contains("did you mean `max_size`"),
            "{msg}"
        );
        let (line, msg) = err_at("[profiles.ds]\nlibaries = [\"numpy\"]\n");
        assert_eq!(line, Some(2), "{msg}");
        assert!(msg.contains("did you mean `libraries`"), "{msg}");
    }

    #[test]
    fn a_misspelt_name_finds_the_nearest_one_only_when_it_is_close() {
        assert_eq!(
            nearest(
                "max_pool_sise",
                ["min_size", "max_size", "max_uses"].into_iter()
            ),
            Some("max_size")
        );
        assert_eq!(
            nearest("zzzzzzzz", ["min_size", "max_size"].into_iter()),
            None
        );
    }

    #[test]
    fn profiles_inherit_the_top_level_pool_and_images_and_override_them_per_key() {
        let cfg = Config::parse(
            "[languages.python]\nimage = \"local/py\"\n[pool]\nmax_size = 6\nidle_timeout = \"1m\"\n\
             [profiles.ds]\nlang = \"python\"\nlibraries = [\"numpy\", \"pandas==2.2.2\"]\ntimeout = \"5s\"\n\
             network = \"bridge\"\noutput_limit = \"1m\"\nenv = { A = \"1\" }\n\
             [profiles.ds.pool]\nmin_size = 2\n[profiles.ds.limits]\nmemory = \"512m\"\ncpus = 1.5\npids = 64\n",
        )
        .unwrap();
        let p = cfg.profile(Some("ds")).unwrap();
        assert_eq!(p.lang.unwrap().name, "python");
        assert_eq!(p.image_for(&cfg, p.lang.unwrap()), "local/py");
        assert_eq!((p.pool.min_size, p.pool.max_size), (2, 6));
        assert_eq!(p.pool.idle_timeout, Some(Duration::from_secs(60)));
        assert_eq!(p.libraries, ["numpy", "pandas==2.2.2"]);
        assert_eq!(p.timeout, Duration::from_secs(5));
        assert_eq!(p.output_limit, Some(1 << 20));
        assert_eq!(p.network.as_str(), "bridge");
        assert_eq!(
            p.limits,
            Limits {
                memory: Some(512 << 20),
                nano_cpus: Some(1_500_000_000),
                pids: Some(64)
            }
        );
        assert_eq!(p.env.get("A").map(String::as_str), Some("1"));
        // No `default` table: the built-in defaults, under that name.
        let d = cfg.profile(None).unwrap();
        assert!(!d.defined);
        assert_eq!((d.pool.min_size, d.pool.max_size), (0, 6));
        assert_eq!(d.network.as_str(), "none");
        assert!(d.libraries.is_empty());
    }

    #[test]
    fn a_default_profile_applies_when_none_is_named() {
        let cfg =
            Config::parse("[profiles.default]\nlang = \"javascript\"\ntimeout = \"3s\"\n").unwrap();
        let d = cfg.profile(None).unwrap();
        assert!(d.defined);
        assert_eq!(d.lang.unwrap().name, "javascript");
        assert!(
            cfg.profile(Some("nope"))
                .unwrap_err()
                .contains("unknown profile `nope`")
        );
    }

    #[test]
    fn a_changed_profile_changes_the_config_hash_but_a_flag_does_not() {
        let py = crate::lang::by_name("python").unwrap();
        let spec = |text: &str, min: Option<usize>| {
            let cfg = Config::parse(text).unwrap();
            let p = cfg.profile(Some("ds")).unwrap();
            let mut pool = p.pool.clone();
            if let Some(m) = min {
                pool.min_size = m;
            }
            p.pool_spec(&cfg, EngineKind::Docker, py, &pool)
        };
        let a = spec("[profiles.ds]\nlang = \"python\"\n", None);
        let b = spec(
            "[profiles.ds]\nlang = \"python\"\nlibraries = [\"six\"]\n",
            None,
        );
        let flagged = spec("[profiles.ds]\nlang = \"python\"\n", Some(3));
        assert_eq!(a.name(), "ds");
        assert!(a.same_identity(&b) && a != b);
        assert_ne!(a.profile.config_hash, b.profile.config_hash);
        assert_ne!(a, flagged, "flags make a pool of their own");
        assert_eq!(
            a.profile.config_hash, flagged.profile.config_hash,
            "but not a stale one"
        );
    }

    #[test]
    fn a_kubernetes_profile_sends_the_kubernetes_table_with_its_pools_and_others_do_not() {
        let py = crate::lang::by_name("python").unwrap();
        let text = "[kubernetes]\nstart_timeout = \"2m\"\n[kubernetes.pod]\nruntime_class_name = \"gvisor\"\n\
                    [profiles.k]\nlang = \"python\"\nbackend = \"kubernetes\"\n";
        let cfg = Config::parse(text).unwrap();
        let p = cfg.profile(Some("k")).unwrap();
        assert_eq!(p.backend, Some(EngineKind::Kubernetes));
        let spec = p.pool_spec(&cfg, EngineKind::Kubernetes, py, &p.pool);
        let k = spec.kubernetes.as_ref().expect("pods need their settings");
        assert_eq!(k.start_timeout_secs, 120);
        assert_eq!(k.pod.runtime_class_name.as_deref(), Some("gvisor"));
        assert_eq!(
            p.pool_spec(&cfg, EngineKind::Docker, py, &p.pool)
                .kubernetes,
            None
        );

        // A changed [kubernetes] replaces pods, not containers.
        let changed = Config::parse(&text.replace("gvisor", "kata")).unwrap();
        let q = changed.profile(Some("k")).unwrap();
        let hash = |cfg: &Config, p: &Profile, backend: &str| {
            let engine = EngineKind::parse(Some(backend)).unwrap().unwrap();
            p.pool_spec(cfg, engine, py, &p.pool).profile.config_hash
        };
        assert_ne!(
            hash(&cfg, &p, "kubernetes"),
            hash(&changed, &q, "kubernetes")
        );
        assert_eq!(hash(&cfg, &p, "docker"), hash(&changed, &q, "docker"));
    }

    #[test]
    fn profile_show_includes_the_kubernetes_table_only_on_kubernetes() {
        let cfg = Config::parse(
            "[kubernetes]\nnamespace = \"sbx\"\n[kubernetes.pod]\nnode_selector = { pool = \"sandbox\" }\n\
             [[kubernetes.pod.tolerations]]\nkey = \"sandbox\"\noperator = \"Exists\"\n",
        )
        .unwrap();
        let p = cfg.profile(None).unwrap();
        let kube = cfg.kubernetes.0.clone();
        let shown = p.to_toml_on(&cfg, Some(EngineKind::Kubernetes), &kube);
        assert!(
            shown.contains("[kubernetes]\nnamespace = \"sbx\"\n"),
            "{shown}"
        );
        assert!(shown.contains("start_timeout = \"5m\""), "{shown}");
        assert!(
            shown.contains("[kubernetes.pod.node_selector]\npool = \"sandbox\"\n"),
            "{shown}"
        );
        assert!(
            shown.contains(
                "[[kubernetes.pod.tolerations]]\nkey = \"sandbox\"\noperator = \"Exists\"\n"
            ),
            "{shown}"
        );
        // What it prints reads back as the same settings.
        let table = &shown[shown.find("\n[kubernetes]").unwrap()..];
        assert_eq!(Config::parse(table).unwrap().kubernetes.0, kube);
        assert!(
            !p.to_toml_on(&cfg, Some(EngineKind::Docker), &kube)
                .contains("kubernetes")
        );
        assert!(!p.to_toml_on(&cfg, None, &kube).contains("[kubernetes"));
    }

    #[test]
    fn bad_profile_values_are_errors_naming_key_and_line() {
        for (text, line, needle) in [
            (
                "[profiles.x]\nlang = \"cobol\"\n",
                2,
                "unknown language `cobol`",
            ),
            ("[profiles.x]\nnetwork = \"host\"\n", 2, "network `host`"),
            (
                "[profiles.x]\nbackend = \"k8s\"\n",
                2,
                "use docker, podman, kubernetes or bubblewrap",
            ),
            (
                "[profiles.x]\nlibraries = [\"--index-url=http://x\"]\n",
                2,
                "not a library name",
            ),
            (
                "[profiles.x]\nlibraries = [\"a b\"]\n",
                2,
                "not a library name",
            ),
            ("[profiles.x.limits]\nmemory = \"lots\"\n", 2, "not a size"),
            ("[profiles.x.limits]\ncpus = 0\n", 2, "cpus"),
            ("[profiles.x.limits]\npids = 2\n", 2, "pids"),
            ("[profiles.x]\ntimeout = \"soon\"\n", 2, "timeout"),
            (
                "[profiles.x.pool]\nmin_size = \"two\"\n",
                2,
                "key `min_size`",
            ),
            (
                "[pool]\nmax_size = 2\n[profiles.x.pool]\nmin_size = 3\n",
                4,
                "min_size (3) is larger than max_size (2)",
            ),
            ("[profiles.\"a b\"]\nlang = \"python\"\n", 1, "profile name"),
        ] {
            let (l, msg) = err_at(text);
            assert_eq!(l, Some(line), "{text}: {msg}");
            assert!(msg.contains(needle), "{text}: {msg}");
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
    }
}
