//! `sbx doctor`: check everything sbx depends on and say how to fix what is
//! broken.

use crate::backend::Backend;
use crate::backend::docker::DockerBackend;
use crate::client::{Client, ClientError};
use crate::config::Config;
use crate::lang::LANGUAGES;
use crate::model::target::{EngineKind, Target};
use crate::paths::RuntimePaths;
use crate::protocol::{Request, Response};
use clap::Args;
use std::io::IsTerminal;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

#[derive(Args, Debug)]
#[command(
    about = "Check the engine, images, agent, runtime directory, disk and config",
    long_about = "Check everything sbx depends on: the container engine and its API \
version, the runtime directory's ownership and permissions, the agent, the image \
of every language, free disk space and the config file. Each problem comes with a \
one-line fix. Exits 1 when something is broken (warnings alone exit 0).",
    after_help = "Examples:\n  sbx doctor\n  DOCKER_HOST=unix:///run/podman/podman.sock sbx doctor"
)]
pub struct DoctorArgs {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

struct Report {
    color: bool,
    failed: bool,
}

impl Report {
    fn line(&mut self, status: Status, check: &str, message: &str, fix: Option<&str>) {
        let (word, code) = match status {
            Status::Ok => ("ok", "32"),
            Status::Warn => ("warn", "33"),
            Status::Fail => ("FAIL", "31"),
        };
        if status == Status::Fail {
            self.failed = true;
        }
        let word = if self.color {
            format!("\x1b[{code}m{word:<4}\x1b[0m")
        } else {
            format!("{word:<4}")
        };
        println!("{word}  {check:<11} {message}");
        if let Some(fix) = fix {
            println!("      {:<11} fix: {fix}", "");
        }
    }
}

fn free_bytes(path: &Path) -> Option<u64> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail as u64 * st.f_frsize as u64)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

