//! The daemonless backend: each sandbox is a `bwrap` child process of the
//! agent (Debian package `bubblewrap`), with the guest runner as PID 1 of
//! its own PID namespace, speaking the guest protocol over the process's
//! stdin and stdout exactly as it does over a container's attach stream.
//!
//! What a sandbox gets (compare `docker::hardened_host_config`):
//! * new mount, PID, IPC, UTS, network (only `lo`) and cgroup namespaces;
//!   a new user namespace too when the agent is an ordinary user;
//! * the image's files as a read-only root shared by every sandbox of that
//!   image (rootfs.rs), sbx's scratch tmpfs mounts (sized; bwrap mounts
//!   tmpfs `nosuid,nodev` and knows no `noexec` or `nr_inodes`), a new
//!   `/proc`, a minimal `/dev` and `/dev/mqueue`, the guest read-only at
//!   `GUEST_BIN`;
//! * no new privileges (bwrap sets it for every sandbox), a seccomp filter
//!   (seccomp.rs), and capabilities: as root the guest keeps the same few
//!   as in a container (`GUEST_CAPS`) and gives programs a uid of their
//!   own from `[isolation] uid_range`; as an ordinary user the same in a
//!   user namespace of the user's subordinate uids (userns.rs), or where
//!   there are none, bwrap's own one-uid namespace, where the guest and
//!   the program share the uid (as in a pod: the guest is not dumpable)
//!   and no capability is kept;
//! * limits through a cgroup of its own where the agent can write one
//!   (cgroup.rs), else the closest rlimits, which the guest sets on every
//!   program (`GUEST_RLIMITS_ENV`): `RLIMIT_DATA` for memory (each
//!   process's, not the sum), `RLIMIT_NPROC` for processes (counted per
//!   uid in the user namespace), and no CPU limit at all.
//!
//! Sandboxes die with the agent: bwrap's `--die-with-parent` kills the
//! sandbox when the agent (the process that started bwrap) goes, and the
//! guest exits on EOF of its stdin anyway. Nothing outlives the agent, so
//! there is nothing to reap.

mod cgroup;
mod layers;
mod registry;
pub mod rootfs;
mod seccomp;
mod userns;

use super::docker::identity;
use super::guest_conn::decode_events;
use super::{
    Backend, BackendError, EVENT_BUFFER, GuestConn, GuestEvent, Labelled, Sandbox, SandboxSpec,
};
use crate::guest::wire::{
    GUEST_BIN, GUEST_ENV_PREFIX, GUEST_MARKER_ENV, GUEST_PRIVATE_DIR, GUEST_RLIMITS_ENV,
    GUEST_USER_ENV, GUEST_WARM_ENV, ProcessLimits, SCRATCH_MOUNTS, SeenLimits,
};
use crate::protocol::FrameDecoder;
use async_trait::async_trait;
use rootfs::Rootfs;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::sync::mpsc;

/// The Debian (and most distributions') package that has `bwrap`.
pub const PACKAGE: &str = "bubblewrap";

/// Capabilities the guest keeps when the agent is root (see
/// `docker::GUEST_CAPS` for why each).
const GUEST_CAPS: &[&str] = &[
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_KILL",
    "CAP_CHOWN",
    "CAP_FOWNER",
    "CAP_DAC_OVERRIDE",
];

/// The uid (and gid) the guest and its programs have inside the sandbox
/// of an ordinary user's agent: not 0, so nothing in the sandbox looks
/// like root to programs that check.
const UNPRIVILEGED_UID: u32 = 1000;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// In the environment of each sandbox's `bwrap` process (not of the
/// sandbox: bwrap clears that): its id and labels, one `key=value` a
/// line, so that the sandboxes of an agent can be found from outside
/// (the tests check that none outlives its agent).
pub const LABELS_ENV: &str = "SBX_SANDBOX_LABELS";

/// `bwrap` on `PATH`, if it is installed.
pub fn find_bwrap() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("bwrap"))
        .find(|p| p.is_file())
}

/// The error of a machine without `bwrap`.
pub fn missing() -> BackendError {
    BackendError::Engine {
        action: "start a bubblewrap sandbox".into(),
        reason: format!(
            "`bwrap` is not on PATH; install the package `{PACKAGE}` (Debian, Ubuntu: apt-get install {PACKAGE})"
        ),
    }
}

