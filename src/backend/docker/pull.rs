//! Pulling an image through the engine's API: credentials from the files
//! the engines' tools keep (auth.rs), progress from the engine's status
//! stream, a limit on how long the pull may stand still, and failures said
//! as one line with what to do.

use super::auth;
use super::{DockerBackend, engine_message};
use crate::backend::BackendError;
use crate::model::pull::PullProgress;
use crate::model::target::EngineKind;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What went wrong, from the engine's words (Docker 20.10 and Podman 4
/// say it differently; the unit tests hold their verbatim messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    Unauthorized,
    Unreachable,
    DiskFull,
    Platform,
    /// The registry speaks plain http and the engine was not told to.
    PlainHttp,
    Other,
}

pub fn classify(message: &str) -> Failure {
    let m = message.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if any(&["no space left on device"]) {
        Failure::DiskFull
    } else if any(&[
        "no matching manifest",
        "no image found in manifest list",
        "does not match the specified platform",
    ]) {
        Failure::Platform
    } else if any(&["http response to https client"]) {
        Failure::PlainHttp
    } else if any(&[
        "no basic auth credentials",
        "unauthorized",
        "authentication required",
        "pull access denied",
        "denied: ",
    ]) {
        Failure::Unauthorized
    } else if any(&[
        "manifest unknown",
        "name unknown",
        "not found",
        "repository does not exist",
    ]) {
        Failure::NotFound
    } else if any(&[
        "connection refused",
        "no such host",
        "dial tcp",
        "i/o timeout",
        "network is unreachable",
        "tls handshake",
        "client.timeout",
        "context deadline exceeded",
        "connection reset",
        "pinging container registry",
    ]) {
        Failure::Unreachable
    } else {
        Failure::Other
    }
}

/// What an unauthorized pull tells the user about credentials.
pub struct Consulted {
    pub files: Vec<std::path::PathBuf>,
    /// The file whose credentials were sent, if any.
    pub used: Option<std::path::PathBuf>,
}

/// The one-line error for a pull of `image` that failed with the engine's
/// `message`.
pub fn explain(engine: EngineKind, image: &str, message: &str, consulted: &Consulted) -> String {
    let registry = auth::registry_of(image);
    let message = message.trim().replace('\n', " ");
    match classify(&message) {
        Failure::NotFound => format!(
            "image `{image}` was not found in registry {registry} ({message}); check the image's name and tag in the sbx config ([languages.<lang>] image, or the profile's image)"
        ),
        Failure::Unauthorized => {
            let files = consulted
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let sent = match &consulted.used {
                Some(f) => format!("the credentials from {} were refused", f.display()),
                None => format!("none of {files} has credentials for it"),
            };
            format!(
                "registry {registry} refused to serve `{image}` without valid credentials ({sent}); log in with `{} login {registry}`, or add an entry for {registry} to one of: {files}",
                engine.name()
            )
        }
        Failure::Unreachable => format!(
            "cannot reach registry {registry} to pull `{image}` ({message}); check the engine's network and proxy settings, or bring the image in another way (`sbx pull` where the registry is reachable, then `{0} save` and `{0} load`)",
            engine.name()
        ),
        Failure::DiskFull => format!(
            "the engine ran out of disk space pulling `{image}` ({message}); free some (`{} image prune`) and retry",
            engine.name()
        ),
        Failure::Platform => format!(
            "image `{image}` has no variant for this machine (linux/{}) ({message}); use an image built for it",
            std::env::consts::ARCH
                .replace("x86_64", "amd64")
                .replace("aarch64", "arm64")
        ),
        Failure::PlainHttp => format!(
            "registry {registry} answers in plain http, which {} refuses unless told ({message}); mark it insecure ({})",
            engine.name(),
            match engine {
                EngineKind::Podman =>
                    "a [[registry]] with insecure = true in registries.conf, then restart the Podman service",
                _ => "\"insecure-registries\" in /etc/docker/daemon.json, then restart dockerd",
            }
        ),
        Failure::Other => format!("cannot pull `{image}`: {message}"),
    }
}

/// The layers of one pull as the engine reports them, keyed by its short
/// layer id.
#[derive(Default)]
struct Layers {
    layers: HashMap<String, Layer>,
}

#[derive(Default)]
struct Layer {
    total: u64,
    current: u64,
    done: bool,
}

