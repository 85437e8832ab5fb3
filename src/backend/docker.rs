//! Docker Engine API backend (bollard).
//!
//! A sandbox is made in four calls: create (the guest as command, stdin
//! open, auto-remove), upload the guest binary with the archive API (works
//! for remote engines, needs nothing in the image), attach stdin+stdout+
//! stderr, start. Attaching before starting means no guest output is lost.
//! If the agent dies, the attach stream closes, the guest sees EOF and exits,
//! and auto-remove deletes the container: crash-only clean-up.
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
//! * network mode `none`, auto-remove, archive upload (into the `/sbx`
//!   volume, the root filesystem being read-only), tmpfs mounts, dropped
//!   capabilities, limits and attach-before-start behave as in Docker
//!   (covered by running the integration suites, the hostile-program one
//!   included, against both engines).

use super::guest_conn::decode_events;
use super::{
    Backend, BackendError, EVENT_BUFFER, EngineKind, GuestConn, GuestEvent, Sandbox, SandboxSpec,
};
use crate::guest::wire::{
    GUEST_BIN, GUEST_MARKER_ENV, GUEST_USER_ENV, GUEST_VOLUME, SCRATCH_MOUNTS,
};
use crate::isolation::Isolation;
use crate::protocol::FrameDecoder;
use async_trait::async_trait;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig, ResourcesUlimits};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptions,
    UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::mpsc;

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub struct DockerBackend {
    kind: EngineKind,
    docker: Docker,
    endpoint: String,
    api_version: String,
    /// The anonymous `/sbx` volume of each live container. The engine
    /// deletes it with the container on auto-remove and on our own
    /// removal, but not when someone else removes the container
    /// (`docker rm -f` without `-v`): `destroy` then removes it itself.
    volumes: std::sync::Mutex<HashMap<String, String>>,
}

