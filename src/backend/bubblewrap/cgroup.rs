//! A cgroup per sandbox for its memory, process and CPU limits.
//!
//! Only cgroup v1 controllers the agent can write to are used (root, or a
//! hierarchy delegated to the user): a directory per sandbox is made
//! *under the agent's own cgroup* of each controller, so whatever bounds
//! the agent bounds its sandboxes too, and the sandbox's first process
//! joins it between fork and exec, before anything of the sandbox runs.
//! The directories are bind-mounted read-only where the guest reads its
//! limits (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/pids`), so the limits
//! it reports are the ones in force. cgroup v2 (a unified hierarchy with
//! delegation) is not handled yet: there, and where nothing is writable,
//! a sandbox has no limits and the backend says so (see
//! `BwrapBackend::check_limits`).

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";
/// The controllers sbx sets limits with, as named under [`ROOT`].
const CONTROLLERS: [&str; 3] = ["memory", "pids", "cpu"];
/// CFS period for the CPU quota (the kernel's default).
const CPU_PERIOD_US: u64 = 100_000;

/// One sandbox's cgroups, removed by [`Cgroup::remove`].
#[derive(Debug)]
pub struct Cgroup {
    /// (controller, directory) of each controller the sandbox joins.
    dirs: Vec<(&'static str, PathBuf)>,
}

/// The limits to set; `None`: none.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub memory: Option<u64>,
    pub pids: Option<u64>,
    pub nano_cpus: Option<i64>,
}

/// Where the agent's own cgroup of `controller` is (v1), if that
/// hierarchy is mounted and writable by us.
fn own_dir(controller: &str) -> Option<PathBuf> {
    let mine = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = mine.lines().find_map(|line| {
        let mut f = line.splitn(3, ':');
        let (_, names, path) = (f.next()?, f.next()?, f.next()?);
        names
            .split(',')
            .any(|n| n == controller)
            .then(|| path.to_string())
    })?;
    let mount = Path::new(ROOT).join(controller);
    let dir = mount.join(path.trim_start_matches('/'));
    let writable = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .ok()
        .is_some_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0);
    (writable && dir.join("cgroup.procs").exists()).then_some(dir)
}

/// Whether sandboxes can get cgroups here (for `doctor`).
pub fn available() -> bool {
    own_dir("memory").is_some() && own_dir("pids").is_some()
}

/// Remove the cgroups of sandboxes whose agent died (an agent removes
/// its own as its sandboxes go, but one killed leaves theirs, empty once
/// the sandboxes died with it). A sandbox's id begins with its agent's
/// pid (see `BwrapBackend::create`); those of live agents are left alone.
pub fn sweep_orphans() {
    for controller in CONTROLLERS {
        let Some(parent) = own_dir(controller) else {
            continue;
        };
        for entry in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(pid) = name
                .strip_prefix("sbx-")
                .and_then(|id| id.get(..8))
                .and_then(|p| i32::from_str_radix(p, 16).ok())
            else {
                continue;
            };
            let dead = unsafe { libc::kill(pid, 0) } != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
            if dead {
                // Fails, harmlessly, while a process is still in it.
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

impl Cgroup {
    /// Make the cgroups of sandbox `id` with `limits`; `None` where the
    /// memory and pids controllers are not both writable (the CPU quota
    /// is best effort: its controller may be missing).
    pub fn create(id: &str, limits: Limits) -> std::io::Result<Option<Cgroup>> {
        if !available() {
            return Ok(None);
        }
        let mut made = Cgroup { dirs: Vec::new() };
        let name = format!("sbx-{id}");
        for controller in CONTROLLERS {
            let Some(parent) = own_dir(controller) else {
                continue;
            };
            let dir = parent.join(&name);
            if let Err(e) = std::fs::create_dir(&dir) {
                made.remove();
                return Err(e);
            }
            made.dirs.push((controller, dir));
        }
        if let Err(e) = made.set(limits) {
            made.remove();
            return Err(e);
        }
        Ok(Some(made))
    }

    fn set(&self, limits: Limits) -> std::io::Result<()> {
        for (controller, dir) in &self.dirs {
            let write = |file: &str, value: String| {
                std::fs::write(dir.join(file), value).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("{}: {e}", dir.join(file).display()))
                })
            };
            match *controller {
                "memory" => {
                    if let Some(m) = limits.memory {
                        write("memory.limit_in_bytes", m.to_string())?;
                        // No swap beyond the limit, as the engines do it;
                        // absent where swap accounting is off.
                        if dir.join("memory.memsw.limit_in_bytes").exists() {
                            write("memory.memsw.limit_in_bytes", m.to_string())?;
                        }
                    }
                }
                "pids" => {
                    if let Some(p) = limits.pids {
                        write("pids.max", p.to_string())?;
                    }
                }
                "cpu" => {
                    if let Some(n) = limits.nano_cpus {
                        let quota = (n as u64).saturating_mul(CPU_PERIOD_US) / 1_000_000_000;
                        write("cpu.cfs_period_us", CPU_PERIOD_US.to_string())?;
                        write("cpu.cfs_quota_us", quota.max(1000).to_string())?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// How many processes the kernel's OOM killer killed in the sandbox.
    pub fn oom_kills(&self) -> Option<u64> {
        let (_, dir) = self.dirs.iter().find(|(c, _)| *c == "memory")?;
        let text = std::fs::read_to_string(dir.join("memory.oom_control")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
    }

    /// The `cgroup.procs` files to write the sandbox's first process to.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .map(|(_, d)| d.join("cgroup.procs"))
            .collect()
    }

    /// (directory, where in the sandbox the guest reads it) of the
    /// controllers the guest reads its limits from.
    pub fn guest_mounts(&self) -> Vec<(PathBuf, String)> {
        self.dirs
            .iter()
            .filter(|(c, _)| matches!(*c, "memory" | "pids"))
            .map(|(c, d)| (d.clone(), format!("{ROOT}/{c}")))
            .collect()
    }

    /// Remove the cgroups; each must be empty, so this is called once the
    /// sandbox's processes are gone (a moment after their PID 1 died:
    /// retried briefly).
    pub fn remove(&self) {
        for (_, dir) in &self.dirs {
            for attempt in 0..50 {
                match std::fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if attempt == 49 => {
                        eprintln!("sbx agent: cannot remove cgroup {}: {e}", dir.display());
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        }
    }
}
