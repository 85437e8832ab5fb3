//! Container engines behind one trait.
//!
//! A backend creates a *sandbox*: a container whose command is the guest
//! runner, already started and attached, with the guest's first `Ready`
//! received. The pool engine only sees this trait, so its logic is tested
//! with an in-memory backend and the agent runs it against Docker.

pub mod docker;
mod guest_conn;

pub use guest_conn::{EVENT_BUFFER, GuestConn, GuestEvent};

use async_trait::async_trait;

/// Labels on everything sbx creates, so that any container can be traced to
/// its owner and reaped after a crash.
pub const LABEL_MANAGED: &str = "io.sbx.managed";
pub const LABEL_OWNER: &str = "io.sbx.owner";
pub const LABEL_AGENT: &str = "io.sbx.agent";
pub const LABEL_INSTANCE: &str = "io.sbx.instance";
pub const LABEL_POOL: &str = "io.sbx.pool";

#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub image: String,
    pub pool: String,
    pub labels: Vec<(String, String)>,
}

pub struct Sandbox {
    /// Engine id of the container.
    pub id: String,
    pub guest: GuestConn,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "image `{image}` is not available and could not be pulled ({reason}); build it (scripts/images.sh) or point [languages.<lang>] image at a local one in the sbx config"
    )]
    ImageMissing { image: String, reason: String },
    #[error(
        "cannot reach the container engine at {endpoint}: {reason}; start it (e.g. `dockerd`) or set DOCKER_HOST"
    )]
    Unreachable { endpoint: String, reason: String },
    #[error("the guest runner in container {id} did not start: {reason}")]
    GuestFailed { id: String, reason: String },
    #[error("container engine error while trying to {action}: {reason}")]
    Engine { action: String, reason: String },
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Short name shown in stats ("docker").
    fn name(&self) -> &'static str;

    /// Human-readable endpoint and API version, for status output.
    fn describe(&self) -> String;

    /// Create, start and attach a sandbox, returning once its guest is ready.
    async fn create(&self, spec: &SandboxSpec) -> Result<Sandbox, BackendError>;

    /// Remove a sandbox (idempotent: a container already gone is success).
    async fn destroy(&self, id: &str) -> Result<(), BackendError>;

    /// Remove every container carrying all of `labels`, except those whose
    /// instance label equals `keep_instance`. Returns how many were removed.
    async fn remove_labelled(
        &self,
        labels: &[(String, String)],
        keep_instance: Option<&str>,
    ) -> Result<usize, BackendError>;

    /// The distinct instance labels among containers carrying all of
    /// `labels`, so a starting agent can tell a crashed predecessor's
    /// leftovers from those of one that is still draining.
    async fn list_instances(
        &self,
        _labels: &[(String, String)],
    ) -> Result<Vec<String>, BackendError> {
        Ok(Vec::new())
    }

    /// Check that the engine answers; the agent calls this periodically to
    /// notice an engine that went away or came back.
    async fn ping(&self) -> Result<(), BackendError> {
        Ok(())
    }
}
