//! `sbx profile show`: a profile's effective settings as a config file
//! that loads back to the same profile. Serialised with `toml` from the
//! settings themselves, in the units grammar the parser reads, so what is
//! printed can be saved and used as it is.

use super::{BuildConfig, Config, Profile};
use crate::model::kube::{KubeSettings, PodTemplate};
use crate::model::target::EngineKind;
use crate::model::units::{format_duration, format_size};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Serialize)]
struct Document<'a> {
    /// The file's `[languages]` entries a profile without a fixed
    /// language takes its images from.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    languages: BTreeMap<&'a str, &'a super::LanguageConfig>,
    profiles: BTreeMap<&'a str, ProfileDoc<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kubernetes: Option<KubeDoc<'a>>,
}

#[derive(Serialize)]
struct ProfileDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backend: Option<&'static str>,
    libraries: &'a [String],
    network: &'a str,
    timeout: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_limit: Option<String>,
    pull: &'static str,
    warm_interpreter: bool,
    preload: &'a [String],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    env: &'a BTreeMap<String, String>,
    pool: PoolDoc,
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<LimitsDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build: Option<&'a BuildConfig>,
}

/// A limit that can be switched off: a value, or `"none"`.
#[derive(Serialize)]
#[serde(untagged)]
enum Limit<T> {
    Value(T),
    Off(&'static str),
}

fn limit<T, U>(v: Option<T>, f: impl FnOnce(T) -> U) -> Limit<U> {
    match v {
        Some(v) => Limit::Value(f(v)),
        None => Limit::Off("none"),
    }
}

#[derive(Serialize)]
struct PoolDoc {
    min_size: usize,
    max_size: usize,
    idle_timeout: Limit<String>,
    acquisition_timeout: Limit<String>,
    health_check_interval: Limit<String>,
    max_lifetime: Limit<String>,
    max_uses: Limit<u64>,
    exhaustion: &'static str,
    prewarm: bool,
}

#[derive(Serialize)]
struct LimitsDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pids: Option<i64>,
}

#[derive(Serialize)]
struct KubeDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a str>,
    start_timeout: String,
    pod: &'a PodTemplate,
}

impl Profile {
    /// The effective settings as TOML, the way `sbx profile show` prints
    /// them: everything the profile leaves out shown with its default, and
    /// `[kubernetes]` when the engine in effect is Kubernetes.
    pub fn to_toml(&self, cfg: &Config, engine: Option<EngineKind>) -> String {
        self.to_toml_on(cfg, engine, &self.kubernetes.effective())
    }

    pub(super) fn to_toml_on(
        &self,
        cfg: &Config,
        engine: Option<EngineKind>,
        kube: &KubeSettings,
    ) -> String {
        let image = match self.lang {
            Some(l) => Some(self.image_for(cfg, l)),
            None => self.image.clone(),
        };
        let p = &self.pool;
        let dur = |d: Option<Duration>| limit(d, format_duration);
        let b = &self.build;
        let build_set = b.ca_bundle.is_some() || !b.env.is_empty() || b.network.is_some();
        let profile = ProfileDoc {
            lang: self.lang.map(|l| l.name),
            image,
            backend: self.backend.map(EngineKind::name),
            libraries: &self.libraries,
            network: self.network.as_str(),
            timeout: format_duration(self.timeout),
            output_limit: self.output_limit.map(format_size),
            pull: self.pull.as_str(),
            warm_interpreter: self.warm_interpreter,
            preload: &self.preload,
            env: &self.env,
            pool: PoolDoc {
                min_size: p.min_size,
                max_size: p.max_size,
                idle_timeout: dur(p.idle_timeout),
                acquisition_timeout: dur(p.acquisition_timeout),
                health_check_interval: dur(p.health_check_interval),
                max_lifetime: dur(p.max_lifetime),
                max_uses: limit(p.max_uses, |n| n),
                exhaustion: p.exhaustion.as_str(),
                prewarm: p.prewarm,
            },
            limits: (self.limits != Default::default()).then(|| LimitsDoc {
                memory: self.limits.memory.map(format_size),
                cpus: self.limits.nano_cpus.map(|n| n as f64 / 1e9),
                pids: self.limits.pids,
            }),
            build: build_set.then_some(b),
        };
        let on_kubernetes = engine == Some(EngineKind::Kubernetes);
        let doc = Document {
            languages: if self.lang.is_none() && self.image.is_none() {
                cfg.languages.iter().map(|(k, v)| (k.as_str(), v)).collect()
            } else {
                BTreeMap::new()
            },
            profiles: [(self.name.as_str(), profile)].into(),
            kubernetes: on_kubernetes.then(|| KubeDoc {
                namespace: kube.namespace.as_deref(),
                context: kube.context.as_deref(),
                start_timeout: format_duration(Duration::from_secs(kube.start_timeout_secs)),
                pod: &kube.pod,
            }),
        };
        let mut out = self.header(cfg, on_kubernetes);
        out.push_str(&toml::to_string(&doc).expect("profiles serialize as TOML"));
        out
    }