/// Whether this user can make a user namespace (what bwrap needs when it
/// is not run as root): `Err` says why not.
pub fn userns_works(bwrap: &std::path::Path) -> Result<(), String> {
    let out = std::process::Command::new(bwrap)
        .args(["--unshare-user", "--ro-bind", "/", "/", "--", "/bin/true"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bwrap.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "{} (the kernel refuses unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)",
            err.trim()
        ))
    }
}

/// Whether sandboxes get cgroup limits here.
pub fn cgroups_available() -> bool {
    cgroup::available()
}

/// Whether bwrap gets a seccomp filter on this architecture.
pub fn seccomp_available() -> bool {
    seccomp::program(false).is_some()
}

struct Entry {
    child: tokio::process::Child,
    labels: Vec<(String, String)>,
    cgroup: Option<cgroup::Cgroup>,
}

pub struct BwrapBackend {
    bwrap: PathBuf,
    version: String,
    /// The agent is root: no user namespace, a uid per sandbox, cgroups.
    privileged: bool,
    sandboxes: Mutex<HashMap<String, Entry>>,
    /// The program uid of each sandbox (privileged only); no files: the
    /// passwd and group are handed to bwrap as data.
    identities: identity::Identities,
    /// Image name → its unpacked root, found or imported once per agent.
    images: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Arc<Rootfs>>>>>,
    /// Shared locks on the unpacked images this agent used (see
    /// `rootfs::hold`), held until it exits.
    held: Mutex<Vec<std::fs::File>>,
    /// An ordinary user's namespace with subordinate uids (userns.rs),
    /// made at the first creation; `None`: not to be had here.
    userns: tokio::sync::OnceCell<Option<Arc<userns::UserNs>>>,
    limits_unapplied: AtomicBool,
    /// A sandbox ran under rlimits instead of a cgroup.
    limits_per_process: AtomicBool,
}

