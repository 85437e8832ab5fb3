//! Container engines behind one trait.
//!
//! A backend creates a *sandbox*: a container whose command is the guest
//! runner, already started and attached, with the guest's first `Ready`
//! received. The pool engine only sees this trait, so its logic is tested
//! with an in-memory backend and the agent runs it against Docker.

pub mod bubblewrap;
pub mod docker;
mod guest_conn;
pub mod kubernetes;
#[cfg(test)]
pub mod memory;

pub use guest_conn::{EVENT_BUFFER, GuestConn, GuestEvent};

use crate::protocol::InputFile;
use async_trait::async_trait;

/// Labels on everything sbx creates, so that any container can be traced to
/// its owner and reaped after a crash.
pub const LABEL_MANAGED: &str = "io.sbx.managed";
pub const LABEL_OWNER: &str = "io.sbx.owner";
pub const LABEL_AGENT: &str = "io.sbx.agent";
pub const LABEL_INSTANCE: &str = "io.sbx.instance";
pub const LABEL_POOL: &str = "io.sbx.pool";

/// The labels of a sandbox of agent `agent_id` (that agent's runtime
/// directory, see `paths::RuntimePaths::agent_id`) owned by this uid; with
/// its pool and the agent instance when given.
pub fn sandbox_labels(
    agent_id: &str,
    pool: Option<&str>,
    instance: Option<&str>,
) -> Vec<(String, String)> {
    let mut labels = vec![
        (LABEL_MANAGED.into(), "true".into()),
        (LABEL_OWNER.into(), crate::paths::uid().to_string()),
        (LABEL_AGENT.into(), agent_id.to_string()),
    ];
    if let Some(i) = instance {
        labels.push((LABEL_INSTANCE.into(), i.to_string()));
    }
    if let Some(p) = pool {
        labels.push((LABEL_POOL.into(), p.to_string()));
    }
    labels
}

pub use crate::model::target::{EngineKind, Target};

/// Where each engine is reached (Kubernetes: through the kubeconfig).
impl EngineKind {
    /// The engine's API endpoint: `DOCKER_HOST` / `CONTAINER_HOST` (each
    /// engine's own convention) or its standard socket.
    pub fn endpoint(self) -> String {
        match self {
            EngineKind::Docker => std::env::var("DOCKER_HOST")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| {
                    // An ordinary user without the system's daemon may
                    // have a rootless one of their own.
                    let system = "/var/run/docker.sock";
                    let own = user_runtime_dir().join("docker.sock");
                    if crate::paths::uid() != 0
                        && !std::path::Path::new(system).exists()
                        && own.exists()
                    {
                        format!("unix://{}", own.display())
                    } else {
                        format!("unix://{system}")
                    }
                }),
            EngineKind::Podman => std::env::var("CONTAINER_HOST")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| {
                    if crate::paths::uid() == 0 {
                        "unix:///run/podman/podman.sock".into()
                    } else {
                        // Where rootless Podman puts its socket.
                        format!(
                            "unix://{}",
                            user_runtime_dir().join("podman/podman.sock").display()
                        )
                    }
                }),
            EngineKind::Kubernetes => "the kubeconfig's cluster".into(),
            EngineKind::Bubblewrap => bubblewrap::find_bwrap()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "bwrap (not installed)".into()),
        }
    }

    fn socket_exists(self) -> bool {
        self.endpoint()
            .strip_prefix("unix://")
            .is_some_and(|p| std::path::Path::new(p).exists())
    }
}

/// `$XDG_RUNTIME_DIR`, else `/run/user/UID`: where an ordinary user's
/// engine sockets are.
fn user_runtime_dir() -> std::path::PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| format!("/run/user/{}", crate::paths::uid()).into())
}

/// The engine sbx uses when nothing names one: Docker when `DOCKER_HOST`
/// is set or its socket exists, else Podman when its socket exists, else
/// bubblewrap when `bwrap` is installed, else Docker (whose connection
/// error then explains what to start).
pub fn detect() -> EngineKind {
    detect_from(
        std::env::var_os("DOCKER_HOST").is_some_and(|h| !h.is_empty()),
        EngineKind::Docker.socket_exists(),
        EngineKind::Podman.socket_exists(),
        bubblewrap::find_bwrap().is_some(),
    )
}

