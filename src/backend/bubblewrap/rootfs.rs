//! Root filesystems of the bubblewrap backend: an image unpacked once,
//! read-only to every sandbox made of it.
//!
//! An image comes from a local Docker or Podman (whichever `auto` would
//! pick): a never-started container of it, labelled like the pools', is
//! exported and removed, and the tar stream is unpacked by `tar` into a
//! temporary directory beside the final one, which is then renamed into
//! place — two agents importing the same image at once both succeed, and
//! an import cut short leaves only a temporary directory that the next
//! import of that image removes. Layout under the data directory
//! (`$SBX_DATA_DIR`, else the user's data directory `.../sbx`):
//!
//! ```text
//! rootfs/<image id>/root       the image's files, plus sbx's mount points
//! rootfs/<image id>/env.json   the image's environment
//! rootfs/names/<escaped name>  image name → id, so that a machine whose
//!                              engine is gone still finds its images
//! ```
//!
//! An image no local engine has is pulled from its registry instead
//! (`registry`): its layers are applied in order into the temporary
//! directory (OCI whiteouts deleting what lower layers made), then
//! finished and renamed into place as an export is. The directory's name
//! is the image's config digest, which is the id engines give an image:
//! an export and a pull of one image land in the same place.

use super::super::docker::DockerBackend;
use super::super::{BackendError, EngineKind};
use super::{layers, registry};
use crate::guest::wire::{GUEST_BIN, GUEST_PRIVATE_DIR, SCRATCH_MOUNTS};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// An unpacked image.
#[derive(Debug, Clone)]
pub struct Rootfs {
    /// The directory to mount as `/`.
    pub root: PathBuf,
    /// `NAME=value` entries of the image's environment.
    pub env: Vec<String>,
}

/// sbx's data directory: `$SBX_DATA_DIR`, else the user's (XDG) one.
pub fn data_dir() -> PathBuf {
    std::env::var_os("SBX_DATA_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::ProjectDirs::from("", "", "sbx").map(|d| d.data_dir().into()))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("sbx-data-{}", crate::paths::uid())))
}

fn store() -> PathBuf {
    data_dir().join("rootfs")
}

/// A file name for an image name (`/` and `:` are not allowed in one).
fn escape(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c.to_string(),
            other => format!("%{:02x}", other as u32),
        })
        .collect()
}

/// The directory of the image with engine id `id` (`sha256:...`).
fn dir_of(id: &str) -> PathBuf {
    store().join(id.trim_start_matches("sha256:"))
}

/// The image `name` as last imported, if it is still unpacked.
pub fn find(name: &str) -> Option<Rootfs> {
    let id = std::fs::read_to_string(store().join("names").join(escape(name))).ok()?;
    load(&dir_of(id.trim()))
}

fn load(dir: &Path) -> Option<Rootfs> {
    let env = std::fs::read_to_string(dir.join("env.json")).ok()?;
    let env: Vec<String> = serde_json::from_str(&env).ok()?;
    let root = dir.join("root");
    root.is_dir().then_some(Rootfs { root, env })
}

fn import_err(image: &str, reason: impl std::fmt::Display) -> BackendError {
    BackendError::Pull {
        image: image.to_string(),
        message: format!("cannot unpack image `{image}` for the bubblewrap backend: {reason}"),
    }
}

