//! Docker Engine API backend (bollard).
//!
//! A sandbox is made in three calls: create (the guest as command, read
//! from the engine's guest volume mounted read-only, stdin open,
//! auto-remove), attach stdin+stdout+stderr, start. Attaching before
//! starting means no guest output is lost. The guest volume is filled once
//! per engine and guest build (guest_volume.rs): nothing is copied per
//! container, and nothing in the image is needed.
//! If the agent dies, the attach stream closes, the guest sees EOF and exits,
//! and auto-remove deletes the container: crash-only clean-up. The program
//! user of each container is its own (identity.rs): a uid from
//! `[isolation] uid_range`, with `/etc/passwd` and `/etc/group` bind-mounted
//! read-only from files the agent writes before the start.
//!
//! The API version is negotiated: Docker 20.10 speaks 1.41, bollard
//! defaults to a newer one.
//!
//! Podman is driven through the same code via its Docker-compatible API
//! (`podman system service`). The differences, handled explicitly:
//! * its compat API also answers with 1.41 — negotiated like Docker's;
//! * its default `nofile`/`nproc` limits can exceed a host's hard limits
//!   (container start then fails with "error setting rlimit"): every
//!   container gets explicit limits no higher than the agent's own;
//! * short image names are resolved against `localhost/` for local images
//!   and registries for the rest, so an image pulled by name may come back
//!   as `docker.io/library/...`; sbx only refers to images by the name the
//!   user gave, which both engines accept;
//! * network mode `none`, auto-remove, the named guest volume (archive
//!   upload into it, read-only `nocopy` mounts), tmpfs mounts, dropped
//!   capabilities, limits and attach-before-start behave as in Docker
//!   (covered by running the integration suites, the hostile-program one
//!   included, against both engines).

pub(crate) mod auth;
mod exec_fallback;
mod guest_volume;
pub(crate) mod identity;
mod pull;

pub use guest_volume::LABEL_GUEST;

use super::guest_conn::decode_events;
use super::{
    Backend, BackendError, EVENT_BUFFER, EngineKind, ExecOutput, GuestConn, GuestEvent, Sandbox,
    SandboxSpec,
};
use crate::guest::wire::{
    GUEST_BIN, GUEST_MARKER_ENV, GUEST_PRIVATE_DIR, GUEST_RLIMITS_ENV, GUEST_USER_ENV,
    GUEST_WARM_ENV, SBX_ROOT, SCRATCH_MOUNTS,
};
use crate::libraries::{BuildEvent, ImageBuild};
use crate::model::isolation::{Isolation, UidRange};
use crate::protocol::{FrameDecoder, InputFile};
use async_trait::async_trait;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::StartExecResults;
use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig, ResourcesUlimits};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, BuildImageOptionsBuilder, CreateContainerOptionsBuilder,
    EventsOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub struct DockerBackend {
    kind: EngineKind,
    docker: Docker,
    endpoint: String,
    api_version: String,
    /// Images the guest runner could not start in; they use the exec
    /// fallback from then on instead of failing the guest every time.
    fallback_images: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The guest volume once it is known to be filled (see
    /// guest_volume.rs); replaced by an empty cell to look again.
    guest_volume: std::sync::Mutex<std::sync::Arc<tokio::sync::OnceCell<String>>>,
    /// The engine refused the tmpfs option `nr_inodes` (Podman 4 does:
    /// "unknown mount option"); scratch mounts are then created without
    /// it, bounded in inodes only by the memory limit they count against.
    no_nr_inodes: std::sync::atomic::AtomicBool,
    /// Each container's program user (`[isolation] uid_range`).
    identities: identity::Identities,
    /// What the engine is (asked once, when a container is first made).
    facts: tokio::sync::OnceCell<EngineFacts>,
    /// See [`Backend::limits_unapplied`].
    limits_unapplied: std::sync::atomic::AtomicBool,
}

/// Fewest subordinate uids a rootless engine must map for a uid per
/// container (`identity::rootless_range`).
pub const MIN_ROOTLESS_UIDS: u64 = identity::MIN_ROOTLESS_UIDS;

/// What decides which uids and limits containers can have.
#[derive(Debug, Clone, Copy, Default)]
struct EngineFacts {
    /// The engine runs as an ordinary user: containers live in that
    /// user's namespace, whose uids are the user's own (0) and its
    /// subordinate range from /etc/subuid (1 up).
    rootless: bool,
    /// The host's cgroups are v1, where a rootless engine cannot set
    /// limits at all.
    cgroup_v1: bool,
}

/// What to do about a runtime the engine does not run.
pub const RUNTIME_FIX: &str = "register it with the engine (Docker: \"runtimes\" in /etc/docker/daemon.json, then restart dockerd) or remove the setting; `sbx doctor` checks it";
/// Podman's Docker-compatible API ignores the runtime asked for.
pub const PODMAN_RUNTIME_FIX: &str = "Podman's Docker-compatible API ignores a container's runtime; set it for every container in containers.conf ([engine] runtime) and remove the setting";

/// The engine refused a container's OCI runtime (Docker: "Unknown runtime
/// specified NAME").
fn is_runtime_refused(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError { message, .. }
            if message.to_ascii_lowercase().contains("runtime")
    )
}

/// The engine's own message of an error response, else the error.
fn engine_message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The engine does not know the tmpfs option `nr_inodes`.
fn is_nr_inodes_refused(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError { message, .. }
            if message.contains("unknown mount option \"nr_inodes=")
    )
}

/// `opts` (a tmpfs option list) without its `nr_inodes=` entry.
fn without_nr_inodes(opts: &str) -> String {
    opts.split(',')
        .filter(|o| !o.starts_with("nr_inodes="))
        .collect::<Vec<_>>()
        .join(",")
}

fn engine_err(action: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::Engine {
        action: action.into(),
        reason: e.to_string(),
    }
}

/// The engine is already removing the container (see `destroy`).
fn is_removal_in_progress(e: &bollard::errors::Error) -> bool {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        } => true,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message,
        } => message.contains("container state improper"),
        _ => false,
    }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