fn engine_err(action: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::Engine {
        action: action.into(),
        reason: e.to_string(),
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
    /// Connect to the engine `select_engine` picks (see there), negotiate
    /// the API version and prepare the guest upload.
    pub async fn connect() -> Result<DockerBackend, BackendError> {
        let kind = super::select_engine().map_err(|reason| BackendError::Unreachable {
            endpoint: std::env::var(super::BACKEND_ENV).unwrap_or_default(),
            reason,
            hint: "fix the --backend / SBX_BACKEND setting",
        })?;
        Self::connect_to(kind).await
    }

    pub async fn connect_to(kind: EngineKind) -> Result<DockerBackend, BackendError> {
        let endpoint = kind.endpoint();
        let hint = match kind {
            EngineKind::Docker => {
                "start it (`sudo systemctl start docker` or `dockerd`), or set DOCKER_HOST"
            }
            EngineKind::Podman => {
                "start its API service (`podman system service --time=0 unix:///run/podman/podman.sock`), or set CONTAINER_HOST"
            }
        };
        let unreachable = |reason: String| BackendError::Unreachable {
            endpoint: endpoint.clone(),
            reason,
            hint,
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
        Ok(DockerBackend {
            kind,
            docker,
            endpoint,
            api_version,
            volumes: Default::default(),
        })
    }

    /// Make sure the guest runner can be packed (this binary is static and
    /// readable). The agent checks at start-up, so the problem is its
    /// start-up error rather than every run's; `doctor` and `languages`
    /// never pay for reading the binary.
    pub fn check_guest() -> Result<(), BackendError> {
        guest_tarball()
            .map(|_| ())
            .map_err(|reason| BackendError::Engine {
                action: "prepare the guest runner".into(),
                reason,
            })
    }

    async fn pull(&self, image: &str) -> Result<(), String> {
        let opts = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let mut stream = self.docker.create_image(Some(opts), None, None);
        let pull = async {
            while let Some(item) = stream.next().await {
                item.map_err(|e| e.to_string())?;
            }
            Ok(())
        };
        tokio::time::timeout(Duration::from_secs(300), pull)
            .await
            .unwrap_or_else(|_| Err("pull took longer than 5 minutes".into()))
    }

    async fn create_container(&self, spec: &SandboxSpec) -> Result<String, BackendError> {
        let iso = &spec.isolation;
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: Some(vec![GUEST_BIN.into()]),
            cmd: Some(vec!["guest".into()]),
            env: Some(vec![
                format!("{GUEST_MARKER_ENV}=1"),
                format!("{GUEST_USER_ENV}={}:{}", iso.uid, iso.gid),
            ]),
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
            network_disabled: Some(true),
            // An anonymous volume: the one place besides the tmpfs mounts
            // that the archive API may write to when the root filesystem is
            // read-only (the guest binary goes to /sbx/bin). Auto-remove
            // deletes it with the container. Root-owned: the program cannot
            // write to it; its writable parts are the tmpfs mounts below.
            volumes: Some(vec![GUEST_VOLUME.into()]),
            host_config: Some(hardened_host_config(iso)),
            ..Default::default()
        };
        let mut pulled = false;
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
                    self.note_volume(&r.id).await;
                    return Ok(r.id);
                }
                Err(e) if is_not_found(&e) && !pulled => {
                    pulled = true;
                    if let Err(reason) = self.pull(&spec.image).await {
                        return Err(BackendError::ImageMissing {
                            image: spec.image.clone(),
                            reason,
                        });
                    }
                }
                Err(e) if is_not_found(&e) => {
                    return Err(BackendError::ImageMissing {
                        image: spec.image.clone(),
                        reason: e.to_string(),
                    });
                }
                Err(e) => return Err(engine_err("create a container", e)),
            }
        }
    }

    /// Remember the container's anonymous volume (see `volumes`). Not on
    /// the run path: one inspect per container creation.
    async fn note_volume(&self, id: &str) {
        let Ok(c) = self.docker.inspect_container(id, None).await else {
            return;
        };
        let name = c.mounts.into_iter().flatten().find_map(|m| {
            (m.destination.as_deref() == Some(GUEST_VOLUME))
                .then_some(m.name)
                .flatten()
        });
        if let Some(name) = name {
            self.volumes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.to_string(), name);
        }
    }

    /// Remove the container's volume if the engine did not (it is gone
    /// already in the usual case: the 404 is success).
    async fn remove_volume_of(&self, id: &str) {
        let name = self
            .volumes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if let Some(name) = name {
            // While an auto-remove is still under way the volume is in use
            // (409) for a moment; wait it out briefly.
            for _ in 0..20 {
                match self
                    .docker
                    .remove_volume(&name, None::<RemoveVolumeOptions>)
                    .await
                {
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 409,
                        ..
                    }) => tokio::time::sleep(Duration::from_millis(250)).await,
                    _ => return,
                }
            }
        }
    }

    async fn start_guest(&self, id: &str) -> Result<GuestConn, BackendError> {
        // Into the volume: the root filesystem may be read-only.
        let upload = UploadToContainerOptionsBuilder::default()
            .path(GUEST_VOLUME)
            .build();
        self.docker
            .upload_to_container(
                id,
                Some(upload),
                bollard::body_full(guest_tarball().map_err(|reason| BackendError::Engine {
                    action: "prepare the guest runner".into(),
                    reason,
                })?),
            )
            .await
            .map_err(|e| engine_err("copy the guest runner into the container", e))?;

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
        guest
            .wait_ready(Duration::from_secs(15))
            .await
            .map_err(|reason| BackendError::GuestFailed {
                id: short_id(id),
                reason: format!(
                    "{reason} (does the image run x86_64 Linux binaries? see the agent log)"
                ),
            })?;
        Ok(guest)
    }
}

/// The container's lock-down (see isolation.rs and the README's table of
/// defaults): no network, read-only root with size-limited tmpfs scratch
/// space, every capability dropped except the few the guest needs as root
/// to run the program as another user and clean up after it, no new
/// privileges (setuid binaries and file capabilities do nothing), the
/// engine's default seccomp profile (not overridden), and limits on
/// memory (swap included), CPU and processes.
fn hardened_host_config(iso: &Isolation) -> HostConfig {
    let tmpfs = SCRATCH_MOUNTS
        .iter()
        .map(|(path, mode, exec)| {
            let exec = if *exec { "exec" } else { "noexec" };
            (
                path.to_string(),
                format!(
                    "rw,{exec},nosuid,nodev,size={},mode={mode:o}",
                    iso.tmpfs_size
                ),
            )
        })
        .collect::<HashMap<_, _>>();
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

/// What to do when the engine does not answer.
fn unreachable_hint(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Docker => {
            "start it (`sudo systemctl start docker` or `dockerd`), or set DOCKER_HOST"
        }
        EngineKind::Podman => {
            "start its API service (`podman system service --time=0 unix:///run/podman/podman.sock`), or set CONTAINER_HOST"
        }
    }
}

fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}