/// The local engine images are exported from: the one `auto` would
/// pick, else the other (an ordinary user may see root's Docker socket
/// and reach only a Podman of their own).
async fn engine(image: &str) -> Result<DockerBackend, BackendError> {
    let order = match crate::backend::detect() {
        EngineKind::Podman => [EngineKind::Podman, EngineKind::Docker],
        _ => [EngineKind::Docker, EngineKind::Podman],
    };
    let mut first_err = None;
    for kind in order {
        match DockerBackend::connect_to(kind).await {
            Ok(d) => return Ok(d),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let e = first_err.expect("two engines were tried");
    Err(BackendError::Pull {
        image: image.to_string(),
        message: format!(
            "image `{image}` is not unpacked for the bubblewrap backend and no local Docker or Podman answers ({e}); run `sbx pull {image}` with --backend bubblewrap, which pulls it from its registry"
        ),
    })
}

/// Whether the local engine holds `image` (false when there is none).
pub async fn in_engine(image: &str) -> bool {
    match engine(image).await {
        Ok(docker) => matches!(docker.image_config(image).await, Ok(Some(_))),
        Err(_) => false,
    }
}

/// Unpack `image` from the local engine (again, when `fresh`, even if it
/// is unpacked already), recording its name. Returns the root filesystem.
pub async fn import(
    image: &str,
    labels: &[(String, String)],
    fresh: bool,
) -> Result<Rootfs, BackendError> {
    if !fresh && let Some(r) = find(image) {
        return Ok(r);
    }
    let docker = engine(image).await?;
    let Some(config) = docker.image_config(image).await? else {
        return Err(BackendError::Pull {
            image: image.to_string(),
            message: format!(
                "image `{image}` is neither unpacked for the bubblewrap backend nor in the local {}; run `sbx pull {image}` with --backend bubblewrap, which pulls it from its registry (or build or load it there first, e.g. bash scripts/images.sh)",
                super::super::Backend::name(&docker)
            ),
        });
    };
    let dir = dir_of(&config.id);
    if load(&dir).is_none() {
        unpack(&docker, image, labels, &config, &dir).await?;
    }
    record(image, &config.id, &dir)
}

/// `PID.N`, unique among this machine's live processes' temporary names:
/// one agent may unpack one image twice at once (by tag and by digest).
fn unique_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}.{n}", std::process::id())
}

/// The store's directory, made 0700 if it is not there: unpacked images
/// hold their setuid binaries, which only the sandboxes may run.
fn make_store(store: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = store.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(store) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Record `image` as the unpacked image `id` (in `dir`).
fn record(image: &str, id: &str, dir: &Path) -> Result<Rootfs, BackendError> {
    let names = store().join("names");
    make_store(&store()).map_err(|e| import_err(image, e))?;
    std::fs::create_dir_all(&names).map_err(|e| import_err(image, e))?;
    // Atomic like the image itself: a reader sees the old id or the new.
    let tmp = names.join(format!(".{}.{}", escape(image), unique_suffix()));
    std::fs::write(&tmp, id).map_err(|e| import_err(image, e))?;
    std::fs::rename(&tmp, names.join(escape(image))).map_err(|e| import_err(image, e))?;
    load(dir).ok_or_else(|| import_err(image, format!("{} is incomplete", dir.display())))
}

async fn unpack(
    docker: &DockerBackend,
    image: &str,
    labels: &[(String, String)],
    config: &super::super::docker::ImageConfig,
    dir: &Path,
) -> Result<(), BackendError> {
    let tmp = fresh_tmp(image, dir)?;
    let root = tmp.join("root");
    let made = async {
        let mut tar = tokio::process::Command::new("tar")
            // Modes as in the image; owners too when root (an ordinary
            // user's tar makes every file its own, which is the sandbox's
            // root inside its user namespace).
            .args(["-x", "-p", "-f", "-", "-C"])
            .arg(&root)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| import_err(image, format!("cannot run tar: {e}")))?;
        let mut stdin = tar.stdin.take().expect("piped");
        let copied = docker.export_image(image, labels, &mut stdin).await;
        drop(stdin);
        let out = tar
            .wait_with_output()
            .await
            .map_err(|e| import_err(image, e))?;
        copied?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(import_err(
                image,
                format!("tar failed: {}", err.lines().last().unwrap_or("no message")),
            ));
        }
        Ok(())
    }
    .await;
    finish(image, &tmp, dir, &config.env, made)
}