impl DockerBackend {
    /// Connect to the engine `kind`, negotiate the API version and
    /// prepare the guest upload.
    pub async fn connect_to(kind: EngineKind) -> Result<DockerBackend, BackendError> {
        let endpoint = kind.endpoint();
        let hint = unreachable_hint(kind);
        if matches!(kind, EngineKind::Kubernetes | EngineKind::Bubblewrap) {
            return Err(BackendError::Unreachable {
                endpoint,
                reason: "this command drives a local container engine".into(),
                hint: "use --backend docker or --backend podman for it".into(),
            });
        }
        let unreachable = |reason: String| BackendError::Unreachable {
            endpoint: endpoint.clone(),
            reason,
            hint: hint.clone().into(),
        };
        let docker = match endpoint.strip_prefix("unix://") {
            Some(path) => Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION),
            None if kind == EngineKind::Docker => Docker::connect_with_local_defaults(),
            None => Docker::connect_with_http(&endpoint, 120, bollard::API_DEFAULT_VERSION),
        }
        .map_err(|e| unreachable(e.to_string()))?;
        let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
            .await
            .map_err(|_| unreachable("no answer within 10s".into()))?
            .map_err(|e| unreachable(e.to_string()))?;
        let api_version = docker.client_version().to_string();
        // Files the engine mounts must be on its machine: only a local
        // socket says they are.
        let identity_dir = endpoint
            .starts_with("unix://")
            .then(|| crate::paths::RuntimePaths::from_env().dir.join("users"));
        Ok(DockerBackend {
            kind,
            docker,
            endpoint,
            api_version,
            fallback_images: Default::default(),
            guest_volume: Default::default(),
            no_nr_inodes: Default::default(),
            identities: identity::Identities::new(identity_dir),
            facts: Default::default(),
            limits_unapplied: Default::default(),
        })
    }

    /// Rootless or not, cgroup v1 or not. Docker says rootless in its
    /// security options; Podman's compatible API does not say it at all,
    /// but a Podman service an ordinary user reaches is that user's own
    /// (root's socket is root's alone).
    async fn facts(&self) -> EngineFacts {
        *self
            .facts
            .get_or_init(|| async {
                let info = self.docker.info().await.ok();
                let rootless = info
                    .as_ref()
                    .and_then(|i| i.security_options.as_ref())
                    .is_some_and(|o| o.iter().any(|s| s.contains("name=rootless")))
                    || (self.kind == EngineKind::Podman && self.own_socket());
                let cgroup_v1 = info
                    .and_then(|i| i.cgroup_version)
                    .is_some_and(|v| matches!(v, bollard::models::SystemInfoCgroupVersionEnum::_1));
                EngineFacts {
                    rootless,
                    cgroup_v1,
                }
            })
            .await
    }

    /// The engine's socket is a local one of this (non-root) user: the
    /// user's own Podman service, so a rootless one (root's socket, or a
    /// remote engine, is not).
    fn own_socket(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let me = crate::paths::uid();
        me != 0
            && self
                .endpoint
                .strip_prefix("unix://")
                .and_then(|p| std::fs::metadata(p).ok())
                .is_some_and(|m| m.uid() == me)
    }

    /// The uids containers' programs can get: `[isolation] uid_range` as
    /// configured, except under a rootless engine, whose containers have
    /// only the user's subordinate uids (1 up to their count): there the
    /// default range becomes the upper part of those.
    async fn usable_uid_range(&self, range: UidRange) -> Result<UidRange, BackendError> {
        if !self.facts().await.rootless {
            return Ok(range);
        }
        let mapped = identity::subordinate_uids(crate::paths::uid());
        identity::rootless_range(range, mapped).map_err(|reason| BackendError::Engine {
            action: "choose the program's uid".into(),
            reason,
        })
    }

    /// The limits sbx asked for are the ones the guest finds itself
    /// under; if not, the container is refused (and removed by the
    /// caller) unless `[isolation] allow_unlimited` says to run anyway.
    async fn check_limits(
        &self,
        spec: &SandboxSpec,
        seen: Option<crate::guest::wire::SeenLimits>,
    ) -> Result<(), BackendError> {
        // Only a cgroup's limits count here: rlimits are not what an
        // engine is asked for (see the empty GUEST_RLIMITS_ENV above).
        let seen = seen.filter(|s| !s.per_process).unwrap_or_default();
        let iso = &spec.isolation;
        let memory = spec.limits.memory.or(iso.memory);
        let pids = spec.limits.pids.or(iso.pids).map(|p| p as u64);
        let mut missing = Vec::new();
        if let Some(m) = memory
            && seen.memory.is_none_or(|s| s > m)
        {
            missing.push("memory");
        }
        if let Some(p) = pids
            && seen.pids.is_none_or(|s| s > p)
        {
            missing.push("process");
        }
        if missing.is_empty() {
            return Ok(());
        }
        let what = missing.join(" and ");
        if iso.allow_unlimited {
            let first = !self
                .limits_unapplied
                .swap(true, std::sync::atomic::Ordering::Relaxed);
            if first || crate::verbose::engine_notices() {
                eprintln!(
                    "sbx agent: the container runs without its {what} limits ([isolation] allow_unlimited = true)"
                );
            }
            return Ok(());
        }
        let facts = self.facts().await;
        let cause = if facts.rootless && facts.cgroup_v1 {
            format!(
                "rootless {} on cgroup v1 cannot set limits and ignores them",
                if self.kind == EngineKind::Podman {
                    "Podman"
                } else {
                    "Docker"
                }
            )
        } else if facts.rootless {
            "the user's cgroup has no memory and pids controllers delegated (systemd: Delegate=memory pids cpu in user@.service)".to_string()
        } else {
            "the engine did not apply them".to_string()
        };
        Err(BackendError::LimitsLost { what, cause })
    }

    /// A container made with the OCI runtime `name` really has it: Podman
    /// 4's compatible API accepts the field and ignores it (its containers
    /// then run with the default runtime, reported as "oci"), which would
    /// silently give a user who asked for gVisor plain namespaces. One
    /// that does not is removed and the creation fails.
    async fn check_runtime(&self, id: &str, name: &str) -> Result<(), BackendError> {
        let got = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| engine_err("inspect a container", e))?
            .host_config
            .and_then(|h| h.runtime);
        if got.as_deref() == Some(name) {
            return Ok(());
        }
        if let Err(e) = self.destroy(id).await {
            eprintln!("sbx agent: cannot remove container {}: {e}", short_id(id));
        }
        Err(BackendError::Runtime {
            name: name.to_string(),
            reason: format!(
                "{} created the container with the runtime {}",
                self.kind.name(),
                got.map(|g| format!("`{g}`"))
                    .unwrap_or_else(|| "it chose".into())
            ),
            fix: if self.kind == EngineKind::Podman {
                PODMAN_RUNTIME_FIX
            } else {
                RUNTIME_FIX
            },
        })
    }

    /// Make sure the guest runner is there (installed beside this binary,
    /// static and readable). The agent checks at start-up, so the problem
    /// is its start-up error rather than every run's; `doctor` and
    /// `languages` never pay for reading the binary.
    pub fn check_guest() -> Result<(), BackendError> {
        super::guest_binary()
            .map(|_| ())
            .map_err(|reason| BackendError::Engine {
                action: "prepare the guest runner".into(),
                reason,
            })
    }

    /// Create (not start) a container for `spec`: the guest runner as its
    /// command, or for the exec fallback a shell that idles until its stdin
    /// closes.
    async fn create_container(
        &self,
        spec: &SandboxSpec,
        guest_volume: Option<&str>,
    ) -> Result<(String, Option<identity::Identity>), BackendError> {
        let fallback = guest_volume.is_none();
        let (entrypoint, cmd) = if fallback {
            exec_fallback::idle_command()
        } else {
            (vec![GUEST_BIN.into()], vec!["guest".into()])
        };
        let bridged = spec.network == "bridge";
        let iso = &spec.isolation;
        let mut host_config = hardened_host_config(iso);
        // A profile's own limits win over the [isolation] defaults.
        if let Some(m) = spec.limits.memory {
            // Swap equal to memory: no swap beyond the limit.
            host_config.memory = Some(m as i64);
            host_config.memory_swap = Some(m as i64);
        }
        if let Some(n) = spec.limits.nano_cpus {
            host_config.nano_cpus = Some(n as i64);
        }
        if let Some(p) = spec.limits.pids {
            host_config.pids_limit = Some(p);
        }
        if bridged {
            host_config.network_mode = Some("bridge".into());
        }
        if fallback {
            // Nothing of the guest's layout: `/sbx` may be what kept it out.
            if let Some(t) = host_config.tmpfs.as_mut() {
                t.retain(|path, _| !path.starts_with(SBX_ROOT));
            }
        }
        // The guest, read-only, from the volume every container shares.
        host_config.mounts = guest_volume.map(|v| vec![guest_volume::guest_mount(v)]);
        if self.no_nr_inodes.load(std::sync::atomic::Ordering::Relaxed)
            && let Some(t) = host_config.tmpfs.as_mut()
        {
            t.values_mut().for_each(|o| *o = without_nr_inodes(o));
        }
        // The exec fallback runs programs through engine execs, not as a
        // user of the guest's choosing.
        let identity = match iso.uid_range {
            Some(range) if !fallback => Some(
                self.identities
                    .allocate(self.usable_uid_range(range).await?)
                    .map_err(|reason| BackendError::Engine {
                        action: "choose the program's uid".into(),
                        reason,
                    })?,
            ),
            _ => None,
        };
        let (uid, gid) = match &identity {
            Some(i) => (i.uid, i.uid),
            None => (iso.uid, iso.gid),
        };
        if let Some((passwd, group)) = identity.as_ref().and_then(|i| i.files.as_ref()) {
            host_config.binds = Some(vec![
                format!("{}:/etc/passwd:ro", passwd.display()),
                format!("{}:/etc/group:ro", group.display()),
            ]);
        }
        let mut body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: Some(entrypoint),
            cmd: Some(cmd),
            env: Some(
                [
                    format!("{GUEST_MARKER_ENV}=1"),
                    format!("{GUEST_USER_ENV}={uid}:{gid}"),
                    // Limits here are the engine's cgroup's: an image's
                    // ENV must not make the guest report rlimits instead.
                    format!("{GUEST_RLIMITS_ENV}="),
                ]
                .into_iter()
                .chain(
                    spec.warm_interpreter
                        .as_ref()
                        .filter(|_| !fallback)
                        .map(|w| {
                            format!(
                                "{GUEST_WARM_ENV}={}",
                                serde_json::to_string(w).expect("plain data serializes")
                            )
                        }),
                )
                .collect(),
            ),
            labels: Some(spec.labels.iter().cloned().collect::<HashMap<_, _>>()),
            user: Some("0:0".into()),
            working_dir: Some("/".into()),
            open_stdin: Some(true),
            // The engine closes the guest's stdin when our attach ends, so
            // an agent that dies (even by SIGKILL) takes its containers
            // with it: EOF, guest exits, auto-remove.
            stdin_once: Some(true),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            network_disabled: Some(!bridged),
            host_config: Some(host_config),
            ..Default::default()
        };
        let made = self.create_body(spec, &mut body).await;
        match (made, identity) {
            (Ok(id), Some(identity)) => match self.complete_identity(spec, &identity).await {
                Ok(()) => {
                    self.identities.bind(&id, &identity);
                    Ok((id, Some(identity)))
                }
                Err(e) => {
                    self.identities.discard(&identity);
                    let _ = self.destroy(&id).await;
                    Err(e)
                }
            },
            (Ok(id), None) => Ok((id, None)),
            (Err(e), identity) => {
                if let Some(identity) = identity {
                    self.identities.discard(&identity);
                }
                Err(e)
            }
        }
    }

    /// The container's `/etc/passwd` and `/etc/group` (see identity.rs):
    /// the image's own entries, read from the created container once per
    /// image, with the program user's added.
    async fn complete_identity(
        &self,
        spec: &SandboxSpec,
        identity: &identity::Identity,
    ) -> Result<(), BackendError> {
        if identity.files.is_none() {
            return Ok(());
        }
        // Keyed by the image's name: the pool is (a name re-tagged to
        // another image while the agent runs keeps the first's accounts).
        let image_id = spec.image.as_str();
        // The image's own files cannot be read through this container:
        // its mounts cover them.
        let accounts = self.identities.image_accounts(image_id);
        let base = accounts
            .get_or_try_init(|| self.read_image_accounts(spec, image_id))
            .await?;
        self.identities
            .complete(identity, base)
            .map_err(|e| engine_err("write the program user's /etc/passwd", e))
    }

    /// A container of `image` that is only ever read from, never started
    /// (no command it could run, no network), labelled with `labels` so a
    /// crash before its removal leaves nothing an agent does not reap.
    /// `purpose` completes "create a container to …" in the error.
    async fn create_inert(
        &self,
        image: &str,
        labels: &[(String, String)],
        purpose: &str,
    ) -> Result<String, BackendError> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            cmd: Some(vec!["/nonexistent".into()]),
            entrypoint: Some(vec![]),
            labels: Some(labels.iter().cloned().collect::<HashMap<_, _>>()),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        Ok(self
            .docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await
            .map_err(|e| engine_err(&format!("create a container to {purpose}"), e))?
            .id)
    }

    /// `/etc/passwd` and `/etc/group` of an image, through a container of
    /// it made for that (never started, labelled like the pool's so a
    /// crash in between leaves nothing the next agent does not reap).
    async fn read_image_accounts(
        &self,
        spec: &SandboxSpec,
        image_id: &str,
    ) -> Result<(String, String), BackendError> {
        let id = self
            .create_inert(image_id, &spec.labels, "read the image's /etc/passwd")
            .await?;
        let read = async {
            Ok::<_, BackendError>((
                self.read_container_file(&id, "/etc/passwd").await?,
                self.read_container_file(&id, "/etc/group").await?,
            ))
        }
        .await;
        if let Err(e) = self.destroy(&id).await {
            eprintln!("sbx agent: cannot remove container {}: {e}", short_id(&id));
        }
        read
    }

    /// A text file of a created container ("" if there is none).
    async fn read_container_file(&self, id: &str, path: &str) -> Result<String, BackendError> {
        let opts = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut stream = self.docker.download_from_container(id, Some(opts));
        let mut tar = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(b) => tar.extend_from_slice(&b),
                Err(e) if is_not_found(&e) => return Ok(String::new()),
                Err(e) => return Err(engine_err(&format!("read {path} of the image"), e)),
            }
            // An image's passwd is a few KiB; this is not one.
            if tar.len() > 4 << 20 {
                return Err(engine_err(
                    &format!("read {path} of the image"),
                    "it is larger than 4 MiB",
                ));
            }
        }
        Ok(identity::single_file_of_tar(&tar).unwrap_or_default())
    }

    /// Create the container, pulling a missing image once and dropping
    /// options the engine does not know.
    async fn create_body(
        &self,
        spec: &SandboxSpec,
        body: &mut ContainerCreateBody,
    ) -> Result<String, BackendError> {
        let iso = &spec.isolation;
        let mut pulled = false;
        let mut inodes_dropped = false;
        loop {
            // Readable in `docker ps`; uniqueness comes from the counter and pid.
            let name = format!(
                "sbx-{}-{}-{}",
                spec.pool,
                std::process::id(),
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let opts = CreateContainerOptionsBuilder::default().name(&name).build();
            match self.docker.create_container(Some(opts), body.clone()).await {
                Ok(r) => {
                    if let Some(name) = &iso.runtime {
                        self.check_runtime(&r.id, name).await?;
                    }
                    return Ok(r.id);
                }
                Err(e) if iso.runtime.is_some() && is_runtime_refused(&e) => {
                    return Err(BackendError::Runtime {
                        name: iso.runtime.clone().unwrap_or_default(),
                        reason: engine_message(&e),
                        fix: RUNTIME_FIX,
                    });
                }
                // The agent pulls before it makes a pool; this is the image
                // removed behind its back since.
                Err(e) if is_not_found(&e) && !pulled => {
                    pulled = true;
                    self.pull_image(
                        &spec.image,
                        Some(crate::model::pull::DEFAULT_PULL_TIMEOUT),
                        &tokio::sync::watch::channel(Default::default()).0,
                    )
                    .await?;
                }
                Err(e) if is_nr_inodes_refused(&e) && !inodes_dropped => {
                    inodes_dropped = true;
                    let first = !self
                        .no_nr_inodes
                        .swap(true, std::sync::atomic::Ordering::Relaxed);
                    if first && crate::verbose::engine_notices() {
                        eprintln!(
                            "sbx agent: {} does not accept the tmpfs option nr_inodes ({e}); \
                             scratch mounts get the kernel's default inode limit, bounded by the memory limit",
                            self.kind.name()
                        );
                    }
                    if let Some(t) = body.host_config.as_mut().and_then(|h| h.tmpfs.as_mut()) {
                        t.values_mut().for_each(|o| *o = without_nr_inodes(o));
                    }
                }
                Err(e) if is_not_found(&e) => {
                    return Err(BackendError::Pull {
                        image: spec.image.clone(),
                        message: format!(
                            "image `{}` is still missing after a pull: {}",
                            spec.image,
                            engine_message(&e)
                        ),
                    });
                }
                Err(e) => return Err(engine_err("create a container", e)),
            }
        }
    }

    async fn create_fallback(&self, spec: &SandboxSpec) -> Result<Sandbox, BackendError> {
        // No guest reads the limits back here: where the engine is known
        // to apply none, the fallback is refused the same way.
        let facts = self.facts().await;
        if facts.rootless && facts.cgroup_v1 {
            self.check_limits(spec, None).await?;
        }
        let (id, _) = self.create_container(spec, None).await?;
        let made = async {
            let attach = AttachContainerOptionsBuilder::default()
                .stdin(true)
                .stream(true)
                .build();
            let attached = self
                .docker
                .attach_container(&id, Some(attach))
                .await
                .map_err(|e| engine_err("attach to the container", e))?;
            self.docker
                .start_container(&id, None)
                .await
                .map_err(|e| engine_err("start the container", e))?;
            let mut guest = exec_fallback::connect(self.docker.clone(), id.clone(), attached);
            guest
                .wait_ready(Duration::from_secs(5))
                .await
                .map_err(|reason| BackendError::GuestFailed {
                    id: short_id(&id),
                    reason,
                })?;
            Ok(guest)
        };
        match made.await {
            Ok(guest) => Ok(Sandbox { id, guest }),
            Err(e) => {
                let _ = self.destroy(&id).await;
                Err(e)
            }
        }
    }

    async fn start_guest(&self, id: &str, spec: &SandboxSpec) -> Result<GuestConn, BackendError> {
        let attach = AttachContainerOptionsBuilder::default()
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .stream(true)
            .build();
        let attached = self
            .docker
            .attach_container(id, Some(attach))
            .await
            .map_err(|e| engine_err("attach to the container", e))?;

        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let short = id.chars().take(12).collect::<String>();
        let mut output = attached.output;
        tokio::spawn(async move {
            let mut decoder = FrameDecoder::default();
            while let Some(item) = output.next().await {
                match item {
                    Ok(LogOutput::StdOut { message }) => {
                        for ev in decode_events(&mut decoder, &message) {
                            let fatal = matches!(ev, GuestEvent::Closed(_));
                            if tx.send(ev).await.is_err() || fatal {
                                return; // sandbox dropped, or stream unusable
                            }
                        }
                    }
                    Ok(LogOutput::StdErr { message }) | Ok(LogOutput::Console { message }) => {
                        // The guest's own diagnostics, for the agent log.
                        eprint!("[{short}] {}", String::from_utf8_lossy(&message));
                    }
                    Ok(LogOutput::StdIn { .. }) => {}
                    Err(e) => {
                        let _ = tx
                            .send(GuestEvent::Closed(format!("attach stream failed: {e}")))
                            .await;
                        return;
                    }
                }
            }
            let _ = tx
                .send(GuestEvent::Closed(
                    "the container's output stream ended".into(),
                ))
                .await;
        });

        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| engine_err("start the container", e))?;

        let mut guest = GuestConn::new(attached.input, rx);
        let seen = guest
            .wait_first_ready(Duration::from_secs(15))
            .await
            .map_err(|reason| BackendError::GuestFailed {
                id: short_id(id),
                reason: format!(
                    "{reason} (does the image run x86_64 Linux binaries? see the agent log)"
                ),
            })?;
        self.check_limits(spec, seen).await?;
        Ok(guest)
    }
}

