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
//! ```
//!
//! Unknown keys are errors, so a typo never silently falls back to a default.

pub mod kubernetes;

use crate::backend::EngineKind;
use crate::lang::Language;
use crate::protocol::{Exhaustion, PoolSpec};
pub use kubernetes::KubeConfig;
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
    pub profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub isolation: crate::isolation::IsolationConfig,
    /// Where the Kubernetes backend puts its pods (config/kubernetes.rs).
    #[serde(default)]
    pub kubernetes: KubeConfig,
}

/// Defaults of the run options; the command line and profiles override them.
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
            profile: Default::default(),
            isolation: Default::default(),
            kubernetes: None,
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
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoolConfig {
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
        raw.apply(&PoolConfig::default())
    }
}

impl RawPoolConfig {
    /// `base` with the keys written here replacing its own, validated.
    pub fn apply(self, d: &PoolConfig) -> Result<PoolConfig, String> {
        let raw = self;
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

/// A configuration error with the byte range it is about, when known.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanError {
    pub span: Option<std::ops::Range<usize>>,
    pub message: String,
}

impl SpanError {
    fn at(span: std::ops::Range<usize>, message: impl Into<String>) -> SpanError {
        SpanError {
            span: Some(span),
            message: message.into(),
        }
    }

    /// 1-based line of the error in `text`.
    pub fn line(&self, text: &str) -> Option<usize> {
        let start = self.span.as_ref()?.start.min(text.len());
        Some(text[..start].matches('\n').count() + 1)
    }
}

impl std::fmt::Display for SpanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
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

/// The profile named with `--profile` (or `SBX_PROFILE`), set once by
/// `main` for every command of this process.
static SELECTED_PROFILE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

pub fn select_profile(name: Option<String>) {
    let _ = SELECTED_PROFILE.set(name.filter(|n| !n.is_empty()));
}

pub fn selected_profile() -> Option<&'static str> {
    SELECTED_PROFILE.get().and_then(|n| n.as_deref())
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
        if let Some(t) = &cfg.run.timeout {
            crate::cli::parse_duration(t).map_err(|e| SpanError {
                span: find_header(text, "run"),
                message: format!("run.timeout: {e}"),
            })?;
        }
        if let Some(m) = &cfg.run.max_output {
            crate::cli::parse_size(m).map_err(|e| SpanError {
                span: find_header(text, "run"),
                message: format!("run.max_output: {e}"),
            })?;
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

    /// The effective profile `name` (`None`: the `default` profile if the
    /// file has one, else the built-in defaults).
    pub fn profile(&self, name: Option<&str>) -> Result<Profile, String> {
        let (name, raw) = match name {
            // The built-in defaults under the default profile's name.
            Some("\0builtin") => (DEFAULT_PROFILE, None),
            Some(n) => match self.profiles.get(n) {
                Some(raw) => (n, Some(raw)),
                None => {
                    let known = self.profile_names();
                    let hint = match nearest(n, known.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`? "),
                        None => String::new(),
                    };
                    return Err(format!(
                        "unknown profile `{n}`; {hint}defined: {} (see `sbx profile list`)",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ));
                }
            },
            None => (DEFAULT_PROFILE, self.profiles.get(DEFAULT_PROFILE)),
        };
        let defined = raw.is_some();
        let raw = raw.cloned().unwrap_or_default();
        let pool = raw
            .pool_config(name, &self.pool, "")
            .map_err(|e| e.message)?;
        Ok(Profile {
            name: name.to_string(),
            defined,
            lang: raw.lang.map(|l| l.into_inner().0),
            image: raw.image,
            backend: raw.backend.map(|b| b.into_inner().0),
            libraries: raw
                .libraries
                .into_iter()
                .map(|l| l.into_inner().0)
                .collect(),
            pool,
            limits: raw.limits.unwrap_or_default().into(),
            network: raw.network.unwrap_or_default(),
            env: raw.env,
            timeout: raw.timeout.map(|t| t.0),
            output_limit: raw.output_limit.map(|o| o.0),
            build: raw.build.unwrap_or_default(),
            kubernetes: self.kubernetes.clone(),
        })
    }

    /// The profile this command uses (`--profile`, else `default`).
    pub fn selected(&self) -> Result<Profile, crate::UsageError> {
        self.profile(selected_profile()).map_err(crate::UsageError)
    }

    /// The profile a run in `lang` uses. A profile fixed to another
    /// language is an error when named with `--profile`; the implicit
    /// `default` profile then steps aside for the built-in defaults.
    pub fn profile_for(&self, lang: &Language) -> Result<Profile, crate::UsageError> {
        let p = self.selected()?;
        match p.lang {
            Some(l) if l.name != lang.name => {
                if selected_profile().is_some() {
                    Err(crate::UsageError(format!(
                        "profile `{}` is for {}, but this program is {}; pass --lang {} or choose another profile",
                        p.name, l.name, lang.name, l.name
                    )))
                } else {
                    let mut builtin = self.profile(Some("\0builtin")).unwrap_or(p);
                    builtin.defined = false;
                    Ok(builtin)
                }
            }
            _ => Ok(p),
        }
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

/// Byte range of the `[header]` line for `dotted` (e.g. `profiles.x.pool`).
fn find_header(text: &str, dotted: &str) -> Option<std::ops::Range<usize>> {
    // Compared without whitespace and quotes: `[profiles."a b"]` is found.
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
            .collect()
    };
    let want = squash(&format!("[{dotted}]"));
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if squash(line.split('#').next().unwrap_or("")) == want {
            return Some(offset..offset + line.len());
        }
        offset += line.len();
    }
    None
}

/// The table a byte offset sits in: the last `[header]` or `[[header]]`
/// at or before it.
fn table_at(text: &str, offset: usize) -> Option<String> {
    // The line the offset is on counts: an array-of-tables entry's errors
    // point at its own header.
    let end = text[offset.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| offset.min(text.len()) + i);
    text[..end].lines().rev().find_map(|l| {
        let t = l.split('#').next().unwrap_or("").trim();
        let name = match t.strip_prefix("[[") {
            // Not a line of a nested array such as `[[1, 2], [3]]`.
            Some(rest) => rest.strip_suffix("]]")?,
            None => t.strip_prefix('[')?.strip_suffix(']')?,
        };
        let header = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-. \"'".contains(c));
        (header && !name.trim().is_empty()).then(|| name.trim().to_string())
    })
}

/// toml's error as one line, with a suggestion for a misspelt key.
fn explain_toml_error(e: &toml::de::Error, text: &str) -> SpanError {
    let msg = e.message().trim().replace('\n', " ");
    let span = e.span();
    let table = span
        .as_ref()
        .and_then(|s| table_at(text, s.start))
        .map(|t| format!(" in [{t}]"))
        .unwrap_or_default();
    if let Some(rest) = msg.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once('`')
    {
        let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = match nearest(key, valid.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("valid keys: {}", valid.join(", ")),
        };
        return SpanError {
            span,
            message: format!("unknown key `{key}`{table}; {hint}"),
        };
    }
    // A bad value: name the key written on the error's line.
    let key = span
        .as_ref()
        .and_then(|s| {
            let start = text[..s.start.min(text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            text[start..].lines().next()
        })
        .and_then(|line| line.split_once('='))
        .map(|(k, _)| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .map(|k| format!("key `{k}`{table}: "));
    match key {
        Some(k) => SpanError {
            span,
            message: format!("{k}{msg}"),
        },
        None => SpanError {
            span,
            message: format!("{msg}{table}"),
        },
    }
}

/// `512m`, `2g`: how a user would write a size.
pub fn human_size(n: u64) -> String {
    for (unit, size) in [("g", 1u64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{unit}", n / size);
        }
    }
    n.to_string()
}

/// Levenshtein distance: the number of single-character edits between two
/// strings.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be what was
/// meant (at most half the word's length in edits).
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 2).max(2);
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
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
    pool: Option<toml::Spanned<RawPoolConfig>>,
    limits: Option<RawLimits>,
    network: Option<Network>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    timeout: Option<HumanDuration>,
    output_limit: Option<ByteSize>,
    build: Option<BuildConfig>,
}

impl RawProfile {
    /// `[pool]` with this profile's pool keys applied, validated. An error
    /// points at the offending key's line in `text` when it is there.
    fn pool_config(
        &self,
        name: &str,
        base: &PoolConfig,
        text: &str,
    ) -> Result<PoolConfig, SpanError> {
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
struct BackendName(String);

impl<'de> Deserialize<'de> for BackendName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "docker" | "podman" | "kubernetes" => Ok(BackendName(s)),
            _ => Err(serde::de::Error::custom(format!(
                "unknown backend `{s}`; use docker, podman or kubernetes"
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

pub fn validate_library(s: &str) -> Result<(), String> {
    let ok_first = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '@');
    let ok_rest = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@/=<>!~+*^,[]".contains(c));
    if s.is_empty() || s.len() > 200 || !ok_first || !ok_rest {
        return Err(format!(
            "`{s}` is not a library name (letters, digits and ._-@/ with an optional version such as ==1.2 or @1.2; no spaces, quotes, URLs or leading -)"
        ));
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Library {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        validate_library(&s).map_err(serde::de::Error::custom)?;
        Ok(Library(s))
    }
}

/// Container network: `none` (the default: no network at all) or `bridge`
/// (the engine's default network).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Network(pub String);

impl Network {
    pub fn as_str(&self) -> &str {
        if self.0.is_empty() { "none" } else { &self.0 }
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
            RawLimit::Text(s) => crate::cli::parse_duration(&s)
                .map(HumanDuration)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// A size in bytes: a number, or text with a k/m/g suffix (powers of 1024).
#[derive(Debug, Clone, Copy)]
struct ByteSize(u64);

pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok((n * mult as f64) as u64),
        _ => Err(format!("`{s}` is not a size (try 512m, 2g, 64k)")),
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawLimit::deserialize(d)? {
            RawLimit::Int(n) if n > 0 => Ok(ByteSize(n as u64)),
            RawLimit::Int(n) => Err(serde::de::Error::custom(format!(
                "{n} is not a positive size"
            ))),
            RawLimit::Text(s) => parse_size(&s)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
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
        if (0.01..=1024.0).contains(&v) {
            Ok(Cpus(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "cpus = {v} is out of range; use a number of CPUs such as 0.5 or 2"
            )))
        }
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

/// Resource limits of every container of a pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
pub struct Limits {
    /// Bytes of memory (swap included: no swap beyond it).
    pub memory: Option<u64>,
    /// CPU quota in billionths of a CPU (the engine's `NanoCpus`).
    pub nano_cpus: Option<u64>,
    pub pids: Option<i64>,
}

impl From<RawLimits> for Limits {
    fn from(r: RawLimits) -> Limits {
        Limits {
            memory: r.memory.map(|m| m.0),
            nano_cpus: r.cpus.map(|c| (c.0 * 1e9).round() as u64),
            pids: r.pids.map(|p| p.0),
        }
    }
}

/// `[profiles.NAME.build]`: what the library install needs to reach its
/// package index (a TLS-intercepting proxy's CA, proxy and index settings).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, Hash)]
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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// A profile with every default filled in.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    /// Written in the config file (not the built-in defaults).
    pub defined: bool,
    pub lang: Option<&'static Language>,
    pub image: Option<String>,
    pub backend: Option<String>,
    pub libraries: Vec<String>,
    pub pool: PoolConfig,
    pub limits: Limits,
    pub network: Network,
    pub env: BTreeMap<String, String>,
    pub timeout: Option<Duration>,
    pub output_limit: Option<u64>,
    pub build: BuildConfig,
    /// `[kubernetes]`: the same for every profile.
    pub kubernetes: KubeConfig,
}

/// FNV-1a, 64 bits, as 16 hex digits: stable across processes and
/// versions, which `DefaultHasher` does not promise.
pub fn stable_hash(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

impl Profile {
    /// The image for `lang`: the profile's own, else `[languages.X]`, else
    /// the language table's.
    pub fn image_for(&self, cfg: &Config, lang: &Language) -> String {
        self.image.clone().unwrap_or_else(|| cfg.image_for(lang))
    }

    /// Make this profile's `backend` the engine, unless `--backend` or
    /// `SBX_BACKEND` chose one. Through the environment, like `--backend`,
    /// so that an agent this client spawns inherits it; on Kubernetes the
    /// `[kubernetes]` context and namespace go the same way (the agent
    /// needs them before any pool exists, to connect and to reap).
    pub fn apply_backend(&self) {
        // `auto` asks for nothing in particular: the profile's choice stands,
        // as `backend_in_effect` says.
        let chosen = std::env::var(crate::backend::BACKEND_ENV)
            .is_ok_and(|v| !v.trim().is_empty() && v.trim() != "auto");
        if let (false, Some(b)) = (chosen, &self.backend) {
            // Sound: the client's runtime is single-threaded and has not
            // started any other thread yet.
            unsafe { std::env::set_var(crate::backend::BACKEND_ENV, b) };
        }
        if self.backend_in_effect().as_deref() == Some(EngineKind::Kubernetes.name()) {
            self.kubernetes.export_env();
        }
    }

    /// The backend named by `--backend` / `SBX_BACKEND`, else by the
    /// profile; `None` when sbx detects it.
    pub fn backend_in_effect(&self) -> Option<String> {
        std::env::var(crate::backend::BACKEND_ENV)
            .ok()
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty() && b != "auto")
            .or_else(|| self.backend.clone())
    }

    /// Environment every run of this profile gets, before `-e` flags.
    pub fn run_env(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The pool for a run in `lang` with pool settings `pool` (the profile's
    /// own, or with command-line flags applied).
    pub fn pool_spec(
        &self,
        cfg: &Config,
        backend: &str,
        lang: &Language,
        pool: &PoolConfig,
    ) -> PoolSpec {
        // The default profile keeps the language's name, so configs without
        // profiles behave as before.
        let name = if !self.defined || self.name == DEFAULT_PROFILE {
            String::new()
        } else if self.lang.is_some_and(|l| l.name == lang.name) {
            self.name.clone()
        } else {
            format!("{}-{}", self.name, lang.name)
        };
        let build = |pool: &PoolConfig| {
            let mut spec = pool.spec(backend, lang.name, self.image_for(cfg, lang));
            spec.isolation = cfg.isolation.0.clone();
            spec.profile = crate::protocol::ProfileSpec {
                name: name.clone(),
                config_hash: String::new(),
                libraries: self.libraries.clone(),
                limits: self.limits,
                network: self.network.as_str().to_string(),
                output_limit: self.output_limit,
                ca_bundle: self.build.ca_bundle.clone(),
                build_env: self
                    .build
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                build_network: self.build.network.as_ref().map(|n| n.0.clone()),
            };
            // Only pods need it; other engines' specs stay as they were, so
            // their config hash does not change with `[kubernetes]`.
            spec.kubernetes =
                (backend == EngineKind::Kubernetes.name()).then(|| self.kubernetes.effective());
            spec
        };
        // The hash of what the config file says (command-line flags left
        // out): the agent replaces a pool of the same name whose hash
        // differs, i.e. one made from an older version of the file.
        let from_file = build(&self.pool);
        let mut spec = build(pool);
        spec.profile.config_hash =
            stable_hash(&serde_json::to_vec(&from_file).expect("specs serialize"));
        spec
    }

    /// The effective settings as TOML, the way `sbx profile show` prints
    /// them: everything the profile leaves out shown with its default, and
    /// `[kubernetes]` when the backend in effect is Kubernetes.
    pub fn to_toml(&self, cfg: &Config) -> String {
        self.to_toml_on(
            cfg,
            self.backend_in_effect().as_deref(),
            &self.kubernetes.effective(),
        )
    }

    fn to_toml_on(
        &self,
        cfg: &Config,
        backend: Option<&str>,
        kube: &crate::backend::kubernetes::KubeSettings,
    ) -> String {
        let mut o = self.profile_toml(cfg);
        if backend == Some(EngineKind::Kubernetes.name()) {
            let _ = writeln!(
                o,
                "\n# [kubernetes] is the file's own, shared by every profile"
            );
            o.push_str(&self.kubernetes.to_toml(kube));
        }
        o
    }

    fn profile_toml(&self, cfg: &Config) -> String {
        use std::fmt::Write;
        fn q(s: &str) -> String {
            toml::Value::String(s.to_string()).to_string()
        }
        fn dur(d: Option<Duration>) -> String {
            q(&d.map(crate::pool::human).unwrap_or_else(|| "none".into()))
        }
        let mut o = String::new();
        let origin = if self.defined {
            "from the config file, with defaults filled in"
        } else {
            "built-in defaults (no such table in the config file)"
        };
        let _ = writeln!(o, "# profile `{}`: {origin}", self.name);
        let _ = writeln!(o, "[profiles.{}]", self.name);
        match self.lang {
            Some(l) => {
                let _ = writeln!(o, "lang = {}", q(l.name));
                let _ = writeln!(o, "image = {}", q(&self.image_for(cfg, l)));
            }
            None => {
                let _ = writeln!(o, "# lang: from the file extension or --lang");
                match &self.image {
                    Some(i) => {
                        let _ = writeln!(o, "image = {}", q(i));
                    }
                    None => {
                        for l in crate::lang::LANGUAGES {
                            let _ = writeln!(o, "# image for {}: {}", l.name, cfg.image_for(l));
                        }
                    }
                }
            }
        }
        match &self.backend {
            Some(b) => {
                let _ = writeln!(o, "backend = {}", q(b));
            }
            None => {
                let _ = writeln!(o, "# backend: --backend, SBX_BACKEND, else detected");
            }
        }
        let libs: Vec<String> = self.libraries.iter().map(|l| q(l)).collect();
        let _ = writeln!(o, "libraries = [{}]", libs.join(", "));
        let _ = writeln!(o, "network = {}", q(self.network.as_str()));
        let _ = writeln!(
            o,
            "timeout = {}",
            q(&crate::pool::human(self.timeout.unwrap_or(DEFAULT_TIMEOUT)))
        );
        match self.output_limit {
            Some(n) => {
                let _ = writeln!(o, "output_limit = {}", q(&human_size(n)));
            }
            None => {
                let _ = writeln!(o, "# output_limit: none");
            }
        }
        let _ = writeln!(o, "\n[profiles.{}.env]", self.name);
        for (k, v) in &self.env {
            let _ = writeln!(o, "{} = {}", toml_key(k), q(v));
        }
        let p = &self.pool;
        let _ = writeln!(o, "\n[profiles.{}.pool]", self.name);
        let _ = writeln!(o, "min_size = {}", p.min_size);
        let _ = writeln!(o, "max_size = {}", p.max_size);
        let _ = writeln!(o, "idle_timeout = {}", dur(p.idle_timeout));
        let _ = writeln!(o, "acquisition_timeout = {}", dur(p.acquisition_timeout));
        let _ = writeln!(
            o,
            "health_check_interval = {}",
            dur(p.health_check_interval)
        );
        let _ = writeln!(o, "max_lifetime = {}", dur(p.max_lifetime));
        let _ = writeln!(
            o,
            "max_uses = {}",
            p.max_uses
                .map(|n| n.to_string())
                .unwrap_or_else(|| q("none"))
        );
        let _ = writeln!(o, "exhaustion = {}", q(p.exhaustion.as_str()));
        let _ = writeln!(o, "prewarm = {}", p.prewarm);
        let _ = writeln!(o, "\n[profiles.{}.limits]", self.name);
        let l = &self.limits;
        match l.memory {
            Some(m) => {
                let _ = writeln!(o, "memory = {}", q(&human_size(m)));
            }
            None => {
                let _ = writeln!(o, "# memory: unlimited");
            }
        }
        match l.nano_cpus {
            Some(n) => {
                let _ = writeln!(o, "cpus = {}", n as f64 / 1e9);
            }
            None => {
                let _ = writeln!(o, "# cpus: unlimited");
            }
        }
        match l.pids {
            Some(n) => {
                let _ = writeln!(o, "pids = {n}");
            }
            None => {
                let _ = writeln!(o, "# pids: unlimited");
            }
        }
        let b = &self.build;
        if b.ca_bundle.is_some() || !b.env.is_empty() || b.network.is_some() {
            let _ = writeln!(o, "\n[profiles.{}.build]", self.name);
            if let Some(c) = &b.ca_bundle {
                let _ = writeln!(o, "ca_bundle = {}", q(&c.display().to_string()));
            }
            if let Some(n) = &b.network {
                let _ = writeln!(o, "network = {}", q(&n.0));
            }
            if !b.env.is_empty() {
                let _ = writeln!(o, "\n[profiles.{}.build.env]", self.name);
                for (k, v) in &b.env {
                    let _ = writeln!(o, "{} = {}", toml_key(k), q(v));
                }
            }
        }
        o
    }
}

use std::fmt::Write as _;

/// The run timeout when neither `--timeout` nor the profile sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
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
    fn the_edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("max_size", "max_size"), 0);
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
        assert_eq!(p.timeout, Some(Duration::from_secs(5)));
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
            p.pool_spec(&cfg, "docker", py, &pool)
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
        assert_eq!(p.backend.as_deref(), Some("kubernetes"));
        let spec = p.pool_spec(&cfg, "kubernetes", py, &p.pool);
        let k = spec.kubernetes.as_ref().expect("pods need their settings");
        assert_eq!(k.start_timeout_secs, 120);
        assert_eq!(k.pod.runtime_class_name.as_deref(), Some("gvisor"));
        assert_eq!(p.pool_spec(&cfg, "docker", py, &p.pool).kubernetes, None);

        // A changed [kubernetes] replaces pods, not containers.
        let changed = Config::parse(&text.replace("gvisor", "kata")).unwrap();
        let q = changed.profile(Some("k")).unwrap();
        let hash = |cfg: &Config, p: &Profile, backend: &str| {
            p.pool_spec(cfg, backend, py, &p.pool).profile.config_hash
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
        let shown = p.to_toml_on(&cfg, Some("kubernetes"), &kube);
        assert!(
            shown.contains("[kubernetes]\nnamespace = \"sbx\"\n"),
            "{shown}"
        );
        assert!(shown.contains("start_timeout = \"5m\""), "{shown}");
        assert!(
            shown.contains("node_selector = { pool = \"sandbox\" }"),
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
            !p.to_toml_on(&cfg, Some("docker"), &kube)
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
                "use docker, podman or kubernetes",
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
