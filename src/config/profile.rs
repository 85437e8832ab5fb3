//! From the config file to what a command needs: the profile the command
//! line selects, the engine target it runs on, and the pool spec a run or
//! `pool up` sends to the agent. Every client command that talks to a pool
//! goes through [`Config::resolve`], so the order of precedence (flag >
//! environment > profile > config file > built-in default) is written once.

use super::{BuildConfig, Config, DEFAULT_PROFILE, KubeConfig, Network, nearest};
use crate::UsageError;
use crate::lang::Language;
use crate::model::pool::{Limits, PoolSettings};
use crate::model::run::WarmInterpreter;
use crate::model::target::{EngineKind, Target};
use crate::protocol::{PoolSpec, ProfileSpec};
use std::collections::BTreeMap;
use std::time::Duration;

/// The run timeout when neither `--timeout`, the profile nor `[run]` sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes kept per output stream when neither `--max-output`, the profile
/// nor `[run]` says.
pub const DEFAULT_MAX_OUTPUT: u64 = 10 * 1024 * 1024;

/// What the command line chose for every command: `--profile` and
/// `--backend` (each also read from its environment variable by clap).
#[derive(Debug, Clone, Default)]
pub struct Choice {
    pub profile: Option<String>,
    pub backend: Option<String>,
}

impl Choice {
    fn profile(&self) -> Option<&str> {
        self.profile.as_deref().filter(|p| !p.is_empty())
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
    pub backend: Option<EngineKind>,
    pub libraries: Vec<String>,
    pub pool: PoolSettings,
    pub limits: Limits,
    pub network: Network,
    pub env: BTreeMap<String, String>,
    /// The profile's own `timeout`, else `[run] timeout`, else 60s.
    pub timeout: Duration,
    /// The profile's own `output_limit` (part of its pools' identity).
    pub output_limit: Option<u64>,
    /// What a run keeps of each stream: `output_limit`, else `[run]
    /// max_output`, else 10 MiB.
    pub max_output: u64,
    pub build: BuildConfig,
    /// When the agent pulls the image (`pull`, default `missing`).
    pub pull: crate::model::pull::PullPolicy,
    /// `[images] pull_timeout`: the same for every profile.
    pub pull_timeout: Option<Duration>,
    /// `[kubernetes]`: the same for every profile.
    pub kubernetes: KubeConfig,
    /// Keep an interpreter warm for runs (`warm_interpreter`, default on).
    pub warm_interpreter: bool,
    /// Modules the warm interpreter imports before any run.
    pub preload: Vec<String>,
}

/// Everything a command that talks to a pool needs, resolved once.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub profile: Profile,
    pub target: Target,
    pub pool: PoolSpec,
}