/// The container's lock-down (see isolation.rs and the README's table of
/// defaults): no network, read-only root with size- and inode-limited
/// tmpfs scratch space, every capability dropped except the few the guest needs as root
/// to run the program as another user and clean up after it, no new
/// privileges (setuid binaries and file capabilities do nothing), the
/// engine's default seccomp profile (not overridden), and limits on
/// memory (swap included), CPU and processes.
fn hardened_host_config(iso: &Isolation) -> HostConfig {
    let mut tmpfs = SCRATCH_MOUNTS
        .iter()
        .map(|(path, mode, exec)| {
            let exec = if *exec { "exec" } else { "noexec" };
            // No `nr_inodes` at all for "none": the kernel's default.
            let inodes = iso
                .nr_inodes
                .map(|n| format!(",nr_inodes={n}"))
                .unwrap_or_default();
            (
                path.to_string(),
                format!(
                    "rw,{exec},nosuid,nodev,size={}{inodes},mode={mode:o}",
                    iso.tmpfs_size
                ),
            )
        })
        .collect::<HashMap<_, _>>();
    // The guest's own: FIFOs only, never the program's.
    let inodes = iso
        .nr_inodes
        .map(|n| format!(",nr_inodes={n}"))
        .unwrap_or_default();
    tmpfs.insert(
        GUEST_PRIVATE_DIR.to_string(),
        format!("rw,noexec,nosuid,nodev,size=1048576{inodes},mode=755"),
    );
    HostConfig {
        ulimits: Some(container_ulimits()),
        auto_remove: Some(true),
        network_mode: Some("none".into()),
        init: Some(false),
        readonly_rootfs: Some(iso.read_only_root),
        tmpfs: Some(tmpfs),
        cap_drop: Some(vec!["ALL".into()]),
        cap_add: Some(GUEST_CAPS.iter().map(|c| c.to_string()).collect()),
        security_opt: Some(vec!["no-new-privileges".into()]),
        memory: iso.memory.map(|m| m as i64),
        // Equal to the memory limit: no swap, so a memory hog is killed
        // rather than slowing the machine down by swapping.
        memory_swap: iso.memory.map(|m| m as i64),
        nano_cpus: iso.nano_cpus,
        pids_limit: iso.pids,
        runtime: iso.runtime.clone(),
        // No negative `oom_score_adj` for the guest: some runtimes cannot
        // set one (runc fails to start the container on this project's
        // machines). The program raises its own score to the maximum
        // instead, which makes it the OOM killer's choice all the same.
        ..Default::default()
    }
}

