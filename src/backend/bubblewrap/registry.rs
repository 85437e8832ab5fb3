//! A pull from an image's registry, for machines with no container
//! engine: the OCI distribution API's few read-only requests (a manifest,
//! or a list of them to pick this machine's platform from, the image's
//! config and its layers), each blob checked against its digest.
//!
//! The registry is the one the image's name says, normalised as every
//! engine does (a name without a registry host is Docker Hub's). Plain
//! HTTP is used only for a loopback registry, as Docker allows; HTTPS
//! otherwise, trusting the system's certificates. Credentials: those
//! `docker login` or `podman login` stored (the files and credential
//! helpers `sbx pull` uses with the engines), sent for a token or as
//! Basic auth as the registry asks; a user name and password only (an
//! identity token alone is not exchanged), else anonymous.

use super::super::docker::auth;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// How long a registry may keep us waiting for an answer or the next
/// piece of a blob.
const STALL: Duration = Duration::from_secs(60);

/// An image name taken apart as engines do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Host (and port) of the registry's API.
    pub registry: String,
    pub repository: String,
    /// A tag, or a digest (`sha256:...`).
    pub reference: String,
}

impl Reference {
    pub fn parse(image: &str) -> Result<Reference, String> {
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (image, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t.to_string())),
            _ => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((host, path))
                if host.contains('.') || host.contains(':') || host == "localhost" =>
            {
                (host.to_string(), path.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let (registry, repository) = if registry == "docker.io" || registry == "index.docker.io" {
            let repo = if repository.contains('/') {
                repository
            } else {
                format!("library/{repository}")
            };
            ("registry-1.docker.io".to_string(), repo)
        } else {
            (registry, repository)
        };
        if repository.is_empty()
            || !repository
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
        {
            return Err(format!("`{image}` is not an image name"));
        }
        Ok(Reference {
            registry,
            repository,
            reference: digest.or(tag).unwrap_or_else(|| "latest".into()),
        })
    }

    /// `http` only for a registry on this machine's loopback.
    fn scheme(&self) -> &'static str {
        let host = match self.registry.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
            _ => &self.registry,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback { "http" } else { "https" }
    }
}

/// What a pull needs of a blob: its digest and size.
#[derive(Debug, Clone)]
pub struct Blob {
    pub digest: String,
    pub size: u64,
}

/// A registry session for one repository, with the authorisation it
/// has been given.
pub struct Registry {
    client: Client<Https, Empty<Bytes>>,
    base: String,
    reference: Reference,
    /// `Basic <base64 user:pass>` from the Docker config, if any.
    credentials: Option<String>,
    auth: Option<String>,
}

impl Registry {
    pub async fn new(image: &str, reference: Reference) -> Result<Registry, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("cannot load the system's CA certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
        let base = format!("{}://{}", reference.scheme(), reference.registry);
        let credentials = credentials(image).await?;
        Ok(Registry {
            client,
            base,
            reference,
            credentials,
            auth: None,
        })
    }