impl Config {
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
        let output_limit = raw.output_limit.map(|o| o.0);
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
            timeout: raw
                .timeout
                .map(|t| t.0)
                .or(self.run.timeout.map(|t| t.0))
                .unwrap_or(DEFAULT_TIMEOUT),
            output_limit,
            max_output: output_limit
                .or(self.run.max_output.map(|m| m.0))
                .unwrap_or(DEFAULT_MAX_OUTPUT),
            build: raw.build.unwrap_or_default(),
            pull: raw.pull.map(|p| p.0).unwrap_or_default(),
            pull_timeout: self.images.pull_timeout(),
            kubernetes: self.kubernetes.clone(),
            warm_interpreter: raw.warm_interpreter.unwrap_or(true),
            preload: raw.preload.into_iter().map(|m| m.0).collect(),
        })
    }

    /// The profile this command uses (`--profile`, else `default`).
    pub fn selected(&self, choice: &Choice) -> Result<Profile, UsageError> {
        self.profile(choice.profile()).map_err(UsageError)
    }

    /// The profile a run in `lang` uses. A profile fixed to another
    /// language is an error when named with `--profile`; the implicit
    /// `default` profile then steps aside for the built-in defaults.
    pub fn profile_for(&self, choice: &Choice, lang: &Language) -> Result<Profile, UsageError> {
        let p = self.selected(choice)?;
        match p.lang {
            Some(l) if l.name != lang.name => {
                if choice.profile().is_some() {
                    Err(UsageError(format!(
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

    /// The engine named by `--backend` / `SBX_BACKEND` (`auto` names
    /// none), else by the profile; `None` when sbx detects it.
    pub fn engine_named(
        &self,
        profile: &Profile,
        choice: &Choice,
    ) -> Result<Option<EngineKind>, UsageError> {
        let flag = EngineKind::parse(choice.backend.as_deref())
            .map_err(|e| UsageError(format!("--backend / SBX_BACKEND: {e}")))?;
        Ok(flag.or(profile.backend))
    }

    /// Where this command's sandboxes live: the engine named on the
    /// command line, else by the profile, else detected; on Kubernetes the
    /// `[kubernetes]` context and namespace (`SBX_KUBE_CONTEXT` and
    /// `SBX_KUBE_NAMESPACE` winning when set).
    pub fn target(&self, profile: &Profile, choice: &Choice) -> Result<Target, UsageError> {
        let engine = match self.engine_named(profile, choice)? {
            Some(e) => e,
            None => crate::backend::detect(),
        };
        let mut target = Target::engine(engine);
        if engine == EngineKind::Kubernetes {
            let kube = profile.kubernetes.effective();
            target.context = kube.context;
            target.namespace = kube.namespace;
        }
        Ok(target)
    }

    /// The profile, target and pool of a run (or `pool up`) in `lang`;
    /// `settings` replaces the profile's pool settings when the command
    /// line changed them.
    pub fn resolve(
        &self,
        choice: &Choice,
        lang: &'static Language,
        settings: Option<&PoolSettings>,
    ) -> Result<Resolved, UsageError> {
        let profile = self.profile_for(choice, lang)?;
        let target = self.target(&profile, choice)?;
        let pool = profile.pool_spec(self, target.engine, lang, settings.unwrap_or(&profile.pool));
        Ok(Resolved {
            profile,
            target,
            pool,
        })
    }
}

impl Profile {
    /// The image for `lang`: the profile's own, else `[languages.X]`, else
    /// the language table's.
    pub fn image_for(&self, cfg: &Config, lang: &Language) -> String {
        self.image.clone().unwrap_or_else(|| cfg.image_for(lang))
    }

    /// Environment every run of this profile gets, before `-e` flags.
    pub fn run_env(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// What the pool's containers keep warm for runs in `lang`: its
    /// interpreter started with what every run's starts with (the
    /// language's and the profile's environment), and the preloads.
    pub fn warm_interpreter(&self, cfg: &Config, lang: &Language) -> Option<WarmInterpreter> {
        let interpreter = lang.warm_interpreter().filter(|_| self.warm_interpreter)?;
        let mut env = lang.env(cfg.cache_for(lang));
        env.extend(self.run_env());
        Some(WarmInterpreter {
            interpreter: interpreter.into(),
            preload: self.preload.clone(),
            env,
        })
    }

    /// The pool for a run in `lang` with pool settings `pool` (the profile's
    /// own, or with command-line flags applied).
    pub fn pool_spec(
        &self,
        cfg: &Config,
        engine: EngineKind,
        lang: &Language,
        pool: &PoolSettings,
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
        let build = |pool: &PoolSettings| PoolSpec {
            backend: engine.name().into(),
            lang: lang.name.into(),
            image: self.image_for(cfg, lang),
            settings: pool.clone(),
            isolation: cfg.isolation.0.clone(),
            profile: ProfileSpec {
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
                pull: self.pull,
                pull_timeout: self.pull_timeout,
                warm_interpreter: self.warm_interpreter(cfg, lang),
            },
            // Only pods need it; other engines' specs stay as they were, so
            // their config hash does not change with `[kubernetes]`.
            kubernetes: (engine == EngineKind::Kubernetes).then(|| self.kubernetes.effective()),
        };
        // The hash of what the config file says (command-line flags left
        // out): the agent replaces a pool of the same name whose hash
        // differs, i.e. one made from an older version of the file.
        let from_file = build(&self.pool);
        let mut spec = build(pool);
        spec.profile.config_hash = crate::model::hash::stable_hash(
            &serde_json::to_vec(&from_file).expect("specs serialize"),
        );
        spec
    }
}
