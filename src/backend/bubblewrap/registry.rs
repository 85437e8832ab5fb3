//! A pull from an image's registry, for machines with no container
//! engine: the OCI distribution API's few read-only requests (a manifest,
//! or a list of them to pick this machine's platform from, the image's
//! config and its layers), each blob and each manifest asked for by
//! digest checked against it, and each layer against the config's
//! diff_ids (in rootfs.rs).
//!
//! The registry is the one the image's name says, normalised as every
//! engine does (a name without a registry host is Docker Hub's). Plain
//! HTTP is used only for a loopback address, as Docker allows, for the
//! registry, its redirects and its token realm alike; HTTPS otherwise,
//! trusting the system's certificates. Credentials and tokens go to the
//! endpoint's own scheme, host and port only. Credentials: those
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
/// piece of a blob, unless the pull's own limit says otherwise.
const STALL: Duration = Duration::from_secs(60);

/// The most a manifest, a config or a token may weigh: real ones are a
/// few KiB, and a registry must not make sbx hold gigabytes in memory.
const SMALL_BODY: usize = 4 << 20;

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
            ("docker.io".to_string(), repo)
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

    /// Where the registry's API answers: Docker Hub's is not `docker.io`.
    fn api_host(&self) -> &str {
        match self.registry.as_str() {
            "docker.io" => "registry-1.docker.io",
            other => other,
        }
    }

    /// The registry itself, after the mirrors the machine's configuration
    /// names for it (`/etc/containers/registries.conf`, Docker's
    /// `registry-mirrors` for Docker Hub).
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let conf = std::fs::read_to_string(
            std::env::var_os("CONTAINERS_REGISTRIES_CONF")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| "/etc/containers/registries.conf".into()),
        )
        .unwrap_or_default();
        let daemon = std::fs::read_to_string("/etc/docker/daemon.json").unwrap_or_default();
        self.endpoints_from(&conf, &daemon)
    }

    fn endpoints_from(&self, registries_conf: &str, daemon_json: &str) -> Vec<Endpoint> {
        let full = format!("{}/{}", self.registry, self.repository);
        let mut out = Vec::new();
        let mut primary = Endpoint::new(self.api_host(), &self.repository, false);
        if let Ok(conf) = registries_conf.parse::<toml::Table>()
            && let Some(entries) = conf.get("registry").and_then(|r| r.as_array())
        {
            // The entry with the longest prefix of the name, as
            // containers-registries.conf(5) says.
            let best =
                entries
                    .iter()
                    .filter_map(|e| {
                        let location = e.get("location")?.as_str()?;
                        let prefix = e.get("prefix").and_then(|p| p.as_str()).unwrap_or(location);
                        let rest = full.strip_prefix(prefix)?;
                        (rest.is_empty() || rest.starts_with('/') || rest.starts_with(':'))
                            .then_some((prefix.len(), e, location, rest))
                    })
                    .max_by_key(|(len, ..)| *len);
            if let Some((_, entry, location, rest)) = best {
                if let Some(mirrors) = entry.get("mirror").and_then(|m| m.as_array()) {
                    for m in mirrors {
                        if let Some(loc) = m.get("location").and_then(|l| l.as_str()) {
                            out.extend(Endpoint::at(loc, rest, true));
                        }
                    }
                }
                if location != self.registry {
                    primary = Endpoint::at(location, rest, false).unwrap_or(primary);
                }
            }
        }
        if self.registry == "docker.io"
            && let Ok(d) = serde_json::from_str::<serde_json::Value>(daemon_json)
            && let Some(mirrors) = d.get("registry-mirrors").and_then(|m| m.as_array())
        {
            for m in mirrors.iter().filter_map(|m| m.as_str()) {
                let host = m
                    .strip_prefix("https://")
                    .or_else(|| m.strip_prefix("http://"))
                    .unwrap_or(m)
                    .trim_end_matches('/');
                if !host.is_empty() && !host.contains('/') {
                    out.push(Endpoint::new(host, &self.repository, true));
                }
            }
        }
        out.push(primary);
        out
    }
}