impl BwrapBackend {
    /// `bwrap` must be installed; nothing else is asked for up front (an
    /// engine to export images from is needed only for an image not
    /// unpacked yet).
    pub fn connect() -> Result<BwrapBackend, BackendError> {
        let bwrap = find_bwrap().ok_or_else(missing)?;
        let version = std::process::Command::new(&bwrap)
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "bubblewrap".into());
        cgroup::sweep_orphans();
        Ok(BwrapBackend {
            bwrap,
            version,
            privileged: crate::paths::uid() == 0,
            sandboxes: Default::default(),
            identities: identity::Identities::new(None),
            images: Default::default(),
            held: Default::default(),
            userns: Default::default(),
            limits_unapplied: Default::default(),
            limits_per_process: Default::default(),
        })
    }

    /// The unpacked root of `image`, importing it from the local engine
    /// the first time any agent needs it.
    async fn rootfs(
        &self,
        image: &str,
        labels: &[(String, String)],
    ) -> Result<Arc<Rootfs>, BackendError> {
        let cell = self
            .images
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(image.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let root = rootfs::import(image, labels, false).await?;
            self.hold(&root)?;
            Ok(Arc::new(root))
        })
        .await
        .cloned()
    }

    /// The namespace of an ordinary user's sandboxes, if it can be had.
    async fn userns(&self) -> Option<Arc<userns::UserNs>> {
        if self.privileged {
            return None;
        }
        self.userns
            .get_or_init(|| async {
                match userns::create().await {
                    Ok(ns) => Some(Arc::new(ns)),
                    Err(why) => {
                        eprintln!(
                            "sbx agent: programs share the guest's uid in every sandbox: {why}"
                        );
                        None
                    }
                }
            })
            .await
            .clone()
    }

    /// Keep `root` from being pruned while this agent lives.
    fn hold(&self, root: &Rootfs) -> Result<(), BackendError> {
        let lock =
            rootfs::hold(&root.root).map_err(|e| engine_err("lock the unpacked image", e))?;
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(lock);
        Ok(())
    }

    /// As `DockerBackend::check_limits`: the limits asked for are those
    /// the guest finds itself under (its cgroup's, or the rlimits it sets
    /// on every program where there is none), else the sandbox is
    /// refused unless `[isolation] allow_unlimited`.
    fn check_limits(
        &self,
        spec: &SandboxSpec,
        seen: Option<SeenLimits>,
    ) -> Result<(), BackendError> {
        let seen = seen.unwrap_or_default();
        let iso = &spec.isolation;
        let memory = spec.limits.memory.or(iso.memory);
        let pids = spec.limits.pids.or(iso.pids).map(|p| p as u64);
        let mut missing = Vec::new();
        if memory.is_some_and(|m| seen.memory.is_none_or(|s| s > m)) {
            missing.push("memory");
        }
        if pids.is_some_and(|p| seen.pids.is_none_or(|s| s > p)) {
            missing.push("process");
        }
        if missing.is_empty() {
            if seen.per_process && (memory.is_some() || pids.is_some()) {
                self.limits_per_process.store(true, Ordering::Relaxed);
            }
            return Ok(());
        }
        let what = missing.join(" and ");
        if iso.allow_unlimited {
            let first = !self.limits_unapplied.swap(true, Ordering::Relaxed);
            if first || crate::verbose::engine_notices() {
                eprintln!(
                    "sbx agent: the sandbox runs without its {what} limits ([isolation] allow_unlimited = true)"
                );
            }
            return Ok(());
        }
        Err(BackendError::LimitsLost {
            what,
            cause:
                "the sandbox's guest reports neither a cgroup's limits nor the rlimits it was given"
                    .into(),
        })
    }

    /// bwrap's arguments for sandbox `id`; `fds` are the descriptors of
    /// the data it reads (seccomp filter, passwd, group).
    fn arguments(&self, id: &str, spec: &SandboxSpec, layout: &Layout) -> Vec<String> {
        let Layout {
            root,
            guest,
            user,
            fds,
            cgroup,
            userns,
            rlimits,
        } = *layout;
        let iso = &spec.isolation;
        let mut a: Vec<String> = [
            "--die-with-parent",
            "--new-session",
            "--as-pid-1",
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
        if self.privileged || userns.is_some() {
            if let Some(fd) = userns {
                push(&["--userns", &fd.to_string()]);
            }
            push(&["--cap-drop", "ALL"]);
            for cap in GUEST_CAPS {
                push(&["--cap-add", cap]);
            }
        } else {
            let uid = UNPRIVILEGED_UID.to_string();
            push(&[
                "--unshare-user",
                "--disable-userns",
                "--uid",
                &uid,
                "--gid",
                &uid,
            ]);
        }
        push(&["--hostname", id]);
        push(&["--ro-bind", &root.root.to_string_lossy(), "/"]);
        push(&[
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--mqueue",
            "/dev/mqueue",
        ]);
        let size = iso.tmpfs_size.to_string();
        for (path, mode, _) in SCRATCH_MOUNTS {
            push(&[
                "--perms",
                &format!("{mode:o}"),
                "--size",
                &size,
                "--tmpfs",
                path,
            ]);
        }
        push(&[
            "--perms",
            "755",
            "--size",
            "1048576",
            "--tmpfs",
            GUEST_PRIVATE_DIR,
        ]);
        push(&["--ro-bind", &guest.to_string_lossy(), GUEST_BIN]);
        if let Some((passwd, group)) = &fds.accounts {
            // Readable by everyone, as in the image (bwrap's default is 0600).
            push(&[
                "--perms",
                "644",
                "--ro-bind-data",
                &passwd.as_raw_fd().to_string(),
                "/etc/passwd",
            ]);
            push(&[
                "--perms",
                "644",
                "--ro-bind-data",
                &group.as_raw_fd().to_string(),
                "/etc/group",
            ]);
        }
        for (dir, at) in cgroup.map(|c| c.guest_mounts()).unwrap_or_default() {
            push(&["--ro-bind", &dir.to_string_lossy(), &at]);
        }
        if let Some(f) = &fds.seccomp {
            push(&["--seccomp", &f.as_raw_fd().to_string()]);
        }
        push(&["--clearenv"]);
        let mut env: Vec<(String, String)> = root
            .env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            // An image cannot speak for the agent (its own rlimits, say).
            .filter(|(k, _)| !k.starts_with(GUEST_ENV_PREFIX))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push((
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            ));
        }
        env.push(("HOSTNAME".into(), id.to_string()));
        env.push((GUEST_MARKER_ENV.into(), "1".into()));
        if let Some((uid, gid)) = user {
            env.push((GUEST_USER_ENV.into(), format!("{uid}:{gid}")));
        }
        if let Some(w) = &spec.warm_interpreter {
            env.push((
                GUEST_WARM_ENV.into(),
                serde_json::to_string(w).expect("plain data serializes"),
            ));
        }
        if let Some(r) = rlimits {
            env.push((
                GUEST_RLIMITS_ENV.into(),
                serde_json::to_string(&r).expect("plain data serializes"),
            ));
        }
        for (k, v) in &env {
            push(&["--setenv", k, v]);
        }
        push(&["--chdir", "/", "--", GUEST_BIN, "guest"]);
        a
    }

    /// Kill a sandbox's bwrap (its sandbox dies with it), wait for it, and
    /// remove its cgroup.
    async fn finish(&self, id: &str, mut entry: Entry) {
        let _ = entry.child.start_kill();
        let _ = entry.child.wait().await;
        if let Some(cg) = entry.cgroup.take() {
            let _ = tokio::task::spawn_blocking(move || cg.remove()).await;
        }
        self.identities.release(id);
    }
}