pub async fn execute(_args: DoctorArgs, g: &super::Globals) -> anyhow::Result<i32> {
    let config = g.config_path();
    let mut r = Report {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        failed: false,
    };

    let path = crate::config::config_path(config);
    let shown = path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(no config location)".into());
    let cfg = match Config::load(config) {
        Ok(cfg) => {
            let exists = path.as_ref().is_some_and(|p| p.exists());
            let msg = if exists {
                shown.clone()
            } else {
                format!("{shown} does not exist: built-in defaults")
            };
            r.line(Status::Ok, "config", &msg, None);
            cfg
        }
        Err(e) => {
            r.line(
                Status::Fail,
                "config",
                &e.to_string(),
                Some(&format!("edit {shown} (or point SBX_CONFIG elsewhere)")),
            );
            Config::default()
        }
    };

    let paths = RuntimePaths::from_env();
    match std::fs::symlink_metadata(&paths.dir) {
        Err(_) => r.line(
            Status::Ok,
            "runtime dir",
            &format!("{} (created on first use)", paths.dir.display()),
            None,
        ),
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            let me = crate::paths::uid();
            if meta.uid() != me {
                r.line(
                    Status::Fail,
                    "runtime dir",
                    &format!("{} belongs to uid {}", paths.dir.display(), meta.uid()),
                    Some("remove it, or set XDG_RUNTIME_DIR to a directory of your own"),
                );
            } else if mode & 0o077 != 0 {
                r.line(
                    Status::Fail,
                    "runtime dir",
                    &format!("{} has mode {mode:o}", paths.dir.display()),
                    Some(&format!("chmod 700 {}", paths.dir.display())),
                );
            } else {
                r.line(
                    Status::Ok,
                    "runtime dir",
                    &format!("{} (mode {mode:o}, yours)", paths.dir.display()),
                    None,
                );
            }
        }
    }

    // The program the agent puts into containers (README, "How it works").
    match crate::backend::guest_binary() {
        Ok(g) => r.line(
            Status::Ok,
            "guest",
            &format!(
                "{} ({:.1} MB, static)",
                g.path.display(),
                g.size as f64 / 1e6
            ),
            None,
        ),
        Err(e) => r.line(
            Status::Fail,
            "guest",
            &e,
            Some("reinstall with scripts/setup.sh (it puts sbx-guest beside sbx)"),
        ),
    }

    // The engine an agent would be started for (a broken profile or
    // --backend leaves it to detection; the config line above says why).
    let target = cfg
        .selected(&g.choice)
        .ok()
        .and_then(|p| cfg.target(&p, &g.choice).ok())
        .unwrap_or_else(|| Target::engine(crate::backend::detect()));
    let kubernetes = target.engine == EngineKind::Kubernetes;
    let bubblewrap = target.engine == EngineKind::Bubblewrap;
    if kubernetes {
        check_cluster(&mut r, &target).await;
    }
    if bubblewrap {
        check_bubblewrap(&mut r);
    }
    let engine = if kubernetes || bubblewrap {
        None
    } else {
        check_engine(&mut r, target.engine).await
    };

    if let (Some(name), Some((_, info))) = (&cfg.isolation.0.runtime, &engine) {
        check_runtime(&mut r, target.engine, name, &info.runtimes);
    }
    if let Some((_, info)) = &engine {
        check_rootless(&mut r, info, cfg.isolation.0.allow_unlimited);
    }

    match Client::connect(None).await {
        Ok(mut client) => match client.request(&Request::Status).await {
            Ok(Response::Status { pid, engine, .. }) => r.line(
                Status::Ok,
                "agent",
                &format!("running, pid {pid}, {engine}"),
                None,
            ),
            Ok(_) | Err(_) => r.line(
                Status::Fail,
                "agent",
                "running but not answering status requests",
                Some("sbx agent stop (it restarts on the next run)"),
            ),
        },
        Err(ClientError::NotRunning) => r.line(
            Status::Ok,
            "agent",
            "not running (it starts with the first `sbx run`)",
            None,
        ),
        Err(e) => r.line(
            Status::Fail,
            "agent",
            &e.to_string(),
            Some("sbx agent stop, then retry"),
        ),
    }

    if let Some((backend, _)) = &engine {
        for lang in LANGUAGES {
            let image = cfg.image_for(lang);
            match backend.image_present(&image).await {
                Ok(Some(true)) | Ok(None) => r.line(
                    Status::Ok,
                    "image",
                    &format!("{}: {image}", lang.name),
                    None,
                ),
                Ok(Some(false)) => r.line(
                    Status::Warn,
                    "image",
                    &format!("{}: {image} is not present; it is pulled on first use", lang.name),
                    Some(&format!(
                        "without a registry, build one (bash scripts/images.sh) and set [languages.{}] image in {shown}",
                        lang.name
                    )),
                ),
                Err(e) => r.line(Status::Fail, "image", &e.to_string(), None),
            }
        }
    }

    // The agent's machine keeps no images or containers with Kubernetes,
    // but its runtime directory and logs still live here.
    let disk_path = engine
        .as_ref()
        .and_then(|(_, info)| info.root_dir.clone())
        .filter(|d| Path::new(d).exists())
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    match free_bytes(Path::new(&disk_path)) {
        Some(free) if free < 1 << 30 => r.line(
            Status::Fail,
            "disk",
            &format!("only {} free under {disk_path}", gib(free)),
            Some("free space (e.g. `docker system prune`) before creating containers"),
        ),
        Some(free) if free < 5 << 30 => r.line(
            Status::Warn,
            "disk",
            &format!("{} free under {disk_path}", gib(free)),
            Some("image builds need a few GiB; consider `docker system prune`"),
        ),
        Some(free) => r.line(
            Status::Ok,
            "disk",
            &format!("{} free under {disk_path}", gib(free)),
            None,
        ),
        None => r.line(
            Status::Warn,
            "disk",
            &format!("cannot measure free space under {disk_path}"),
            None,
        ),
    }

    Ok(if r.failed { 1 } else { 0 })
}