/// One place to pull a repository from: the registry or a mirror of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://host[:port]` (`http` only for a loopback address).
    pub base: String,
    /// `host[:port]`: requests to it get the credentials.
    pub authority: String,
    pub repository: String,
    pub mirror: bool,
}

impl Endpoint {
    fn new(authority: &str, repository: &str, mirror: bool) -> Endpoint {
        Endpoint {
            base: format!("{}://{authority}", scheme(authority)),
            authority: authority.to_string(),
            repository: repository.to_string(),
            mirror,
        }
    }

    /// `location` (`host[:port][/path]`) with `rest` (what follows the
    /// matched prefix of the image's name) appended to its path.
    fn at(location: &str, rest: &str, mirror: bool) -> Option<Endpoint> {
        let rest = rest.split([':', '@']).next().unwrap_or("");
        let joined = format!("{}{rest}", location.trim_end_matches('/'));
        let (host, repo) = joined.split_once('/')?;
        Some(Endpoint::new(host, repo, mirror))
    }
}

/// Whether `uri` may be asked at all: HTTPS, or plain HTTP on this
/// machine's loopback only, for redirects and token realms as for the
/// registry itself (a registry must not send sbx, with a token, across
/// the network in the clear).
fn allowed(uri: &hyper::Uri) -> Result<(), String> {
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    match uri.scheme_str() {
        Some("https") if !authority.is_empty() => Ok(()),
        Some("http") if scheme(authority) == "http" => Ok(()),
        _ => Err(format!(
            "{uri}: sbx asks registries over HTTPS only (plain HTTP on a loopback address)"
        )),
    }
}

/// Whether `uri` is on the endpoint itself (scheme, host and port), the
/// only place its credentials and tokens go.
fn same_origin(uri: &hyper::Uri, endpoint: &Endpoint) -> bool {
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => {
            format!("{scheme}://{}", authority.as_str()) == endpoint.base
        }
        _ => false,
    }
}

/// `http` only for a registry on this machine's loopback.
fn scheme(authority: &str) -> &'static str {
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback { "http" } else { "https" }
}

/// What a pull needs of a blob: its digest and size.
#[derive(Debug, Clone)]
pub struct Blob {
    pub digest: String,
    pub size: u64,
}

/// A session with one endpoint for one repository, with the
/// authorisation it has been given.
pub struct Registry {
    client: Client<Https, Empty<Bytes>>,
    endpoint: Endpoint,
    /// The tag or digest asked for.
    reference: String,
    /// `Basic <base64 user:pass>` from the login files, if any.
    credentials: Option<String>,
    auth: Option<String>,
    /// How long the registry may keep us waiting for an answer or the
    /// next piece of a blob.
    stall: Duration,
}