fn detect_from(
    docker_host: bool,
    docker_socket: bool,
    podman_socket: bool,
    bwrap: bool,
) -> EngineKind {
    if docker_host || docker_socket {
        EngineKind::Docker
    } else if podman_socket {
        EngineKind::Podman
    } else if bwrap {
        EngineKind::Bubblewrap
    } else {
        EngineKind::Docker
    }
}

#[cfg(test)]
mod tests {
    use super::{EngineKind::*, detect_from};

    #[test]
    fn auto_prefers_docker_then_podman_then_bubblewrap() {
        assert_eq!(detect_from(false, true, true, true), Docker);
        assert_eq!(detect_from(true, false, true, true), Docker);
        assert_eq!(detect_from(false, false, true, true), Podman);
        assert_eq!(detect_from(false, false, false, true), Bubblewrap);
        // None: Docker, whose connection error then explains what to start.
        assert_eq!(detect_from(false, false, false, false), Docker);
    }
}

/// Connect to the engine of `target`.
pub async fn connect(target: &Target) -> Result<std::sync::Arc<dyn Backend>, BackendError> {
    Ok(match target.engine {
        EngineKind::Kubernetes => {
            std::sync::Arc::new(kubernetes::KubeBackend::connect(target).await?)
        }
        EngineKind::Bubblewrap => std::sync::Arc::new(bubblewrap::BwrapBackend::connect()?),
        engine => std::sync::Arc::new(docker::DockerBackend::connect_to(engine).await?),
    })
}

#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub image: String,
    pub pool: String,
    /// The one pool (one spec) the sandbox is for: creations of a group are
    /// abandoned together ([`Backend::abandon_starting`]) even when an
    /// older pool of the same name is still draining.
    pub group: String,
    /// The pool retires a sandbox after this long (`None`: never); a
    /// backend whose sandboxes can outlive their agent may bound them by it.
    pub max_lifetime: Option<std::time::Duration>,
    pub labels: Vec<(String, String)>,
    /// Memory, CPU and process limits of the container.
    pub limits: crate::model::pool::Limits,
    /// `bridge` gives the container the engine's default network; anything
    /// else (`none`, the default) none at all.
    pub network: String,
    /// Limits and lock-down of the container (see isolation.rs).
    pub isolation: crate::model::isolation::Isolation,
    /// Where and how pods are placed; only the Kubernetes backend reads it.
    pub kubernetes: Option<kubernetes::KubeSettings>,
    /// The interpreter the guest keeps warm (`guest::warm`), if any.
    pub warm_interpreter: Option<crate::model::run::WarmInterpreter>,
}

