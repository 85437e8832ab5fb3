//! Pools of pods in a Kubernetes cluster, for when one machine is not enough.

mod settings;

#[allow(unused_imports)] // used by config.rs (in progress)
pub use settings::{
    CONTEXT_ENV, DEFAULT_START_TIMEOUT_SECS, KubeSettings, NAMESPACE_ENV, PodTemplate, Resources,
    Toleration,
};

use super::{Backend, BackendError, Sandbox, SandboxSpec};
use async_trait::async_trait;

/// "context X, namespace Y" for messages, from the environment the agent
/// connects with.
pub fn describe_target() -> String {
    let context = std::env::var(CONTEXT_ENV)
        .ok()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "(current)".into());
    let namespace = std::env::var(NAMESPACE_ENV)
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "(context default)".into());
    format!("kubernetes context {context}, namespace {namespace}")
}

pub struct KubeBackend {}

impl KubeBackend {
    pub async fn connect() -> Result<KubeBackend, BackendError> {
        Err(BackendError::Unreachable {
            endpoint: describe_target(),
            reason: "not implemented yet".into(),
            hint: "use --backend docker",
        })
    }
}

#[async_trait]
impl Backend for KubeBackend {
    fn name(&self) -> &'static str {
        "kubernetes"
    }
    fn describe(&self) -> String {
        describe_target()
    }
    async fn create(&self, _spec: &SandboxSpec) -> Result<Sandbox, BackendError> {
        unimplemented!()
    }
    async fn is_running(&self, _id: &str) -> Result<bool, BackendError> {
        unimplemented!()
    }
    async fn destroy(&self, _id: &str) -> Result<(), BackendError> {
        unimplemented!()
    }
    async fn remove_labelled(
        &self,
        _labels: &[(String, String)],
        _keep_instance: Option<&str>,
    ) -> Result<usize, BackendError> {
        unimplemented!()
    }
}
