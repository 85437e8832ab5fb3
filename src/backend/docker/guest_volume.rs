//! The guest runner's volume: one per engine and guest build, filled once
//! and mounted read-only at `/sbx/bin` into every container, so creating a
//! container copies nothing (before, each one got its own copy through the
//! archive API, a tar built in the agent's memory).
//!
//! The volume is named after the guest's content hash (`sbx-guest-<hash>`)
//! and labelled with it (`io.sbx.guest`), so an agent that restarts, or
//! another agent of the same build, finds it by name, and a new build gets
//! a volume of its own.
//!
//! Filling: a volume cannot be filled under a temporary name and renamed,
//! and the engine extracts an archive by unlinking and rewriting each file,
//! so two agents writing at once could leave a container starting from a
//! half-written binary. Filling is therefore exclusive and marked:
//! * the volume is created by name (idempotent: both engines hand back an
//!   existing volume of that name);
//! * the filler is a container that is never started, named
//!   `sbx-guest-<hash>-fill`: container names are unique per engine, so
//!   creating it is the lock (a second agent gets a conflict and waits
//!   for the name to be free; a filler that outlives [`STALE_FILLER`] is
//!   one whose agent died and is removed);
//! * holding it, the agent looks for the marker file; without it, it
//!   uploads the binary (streamed from disk, never held in memory), then
//!   the marker, written last; then it removes the filler.
//!
//! A volume with the marker is complete and is never written again.
//! Containers mount it read-only and without copy-up (`nocopy`).
//!
//! Clean-up: an agent that starts removes this uid's guest volumes of
//! other builds that no container uses (the engine refuses to remove a
//! volume in use, which is what keeps an older agent's volume while it
//! still runs containers); the current build's volume stays, like an
//! image, for the next agent.