    /// The image's manifest for this machine's platform: its config and
    /// layers.
    pub async fn manifest(&mut self) -> Result<(Blob, Vec<Blob>), String> {
        let mut reference = self.reference.reference.clone();
        for _ in 0..2 {
            let path = format!("/v2/{}/manifests/{}", self.reference.repository, reference);
            let body = self.get_bytes(&path, MANIFEST_TYPES).await?;
            let m: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| format!("the registry's manifest is not JSON: {e}"))?;
            if let Some(list) = m.get("manifests").and_then(|l| l.as_array()) {
                let arch = platform_arch();
                let chosen = list.iter().find(|d| {
                    let p = &d["platform"];
                    p["os"] == "linux" && p["architecture"] == arch
                });
                let Some(d) = chosen.and_then(|d| d["digest"].as_str()) else {
                    return Err(format!(
                        "the image has no variant for linux/{arch} (this machine)"
                    ));
                };
                reference = d.to_string();
                continue;
            }
            let blob = |d: &serde_json::Value| -> Result<Blob, String> {
                Ok(Blob {
                    digest: d["digest"]
                        .as_str()
                        .filter(|s| s.starts_with("sha256:"))
                        .ok_or("the manifest names a blob without a sha256 digest")?
                        .to_string(),
                    size: d["size"].as_u64().unwrap_or(0),
                })
            };
            let config = blob(&m["config"])?;
            let layers = m["layers"]
                .as_array()
                .ok_or("the manifest lists no layers (an old schema-1 image?)")?
                .iter()
                .map(blob)
                .collect::<Result<Vec<_>, _>>()?;
            return Ok((config, layers));
        }
        Err("the registry answered a list of manifests with another list".into())
    }

    /// A small blob (the config), checked against its digest.
    pub async fn blob_bytes(&mut self, blob: &Blob) -> Result<Bytes, String> {
        let path = format!("/v2/{}/blobs/{}", self.reference.repository, blob.digest);
        let body = self.get_bytes(&path, "*/*").await?;
        check_digest(&blob.digest, &sha256_hex(&body))?;
        Ok(body)
    }

    /// Download a blob into `file`, checked against its digest, telling
    /// `progress` of each piece's size.
    pub async fn blob_to_file(
        &mut self,
        blob: &Blob,
        file: &Path,
        progress: &mut impl FnMut(u64),
    ) -> Result<(), String> {
        let path = format!("/v2/{}/blobs/{}", self.reference.repository, blob.digest);
        let mut body = self.get(&path, "*/*").await?.into_body();
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(file).map_err(|e| format!("{}: {e}", file.display()))?,
        );
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        loop {
            let frame = tokio::time::timeout(STALL, body.frame())
                .await
                .map_err(|_| format!("the registry sent nothing for {}s", STALL.as_secs()))?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| format!("the download broke off: {e}"))?;
            if let Ok(data) = frame.into_data() {
                hash.update(&data);
                out.write_all(&data)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                progress(data.len() as u64);
            }
        }
        out.flush()
            .map_err(|e| format!("{}: {e}", file.display()))?;
        check_digest(&blob.digest, &hex(hash.finish().as_ref()))
    }

    async fn get_bytes(&mut self, path: &str, accept: &str) -> Result<Bytes, String> {
        let body = self.get(path, accept).await?.into_body();
        let collected = tokio::time::timeout(STALL, body.collect())
            .await
            .map_err(|_| format!("the registry sent nothing for {}s", STALL.as_secs()))?
            .map_err(|e| format!("the download broke off: {e}"))?;
        Ok(collected.to_bytes())
    }

    /// GET `path`, authorising as the registry asks (once) and following
    /// redirects (blob stores elsewhere get no credentials).
    async fn get(
        &mut self,
        path: &str,
        accept: &str,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let mut url = format!("{}{path}", self.base);
        let mut authorised = false;
        let mut redirects = 0;
        loop {
            let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
            let ours =
                uri.authority().map(|a| a.as_str()) == Some(self.reference.registry.as_str());
            let mut req = hyper::Request::get(&uri).header(hyper::header::ACCEPT, accept);
            if ours && let Some(a) = &self.auth {
                req = req.header(hyper::header::AUTHORIZATION, a);
            }
            let req = req.body(Empty::new()).map_err(|e| e.to_string())?;
            let resp = tokio::time::timeout(STALL, self.client.request(req))
                .await
                .map_err(|_| format!("{url}: no answer within {}s", STALL.as_secs()))?
                .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && ours && !authorised {
                authorised = true;
                let challenge = resp
                    .headers()
                    .get(hyper::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                self.authorise(&challenge).await?;
                continue;
            }
            if status.is_redirection() && redirects < 5 {
                redirects += 1;
                let to = resp
                    .headers()
                    .get(hyper::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or("a redirect without a Location")?;
                url = if to.starts_with('/') {
                    let a = uri.authority().map(|a| a.as_str()).unwrap_or_default();
                    format!("{}://{a}{to}", uri.scheme_str().unwrap_or("https"))
                } else {
                    to.to_string()
                };
                continue;
            }
            if !status.is_success() {
                let what = match status {
                    StatusCode::NOT_FOUND => "not found (check the image's name and tag)",
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                        "access denied (a private image needs `docker login`'s credentials in ~/.docker/config.json)"
                    }
                    StatusCode::TOO_MANY_REQUESTS => {
                        "too many requests (the registry's rate limit)"
                    }
                    _ => status.canonical_reason().unwrap_or("refused"),
                };
                return Err(format!("{url}: {} {what}", status.as_u16()));
            }
            return Ok(resp);
        }
    }

    /// Answer a `WWW-Authenticate` challenge: a token from the realm it
    /// names (with the credentials, if any), or the credentials as Basic.
    async fn authorise(&mut self, challenge: &str) -> Result<(), String> {
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            self.auth = Some(self.credentials.clone().ok_or(
                "the registry wants a login: put `docker login`'s credentials in ~/.docker/config.json",
            )?);
            return Ok(());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(format!(
                "the registry asks for `{scheme}` authentication, which sbx does not speak"
            ));
        }
        let params = challenge_params(params);
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or("the registry's challenge names no token realm")?;
        let mut query = Vec::new();
        if let Some((_, s)) = params.iter().find(|(k, _)| k == "service") {
            query.push(format!("service={}", encode(s)));
        }
        let scope = params
            .iter()
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| format!("repository:{}:pull", self.reference.repository));
        query.push(format!("scope={}", encode(&scope)));
        let sep = if realm.contains('?') { '&' } else { '?' };
        let url = format!("{realm}{sep}{}", query.join("&"));
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("bad token URL {url}: {e}"))?;
        let mut req = hyper::Request::get(uri);
        if let Some(c) = &self.credentials {
            req = req.header(hyper::header::AUTHORIZATION, c);
        }
        let req = req.body(Empty::new()).map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(STALL, self.client.request(req))
            .await
            .map_err(|_| format!("{realm}: no answer within {}s", STALL.as_secs()))?
            .map_err(|e| format!("{realm}: {}", error_chain(&e)))?;
        if !resp.status().is_success() {
            return Err(format!(
                "{realm}: {} when asking for a pull token",
                resp.status().as_u16()
            ));
        }
        let body = tokio::time::timeout(STALL, resp.into_body().collect())
            .await
            .map_err(|_| format!("{realm}: no token within {}s", STALL.as_secs()))?
            .map_err(|e| format!("{realm}: {e}"))?
            .to_bytes();
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{realm}: not a token: {e}"))?;
        let token = v["token"]
            .as_str()
            .or(v["access_token"].as_str())
            .ok_or_else(|| format!("{realm}: the answer has no token"))?;
        self.auth = Some(format!("Bearer {token}"));
        Ok(())
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// `key="value"` pairs of a challenge (values may hold commas).
fn challenge_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.split_once('"') {
                Some((v, n)) => (v, n),
                None => (quoted, ""),
            }
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        out.push((key, value.to_string()));
        rest = next.trim_start_matches(',').trim();
    }
    out
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `Basic ...` for the registry of `image` from the engines' credential
/// files and helpers.
async fn credentials(image: &str) -> Result<Option<String>, String> {
    use base64::Engine;
    let files = auth::files(crate::model::target::EngineKind::Podman);
    let Some(found) = auth::lookup(image, &files).await? else {
        return Ok(None);
    };
    Ok(match (found.creds.username, found.creds.password) {
        (Some(u), Some(p)) => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )),
        _ => None,
    })
}