/// A rootless engine: subordinate uids for the programs' users, and
/// whether the limits sbx asks for are applied (never silently lost: a
/// pool is refused without them unless `allow_unlimited` says otherwise,
/// and then it is shown here).
fn check_rootless(
    r: &mut Report,
    info: &crate::backend::docker::EngineInfo,
    allow_unlimited: bool,
) {
    if !info.rootless {
        return;
    }
    let min = crate::backend::docker::MIN_ROOTLESS_UIDS;
    if info.subordinate_uids < min {
        r.line(
            Status::Fail,
            "rootless",
            &format!(
                "your user has {} subordinate uids in /etc/subuid; a uid per container needs at least {min}",
                info.subordinate_uids
            ),
            Some("sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER, then podman system migrate"),
        );
    } else {
        r.line(
            Status::Ok,
            "rootless",
            &format!(
                "the engine runs as you; programs get uids of your {} subordinate ones",
                info.subordinate_uids
            ),
            None,
        );
    }
    if !info.cgroup_v1 {
        return;
    }
    if allow_unlimited {
        r.line(
            Status::Warn,
            "limits",
            "NOT APPLIED: rootless on cgroup v1 ignores memory, process and CPU limits, and [isolation] allow_unlimited = true runs programs without them",
            Some("use a rootful engine, or a cgroup v2 host with delegation, to get them back"),
        );
    } else {
        r.line(
            Status::Fail,
            "limits",
            "rootless on cgroup v1 cannot apply memory, process and CPU limits; sbx refuses to make containers without them",
            Some("use a rootful engine or a cgroup v2 host with delegation, or set allow_unlimited = true in [isolation] to run without limits"),
        );
    }
}

/// With the Kubernetes backend: the API server answers with the kubeconfig
/// found, and the namespace allows what the agent does (a pod list is the
/// first call the Role must allow). Images are the nodes' business.
async fn check_cluster(r: &mut Report, target: &Target) {
    use crate::backend::kubernetes::KubeBackend;
    match KubeBackend::connect(target).await {
        Ok(b) => {
            r.line(Status::Ok, "cluster", &b.describe(), None);
            match b.missing_rights().await {
                Ok(missing) if missing.is_empty() => r.line(
                    Status::Ok,
                    "rights",
                    "every right of deploy/kubernetes/rbac.yaml in the namespace",
                    None,
                ),
                Ok(missing) => r.line(
                    Status::Fail,
                    "rights",
                    &format!("the credentials may not {}", missing.join(", ")),
                    Some("kubectl apply -n NAMESPACE -f deploy/kubernetes/rbac.yaml, and bind the Role to this user"),
                ),
                Err(e) => r.line(
                    Status::Fail,
                    "rights",
                    &e.to_string(),
                    Some("kubectl auth can-i --list -n NAMESPACE shows what this user may do"),
                ),
            }
            r.line(
                Status::Ok,
                "images",
                "pulled by the cluster's nodes (with kind: `kind load docker-image IMAGE`)",
                None,
            );
        }
        Err(e) => r.line(
            Status::Fail,
            "cluster",
            &e.to_string(),
            Some("set KUBECONFIG or [kubernetes] context; `kubectl cluster-info` must work"),
        ),
    }
}

/// The local engine answers; its details for the image and disk checks.
/// `[isolation] runtime`: the engine has it registered. Podman's
/// compatible API ignores a container's runtime whatever it lists.
fn check_runtime(r: &mut Report, engine: EngineKind, name: &str, known: &[String]) {
    use crate::backend::docker::{PODMAN_RUNTIME_FIX, RUNTIME_FIX};
    if engine == EngineKind::Podman {
        r.line(
            Status::Fail,
            "runtime",
            &format!(
                "`{name}` cannot be asked for per container through Podman's Docker-compatible API"
            ),
            Some(PODMAN_RUNTIME_FIX),
        );
    } else if known.iter().any(|k| k == name) {
        r.line(
            Status::Ok,
            "runtime",
            &format!("`{name}` is registered with the engine"),
            None,
        );
    } else {
        r.line(
            Status::Fail,
            "runtime",
            &format!(
                "the engine does not know the OCI runtime `{name}` (it has: {})",
                known.join(", ")
            ),
            Some(RUNTIME_FIX),
        );
    }
}