use super::{DockerBackend, engine_err, engine_message, is_not_found};
use crate::backend::{BackendError, GuestBinary, LABEL_MANAGED, LABEL_OWNER};
use crate::guest::wire::GUEST_DIR;
use bollard::models::{
    ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptions, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The label carrying the guest build's hash on its volume.
pub const LABEL_GUEST: &str = "io.sbx.guest";
/// `0`: an agent that starts removes no guest volume of another build;
/// `KEY=VALUE`: only those labelled so (the test harness sets it; see
/// `remove_outdated_guest_volumes`).
pub const PRUNE_ENV: &str = "SBX_PRUNE_GUEST_VOLUMES";
/// The file written last into a filled volume (its content: the hash).
const MARKER: &str = ".filled";
/// A filler this old belongs to an agent that died while filling: filling
/// takes well under a second.
const STALE_FILLER: Duration = Duration::from_secs(30);
/// How long an agent waits for another one's filling.
const FILL_LIMIT: Duration = Duration::from_secs(120);

/// The volume of the guest build `hash`.
pub fn volume_name(hash: &str) -> String {
    format!("sbx-guest-{hash}")
}

/// The read-only, copy-free mount of the guest volume into a container.
pub fn guest_mount(volume: &str) -> Mount {
    Mount {
        target: Some(GUEST_DIR.into()),
        source: Some(volume.into()),
        typ: Some(MountType::VOLUME),
        read_only: Some(true),
        volume_options: Some(MountVolumeOptions {
            no_copy: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn prepare_err(reason: String) -> BackendError {
    BackendError::Engine {
        action: "prepare the guest runner".into(),
        reason,
    }
}

fn is_conflict(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            ..
        }
    ) || engine_message(e).contains("already")
}

impl DockerBackend {
    /// The name of the filled guest volume, filling it first if needed
    /// (once per agent: later calls cost nothing). `image` makes the
    /// filler container; any image does, as the filler never runs.
    pub(super) async fn guest_volume(
        &self,
        image: &str,
        labels: &[(String, String)],
    ) -> Result<String, BackendError> {
        let cell = self
            .guest_volume
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        cell.get_or_try_init(|| self.fill_guest_volume(image, labels))
            .await
            .cloned()
    }

    /// A guest could not start from the volume: look at it again before
    /// the next container (someone may have removed it).
    pub(super) fn recheck_guest_volume(&self) {
        *self.guest_volume.lock().unwrap_or_else(|e| e.into_inner()) = Default::default();
    }

    async fn fill_guest_volume(
        &self,
        image: &str,
        labels: &[(String, String)],
    ) -> Result<String, BackendError> {
        let guest = crate::backend::guest_binary().map_err(prepare_err)?;
        let name = volume_name(&guest.hash);
        let volume_labels = HashMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_OWNER.to_string(), crate::paths::uid().to_string()),
            (LABEL_GUEST.to_string(), guest.hash.clone()),
            (
                "io.sbx.version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ]);
        let made = self
            .docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.clone()),
                labels: Some(volume_labels),
                ..Default::default()
            })
            .await;
        match made {
            Ok(_) => {}
            Err(e) if is_conflict(&e) => {}
            Err(e) => return Err(engine_err("create the guest runner's volume", e)),
        }
        let filler = format!("{name}-fill");
        let began = Instant::now();
        let mut waiting_since: Option<Instant> = None;
        let mut pulled = false;
        loop {
            match self.create_filler(&filler, &name, image, labels).await {
                Ok(id) => {
                    let filled = self.fill(&id, &guest).await;
                    let opts = RemoveContainerOptionsBuilder::default().force(true).build();
                    if let Err(e) = self.docker.remove_container(&id, Some(opts)).await
                        && !is_not_found(&e)
                    {
                        eprintln!(
                            "sbx agent: cannot remove the guest volume's filler {filler}: {e}"
                        );
                    }
                    if filled? {
                        eprintln!(
                            "sbx agent: filled the guest volume {name} ({} bytes)",
                            guest.size
                        );
                    }
                    return Ok(name);
                }
                Err(e) if is_conflict(&e) => {
                    let since = *waiting_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > STALE_FILLER {
                        eprintln!(
                            "sbx agent: removing {filler}, left by an agent that stopped while filling the guest volume"
                        );
                        let opts = RemoveContainerOptionsBuilder::default().force(true).build();
                        let _ = self.docker.remove_container(&filler, Some(opts)).await;
                        waiting_since = None;
                    }
                    if began.elapsed() > FILL_LIMIT {
                        return Err(BackendError::Engine {
                            action: "fill the guest runner's volume".into(),
                            reason: format!(
                                "{filler} has been filling it for over {}s; remove that container if no sbx agent is starting",
                                FILL_LIMIT.as_secs()
                            ),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) if is_not_found(&e) && !pulled => {
                    pulled = true;
                    self.pull_image(
                        image,
                        Some(crate::model::pull::DEFAULT_PULL_TIMEOUT),
                        &tokio::sync::watch::channel(Default::default()).0,
                    )
                    .await?;
                }
                Err(e) => return Err(engine_err("create the guest volume's filler", e)),
            }
        }
    }

    /// The lock: a container of that name, never started, with the volume
    /// mounted writable.
    async fn create_filler(
        &self,
        filler: &str,
        volume: &str,
        image: &str,
        labels: &[(String, String)],
    ) -> Result<String, bollard::errors::Error> {
        let mut mount = guest_mount(volume);
        mount.read_only = Some(false);
        let body = ContainerCreateBody {
            image: Some(image.into()),
            // Never started; a command that would do nothing if it were.
            entrypoint: Some(vec!["/sbx-guest-filler-never-runs".into()]),
            labels: Some(labels.iter().cloned().collect()),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(vec![mount]),
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default()
            .name(filler)
            .build();
        self.docker
            .create_container(Some(opts), body)
            .await
            .map(|r| r.id)
    }

    /// Fill the volume through the filler `id` unless it is marked filled
    /// already; true when this call filled it.
    async fn fill(&self, id: &str, guest: &GuestBinary) -> Result<bool, BackendError> {
        let marker = format!("{GUEST_DIR}/{MARKER}");
        let opts = DownloadFromContainerOptionsBuilder::default()
            .path(&marker)
            .build();
        let mut found = self.docker.download_from_container(id, Some(opts));
        let mut filled = true;
        while let Some(chunk) = found.next().await {
            if chunk.is_err() {
                filled = false;
                break;
            }
        }
        drop(found);
        if filled {
            return Ok(false);
        }
        let upload = |what: &'static str, body| async move {
            let opts = UploadToContainerOptionsBuilder::default()
                .path(GUEST_DIR)
                .build();
            self.docker
                .upload_to_container(id, Some(opts), body)
                .await
                .map_err(|e| engine_err(what, e))
        };
        let file = tokio::fs::File::open(&guest.path)
            .await
            .map_err(|e| prepare_err(format!("cannot read {}: {e}", guest.path.display())))?;
        upload(
            "copy the guest runner into its volume",
            bollard::body_try_stream(tar_stream(
                crate::backend::GUEST_PROGRAM,
                0o755,
                guest.size,
                file,
            )),
        )
        .await?;
        upload(
            "mark the guest runner's volume filled",
            bollard::body_full(tar_of(MARKER, 0o644, guest.hash.as_bytes()).into()),
        )
        .await?;
        Ok(true)
    }

    /// Remove this uid's guest volumes of other builds that no container
    /// uses; returns their names.
    pub async fn remove_outdated_guest_volumes(&self) -> Vec<String> {
        // A test suite's agents must leave the engine's volumes as they
        // found them (an installed sbx's volume among them): `0` prunes
        // nothing, `KEY=VALUE` only volumes that also carry that label.
        let only = std::env::var(PRUNE_ENV).unwrap_or_default();
        if only == "0" {
            return Vec::new();
        }
        let Ok(current) = crate::backend::guest_binary() else {
            return Vec::new();
        };
        let filters = HashMap::from([(
            "label".to_string(),
            [
                LABEL_GUEST.to_string(),
                format!("{LABEL_OWNER}={}", crate::paths::uid()),
            ]
            .into_iter()
            .chain(only.contains('=').then_some(only.clone()))
            .collect(),
        )]);
        let opts = ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let Ok(list) = self.docker.list_volumes(Some(opts)).await else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        // Checked here too: Podman's compatible API matches any one of
        // several label filters, not all of them.
        let owner = crate::paths::uid().to_string();
        let scoped = |labels: &HashMap<String, String>| match only.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|l| l == v),
            None => true,
        };
        for v in list.volumes.unwrap_or_default() {
            if !v.labels.contains_key(LABEL_GUEST)
                || v.labels.get(LABEL_OWNER) != Some(&owner)
                || !scoped(&v.labels)
                || v.labels.get(LABEL_GUEST) == Some(&current.hash)
            {
                continue;
            }
            // In use (409): an older agent's containers still run from it.
            if self
                .docker
                .remove_volume(&v.name, None::<RemoveVolumeOptions>)
                .await
                .is_ok()
            {
                removed.push(v.name);
            }
        }
        removed
    }
}

/// A tar header for one file at the archive's top.
fn header(name: &str, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_path(name).expect("a short relative name");
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_cksum();
    h
}

/// Zeros after a file's data up to the next 512-byte block.
fn padding(size: u64) -> usize {
    ((512 - size % 512) % 512) as usize
}

/// A whole archive of one small file, in memory.
fn tar_of(name: &str, mode: u32, data: &[u8]) -> Vec<u8> {
    let mut out = header(name, mode, data.len() as u64).as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len() + padding(data.len() as u64) + 1024, 0);
    out
}