/// What a sandbox is made of, for [`BwrapBackend::arguments`].
#[derive(Clone, Copy)]
struct Layout<'a> {
    root: &'a Rootfs,
    guest: &'a std::path::Path,
    /// uid and gid of the program, when the guest switches to one.
    user: Option<(u32, u32)>,
    fds: &'a Fds,
    cgroup: Option<&'a cgroup::Cgroup>,
    /// The descriptor of the user namespace to make the sandbox in.
    userns: Option<i32>,
    /// Without a cgroup: the limits the guest sets as rlimits instead.
    rlimits: Option<ProcessLimits>,
}

/// Data bwrap reads from descriptors the child inherits.
#[derive(Default)]
struct Fds {
    seccomp: Option<OwnedFd>,
    accounts: Option<(OwnedFd, OwnedFd)>,
}

impl Fds {
    fn raw(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self.seccomp.iter().map(|f| f.as_raw_fd()).collect();
        if let Some((p, g)) = &self.accounts {
            v.push(p.as_raw_fd());
            v.push(g.as_raw_fd());
        }
        v
    }
}

/// An anonymous file holding `data`, read from its start by bwrap.
fn memfd(name: &std::ffi::CStr, data: &[u8]) -> std::io::Result<OwnedFd> {
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(owned);
    std::io::Write::write_all(&mut file, data)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))?;
    Ok(file.into())
}

fn engine_err(action: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::Engine {
        action: action.into(),
        reason: e.to_string(),
    }
}

