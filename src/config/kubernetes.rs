//! `[kubernetes]`: where the Kubernetes backend puts its pods and what the
//! cluster operator adds to them, checked the way the API server would
//! check it, so that a typo fails here with its line instead of at pod
//! creation with a 422 deep in the agent's log.
//!
//! ```toml
//! [kubernetes]
//! namespace = "sbx"            # a DNS-1123 label; default: the context's own
//! context = "kind-sbx"         # default: the kubeconfig's current context
//! start_timeout = "5m"         # a pod not running after this fails its pool
//!
//! [kubernetes.pod]
//! runtime_class_name = "gvisor"
//! service_account = "sbx-sandbox"
//! node_selector = { "sbx.example.com/sandbox" = "true" }
//!
//! [[kubernetes.pod.tolerations]]
//! key = "sandbox"
//! operator = "Equal"           # Equal (default) | Exists
//! value = "true"
//! effect = "NoSchedule"        # NoSchedule | PreferNoSchedule | NoExecute
//!
//! [kubernetes.pod.resources]
//! requests = { cpu = "250m", memory = "256Mi" }
//! limits = { cpu = "1", memory = "1Gi" }
//! ```

use crate::model::kube::{
    DEFAULT_START_TIMEOUT_SECS, KubeSettings, PodTemplate, Resources, Toleration, quantity,
};
use crate::model::target::{CONTEXT_ENV, NAMESPACE_ENV};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `[kubernetes]` table, validated.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(try_from = "RawKube")]
pub struct KubeConfig(pub KubeSettings);

impl KubeConfig {
    /// The settings in effect: the file's, with `SBX_KUBE_CONTEXT` and
    /// `SBX_KUBE_NAMESPACE` winning when set (as `SBX_BACKEND` wins over a
    /// profile's backend), so that the pods a spec describes land where the
    /// agent looks for them.
    pub fn effective(&self) -> KubeSettings {
        self.with_env(
            std::env::var(CONTEXT_ENV).ok(),
            std::env::var(NAMESPACE_ENV).ok(),
        )
    }

    fn with_env(&self, context: Option<String>, namespace: Option<String>) -> KubeSettings {
        let mut s = self.0.clone();
        if let Some(c) = context.filter(|c| !c.is_empty()) {
            s.context = Some(c);
        }
        if let Some(n) = namespace.filter(|n| !n.is_empty()) {
            s.namespace = Some(n);
        }
        s
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKube {
    namespace: Option<Checked<Dns1123Label>>,
    context: Option<Checked<NonEmpty>>,
    start_timeout: Option<StartTimeout>,
    #[serde(default)]
    pod: RawPod,
}

impl TryFrom<RawKube> for KubeConfig {
    type Error = String;
    fn try_from(raw: RawKube) -> Result<KubeConfig, String> {
        let p = raw.pod;
        Ok(KubeConfig(KubeSettings {
            namespace: raw.namespace.map(|n| n.0),
            context: raw.context.map(|c| c.0),
            start_timeout_secs: raw
                .start_timeout
                .map_or(DEFAULT_START_TIMEOUT_SECS, |t| t.0),
            pod: PodTemplate {
                node_selector: strings(p.node_selector),
                tolerations: p.tolerations.into_iter().map(|t| t.0).collect(),
                runtime_class_name: p.runtime_class_name.map(|r| r.0),
                service_account: p.service_account.map(|s| s.0),
                resources: p.resources.0,
                labels: strings(p.labels),
                annotations: p.annotations.into_iter().map(|(k, v)| (k.0, v)).collect(),
            },
        }))
    }
}

/// Whole seconds, at least one: the API's `activeDeadlineSeconds` and
/// the agent's wait are counted in seconds.
#[derive(Debug)]
struct StartTimeout(u64);

impl<'de> Deserialize<'de> for StartTimeout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let d = super::HumanDuration::deserialize(d)?.0;
        if d.as_secs() == 0 {
            return Err(serde::de::Error::custom(
                "a pod takes seconds to start; use at least \"1s\" (the default is \"5m\")",
            ));
        }
        Ok(StartTimeout(d.as_secs()))
    }
}