impl Layers {
    /// Take one status line; whether anything changed.
    fn update(
        &mut self,
        podman: bool,
        id: Option<&str>,
        status: &str,
        current: Option<i64>,
        total: Option<i64>,
    ) {
        let Some(id) = id.filter(|i| !i.is_empty()) else {
            return;
        };
        let layer_status = matches!(
            status,
            "Pulling fs layer"
                | "Waiting"
                | "Downloading"
                | "Verifying Checksum"
                | "Download complete"
                | "Extracting"
                | "Pull complete"
                | "Already exists"
        );
        if !layer_status {
            return;
        }
        let l = self.layers.entry(id.to_string()).or_default();
        match status {
            "Downloading" => {
                if let Some(t) = total.filter(|t| *t > 0) {
                    l.total = t as u64;
                }
                if let Some(c) = current.filter(|c| *c >= 0) {
                    l.current = (c as u64).max(l.current);
                }
            }
            "Verifying Checksum" | "Download complete" => {
                l.current = l.total;
                // Podman's last word on a layer; Docker extracts it next.
                if podman {
                    l.done = true;
                }
            }
            "Pull complete" | "Already exists" => {
                l.current = l.total;
                l.done = true;
            }
            _ => {}
        }
    }

    fn fill(&self, p: &mut PullProgress) {
        p.layers = self.layers.len() as u32;
        p.layers_done = self.layers.values().filter(|l| l.done).count() as u32;
        p.bytes = self.layers.values().map(|l| l.total).sum();
        p.bytes_done = self.layers.values().map(|l| l.current.min(l.total)).sum();
    }
}