#[async_trait]
impl Backend for BwrapBackend {
    fn name(&self) -> &'static str {
        "bubblewrap"
    }

    fn limits_unapplied(&self) -> bool {
        self.limits_unapplied.load(Ordering::Relaxed)
    }

    fn limits_per_process(&self) -> bool {
        self.limits_per_process.load(Ordering::Relaxed)
    }

    fn describe(&self) -> String {
        format!(
            "{} at {} ({})",
            self.version,
            self.bwrap.display(),
            if self.privileged {
                "as root: no user namespace, a uid per sandbox"
            } else {
                "in a user namespace"
            }
        )
    }

    async fn create(&self, spec: &SandboxSpec) -> Result<Sandbox, BackendError> {
        if !spec.isolation.read_only_root {
            return Err(engine_err(
                "start a bubblewrap sandbox",
                "the bubblewrap backend shares one unpacked image among its sandboxes and always mounts it read-only; remove read_only_root = false from [isolation]",
            ));
        }
        if let Some(name) = &spec.isolation.runtime {
            return Err(BackendError::Runtime {
                name: name.clone(),
                reason:
                    "the bubblewrap backend makes its sandboxes with bwrap, not with an OCI runtime"
                        .into(),
                fix: "remove the setting, or use a container engine (--backend docker or podman) that runs it",
            });
        }
        if spec.network == "bridge" {
            return Err(engine_err(
                "start a bubblewrap sandbox",
                "the bubblewrap backend gives sandboxes no network but their own loopback (no engine provides a bridge); use network = \"none\" or a container engine",
            ));
        }
        let root = self.rootfs(&spec.image, &spec.labels).await?;
        let guest = super::guest_binary().map_err(|reason| BackendError::Engine {
            action: "prepare the guest runner".into(),
            reason,
        })?;
        let id = format!(
            "{:08x}{:04x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed) & 0xffff
        );
        let userns = self.userns().await;
        // Uids of their own for programs: as root any, in the user's
        // namespace those it maps (as under rootless Podman).
        let range = match (&userns, spec.isolation.uid_range) {
            (_, None) => None,
            (_, Some(r)) if self.privileged => Some(r),
            (Some(ns), Some(r)) => Some(
                identity::rootless_range(r, ns.mapped)
                    .map_err(|reason| engine_err("choose the program's uid", reason))?,
            ),
            (None, Some(_)) => None,
        };
        let identity = match range {
            Some(range) => Some(
                self.identities
                    .allocate(range)
                    .map_err(|reason| engine_err("choose the program's uid", reason))?,
            ),
            None => None,
        };
        let user = match &identity {
            Some(i) => Some((i.uid, i.uid)),
            None if self.privileged || userns.is_some() => {
                Some((spec.isolation.uid, spec.isolation.gid))
            }
            None => None,
        };
        let made = self
            .start(&id, spec, &root, &guest.path, user, userns)
            .await;
        match made {
            Ok(sandbox) => {
                if let Some(i) = &identity {
                    self.identities.bind(&id, i);
                }
                Ok(sandbox)
            }
            Err(e) => {
                if let Some(i) = &identity {
                    self.identities.discard(i);
                }
                Err(e)
            }
        }
    }

    async fn is_running(&self, id: &str) -> Result<bool, BackendError> {
        let mut map = self.sandboxes.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .get_mut(id)
            .is_some_and(|e| matches!(e.child.try_wait(), Ok(None))))
    }

    async fn destroy(&self, id: &str) -> Result<(), BackendError> {
        let entry = self
            .sandboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if let Some(entry) = entry {
            self.finish(id, entry).await;
        }
        Ok(())
    }

    async fn list_labelled(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<Labelled>, BackendError> {
        let map = self.sandboxes.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .iter()
            .filter(|(_, e)| labels.iter().all(|l| e.labels.contains(l)))
            .map(|(id, e)| Labelled {
                id: id.clone(),
                instance: e
                    .labels
                    .iter()
                    .find(|(k, _)| k == super::LABEL_INSTANCE)
                    .map(|(_, v)| v.clone()),
            })
            .collect())
    }

    async fn remove_outdated(&self) -> Vec<String> {
        tokio::task::spawn_blocking(rootfs::prune)
            .await
            .unwrap_or_default()
    }

    /// The kernel's count of OOM kills in the sandbox's memory cgroup: the
    /// guest is the only process of a sandbox that dies with it.
    async fn died_of_oom(&self, id: &str, _since: std::time::SystemTime) -> Option<bool> {
        let map = self.sandboxes.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id)?.cgroup.as_ref()?.oom_kills().map(|n| n > 0)
    }

    /// Unpacked, or in the local engine it is unpacked from at the first
    /// sandbox's creation (so a local image is not "pulled").
    async fn image_present(&self, image: &str) -> Result<Option<bool>, BackendError> {
        if rootfs::find(image).is_some() {
            return Ok(Some(true));
        }
        Ok(Some(rootfs::in_engine(image).await))
    }

    async fn pull(
        &self,
        image: &str,
        stall: Option<Duration>,
        progress: &tokio::sync::watch::Sender<crate::model::pull::PullProgress>,
    ) -> Result<crate::model::pull::PullProgress, BackendError> {
        let started = std::time::Instant::now();
        let labels = super::sandbox_labels(
            &crate::paths::RuntimePaths::from_env().agent_id(),
            None,
            None,
        );
        let root = rootfs::pull(image, &labels, stall, progress).await?;
        self.hold(&root)?;
        self.images
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(image.to_string(), Arc::new(Arc::new(root).into()));
        // A registry pull counted its layers and bytes; an export is one.
        let shown = progress.borrow().clone();
        let layers = shown.layers.max(1);
        let done = crate::model::pull::PullProgress {
            image: image.to_string(),
            layers,
            layers_done: layers,
            bytes: shown.bytes,
            bytes_done: shown.bytes_done,
            elapsed_ms: started.elapsed().as_millis() as u64,
            done: true,
            ..Default::default()
        };
        progress.send_replace(done.clone());
        Ok(done)
    }
}