/// A new, empty temporary directory (with `root` in it) for unpacking
/// the image to go into `dir`, after removing the leftovers of imports
/// of it that were cut short.
fn fresh_tmp(image: &str, dir: &Path) -> Result<PathBuf, BackendError> {
    let parent = dir.parent().expect("the store is a directory");
    make_store(parent).map_err(|e| import_err(image, e))?;
    let stem = dir.file_name().unwrap_or_default().to_string_lossy();
    if let Ok(entries) = std::fs::read_dir(parent) {
        let prefix = format!(".{stem}.");
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let pid = name
                .strip_prefix(&prefix)
                .and_then(|p| p.split('.').next()?.parse::<i32>().ok());
            if pid.is_some_and(|p| unsafe { libc::kill(p, 0) } != 0) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let tmp = parent.join(format!(".{stem}.{}", unique_suffix()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("root")).map_err(|e| import_err(image, e))?;
    Ok(tmp)
}

/// Add sbx's mount points and the environment to an unpacked `tmp`
/// (when `made` says the files are in), and rename it to `dir`.
fn finish(
    image: &str,
    tmp: &Path,
    dir: &Path,
    env: &[String],
    made: Result<(), BackendError>,
) -> Result<(), BackendError> {
    let made = made.and_then(|()| {
        add_mount_points(&tmp.join("root")).map_err(|e| import_err(image, e))?;
        let env = serde_json::to_string(env).expect("strings serialize");
        std::fs::write(tmp.join("env.json"), env).map_err(|e| import_err(image, e))
    });
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(tmp);
        return Err(e);
    }
    match std::fs::rename(tmp, dir) {
        Ok(()) => Ok(()),
        // Another agent got there first: its copy is as good as ours.
        Err(_) if load(dir).is_some() => {
            let _ = std::fs::remove_dir_all(tmp);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(tmp);
            Err(import_err(image, e))
        }
    }
}

/// Bring `image` in for `sbx pull`: exported from the local engine when
/// it has the image, else pulled from its registry.
pub async fn pull(
    image: &str,
    labels: &[(String, String)],
    stall: Option<std::time::Duration>,
    progress: &tokio::sync::watch::Sender<crate::model::pull::PullProgress>,
) -> Result<Rootfs, BackendError> {
    if in_engine(image).await {
        return import(image, labels, true).await;
    }
    let err = |reason: String| BackendError::Pull {
        image: image.to_string(),
        message: format!(
            "cannot pull image `{image}` from its registry (no local Docker or Podman has it): {reason}"
        ),
    };
    let reference = registry::Reference::parse(image).map_err(err)?;
    // The first endpoint that gives the manifest and config gives the
    // layers: mirrors first, then the registry.
    let mut failures = Vec::new();
    let mut found = None;
    for endpoint in reference.endpoints() {
        let got = async {
            let mut reg = registry::Registry::new(image, &reference, endpoint, stall).await?;
            let (config_blob, layers) = reg.manifest().await?;
            let config = reg.blob_bytes(&config_blob).await?;
            Ok::<_, String>((reg, config_blob, layers, config))
        }
        .await;
        match got {
            Ok(g) => {
                found = Some(g);
                break;
            }
            Err(e) => failures.push(e),
        }
    }
    let Some((mut reg, config_blob, layers, config)) = found else {
        return Err(err(failures.join("; then ")));
    };
    if reg.endpoint().mirror && crate::verbose::engine_notices() {
        eprintln!(
            "sbx agent: pulling {image} from the mirror {}",
            reg.endpoint().authority
        );
    }
    let config: serde_json::Value = serde_json::from_slice(&config)
        .map_err(|e| err(format!("the image's config is not JSON: {e}")))?;
    let env: Vec<String> = config["config"]["Env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    // The id (and directory) is the config's digest, so the layers must be
    // the ones the config names, or another image's id could be filled
    // with anything.
    let diff_ids: Vec<String> = config["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if diff_ids.len() != layers.len() {
        return Err(err(format!(
            "the image's configuration names {} layers, its manifest {}; the image is broken or forged",
            diff_ids.len(),
            layers.len()
        )));
    }
    let id = config_blob.digest.clone();
    let dir = dir_of(&id);
    let mut shown = crate::model::pull::PullProgress {
        image: image.to_string(),
        layers: layers.len() as u32,
        bytes: layers.iter().map(|l| l.size).sum(),
        ..Default::default()
    };
    if load(&dir).is_none() {
        let tmp = fresh_tmp(image, &dir)?;
        let made = async {
            let root = tmp.join("root");
            let blob = tmp.join("layer");
            let privileged = unsafe { libc::geteuid() } == 0;
            for (i, (layer, diff_id)) in layers.iter().zip(&diff_ids).enumerate() {
                reg.blob_to_file(layer, &blob, &mut |n| {
                    shown.bytes_done += n;
                    progress.send_replace(shown.clone());
                })
                .await
                .map_err(err)?;
                let (root, blob, diff_id) = (root.clone(), blob.clone(), diff_id.clone());
                tokio::task::spawn_blocking(move || {
                    layers::apply(&root, &blob, privileged, &diff_id)
                })
                .await
                .map_err(|e| err(e.to_string()))?
                .map_err(|e| err(format!("layer {} {e}", i + 1)))?;
                shown.layers_done += 1;
                progress.send_replace(shown.clone());
            }
            let _ = std::fs::remove_file(&blob);
            Ok(())
        }
        .await;
        finish(image, &tmp, &dir, &env, made)?;
    }
    record(image, &id, &dir)
}

/// What bwrap mounts over must exist in the read-only root: sbx's
/// directories, the guest's file, and the cgroup directories the guest
/// reads its limits from.
fn add_mount_points(root: &Path) -> std::io::Result<()> {
    let rel = |p: &str| root.join(p.trim_start_matches('/'));
    for (path, _, _) in SCRATCH_MOUNTS {
        std::fs::create_dir_all(rel(path))?;
    }
    for dir in [
        GUEST_PRIVATE_DIR,
        "/proc",
        "/dev",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/pids",
        "/etc",
    ] {
        std::fs::create_dir_all(rel(dir))?;
    }
    let bin = rel(GUEST_BIN);
    std::fs::create_dir_all(bin.parent().expect("GUEST_BIN has a directory"))?;
    if !bin.exists() {
        std::fs::write(&bin, b"")?;
    }
    for f in ["/etc/passwd", "/etc/group"] {
        if !rel(f).exists() {
            std::fs::write(rel(f), b"")?;
        }
    }
    Ok(())
}

/// Unpacked images no name refers to any more (re-tagged or replaced by
/// a fresh import); removed by [`prune`].
pub fn unreferenced() -> Vec<PathBuf> {
    let referenced: std::collections::HashSet<String> = std::fs::read_dir(store().join("names"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|id| id.trim().trim_start_matches("sha256:").to_string())
        .collect();
    std::fs::read_dir(store())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name != "names" && !name.starts_with('.') && !referenced.contains(&name)
        })
        .map(|e| e.path())
        .collect()
}

/// Hold a shared lock on the unpacked image at `root` for as long as the
/// returned file is open: [`prune`] leaves an image alone while any
/// agent (of any runtime directory) holds one.
/// `None` where the lock file can be neither made nor read: a store of
/// another user's, shared read-only, which this user cannot prune either.
pub fn hold(root: &Path) -> std::io::Result<Option<std::fs::File>> {
    let lock = root.parent().unwrap_or(root).join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .or_else(|_| std::fs::File::open(&lock));
    let Ok(file) = file else {
        return Ok(None);
    };
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Some(file))
}