/// An archive of one file of `size` bytes read from `file` as it is sent:
/// the header, the data in 64 KiB chunks, the padding and the two zero
/// blocks that end an archive. A file that changed size meanwhile fails
/// the upload instead of sending a broken binary.
fn tar_stream(
    name: &str,
    mode: u32,
    size: u64,
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    let head = bytes::Bytes::copy_from_slice(header(name, mode, size).as_bytes());
    let tail = bytes::Bytes::from(vec![0u8; padding(size) + 1024]);
    let body = futures_util::stream::try_unfold((file, 0u64), move |(mut file, sent)| async move {
        let mut buf = vec![0u8; 64 << 10];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            if sent != size {
                return Err(std::io::Error::other(format!(
                    "the guest runner changed while it was copied ({sent} of {size} bytes)"
                )));
            }
            return Ok(None);
        }
        if sent + n as u64 > size {
            return Err(std::io::Error::other(
                "the guest runner changed while it was copied (it grew)",
            ));
        }
        buf.truncate(n);
        Ok(Some((bytes::Bytes::from(buf), (file, sent + n as u64))))
    });
    futures_util::stream::once(async move { Ok(head) })
        .chain(body)
        .chain(futures_util::stream::once(async move { Ok(tail) }))
}

#[cfg(test)]
mod tests {
    use super::{tar_of, tar_stream};
    use futures_util::StreamExt;

    #[test]
    fn a_one_file_archive_reads_back_as_that_file() {
        let tar = tar_of(".filled", 0o644, b"0123456789abcdef");
        let mut archive = tar::Archive::new(&tar[..]);
        let mut entries = archive.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some(".filled"));
        let mut body = String::new();
        std::io::Read::read_to_string(&mut e, &mut body).unwrap();
        assert_eq!(body, "0123456789abcdef");
        drop(e);
        assert!(entries.next().is_none());
    }

    #[tokio::test]
    async fn the_streamed_archive_of_a_file_is_the_file() {
        let dir = std::env::temp_dir().join(format!("sbx-tar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bin");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = tokio::fs::File::open(&path).await.unwrap();
        let chunks: Vec<_> = tar_stream("sbx-guest", 0o755, data.len() as u64, file)
            .collect()
            .await;
        let tar: Vec<u8> = chunks
            .into_iter()
            .flat_map(|c| c.unwrap().to_vec())
            .collect();
        let mut archive = tar::Archive::new(&tar[..]);
        let mut e = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(e.header().mode().unwrap(), 0o755);
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body).unwrap();
        assert_eq!(body, data);

        // A size that no longer matches the file fails the stream.
        let file = tokio::fs::File::open(&path).await.unwrap();
        let chunks: Vec<_> = tar_stream("sbx-guest", 0o755, data.len() as u64 + 1, file)
            .collect()
            .await;
        assert!(chunks.iter().any(|c| c.is_err()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