impl DockerBackend {
    /// Pull `image`, publishing its progress on `progress` as it moves; fails when nothing
    /// moves for `stall`.
    pub(super) async fn pull_image(
        &self,
        image: &str,
        stall: Option<Duration>,
        progress: &tokio::sync::watch::Sender<PullProgress>,
    ) -> Result<PullProgress, BackendError> {
        let failed = |message: String| BackendError::Pull {
            image: image.to_string(),
            message,
        };
        let files = auth::files(self.kind);
        let found = auth::lookup(image, &files).await.map_err(|e| {
            failed(format!(
                "cannot read the credentials to pull `{image}`: {e}"
            ))
        })?;
        if let Some(f) = &found
            && crate::verbose::engine_notices()
        {
            // Which file, never what it holds: enough to debug a refusal.
            eprintln!(
                "sbx agent: pulling {image} with the credentials for {} from {}",
                auth::registry_of(image),
                f.file.display()
            );
        }
        let consulted = Consulted {
            files,
            used: found.as_ref().map(|f| f.file.clone()),
        };
        let explain = |message: &str| failed(explain(self.kind, image, message, &consulted));
        // The tag goes with the name: `fromImage` alone would pull every tag.
        let opts = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let mut stream = self
            .docker
            .create_image(Some(opts), None, found.map(|f| f.creds));
        let started = Instant::now();
        let podman = self.kind == EngineKind::Podman;
        let mut layers = Layers::default();
        let mut now = PullProgress {
            image: image.to_string(),
            ..Default::default()
        };
        progress.send_replace(now.clone());
        loop {
            let next = match stall {
                Some(limit) => match tokio::time::timeout(limit, stream.next()).await {
                    Ok(n) => n,
                    Err(_) => {
                        return Err(failed(format!(
                            "pulling `{image}` made no progress for {} ([images] pull_timeout in the sbx config); check the registry and the network, or raise the limit",
                            crate::model::units::format_duration(limit)
                        )));
                    }
                },
                None => stream.next().await,
            };
            let info = match next {
                None => break,
                Some(Err(e)) => return Err(explain(&engine_message(&e))),
                Some(Ok(info)) => info,
            };
            if let Some(detail) = info.error_detail {
                return Err(explain(&detail.message.unwrap_or_default()));
            }
            let (current, total) = info
                .progress_detail
                .map(|d| (d.current, d.total))
                .unwrap_or((None, None));
            layers.update(
                podman,
                info.id.as_deref(),
                info.status.as_deref().unwrap_or(""),
                current,
                total,
            );
            layers.fill(&mut now);
            now.elapsed_ms = started.elapsed().as_millis() as u64;
            progress.send_replace(now.clone());
        }
        now.elapsed_ms = started.elapsed().as_millis() as u64;
        now.layers_done = now.layers;
        now.bytes_done = now.bytes;
        now.size = match self.docker.inspect_image(image).await {
            Ok(i) => i.size.map(|s| s.max(0) as u64),
            // The stream ended without an error but the image is not
            // there: the engine's word would be better, but there is none.
            Err(e) => return Err(explain(&engine_message(&e))),
        };
        now.done = true;
        progress.send_replace(now.clone());
        Ok(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_own_words_are_classified() {
        // Verbatim from Docker 20.10 and Podman 4.3 against a registry on
        // loopback (see tests/pull.rs).
        for (msg, want) in [
            (
                "manifest for 127.0.0.1:5055/nope:x not found: manifest unknown: manifest unknown",
                Failure::NotFound,
            ),
            (
                "initializing source docker://127.0.0.1:5055/nope:x: reading manifest x in 127.0.0.1:5055/nope: manifest unknown: manifest unknown",
                Failure::NotFound,
            ),
            (
                "Head \"http://127.0.0.1:5056/v2/t1/manifests/x\": no basic auth credentials",
                Failure::Unauthorized,
            ),
            (
                "unauthorized: authentication required",
                Failure::Unauthorized,
            ),
            (
                "initializing source docker://127.0.0.1:5056/t1:x: reading manifest x in 127.0.0.1:5056/t1: unauthorized: authentication required",
                Failure::Unauthorized,
            ),
            (
                "Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused",
                Failure::Unreachable,
            ),
            (
                "initializing source docker://127.0.0.1:5999/nope:x: pinging container registry 127.0.0.1:5999: Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused",
                Failure::Unreachable,
            ),
            (
                "no matching manifest for linux/amd64 in the manifest list entries",
                Failure::Platform,
            ),
            (
                "choosing image instance: no image found in manifest list for architecture amd64, variant \"\", OS linux",
                Failure::Platform,
            ),
            (
                "failed to register layer: write /usr/lib/x: no space left on device",
                Failure::DiskFull,
            ),
            (
                "initializing source docker://127.0.0.1:5055/t1:x: pinging container registry 127.0.0.1:5055: Get \"https://127.0.0.1:5055/v2/\": http: server gave HTTP response to HTTPS client",
                Failure::PlainHttp,
            ),
            ("something else entirely", Failure::Other),
        ] {
            assert_eq!(classify(msg), want, "{msg}");
        }
    }

    #[test]
    fn an_unauthorized_pull_names_the_registry_the_files_and_the_login_command() {
        let consulted = Consulted {
            files: vec!["/h/.docker/config.json".into()],
            used: None,
        };
        let line = explain(
            EngineKind::Docker,
            "reg.example:5000/img:1",
            "unauthorized: authentication required",
            &consulted,
        );
        assert!(line.contains("registry reg.example:5000"), "{line}");
        assert!(line.contains("/h/.docker/config.json"), "{line}");
        assert!(line.contains("docker login reg.example:5000"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn docker_layers_count_bytes_and_finish_on_pull_complete_podman_on_download() {
        let mut l = Layers::default();
        l.update(false, Some("a"), "Pulling fs layer", None, None);
        l.update(false, Some("b"), "Already exists", None, None);
        l.update(false, Some("a"), "Downloading", Some(50), Some(200));
        let mut p = PullProgress::default();
        l.fill(&mut p);
        assert_eq!(
            (p.layers, p.layers_done, p.bytes_done, p.bytes),
            (2, 1, 50, 200)
        );
        l.update(false, Some("a"), "Download complete", None, None);
        l.fill(&mut p);
        assert_eq!((p.layers_done, p.bytes_done), (1, 200));
        l.update(false, Some("a"), "Pull complete", None, None);
        l.fill(&mut p);
        assert_eq!(p.layers_done, 2);
        // Not a layer: the tag's own status line.
        l.update(false, Some("x"), "Pulling from img", None, None);
        l.fill(&mut p);
        assert_eq!(p.layers, 2);

        let mut l = Layers::default();
        l.update(true, Some("c"), "Pulling fs layer", None, None);
        l.update(true, Some("c"), "Download complete", None, None);
        l.fill(&mut p);
        assert_eq!((p.layers, p.layers_done), (1, 1));
    }
}