impl Registry {
    /// A session with `endpoint` for `reference` of `image`; a mirror is
    /// asked without credentials (they are the registry's), a registry
    /// relocated by registries.conf with those of its own host (the
    /// original's are not its to see).
    pub async fn new(
        image: &str,
        reference: &Reference,
        endpoint: Endpoint,
        stall: Option<Duration>,
    ) -> Result<Registry, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("cannot load the system's CA certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
        let credentials = if endpoint.mirror {
            None
        } else if endpoint.authority != reference.api_host() {
            credentials(&format!("{}/{}", endpoint.authority, endpoint.repository)).await?
        } else {
            credentials(image).await?
        };
        Ok(Registry {
            client,
            endpoint,
            reference: reference.reference.clone(),
            credentials,
            auth: None,
            stall: stall.unwrap_or(STALL),
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The image's manifest for this machine's platform: its config and
    /// layers.
    pub async fn manifest(&mut self) -> Result<(Blob, Vec<Blob>), String> {
        let mut reference = self.reference.clone();
        for _ in 0..2 {
            let path = format!("/v2/{}/manifests/{}", self.endpoint.repository, reference);
            let body = self.get_bytes(&path, MANIFEST_TYPES).await?;
            // A manifest asked for by digest (the image's `@sha256:`, or
            // the platform's from a list) is what the digest says, or a
            // registry (or mirror) could swap it for another.
            if reference.contains(':') {
                if !reference.starts_with("sha256:") {
                    return Err(format!(
                        "the digest {reference} is not a sha256 one, the only kind sbx checks"
                    ));
                }
                let got = sha256_hex(&body);
                if reference.strip_prefix("sha256:") != Some(got.as_str()) {
                    return Err(format!(
                        "the manifest the registry sent for {reference} does not match that digest (it is sha256:{got}); the registry or something on the way is lying"
                    ));
                }
            }
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
                    // A download stops at this size, so it must be given.
                    size: d["size"]
                        .as_u64()
                        .ok_or("the manifest names a blob without its size")?,
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
        if blob.size > SMALL_BODY as u64 {
            return Err(format!(
                "the image's config would be {} bytes, more than the {} MiB sbx reads of one",
                blob.size,
                SMALL_BODY >> 20
            ));
        }
        let path = format!("/v2/{}/blobs/{}", self.endpoint.repository, blob.digest);
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
        let path = format!("/v2/{}/blobs/{}", self.endpoint.repository, blob.digest);
        let mut body = self.get(&path, "*/*").await?.into_body();
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(file).map_err(|e| format!("{}: {e}", file.display()))?,
        );
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        let mut got = 0u64;
        loop {
            let frame = tokio::time::timeout(self.stall, body.frame())
                .await
                .map_err(|_| format!("the registry sent nothing for {}s", self.stall.as_secs()))?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| format!("the download broke off: {e}"))?;
            if let Ok(data) = frame.into_data() {
                got += data.len() as u64;
                if got > blob.size {
                    return Err(format!(
                        "the registry sent more of {} than the {} bytes its manifest says",
                        blob.digest, blob.size
                    ));
                }
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
        small_body(body, self.stall).await
    }

    /// GET `path`, authorising as the registry asks (once) and following
    /// redirects (blob stores elsewhere get no credentials).
    async fn get(
        &mut self,
        path: &str,
        accept: &str,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let mut url = format!("{}{path}", self.endpoint.base);
        let mut authorised = false;
        let mut redirects = 0;
        loop {
            let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
            allowed(&uri)?;
            let ours = same_origin(&uri, &self.endpoint);
            let mut req = hyper::Request::get(&uri).header(hyper::header::ACCEPT, accept);
            if ours && let Some(a) = &self.auth {
                req = req.header(hyper::header::AUTHORIZATION, a);
            }
            let req = req.body(Empty::new()).map_err(|e| e.to_string())?;
            let resp = tokio::time::timeout(self.stall, self.client.request(req))
                .await
                .map_err(|_| format!("{url}: no answer within {}s", self.stall.as_secs()))?
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
            .unwrap_or_else(|| format!("repository:{}:pull", self.endpoint.repository));
        query.push(format!("scope={}", encode(&scope)));
        let sep = if realm.contains('?') { '&' } else { '?' };
        let url = format!("{realm}{sep}{}", query.join("&"));
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("bad token URL {url}: {e}"))?;
        allowed(&uri)?;
        let mut req = hyper::Request::get(uri);
        if let Some(c) = &self.credentials {
            req = req.header(hyper::header::AUTHORIZATION, c);
        }
        let req = req.body(Empty::new()).map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(self.stall, self.client.request(req))
            .await
            .map_err(|_| format!("{realm}: no answer within {}s", self.stall.as_secs()))?
            .map_err(|e| format!("{realm}: {}", error_chain(&e)))?;
        if !resp.status().is_success() {
            return Err(format!(
                "{realm}: {} when asking for a pull token",
                resp.status().as_u16()
            ));
        }
        let body = small_body(resp.into_body(), self.stall)
            .await
            .map_err(|e| format!("{realm}: {e}"))?;
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

/// All of `body`, unless it passes `SMALL_BODY` or stalls.
async fn small_body(mut body: hyper::body::Incoming, stall: Duration) -> Result<Bytes, String> {
    let mut out = Vec::new();
    loop {
        let frame = tokio::time::timeout(stall, body.frame())
            .await
            .map_err(|_| format!("the registry sent nothing for {}s", stall.as_secs()))?;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| format!("the download broke off: {e}"))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > SMALL_BODY {
                return Err(format!(
                    "the registry's answer passes {} MiB, more than a manifest or token can be",
                    SMALL_BODY >> 20
                ));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.into())
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

pub fn hex(bytes: &[u8]) -> String {
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
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/python");
        assert_eq!(r.api_host(), "registry-1.docker.io");
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
        assert_eq!(scheme(&r.registry), "http");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("registry.example.net/o/i:1@{d}")).unwrap();
        assert_eq!(r.registry, "registry.example.net");
        assert_eq!(r.reference, d);
        assert_eq!(scheme(&r.registry), "https");
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
            assert_eq!(super::scheme(&r.registry), scheme, "{host}");
        }
    }

    #[test]
    fn mirrors_of_the_machines_configuration_come_before_the_registry() {
        let conf = r#"
            unqualified-search-registries = ["docker.io"]
            [[registry]]
            location = "docker.io"
            [[registry.mirror]]
            location = "mirror.example.com/hub"
            [[registry]]
            prefix = "registry.example.org/team"
            location = "internal.example.com/quay-team"
        "#;
        let daemon = r#"{"registry-mirrors": ["https://other.example.com/"]}"#;
        let hub = Reference::parse("python:3.12").unwrap();
        let e = hub.endpoints_from(conf, daemon);
        let at: Vec<_> = e
            .iter()
            .map(|e| (e.base.as_str(), e.repository.as_str(), e.mirror))
            .collect();
        assert_eq!(
            at,
            [
                ("https://mirror.example.com", "hub/library/python", true),
                ("https://other.example.com", "library/python", true),
                ("https://registry-1.docker.io", "library/python", false),
            ]
        );
        // Docker's mirrors are Docker Hub's only; a prefix relocates.
        let quay = Reference::parse("registry.example.org/team/app:1").unwrap();
        let e = quay.endpoints_from(conf, daemon);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].base, "https://internal.example.com");
        assert_eq!(e[0].repository, "quay-team/app");
        // No configuration: the registry alone.
        let e = quay.endpoints_from("", "");
        assert_eq!(e[0].base, "https://registry.example.org");
        assert_eq!(e[0].repository, "team/app");
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn plain_http_goes_to_loopback_only_and_credentials_to_the_endpoints_own_origin() {
        let uri = |u: &str| u.parse::<hyper::Uri>().unwrap();
        for ok in [
            "https://auth.example.com/token",
            "http://127.0.0.1:5000/token",
            "http://localhost:5000/blobs/x",
            "http://[::1]/x",
        ] {
            assert!(allowed(&uri(ok)).is_ok(), "{ok}");
        }
        for refused in [
            "http://auth.example.com/token",
            "http://10.0.0.1:5000/blobs/x",
            "ftp://127.0.0.1/x",
        ] {
            assert!(allowed(&uri(refused)).is_err(), "{refused}");
        }
        let e = Endpoint::new("registry.example.com", "a/b", false);
        assert!(same_origin(&uri("https://registry.example.com/v2/"), &e));
        assert!(!same_origin(&uri("http://registry.example.com/v2/"), &e));
        assert!(!same_origin(
            &uri("https://registry.example.com:8443/v2/"),
            &e
        ));
        assert!(!same_origin(&uri("https://blobs.example.com/v2/"), &e));
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
