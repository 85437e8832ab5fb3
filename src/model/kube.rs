//! What `[kubernetes]` in the config file says, validated: where pods go
//! and what the cluster adds to each one.
//!
//! The client sends these with every pool it asks for (`PoolSpec`), so a
//! pool's pods follow the config the client read. The context and the
//! namespace also reach the agent in its [`Target`](super::target::Target)
//! because it needs them before any pool exists: to connect, and to reap
//! what a crashed predecessor left.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long a pod may take to run before its pool gives up (image pulls of
/// large language images included).
pub const DEFAULT_START_TIMEOUT_SECS: u64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KubeSettings {
    /// `None`: the context's own namespace, else `default`.
    pub namespace: Option<String>,
    /// `None`: the kubeconfig's current context.
    pub context: Option<String>,
    /// A pod that is not running after this long fails its pool with the
    /// cluster's last word on it.
    pub start_timeout_secs: u64,
    pub pod: PodTemplate,
}

impl Default for KubeSettings {
    fn default() -> Self {
        KubeSettings {
            namespace: None,
            context: None,
            start_timeout_secs: DEFAULT_START_TIMEOUT_SECS,
            pod: PodTemplate::default(),
        }
    }
}

/// What the cluster operator adds to every sandbox pod. Everything that
/// makes the pod a sandbox (security context, volumes, command) is sbx's
/// own and cannot be changed here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodTemplate {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// e.g. `gvisor` or `kata`: a RuntimeClass the cluster defines.
    pub runtime_class_name: Option<String>,
    /// Its token is never mounted; it matters for image pull secrets and
    /// admission policies.
    pub service_account: Option<String>,
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// Extra labels and annotations (sbx's own `io.sbx.*` labels win).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toleration {
    pub key: Option<String>,
    /// `Exists` or `Equal` (the cluster's default).
    pub operator: Option<String>,
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: Option<String>,
    pub toleration_seconds: Option<i64>,
}

/// Quantities as Kubernetes writes them (`"500m"`, `"256Mi"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.limits.is_empty()
    }
}

/// The value of a Kubernetes quantity (`500m`, `1.5Gi`, `2e3`), or why it is
/// not one. Signs are refused: no resource amount is negative.
pub fn quantity(s: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "`{s}` is not a Kubernetes quantity (e.g. \"500m\" or \"2\" CPUs, \"256Mi\" or \"1Gi\" of memory)"
        )
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let digits = num.chars().filter(|c| c.is_ascii_digit()).count();
    if digits == 0 || num.matches('.').count() > 1 {
        return Err(bad());
    }
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e => {
            let exp = e
                .strip_prefix(['e', 'E'])
                .and_then(|x| {
                    let digits = x.strip_prefix(['+', '-']).unwrap_or(x);
                    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
                        .then(|| x.parse::<i32>().ok())
                        .flatten()
                })
                .ok_or_else(bad)?;
            10f64.powi(exp)
        }
    };
    Ok(n * mult)
}