/// Capabilities the guest keeps (everything else is dropped). The program
/// runs as an unprivileged user and keeps none of them.
/// * SETUID, SETGID: switch to that user before exec;
/// * KILL: kill the program's processes, which belong to another user;
/// * CHOWN, FOWNER: give the scratch directories back to that user and
///   reset their modes after each run;
/// * DAC_OVERRIDE: wipe (and read for `--out`) whatever the program left,
///   whatever permissions it set.
const GUEST_CAPS: &[&str] = &[
    "SETUID",
    "SETGID",
    "KILL",
    "CHOWN",
    "FOWNER",
    "DAC_OVERRIDE",
];

/// Explicit `nofile`/`nproc` limits. Podman's defaults can exceed a host's
/// hard limits, and then no container starts at all ("error setting
/// rlimit"); the engine's own limits are unknown to us (it may even be
/// remote), so the values are modest — plenty for one sandboxed program —
/// and never above the agent's own hard limits.
fn container_ulimits() -> Vec<ResourcesUlimits> {
    fn hard(resource: libc::__rlimit_resource_t, cap: u64) -> i64 {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let max = if unsafe { libc::getrlimit(resource, &mut lim) } == 0 {
            lim.rlim_max
        } else {
            1024
        };
        max.min(cap) as i64
    }
    let nofile = hard(libc::RLIMIT_NOFILE, 4096);
    let nproc = hard(libc::RLIMIT_NPROC, 4096);
    vec![
        ResourcesUlimits {
            name: Some("nofile".into()),
            soft: Some(nofile),
            hard: Some(nofile),
        },
        ResourcesUlimits {
            name: Some("nproc".into()),
            soft: Some(nproc),
            hard: Some(nproc),
        },
    ]
}

