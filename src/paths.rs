//! Where the per-user agent lives: its runtime directory, socket, locks, log.
//!
//! The directory is `$SBX_RUNTIME_DIR` if set, else `$XDG_RUNTIME_DIR/sbx`,
//! else `/tmp/sbx-$UID`. It must be a real directory (not a symlink) that
//! belongs to the current user and is closed to everyone else (mode 0700):
//! whoever can reach the socket can run code with this user's engine access.
//! The agent's log is `agent.log` in it, or `$SBX_LOG`.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("cannot create the sbx runtime directory {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the sbx runtime directory {path} belongs to uid {owner}, not to you (uid {me}); remove it or set XDG_RUNTIME_DIR to a directory of your own"
    )]
    NotOurs { path: PathBuf, owner: u32, me: u32 },
    #[error(
        "the sbx runtime directory {path} is open to other users (mode {mode:o}); run `chmod 700 {path}`"
    )]
    Loose { path: PathBuf, mode: u32 },
    #[error(
        "the sbx runtime directory {path} is not a directory (a symlink or a file); remove it, or set SBX_RUNTIME_DIR to a directory of your own"
    )]
    NotADirectory { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct RuntimePaths {
    pub dir: PathBuf,
    /// `$SBX_LOG`, overriding `agent.log` in `dir`.
    log: Option<PathBuf>,
}

pub fn uid() -> u32 {
    unsafe { libc::geteuid() }
}

impl RuntimePaths {
    /// The runtime directory `dir`, with the log in it.
    pub fn at(dir: PathBuf) -> RuntimePaths {
        RuntimePaths { dir, log: None }
    }

    pub fn from_env() -> RuntimePaths {
        let var = |name| std::env::var_os(name).filter(|d| !d.is_empty());
        let dir = if let Some(d) = var("SBX_RUNTIME_DIR") {
            PathBuf::from(d)
        } else if let Some(d) = var("XDG_RUNTIME_DIR") {
            PathBuf::from(d).join("sbx")
        } else {
            std::env::temp_dir().join(format!("sbx-{}", uid()))
        };
        let log = var("SBX_LOG").map(PathBuf::from);
        RuntimePaths { dir, log }
    }

    /// Create the directory if needed and refuse one that is not safely ours.
    pub fn ensure(&self) -> Result<(), PathError> {
        match std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
        {
            Ok(()) => {}
            Err(source) => {
                return Err(PathError::Create {
                    path: self.dir.clone(),
                    source,
                });
            }
        }
        let meta = std::fs::symlink_metadata(&self.dir).map_err(|source| PathError::Create {
            path: self.dir.clone(),
            source,
        })?;
        if !meta.file_type().is_dir() {
            return Err(PathError::NotADirectory {
                path: self.dir.clone(),
            });
        }
        let me = uid();
        if meta.uid() != me {
            return Err(PathError::NotOurs {
                path: self.dir.clone(),
                owner: meta.uid(),
                me,
            });
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(PathError::Loose {
                path: self.dir.clone(),
                mode,
            });
        }
        Ok(())
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("agent.sock")
    }

    /// Held (flock) by the running agent for its whole life.
    pub fn agent_lock(&self) -> PathBuf {
        self.dir.join("agent.lock")
    }

    /// Held by a client while it starts an agent, so racing clients start one.
    pub fn spawn_lock(&self) -> PathBuf {
        self.dir.join("spawn.lock")
    }

    pub fn log(&self) -> PathBuf {
        self.log
            .clone()
            .unwrap_or_else(|| self.dir.join("agent.log"))
    }

    /// Where the log goes when it is rotated (one generation is kept).
    pub fn old_log(&self) -> PathBuf {
        let mut name = self.log().into_os_string();
        name.push(".1");
        PathBuf::from(name)
    }

    /// Rotate the log if it has grown past `limit` bytes. Returns whether it
    /// was rotated.
    pub fn rotate_log(&self, limit: u64) -> std::io::Result<bool> {
        match std::fs::metadata(self.log()) {
            Ok(m) if m.len() > limit => {
                std::fs::rename(self.log(), self.old_log())?;
                Ok(true)
            }
            Ok(_) => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stable identity of the agent serving this directory, used in container
    /// labels so a restarted agent finds the containers of its predecessor
    /// (and only those).
    pub fn agent_id(&self) -> String {
        let canon = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        crate::model::hash::stable_hash(canon.as_os_str().as_encoded_bytes())
    }
}

/// Take an exclusive `flock` on `path` (created if needed). `blocking`
/// waits for it; otherwise `Ok(None)` means someone else holds it. The lock
/// lives as long as the returned file.
pub fn lock_file(path: &Path, blocking: bool) -> std::io::Result<Option<std::fs::File>> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let op = if blocking {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(Some(file));
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(None),
            _ => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_paths(name: &str) -> RuntimePaths {
        let dir = std::env::temp_dir().join(format!("sbx-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        RuntimePaths { dir, log: None }
    }

    #[test]
    fn a_log_is_rotated_only_past_its_limit_and_one_generation_is_kept() {
        let p = temp_paths("rotate");
        p.ensure().unwrap();
        assert!(!p.rotate_log(10).unwrap(), "no log yet: nothing to do");
        std::fs::write(p.log(), "0123456789").unwrap();
        assert!(!p.rotate_log(10).unwrap(), "at the limit it stays");
        std::fs::write(p.log(), "0123456789ab").unwrap();
        assert!(p.rotate_log(10).unwrap());
        assert!(!p.log().exists());
        assert_eq!(
            std::fs::read_to_string(p.old_log()).unwrap(),
            "0123456789ab"
        );
        std::fs::write(p.log(), "second generation!").unwrap();
        assert!(p.rotate_log(10).unwrap());
        assert_eq!(
            std::fs::read_to_string(p.old_log()).unwrap(),
            "second generation!",
            "the older generation is replaced"
        );
        std::fs::remove_dir_all(&p.dir).unwrap();
    }

    #[test]
    fn a_created_runtime_directory_is_private_and_a_loose_one_is_refused() {
        let p = temp_paths("mode");
        p.ensure().unwrap();
        let mode = std::fs::metadata(&p.dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::set_permissions(&p.dir, std::fs::Permissions::from_mode(0o750)).unwrap();
        assert!(matches!(
            p.ensure(),
            Err(PathError::Loose { mode: 0o750, .. })
        ));
        std::fs::remove_dir_all(&p.dir).unwrap();
    }
}