fn strings<K, V>(m: BTreeMap<Checked<K>, Checked<V>>) -> BTreeMap<String, String> {
    m.into_iter().map(|(k, v)| (k.0, v.0)).collect()
}

/// `[kubernetes.pod]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPod {
    #[serde(default)]
    node_selector: BTreeMap<Checked<LabelKey>, Checked<LabelValue>>,
    #[serde(default)]
    tolerations: Vec<CheckedToleration>,
    runtime_class_name: Option<Checked<Dns1123Subdomain>>,
    service_account: Option<Checked<Dns1123Subdomain>>,
    #[serde(default)]
    resources: CheckedResources,
    #[serde(default)]
    labels: BTreeMap<Checked<UserLabelKey>, Checked<LabelValue>>,
    #[serde(default)]
    annotations: BTreeMap<Checked<AnnotationKey>, String>,
}

/// A string that passed the check `R`; its error is the one line the user
/// sees, prefixed by the key and table it was found at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Checked<R>(String, std::marker::PhantomData<R>);

trait Rule {
    fn check(s: &str) -> Result<(), String>;
}

impl<'de, R: Rule> Deserialize<'de> for Checked<R> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        R::check(&s).map_err(serde::de::Error::custom)?;
        Ok(Checked(s, std::marker::PhantomData))
    }
}

macro_rules! rule {
    ($name:ident, $check:expr) => {
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
        struct $name;
        impl Rule for $name {
            fn check(s: &str) -> Result<(), String> {
                $check(s)
            }
        }
    };
}

rule!(Dns1123Label, |s: &str| dns1123_label(s)
    .map_err(|e| format!("`{s}` is not a namespace name: {e}")));
rule!(Dns1123Subdomain, |s: &str| dns1123_subdomain(s)
    .map_err(|e| format!("`{s}` is not an object name: {e}")));
rule!(NonEmpty, |s: &str| if s.trim().is_empty() {
    Err("must not be empty (leave the key out for the default)".to_string())
} else {
    Ok(())
});
rule!(LabelKey, |s: &str| qualified_name(s)
    .map_err(|e| format!("`{s}` is not a label key: {e}")));
rule!(AnnotationKey, |s: &str| qualified_name(s)
    .map_err(|e| format!("`{s}` is not an annotation key: {e}")));
rule!(LabelValue, |s: &str| label_value(s)
    .map_err(|e| format!("`{s}` is not a label value: {e}")));
rule!(UserLabelKey, |s: &str| {
    qualified_name(s).map_err(|e| format!("`{s}` is not a label key: {e}"))?;
    if s.starts_with("io.sbx") {
        return Err(format!(
            "`{s}` is one of sbx's own labels (io.sbx.*), which it sets itself; choose another key"
        ));
    }
    Ok(())
});

const LABEL_CHARS: &str =
    "letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit";