/// The OCI name of this machine's architecture.
fn platform_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn check_digest(expected: &str, got_hex: &str) -> Result<(), String> {
    if expected.strip_prefix("sha256:") == Some(got_hex) {
        Ok(())
    } else {
        Err(format!(
            "a blob does not match its digest {expected} (got sha256:{got_hex}); the download was corrupted or the registry is lying"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_a_registry_are_docker_hubs_and_official_images_are_under_library() {
        let r = Reference::parse("python:3.12").unwrap();
        assert_eq!(r.registry, "registry-1.docker.io");
        assert_eq!(r.repository, "library/python");
        assert_eq!(r.reference, "3.12");
        let r = Reference::parse("team/app").unwrap();
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.reference, "latest");
    }

    #[test]
    fn a_first_component_with_a_dot_or_port_is_a_registry_and_digests_win_over_tags() {
        let r = Reference::parse("127.0.0.1:5000/sbx/runtime:test").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "sbx/runtime");
        assert_eq!(r.reference, "test");
        assert_eq!(r.scheme(), "http");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("ghcr.io/o/i:1@{d}")).unwrap();
        assert_eq!(r.registry, "ghcr.io");
        assert_eq!(r.reference, d);
        assert_eq!(r.scheme(), "https");
        assert!(Reference::parse("Upper/Case").is_err());
    }

    #[test]
    fn only_loopback_registries_are_spoken_to_in_plain_http() {
        for (host, scheme) in [
            ("localhost:5000", "http"),
            ("127.8.0.1", "http"),
            ("[::1]:5000", "http"),
            ("10.0.0.1:5000", "https"),
            ("registry.example.com", "https"),
        ] {
            let r = Reference::parse(&format!("{host}/a/b")).unwrap();
            assert_eq!(r.scheme(), scheme, "{host}");
        }
    }

    #[test]
    fn token_challenges_are_read_with_quoted_commas() {
        let p = challenge_params(
            r#"realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(
            p,
            vec![
                ("realm".into(), "https://auth.example/token".into()),
                ("service".into(), "reg".into()),
                ("scope".into(), "repository:a/b:pull,push".into()),
            ]
        );
    }
}
