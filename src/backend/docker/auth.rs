//! Registry credentials for a pull, from the files the engines' own tools
//! write: Docker's `config.json` (inline `auths`, `credsStore` and
//! `credHelpers` through the `docker-credential-*` programs) and Podman's
//! `auth.json`. Neither engine reads them itself when asked over its API:
//! its CLI does, and passes them with the pull, so sbx does the same.
//!
//! Secrets only ever go into the pull request's header: nothing here
//! prints, logs or formats them (`Found` has no `Debug`).

use crate::model::target::EngineKind;
use base64::Engine;
use bollard::auth::DockerCredentials;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The registry part of an image reference, as the engines decide it: the
/// first path component when it looks like a host (a dot, a port, or
/// `localhost`), else Docker Hub.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "docker.io".to_string(),
    }
}

/// A key of `auths` (`https://host:port/v1/`, `host:port`) as a bare host.
fn normalize(key: &str) -> String {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = k.split('/').next().unwrap_or(k);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        h => h.to_string(),
    }
}

/// The credential files `engine` consults, in order, whether or not they
/// exist (an unauthorized pull names them).
pub fn files(engine: EngineKind) -> Vec<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env("HOME");
    let docker = env("DOCKER_CONFIG")
        .map(|d| d.join("config.json"))
        .or_else(|| home.as_ref().map(|h| h.join(".docker/config.json")));
    let mut out = Vec::new();
    if engine == EngineKind::Podman {
        // Podman's order (containers-auth.json(5)): $REGISTRY_AUTH_FILE,
        // the runtime directory's, the config directory's, then Docker's.
        out.extend(env("REGISTRY_AUTH_FILE"));
        match env("XDG_RUNTIME_DIR") {
            Some(d) => out.push(d.join("containers/auth.json")),
            None => out.push(PathBuf::from(format!(
                "/run/containers/{}/auth.json",
                crate::paths::uid()
            ))),
        }
        match env("XDG_CONFIG_HOME") {
            Some(d) => out.push(d.join("containers/auth.json")),
            None => out.extend(
                home.as_ref()
                    .map(|h| h.join(".config/containers/auth.json")),
            ),
        }
    }
    out.extend(docker);
    out
}

/// Credentials for one registry, and the file they came from.
pub struct Found {
    pub creds: DockerCredentials,
    pub file: PathBuf,
}

/// Credentials for the registry of `image` from the first of `files` that
/// has any; `Err` when a file or helper that should have them is broken
/// (said without any secret).
pub async fn lookup(image: &str, files: &[PathBuf]) -> Result<Option<Found>, String> {
    let registry = registry_of(image);
    for file in files {
        let text = match tokio::fs::read_to_string(file).await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        };
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", file.display()))?;
        if let Some(creds) = from_document(&doc, &registry, file).await? {
            return Ok(Some(Found {
                creds,
                file: file.clone(),
            }));
        }
    }
    Ok(None)
}

async fn from_document(
    doc: &serde_json::Value,
    registry: &str,
    file: &Path,
) -> Result<Option<DockerCredentials>, String> {
    let helper = doc
        .get("credHelpers")
        .and_then(|h| h.as_object())
        .and_then(|h| h.iter().find(|(k, _)| normalize(k) == registry))
        .and_then(|(_, v)| v.as_str())
        .or_else(|| doc.get("credsStore").and_then(|s| s.as_str()))
        .filter(|h| !h.is_empty());
    if let Some(helper) = helper
        && let Some(c) = from_helper(helper, registry, file).await?
    {
        return Ok(Some(c));
    }
    let Some(entry) = doc
        .get("auths")
        .and_then(|a| a.as_object())
        .and_then(|a| a.iter().find(|(k, _)| normalize(k) == registry))
        .map(|(_, v)| v)
    else {
        return Ok(None);
    };
    let field = |k: &str| {
        entry
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let (username, password) = match field("auth") {
        Some(b64) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(|| {
                    format!(
                        "the `auth` entry for {registry} in {} is not base64 of USER:PASSWORD",
                        file.display()
                    )
                })?;
            let (u, p) = decoded.split_once(':').ok_or_else(|| {
                format!(
                    "the `auth` entry for {registry} in {} is not base64 of USER:PASSWORD",
                    file.display()
                )
            })?;
            (Some(u.to_string()), Some(p.to_string()))
        }
        None => (
            field("username").map(String::from),
            field("password").map(String::from),
        ),
    };
    let identitytoken = field("identitytoken").map(String::from);
    if username.is_none() && identitytoken.is_none() {
        // An entry a credential store manages: no secret of its own.
        return Ok(None);
    }
    Ok(Some(DockerCredentials {
        username,
        password,
        identitytoken,
        serveraddress: Some(registry.to_string()),
        ..Default::default()
    }))
}