/// RFC 1123 label, as Kubernetes names namespaces: at most 63 lowercase
/// letters, digits and `-`, starting and ending with a letter or digit.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    let ok_chars = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if s.is_empty()
        || s.len() > 63
        || !ok_chars
        || !ends(s.chars().next())
        || !ends(s.chars().last())
    {
        return Err(
            "use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 || s.split('.').any(|l| dns1123_label(l).is_err()) {
        return Err(
            "use at most 253 lowercase letters, digits, `-` and `.`, each dot-separated part starting and ending with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain,
/// the name at most 63 of [`LABEL_CHARS`].
pub fn qualified_name(s: &str) -> Result<(), String> {
    let name = match s.split_once('/') {
        Some((prefix, name)) => {
            dns1123_subdomain(prefix)
                .map_err(|e| format!("its prefix `{prefix}` is not a DNS subdomain ({e})"))?;
            name
        }
        None => s,
    };
    if name.is_empty() || label_value(name).is_err() {
        return Err(format!(
            "the name part must be 1 to 63 {LABEL_CHARS}, after an optional `prefix/`"
        ));
    }
    Ok(())
}

/// A label value: empty, or at most 63 of [`LABEL_CHARS`].
pub fn label_value(s: &str) -> Result<(), String> {
    let inner = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > 63 || !s.chars().all(inner) || !ends(s.chars().next()) || !ends(s.chars().last()) {
        return Err(format!("use at most 63 {LABEL_CHARS}"));
    }
    Ok(())
}

/// A toleration, its fields checked together as the API server does.
#[derive(Debug)]
struct CheckedToleration(Toleration);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToleration {
    key: Option<Checked<LabelKey>>,
    operator: Option<String>,
    value: Option<String>,
    effect: Option<String>,
    toleration_seconds: Option<i64>,
}

impl<'de> Deserialize<'de> for CheckedToleration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawToleration::deserialize(d)?;
        check_toleration(raw)
            .map(CheckedToleration)
            .map_err(serde::de::Error::custom)
    }
}

fn check_toleration(raw: RawToleration) -> Result<Toleration, String> {
    let key = raw.key.map(|k| k.0);
    match raw.operator.as_deref() {
        None | Some("Equal") | Some("Exists") => {}
        Some(other) => {
            return Err(format!(
                "operator `{other}` is not one Kubernetes knows; use \"Equal\" (the default) or \"Exists\""
            ));
        }
    }
    let exists = raw.operator.as_deref() == Some("Exists");
    if exists && raw.value.as_deref().is_some_and(|v| !v.is_empty()) {
        return Err(
            "operator \"Exists\" matches any value, so `value` must be left out (or use \"Equal\")"
                .into(),
        );
    }
    if key.is_none() && !exists {
        return Err(
            "a toleration without `key` must have operator = \"Exists\" (it then tolerates every taint)"
                .into(),
        );
    }
    if let Some(v) = &raw.value {
        label_value(v).map_err(|e| format!("value `{v}` is not a label value: {e}"))?;
    }
    match raw.effect.as_deref() {
        None | Some("NoSchedule") | Some("PreferNoSchedule") | Some("NoExecute") => {}
        Some(other) => {
            return Err(format!(
                "effect `{other}` is not one Kubernetes knows; use \"NoSchedule\", \"PreferNoSchedule\" or \"NoExecute\" (or leave it out for all three)"
            ));
        }
    }
    if let Some(secs) = raw.toleration_seconds {
        if raw.effect.as_deref() != Some("NoExecute") {
            return Err(
                "toleration_seconds applies only to effect = \"NoExecute\"; set that effect or remove it"
                    .into(),
            );
        }
        if secs < 0 {
            return Err(format!(
                "toleration_seconds = {secs} is negative; use 0 or more seconds"
            ));
        }
    }
    Ok(Toleration {
        key,
        operator: raw.operator,
        value: raw.value,
        effect: raw.effect,
        toleration_seconds: raw.toleration_seconds,
    })
}

/// `[kubernetes.pod.resources]`: each a resource name (`cpu`, `memory`,
/// `ephemeral-storage`, `nvidia.com/gpu`) and a quantity; a number is
/// taken as written (`cpu = 2`).
#[derive(Debug, Default)]
struct CheckedResources(Resources);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResources {
    #[serde(default)]
    requests: BTreeMap<Checked<ResourceName>, RawQuantity>,
    #[serde(default)]
    limits: BTreeMap<Checked<ResourceName>, RawQuantity>,
}

rule!(ResourceName, |s: &str| qualified_name(s).map_err(
    |e| format!("`{s}` is not a resource name such as cpu, memory or nvidia.com/gpu: {e}")
));

#[derive(Debug, Clone)]
struct RawQuantity(String, f64);

impl<'de> Deserialize<'de> for RawQuantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Q {
            I(i64),
            F(f64),
            S(String),
        }
        let s = match Q::deserialize(d)? {
            Q::I(i) => i.to_string(),
            Q::F(f) => f.to_string(),
            Q::S(s) => s,
        };
        let v = quantity(&s).map_err(serde::de::Error::custom)?;
        Ok(RawQuantity(s, v))
    }
}