    /// What the TOML cannot say: where the values come from, and what
    /// applies where the profile leaves a key out.
    fn header(&self, cfg: &Config, on_kubernetes: bool) -> String {
        let mut notes = vec![if self.defined {
            format!(
                "profile `{}`: from the config file, with defaults filled in",
                self.name
            )
        } else {
            format!(
                "profile `{}`: built-in defaults (no such table in the config file)",
                self.name
            )
        }];
        if self.lang.is_none() {
            notes.push("lang: from the file extension or --lang".into());
            if self.image.is_none() {
                for l in crate::lang::LANGUAGES {
                    notes.push(format!("image for {}: {}", l.name, cfg.image_for(l)));
                }
            }
        }
        if self.backend.is_none() {
            notes.push("backend: --backend, SBX_BACKEND, else detected".into());
        }
        if self.lang.is_none_or(|l| l.warm_interpreter().is_some()) {
            notes.push(if self.warm_interpreter {
                "warm_interpreter: python runs fork a started interpreter (with `preload` imported); not in the exec fallback, which spawns every run".into()
            } else {
                "warm_interpreter: off; every python run starts a fresh interpreter".into()
            });
        }
        if self.output_limit.is_none() {
            notes.push(format!(
                "output_limit: not set; runs keep {} of each stream ([run] max_output, else 10MiB)",
                format_size(self.max_output)
            ));
        }
        let l = &self.limits;
        for (key, unset) in [
            ("memory", l.memory.is_none()),
            ("cpus", l.nano_cpus.is_none()),
            ("pids", l.pids.is_none()),
        ] {
            if unset {
                notes.push(format!("limits.{key}: the [isolation] setting"));
            }
        }
        if on_kubernetes {
            notes.push("[kubernetes] is the file's own, shared by every profile".into());
        }
        notes.iter().map(|n| format!("# {n}\n")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use crate::model::target::EngineKind;

    /// Every key a profile can set, none at its default, in the spellings
    /// people use (`90s`, `1.5m`, `1GiB`).
    const EVERY_KEY: &str = r#"
[languages.python]
image = "local/py"
cache = false

[profiles.full]
lang = "python"
image = "local/py:2"
backend = "kubernetes"
libraries = ["numpy", "pandas==2.2.2"]
preload = ["numpy", "xml.etree.ElementTree"]
warm_interpreter = false
network = "bridge"
timeout = "1m30s"
output_limit = "1.5m"
env = { A = "1", "dotted.key" = "two words" }

[profiles.full.pool]
min_size = 2
max_size = 7
idle_timeout = "90s"
acquisition_timeout = "250ms"
health_check_interval = "none"
max_lifetime = "2h"
max_uses = 40
exhaustion = "temporary"
prewarm = false

[profiles.full.limits]
memory = "1GiB"
cpus = 1.5
pids = 64

[profiles.full.build]
ca_bundle = "/etc/ssl/certs/ca-certificates.crt"
network = "host"
env = { PIP_DEFAULT_TIMEOUT = "60" }

[profiles.any]

[kubernetes]
namespace = "sbx-jobs"
context = "kind-sbx"
start_timeout = "2m30s"

[kubernetes.pod]
runtime_class_name = "gvisor"
service_account = "sandbox"
node_selector = { pool = "sandbox" }
labels = { team = "ml" }
annotations = { "example.com/why" = "sandbox pods" }

[kubernetes.pod.resources]
requests = { cpu = "250m", memory = "256Mi" }
limits = { cpu = "1" }

[[kubernetes.pod.tolerations]]
key = "sandbox"
operator = "Equal"
value = "yes"
effect = "NoExecute"
toleration_seconds = 30
"#;

    /// The profile `name` of `text`, and what `profile show` prints of it
    /// on Kubernetes (so `[kubernetes]` is part of it) read back.
    fn shown_and_reloaded(text: &str, name: &str) -> (String, String, String) {
        let cfg = Config::parse(text).unwrap();
        let p = cfg.profile(Some(name).filter(|n| *n != "default")).unwrap();
        let shown = p.to_toml(&cfg, Some(EngineKind::Kubernetes));
        let again = Config::parse(&shown).unwrap_or_else(|e| panic!("{e}\n{shown}"));
        let q = again.profile(Some(name)).unwrap();
        (format!("{p:?}"), format!("{q:?}"), shown)
    }

    #[test]
    fn what_profile_show_prints_loads_back_as_the_same_profile() {
        let (before, after, shown) = shown_and_reloaded(EVERY_KEY, "full");
        assert_eq!(before, after, "{shown}");
        assert!(shown.contains("idle_timeout = \"1m30s\"\n"), "{shown}");
        assert!(shown.contains("output_limit = \"1536KiB\"\n"), "{shown}");
        assert!(shown.contains("memory = \"1GiB\"\n"), "{shown}");
        assert!(shown.contains("\n[kubernetes]\n"), "{shown}");
        assert!(shown.contains("warm_interpreter = false\n"), "{shown}");
        assert!(
            shown.contains("preload = [\"numpy\", \"xml.etree.ElementTree\"]\n"),
            "{shown}"
        );
    }

    #[test]
    fn a_profile_of_defaults_loads_back_with_the_same_effective_settings() {
        let (before, after, shown) = shown_and_reloaded(EVERY_KEY, "any");
        assert_eq!(before, after, "{shown}");
        let (before, after, shown) = shown_and_reloaded("", "default");
        // Only whether the table was written in a file differs.
        assert_eq!(
            before.replace("defined: false", "defined: true"),
            after,
            "{shown}"
        );
    }

    #[test]
    fn the_kubernetes_table_is_shown_only_on_kubernetes() {
        let cfg = Config::parse(EVERY_KEY).unwrap();
        let p = cfg.profile(Some("any")).unwrap();
        assert!(
            p.to_toml(&cfg, Some(EngineKind::Kubernetes))
                .contains("\n[kubernetes]\n")
        );
        assert!(
            !p.to_toml(&cfg, Some(EngineKind::Podman))
                .contains("[kubernetes")
        );
        assert!(!p.to_toml(&cfg, None).contains("[kubernetes"));
    }
}