impl BwrapBackend {
    /// Start bwrap for sandbox `id` and wait for its guest's first `Ready`.
    async fn start(
        &self,
        id: &str,
        spec: &SandboxSpec,
        root: &Arc<Rootfs>,
        guest: &std::path::Path,
        user: Option<(u32, u32)>,
        userns: Option<Arc<userns::UserNs>>,
    ) -> Result<Sandbox, BackendError> {
        let iso = &spec.isolation;
        let limits = cgroup::Limits {
            memory: spec.limits.memory.or(iso.memory),
            pids: spec.limits.pids.or(iso.pids).map(|p| p as u64),
            nano_cpus: spec.limits.nano_cpus.map(|n| n as i64).or(iso.nano_cpus),
        };
        let cg = cgroup::Cgroup::create(id, limits)
            .map_err(|e| engine_err("make the sandbox's cgroup", e))?;
        let mut fds = Fds::default();
        let data = |name: &std::ffi::CStr, bytes: &[u8]| {
            memfd(name, bytes).map_err(|e| engine_err("hand data to bwrap", e))
        };
        let rlimits = (cg.is_none() && (limits.memory.is_some() || limits.pids.is_some()))
            .then_some(ProcessLimits {
                memory: limits.memory,
                pids: limits.pids,
            });
        if let Some(bpf) = seccomp::program(rlimits.is_some()) {
            fds.seccomp = Some(data(c"sbx-seccomp", &bpf)?);
        }
        if let Some((uid, _)) = user {
            let read = |f: &str| std::fs::read_to_string(root.root.join(f)).unwrap_or_default();
            let (passwd, group) = identity::with_user(&read("etc/passwd"), &read("etc/group"), uid);
            fds.accounts = Some((
                data(c"sbx-passwd", passwd.as_bytes())?,
                data(c"sbx-group", group.as_bytes())?,
            ));
        }
        let layout = Layout {
            root,
            guest,
            user,
            fds: &fds,
            cgroup: cg.as_ref(),
            userns: userns.as_ref().map(|n| n.fd()),
            rlimits,
        };
        let args = self.arguments(id, spec, &layout);
        let procs: Vec<std::ffi::CString> = cg
            .as_ref()
            .map(|c| c.procs_files())
            .unwrap_or_default()
            .iter()
            .filter_map(|p| std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).ok())
            .collect();
        let mut inherit = fds.raw();
        inherit.extend(layout.userns);
        let mut cmd = tokio::process::Command::new(&self.bwrap);
        let marks: String = std::iter::once(("io.sbx.sandbox".to_string(), id.to_string()))
            .chain(spec.labels.iter().cloned())
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        cmd.args(&args)
            .env(LABELS_ENV, marks)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        // Between fork and exec (async-signal-safe calls only): join the
        // cgroups before anything of the sandbox runs, and let bwrap
        // inherit the data descriptors.
        unsafe {
            cmd.pre_exec(move || {
                for p in &procs {
                    let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // "0": the writing process itself.
                    let ok = libc::write(fd, b"0".as_ptr().cast(), 1) == 1;
                    libc::close(fd);
                    if !ok {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                for &fd in &inherit {
                    if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                if let Some(c) = cg {
                    c.remove();
                }
                return Err(engine_err("start bwrap", e));
            }
        };
        drop(fds);
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        tokio::spawn(async move {
            let mut decoder = FrameDecoder::default();
            let mut buf = vec![0u8; 64 << 10];
            loop {
                match stdout.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => {
                        for ev in decode_events(&mut decoder, &buf[..n]) {
                            let fatal = matches!(ev, GuestEvent::Closed(_));
                            if tx.send(ev).await.is_err() || fatal {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx
                            .send(GuestEvent::Closed(format!("sandbox stream failed: {e}")))
                            .await;
                        return;
                    }
                }
            }
            let _ = tx
                .send(GuestEvent::Closed(
                    "the sandbox's output stream ended".into(),
                ))
                .await;
        });
        let short = id.to_string();
        tokio::spawn(async move {
            // bwrap's and the guest's own diagnostics, for the agent log.
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[{short}] {line}");
            }
        });
        self.sandboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id.to_string(),
                Entry {
                    child,
                    labels: spec.labels.clone(),
                    cgroup: cg,
                },
            );
        let mut guest = GuestConn::new(Box::pin(stdin), rx);
        let ready = async {
            let seen = guest
                .wait_first_ready(Duration::from_secs(15))
                .await
                .map_err(|reason| BackendError::GuestFailed {
                    id: id.to_string(),
                    reason: format!("{reason} (see the agent log for bwrap's message)"),
                })?;
            self.check_limits(spec, seen)
        };
        match ready.await {
            Ok(()) => Ok(Sandbox {
                id: id.to_string(),
                guest,
            }),
            Err(e) => {
                let _ = self.destroy(id).await;
                Err(e)
            }
        }
    }
}