impl<'de> Deserialize<'de> for CheckedResources {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawResources::deserialize(d)?;
        for (name, limit) in &raw.limits {
            if let Some(request) = raw.requests.get(name)
                && request.1 > limit.1
            {
                return Err(serde::de::Error::custom(format!(
                    "kubernetes.pod.resources: the {} request ({}) is above its limit ({}); lower the request or raise the limit",
                    name.0, request.0, limit.0
                )));
            }
        }
        let plain = |m: BTreeMap<Checked<ResourceName>, RawQuantity>| {
            m.into_iter().map(|(k, v)| (k.0, v.0)).collect()
        };
        Ok(CheckedResources(Resources {
            requests: plain(raw.requests),
            limits: plain(raw.limits),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigError};
    use std::path::Path;

    fn kube(text: &str) -> KubeSettings {
        Config::parse(text).unwrap().kubernetes.0
    }

    fn err_at(text: &str) -> (Option<usize>, String) {
        match Config::parse_file(Path::new("cfg.toml"), text).unwrap_err() {
            ConfigError::Parse { line, message, .. } => (line, message),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn without_a_kubernetes_table_pods_go_to_the_contexts_namespace_with_nothing_added() {
        let k = kube("");
        assert_eq!(k, KubeSettings::default());
        assert_eq!(k.start_timeout_secs, DEFAULT_START_TIMEOUT_SECS);
        assert_eq!((k.namespace, k.context), (None, None));
    }

    #[test]
    fn every_kubernetes_setting_is_read() {
        let k = kube(
            r#"
[kubernetes]
namespace = "sbx"
context = "kind-sbx"
start_timeout = "90s"

[kubernetes.pod]
runtime_class_name = "gvisor"
service_account = "sbx-sandbox"
node_selector = { "sbx.example.com/sandbox" = "true", "kubernetes.io/arch" = "amd64" }
labels = { team = "ml" }
annotations = { "example.com/note" = "any text at all: even spaces" }

[kubernetes.pod.resources]
requests = { cpu = "250m", memory = "256Mi" }
limits = { cpu = 2, memory = "1Gi", "nvidia.com/gpu" = "1" }

[[kubernetes.pod.tolerations]]
key = "sandbox"
value = "true"
effect = "NoSchedule"

[[kubernetes.pod.tolerations]]
operator = "Exists"
effect = "NoExecute"
toleration_seconds = 30
"#,
        );
        assert_eq!(k.namespace.as_deref(), Some("sbx"));
        assert_eq!(k.context.as_deref(), Some("kind-sbx"));
        assert_eq!(k.start_timeout_secs, 90);
        let p = &k.pod;
        assert_eq!(p.runtime_class_name.as_deref(), Some("gvisor"));
        assert_eq!(p.service_account.as_deref(), Some("sbx-sandbox"));
        assert_eq!(p.node_selector["kubernetes.io/arch"], "amd64");
        assert_eq!(p.labels["team"], "ml");
        assert_eq!(
            p.annotations["example.com/note"],
            "any text at all: even spaces"
        );
        assert_eq!(p.resources.requests["cpu"], "250m");
        assert_eq!(p.resources.limits["cpu"], "2", "a number is a quantity");
        assert_eq!(p.resources.limits["nvidia.com/gpu"], "1");
        assert_eq!(
            p.tolerations,
            [
                Toleration {
                    key: Some("sandbox".into()),
                    operator: None,
                    value: Some("true".into()),
                    effect: Some("NoSchedule".into()),
                    toleration_seconds: None,
                },
                Toleration {
                    key: None,
                    operator: Some("Exists".into()),
                    value: None,
                    effect: Some("NoExecute".into()),
                    toleration_seconds: Some(30),
                },
            ]
        );
    }

    #[test]
    fn a_bad_kubernetes_value_is_a_one_line_error_at_its_line() {
        for (text, line, needle) in [
            (
                "[kubernetes]\nnamespace = \"Sandboxes\"\n",
                2,
                "`Sandboxes` is not a namespace name",
            ),
            (
                "[kubernetes]\nnamespace = \"sbx-\"\n",
                2,
                "starting and ending with a letter or digit",
            ),
            (
                "[kubernetes]\ncontext = \"\"\n",
                2,
                "key `context` in [kubernetes]: must not be empty",
            ),
            (
                "[kubernetes]\nstart_timeout = \"soon\"\n",
                2,
                "key `start_timeout`",
            ),
            (
                "[kubernetes]\nstart_timeout = \"200ms\"\n",
                2,
                "key `start_timeout` in [kubernetes]: a pod takes seconds",
            ),
            (
                "[kubernetes.pod]\nruntime_class_name = \"gVisor\"\n",
                2,
                "`gVisor` is not an object name",
            ),
            (
                "[kubernetes.pod]\nservice_account = \"sbx_sa\"\n",
                2,
                "`sbx_sa` is not an object name",
            ),
            (
                "[kubernetes.pod.node_selector]\n\"-bad\" = \"x\"\n",
                2,
                "`-bad` is not a label key",
            ),
            (
                "[kubernetes.pod.node_selector]\n\"Example.com/x\" = \"y\"\n",
                2,
                "prefix `Example.com`",
            ),
            (
                "[kubernetes.pod.labels]\nteam = \"machine learning\"\n",
                2,
                "`machine learning` is not a label value",
            ),
            (
                "[kubernetes.pod.labels]\n\"io.sbx.pool\" = \"x\"\n",
                2,
                "sbx's own labels",
            ),
            (
                "[kubernetes.pod.annotations]\n\"a b\" = \"x\"\n",
                2,
                "`a b` is not an annotation key",
            ),
            (
                "[kubernetes.pod.resources]\nlimits = { memory = \"1GB\" }\n",
                2,
                "`1GB` is not a Kubernetes quantity",
            ),
            (
                "[kubernetes.pod.resources]\nrequests = { cpu = \"-1\" }\n",
                2,
                "`-1` is not a Kubernetes quantity",
            ),
            (
                "[kubernetes.pod.resources]\nrequests = { \"\" = \"1\" }\n",
                2,
                "is not a resource name",
            ),
            (
                "[kubernetes.pod.resources]\nrequests = { memory = \"2Gi\" }\nlimits = { memory = \"1Gi\" }\n",
                1,
                "the memory request (2Gi) is above its limit (1Gi)",
            ),
        ] {
            let (l, msg) = err_at(text);
            assert!(msg.contains(needle), "{text}: {msg}");
            assert_eq!(l, Some(line), "{text}: {msg}");
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
    }

    #[test]
    fn a_toleration_is_checked_as_the_api_server_would() {
        // Checks of one field point at its line; checks across fields at
        // the entry's `[[...]]` header (line 3).
        for (toleration, line, needle) in [
            (
                "key = \"a\"\noperator = \"Exists\"\nvalue = \"x\"",
                3,
                "`value` must be left out",
            ),
            ("key = \"a\"\noperator = \"In\"", 3, "operator `In`"),
            ("key = \"a\"\neffect = \"NoRun\"", 3, "effect `NoRun`"),
            (
                "value = \"x\"",
                3,
                "without `key` must have operator = \"Exists\"",
            ),
            (
                "key = \"a\"\neffect = \"NoSchedule\"\ntoleration_seconds = 5",
                3,
                "only to effect = \"NoExecute\"",
            ),
            (
                "key = \"a\"\neffect = \"NoExecute\"\ntoleration_seconds = -1",
                3,
                "negative",
            ),
            (
                "key = \"a\"\nvalue = \"x y\"",
                3,
                "`x y` is not a label value",
            ),
            ("key = \"a b\"", 4, "`a b` is not a label key"),
        ] {
            let text = format!("[kubernetes]\n\n[[kubernetes.pod.tolerations]]\n{toleration}\n");
            let (l, msg) = err_at(&text);
            assert!(msg.contains(needle), "{toleration}: {msg}");
            assert_eq!(l, Some(line), "{toleration}: {msg}");
            assert!(
                msg.contains("[kubernetes.pod.tolerations]"),
                "names the table: {msg}"
            );
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
    }

    #[test]
    fn a_misspelt_kubernetes_key_gets_the_nearest_valid_one() {
        for (text, line, hint) in [
            ("[kubernetes]\nnamspace = \"sbx\"\n", 2, "`namespace`"),
            (
                "[kubernetes.pod]\nruntime_class = \"kata\"\n",
                2,
                "`runtime_class_name`",
            ),
            (
                "[kubernetes.pod]\nnodeSelector = { a = \"b\" }\n",
                2,
                "`node_selector`",
            ),
            (
                "[kubernetes.pod.resources]\nlimit = { cpu = \"1\" }\n",
                2,
                "`limits`",
            ),
            (
                "[[kubernetes.pod.tolerations]]\nkey = \"a\"\nefect = \"NoSchedule\"\n",
                3,
                "`effect`",
            ),
        ] {
            let (l, msg) = err_at(text);
            assert_eq!(l, Some(line), "{text}: {msg}");
            assert!(msg.contains(hint), "{text}: {msg}");
        }
    }

    #[test]
    fn quantities_are_read_with_every_suffix_kubernetes_knows() {
        for (q, v) in [
            ("2", 2.0),
            ("0.5", 0.5),
            ("500m", 0.5),
            ("1k", 1e3),
            ("1Ki", 1024.0),
            ("1.5Gi", 1.5 * 1024f64.powi(3)),
            ("1e3", 1e3),
            ("1E-3", 1e-3),
            ("100M", 1e8),
        ] {
            assert_eq!(quantity(q), Ok(v), "{q}");
        }
        for q in [
            "", "m", "1GB", "1 Gi", "+1", "-1", "1.2.3", "1e", "1e+", "Mi",
        ] {
            assert!(quantity(q).is_err(), "{q}");
        }
    }

    #[test]
    fn names_follow_the_kubernetes_syntax() {
        assert!(dns1123_label("sbx-test").is_ok());
        assert!(dns1123_label(&"a".repeat(64)).is_err());
        assert!(dns1123_subdomain("kata.example.com").is_ok());
        assert!(dns1123_subdomain("kata..example").is_err());
        assert!(qualified_name("app.kubernetes.io/name").is_ok());
        assert!(qualified_name("Team_A").is_ok());
        assert!(qualified_name("a/b/c").is_err());
        assert!(label_value("").is_ok(), "an empty label value is allowed");
        assert!(label_value(&"v".repeat(64)).is_err());
    }

    #[test]
    fn the_environment_names_the_namespace_and_context_over_the_file() {
        let cfg = Config::parse("[kubernetes]\nnamespace = \"a\"\ncontext = \"c\"\n").unwrap();
        let k = &cfg.kubernetes;
        let s = k.with_env(None, Some("b".into()));
        assert_eq!(
            (s.namespace.as_deref(), s.context.as_deref()),
            (Some("b"), Some("c"))
        );
        let s = k.with_env(Some(String::new()), Some(String::new()));
        assert_eq!(s, k.0, "an empty variable is no choice");
    }
}