/// The daemonless backend: `bwrap`, user namespaces (what an ordinary
/// user's sandboxes need), limits and seccomp, and where images come from.
fn check_bubblewrap(r: &mut Report) {
    use crate::backend::bubblewrap;
    let Some(bwrap) = bubblewrap::find_bwrap() else {
        r.line(
            Status::Fail,
            "engine",
            "bubblewrap: `bwrap` is not on PATH",
            Some(&format!(
                "install the package `{}` (apt-get install {})",
                bubblewrap::PACKAGE,
                bubblewrap::PACKAGE
            )),
        );
        return;
    };
    let version = std::process::Command::new(&bwrap)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let root = crate::paths::uid() == 0;
    r.line(
        Status::Ok,
        "engine",
        &format!(
            "bubblewrap ({version} at {}; chosen by --backend, SBX_BACKEND, the profile, or auto when neither Docker nor Podman answers); {}",
            bwrap.display(),
            if root {
                "as root: no user namespace, programs get a uid of their own".to_string()
            } else {
                match crate::backend::docker::identity::subordinate_uids(crate::paths::uid()) {
                    0 => "as an ordinary user without subordinate uids (/etc/subuid): programs share the guest's uid".to_string(),
                    n => format!("as an ordinary user: a user namespace of your {n} subordinate uids, programs get a uid of their own"),
                }
            }
        ),
        None,
    );
    match bubblewrap::userns_works(&bwrap) {
        Ok(()) => r.line(
            Status::Ok,
            "userns",
            "unprivileged user namespaces work",
            None,
        ),
        Err(why) if root => r.line(
            Status::Warn,
            "userns",
            &format!("unprivileged user namespaces do not work ({why}); root does not need them"),
            None,
        ),
        Err(why) => r.line(
            Status::Fail,
            "userns",
            &format!("unprivileged user namespaces do not work: {why}"),
            Some("enable them (sysctl kernel.unprivileged_userns_clone=1; user.max_user_namespaces=15000), or run the agent as root"),
        ),
    }
    if bubblewrap::cgroups_available() {
        r.line(
            Status::Ok,
            "limits",
            "memory, process and CPU limits through a cgroup v1 per sandbox",
            None,
        );
    } else {
        r.line(
            Status::Warn,
            "limits",
            "per-process rlimits (no writable cgroup v1 hierarchy): memory bounds each process's data, not the sandbox's total; processes are counted per program uid; no CPU limit",
            Some("run the agent as root on a cgroup v1 host for a cgroup's memory, process and CPU limits per sandbox"),
        );
        // Before 5.14 the process count of RLIMIT_NPROC is the uid's on
        // the whole host, not in the sandbox's user namespace.
        if let Some((major, minor)) = kernel_release().filter(|&v| v < (5, 14)) {
            r.line(
                Status::Warn,
                "nproc",
                &format!(
                    "kernel {major}.{minor} counts a program's processes against its process limit together with every process of the same host uid (per user namespace only from 5.14)"
                ),
                Some("give the agent's user subordinate uids (programs then get uids of their own), or use a kernel of 5.14 or later"),
            );
        }
    }
    if bubblewrap::seccomp_available() {
        r.line(Status::Ok, "seccomp", "sbx's filter (x86_64)", None);
    } else {
        r.line(
            Status::Warn,
            "seccomp",
            "no filter for this architecture: sandboxes run without one",
            None,
        );
    }
    r.line(
        Status::Ok,
        "images",
        &format!(
            "unpacked under {} from the local Docker or Podman at first use (`sbx pull IMAGE` unpacks again)",
            bubblewrap::rootfs::data_dir().join("rootfs").display()
        ),
        None,
    );
}

async fn check_engine(
    r: &mut Report,
    engine: EngineKind,
) -> Option<(DockerBackend, crate::backend::docker::EngineInfo)> {
    match DockerBackend::connect_to(engine).await {
        Ok(b) => match b.engine_info().await {
            Ok(info) => {
                r.line(
                    Status::Ok,
                    "engine",
                    &format!(
                        "{} {} at {} (API {})",
                        b.name(),
                        info.server_version,
                        info.endpoint,
                        info.api_version
                    ),
                    None,
                );
                Some((b, info))
            }
            Err(e) => {
                r.line(
                    Status::Fail,
                    "engine",
                    &e.to_string(),
                    Some("check the engine's log"),
                );
                None
            }
        },
        Err(e) => {
            r.line(
                Status::Fail,
                "engine",
                &e.to_string(),
                // The error says how, for root or a rootless user.
                Some("start the engine as said above, then run `sbx doctor` again"),
            );
            None
        }
    }
}

/// The running kernel's `(major, minor)`.
fn kernel_release() -> Option<(u32, u32)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let mut parts = release.trim().split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}