#[async_trait]
impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        self.kind.name()
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
        let id = self.create_container(spec).await?;
        match self.start_guest(&id).await {
            Ok(guest) => Ok(Sandbox { id, guest }),
            Err(e) => {
                // Never leave a half-made container behind.
                let _ = self.destroy(&id).await;
                Err(e)
            }
        }
    }

    async fn is_running(&self, id: &str) -> Result<bool, BackendError> {
        match self.docker.inspect_container(id, None).await {
            Ok(c) => Ok(c.state.and_then(|s| s.running).unwrap_or(false)),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(engine_err("inspect a container", e)),
        }
    }

    async fn destroy(&self, id: &str) -> Result<(), BackendError> {
        // `v`: with the container goes its anonymous volume (the guest binary),
        // as auto-remove would do.
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let res = match self.docker.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // Auto-remove already in progress.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(engine_err("remove a container", e)),
        };
        if res.is_ok() {
            self.remove_volume_of(id).await;
        }
        res
    }

    async fn remove_labelled(
        &self,
        labels: &[(String, String)],
        keep_instance: Option<&str>,
    ) -> Result<usize, BackendError> {
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        filters.insert(
            "label".into(),
            labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        );
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_containers(Some(opts))
            .await
            .map_err(|e| engine_err("list containers", e))?;
        let mut removed = 0;
        for c in list {
            let instance = c
                .labels
                .as_ref()
                .and_then(|l| l.get(super::LABEL_INSTANCE))
                .map(String::as_str);
            if keep_instance.is_some() && instance == keep_instance {
                continue;
            }
            if let Some(id) = c.id {
                self.destroy(&id).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn list_instances(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<String>, BackendError> {
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        filters.insert(
            "label".into(),
            labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        );
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_containers(Some(opts))
            .await
            .map_err(|e| engine_err("list containers", e))?;
        let mut instances: Vec<String> = list
            .into_iter()
            .filter_map(|c| c.labels?.remove(super::LABEL_INSTANCE))
            .collect();
        instances.sort();
        instances.dedup();
        Ok(instances)
    }

    async fn ping(&self) -> Result<(), BackendError> {
        match tokio::time::timeout(Duration::from_secs(5), self.docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(BackendError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: e.to_string(),
                hint: unreachable_hint(self.kind),
            }),
            Err(_) => Err(BackendError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: "no answer within 5s".into(),
                hint: unreachable_hint(self.kind),
            }),
        }
    }
}

/// What `sbx doctor` reports about the engine.
pub struct EngineInfo {
    pub endpoint: String,
    pub server_version: String,
    pub api_version: String,
    /// The engine's data directory (images, containers), when it reports one.
    pub root_dir: Option<String>,
}

impl DockerBackend {
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
        Ok(EngineInfo {
            endpoint: self.endpoint.clone(),
            server_version: version.version.unwrap_or_else(|| "unknown".into()),
            api_version: self.api_version.clone(),
            root_dir: info.docker_root_dir,
        })
    }

    /// Whether `image` is present on the engine (no pull is attempted).
    pub async fn image_present(&self, image: &str) -> Result<bool, BackendError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(engine_err("inspect an image", e)),
        }
    }
}

/// The guest is this very binary (built static, see .cargo/config.toml),
/// packed once as a tar archive for the upload API.
fn guest_tarball() -> Result<bytes::Bytes, String> {
    static TAR: OnceLock<Result<bytes::Bytes, String>> = OnceLock::new();
    TAR.get_or_init(|| {
        let path = std::env::var_os("SBX_GUEST_BINARY")
            .map(std::path::PathBuf::from)
            .map(Ok)
            .unwrap_or_else(std::env::current_exe)
            .map_err(|e| format!("cannot locate the sbx binary: {e}"))?;
        let bin = std::fs::read(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if !is_static_elf(&bin) {
            return Err(format!(
                "{} is dynamically linked and cannot run inside arbitrary images; build sbx from the repository (its .cargo/config.toml links statically) or set SBX_GUEST_BINARY to a static sbx",
                path.display()
            ));
        }
        let mut tar = tar::Builder::new(Vec::new());
        // Relative to the volume it is uploaded into.
        let rel = GUEST_BIN
            .strip_prefix(GUEST_VOLUME)
            .expect("the guest lives in its volume")
            .trim_start_matches('/');
        let mut dirs = Vec::new();
        let mut acc = std::path::PathBuf::new();
        for comp in std::path::Path::new(rel).parent().into_iter().flat_map(|p| p.components()) {
            acc.push(comp);
            dirs.push(acc.clone());
        }
        for d in dirs {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_cksum();
            tar.append_data(&mut h, &d, std::io::empty())
                .map_err(|e| e.to_string())?;
        }
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o755);
        h.set_size(bin.len() as u64);
        h.set_cksum();
        tar.append_data(&mut h, rel, bin.as_slice())
            .map_err(|e| e.to_string())?;
        Ok(bytes::Bytes::from(tar.into_inner().map_err(|e| e.to_string())?))
    })
    .clone()
}

/// True when the ELF image has no program interpreter (PT_INTERP), i.e. it
/// needs no dynamic loader from the image it runs in.
fn is_static_elf(bin: &[u8]) -> bool {
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
    use super::is_static_elf;

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