/// Remove unpacked images nothing refers to any more and no agent holds
/// (see [`hold`]).
pub fn prune() -> Vec<String> {
    let mut removed = Vec::new();
    for dir in unreferenced() {
        let Ok(lock) = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
        else {
            continue;
        };
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            continue;
        }
        if std::fs::remove_dir_all(&dir).is_ok() {
            removed.push(dir.display().to_string());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::{escape, fresh_tmp};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn two_unpackings_of_one_image_by_one_process_get_their_own_directories_in_a_private_store() {
        let d = std::env::temp_dir().join(format!("sbx-rootfs-{}-tmp", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let dir = d.join("rootfs").join("abc");
        let a = fresh_tmp("img:tag", &dir).unwrap();
        let b = fresh_tmp("img@sha256:abc", &dir).unwrap();
        assert_ne!(a, b);
        assert!(a.join("root").is_dir() && b.join("root").is_dir());
        let mode = std::fs::metadata(d.join("rootfs"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn image_names_become_file_names_that_cannot_collide_or_climb() {
        assert_eq!(
            escape("sbx-local/bookworm-runtime:48eed36aaa4c"),
            "sbx-local%2fbookworm-runtime%3a48eed36aaa4c"
        );
        assert_ne!(escape("a/b"), escape("a%2fb"));
        assert!(!escape("../x").contains('/'));
    }
}