pub struct Sandbox {
    /// Engine id of the container.
    pub id: String,
    pub guest: GuestConn,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A pull failed; `message` says why and what to do, in one line.
    #[error("{message}")]
    Pull { image: String, message: String },
    #[error("cannot reach the container engine at {endpoint}: {reason}; {hint}")]
    Unreachable {
        endpoint: String,
        reason: String,
        hint: std::borrow::Cow<'static, str>,
    },
    #[error("the guest runner in container {id} did not start: {reason}")]
    GuestFailed { id: String, reason: String },
    #[error("container engine error while trying to {action}: {reason}")]
    Engine { action: String, reason: String },
    #[error(
        "the container engine cannot run the OCI runtime `{name}` asked for by [isolation] runtime: {reason}; {fix}"
    )]
    Runtime {
        name: String,
        reason: String,
        fix: &'static str,
    },
    #[error(
        "the container engine does not apply the {what} limits sbx asks for ({cause}), so a program could take all of the host's memory and processes; use a rootful engine or cgroup v2 with delegation, or accept running without them with `allow_unlimited = true` in [isolation]"
    )]
    LimitsLost { what: String, cause: String },
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Short name shown in stats ("docker").
    fn name(&self) -> &'static str;

    /// A container ran without the limits asked for because
    /// `[isolation] allow_unlimited` accepted an engine that applies none.
    fn limits_unapplied(&self) -> bool {
        false
    }

    /// A sandbox ran with its limits as each program's rlimits, having
    /// no cgroup (bubblewrap as an ordinary user): memory per process, no
    /// CPU limit.
    fn limits_per_process(&self) -> bool {
        false
    }

    /// Human-readable endpoint and API version, for status output.
    fn describe(&self) -> String;

    /// Create, start and attach a sandbox, returning once its guest is ready.
    async fn create(&self, spec: &SandboxSpec) -> Result<Sandbox, BackendError>;

    /// Whether the engine reports the sandbox's container as running (a
    /// container that is gone is not running).
    async fn is_running(&self, id: &str) -> Result<bool, BackendError>;

    /// Remove a sandbox (idempotent: a container already gone is success).
    async fn destroy(&self, id: &str) -> Result<(), BackendError>;

    /// Whether the sandbox, whose guest stream just ended during a run
    /// begun at `since`, died because the kernel's OOM killer killed its
    /// guest: waits (briefly) for the engine to record the death. `None`:
    /// the backend cannot tell, or the sandbox did not die.
    async fn died_of_oom(&self, _id: &str, _since: std::time::SystemTime) -> Option<bool> {
        None
    }

    /// Remove what other builds of sbx left on the engine and nothing uses
    /// any more (Docker, Podman: their guest volumes); returns what went.
    async fn remove_outdated(&self) -> Vec<String> {
        Vec::new()
    }

    /// Every sandbox of this backend carrying all of `labels`.
    async fn list_labelled(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<Labelled>, BackendError>;

    /// Remove every sandbox carrying all of `labels`, except those whose
    /// instance label equals `keep_instance`. Returns how many were removed.
    async fn remove_labelled(
        &self,
        labels: &[(String, String)],
        keep_instance: Option<&str>,
    ) -> Result<usize, BackendError> {
        let mut removed = 0;
        for found in self.list_labelled(labels).await? {
            if keep_instance.is_some() && found.instance.as_deref() == keep_instance {
                continue;
            }
            self.destroy(&found.id).await?;
            removed += 1;
        }
        Ok(removed)
    }

    /// The distinct instance labels among sandboxes carrying all of
    /// `labels`, so a starting agent can tell a crashed predecessor's
    /// leftovers from those of one that is still draining.
    async fn list_instances(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<String>, BackendError> {
        let mut instances: Vec<String> = self
            .list_labelled(labels)
            .await?
            .into_iter()
            .filter_map(|found| found.instance)
            .collect();
        instances.sort();
        instances.dedup();
        Ok(instances)
    }

    /// The image a pool with `build.libraries` runs: built once with the
    /// libraries installed (see `crate::libraries`), reused when it exists.
    /// Without libraries, the base image itself.
    async fn prepare_image(
        &self,
        build: &crate::libraries::ImageBuild,
        _events: tokio::sync::mpsc::UnboundedSender<crate::libraries::BuildEvent>,
    ) -> Result<String, BackendError> {
        if build.libraries.is_empty() {
            return Ok(build.base.clone());
        }
        Err(BackendError::Engine {
            action: format!("install the libraries of pool `{}`", build.pool),
            reason: format!("the {} backend cannot build images", self.name()),
        })
    }

    /// Check that the engine answers; the agent calls this periodically to
    /// notice an engine that went away or came back.
    async fn ping(&self) -> Result<(), BackendError> {
        Ok(())
    }

    /// Why this backend cannot serve a pool asked for with `settings`
    /// (a cluster namespace other than the one it was started for).
    fn mismatch(&self, _settings: Option<&kubernetes::KubeSettings>) -> Option<String> {
        None
    }

    /// What the sandboxes being created for `group` (one pool, see
    /// [`SandboxSpec::group`]) are doing, one phase each (`Pending`,
    /// `ContainerCreating`), for `sbx pool up` to show where creation takes
    /// long enough to be worth showing.
    fn starting(&self, _group: &str) -> Vec<String> {
        Vec::new()
    }

    /// Make the creations in flight for `group` fail promptly, leaving
    /// nothing behind: a pool being drained does not wait for sandboxes
    /// that may take minutes to start (pods). Creations that are quick
    /// anyway (containers) are left to finish.
    async fn abandon_starting(&self, _group: &str) {}

    /// Pull `image` from its registry (whether or not the engine holds
    /// it), publishing its progress on `progress`; a pull that makes no progress
    /// for `stall` fails.
    async fn pull(
        &self,
        image: &str,
        _stall: Option<std::time::Duration>,
        _progress: &tokio::sync::watch::Sender<crate::model::pull::PullProgress>,
    ) -> Result<crate::model::pull::PullProgress, BackendError> {
        Err(BackendError::Pull {
            image: image.to_string(),
            message: format!(
                "the {} backend's nodes pull images themselves; there is nothing to pull here",
                self.name()
            ),
        })
    }

    /// Whether the engine holds `image` locally; `None` when that is not
    /// the engine's to say (a cluster's nodes pull images themselves).
    async fn image_present(&self, _image: &str) -> Result<Option<bool>, BackendError> {
        Ok(None)
    }

    /// Place `files` under the directory `dir` of a sandbox's container
    /// (created if missing), without going through its guest runner.
    async fn upload(
        &self,
        _id: &str,
        _dir: &str,
        _files: &[InputFile],
    ) -> Result<(), BackendError> {
        Err(unsupported(self.name(), "upload files"))
    }

    /// Run one command in a sandbox's running container with the engine's
    /// own per-command exec (create, start attached, inspect), and collect
    /// its output. Runs never take this path — it costs the engine's exec
    /// set-up on every call, which the guest runner exists to avoid; `sbx
    /// bench` measures it as the reference the pool is compared with.
    async fn exec(
        &self,
        _id: &str,
        _argv: &[String],
        _env: &[(String, String)],
        _workdir: &str,
    ) -> Result<ExecOutput, BackendError> {
        Err(unsupported(self.name(), "exec a command"))
    }
}

/// The guest runner as found on disk: never held in memory (engines get
/// it from a volume filled once, pods by a streamed copy).
#[derive(Debug, Clone)]
pub struct GuestBinary {
    pub path: std::path::PathBuf,
    pub size: u64,
    /// [`crate::model::hash::stable_hash`] of its bytes: names the
    /// engine's guest volume, so one build's guest is stored once and a
    /// new build gets a volume of its own.
    pub hash: String,
}

/// The name of the guest program, installed beside `sbx`.
pub const GUEST_PROGRAM: &str = "sbx-guest";

/// The guest runner, `sbx-guest` (built static, see .cargo/config.toml)
/// beside this executable — where `cargo build` and scripts/setup.sh put
/// it; `SBX_GUEST_BINARY` points elsewhere. Read once, in chunks, to hash
/// it and check that it is static.
pub fn guest_binary() -> Result<GuestBinary, String> {
    static BIN: std::sync::OnceLock<Result<GuestBinary, String>> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let path = match std::env::var_os("SBX_GUEST_BINARY") {
            Some(p) => std::path::PathBuf::from(p),
            None => std::env::current_exe()
                .map_err(|e| format!("cannot locate the sbx binary: {e}"))?
                .with_file_name(GUEST_PROGRAM),
        };
        let mut file = std::fs::File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "the guest runner {} is missing: install {GUEST_PROGRAM} beside sbx (scripts/setup.sh and `cargo build` do), or set SBX_GUEST_BINARY",
                    path.display()
                )
            } else {
                format!("cannot read {}: {e}", path.display())
            }
        })?;
        let (mut size, mut hash, mut head) = (0u64, crate::model::hash::FNV_OFFSET, Vec::new());
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = std::io::Read::read(&mut file, &mut buf)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if n == 0 {
                break;
            }
            if head.is_empty() {
                head = buf[..n].to_vec();
            }
            hash = crate::model::hash::fnv1a_more(hash, &buf[..n]);
            size += n as u64;
        }
        if !docker::is_static_elf(&head) {
            return Err(format!(
                "{} is not a statically linked executable and cannot run inside arbitrary images; build it from the repository (its .cargo/config.toml links statically) or set SBX_GUEST_BINARY to a static {GUEST_PROGRAM}",
                path.display()
            ));
        }
        Ok(GuestBinary {
            path,
            size,
            hash: format!("{hash:016x}"),
        })
    })
    .clone()
}

/// A sandbox found by its labels ([`Backend::list_labelled`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    pub id: String,
    /// Its [`LABEL_INSTANCE`] label, if it has one.
    pub instance: Option<String>,
}

/// What [`Backend::exec`] collected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

fn unsupported(backend: &str, action: &str) -> BackendError {
    BackendError::Engine {
        action: action.into(),
        reason: format!("the {backend} backend cannot do this"),
    }
}