/// `docker-credential-HELPER get`, the helper protocol of Docker's CLI:
/// the server on stdin, `{"Username","Secret"}` on stdout; a helper that
/// has nothing for the server exits non-zero ("credentials not found").
async fn from_helper(
    helper: &str,
    registry: &str,
    file: &Path,
) -> Result<Option<DockerCredentials>, String> {
    use tokio::io::AsyncWriteExt;
    let program = format!("docker-credential-{helper}");
    let mut child = match tokio::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Err(format!(
                "{} names the credential helper `{helper}`, but {program} cannot be started ({e}); install it or fix the file",
                file.display()
            ));
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // Docker Hub's helpers key on its v1 URL, as the CLI sends it.
        let server = if registry == "docker.io" {
            "https://index.docker.io/v1/"
        } else {
            registry
        };
        let _ = stdin.write_all(format!("{server}\n").as_bytes()).await;
    }
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| format!("{program} gave no answer within 30s"))?
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Ok(None);
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| format!("{program} answered something other than JSON credentials"))?;
    let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(String::from);
    let (username, secret) = (field("Username"), field("Secret"));
    if secret.as_deref().unwrap_or("").is_empty() {
        return Ok(None);
    }
    Ok(Some(if username.as_deref() == Some("<token>") {
        DockerCredentials {
            identitytoken: secret,
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        }
    } else {
        DockerCredentials {
            username,
            password: secret,
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_the_first_component_only_when_it_looks_like_a_host() {
        assert_eq!(registry_of("python:3.12-slim"), "docker.io");
        assert_eq!(registry_of("library/python"), "docker.io");
        assert_eq!(registry_of("ghcr.io/o/i:1"), "ghcr.io");
        assert_eq!(registry_of("127.0.0.1:5000/i"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/i"), "localhost");
    }

    #[test]
    fn auths_keys_match_with_or_without_scheme_and_docker_hub_by_any_name() {
        assert_eq!(normalize("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize("http://127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(normalize("ghcr.io"), "ghcr.io");
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn an_inline_auth_is_decoded_and_the_first_file_with_an_entry_wins() {
        let dir = std::env::temp_dir().join(format!("sbx-auth-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.json");
        std::fs::write(&empty, r#"{"auths": {"other.example": {"auth": "eDp5"}}}"#).unwrap();
        let config = dir.join("config.json");
        let b64 = base64::engine::general_purpose::STANDARD.encode("user:pa:ss");
        std::fs::write(
            &config,
            format!(r#"{{"auths": {{"http://reg.example:5000": {{"auth": "{b64}"}}}}}}"#),
        )
        .unwrap();
        let files = vec![dir.join("missing.json"), empty, config.clone()];
        let found = run(lookup("reg.example:5000/img:1", &files))
            .unwrap()
            .unwrap();
        assert_eq!(found.file, config);
        assert_eq!(found.creds.username.as_deref(), Some("user"));
        assert_eq!(found.creds.password.as_deref(), Some("pa:ss"));
        assert_eq!(
            found.creds.serveraddress.as_deref(),
            Some("reg.example:5000")
        );
        assert!(
            run(lookup("elsewhere.example/img", &files))
                .unwrap()
                .is_none()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_broken_auth_entry_is_an_error_that_names_the_file_but_no_secret() {
        let dir = std::env::temp_dir().join(format!("sbx-auth-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.json");
        std::fs::write(
            &config,
            r#"{"auths": {"reg.example": {"auth": "not-base64!"}}}"#,
        )
        .unwrap();
        let err = run(lookup("reg.example/img", std::slice::from_ref(&config)))
            .err()
            .unwrap();
        assert!(err.contains(&config.display().to_string()), "{err}");
        assert!(!err.contains("not-base64!"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
