//! What `[kubernetes]` in the config file says, validated: where pods go
//! and what the cluster adds to each one.
//!
//! The client sends these with every pool it asks for (`PoolSpec`), so a
//! pool's pods follow the config the client read. The context and the
//! namespace also reach the agent through the environment
//! ([`CONTEXT_ENV`], [`NAMESPACE_ENV`]) because it needs them before any
//! pool exists: to connect, and to reap what a crashed predecessor left.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// kubeconfig context the agent connects with (default: the current one).
pub const CONTEXT_ENV: &str = "SBX_KUBE_CONTEXT";
/// The namespace sbx creates pods in and the only one it touches.
pub const NAMESPACE_ENV: &str = "SBX_KUBE_NAMESPACE";

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
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    /// e.g. `gvisor` or `kata`: a RuntimeClass the cluster defines.
    pub runtime_class_name: Option<String>,
    /// Its token is never mounted; it matters for image pull secrets and
    /// admission policies.
    pub service_account: Option<String>,
    #[serde(default)]
    pub resources: Resources,
    /// Extra labels and annotations (sbx's own `io.sbx.*` labels win).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
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
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
}