/// `SBX_EXEC_FALLBACK`: `auto` (default) uses the plain-exec fallback for
/// an image once the guest runner failed to start in it; `always` uses it
/// for every image (testing, or images known to be foreign); `never`
/// reports the guest's failure instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FallbackMode {
    Auto,
    Always,
    Never,
}

impl FallbackMode {
    fn from_env() -> FallbackMode {
        match std::env::var("SBX_EXEC_FALLBACK").as_deref() {
            Ok("always") => FallbackMode::Always,
            Ok("never") => FallbackMode::Never,
            _ => FallbackMode::Auto,
        }
    }
}

/// Failures that say the guest cannot run in the image (it could not be
/// copied in, the container could not start with it as its command, or it
/// never said it was ready), as opposed to the engine failing.
fn guest_cannot_run(e: &BackendError) -> bool {
    match e {
        BackendError::GuestFailed { .. } => true,
        BackendError::Engine { action, reason } => {
            action == "copy the guest runner into its volume"
                || action == "start the container"
                // The guest volume cannot be mounted over what the image
                // has at `/sbx` (Docker says so at create, Podman when it
                // prepares the container's volumes for attach: "identifying
                // source directory for copy up into volume").
                || ((action == "create a container" || action == "attach to the container")
                    && (reason.contains("mount") || reason.contains("volume")))
        }
        _ => false,
    }
}

/// Build output without terminal colour codes (the engine colours a
/// step's stderr).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ params final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The engine's own lines in a build's output (not the installer's).
fn is_engine_noise(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("Step ")
        || l.starts_with("---> ")
        || l.starts_with("Removing intermediate container")
        || l.starts_with("Successfully built")
        || l.starts_with("Successfully tagged")
}

/// A failed build as one line: the installer's last error lines (where it
/// says what went wrong), then the engine's message.
fn installer_error(tail: &std::collections::VecDeque<String>, engine: &str) -> String {
    let errors: Vec<&str> = tail
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.contains("ERR") || l.contains("rror"))
        .collect();
    let said: Vec<&str> = if errors.is_empty() {
        tail.iter().map(|l| l.trim()).collect()
    } else {
        errors
    };
    let said = said[said.len().saturating_sub(3)..].join(" | ");
    let engine = engine.trim().replace('\n', " ");
    if said.is_empty() {
        engine
    } else {
        format!("{said} (engine: {engine})")
    }
}

/// What to do when the engine does not answer.
fn unreachable_hint(kind: EngineKind) -> String {
    unreachable_hint_for(kind, crate::paths::uid(), &kind.endpoint())
}

/// What to do about an engine that does not answer at `endpoint`, for
/// the user `uid`: root starts the system's service, anyone else their
/// own rootless one (whose socket is under their runtime directory).
fn unreachable_hint_for(kind: EngineKind, uid: u32, endpoint: &str) -> String {
    match (kind, uid) {
        (EngineKind::Docker, 0) => {
            "start it (`sudo systemctl start docker` or `dockerd`), or set DOCKER_HOST".into()
        }
        (EngineKind::Docker, _) => {
            "start it (`sudo systemctl start docker`; rootless Docker: `systemctl --user start docker`), or set DOCKER_HOST (rootless Docker: unix://$XDG_RUNTIME_DIR/docker.sock)".into()
        }
        (EngineKind::Podman, 0) => format!(
            "start its API service (`systemctl start podman.socket`, or `podman system service --time=0 {endpoint} &`), or set CONTAINER_HOST"
        ),
        (EngineKind::Podman, _) => format!(
            "start your user's rootless Podman API service (`systemctl --user enable --now podman.socket` where systemd runs, else `podman system service --time=0 {endpoint} &`), or set CONTAINER_HOST"
        ),
        (EngineKind::Kubernetes, _) => {
            "check the cluster with `kubectl cluster-info` (KUBECONFIG, [kubernetes] context)"
                .into()
        }
        (EngineKind::Bubblewrap, _) => {
            format!("install `{}`", super::bubblewrap::PACKAGE)
        }
    }
}

fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}

impl DockerBackend {
    /// The engine's id of `image`, pulling it once if it is missing.
    async fn image_id(&self, image: &str) -> Result<String, BackendError> {
        let inspect = |image: String| async move { self.docker.inspect_image(&image).await };
        let found = match inspect(image.to_string()).await {
            Err(e) if is_not_found(&e) => {
                self.pull_image(
                    image,
                    Some(crate::model::pull::DEFAULT_PULL_TIMEOUT),
                    &tokio::sync::watch::channel(Default::default()).0,
                )
                .await?;
                inspect(image.to_string()).await
            }
            other => other,
        };
        found
            .map_err(|e| engine_err("inspect an image", e))?
            .id
            .ok_or_else(|| engine_err("inspect an image", "the engine gave no image id"))
    }

    async fn build_libraries(
        &self,
        build: &ImageBuild,
        tag: &str,
        events: &mpsc::UnboundedSender<BuildEvent>,
    ) -> Result<(), BackendError> {
        let failed = |reason: String| BackendError::Engine {
            action: format!(
                "install the libraries of pool `{}` ({})",
                build.pool,
                build.libraries.join(" ")
            ),
            reason,
        };
        let context = build.context().map_err(failed)?;
        let args: HashMap<String, String> = build.env.iter().cloned().collect();
        let mut labels: HashMap<String, String> = HashMap::new();
        labels.insert(super::LABEL_MANAGED.into(), "true".into());
        labels.insert(super::LABEL_OWNER.into(), crate::paths::uid().to_string());
        labels.insert("io.sbx.base".into(), build.base.clone());
        labels.insert("io.sbx.libraries".into(), build.libraries.join(" "));
        let mut opts = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(tag)
            .rm(true)
            .forcerm(true)
            .buildargs(&args)
            .labels(&labels);
        if let Some(n) = &build.network {
            opts = opts.networkmode(n);
        }
        let mut stream =
            self.docker
                .build_image(opts.build(), None, Some(bollard::body_full(context.into())));
        // The installer's last words are the error a failed install shows.
        let mut tail: std::collections::VecDeque<String> = Default::default();
        while let Some(item) = stream.next().await {
            let info = match item {
                Err(e) => return Err(failed(installer_error(&tail, &e.to_string()))),
                Ok(info) => info,
            };
            if let Some(detail) = info.error_detail {
                let msg = detail.message.unwrap_or_default();
                return Err(failed(installer_error(&tail, &msg)));
            }
            for line in strip_ansi(&info.stream.unwrap_or_default()).lines() {
                let line = line.trim_end();
                if line.is_empty() {
                    continue;
                }
                let _ = events.send(if line.starts_with("Step ") {
                    BuildEvent::Status(line.to_string())
                } else {
                    BuildEvent::Output(line.to_string())
                });
                if !is_engine_noise(line) {
                    if tail.len() == 8 {
                        tail.pop_front();
                    }
                    tail.push_back(line.to_string());
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Backend for DockerBackend {
    /// Whether `image` is present on the engine (no pull is attempted).
    async fn image_present(&self, image: &str) -> Result<Option<bool>, BackendError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(Some(true)),
            Err(e) if is_not_found(&e) => Ok(Some(false)),
            Err(e) => Err(engine_err("inspect an image", e)),
        }
    }

    fn name(&self) -> &'static str {
        self.kind.name()
    }

    async fn pull(
        &self,
        image: &str,
        stall: Option<Duration>,
        progress: &tokio::sync::watch::Sender<crate::model::pull::PullProgress>,
    ) -> Result<crate::model::pull::PullProgress, BackendError> {
        self.pull_image(image, stall, progress).await
    }

    async fn prepare_image(
        &self,
        build: &ImageBuild,
        events: mpsc::UnboundedSender<BuildEvent>,
    ) -> Result<String, BackendError> {
        if build.libraries.is_empty() {
            return Ok(build.base.clone());
        }
        let tag = build.tag(&self.image_id(&build.base).await?);
        match self.docker.inspect_image(&tag).await {
            Ok(_) => {
                let _ = events.send(BuildEvent::Status(format!(
                    "using {tag} (libraries already installed)"
                )));
                return Ok(tag);
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(engine_err("inspect an image", e)),
        }
        let _ = events.send(BuildEvent::Status(format!(
            "building {tag}: installing {} into {}",
            build.libraries.join(" "),
            build.base
        )));
        self.build_libraries(build, &tag, &events).await?;
        let _ = events.send(BuildEvent::Status(format!("built {tag}")));
        Ok(tag)
    }

    fn limits_unapplied(&self) -> bool {
        self.limits_unapplied
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn describe(&self) -> String {
        format!(
            "{} at {} (API {})",
            self.kind.name(),
            self.endpoint,
            self.api_version
        )
    }

    async fn create(&self, spec: &SandboxSpec) -> Result<Sandbox, BackendError> {
        let mode = FallbackMode::from_env();
        let known = self
            .fallback_images
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&spec.image);
        if mode == FallbackMode::Always || (mode == FallbackMode::Auto && known) {
            return self.create_fallback(spec).await;
        }
        let err = match self.guest_volume(&spec.image, &spec.labels).await {
            Err(e) => e,
            Ok(volume) => match self.create_container(spec, Some(&volume)).await {
                Err(e) => e,
                Ok((id, identity)) => {
                    let started = self.start_guest(&id, spec).await;
                    // Started or not, the container no longer needs the
                    // files by name (identity.rs).
                    if let Some(identity) = &identity {
                        self.identities.started(identity);
                    }
                    let err = match started {
                        Ok(guest) => return Ok(Sandbox { id, guest }),
                        Err(e) => e,
                    };
                    // Never leave a half-made container behind.
                    let _ = self.destroy(&id).await;
                    // The volume may have been removed behind our back
                    // (the engine then makes an empty one on create).
                    self.recheck_guest_volume();
                    err
                }
            },
        };
        if mode == FallbackMode::Never || !guest_cannot_run(&err) {
            return Err(err);
        }
        eprintln!(
            "sbx agent: the guest runner cannot run in image `{}` ({err}); using the plain-exec fallback for it (one engine exec and one container per run: slower)",
            spec.image
        );
        match self.create_fallback(spec).await {
            Ok(sb) => {
                self.fallback_images
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(spec.image.clone());
                Ok(sb)
            }
            // The fallback failing too says nothing new: report the first.
            Err(_) => Err(err),
        }
    }

    async fn is_running(&self, id: &str) -> Result<bool, BackendError> {
        match self.docker.inspect_container(id, None).await {
            Ok(c) => Ok(c.state.and_then(|s| s.running).unwrap_or(false)),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(engine_err("inspect a container", e)),
        }
    }

    /// From the engine's event log, which outlives the container (it is
    /// auto-removed as soon as it dies, so `inspect` races its removal):
    /// the container's `oom` and `die` events since the run began. Podman
    /// 4 records no `oom` event, nor `State.OOMKilled` on cgroup v1: there
    /// a guest that died of SIGKILL (exit 137) during a run counts as
    /// killed by the OOM killer — the program cannot signal it (another
    /// uid, no capabilities), and sbx removes a container only after
    /// cancelling its run.
    async fn died_of_oom(&self, id: &str, since: std::time::SystemTime) -> Option<bool> {
        let since = since
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs()
            .to_string();
        let filters = HashMap::from([
            ("container".to_string(), vec![id.to_string()]),
            ("type".to_string(), vec!["container".to_string()]),
        ]);
        let opts = EventsOptionsBuilder::default()
            .since(&since)
            .filters(&filters)
            .build();
        let podman = self.kind == EngineKind::Podman;
        let mut events = self.docker.events(Some(opts));
        let watch = async {
            let mut oom = false;
            while let Some(Ok(ev)) = events.next().await {
                match ev.action.as_deref() {
                    Some("oom") => oom = true,
                    Some("die") => {
                        let code = ev
                            .actor
                            .and_then(|a| a.attributes)
                            .and_then(|a| a.get("exitCode").cloned());
                        return Some(oom || (podman && code.as_deref() == Some("137")));
                    }
                    _ => {}
                }
            }
            None
        };
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .ok()
            .flatten()
    }

    async fn destroy(&self, id: &str) -> Result<(), BackendError> {
        // `v`: with the container go anonymous volumes an image declares,
        // as auto-remove would do (never the named guest volume).
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let res = match self.docker.remove_container(id, Some(opts.clone())).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // Auto-remove already in progress (409; Podman says 500, "could
            // not be stopped: container state improper" while its container
            // is between exiting and being removed): done once it is gone,
            // so a caller (`pool down`) can promise nothing is left. Asked
            // again meanwhile, in case it settled as merely stopped.
            Err(e) if is_removal_in_progress(&e) => {
                let mut gone = false;
                for attempt in 0..100 {
                    match self.docker.inspect_container(id, None).await {
                        Err(e) if is_not_found(&e) => {
                            gone = true;
                            break;
                        }
                        _ => {
                            if attempt % 10 == 9 {
                                let _ = self.docker.remove_container(id, Some(opts.clone())).await;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await
                        }
                    }
                }
                if gone {
                    Ok(())
                } else {
                    Err(BackendError::Engine {
                        action: "remove a container".into(),
                        reason: format!("{} is still being removed after 5s", short_id(id)),
                    })
                }
            }
            Err(e) => Err(engine_err("remove a container", e)),
        };
        if res.is_ok() {
            self.identities.release(id);
        }
        res
    }

    async fn remove_outdated(&self) -> Vec<String> {
        self.remove_outdated_guest_volumes().await
    }

    async fn list_labelled(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<super::Labelled>, BackendError> {
        Ok(self
            .containers_labelled(labels)
            .await?
            .into_iter()
            .filter_map(|c| {
                Some(super::Labelled {
                    id: c.id?,
                    instance: c.labels.and_then(|mut l| l.remove(super::LABEL_INSTANCE)),
                })
            })
            .collect())
    }

    async fn upload(&self, id: &str, dir: &str, files: &[InputFile]) -> Result<(), BackendError> {
        // Not the archive API: it cannot write under a read-only root
        // filesystem or into tmpfs mounts, where the working directory is.
        exec_fallback::write_files(&self.docker, id, dir, None, files)
            .await
            .map_err(|e| engine_err("copy files into the container", e))
    }

    async fn exec(
        &self,
        id: &str,
        argv: &[String],
        env: &[(String, String)],
        workdir: &str,
    ) -> Result<ExecOutput, BackendError> {
        let config = ExecConfig {
            attach_stdin: Some(false),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            cmd: Some(argv.to_vec()),
            env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: Some(workdir.into()),
            user: Some("0:0".into()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(id, config)
            .await
            .map_err(|e| engine_err("create an exec", e))?;
        let mut out = ExecOutput::default();
        let started = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(|e| engine_err("start an exec", e))?;
        if let StartExecResults::Attached { mut output, .. } = started {
            while let Some(item) = output.next().await {
                match item.map_err(|e| engine_err("read an exec's output", e))? {
                    LogOutput::StdOut { message } => out.stdout.extend_from_slice(&message),
                    LogOutput::StdErr { message } => out.stderr.extend_from_slice(&message),
                    _ => {}
                }
            }
        }
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(|e| engine_err("inspect an exec", e))?;
        out.code = inspected.exit_code.unwrap_or(-1);
        Ok(out)
    }

    async fn ping(&self) -> Result<(), BackendError> {
        match tokio::time::timeout(Duration::from_secs(5), self.docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(BackendError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: e.to_string(),
                hint: unreachable_hint(self.kind).into(),
            }),
            Err(_) => Err(BackendError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: "no answer within 5s".into(),
                hint: unreachable_hint(self.kind).into(),
            }),
        }
    }
}

impl DockerBackend {
    /// Every container (running or not) carrying all of `labels`.
    async fn containers_labelled(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<bollard::models::ContainerSummary>, BackendError> {
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        filters.insert(
            "label".into(),
            labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        );
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        // Podman briefly lists a container being auto-removed in a state
        // ("stopped") the Docker API has no word for, which the client
        // cannot read: such a listing is asked again.
        let mut attempt = 0;
        loop {
            match self.docker.list_containers(Some(opts.clone())).await {
                Err(bollard::errors::Error::JsonSerdeError { .. }) if attempt < 20 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                res => return res.map_err(|e| engine_err("list containers", e)),
            }
        }
    }
}

/// What [`DockerBackend::image_config`] found.
#[derive(Debug, Clone)]
pub struct ImageConfig {
    /// The engine's id of the image (`sha256:...`).
    pub id: String,
    /// `NAME=value` entries of the image's environment.
    pub env: Vec<String>,
}

/// What `sbx doctor` reports about the engine.
pub struct EngineInfo {
    pub endpoint: String,
    pub server_version: String,
    pub api_version: String,
    /// The engine's data directory (images, containers), when it reports one.
    pub root_dir: Option<String>,
    /// The OCI runtimes registered with the engine, by name, sorted.
    pub runtimes: Vec<String>,
    /// The engine runs as an ordinary user (see `EngineFacts`).
    pub rootless: bool,
    /// On cgroup v1, where a rootless engine applies no limits.
    pub cgroup_v1: bool,
    /// Subordinate uids of this user (/etc/subuid), which a rootless
    /// engine maps into its containers.
    pub subordinate_uids: u64,
}

impl DockerBackend {
    /// The engine's id of `image` and the environment its containers
    /// start with; `None` when the engine does not hold it.
    pub async fn image_config(&self, image: &str) -> Result<Option<ImageConfig>, BackendError> {
        match self.docker.inspect_image(image).await {
            Ok(i) => Ok(Some(ImageConfig {
                id: i.id.unwrap_or_default(),
                env: i.config.and_then(|c| c.env).unwrap_or_default(),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(engine_err("inspect an image", e)),
        }
    }

    /// Write the root filesystem of `image` into `sink` as a tar stream,
    /// through a container of it made for that: never started, labelled
    /// with `labels` (so a crash in between leaves nothing an agent does
    /// not reap) and removed afterwards.
    pub async fn export_image(
        &self,
        image: &str,
        labels: &[(String, String)],
        sink: &mut (dyn tokio::io::AsyncWrite + Unpin + Send),
    ) -> Result<(), BackendError> {
        use tokio::io::AsyncWriteExt;
        let id = self.create_inert(image, labels, "export the image").await?;
        let copied = async {
            let mut stream = self.docker.export_container(&id);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| engine_err("export the image", e))?;
                sink.write_all(&chunk)
                    .await
                    .map_err(|e| engine_err("unpack the image", e))?;
            }
            sink.shutdown()
                .await
                .map_err(|e| engine_err("unpack the image", e))
        }
        .await;
        if let Err(e) = self.destroy(&id).await {
            eprintln!("sbx agent: cannot remove container {}: {e}", short_id(&id));
        }
        copied
    }

    pub async fn engine_info(&self) -> Result<EngineInfo, BackendError> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|e| engine_err("ask the engine for its version", e))?;
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| engine_err("ask the engine for its configuration", e))?;
        let facts = self.facts().await;
        Ok(EngineInfo {
            rootless: facts.rootless,
            cgroup_v1: facts.cgroup_v1,
            subordinate_uids: identity::subordinate_uids(crate::paths::uid()),
            endpoint: self.endpoint.clone(),
            server_version: version.version.unwrap_or_else(|| "unknown".into()),
            api_version: self.api_version.clone(),
            root_dir: info.docker_root_dir,
            runtimes: {
                let mut r: Vec<String> = info.runtimes.unwrap_or_default().into_keys().collect();
                r.sort();
                r
            },
        })
    }
}

/// True when the ELF image has no program interpreter (PT_INTERP), i.e. it
/// needs no dynamic loader from the image it runs in.
pub(super) fn is_static_elf(bin: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    if bin.len() < 64 || &bin[..4] != b"\x7fELF" || bin[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([bin[o], bin[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(bin[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).all(|i| {
        let o = phoff + i * phentsize;
        bin.get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) != PT_INTERP)
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_unreachable_podman_hint_names_the_users_own_socket_and_service_when_not_root() {
        let own = "unix:///run/user/1001/podman/podman.sock";
        assert_eq!(
            unreachable_hint_for(EngineKind::Podman, 1001, own),
            "start your user's rootless Podman API service (`systemctl --user enable --now podman.socket` where systemd runs, else `podman system service --time=0 unix:///run/user/1001/podman/podman.sock &`), or set CONTAINER_HOST"
        );
        let hint = unreachable_hint_for(EngineKind::Podman, 0, "unix:///run/podman/podman.sock");
        assert!(
            hint.contains("podman system service --time=0 unix:///run/podman/podman.sock"),
            "{hint}"
        );
        assert!(!hint.contains("--user"), "{hint}");
        assert!(unreachable_hint_for(EngineKind::Docker, 1001, "").contains("rootless Docker"));
    }
    use super::{
        EngineKind, hardened_host_config, is_nr_inodes_refused, is_static_elf,
        unreachable_hint_for, without_nr_inodes,
    };
    use crate::model::isolation::Isolation;

    #[test]
    fn every_scratch_mount_carries_the_inode_limit_or_none_for_none() {
        let iso = Isolation {
            nr_inodes: Some(2000),
            ..Isolation::default()
        };
        let tmpfs = hardened_host_config(&iso).tmpfs.unwrap();
        // The scratch mounts, and the guest's private one.
        assert_eq!(tmpfs.len(), crate::guest::wire::SCRATCH_MOUNTS.len() + 1);
        assert_eq!(
            tmpfs[crate::guest::wire::GUEST_PRIVATE_DIR],
            "rw,noexec,nosuid,nodev,size=1048576,nr_inodes=2000,mode=755"
        );
        assert_eq!(
            tmpfs["/tmp"],
            "rw,exec,nosuid,nodev,size=536870912,nr_inodes=2000,mode=1777"
        );
        for (path, opts) in &tmpfs {
            assert_eq!(
                opts.matches(",nr_inodes=2000,").count(),
                1,
                "{path}: {opts}"
            );
        }
        let iso = Isolation {
            nr_inodes: None,
            ..Isolation::default()
        };
        for (path, opts) in hardened_host_config(&iso).tmpfs.unwrap() {
            assert!(!opts.contains("nr_inodes"), "{path}: {opts}");
        }
    }

    #[test]
    fn the_create_request_carries_the_runtime_asked_for() {
        assert_eq!(hardened_host_config(&Isolation::default()).runtime, None);
        let iso = Isolation {
            runtime: Some("runsc".into()),
            ..Isolation::default()
        };
        assert_eq!(hardened_host_config(&iso).runtime.as_deref(), Some("runsc"));
    }

    #[test]
    fn an_engine_refusing_nr_inodes_gets_the_mounts_without_it() {
        // Podman 4.3's answer, verbatim.
        let refused = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message:
                "container create: unknown mount option \"nr_inodes=2000\": invalid mount option"
                    .into(),
        };
        assert!(is_nr_inodes_refused(&refused));
        let other = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "container create: unknown mount option \"exec\": invalid mount option".into(),
        };
        assert!(!is_nr_inodes_refused(&other));
        assert_eq!(
            without_nr_inodes("rw,exec,nosuid,nodev,size=536870912,nr_inodes=2000,mode=1777"),
            "rw,exec,nosuid,nodev,size=536870912,mode=1777"
        );
    }

    #[test]
    fn the_test_binary_is_static_like_the_guest_must_be() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(
            is_static_elf(&me),
            "build with the repository's .cargo/config.toml"
        );
    }

    #[test]
    fn a_dynamic_executable_is_recognised() {
        let sh = std::fs::read("/bin/sh").unwrap();
        assert!(!is_static_elf(&sh));
        assert!(!is_static_elf(
            b"not an elf file at all, certainly not 64 bytes of header"
        ));
    }
}
